//! The simulator's HTTP API through the real `kube` client: lists, selectors, pagination,
//! writes, watches (resume, bookmarks, 410 → re-list, dropped connections), faults, auth,
//! read-only 403, TLS, and Status errors for bad input.

mod common;

use std::time::Duration;

use common::objects::{daemonset, labels, node, pod};
use daemonscope::sim::{self, SimHandle, SimOptions};
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{Container, Node, Pod};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams};
use kube::runtime::watcher;

/// Generous bound on waits for events; tests assert behaviour, never speed.
const WAIT: Duration = Duration::from_secs(30);

async fn sim_with(tls: bool) -> SimHandle {
    let opts = SimOptions { tls, ..common::sim::frozen(sim::EMPTY_SCENARIO) };
    common::sim::start_with(opts, common::sim::without_controllers()).await
}

async fn sim() -> SimHandle {
    sim_with(false).await
}

fn api_status(e: kube::Error) -> (u16, String, String) {
    match e {
        kube::Error::Api(s) => (s.code, s.reason.clone(), s.message.clone()),
        other => panic!("expected a Status error, got {other:?}"),
    }
}

/// A raw request through the kube client (auth and TLS as configured).
async fn raw(
    client: &kube::Client,
    method: &str,
    uri: &str,
    ctype: Option<&str>,
    body: &str,
) -> Result<String, (u16, String, String)> {
    let mut b = http::Request::builder().method(method).uri(uri);
    if let Some(ct) = ctype {
        b = b.header(http::header::CONTENT_TYPE, ct);
    }
    let req = b.body(body.as_bytes().to_vec()).expect("a valid request");
    client.request_text(req).await.map_err(api_status)
}

#[tokio::test]
async fn list_paginates_with_limit_and_continue() {
    let s = sim().await;
    let pods: Api<Pod> = Api::namespaced(s.client().await.expect("client"), "default");
    for i in 0..25 {
        pods.create(&PostParams::default(), &pod(&format!("p-{i:02}"), None, &[])).await.expect("create");
    }
    let mut names = Vec::new();
    let mut lp = ListParams::default().limit(10);
    let mut pages = 0;
    loop {
        let page = pods.list(&lp).await.expect("list page");
        pages += 1;
        assert!(page.items.len() <= 10);
        names.extend(page.items.iter().map(|p| p.metadata.name.clone().unwrap_or_default()));
        match page.metadata.continue_.filter(|c| !c.is_empty()) {
            Some(c) => lp = ListParams::default().limit(10).continue_token(&c),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    let expected: Vec<String> = (0..25).map(|i| format!("p-{i:02}")).collect();
    assert_eq!(names, expected);
    s.shutdown().await;
}

/// Every page of a list, by name (`namespace/name`), with each page's remainingItemCount.
async fn pages_of(api: &Api<Pod>, lp: ListParams) -> (Vec<Vec<String>>, Vec<Option<i64>>) {
    let (mut pages, mut remaining) = (Vec::new(), Vec::new());
    let mut lp = lp;
    loop {
        let page = api.list(&lp).await.expect("list page");
        pages.push(
            page.items
                .iter()
                .map(|p| {
                    format!(
                        "{}/{}",
                        p.metadata.namespace.as_deref().unwrap_or(""),
                        p.metadata.name.as_deref().unwrap_or("")
                    )
                })
                .collect(),
        );
        remaining.push(page.metadata.remaining_item_count);
        match page.metadata.continue_.filter(|c| !c.is_empty()) {
            Some(c) => lp = lp.continue_token(&c),
            None => return (pages, remaining),
        }
    }
}

#[tokio::test]
async fn pages_follow_namespaces_selectors_and_count_what_remains() {
    let s = sim().await;
    let client = s.client().await.expect("client");
    // a: a-0 (daemon), a-1; b: b-0..b-4 (b-1, b-3 daemon); c: c-0 (daemon).
    let daemon = [("a", 0), ("b", 1), ("b", 3), ("c", 0)];
    for (ns, n) in [("a", 2), ("b", 5), ("c", 1)] {
        let api: Api<Pod> = Api::namespaced(client.clone(), ns);
        for i in 0..n {
            let l: &[(&str, &str)] = if daemon.contains(&(ns, i)) { &[("pod-template-generation", "1")] } else { &[] };
            api.create(&PostParams::default(), &pod(&format!("{ns}-{i}"), None, l)).await.expect("create");
        }
    }
    let strs =
        |v: &[&[&str]]| -> Vec<Vec<String>> { v.iter().map(|p| p.iter().map(|s| s.to_string()).collect()).collect() };

    // One namespace, paged: the pods before and after it are not in any page.
    let b: Api<Pod> = Api::namespaced(client.clone(), "b");
    let (pages, remaining) = pages_of(&b, ListParams::default().limit(2)).await;
    assert_eq!(pages, strs(&[&["b/b-0", "b/b-1"], &["b/b-2", "b/b-3"], &["b/b-4"]]));
    // Without a selector, each page but the last says how many are left.
    assert_eq!(remaining, vec![Some(3), Some(1), None]);

    // All namespaces with a label selector: matches only, across namespaces; no count.
    let all: Api<Pod> = Api::all(client.clone());
    let (pages, remaining) = pages_of(&all, ListParams::default().labels("pod-template-generation").limit(2)).await;
    assert_eq!(pages, strs(&[&["a/a-0", "b/b-1"], &["b/b-3", "c/c-0"]]));
    assert_eq!(remaining, vec![None, None]);

    // All namespaces, no selector: 8 pods in pages of 3.
    let (pages, remaining) = pages_of(&all, ListParams::default().limit(3)).await;
    assert_eq!(pages, strs(&[&["a/a-0", "a/a-1", "b/b-0"], &["b/b-1", "b/b-2", "b/b-3"], &["b/b-4", "c/c-0"]]));
    assert_eq!(remaining, vec![Some(5), Some(2), None]);
    s.shutdown().await;
}

#[tokio::test]
async fn all_namespaces_list_and_namespaced_list_differ() {
    let s = sim().await;
    let client = s.client().await.expect("client");
    for ns in ["a", "b"] {
        let api: Api<Pod> = Api::namespaced(client.clone(), ns);
        api.create(&PostParams::default(), &pod("x", None, &[])).await.expect("create");
    }
    let all: Api<Pod> = Api::all(client.clone());
    assert_eq!(all.list(&ListParams::default()).await.expect("list").items.len(), 2);
    let a: Api<Pod> = Api::namespaced(client, "a");
    let items = a.list(&ListParams::default()).await.expect("list").items;
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].metadata.namespace.as_deref(), Some("a"));
}

