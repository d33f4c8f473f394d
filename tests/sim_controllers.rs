//! The simulator's controllers against a Store and a frozen Clock, stepped synchronously:
//! pods shaped like the real DaemonSet controller's, rollouts, OnDelete, eviction, the kubelet's
//! crash loops and graceful deletion, and the scenarios.

use std::sync::Arc;

use daemonscope::sim::Clock;
use daemonscope::sim::controllers::build::{REVISION_HASH_LABEL, TEMPLATE_GENERATION_LABEL};
use daemonscope::sim::controllers::build_pod::{is_ready, target_node};
use daemonscope::sim::controllers::{Controllers, populate as fill};
use daemonscope::sim::scenario::{self, Scenario};
use daemonscope::sim::store::{Kind, Object, Store, StoreError};
use k8s_openapi::api::apps::v1::{ControllerRevision, DaemonSet};
use k8s_openapi::api::core::v1::{Node, Pod, Taint};

const BASE: &str = r#"
name = "test"
[[pools]]
name = "general"
count = 3
"#;

fn ds_toml(extra: &str) -> String {
    format!(
        r#"{BASE}
[[daemonsets]]
name = "agent"
namespace = "monitoring"
image = "example.com/agent:1.0"
delays = {{ bind_ms = 0, create_ms = 1000, ready_ms = 1000, crash_after_ms = 5000 }}
{extra}
"#
    )
}

struct Sim {
    store: Arc<Store>,
    clock: Arc<Clock>,
    ctl: Controllers,
}

impl Sim {
    fn new(toml: &str) -> Sim {
        let sc = Arc::new(Scenario::parse(toml).expect("scenario parses"));
        Sim::with(sc, 1)
    }
    fn with(sc: Arc<Scenario>, seed: u64) -> Sim {
        let store = Store::new(100_000);
        let clock = Arc::new(Clock::new(true));
        fill::populate(&store, clock.start(), &sc, seed).expect("populate");
        let ctl = Controllers::new(store.clone(), clock.clone(), sc, seed, Some(0.0));
        Sim { store, clock, ctl }
    }
    /// Advance simulated time in 500 ms steps, settling after each.
    fn run(&mut self, ms: i64) {
        self.ctl.settle(50);
        let mut left = ms;
        while left > 0 {
            self.clock.advance(500.min(left));
            left -= 500;
            self.ctl.settle(50);
        }
    }
    fn pods(&self, ds: &str) -> Vec<Pod> {
        self.store
            .list(Kind::Pod, None)
            .0
            .iter()
            .filter_map(|s| match &*s.obj() {
                Object::Pod(p) if p.metadata.generate_name.as_deref() == Some(&format!("{ds}-")) => Some(p.clone()),
                _ => None,
            })
            .collect()
    }
    fn ds(&self, ns: &str, name: &str) -> DaemonSet {
        match self.store.get(Kind::DaemonSet, ns, name).map(|s| s.obj().into_owned()) {
            Some(Object::DaemonSet(d)) => d,
            _ => panic!("no daemonset {ns}/{name}"),
        }
    }
    fn revisions(&self, ns: &str) -> Vec<ControllerRevision> {
        self.store
            .list(Kind::ControllerRevision, Some(ns))
            .0
            .iter()
            .filter_map(|s| match &*s.obj() {
                Object::ControllerRevision(c) => Some(c.clone()),
                _ => None,
            })
            .collect()
    }
    fn newest_hash(&self, ns: &str) -> String {
        let r = self.revisions(ns).into_iter().max_by_key(|r| r.revision.unwrap_or(0)).expect("a revision");
        r.metadata.labels.and_then(|l| l.get(REVISION_HASH_LABEL).cloned()).expect("hash label")
    }
    fn set_image(&self, ns: &str, name: &str, image: &str) {
        self.store
            .modify::<StoreError>(Kind::DaemonSet, ns, name, |o| {
                if let Object::DaemonSet(d) = o {
                    d.spec.template.spec.as_mut().expect("spec").containers[0].image = Some(image.into());
                }
                Ok(())
            })
            .expect("update");
    }
    fn delete_pod(&self, pod: &Pod) {
        daemonscope::sim::controllers::daemonset::delete_pod(&self.store, pod, self.clock.now()).expect("delete");
    }
}

