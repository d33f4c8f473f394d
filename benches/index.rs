//! The fleet index benchmark: builds a synthetic 5,000-node × 30-DaemonSet fleet of projections
//! (150k pods) and prints what the performance targets of DESIGN.md ask about, then a storm of
//! 1.1M Warning events and what the bounded event store holds after it. Prints figures; it
//! asserts nothing. Run with `cargo bench --bench index` (optionally `-- NODES DAEMONSETS`).

use std::hint::black_box;
use std::time::{Duration, Instant};

use daemonscope::fleet::Index;
use daemonscope::fleet::model::{Change, EventInfo, FleetEvent, Involved, Phase};
use daemonscope::fleet::schedule::{Taint, TaintEffect};
use daemonscope::fleet::synth;

fn per_sec(n: usize, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64().max(1e-9)
}

fn main() {
    let args: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let nodes = args.first().copied().unwrap_or(5_000);
    let daemonsets = args.get(1).copied().unwrap_or(30);

    let events = synth::fleet(nodes, daemonsets, 42);
    let pods: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            FleetEvent::Pod(Change::InitItem(p)) => Some(p.clone()),
            _ => None,
        })
        .collect();
    println!("fleet index benchmark: {nodes} nodes x {daemonsets} DaemonSets, {} pods", pods.len());

    // Initial load: every list event, as the four watch streams deliver them.
    let n_events = events.len();
    let mut idx = Index::new();
    let t = Instant::now();
    for ev in events {
        idx.apply(ev);
    }
    let load = t.elapsed();
    let load_rate = per_sec(n_events, load);

    let bytes = idx.heap_bytes();
    let pods_held = idx.summary().pods.max(1) as usize;

    // Steady churn: pod modifications (status flips, restarts) of random pods.
    let mut rng = synth::Rng(7);
    let churn_n = 1_000_000;
    let mut churn: Vec<FleetEvent> = Vec::with_capacity(churn_n);
    for k in 0..churn_n {
        let mut p = pods[rng.below(pods.len() as u64) as usize].clone();
        if k % 2 == 0 {
            p.ready = false;
            p.reason = "CrashLoopBackOff".to_string();
            p.restarts += 1;
        } else if k % 3 == 0 {
            p.phase = Phase::Pending;
            p.reason = "ContainerCreating".to_string();
        }
        churn.push(FleetEvent::Pod(Change::Apply(p)));
    }
    let t = Instant::now();
    for ev in churn {
        idx.apply(ev);
    }
    let churn_time = t.elapsed();
    let churn_rate = per_sec(churn_n, churn_time);

    // Delete and re-create pods (the rollout pattern).
    let replace_n = 200_000.min(pods.len());
    let mut replace = Vec::with_capacity(2 * replace_n);
    for p in pods.iter().take(replace_n) {
        replace.push(FleetEvent::Pod(Change::Delete(p.key())));
        let mut q = p.clone();
        q.name.push('x');
        replace.push(FleetEvent::Pod(Change::Apply(q)));
    }
    let n_replace = replace.len();
    let t = Instant::now();
    for ev in replace {
        idx.apply(ev);
    }
    let replace_rate = per_sec(n_replace, t.elapsed());

    // A node label/taint change: one row (D predicates).
    let first = idx.node_ids()[0];
    let name = idx.node(first).map(|n| n.name.to_string()).unwrap_or_default();
    let mut info = synth::node(&name);
    let reps = 2_000;
    let t = Instant::now();
    for k in 0..reps {
        info.taints = if k % 2 == 0 {
            vec![Taint { key: "maintenance".to_string(), value: String::new(), effect: TaintEffect::NoSchedule }]
        } else {
            Vec::new()
        };
        idx.apply(FleetEvent::Node(Change::Apply(info.clone())));
    }
    let row = t.elapsed() / reps;

    // A DaemonSet scheduling change: one column (N predicates).
    let d0 = idx.ds_ids()[0];
    let dsinfo = idx.ds_info(d0).cloned();
    let mut col = Duration::ZERO;
    if let Some(mut d) = dsinfo {
        let reps = 20;
        let t = Instant::now();
        for k in 0..reps {
            if k % 2 == 0 {
                d.sched.node_selector.insert("kubernetes.io/os".to_string(), "linux".to_string());
            } else {
                d.sched.node_selector.clear();
            }
            idx.apply(FleetEvent::DaemonSet(Change::Apply(d.clone())));
        }
        col = t.elapsed() / reps;
    }
    black_box(idx.summary());
    let check = idx.recount_check();

    // A Warning event storm: every event a new Event object (the worst case for the store):
    // back-offs and probe failures of random daemon pods, pods of other controllers (dropped),
    // the controller's create failures with ever-new messages. Held bytes after 100k and 1M
    // events show the bound.
    let storm = |idx: &mut Index, n: usize, seed: u64| {
        let mut rng = synth::Rng(seed);
        // The daemon pods the index holds now (the churn above replaced some of the first ones).
        let live: Vec<(String, String)> = idx
            .node_ids()
            .iter()
            .flat_map(|&n| idx.ds_ids().into_iter().map(move |d| (n, d)))
            .filter_map(|(n, d)| idx.cell(n, d).pod.map(|p| (p.namespace.to_string(), p.name.to_string())))
            .collect();
        let ds_names: Vec<(String, String)> = idx
            .ds_ids()
            .iter()
            .filter_map(|&d| idx.ds(d).map(|v| (v.namespace.to_string(), v.name.to_string())))
            .collect();
        let evs: Vec<FleetEvent> = (0..n)
            .map(|k| {
                let roll = rng.below(10);
                let (kind, ns, obj, reason, message) = if roll < 6 {
                    let (ns, name) = live[rng.below(live.len() as u64) as usize].clone();
                    let reason = if roll < 3 { "BackOff" } else { "Unhealthy" };
                    let message = format!("Back-off restarting failed container agent in pod {name}");
                    (Involved::Pod, ns, name, reason, message)
                } else if roll < 9 {
                    (
                        Involved::Pod,
                        "web".to_string(),
                        format!("web-{k}"),
                        "BackOff",
                        "Back-off pulling image".to_string(),
                    )
                } else {
                    let (ns, name) = ds_names[rng.below(ds_names.len() as u64) as usize].clone();
                    (
                        Involved::DaemonSet,
                        ns,
                        name,
                        "FailedCreate",
                        format!("Error creating: exceeded quota: q, used: pods={k}"),
                    )
                };
                FleetEvent::Event(Change::Apply(EventInfo {
                    namespace: ns.clone(),
                    name: format!("{obj}.{k:016x}"),
                    kind,
                    object_namespace: ns,
                    object_name: obj,
                    object_uid: String::new(),
                    field_path: Some("spec.containers{agent}".to_string()),
                    reason: reason.to_string(),
                    message,
                    count: 1 + (k % 20) as u32,
                    last: 1_700_000_000 + k as i64,
                }))
            })
            .collect();
        let t = Instant::now();
        for e in evs {
            idx.apply(e);
        }
        t.elapsed()
    };
    let storm_100k = storm(&mut idx, 100_000, 11);
    let events_100k =
        (idx.event_count(), idx.heap_report().iter().find(|(p, _)| *p == "warning events").map_or(0, |(_, b)| *b));
    let storm_1m = storm(&mut idx, 1_000_000, 12);
    let events_1m =
        (idx.event_count(), idx.heap_report().iter().find(|(p, _)| *p == "warning events").map_or(0, |(_, b)| *b));

    println!();
    println!("{:<44} {:>14}   target", "figure", "measured");
    println!("{:<44} {:>14.0}   >= 200000", "initial load, events/s", load_rate);
    println!("{:<44} {:>14.0}   >= 200000", "steady churn (pod modify), events/s", churn_rate);
    println!("{:<44} {:>14.0}   >= 200000", "pod delete + create, events/s", replace_rate);
    println!("{:<44} {:>14.1}   <= 300", "bytes per pod after initial load", bytes as f64 / pods_held as f64);
    // The pods' share: the event store is bounded on its own (printed below).
    let after = idx.heap_bytes() - events_1m.1;
    let pods_after = idx.summary().pods.max(1) as usize;
    println!(
        "{:<44} {:>14.1}   <= 300",
        "bytes per pod after the churn (w/o events)",
        after as f64 / pods_after as f64
    );
    println!("{:<44} {:>14.2}", "index heap, MB", bytes as f64 / 1e6);
    println!("{:<44} {:>14.1}   O(D) predicates", "node taint change (row re-eval), us", row.as_secs_f64() * 1e6);
    println!("{:<44} {:>14.2}   O(N) predicates", "DaemonSet selector change (column), ms", col.as_secs_f64() * 1e3);
    println!("{:<44} {:>14.2}", "initial load wall time, s", load.as_secs_f64());
    println!("{:<44} {:>14}", "recount check after all of it", if check.is_ok() { "consistent" } else { "MISMATCH" });
    println!("{:<44} {:>14.0}   >= 200000", "warning event storm, events/s (100k)", per_sec(100_000, storm_100k));
    println!("{:<44} {:>14.0}   >= 200000", "warning event storm, events/s (1M more)", per_sec(1_000_000, storm_1m));
    println!(
        "{:<44} {:>14}   <= 20000",
        "events held after 100k / after 1.1M",
        format!("{} / {}", events_100k.0, events_1m.0)
    );
    println!(
        "{:<44} {:>14}   bounded",
        "event store heap MB after 100k / after 1.1M",
        format!("{:.2} / {:.2}", events_100k.1 as f64 / 1e6, events_1m.1 as f64 / 1e6)
    );
    println!();
    println!("index heap by part after the churn (bytes per pod):");
    for (part, b) in idx.heap_report() {
        println!("  {part:<42} {:>10.1}", b as f64 / pods_after as f64);
    }
    if let Err(e) = check {
        println!("  {e}");
    }
}