#[tokio::test]
async fn label_and_field_selectors_filter_lists() {
    let s = sim().await;
    let pods: Api<Pod> = Api::namespaced(s.client().await.expect("client"), "default");
    pods.create(&PostParams::default(), &pod("a1", Some("n1"), &[("app", "a"), ("tier", "x")])).await.expect("create");
    pods.create(&PostParams::default(), &pod("a2", Some("n2"), &[("app", "a")])).await.expect("create");
    pods.create(&PostParams::default(), &pod("b1", Some("n1"), &[("app", "b")])).await.expect("create");
    let names = |l: kube::core::ObjectList<Pod>| -> Vec<String> {
        l.items.iter().map(|p| p.metadata.name.clone().unwrap_or_default()).collect()
    };
    let cases = [
        ("app=a", vec!["a1", "a2"]),
        ("app==b", vec!["b1"]),
        ("app!=a", vec!["b1"]),
        ("app in (a, b),tier", vec!["a1"]),
        ("app notin (a)", vec!["b1"]),
        ("!tier", vec!["a2", "b1"]),
    ];
    for (sel, want) in cases {
        let got = names(pods.list(&ListParams::default().labels(sel)).await.expect("list"));
        assert_eq!(got, want, "labelSelector {sel}");
    }
    let got = names(pods.list(&ListParams::default().fields("spec.nodeName=n1")).await.expect("list"));
    assert_eq!(got, vec!["a1", "b1"]);
    let got =
        names(pods.list(&ListParams::default().fields("metadata.name!=a1,spec.nodeName=n1")).await.expect("list"));
    assert_eq!(got, vec!["b1"]);
}

#[tokio::test]
async fn get_missing_is_404_and_create_existing_is_409() {
    let s = sim().await;
    let pods: Api<Pod> = Api::namespaced(s.client().await.expect("client"), "default");
    let (code, reason, msg) = api_status(pods.get("nope").await.expect_err("404"));
    assert_eq!((code, reason.as_str()), (404, "NotFound"));
    assert_eq!(msg, "pods \"nope\" not found");
    pods.create(&PostParams::default(), &pod("p", None, &[])).await.expect("create");
    let (code, reason, _) =
        api_status(pods.create(&PostParams::default(), &pod("p", None, &[])).await.expect_err("409"));
    assert_eq!((code, reason.as_str()), (409, "AlreadyExists"));
}