fn label<'a>(p: &'a Pod, k: &str) -> Option<&'a str> {
    p.metadata.labels.as_ref()?.get(k).map(String::as_str)
}

fn restarts(p: &Pod) -> i32 {
    p.status.as_ref().and_then(|s| s.container_statuses.as_ref()).and_then(|c| c.first()).map_or(0, |c| c.restart_count)
}

fn waiting_reason(p: &Pod) -> Option<String> {
    p.status.as_ref()?.container_statuses.as_ref()?.first()?.state.as_ref()?.waiting.as_ref()?.reason.clone()
}

#[test]
fn pods_look_like_the_real_controllers() {
    let mut sim = Sim::new(&ds_toml(""));
    sim.run(1000);
    let pods = sim.pods("agent");
    assert_eq!(pods.len(), 3);
    let ds = sim.ds("monitoring", "agent");
    let hash = sim.newest_hash("monitoring");
    for p in &pods {
        let owner = &p.metadata.owner_references.as_ref().expect("owner")[0];
        assert_eq!(
            (owner.api_version.as_str(), owner.kind.as_str(), owner.name.as_str()),
            ("apps/v1", "DaemonSet", "agent")
        );
        assert_eq!(owner.controller, Some(true));
        assert_eq!(owner.block_owner_deletion, Some(true));
        assert_eq!(Some(&owner.uid), ds.metadata.uid.as_ref());
        assert_eq!(label(p, REVISION_HASH_LABEL), Some(hash.as_str()));
        assert_eq!(label(p, TEMPLATE_GENERATION_LABEL), Some("1"));
        assert_eq!(label(p, "app.kubernetes.io/name"), Some("agent"));
        let spec = p.spec.as_ref().expect("spec");
        let terms = &spec
            .affinity
            .as_ref()
            .and_then(|a| a.node_affinity.as_ref())
            .and_then(|n| n.required_during_scheduling_ignored_during_execution.as_ref())
            .expect("affinity")
            .node_selector_terms;
        assert_eq!(terms.len(), 1);
        let f = &terms[0].match_fields.as_ref().expect("matchFields")[0];
        assert_eq!((f.key.as_str(), f.operator.as_str()), ("metadata.name", "In"));
        assert_eq!(f.values.as_deref(), Some(&[spec.node_name.clone().expect("bound")][..]));
        let tols = spec.tolerations.as_ref().expect("tolerations");
        for (key, effect) in [
            ("node.kubernetes.io/not-ready", "NoExecute"),
            ("node.kubernetes.io/unreachable", "NoExecute"),
            ("node.kubernetes.io/disk-pressure", "NoSchedule"),
            ("node.kubernetes.io/memory-pressure", "NoSchedule"),
            ("node.kubernetes.io/pid-pressure", "NoSchedule"),
            ("node.kubernetes.io/unschedulable", "NoSchedule"),
        ] {
            assert!(
                tols.iter().any(|t| t.key.as_deref() == Some(key)
                    && t.effect.as_deref() == Some(effect)
                    && t.operator.as_deref() == Some("Exists")),
                "missing toleration {key}:{effect}"
            );
        }
        assert!(is_ready(p));
        assert!(p.metadata.managed_fields.as_ref().is_some_and(|m| m.len() >= 2));
        let size = serde_json::to_vec(p).expect("json").len();
        assert!((3_000..9_000).contains(&size), "pod JSON is {size} bytes");
    }
    let status = ds.status.expect("status");
    assert_eq!(status.desired_number_scheduled, 3);
    assert_eq!(status.number_ready, 3);
    assert_eq!(status.updated_number_scheduled, Some(3));
    assert_eq!(status.number_available, Some(3));
    assert_eq!(status.observed_generation, ds.metadata.generation);
    let rev = sim.revisions("monitoring");
    assert_eq!(rev.len(), 1);
    assert_eq!(rev[0].metadata.name.as_deref(), Some(format!("agent-{hash}").as_str()));
    assert!(rev[0].data.0["spec"]["template"]["$patch"] == "replace");
}

