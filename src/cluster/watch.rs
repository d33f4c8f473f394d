//! The watch streams: one `kube::runtime::watcher` per kind (Nodes, DaemonSets,
//! ControllerRevisions, DaemonSet pods), each event projected in its own task the moment it
//! arrives (`cluster::project`) and sent to the event loop as a [`FleetEvent`] over a bounded
//! channel. The full object is dropped right there: nothing downstream sees a Kubernetes type.
//!
//! Each stream also reports its connection state ([`FleetEvent::Stream`]): `Syncing` until its
//! first list is done, `Live`, `Reconnecting { since, error }` while the watcher retries (it
//! re-lists after 410 Gone or a broken connection, and the index swaps the whole set at
//! `InitDone`, so nothing stale stays), and `Failed` on 403/401, which disables that one
//! feature with a message saying what to ask for; the other streams go on.
//!
//! This module never touches UI state and never blocks the event loop: when the channel is
//! full it waits, and when the receiver is gone (or `cancel` fires) every task ends.

use std::fmt::Debug;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::apps::v1::{ControllerRevision, DaemonSet};
use kube::runtime::utils::Backoff;
use kube::runtime::watcher::{self, DefaultBackoff, Event};
use kube::{Api, Client, Resource};
use serde::de::DeserializeOwned;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::project::{ds_info, node_info, obj_key, pod_info, rev_info};
use super::wire::{LABEL_TEMPLATE_GENERATION, NodeWire, PodWire};
use crate::fleet::model::{Change, DsInfo, FleetEvent, NodeInfo, PodInfo, RevInfo, Secs, StreamKind, StreamState};

/// Objects per list page. Pages are listed one after another, so the page count sets how many
/// round trips a full list costs. Measured on the `large` scenario (150k pods of ~8.7 KB,
/// `daemonscope snapshot -o json` against `daemonscope sim --tls` on 2 cores): 500 per page
/// (client-go's pager default) 11.5 s / 98 MB peak RSS, 2,000 per page 6.4 s / 206 MB, 5,000 per
/// page 7.0 s / 254 MB. 2,000 keeps one page of raw JSON around 10–17 MB and the process under
/// the 250 MB target while halving the time to a synced index.
pub const PAGE_SIZE: u32 = 2000;

/// After a watch-phase error the watcher re-opens the watch from its last resourceVersion and
/// emits nothing when that works (no event until something changes). A re-opened watch fails
/// within one round trip, so a retry that stays quiet this long has succeeded.
const RECONNECT_GRACE: Duration = Duration::from_secs(2);

/// Start one watch task per kind. `namespace` limits DaemonSets, ControllerRevisions and pods
/// to one namespace (nodes are cluster-scoped). The tasks end when `cancel` fires or `tx`'s
/// receiver is dropped; the handles are returned for callers that want to await them.
pub fn spawn_watches(
    client: Client,
    namespace: Option<String>,
    tx: mpsc::Sender<FleetEvent>,
    cancel: CancellationToken,
) -> Vec<JoinHandle<()>> {
    let ns = namespace.as_deref();
    vec![
        spawn_one(Api::<NodeWire>::all(client.clone()), None, tx.clone(), cancel.clone()),
        spawn_one(scoped::<DaemonSet>(&client, ns), namespace.clone(), tx.clone(), cancel.clone()),
        spawn_one(scoped::<ControllerRevision>(&client, ns), namespace.clone(), tx.clone(), cancel.clone()),
        spawn_one(scoped::<PodWire>(&client, ns), namespace.clone(), tx, cancel),
    ]
}

fn scoped<K>(client: &Client, namespace: Option<&str>) -> Api<K>
where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>,
{
    match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    }
}