#[tokio::test]
async fn update_with_a_stale_resource_version_conflicts() {
    let s = sim().await;
    let nodes: Api<Node> = Api::all(s.client().await.expect("client"));
    let created = nodes.create(&PostParams::default(), &node("n1")).await.expect("create");
    let mut fresh = created.clone();
    fresh.metadata.labels = labels(&[("pool", "a")]);
    let updated = nodes.replace("n1", &PostParams::default(), &fresh).await.expect("replace");
    assert_ne!(updated.metadata.resource_version, created.metadata.resource_version);
    let mut stale = created;
    stale.metadata.labels = labels(&[("pool", "b")]);
    let (code, reason, _) =
        api_status(nodes.replace("n1", &PostParams::default(), &stale).await.expect_err("conflict"));
    assert_eq!((code, reason.as_str()), (409, "Conflict"));
}

#[tokio::test]
async fn pod_delete_is_graceful_and_grace_zero_removes() {
    let s = sim().await;
    let pods: Api<Pod> = Api::namespaced(s.client().await.expect("client"), "default");
    pods.create(&PostParams::default(), &pod("p", Some("n1"), &[])).await.expect("create");
    let deleted = pods.delete("p", &DeleteParams::default()).await.expect("delete");
    let p = deleted.left().expect("a graceful delete returns the pod");
    assert!(p.metadata.deletion_timestamp.is_some());
    assert_eq!(p.metadata.deletion_grace_period_seconds, Some(30));
    assert!(pods.get("p").await.expect("still there while terminating").metadata.deletion_timestamp.is_some());
    pods.delete("p", &DeleteParams { grace_period_seconds: Some(0), ..Default::default() }).await.expect("force");
    assert_eq!(api_status(pods.get("p").await.expect_err("gone")).0, 404);
    // An unscheduled pod has no kubelet to wait for: removed at once.
    pods.create(&PostParams::default(), &pod("q", None, &[])).await.expect("create");
    pods.delete("q", &DeleteParams::default()).await.expect("delete");
    assert_eq!(api_status(pods.get("q").await.expect_err("gone")).0, 404);
}

#[tokio::test]
async fn merge_strategic_and_json_patches_apply() {
    let s = sim().await;
    let dss: Api<DaemonSet> = Api::namespaced(s.client().await.expect("client"), "default");
    dss.create(&PostParams::default(), &daemonset("agent", &["agent", "sidecar"])).await.expect("create");
    let pp = PatchParams::default();
    let merged = dss
        .patch("agent", &pp, &Patch::Merge(serde_json::json!({"metadata": {"labels": {"team": "sre"}}})))
        .await
        .expect("merge patch");
    assert_eq!(merged.metadata.labels.and_then(|l| l.get("team").cloned()).as_deref(), Some("sre"));
    let restarted = dss
        .patch(
            "agent",
            &pp,
            &Patch::Strategic(serde_json::json!({"spec": {"template": {
                "metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": "2025-01-01T00:00:00Z"}},
                "spec": {"containers": [{"name": "sidecar", "image": "sidecar:2"}]}
            }}})),
        )
        .await
        .expect("strategic patch");
    let tpl = restarted.spec.template;
    let containers = tpl.spec.expect("pod spec").containers;
    assert_eq!(containers.len(), 2, "containers merge by name");
    assert_eq!(containers[1].image.as_deref(), Some("sidecar:2"));
    assert!(
        tpl.metadata.and_then(|m| m.annotations).is_some_and(|a| a.contains_key("kubectl.kubernetes.io/restartedAt"))
    );
    assert_eq!(restarted.metadata.generation, Some(2), "a spec change bumps the generation");
    let p: json_patch::Patch = serde_json::from_value(serde_json::json!([
        {"op": "replace", "path": "/spec/template/spec/containers/0/image", "value": "agent:2"}
    ]))
    .expect("json patch");
    let patched = dss.patch("agent", &pp, &Patch::<()>::Json(p)).await.expect("json patch");
    assert_eq!(patched.spec.template.spec.expect("spec").containers[0].image.as_deref(), Some("agent:2"));
    // The status subresource changes only the status.
    let st = dss
        .patch_status("agent", &pp, &Patch::Merge(serde_json::json!({"status": {"desiredNumberScheduled": 3, "currentNumberScheduled": 3, "numberReady": 3, "numberMisscheduled": 0}, "spec": {"minReadySeconds": 99}})))
        .await
        .expect("status patch");
    assert_eq!(st.status.map(|s| s.desired_number_scheduled), Some(3));
    assert_eq!(st.spec.min_ready_seconds, None);
}