#[test]
fn graceful_deletion_removes_the_pod_and_a_missing_pod_is_recreated() {
    let mut sim = Sim::new(&ds_toml(""));
    sim.run(500);
    let victim = sim.pods("agent").into_iter().next().expect("a pod");
    let node = victim.spec.as_ref().and_then(|s| s.node_name.clone()).expect("bound");
    sim.delete_pod(&victim);
    sim.ctl.settle(50);
    // Terminating: still there, no second pod yet.
    let on_node: Vec<Pod> = sim.pods("agent").into_iter().filter(|p| target_node(p) == Some(node.as_str())).collect();
    assert_eq!(on_node.len(), 1);
    assert!(on_node[0].metadata.deletion_timestamp.is_some());
    sim.run(6000);
    let on_node: Vec<Pod> = sim.pods("agent").into_iter().filter(|p| target_node(p) == Some(node.as_str())).collect();
    assert_eq!(on_node.len(), 1);
    assert_ne!(on_node[0].metadata.name, victim.metadata.name);
    assert!(is_ready(&on_node[0]), "replacement became ready");
}

#[test]
fn no_execute_taint_evicts_and_no_schedule_only_counts_misscheduled() {
    let mut sim = Sim::new(&ds_toml(""));
    sim.run(500);
    let taint = |node: &str, effect: &str| {
        sim.store
            .modify::<StoreError>(Kind::Node, "", node, |o| {
                if let Object::Node(n) = o {
                    n.spec.get_or_insert_with(Default::default).taints.get_or_insert_with(Vec::new).push(Taint {
                        key: "dedicated".into(),
                        value: Some("db".into()),
                        effect: effect.into(),
                        time_added: None,
                    });
                }
                Ok(())
            })
            .expect("taint");
    };
    taint("general-00", "NoSchedule");
    taint("general-01", "NoExecute");
    sim.run(5000);
    let pods = sim.pods("agent");
    assert!(pods.iter().any(|p| target_node(p) == Some("general-00")), "NoSchedule keeps the running pod");
    assert!(!pods.iter().any(|p| target_node(p) == Some("general-01")), "NoExecute evicts");
    let st = sim.ds("monitoring", "agent").status.expect("status");
    assert_eq!(st.desired_number_scheduled, 1);
    assert_eq!(st.number_misscheduled, 1);
}

#[test]
fn rolling_update_with_max_unavailable_one_replaces_one_pod_at_a_time() {
    let mut sim = Sim::new(&ds_toml("max_unavailable = \"1\""));
    sim.run(500);
    sim.set_image("monitoring", "agent", "example.com/agent:2.0");
    let mut max_unavailable_seen = 0;
    for _ in 0..60 {
        sim.clock.advance(500);
        sim.ctl.settle(50);
        let pods = sim.pods("agent");
        let unavailable = 3 - pods.iter().filter(|p| is_ready(p) && p.metadata.deletion_timestamp.is_none()).count();
        max_unavailable_seen = max_unavailable_seen.max(unavailable);
    }
    assert_eq!(max_unavailable_seen, 1);
    let hash = sim.newest_hash("monitoring");
    let pods = sim.pods("agent");
    assert_eq!(pods.len(), 3);
    assert!(pods.iter().all(|p| label(p, REVISION_HASH_LABEL) == Some(hash.as_str()) && is_ready(p)));
    assert!(pods.iter().all(|p| label(p, TEMPLATE_GENERATION_LABEL) == Some("2")));
    let ds = sim.ds("monitoring", "agent");
    let st = ds.status.expect("status");
    assert_eq!(st.updated_number_scheduled, Some(3));
    assert_eq!(st.observed_generation, ds.metadata.generation);
    assert_eq!(sim.revisions("monitoring").len(), 2);
}

#[test]
fn max_surge_creates_the_new_pod_before_deleting_the_old_one() {
    let mut sim = Sim::new(&ds_toml("max_unavailable = \"0\"\nmax_surge = \"1\""));
    sim.run(500);
    sim.set_image("monitoring", "agent", "example.com/agent:2.0");
    sim.ctl.settle(50);
    let pods = sim.pods("agent");
    assert_eq!(pods.len(), 4, "one surge pod beside the three old ones");
    assert!(pods.iter().all(|p| p.metadata.deletion_timestamp.is_none()));
    sim.run(30_000);
    let hash = sim.newest_hash("monitoring");
    let pods = sim.pods("agent");
    assert_eq!(pods.len(), 3);
    assert!(pods.iter().all(|p| label(p, REVISION_HASH_LABEL) == Some(hash.as_str())));
}