/// The watcher configuration of a kind.
///
/// Initial list strategy: `ListWatch` (paged list, then watch from the list's resourceVersion)
/// rather than streaming lists (`sendInitialEvents`, KEP-3157 WatchList). The simulator serves
/// both, but on real clusters WatchList is behind a feature gate whose default has changed
/// between releases, and a server without it ignores `sendInitialEvents`: it streams the
/// objects but never sends the `k8s.io/initial-events-end` bookmark, so the watcher would never
/// finish its first list. `ListWatch` works on every API server, and paging bounds memory.
/// The list is a consistent read (`ListSemantic::MostRecent`): `resourceVersion=0` would be
/// cheaper for the server, but older API servers ignore `limit` with it and answer with every
/// pod in one body, which would defeat the page size above. Bookmarks are on (the default), so
/// a resumed watch rarely needs a re-list.
pub fn watcher_config(kind: StreamKind) -> watcher::Config {
    let config = watcher::Config::default().page_size(PAGE_SIZE);
    match kind {
        // Filter pods on the server: the DaemonSet controller sets `pod-template-generation`
        // on the pods it creates (pkg/controller/daemon/util CreatePodTemplate), and no other
        // built-in controller does, so "the label exists" selects daemon pods and leaves the
        // (usually far more numerous) other pods on the server. The label is not a guarantee
        // (anyone may set it), so the pod projection still checks the controller
        // ownerReference and we drop pods not controlled by a DaemonSet on the client.
        StreamKind::Pods => config.labels(LABEL_TEMPLATE_GENERATION),
        StreamKind::Nodes | StreamKind::DaemonSets | StreamKind::Revisions => config,
    }
}

/// A kind we watch: how to project it and wrap it into a [`FleetEvent`].
trait Watched: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static {
    const KIND: StreamKind;
    type Info: Send + 'static;
    /// The projection, or `None` for an object the index must not hold (a pod or revision
    /// not controlled by a DaemonSet, an object without a name).
    fn project(&self) -> Option<Self::Info>;
    fn wrap(change: Change<Self::Info>) -> FleetEvent;
}

impl Watched for NodeWire {
    const KIND: StreamKind = StreamKind::Nodes;
    type Info = NodeInfo;
    fn project(&self) -> Option<NodeInfo> {
        node_info(self)
    }
    fn wrap(change: Change<NodeInfo>) -> FleetEvent {
        FleetEvent::Node(change)
    }
}

impl Watched for DaemonSet {
    const KIND: StreamKind = StreamKind::DaemonSets;
    type Info = DsInfo;
    fn project(&self) -> Option<DsInfo> {
        ds_info(self)
    }
    fn wrap(change: Change<DsInfo>) -> FleetEvent {
        FleetEvent::DaemonSet(change)
    }
}

impl Watched for ControllerRevision {
    const KIND: StreamKind = StreamKind::Revisions;
    type Info = RevInfo;
    fn project(&self) -> Option<RevInfo> {
        // StatefulSets keep their revisions in the same resource; there is no label that
        // tells them apart on the server, so we filter by controller here.
        rev_info(self).filter(|r| r.owner.is_some())
    }
    fn wrap(change: Change<RevInfo>) -> FleetEvent {
        FleetEvent::Revision(change)
    }
}

impl Watched for PodWire {
    const KIND: StreamKind = StreamKind::Pods;
    type Info = PodInfo;
    fn project(&self) -> Option<PodInfo> {
        pod_info(self).filter(|p| p.owner.is_some())
    }
    fn wrap(change: Change<PodInfo>) -> FleetEvent {
        FleetEvent::Pod(change)
    }
}

fn now_secs() -> Secs {
    jiff::Timestamp::now().as_second()
}

/// Why a watcher step failed, as the stream state should show it.
#[derive(Debug, PartialEq, Eq)]
enum Failure {
    /// RBAC (403) or credentials (401): the user must act; we keep retrying slowly.
    Denied(String),
    /// The watch's resourceVersion is too old and the server said so on the watch request
    /// itself (HTTP 410): the watcher would retry the same version forever, so we start a
    /// fresh watcher, which re-lists.
    Expired(String),
    /// Anything else: the watcher recovers by itself.
    Transient(String),
}