#[tokio::test]
async fn watcher_sees_add_modify_delete() {
    let s = sim().await;
    let client = s.client().await.expect("client");
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let mut stream = watcher(pods.clone(), watcher::Config::default()).boxed();
    // Initial (empty) list: Init, InitDone.
    loop {
        match tokio::time::timeout(WAIT, stream.try_next()).await.expect("event in time").expect("no error") {
            Some(watcher::Event::InitDone) => break,
            Some(_) => continue,
            None => panic!("stream ended"),
        }
    }
    pods.create(&PostParams::default(), &pod("w", Some("n1"), &[])).await.expect("create");
    pods.patch("w", &PatchParams::default(), &Patch::Merge(serde_json::json!({"metadata": {"labels": {"x": "1"}}})))
        .await
        .expect("patch");
    pods.delete("w", &DeleteParams { grace_period_seconds: Some(0), ..Default::default() }).await.expect("delete");
    let mut seen = Vec::new();
    while seen.len() < 3 {
        match tokio::time::timeout(WAIT, stream.try_next()).await.expect("event in time").expect("no error") {
            Some(watcher::Event::Apply(p)) => seen.push(format!("apply:{}", p.metadata.labels.map_or(0, |l| l.len()))),
            Some(watcher::Event::Delete(_)) => seen.push("delete".to_string()),
            Some(_) => {}
            None => panic!("stream ended"),
        }
    }
    assert_eq!(seen, vec!["apply:0", "apply:1", "delete"]);
}

#[tokio::test]
async fn watch_resumes_from_a_resource_version() {
    let s = sim().await;
    let pods: Api<Pod> = Api::namespaced(s.client().await.expect("client"), "default");
    pods.create(&PostParams::default(), &pod("before", None, &[])).await.expect("create");
    let rv = pods.list(&ListParams::default()).await.expect("list").metadata.resource_version.expect("rv");
    pods.create(&PostParams::default(), &pod("after", None, &[])).await.expect("create");
    let mut events = pods.watch(&WatchParams::default().timeout(5), &rv).await.expect("watch").boxed();
    let first = tokio::time::timeout(WAIT, events.try_next()).await.expect("in time").expect("ok").expect("an event");
    match first {
        WatchEvent::Added(p) => assert_eq!(p.metadata.name.as_deref(), Some("after")),
        other => panic!("expected ADDED after, got {other:?}"),
    }
}

#[tokio::test]
async fn selector_watch_turns_stop_matching_into_deleted() {
    let s = sim().await;
    let pods: Api<Pod> = Api::namespaced(s.client().await.expect("client"), "default");
    pods.create(&PostParams::default(), &pod("m", Some("n1"), &[("app", "a")])).await.expect("create");
    let mut events = pods.watch(&WatchParams::default().labels("app=a").timeout(10), "0").await.expect("watch").boxed();
    let first = tokio::time::timeout(WAIT, events.try_next()).await.expect("in time").expect("ok").expect("an event");
    assert!(matches!(first, WatchEvent::Added(_)));
    pods.patch("m", &PatchParams::default(), &Patch::Merge(serde_json::json!({"metadata": {"labels": {"app": "b"}}})))
        .await
        .expect("patch");
    let next = tokio::time::timeout(WAIT, events.try_next()).await.expect("in time").expect("ok").expect("an event");
    assert!(matches!(next, WatchEvent::Deleted(_)), "got {next:?}");
}

#[tokio::test]
async fn watches_send_bookmarks_when_allowed() {
    let s = sim().await;
    s.faults.set_bookmark_period(Duration::from_millis(100));
    let pods: Api<Pod> = Api::namespaced(s.client().await.expect("client"), "default");
    let rv = pods.list(&ListParams::default()).await.expect("list").metadata.resource_version.expect("rv");
    let mut events = pods
        .watch(&WatchParams { bookmarks: true, ..WatchParams::default().timeout(20) }, &rv)
        .await
        .expect("watch")
        .boxed();
    let ev = tokio::time::timeout(WAIT, events.try_next()).await.expect("in time").expect("ok").expect("an event");
    match ev {
        WatchEvent::Bookmark(b) => assert!(b.metadata.resource_version.parse::<u64>().is_ok()),
        other => panic!("expected a bookmark, got {other:?}"),
    }
}