#[test]
fn on_delete_replaces_only_deleted_pods() {
    let mut sim = Sim::new(&ds_toml("strategy = \"OnDelete\""));
    sim.run(500);
    let old_hash = sim.newest_hash("monitoring");
    sim.set_image("monitoring", "agent", "example.com/agent:2.0");
    sim.run(5000);
    let new_hash = sim.newest_hash("monitoring");
    assert_ne!(old_hash, new_hash);
    assert!(sim.pods("agent").iter().all(|p| label(p, REVISION_HASH_LABEL) == Some(old_hash.as_str())));
    let victim = sim.pods("agent").into_iter().next().expect("pod");
    sim.delete_pod(&victim);
    sim.run(6000);
    let pods = sim.pods("agent");
    assert_eq!(pods.iter().filter(|p| label(p, REVISION_HASH_LABEL) == Some(new_hash.as_str())).count(), 1);
    assert_eq!(pods.iter().filter(|p| label(p, REVISION_HASH_LABEL) == Some(old_hash.as_str())).count(), 2);
    assert_eq!(sim.ds("monitoring", "agent").status.expect("status").updated_number_scheduled, Some(1));
}

#[test]
fn rollout_restart_makes_a_new_revision_and_undo_reuses_the_old_one() {
    let mut sim = Sim::new(&ds_toml("max_unavailable = \"3\""));
    sim.run(500);
    let first = sim.newest_hash("monitoring");
    // kubectl rollout restart: a template annotation.
    sim.store
        .modify::<StoreError>(Kind::DaemonSet, "monitoring", "agent", |o| {
            if let Object::DaemonSet(d) = o {
                d.spec
                    .template
                    .metadata
                    .get_or_insert_with(Default::default)
                    .annotations
                    .get_or_insert_with(Default::default)
                    .insert("kubectl.kubernetes.io/restartedAt".into(), "2024-01-01T00:00:00Z".into());
            }
            Ok(())
        })
        .expect("restart");
    sim.run(10_000);
    let second = sim.newest_hash("monitoring");
    assert_ne!(first, second);
    assert!(sim.pods("agent").iter().all(|p| label(p, REVISION_HASH_LABEL) == Some(second.as_str()) && is_ready(p)));
    // kubectl rollout undo: the old revision's template comes back.
    let old = sim.revisions("monitoring").into_iter().find(|r| r.revision == Some(1)).expect("revision 1");
    let tpl = daemonscope::sim::controllers::build::template_of_revision(&old).expect("template");
    sim.store
        .modify::<StoreError>(Kind::DaemonSet, "monitoring", "agent", |o| {
            if let Object::DaemonSet(d) = o {
                d.spec.template = tpl.clone();
            }
            Ok(())
        })
        .expect("undo");
    sim.run(10_000);
    let revs = sim.revisions("monitoring");
    assert_eq!(revs.len(), 2, "no new revision for an old template");
    let reused = revs.iter().find(|r| r.metadata.name == old.metadata.name).expect("old revision kept");
    assert_eq!(reused.revision, Some(3), "re-used revision bumped to the newest number");
    assert_eq!(sim.newest_hash("monitoring"), first);
    assert!(sim.pods("agent").iter().all(|p| label(p, REVISION_HASH_LABEL) == Some(first.as_str())));
    let ds = sim.ds("monitoring", "agent");
    assert_eq!(
        ds.metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get("deprecated.daemonset.template.generation"))
            .map(String::as_str),
        Some("3")
    );
}