/// Status code of an API error inside a watcher error, if any.
fn status_code(err: &watcher::Error) -> Option<u16> {
    match err {
        watcher::Error::InitialListFailed(kube::Error::Api(s))
        | watcher::Error::WatchStartFailed(kube::Error::Api(s))
        | watcher::Error::WatchFailed(kube::Error::Api(s)) => Some(s.code),
        watcher::Error::WatchError(s) => Some(s.code),
        _ => None,
    }
}

fn client_error_text(err: &kube::Error) -> String {
    match err {
        kube::Error::Api(s) if !s.reason.is_empty() => format!("{} {}: {}", s.code, s.reason, s.message),
        kube::Error::Api(s) => format!("{}: {}", s.code, s.message),
        other => other.to_string(),
    }
}

/// What the user should ask for when `kind` is forbidden, and what stops working meanwhile.
fn denied_message(kind: StreamKind, code: u16, namespace: Option<&str>) -> String {
    let plural = kind.plural();
    if code == 401 {
        return format!(
            "401 listing {plural}: the server rejected our credentials; check the kubeconfig user or log in again"
        );
    }
    let scope = match (kind, namespace) {
        (StreamKind::Nodes, _) => String::new(),
        (_, Some(ns)) => format!(" in namespace {ns}"),
        (_, None) => " in all namespaces".to_string(),
    };
    let resource = match kind {
        StreamKind::Nodes => "nodes (cluster-scoped)",
        StreamKind::DaemonSets => "apps/daemonsets",
        StreamKind::Revisions => "apps/controllerrevisions",
        StreamKind::Pods => "pods",
    };
    let narrow = if namespace.is_none() && kind != StreamKind::Nodes { "use -n or " } else { "" };
    let effect = match kind {
        StreamKind::Nodes => "the matrix has no rows",
        StreamKind::DaemonSets => "the matrix has no columns",
        StreamKind::Revisions => "outdated detection is off",
        StreamKind::Pods => "cells show no pods",
    };
    format!("403 listing {plural}{scope}: {narrow}ask for list/watch on {resource}; {effect}")
}

fn classify(kind: StreamKind, namespace: Option<&str>, err: &watcher::Error) -> Failure {
    let plural = kind.plural();
    if let Some(code @ (401 | 403)) = status_code(err) {
        return Failure::Denied(denied_message(kind, code, namespace));
    }
    match err {
        watcher::Error::WatchStartFailed(e @ kube::Error::Api(s)) if s.code == 410 => {
            Failure::Expired(format!("watching {plural}: {}; re-listing", client_error_text(e)))
        }
        watcher::Error::InitialListFailed(e) => {
            Failure::Transient(format!("listing {plural}: {}", client_error_text(e)))
        }
        watcher::Error::WatchStartFailed(e) => {
            Failure::Transient(format!("watching {plural}: {}", client_error_text(e)))
        }
        watcher::Error::WatchFailed(e) => {
            Failure::Transient(format!("watch of {plural} broke: {}", client_error_text(e)))
        }
        watcher::Error::WatchError(s) if s.code == 410 => {
            Failure::Transient(format!("watch of {plural} expired (410 Gone); re-listing"))
        }
        watcher::Error::WatchError(s) => {
            Failure::Transient(format!("watch of {plural}: {} {}: {}", s.code, s.reason, s.message))
        }
        watcher::Error::NoResourceVersion => {
            Failure::Transient(format!("{plural}: the server sent no resourceVersion; re-listing"))
        }
    }
}

/// The sending half of one stream: the channel, the cancel token and the last state sent.
struct Link {
    kind: StreamKind,
    tx: mpsc::Sender<FleetEvent>,
    cancel: CancellationToken,
    state: StreamState,
}