#[tokio::test]
async fn watch_from_a_compacted_resource_version_gets_410_in_the_stream() {
    let s = sim().await;
    let pods: Api<Pod> = Api::namespaced(s.client().await.expect("client"), "default");
    pods.create(&PostParams::default(), &pod("a", None, &[])).await.expect("create");
    pods.create(&PostParams::default(), &pod("b", None, &[])).await.expect("create");
    s.store.compact();
    let mut events = pods.watch(&WatchParams::default(), "1").await.expect("the watch itself is accepted").boxed();
    let ev = tokio::time::timeout(WAIT, events.try_next()).await.expect("in time").expect("ok").expect("an event");
    match ev {
        WatchEvent::Error(e) => {
            assert_eq!(e.code, 410);
            assert_eq!(e.reason, "Expired");
        }
        other => panic!("expected ERROR 410, got {other:?}"),
    }
}

/// Drive the watcher until `n` InitDone events were seen, returning the errors in between.
async fn until_init_done(
    stream: &mut (impl futures::Stream<Item = Result<watcher::Event<Pod>, watcher::Error>> + Unpin),
    n: usize,
) -> Vec<String> {
    let mut errors = Vec::new();
    let mut done = 0;
    while done < n {
        match tokio::time::timeout(WAIT, stream.next()).await.expect("event in time") {
            Some(Ok(watcher::Event::InitDone)) => done += 1,
            Some(Ok(_)) => {}
            Some(Err(e)) => errors.push(e.to_string()),
            None => panic!("stream ended"),
        }
    }
    errors
}

#[tokio::test]
async fn forced_410_makes_the_watcher_relist() {
    let s = sim().await;
    let pods: Api<Pod> = Api::namespaced(s.client().await.expect("client"), "default");
    pods.create(&PostParams::default(), &pod("a", None, &[])).await.expect("create");
    let mut stream = watcher(pods.clone(), watcher::Config::default()).boxed();
    until_init_done(&mut stream, 1).await;
    let lists_before = s.stats().by_verb.get("list").copied().unwrap_or(0);
    s.faults.force_gone(1);
    s.faults.drop_watches();
    let errors = until_init_done(&mut stream, 1).await;
    assert!(
        errors.iter().any(|e| e.contains("410") || e.to_lowercase().contains("expired") || e.contains("too old")),
        "errors: {errors:?}"
    );
    assert!(s.stats().by_verb.get("list").copied().unwrap_or(0) > lists_before, "the watcher re-listed");
}

#[tokio::test]
async fn dropped_watch_connections_are_recovered() {
    let s = sim().await;
    let pods: Api<Pod> = Api::namespaced(s.client().await.expect("client"), "default");
    let mut stream = watcher(pods.clone(), watcher::Config::default()).boxed();
    until_init_done(&mut stream, 1).await;
    s.faults.drop_watches();
    // Let the watcher notice the end of its stream and re-watch before the change.
    tokio::time::sleep(Duration::from_millis(200)).await;
    pods.create(&PostParams::default(), &pod("late", None, &[])).await.expect("create");
    loop {
        match tokio::time::timeout(WAIT, stream.next()).await.expect("event in time") {
            Some(Ok(watcher::Event::Apply(p))) | Some(Ok(watcher::Event::InitApply(p))) => {
                if p.metadata.name.as_deref() == Some("late") {
                    break;
                }
            }
            Some(_) => {}
            None => panic!("stream ended"),
        }
    }
}

#[tokio::test]
async fn streaming_list_watcher_gets_initial_events_end() {
    let s = sim().await;
    let pods: Api<Pod> = Api::namespaced(s.client().await.expect("client"), "default");
    pods.create(&PostParams::default(), &pod("a", None, &[])).await.expect("create");
    pods.create(&PostParams::default(), &pod("b", None, &[])).await.expect("create");
    let mut stream = watcher(pods.clone(), watcher::Config::default().streaming_lists()).boxed();
    let mut initial = Vec::new();
    loop {
        match tokio::time::timeout(WAIT, stream.try_next()).await.expect("in time").expect("ok") {
            Some(watcher::Event::InitApply(p)) => initial.push(p.metadata.name.unwrap_or_default()),
            Some(watcher::Event::InitDone) => break,
            Some(_) => {}
            None => panic!("stream ended"),
        }
    }
    assert_eq!(initial, vec!["a", "b"]);
    assert_eq!(s.stats().by_verb.get("list"), None, "no list call with streaming lists");
}