#[test]
fn crash_loop_increments_restarts_with_back_off() {
    let mut sim = Sim::new(&ds_toml("[[daemonsets.behaviours]]\nkind = \"crashloop\"\nindices = [0]\n"));
    // Fresh pods: delete the settled one and watch the loop from the start.
    let p = sim.pods("agent").into_iter().find(|p| target_node(p) == Some("general-00")).expect("pod");
    sim.delete_pod(&p);
    sim.run(4000);
    let on0 = |sim: &Sim| {
        sim.pods("agent")
            .into_iter()
            .find(|p| target_node(p) == Some("general-00") && p.metadata.deletion_timestamp.is_none())
            .expect("pod")
    };
    assert_eq!(restarts(&on0(&sim)), 0);
    sim.run(5000);
    let p = on0(&sim);
    assert_eq!(restarts(&p), 1);
    assert_eq!(waiting_reason(&p).as_deref(), Some("CrashLoopBackOff"));
    let last = p
        .status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .and_then(|c| c[0].last_state.as_ref())
        .and_then(|l| l.terminated.as_ref())
        .expect("lastState.terminated")
        .clone();
    assert_eq!(last.exit_code, 1);
    assert_eq!(last.reason.as_deref(), Some("Error"));
    assert!(last.started_at.is_some() && last.finished_at.is_some());
    // Back-off 10 s, run 5 s, fail again; then back-off 20 s (±1 s: status times are seconds).
    sim.run(7000);
    assert_eq!(waiting_reason(&on0(&sim)).as_deref(), Some("CrashLoopBackOff"), "still backing off");
    assert_eq!(restarts(&on0(&sim)), 1);
    sim.run(10_000);
    assert_eq!(restarts(&on0(&sim)), 2);
    sim.run(15_000);
    assert_eq!(restarts(&on0(&sim)), 2, "20 s back-off not over");
    assert_eq!(waiting_reason(&on0(&sim)).as_deref(), Some("CrashLoopBackOff"));
    sim.run(10_000);
    assert_eq!(restarts(&on0(&sim)), 3);
    // Other nodes are healthy.
    assert!(sim.pods("agent").iter().filter(|p| target_node(p) != Some("general-00")).all(is_ready));
}

#[test]
fn image_pull_failure_and_not_ready_behaviours() {
    let mut sim = Sim::new(&ds_toml(
        "[[daemonsets.behaviours]]\nkind = \"imagepull\"\nindices = [1]\n[[daemonsets.behaviours]]\nkind = \"notready\"\nindices = [2]\n",
    ));
    sim.run(1000);
    let pods = sim.pods("agent");
    let on = |n: &str| pods.iter().find(|p| target_node(p) == Some(n)).expect("pod").clone();
    assert_eq!(waiting_reason(&on("general-01")).as_deref(), Some("ImagePullBackOff"));
    assert_eq!(on("general-01").status.as_ref().and_then(|s| s.phase.clone()).as_deref(), Some("Pending"));
    let nr = on("general-02");
    assert_eq!(nr.status.as_ref().and_then(|s| s.phase.clone()).as_deref(), Some("Running"));
    assert!(!is_ready(&nr));
    let st = sim.ds("monitoring", "agent").status.expect("status");
    assert_eq!((st.desired_number_scheduled, st.current_number_scheduled, st.number_ready), (3, 3, 1));
    assert_eq!(st.number_unavailable, Some(2));
}

#[test]
fn reject_create_leaves_the_pod_missing_with_a_failed_create_event() {
    let mut sim = Sim::new(&ds_toml("[[daemonsets.behaviours]]\nkind = \"reject-create\"\nindices = [2]\n"));
    sim.run(2000);
    assert!(!sim.pods("agent").iter().any(|p| target_node(p) == Some("general-02")));
    let events = sim.store.list(Kind::Event, Some("monitoring")).0;
    assert!(events.iter().any(|e| matches!(&*e.obj(), Object::Event(ev) if ev.reason.as_deref() == Some("FailedCreate") && ev.type_.as_deref() == Some("Warning"))));
    let st = sim.ds("monitoring", "agent").status.expect("status");
    assert_eq!((st.desired_number_scheduled, st.current_number_scheduled), (3, 2));
}