impl Link {
    /// Send one event; false when the stream must stop (receiver gone or cancelled).
    async fn send(&self, ev: FleetEvent) -> bool {
        tokio::select! {
            biased;
            _ = self.cancel.cancelled() => false,
            r = self.tx.send(ev) => r.is_ok(),
        }
    }

    /// Report a new state if it differs from the last one reported.
    async fn set(&mut self, state: StreamState) -> bool {
        if state == self.state {
            return true;
        }
        self.state = state.clone();
        self.send(FleetEvent::Stream { kind: self.kind, state, at: now_secs() }).await
    }

    async fn live(&mut self) -> bool {
        self.set(StreamState::Live).await
    }

    /// Reconnecting, keeping the time of the first error until the stream recovers.
    async fn reconnecting(&mut self, error: String) -> bool {
        let since = match &self.state {
            StreamState::Reconnecting { since, .. } => *since,
            _ => now_secs(),
        };
        let error = crate::text::clean_owned(error);
        self.set(StreamState::Reconnecting { since, error }).await
    }

    /// Sleep `d`; false when the stream must stop meanwhile.
    async fn sleep(&self, d: Duration) -> bool {
        tokio::select! {
            biased;
            _ = self.cancel.cancelled() => false,
            _ = self.tx.closed() => false,
            _ = tokio::time::sleep(d) => true,
        }
    }
}

fn spawn_one<K: Watched>(
    api: Api<K>,
    namespace: Option<String>,
    tx: mpsc::Sender<FleetEvent>,
    cancel: CancellationToken,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut link = Link { kind: K::KIND, tx, cancel, state: StreamState::Syncing };
        run::<K>(api, namespace.as_deref(), &mut link).await;
        tracing::debug!(stream = K::KIND.plural(), "watch task ended");
    })
}

/// One stream's loop. The watcher itself re-lists and re-watches; this loop projects, applies
/// the backoff (client-go's: 0.8 s doubling to 30 s, with jitter), and tracks the state.
async fn run<K: Watched>(api: Api<K>, namespace: Option<&str>, link: &mut Link) {
    let kind = K::KIND;
    let config = watcher_config(kind);
    if !link.send(FleetEvent::Stream { kind, state: StreamState::Syncing, at: now_secs() }).await {
        return;
    }
    let mut stream = watcher(api.clone(), config.clone());
    let mut backoff = DefaultBackoff::default();
    // Inside a (re-)list: between Init and InitDone.
    let mut listing = false;
    // When set, a retry of the watch is in flight; quiet until then means it worked.
    let mut grace: Option<Instant> = None;
    loop {
        let next = tokio::select! {
            biased;
            _ = link.cancel.cancelled() => return,
            // An idle watch sends nothing, so notice a dropped receiver here too.
            _ = link.tx.closed() => return,
            _ = tokio::time::sleep_until(grace.unwrap_or_else(Instant::now)), if grace.is_some() => {
                grace = None;
                if matches!(link.state, StreamState::Reconnecting { .. }) {
                    backoff.reset();
                    if !link.live().await {
                        return;
                    }
                }
                continue;
            }
            next = stream.next() => next,
        };
        // A watcher stream never ends by itself; if it does, there is nothing left to do.
        let Some(result) = next else { return };
        let ok = match result {
            Ok(Event::Init) => {
                listing = true;
                grace = None;
                link.send(K::wrap(Change::Init)).await
            }
            Ok(Event::InitApply(obj)) => match obj.project() {
                Some(info) => link.send(K::wrap(Change::InitItem(info))).await,
                // Not ours: leaving it out of the list is enough (InitDone swaps the set).
                None => true,
            },
            Ok(Event::InitDone) => {
                listing = false;
                backoff.reset();
                link.send(K::wrap(Change::InitDone)).await && link.live().await
            }
            Ok(Event::Apply(obj)) => {
                let change = match obj.project() {
                    Some(info) => Change::Apply(info),
                    // An object that stopped being ours (a pod orphaned from its DaemonSet)
                    // must leave the index; deleting an unknown key is a no-op there.
                    None => Change::Delete(obj_key(obj.meta())),
                };
                grace = None;
                backoff.reset();
                link.send(K::wrap(change)).await && (listing || link.live().await)
            }
            Ok(Event::Delete(obj)) => {
                grace = None;
                link.send(K::wrap(Change::Delete(obj_key(obj.meta())))).await
            }
            Err(err) => {
                grace = None;
                let failure = classify(kind, namespace, &err);
                tracing::warn!(stream = kind.plural(), error = %err, "watch error");
                let reported = match failure {
                    Failure::Denied(error) => {
                        link.set(StreamState::Failed { error: crate::text::clean_owned(error) }).await
                    }
                    Failure::Expired(error) => {
                        stream = watcher(api.clone(), config.clone());
                        link.reconnecting(error).await
                    }
                    Failure::Transient(error) => {
                        // A Failed stream stays Failed (with its advice) until it lists again.
                        if matches!(link.state, StreamState::Failed { .. }) {
                            true
                        } else {
                            link.reconnecting(error).await
                        }
                    }
                };
                let delay = backoff.next().unwrap_or(Duration::from_secs(30));
                if !reported || !link.sleep(delay).await {
                    return;
                }
                if !listing && matches!(link.state, StreamState::Reconnecting { .. }) {
                    grace = Some(Instant::now() + RECONNECT_GRACE);
                }
                true
            }
        };
        if !ok {
            return;
        }
    }
}