#[tokio::test]
async fn error_bursts_then_recovery() {
    let s = sim().await;
    let pods: Api<Pod> = Api::namespaced(s.client().await.expect("client"), "default");
    s.faults.burst(2, 500, 0);
    assert_eq!(api_status(pods.list(&ListParams::default()).await.expect_err("500")).0, 500);
    assert_eq!(api_status(pods.list(&ListParams::default()).await.expect_err("500")).0, 500);
    pods.list(&ListParams::default()).await.expect("recovered");
    // 429 carries Retry-After; kube's retry policy or a second call gets through.
    s.faults.burst(1, 429, 1);
    let client = s.client().await.expect("client");
    let req = http::Request::get("/api/v1/namespaces/default/pods").body(Vec::new()).expect("request");
    let resp = client.send(req.map(Into::into)).await;
    match resp {
        Ok(r) => assert!(r.status().is_success() || r.status() == http::StatusCode::TOO_MANY_REQUESTS),
        Err(e) => panic!("transport error: {e}"),
    }
    pods.list(&ListParams::default()).await.expect("recovered after 429");
}

#[tokio::test]
async fn requests_without_a_token_get_401() {
    let s = sim().await;
    let url: http::Uri = s.url.parse().expect("url");
    let client = kube::Client::try_from(kube::Config::new(url)).expect("client");
    for path in ["/version", "/api/v1/pods"] {
        let req = http::Request::get(path).body(Vec::new()).expect("request");
        let (code, reason, _) = api_status(client.request_text(req).await.expect_err("401"));
        assert_eq!((code, reason.as_str()), (401, "Unauthorized"));
    }
}

#[tokio::test]
async fn readonly_token_reads_but_every_write_is_forbidden() {
    let s = sim().await;
    let admin: Api<Pod> = Api::namespaced(s.client().await.expect("client"), "y");
    admin.create(&PostParams::default(), &pod("x", Some("n1"), &[])).await.expect("create");
    let ro: Api<Pod> = Api::namespaced(s.readonly_client().await.expect("client"), "y");
    assert_eq!(ro.list(&ListParams::default()).await.expect("read").items.len(), 1);
    let (code, reason, msg) = api_status(ro.delete("x", &DeleteParams::default()).await.expect_err("403"));
    assert_eq!((code, reason.as_str()), (403, "Forbidden"));
    assert_eq!(
        msg,
        "pods \"x\" is forbidden: User \"daemonscope-readonly\" cannot delete resource \"pods\" in API group \"\" in the namespace \"y\""
    );
    let errs = [
        ro.create(&PostParams::default(), &pod("z", None, &[])).await.map(|_| ()),
        ro.patch("x", &PatchParams::default(), &Patch::Merge(serde_json::json!({}))).await.map(|_| ()),
        ro.replace("x", &PostParams::default(), &pod("x", None, &[])).await.map(|_| ()),
    ];
    for e in errs {
        assert_eq!(api_status(e.expect_err("403")).0, 403);
    }
    assert!(admin.get("x").await.expect("untouched").metadata.deletion_timestamp.is_none());
    let stats = s.stats();
    assert_eq!(stats.by_code.get(&403), Some(&4));
}

#[tokio::test]
async fn tls_works_through_the_generated_kubeconfig_and_a_wrong_ca_fails() {
    let s = sim_with(true).await;
    assert!(s.url.starts_with("https://"));
    let yaml = s.kubeconfig_yaml();
    assert!(yaml.contains("certificate-authority-data"));
    let nodes: Api<Node> = Api::all(s.client().await.expect("client"));
    nodes.create(&PostParams::default(), &node("n1")).await.expect("create over TLS");
    assert_eq!(nodes.list(&ListParams::default()).await.expect("list over TLS").items.len(), 1);
    let other = sim_with(true).await;
    let wrong = other.ca_pem.clone().expect("a CA");
    let bad: Api<Node> = Api::all(s.client_with_ca(&wrong).await.expect("client"));
    let err = bad.list(&ListParams::default()).await.expect_err("a wrong CA must be refused");
    let text = format!("{err:?}").to_lowercase();
    assert!(text.contains("certificate") || text.contains("tls") || text.contains("unknownissuer"), "{text}");
}