#[test]
fn lost_node_gets_unreachable_taints_and_its_pods_count_misscheduled() {
    let mut sim = Sim::new(&ds_toml(""));
    sim.run(500);
    daemonscope::sim::controllers::nodes::set_ready(&sim.store, "general-02", false, sim.clock.now())
        .expect("lose node");
    sim.run(2000);
    let node: Node = match sim.store.get(Kind::Node, "", "general-02").map(|s| s.obj().into_owned()) {
        Some(Object::Node(n)) => n,
        _ => panic!("node"),
    };
    let taints = node.spec.and_then(|s| s.taints).unwrap_or_default();
    for effect in ["NoSchedule", "NoExecute"] {
        assert!(taints.iter().any(|t| t.key == "node.kubernetes.io/unreachable" && t.effect == effect));
    }
    let pod = sim
        .pods("agent")
        .into_iter()
        .find(|p| target_node(p) == Some("general-02"))
        .expect("pod kept (tolerates NoExecute)");
    assert!(!is_ready(&pod));
    let st = sim.ds("monitoring", "agent").status.expect("status");
    assert_eq!((st.desired_number_scheduled, st.number_misscheduled), (2, 1));
    daemonscope::sim::controllers::nodes::set_ready(&sim.store, "general-02", true, sim.clock.now())
        .expect("node back");
    sim.run(2000);
    let pod = sim.pods("agent").into_iter().find(|p| target_node(p) == Some("general-02")).expect("pod");
    assert!(is_ready(&pod), "ready again once the kubelet reports");
}

#[test]
fn same_seed_gives_identical_objects() {
    let sc = scenario::load("mixed").expect("mixed");
    let start: jiff::Timestamp = "2024-06-01T12:00:00Z".parse().expect("time");
    let dump = |seed: u64| {
        let store = Store::new(100_000);
        fill::populate(&store, start, &sc, seed).expect("populate");
        let mut out = Vec::new();
        for k in Kind::ALL {
            for s in store.list(k, None).0 {
                out.push(s.json.clone());
            }
        }
        out
    };
    let a = dump(7);
    assert_eq!(a, dump(7));
    assert_ne!(a, dump(8), "another seed, another cluster");
}

#[test]
fn mixed_scenario_has_every_promised_situation() {
    let sc = scenario::load("mixed").expect("mixed");
    let mut sim = Sim::with(sc, 1);
    let nodes = sim.store.count(Kind::Node);
    assert!((35..=45).contains(&nodes));
    let dss = sim.store.list(Kind::DaemonSet, None).0;
    assert_eq!(dss.len(), 9);
    let all: Vec<Pod> = sim
        .store
        .list(Kind::Pod, None)
        .0
        .iter()
        .filter_map(|s| match &*s.obj() {
            Object::Pod(p) => Some(p.clone()),
            _ => None,
        })
        .collect();
    let of = |ds: &str| {
        all.iter().filter(|p| p.metadata.generate_name.as_deref() == Some(&format!("{ds}-"))).collect::<Vec<_>>()
    };
    // Crash loop with restarts, settled at time zero.
    assert!(of("datadog-agent").iter().filter(|p| restarts(p) > 3).count() >= 3);
    // Image pull failure.
    assert!(of("ebs-csi-node").iter().any(|p| waiting_reason(p).as_deref() == Some("ImagePullBackOff")));
    // Kept off the GPU pool by nodeSelector.
    assert!(of("ebs-csi-node").iter().all(|p| !target_node(p).unwrap_or("").starts_with("gpu-")));
    assert!(!of("ebs-csi-node").is_empty());
    // The tainted node runs only DaemonSets that tolerate everything.
    assert!(!of("node-exporter").iter().any(|p| target_node(p) == Some("general-07")));
    assert!(of("kube-proxy").iter().any(|p| target_node(p) == Some("general-07")));
    // NotReady node.
    let lost = match sim.store.get(Kind::Node, "", "general-19").map(|s| s.obj().into_owned()) {
        Some(Object::Node(n)) => n,
        _ => panic!("node"),
    };
    assert!(!daemonscope::sim::controllers::build::node_is_ready(&lost));
    // Missing where creation is rejected, with events.
    let gpu_pods: Vec<_> = of("nvidia-device-plugin").iter().filter_map(|p| target_node(p).map(String::from)).collect();
    assert_eq!(gpu_pods.len(), 4);
    assert!(!gpu_pods.iter().any(|n| n == "gpu-02" || n == "gpu-04"));
    assert!(
        sim.store
            .list(Kind::Event, Some("kube-system"))
            .0
            .iter()
            .any(|e| matches!(&*e.obj(), Object::Event(ev) if ev.reason.as_deref() == Some("FailedCreate")))
    );
    // OnDelete with outdated pods.
    let falco = sim.ds("security", "falco");
    let st = falco.status.clone().expect("status");
    assert!(st.updated_number_scheduled.unwrap_or(0) < st.desired_number_scheduled);
    assert!(st.updated_number_scheduled.unwrap_or(0) > 0);
    // Rollout in progress, and it proceeds.
    let fb = sim.ds("logging", "fluent-bit").status.expect("status");
    let before = fb.updated_number_scheduled.unwrap_or(0);
    assert!(before < fb.desired_number_scheduled);
    assert_eq!(sim.revisions("logging").len(), 3);
    sim.run(60_000);
    let after = sim.ds("logging", "fluent-bit").status.expect("status").updated_number_scheduled.unwrap_or(0);
    assert!(after > before, "rollout moved: {before} -> {after}");
    // OnDelete does not roll by itself.
    assert_eq!(
        sim.ds("security", "falco").status.expect("status").updated_number_scheduled,
        st.updated_number_scheduled
    );
}