/// `kube::runtime::watcher`, boxed so the stream can be replaced after an expired watch.
fn watcher<K: Watched>(
    api: Api<K>,
    config: watcher::Config,
) -> futures::stream::BoxStream<'static, watcher::Result<Event<K>>> {
    watcher::watcher(api, config).boxed()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forbidden_revisions_message_says_what_to_ask_for() {
        assert_eq!(
            denied_message(StreamKind::Revisions, 403, None),
            "403 listing controllerrevisions in all namespaces: use -n or ask for list/watch on \
             apps/controllerrevisions; outdated detection is off"
        );
        assert_eq!(
            denied_message(StreamKind::Pods, 403, Some("kube-system")),
            "403 listing pods in namespace kube-system: ask for list/watch on pods; cells show no pods"
        );
        assert_eq!(
            denied_message(StreamKind::Nodes, 403, Some("x")),
            "403 listing nodes: ask for list/watch on nodes (cluster-scoped); the matrix has no rows"
        );
    }

    fn api_error(code: u16) -> kube::Error {
        kube::Error::Api(Box::new(kube::core::Status {
            code,
            reason: "Whatever".into(),
            message: "m".into(),
            ..Default::default()
        }))
    }

    #[test]
    fn forbidden_list_is_denied_and_gone_watch_start_is_expired() {
        let denied = classify(StreamKind::Revisions, None, &watcher::Error::InitialListFailed(api_error(403)));
        assert!(matches!(denied, Failure::Denied(m) if m.contains("apps/controllerrevisions")));
        let expired = classify(StreamKind::Pods, None, &watcher::Error::WatchStartFailed(api_error(410)));
        assert!(matches!(expired, Failure::Expired(_)));
        let transient = classify(StreamKind::Pods, None, &watcher::Error::InitialListFailed(api_error(503)));
        assert_eq!(transient, Failure::Transient("listing pods: 503 Whatever: m".into()));
    }

    #[test]
    fn pods_are_filtered_on_the_server_by_template_generation_label() {
        let c = watcher_config(StreamKind::Pods);
        assert_eq!(c.label_selector.as_deref(), Some("pod-template-generation"));
        assert_eq!(c.page_size, Some(PAGE_SIZE));
        assert!(c.bookmarks);
        assert_eq!(watcher_config(StreamKind::Nodes).label_selector, None);
    }
}