#[tokio::test]
async fn bad_input_gets_status_errors() {
    let s = sim().await;
    let c = s.client().await.expect("client");
    let cases: [(&str, &str, Option<&str>, &str, u16); 14] = [
        ("GET", "/api/v1/pods?labelSelector=app%20in%20(", None, "", 400),
        ("GET", "/api/v1/pods?labelSelector=a%3D%3D%3D", None, "", 400),
        ("GET", "/api/v1/pods?fieldSelector=spec.bogus%3Dx", None, "", 400),
        ("GET", "/api/v1/pods?limit=-1", None, "", 400),
        ("GET", "/api/v1/pods?limit=lots", None, "", 400),
        ("GET", "/api/v1/pods?limit=999999999999999999999999", None, "", 400),
        ("GET", "/api/v1/pods?continue=not-a-token", None, "", 400),
        ("GET", "/api/v1/widgets", None, "", 404),
        ("GET", "/nonsense/path", None, "", 404),
        ("POST", "/api/v1/namespaces/default/pods", Some("application/json"), "{not json", 400),
        (
            "POST",
            "/api/v1/namespaces/default/pods",
            Some("application/json"),
            "{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"x\"},\"spec\":{\"containers\":\"nope\"}}",
            400,
        ),
        ("PATCH", "/api/v1/namespaces/default/pods/p", Some("application/apply-patch+yaml"), "{}", 415),
        ("PATCH", "/api/v1/namespaces/default/pods/p", Some("application/json-patch+json"), "{\"op\":1}", 400),
        ("DELETE", "/api/v1/pods", None, "", 405),
    ];
    let pods: Api<Pod> = Api::namespaced(c.clone(), "default");
    pods.create(&PostParams::default(), &pod("p", None, &[])).await.expect("create");
    for (method, uri, ct, body, code) in cases {
        let (got, _, msg) = raw(&c, method, uri, ct, body).await.expect_err(uri);
        assert_eq!(got, code, "{method} {uri}: {msg}");
        assert!(!msg.is_empty());
    }
    // A patch that produces an object of the wrong shape is Invalid.
    let (code, reason, _) = raw(
        &c,
        "PATCH",
        "/api/v1/namespaces/default/pods/p",
        Some("application/merge-patch+json"),
        "{\"spec\":{\"containers\":5}}",
    )
    .await
    .expect_err("422");
    assert_eq!((code, reason.as_str()), (422, "Invalid"));
    // A failed JSON-patch test is Invalid too.
    let (code, _, _) = raw(
        &c,
        "PATCH",
        "/api/v1/namespaces/default/pods/p",
        Some("application/json-patch+json"),
        "[{\"op\":\"test\",\"path\":\"/metadata/name\",\"value\":\"q\"}]",
    )
    .await
    .expect_err("422");
    assert_eq!(code, 422);
    let (_, _, msg) = raw(&c, "GET", "/api/v1/pods?labelSelector=app%20in%20(", None, "").await.expect_err("400");
    assert!(msg.contains("found") || msg.contains("unable to parse"), "{msg}");
}

#[tokio::test]
async fn garbage_never_panics_the_server() {
    let s = sim().await;
    let c = s.client().await.expect("client");
    let paths = [
        "/api/v1/namespaces//pods",
        "/api/v1/namespaces/%ff%fe/pods",
        "/apis/apps/v1/namespaces/x/daemonsets/y/z/w",
        "/api/v1/nodes/n/log",
        "/api/v1/pods?watch=maybe",
        "/api/v1/pods?resourceVersion=abc",
        "/api/v1/pods?resourceVersionMatch=Exact",
        "/api/v1/namespaces/d/pods/p/log?tailLines=-3",
        "/api/v1/pods?watch=1&timeoutSeconds=x",
        "/api/v1/pods?watch=1&sendInitialEvents=true",
        "/apis",
        "/apis/apps/v1/namespaces/d/daemonsets/x/status",
    ];
    for p in paths {
        let r = raw(&c, "GET", p, None, "").await;
        if let Err((code, _, _)) = r {
            assert!(code < 500, "{p} → {code}");
        }
    }
    for body in ["", "null", "[]", "\"x\"", "{\"metadata\":{\"name\":\"UPPER\"}}", "{\"metadata\":5}"] {
        if let Err((code, _, _)) =
            raw(&c, "POST", "/api/v1/namespaces/default/pods", Some("application/json"), body).await
        {
            assert!((400..500).contains(&code), "{body} → {code}");
        }
    }
}