#[test]
fn small_scenario_is_healthy_and_settled() {
    let sc = scenario::load("small").expect("small");
    let sim = Sim::with(sc, 3);
    for s in sim.store.list(Kind::DaemonSet, None).0 {
        let Object::DaemonSet(d) = &*s.obj() else { continue };
        let st = d.status.clone().expect("status at time zero");
        assert!(st.desired_number_scheduled > 0);
        assert_eq!(st.number_ready, st.desired_number_scheduled);
        assert_eq!(st.updated_number_scheduled, Some(st.desired_number_scheduled));
    }
}

/// 150,000 pods of ~8.7 KB, in every build: CI's `cargo test` is a debug build, where this
/// takes ~17 s and 2.3 GB on a 2-core machine (it was minutes, and ignored there, before the
/// store kept pods as JSON and wrote managedFields from each prototype's JSON).
#[test]
fn large_scenario_populates_150k_pods() {
    let sc = scenario::load("large").expect("large");
    let store = Store::new(1_000);
    let clock = Clock::new(true);
    let t = std::time::Instant::now();
    fill::populate(&store, clock.start(), &sc, 1).expect("populate");
    let took = t.elapsed();
    let pods = store.count(Kind::Pod);
    let bytes: usize = store.list(Kind::Pod, None).0.iter().map(|s| s.json.len()).sum();
    eprintln!(
        "large: {pods} pods, {} nodes in {took:?}; average pod JSON {} bytes",
        store.count(Kind::Node),
        bytes / pods.max(1)
    );
    assert_eq!(store.count(Kind::Node), 5_000);
    assert!(pods >= 149_000, "{pods} pods");
}

/// The README's side-by-side timings use `large` cut to 1,000 nodes: the same DaemonSets.
#[test]
fn the_1k_comparison_scenario_is_large_with_a_fifth_of_the_nodes() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/scenarios/large-1k.toml");
    let cut = scenario::load(path).expect("large-1k");
    let large = scenario::load("large").expect("large");
    assert_eq!(cut.pools.iter().map(|p| p.count).sum::<usize>(), 1_000);
    assert_eq!(large.pools.iter().map(|p| p.count).sum::<usize>(), 5_000);
    let names = |s: &scenario::Scenario| s.daemonsets.iter().map(|d| d.name.clone()).collect::<Vec<_>>();
    assert_eq!(names(&cut), names(&large));
    assert_eq!(cut.daemonsets.len(), 30);
}

#[test]
fn unknown_scenario_name_is_a_clear_error() {
    let e = scenario::load("no-such-scenario").expect_err("error");
    assert!(e.to_string().contains("small, mixed, large"));
}

#[tokio::test]
async fn spawned_controllers_run_and_stop_on_cancel() {
    let sc = scenario::load("mixed").expect("mixed");
    let store = Store::new(100_000);
    let clock = Arc::new(Clock::new(false));
    fill::populate(&store, clock.start(), &sc, 1).expect("populate");
    let rv = store.current_rv();
    let stop = tokio_util::sync::CancellationToken::new();
    let h = daemonscope::sim::controllers::spawn(store.clone(), clock, sc, 1, Some(20.0), stop.clone());
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    stop.cancel();
    h.await.expect("controller task ends cleanly");
    assert!(store.current_rv() > rv, "the rollout and churn wrote something");
}