/// Give a pod's `main` container a running state that started at `started` (what the
/// simulated kubelet would write; controllers are off in these tests).
async fn mark_running(pods: &Api<Pod>, name: &str, started: jiff::Timestamp) {
    let status = serde_json::json!({"status": {"phase": "Running", "containerStatuses": [{
        "name": "main", "ready": true, "restartCount": 0, "image": "busybox:1", "imageID": "",
        "state": {"running": {"startedAt": started.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()}}
    }]}});
    pods.patch_status(name, &PatchParams::default(), &Patch::Merge(&status)).await.expect("status patched");
}

#[tokio::test]
async fn pod_logs_serve_text_and_validate_containers() {
    let s = sim().await;
    let c = s.client().await.expect("client");
    let pods: Api<Pod> = Api::namespaced(c.clone(), "default");
    pods.create(&PostParams::default(), &pod("p", Some("n1"), &[])).await.expect("create");
    // No container has started yet: the kubelet's answer.
    let (code, _, msg) = api_status(pods.logs("p", &Default::default()).await.expect_err("not started"));
    assert_eq!(code, 400);
    assert!(msg.contains("is waiting to start"), "{msg}");
    mark_running(&pods, "p", s.clock.now()).await;
    s.clock.advance(120_000);
    let text = pods.logs("p", &Default::default()).await.expect("logs of a one-container pod");
    assert!(!text.is_empty(), "a container running for two minutes has written lines");
    let mut two = pod("two", Some("n1"), &[]);
    if let Some(spec) = two.spec.as_mut() {
        spec.containers.push(Container { name: "side".into(), ..Default::default() });
    }
    pods.create(&PostParams::default(), &two).await.expect("create");
    let (code, _, msg) = api_status(pods.logs("two", &Default::default()).await.expect_err("container required"));
    assert_eq!(code, 400);
    assert!(msg.contains("a container name must be specified"), "{msg}");
    assert_eq!(api_status(pods.logs("ghost", &Default::default()).await.expect_err("404")).0, 404);
}

#[tokio::test]
async fn tables_are_served_when_kubectl_asks() {
    let s = sim().await;
    let c = s.client().await.expect("client");
    let pods: Api<Pod> = Api::namespaced(c.clone(), "default");
    pods.create(&PostParams::default(), &pod("p", Some("n1"), &[])).await.expect("create");
    let req = http::Request::get("/api/v1/namespaces/default/pods")
        .header(http::header::ACCEPT, "application/json;as=Table;v=v1;g=meta.k8s.io,application/json")
        .body(Vec::new())
        .expect("request");
    let v: serde_json::Value = serde_json::from_str(&c.request_text(req).await.expect("table")).expect("json");
    assert_eq!(v["kind"], "Table");
    assert_eq!(v["columnDefinitions"][0]["name"], "Name");
    assert_eq!(v["rows"][0]["cells"][0], "p");
    assert_eq!(v["rows"][0]["cells"][2], "Pending");
    assert_eq!(v["rows"][0]["object"]["kind"], "PartialObjectMetadata");
}

#[tokio::test]
async fn daemonset_delete_cascades_to_owned_pods() {
    let s = sim().await;
    let c = s.client().await.expect("client");
    let dss: Api<DaemonSet> = Api::namespaced(c.clone(), "default");
    let ds = dss.create(&PostParams::default(), &daemonset("agent", &["agent", "sidecar"])).await.expect("create");
    let mut p = pod("agent-x", None, &[("app", "agent")]);
    p.metadata.owner_references = Some(vec![k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference {
        api_version: "apps/v1".into(),
        kind: "DaemonSet".into(),
        name: "agent".into(),
        uid: ds.metadata.uid.clone().expect("uid"),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }]);
    let pods: Api<Pod> = Api::namespaced(c, "default");
    pods.create(&PostParams::default(), &p).await.expect("create");
    dss.delete("agent", &DeleteParams::default()).await.expect("delete");
    assert_eq!(api_status(pods.get("agent-x").await.expect_err("cascaded")).0, 404);
}
