//! The watch streams: one list-then-watch loop per kind (Nodes, DaemonSets,
//! ControllerRevisions, DaemonSet pods, Warning events), each event projected in its own task the moment it
//! arrives (`cluster::project`) and sent to the event loop as a [`FleetEvent`] over a bounded
//! channel. The full object is dropped right there: nothing downstream sees a Kubernetes type.
//!
//! Each stream reports its connection state ([`FleetEvent::Stream`]): `Syncing` until its first
//! list is done; `Live` while the server is heard (a list page, a watch that starts, an event,
//! a BOOKMARK); `Stale` when a live watch stays silent past its idle deadline (a partition or a
//! frozen server keeps the connection open and says nothing); `Reconnecting { since, error }`
//! after an error, until the server answers again (a retry that hangs stays `Reconnecting`,
//! never `Live`); `Failed` on 403/401, which disables that one feature with a message saying
//! what to ask for, while the other streams go on.
//!
//! Why our own loop rather than `kube::runtime::watcher`: the watcher swallows BOOKMARK events,
//! so a quiet but healthy watch and a dead one look the same from outside it; and it decodes a
//! list page as a whole, so one DaemonSet that k8s-openapi cannot decode fails every re-list
//! forever. Here bookmarks drive liveness, and DaemonSets and ControllerRevisions decode one
//! object at a time ([`Lenient`]): an undecodable one is left out and reported
//! ([`FleetEvent::Undecodable`]). Pods and Nodes use the tolerant wire types of
//! `cluster::wire`, decoded in one pass for speed.
//!
//! The tasks are supervised: a panic or an unexpected end of a stream's loop becomes a
//! `Reconnecting` state naming it, and the loop restarts (re-listing) after a backoff.
//!
//! This module never touches UI state and never blocks the event loop: when the channel is
//! full it waits, and when the receiver is gone (or `cancel` fires) every task ends.

use std::cell::Cell;
use std::collections::HashSet;
use std::fmt::Debug;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::future::BoxFuture;
use futures::stream::BoxStream;
use futures::{FutureExt, StreamExt};
use k8s_openapi::api::apps::v1::{ControllerRevision, DaemonSet};
use k8s_openapi::api::core::v1::Event;
use kube::api::{ListParams, WatchEvent, WatchParams};
use kube::core::{ObjectList, Request};
use kube::runtime::utils::Backoff;
use kube::runtime::watcher::DefaultBackoff;
use kube::{Client, Resource};
use serde::Deserialize;
use serde::de::{DeserializeOwned, Deserializer};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::project::{ds_info, event_info, node_info, obj_key, pod_info, rev_info};
use super::wire::{LABEL_TEMPLATE_GENERATION, NodeWire, PodWire};
use crate::fleet::model::{
    Change, DsInfo, EventInfo, FleetEvent, NodeInfo, ObjKey, PodInfo, RevInfo, Secs, StreamKind, StreamState,
};

/// Objects per list page. Pages are listed one after another, so the page count sets how many
/// round trips a full list costs. Measured on the `large` scenario (150k pods of ~8.7 KB,
/// `daemonscope snapshot -o json` against `daemonscope sim --tls` on 2 cores): 500 per page
/// (client-go's pager default) 11.5 s / 98 MB peak RSS, 2,000 per page 6.4 s / 206 MB, 5,000 per
/// page 7.0 s / 254 MB. 2,000 keeps one page of raw JSON around 10–17 MB and the process under
/// the 250 MB target while halving the time to a synced index.
pub const PAGE_SIZE: u32 = 2000;

/// Bounds of the idle deadline: how long a live watch may stay silent (no event, no BOOKMARK)
/// before its data is called stale. The deadline is learned per stream as twice the longest of
/// the last few gaps between bookmarks, within these bounds. A real API server's watch cache
/// sends a bookmark about once a minute (`bookmarkFrequency` in the apiserver's cacher), so
/// there the deadline settles near 120 s: a quiet healthy stream never flaps to stale, and a
/// frozen server shows within two minutes. The simulator sends one every 5 s by default, which
/// gives the 15 s floor: below it a loaded machine's scheduling hiccups would read as outages.
/// Before the first gap is known (and against a server that sends no bookmarks), the ceiling
/// applies.
pub const MIN_IDLE: Duration = Duration::from_secs(15);
pub const MAX_IDLE: Duration = Duration::from_secs(150);

/// A list page or a watch request that gets no answer this long is abandoned and retried (the
/// kube client has no read timeout of its own). Generous: one page is up to ~17 MB of JSON.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// `timeoutSeconds` of a watch request: the server closes the watch after it and we re-watch
/// from the last resourceVersion (client-go and kube use the same).
const WATCH_TIMEOUT_SECS: u32 = 290;

/// Start one watch task per kind. `namespace` limits DaemonSets, ControllerRevisions and pods
/// to one namespace (nodes are cluster-scoped). The tasks end when `cancel` fires or `tx`'s
/// receiver is dropped; the handles are returned for callers that want to await them.
pub fn spawn_watches(
    client: Client,
    namespace: Option<String>,
    tx: mpsc::Sender<FleetEvent>,
    cancel: CancellationToken,
) -> Vec<JoinHandle<()>> {
    vec![
        spawn_one::<NodeWire>(Source::new::<NodeWire>(&client, None), tx.clone(), cancel.clone()),
        spawn_one::<DaemonSet>(Source::new::<DaemonSet>(&client, namespace.clone()), tx.clone(), cancel.clone()),
        spawn_one::<ControllerRevision>(
            Source::new::<ControllerRevision>(&client, namespace.clone()),
            tx.clone(),
            cancel.clone(),
        ),
        spawn_one::<PodWire>(Source::new::<PodWire>(&client, namespace.clone()), tx.clone(), cancel.clone()),
        spawn_one::<Event>(Source::new::<Event>(&client, namespace), tx, cancel),
    ]
}

/// Where one stream lists and watches: the collection's URL and the kind's selectors.
#[derive(Clone)]
struct Source {
    client: Client,
    request: Request,
    kind: StreamKind,
    namespace: Option<String>,
}

impl Source {
    fn new<K: Watched>(client: &Client, namespace: Option<String>) -> Source {
        Source {
            client: client.clone(),
            request: Request::new(K::url_path(&(), namespace.as_deref())),
            kind: K::KIND,
            namespace,
        }
    }

    /// One page of the list as the server sent it; [`decode_page`] decodes it. Fetching and
    /// decoding are apart so that the next page can be on its way while this one decodes.
    ///
    /// The body is gathered into one buffer sized from `Content-Length` where the server gives
    /// it, and decoded from there: `Client::request_text` would copy a page of megabytes twice
    /// more (joining the frames, then into a `String`). Errors are kube's: an error status
    /// becomes `Error::Api` with the server's `Status`, or one built from the body's text.
    /// `buf` is a spare buffer to fill (its allocation is reused: fresh megabytes each page
    /// cost page faults).
    async fn list_bytes(&self, cont: Option<String>, mut buf: Vec<u8>) -> kube::Result<Vec<u8>> {
        use http_body_util::BodyExt;
        let mut lp = list_params(self.kind);
        lp.continue_token = cont;
        let req = self.request.list(&lp).map_err(kube::Error::BuildRequest)?;
        let res = self.client.send(req.map(kube::client::Body::from)).await?;
        let status = res.status();
        let size = res
            .headers()
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse::<usize>().ok())
            .unwrap_or(0);
        let mut body = res.into_body();
        buf.clear();
        buf.reserve(size.min(MAX_PREALLOC));
        while let Some(frame) = body.frame().await {
            if let Ok(data) = frame?.into_data() {
                buf.extend_from_slice(&data);
            }
        }
        if status.is_client_error() || status.is_server_error() {
            return Err(api_error(status, &buf));
        }
        Ok(buf)
    }

    async fn watch<W: Clone + DeserializeOwned + Send + 'static>(
        &self,
        rv: &str,
    ) -> kube::Result<BoxStream<'static, kube::Result<WatchEvent<W>>>> {
        let req = self.request.watch(&watch_params(self.kind), rv).map_err(kube::Error::BuildRequest)?;
        Ok(self.client.request_events::<W>(req).await?.boxed())
    }
}

/// The most a page's buffer is sized ahead from `Content-Length` (a page of 500 pods is ~6 MB).
const MAX_PREALLOC: usize = 64 << 20;

/// An error response as kube's `Client::request_text` reports it: the server's `Status`, or
/// one made of the body's text (a proxy's HTML page, a plain-text error).
fn api_error(status: http::StatusCode, body: &[u8]) -> kube::Error {
    match serde_json::from_slice::<kube::core::Status>(body) {
        Ok(s) => kube::Error::Api(s.boxed()),
        Err(_) => {
            let text = String::from_utf8_lossy(body);
            kube::Error::Api(
                kube::core::Status::failure(text.trim(), "Failed to parse error data")
                    .with_code(status.as_u16())
                    .boxed(),
            )
        }
    }
}

/// A list page: its metadata (an empty list carrying `continue` and `resourceVersion`) and its
/// items, each decoded or reported.
type Page<W> = (ObjectList<()>, Vec<Result<W, Undecodable>>);

/// A list page's decoding, in one pass (the fast path: pods and nodes decode straight into
/// their wire types); when that fails, again one item at a time, so one object the server sent
/// that does not decode is reported and skipped ([`Lenient`]) instead of failing every re-list
/// of the whole kind forever. Fails only when the body is not a list at all.
fn decode_page<W: Clone + DeserializeOwned>(text: &[u8]) -> Result<Page<W>, serde_json::Error> {
    let split = |list: ObjectList<Result<W, Undecodable>>| {
        let ObjectList { types, metadata, items } = list;
        (ObjectList { types, metadata, items: Vec::new() }, items)
    };
    match serde_json::from_slice::<ObjectList<W>>(text) {
        Ok(list) => {
            let ObjectList { types, metadata, items } = list;
            Ok(split(ObjectList { types, metadata, items: items.into_iter().map(Ok).collect() }))
        }
        Err(whole) => match serde_json::from_slice::<ObjectList<Lenient<W>>>(text) {
            Ok(list) => {
                let ObjectList { types, metadata, items } = list;
                let items = items
                    .into_iter()
                    .map(|i| match i {
                        Lenient::Ok(w) => Ok(w),
                        Lenient::Bad(u) => Err(u),
                    })
                    .collect();
                Ok(split(ObjectList { types, metadata, items }))
            }
            Err(_) => Err(whole),
        },
    }
}

/// Filter pods on the server: the DaemonSet controller sets `pod-template-generation` on the
/// pods it creates (pkg/controller/daemon/util CreatePodTemplate), and no other built-in
/// controller does, so "the label exists" selects daemon pods and leaves the (usually far more
/// numerous) other pods on the server. The label is not a guarantee (anyone may set it), so the
/// pod projection still checks the controller ownerReference and we drop pods not controlled by
/// a DaemonSet on the client.
fn selector(kind: StreamKind) -> Option<&'static str> {
    match kind {
        StreamKind::Pods => Some(LABEL_TEMPLATE_GENERATION),
        StreamKind::Nodes | StreamKind::DaemonSets | StreamKind::Revisions | StreamKind::Events => None,
    }
}

/// Filter events on the server: only `Warning`s (the API server's event field selectors:
/// `type`, `reason`, `involvedObject.*`, `source`, `reportingComponent`). The three kinds the
/// fleet cares about cannot be one selector (field selectors have no "in"), and three watches
/// would cost three connections to save little: the Normal events (Scheduled, Pulled, Created,
/// Started, SuccessfulCreate …) are the bulk of a cluster's events, and they stay on the server.
/// The projection keeps pods, DaemonSets and nodes; the index keeps those it holds.
fn field_selector(kind: StreamKind) -> Option<&'static str> {
    match kind {
        StreamKind::Events => Some("type=Warning"),
        StreamKind::Nodes | StreamKind::DaemonSets | StreamKind::Revisions | StreamKind::Pods => None,
    }
}

/// The `continue` token of a list page, read from the text before its items: an API server
/// writes a list as Go encodes the struct (`kind`, `apiVersion`, `metadata`, then `items`), so
/// the token is known before the (megabytes of) items are decoded, and the next page can be
/// asked for meanwhile. `None` when the page has no token there (the last page, or a server
/// writing `metadata` after the items: the token is then taken from the decoded page).
fn peek_continue(text: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct Head {
        metadata: kube::core::ListMeta,
    }
    const ITEMS: &[u8] = b",\"items\":";
    // The metadata comes first and is small: look no further than its first 64 KB, so that a
    // page written the other way round is not scanned whole.
    let start = &text[..text.len().min(1 << 16)];
    let at = start.windows(ITEMS.len()).position(|w| w == ITEMS)?;
    let mut head = text[..at].to_vec();
    head.push(b'}');
    let head: Head = serde_json::from_slice(&head).ok()?;
    head.metadata.continue_.filter(|c| !c.is_empty())
}

/// A task aborted when dropped: the prefetched next page of a list that ends early (an error,
/// a stop) is not left running.
struct AbortOnDrop<T>(JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A paged list. Initial list strategy: list then watch from the list's resourceVersion rather
/// than streaming lists (`sendInitialEvents`, KEP-3157 WatchList): the simulator serves both,
/// but on real clusters WatchList is behind a feature gate whose default has changed between
/// releases, and a server without it ignores `sendInitialEvents` and never sends the
/// `k8s.io/initial-events-end` bookmark. The list is a consistent read (no resourceVersion):
/// `resourceVersion=0` would be cheaper for the server, but older API servers ignore `limit`
/// with it and answer with every pod in one body, which would defeat the page size above.
pub fn list_params(kind: StreamKind) -> ListParams {
    let mut lp = ListParams::default().limit(PAGE_SIZE);
    if let Some(s) = selector(kind) {
        lp = lp.labels(s);
    }
    if let Some(s) = field_selector(kind) {
        lp = lp.fields(s);
    }
    lp
}

/// A watch with BOOKMARK events: they keep the resourceVersion fresh (a resumed watch rarely
/// needs a re-list) and they are how a quiet stream proves it is alive.
pub fn watch_params(kind: StreamKind) -> WatchParams {
    let mut wp = WatchParams::default().timeout(WATCH_TIMEOUT_SECS);
    if let Some(s) = selector(kind) {
        wp = wp.labels(s);
    }
    if let Some(s) = field_selector(kind) {
        wp = wp.fields(s);
    }
    wp
}

/// An object the server sent that does not decode into its type.
#[derive(Clone, Debug)]
pub struct Undecodable {
    key: ObjKey,
    resource_version: Option<String>,
    error: String,
}

/// One object decoded on its own: a strict type (k8s-openapi's) or, when that fails, what is
/// needed to report and skip it. Going through `serde_json::Value` costs a copy, which is why
/// only the few DaemonSets and ControllerRevisions decode this way.
#[derive(Clone, Debug)]
pub enum Lenient<K> {
    Ok(K),
    Bad(Undecodable),
}

impl<'de, K: DeserializeOwned> Deserialize<'de> for Lenient<K> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = serde_json::Value::deserialize(d)?;
        let meta =
            |field: &str| v.get("metadata").and_then(|m| m.get(field)).and_then(|x| x.as_str()).map(str::to_string);
        let key = ObjKey { namespace: meta("namespace").unwrap_or_default(), name: meta("name").unwrap_or_default() };
        let resource_version = meta("resourceVersion");
        Ok(match serde_json::from_value::<K>(v) {
            Ok(k) => Lenient::Ok(k),
            Err(e) => Lenient::Bad(Undecodable { key, resource_version, error: e.to_string() }),
        })
    }
}

/// A kind we watch: how it decodes, how to project it and wrap it into a [`FleetEvent`].
trait Watched: Resource<DynamicType = ()> + Clone + Debug + Send + Sync + 'static {
    const KIND: StreamKind;
    type Info: Send + 'static;
    /// What a list item or a watch event's object decodes into.
    type Wire: Clone + DeserializeOwned + Send + 'static;
    fn open(wire: Self::Wire) -> Result<Self, Undecodable>;
    /// The projection, or `None` for an object the index must not hold (a pod or revision
    /// not controlled by a DaemonSet, an object without a name).
    fn project(&self) -> Option<Self::Info>;
    fn wrap(change: Change<Self::Info>) -> FleetEvent;
}

impl Watched for NodeWire {
    const KIND: StreamKind = StreamKind::Nodes;
    type Info = NodeInfo;
    type Wire = NodeWire;
    fn open(wire: NodeWire) -> Result<NodeWire, Undecodable> {
        Ok(wire)
    }
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
    type Wire = Lenient<DaemonSet>;
    fn open(wire: Lenient<DaemonSet>) -> Result<DaemonSet, Undecodable> {
        match wire {
            Lenient::Ok(k) => Ok(k),
            Lenient::Bad(u) => Err(u),
        }
    }
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
    type Wire = Lenient<ControllerRevision>;
    fn open(wire: Lenient<ControllerRevision>) -> Result<ControllerRevision, Undecodable> {
        match wire {
            Lenient::Ok(k) => Ok(k),
            Lenient::Bad(u) => Err(u),
        }
    }
    fn project(&self) -> Option<RevInfo> {
        // StatefulSets keep their revisions in the same resource; there is no label that
        // tells them apart on the server, so we filter by controller here.
        rev_info(self).filter(|r| r.owner.is_some())
    }
    fn wrap(change: Change<RevInfo>) -> FleetEvent {
        FleetEvent::Revision(change)
    }
}

impl Watched for Event {
    const KIND: StreamKind = StreamKind::Events;
    type Info = EventInfo;
    type Wire = Lenient<Event>;
    fn open(wire: Lenient<Event>) -> Result<Event, Undecodable> {
        match wire {
            Lenient::Ok(k) => Ok(k),
            Lenient::Bad(u) => Err(u),
        }
    }
    fn project(&self) -> Option<EventInfo> {
        event_info(self)
    }
    fn wrap(change: Change<EventInfo>) -> FleetEvent {
        FleetEvent::Event(change)
    }
}

impl Watched for PodWire {
    const KIND: StreamKind = StreamKind::Pods;
    type Info = PodInfo;
    type Wire = PodWire;
    fn open(wire: PodWire) -> Result<PodWire, Undecodable> {
        Ok(wire)
    }
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

/// Why a step failed, as the stream state should show it.
#[derive(Debug, PartialEq, Eq)]
enum Failure {
    /// RBAC (403) or credentials (401): the user must act; we keep retrying slowly.
    Denied(String),
    /// The resourceVersion we hold is too old (410 Gone): re-list.
    Expired(String),
    /// Anything else: retry from where we are.
    Transient(String),
}

/// Which request failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    List,
    WatchStart,
    /// The open watch stream broke (connection, decoding).
    Watch,
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
        StreamKind::Events => "events",
    };
    let narrow = if namespace.is_none() && kind != StreamKind::Nodes { "use -n or " } else { "" };
    let effect = match kind {
        StreamKind::Nodes => "rows come from pods' nodes, missing pods cannot be seen",
        StreamKind::DaemonSets => "the matrix has no columns",
        StreamKind::Revisions => "no outdated verdicts",
        StreamKind::Pods => "cells show no pods",
        StreamKind::Events => "the whys lack the cluster's events",
    };
    format!("403 listing {plural}{scope}: {narrow}ask for list/watch on {resource}; {effect}")
}

fn classify(kind: StreamKind, namespace: Option<&str>, phase: Phase, err: &kube::Error) -> Failure {
    let plural = kind.plural();
    if let kube::Error::Api(s) = err {
        if matches!(s.code, 401 | 403) {
            return Failure::Denied(denied_message(kind, s.code, namespace));
        }
        if s.code == 410 {
            return Failure::Expired(format!("{}ing {plural}: {}; re-listing", verb(phase), client_error_text(err)));
        }
    }
    match phase {
        Phase::List => Failure::Transient(format!("listing {plural}: {}", client_error_text(err))),
        Phase::WatchStart => Failure::Transient(format!("watching {plural}: {}", client_error_text(err))),
        // A line we cannot parse at all: the stream's position is unknown, so re-list.
        Phase::Watch if matches!(err, kube::Error::SerdeError(_)) => Failure::Expired(format!(
            "watch of {plural} sent an unreadable event: {}; re-listing",
            client_error_text(err)
        )),
        Phase::Watch => Failure::Transient(format!("watch of {plural} broke: {}", client_error_text(err))),
    }
}

fn verb(phase: Phase) -> &'static str {
    match phase {
        Phase::List => "list",
        Phase::WatchStart | Phase::Watch => "watch",
    }
}

/// An ERROR event inside a watch stream.
fn classify_status(kind: StreamKind, namespace: Option<&str>, s: &kube::core::Status) -> Failure {
    let plural = kind.plural();
    match s.code {
        401 | 403 => Failure::Denied(denied_message(kind, s.code, namespace)),
        410 => Failure::Expired(format!("watch of {plural} expired (410 Gone); re-listing")),
        _ => Failure::Transient(format!("watch of {plural}: {} {}: {}", s.code, s.reason, s.message)),
    }
}

/// The idle deadline of one stream, learned from the gaps between its bookmarks.
#[derive(Debug)]
struct Idle {
    /// The last few gaps measured while the stream was healthy.
    gaps: [Option<Duration>; 3],
    /// The start of the gap being measured: the watch's start or its last bookmark.
    mark: Option<Instant>,
    /// [`MIN_IDLE`]; lower only in unit tests, which run on the real clock.
    floor: Duration,
}

impl Default for Idle {
    fn default() -> Self {
        Idle { gaps: [None; 3], mark: None, floor: MIN_IDLE }
    }
}

impl Idle {
    fn deadline(&self) -> Duration {
        match self.gaps.iter().flatten().max() {
            Some(g) => (*g * 2).clamp(self.floor, MAX_IDLE),
            None => MAX_IDLE,
        }
    }
    fn watch_started(&mut self, at: Instant) {
        self.mark = Some(at);
    }
    fn bookmark(&mut self, at: Instant) {
        if let Some(m) = self.mark {
            self.gaps.rotate_right(1);
            self.gaps[0] = Some(at - m);
        }
        self.mark = Some(at);
    }
    /// A silence long enough to call the stream stale is not a gap to learn from.
    fn interrupted(&mut self) {
        self.mark = None;
    }
}

/// The sending half of one stream: the channel, the cancel token, the last state sent, and
/// when the server was last heard.
struct Link {
    kind: StreamKind,
    tx: mpsc::Sender<FleetEvent>,
    cancel: CancellationToken,
    state: StreamState,
    heard: Instant,
    heard_at: Secs,
    idle: Idle,
}

/// How waiting for the server ended.
enum Waited<T> {
    Done(T),
    /// No answer before the limit.
    TimedOut,
    /// Cancelled, or the receiver is gone.
    Stop,
}

impl Link {
    fn new(kind: StreamKind, tx: mpsc::Sender<FleetEvent>, cancel: CancellationToken) -> Link {
        Link {
            kind,
            tx,
            cancel,
            state: StreamState::Syncing,
            heard: Instant::now(),
            heard_at: now_secs(),
            idle: Idle::default(),
        }
    }

    /// The server just answered on this stream.
    fn heard(&mut self) {
        self.heard = Instant::now();
        self.heard_at = now_secs();
    }

    fn stopped(&self) -> bool {
        self.cancel.is_cancelled() || self.tx.is_closed()
    }

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

    /// Reconnecting, keeping the time the trouble started (the first error, or the last time
    /// the server was heard when the stream went stale first) until the stream recovers.
    async fn reconnecting(&mut self, error: String) -> bool {
        let since = match &self.state {
            StreamState::Reconnecting { since, .. } | StreamState::Stale { since } => *since,
            _ => now_secs(),
        };
        let error = crate::text::clean_owned(error);
        self.set(StreamState::Reconnecting { since, error }).await
    }

    /// Report a failure and wait out the backoff; false when the stream must stop.
    async fn failed(&mut self, failure: Failure, backoff: &mut DefaultBackoff) -> bool {
        tracing::warn!(stream = self.kind.plural(), failure = ?failure, "watch failure");
        let reported = match failure {
            Failure::Denied(error) => self.set(StreamState::Failed { error: crate::text::clean_owned(error) }).await,
            // A Failed stream stays Failed (with its advice) until it lists again.
            Failure::Expired(_) | Failure::Transient(_) if matches!(self.state, StreamState::Failed { .. }) => true,
            Failure::Expired(error) | Failure::Transient(error) => self.reconnecting(error).await,
        };
        reported && self.sleep(backoff.next().unwrap_or(Duration::from_secs(30))).await
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

    /// Wait for `fut` (a request to the server, or the next event of a watch) until `limit`.
    /// Meanwhile a live stream whose silence outlasts the idle deadline turns `Stale`.
    async fn wait<T>(&mut self, fut: impl Future<Output = T>, limit: Instant) -> Waited<T> {
        enum Woke<T> {
            Done(T),
            Stale,
            Limit,
            Stop,
        }
        tokio::pin!(fut);
        loop {
            let stale_at = self.heard + self.idle.deadline();
            let watch_stale = self.state == StreamState::Live;
            let woke = {
                let cancel = &self.cancel;
                let tx = &self.tx;
                tokio::select! {
                    biased;
                    _ = cancel.cancelled() => Woke::Stop,
                    _ = tx.closed() => Woke::Stop,
                    v = &mut fut => Woke::Done(v),
                    _ = tokio::time::sleep_until(stale_at), if watch_stale => Woke::Stale,
                    _ = tokio::time::sleep_until(limit) => Woke::Limit,
                }
            };
            match woke {
                Woke::Done(v) => return Waited::Done(v),
                Woke::Limit => return Waited::TimedOut,
                Woke::Stop => return Waited::Stop,
                Woke::Stale => {
                    self.idle.interrupted();
                    tracing::info!(
                        stream = self.kind.plural(),
                        silent_secs = self.idle.deadline().as_secs(),
                        "stream stale"
                    );
                    let since = self.heard_at;
                    if !self.set(StreamState::Stale { since }).await {
                        return Waited::Stop;
                    }
                }
            }
        }
    }
}

/// Keeps [`panic_is_supervised`] true on the thread polling a supervised watch loop, so the
/// panic hooks know a panic there is caught and reported, not the end of the program.
struct Supervised<'a>(BoxFuture<'a, ()>);

thread_local! {
    static SUPERVISED: Cell<bool> = const { Cell::new(false) };
}

/// True while a supervised watch task is being polled on this thread: a panic there is caught,
/// shown as a stream error and followed by a restart, so the terminal must not be restored.
pub fn panic_is_supervised() -> bool {
    SUPERVISED.with(Cell::get)
}

/// Resets the flag when the poll ends, by return or by unwinding.
struct FlagGuard(bool);

impl Drop for FlagGuard {
    fn drop(&mut self) {
        SUPERVISED.with(|f| f.set(self.0));
    }
}

impl Future for Supervised<'_> {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let _guard = FlagGuard(SUPERVISED.with(|f| f.replace(true)));
        self.0.as_mut().poll(cx)
    }
}

/// A run of the loop this long counts as healthy: the restart backoff starts over.
const HEALTHY_RUN: Duration = Duration::from_secs(60);

/// Run `body` until the stream must stop; a panic or an unexpected return of `body` is reported
/// as `Reconnecting` and `body` runs again after a backoff.
async fn supervise<F>(link: &mut Link, mut body: F)
where
    F: for<'a> FnMut(&'a mut Link) -> BoxFuture<'a, ()>,
{
    let mut backoff = DefaultBackoff::default();
    loop {
        let started = Instant::now();
        let outcome = AssertUnwindSafe(Supervised(body(link))).catch_unwind().await;
        if link.stopped() {
            return;
        }
        let why = match outcome {
            Ok(()) => "ended unexpectedly".to_string(),
            Err(payload) => {
                let msg = payload
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "unknown panic".to_string());
                format!("panicked: {}", crate::cluster::client::one_line(&msg))
            }
        };
        tracing::error!(stream = link.kind.plural(), why = %why, "watch task restarted");
        if started.elapsed() >= HEALTHY_RUN {
            backoff.reset();
        }
        let error = format!("the {} watch {why}; restarting", link.kind.plural());
        if !link.reconnecting(error).await || !link.sleep(backoff.next().unwrap_or(Duration::from_secs(30))).await {
            return;
        }
    }
}

fn spawn_one<K: Watched>(src: Source, tx: mpsc::Sender<FleetEvent>, cancel: CancellationToken) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut link = Link::new(K::KIND, tx, cancel);
        if !link.send(FleetEvent::Stream { kind: K::KIND, state: StreamState::Syncing, at: now_secs() }).await {
            return;
        }
        supervise(&mut link, |link| run::<K>(src.clone(), link).boxed()).await;
        tracing::debug!(stream = K::KIND.plural(), "watch task ended");
    })
}

/// Why a list or a watch stopped.
enum Halt {
    Stop,
    Failure(Failure),
}

/// One stream's loop: list, watch from the list's resourceVersion, re-watch from the last
/// resourceVersion seen when the watch ends, re-list on 410 Gone. Backoff is client-go's
/// (0.8 s doubling to 30 s, with jitter). Returns only when the stream must stop.
async fn run<K: Watched>(src: Source, link: &mut Link) {
    let mut backoff = DefaultBackoff::default();
    // Keys reported undecodable since the last list.
    let mut bad: HashSet<ObjKey> = HashSet::new();
    let mut rv: Option<String> = None;
    loop {
        let halt = match rv.take() {
            None => match list::<K>(&src, link, &mut bad).await {
                Ok(version) => {
                    rv = Some(version);
                    backoff.reset();
                    if !link.live().await {
                        return;
                    }
                    continue;
                }
                Err(halt) => halt,
            },
            Some(version) => {
                let (next, halt) = watch::<K>(&src, link, &mut bad, &mut backoff, version).await;
                rv = next;
                match halt {
                    None => continue,
                    Some(h) => h,
                }
            }
        };
        match halt {
            Halt::Stop => return,
            Halt::Failure(failure) => {
                if matches!(failure, Failure::Expired(_)) {
                    rv = None;
                }
                if !link.failed(failure, &mut backoff).await {
                    return;
                }
            }
        }
    }
}

/// The resourceVersion of an event's object.
fn version_of<K: Watched>(obj: &Result<K, Undecodable>) -> Option<String> {
    match obj {
        Ok(k) => k.meta().resource_version.clone(),
        Err(u) => u.resource_version.clone(),
    }
    .filter(|v| !v.is_empty())
}

/// Send an object the server sent (list item or watch event) to the index.
async fn apply<K: Watched>(link: &Link, bad: &mut HashSet<ObjKey>, obj: Result<K, Undecodable>, listing: bool) -> bool {
    match obj {
        Ok(obj) => {
            let key = obj_key(obj.meta());
            // A decodable version of an object reported undecodable: clear the report first.
            if bad.remove(&key) && !link.send(K::wrap(Change::Delete(key.clone()))).await {
                return false;
            }
            let change = match (obj.project(), listing) {
                (Some(info), true) => Change::InitItem(info),
                (Some(info), false) => Change::Apply(info),
                // Not ours: leaving it out of a list is enough (InitDone swaps the set).
                (None, true) => return true,
                // An object that stopped being ours (a pod orphaned from its DaemonSet) must
                // leave the index; deleting an unknown key is a no-op there.
                (None, false) => Change::Delete(key),
            };
            link.send(K::wrap(change)).await
        }
        Err(u) => {
            tracing::warn!(stream = K::KIND.plural(), namespace = %u.key.namespace, name = %u.key.name, error = %u.error, "undecodable object skipped");
            bad.insert(u.key.clone());
            let error = crate::text::clean_owned(u.error);
            link.send(FleetEvent::Undecodable { kind: K::KIND, key: u.key, error }).await
        }
    }
}

/// A decoded page's items into the index, in order; false when the stream must stop.
async fn apply_all<K: Watched>(
    link: &Link,
    bad: &mut HashSet<ObjKey>,
    items: Vec<Result<K::Wire, Undecodable>>,
) -> bool {
    for item in items {
        if !apply::<K>(link, bad, item.and_then(K::open), true).await {
            return false;
        }
    }
    true
}

/// One full paged list into the index (Init, InitItem…, InitDone); the resourceVersion to
/// watch from.
async fn list<K: Watched>(src: &Source, link: &mut Link, bad: &mut HashSet<ObjKey>) -> Result<String, Halt> {
    let plural = K::KIND.plural();
    let mut cont: Option<String> = None;
    let mut started = false;
    let mut listed: u64 = 0;
    // The next page, asked for while this one decodes, with the token it was asked with.
    let mut ahead: Option<(String, AbortOnDrop<kube::Result<Vec<u8>>>)> = None;
    // The buffer of the page before last, for the next fetch (two pages are in hand at most:
    // the one decoding and the one on its way).
    let mut spare: Vec<u8> = Vec::new();
    // The items of the page before, applied while this page decodes.
    let mut pending: Option<Vec<Result<K::Wire, Undecodable>>> = None;
    loop {
        let limit = Instant::now() + REQUEST_TIMEOUT;
        let text: BoxFuture<'_, kube::Result<Vec<u8>>> = match ahead.take() {
            Some((token, mut task)) if cont.as_deref() == Some(token.as_str()) => Box::pin(async move {
                (&mut task.0).await.unwrap_or_else(|e| {
                    Err(kube::Error::Service(format!("the prefetch of the next page ended: {e}").into()))
                })
            }),
            // No prefetch, or one asked with another token than the page gave: ask again.
            _ => Box::pin(src.list_bytes(cont.take(), std::mem::take(&mut spare))),
        };
        let text = match link.wait(text, limit).await {
            Waited::Stop => return Err(Halt::Stop),
            Waited::TimedOut => {
                return Err(Halt::Failure(Failure::Transient(format!(
                    "listing {plural}: no answer in {}s",
                    REQUEST_TIMEOUT.as_secs()
                ))));
            }
            Waited::Done(Err(e)) => {
                return Err(Halt::Failure(classify(K::KIND, src.namespace.as_deref(), Phase::List, &e)));
            }
            Waited::Done(Ok(text)) => text,
        };
        if let Some(next) = peek_continue(&text) {
            let src = src.clone();
            let token = next.clone();
            let buf = std::mem::take(&mut spare);
            ahead = Some((token, AbortOnDrop(tokio::spawn(async move { src.list_bytes(Some(next), buf).await }))));
        }
        link.heard();
        // Decode on a blocking thread while the page before goes into the index: on a large
        // fleet both take seconds, and this way they take the two cores.
        let decoding = tokio::task::spawn_blocking(move || {
            let _flag = FlagGuard(SUPERVISED.with(|f| f.replace(true)));
            (decode_page::<K::Wire>(&text), text)
        });
        if let Some(items) = pending.take()
            && !apply_all::<K>(link, bad, items).await
        {
            return Err(Halt::Stop);
        }
        let (page, text) = match decoding.await {
            Ok(done) => done,
            // A panic while decoding is the watch task's own: the supervisor reports it.
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(_) => return Err(Halt::Stop),
        };
        let page = match page {
            Ok(page) => page,
            Err(e) => {
                let e = kube::Error::SerdeError(e);
                return Err(Halt::Failure(classify(K::KIND, src.namespace.as_deref(), Phase::List, &e)));
            }
        };
        spare = text;
        if !started {
            started = true;
            bad.clear();
            if !link.send(K::wrap(Change::Init)).await {
                return Err(Halt::Stop);
            }
        }
        let (page, items) = page;
        listed += items.len() as u64;
        let remaining = page.metadata.remaining_item_count.and_then(|r| u64::try_from(r).ok());
        if !link.send(FleetEvent::Progress { kind: K::KIND, listed, remaining }).await {
            return Err(Halt::Stop);
        }
        pending = Some(items);
        match page.metadata.continue_.filter(|c| !c.is_empty()) {
            Some(next) => cont = Some(next),
            None => {
                let Some(version) = page.metadata.resource_version.filter(|v| !v.is_empty()) else {
                    return Err(Halt::Failure(Failure::Expired(format!(
                        "{plural}: the server sent no resourceVersion; re-listing"
                    ))));
                };
                if let Some(items) = pending.take()
                    && !apply_all::<K>(link, bad, items).await
                {
                    return Err(Halt::Stop);
                }
                if !link.send(K::wrap(Change::InitDone)).await {
                    return Err(Halt::Stop);
                }
                return Ok(version);
            }
        }
    }
}

/// One watch from `version` until it ends. Returns the resourceVersion to go on from (None:
/// re-list) and why it ended (None: the server closed it or it went silent; re-watch at once).
async fn watch<K: Watched>(
    src: &Source,
    link: &mut Link,
    bad: &mut HashSet<ObjKey>,
    backoff: &mut DefaultBackoff,
    mut version: String,
) -> (Option<String>, Option<Halt>) {
    let plural = K::KIND.plural();
    let ns = src.namespace.as_deref();
    let limit = Instant::now() + REQUEST_TIMEOUT;
    let mut stream = match link.wait(src.watch::<K::Wire>(&version), limit).await {
        Waited::Stop => return (None, Some(Halt::Stop)),
        Waited::TimedOut => {
            let f = Failure::Transient(format!("watching {plural}: no answer in {}s", REQUEST_TIMEOUT.as_secs()));
            return (Some(version), Some(Halt::Failure(f)));
        }
        Waited::Done(Err(e)) => {
            return (Some(version), Some(Halt::Failure(classify(K::KIND, ns, Phase::WatchStart, &e))));
        }
        Waited::Done(Ok(s)) => s,
    };
    // The server answered: the stream is live again.
    link.heard();
    link.idle.watch_started(Instant::now());
    if !link.live().await {
        return (None, Some(Halt::Stop));
    }
    loop {
        // Twice the idle deadline without a word: the connection is most likely dead (a
        // partition leaves it open); a new watch either works or says why.
        let limit = link.heard + link.idle.deadline() * 2;
        let ev = match link.wait(stream.next(), limit).await {
            Waited::Stop => return (None, Some(Halt::Stop)),
            Waited::TimedOut => {
                tracing::info!(stream = plural, "silent watch abandoned; re-watching");
                return (Some(version), None);
            }
            // The server closed the watch (its timeout): go on from where we are.
            Waited::Done(None) => return (Some(version), None),
            Waited::Done(Some(Err(e))) => {
                let f = classify(K::KIND, ns, Phase::Watch, &e);
                return (Some(version), Some(Halt::Failure(f)));
            }
            Waited::Done(Some(Ok(ev))) => ev,
        };
        link.heard();
        let ok = match ev {
            WatchEvent::Added(w) | WatchEvent::Modified(w) => {
                let obj = K::open(w);
                if let Some(v) = version_of(&obj) {
                    version = v;
                }
                apply::<K>(link, bad, obj, false).await
            }
            WatchEvent::Deleted(w) => {
                let obj = K::open(w);
                if let Some(v) = version_of(&obj) {
                    version = v;
                }
                let key = match &obj {
                    Ok(k) => obj_key(k.meta()),
                    Err(u) => u.key.clone(),
                };
                bad.remove(&key);
                link.send(K::wrap(Change::Delete(key))).await
            }
            WatchEvent::Bookmark(b) => {
                if !b.metadata.resource_version.is_empty() {
                    version = b.metadata.resource_version;
                }
                link.idle.bookmark(Instant::now());
                true
            }
            WatchEvent::Error(status) => {
                let f = classify_status(K::KIND, ns, &status);
                return (Some(version), Some(Halt::Failure(f)));
            }
        };
        backoff.reset();
        if !ok || !link.live().await {
            return (None, Some(Halt::Stop));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Error bodies become what kube's `request_text` makes of them: the server's `Status`
    /// (k8s.io/apimachinery metav1.Status, as an API server writes a 403), or, for a body that
    /// is not one (a proxy's HTML page), a Failure status carrying the HTTP code and the text.
    #[test]
    fn list_error_bodies_become_kube_api_errors() {
        let forbidden = br#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"pods is forbidden: User \"dev\" cannot list resource \"pods\" in API group \"\" at the cluster scope","reason":"Forbidden","details":{"kind":"pods"},"code":403}"#;
        match super::api_error(http::StatusCode::FORBIDDEN, forbidden) {
            kube::Error::Api(s) => {
                assert_eq!(s.code, 403);
                assert_eq!(s.reason, "Forbidden");
                assert!(s.message.starts_with("pods is forbidden: User \"dev\""), "{}", s.message);
            }
            e => panic!("not an API error: {e}"),
        }
        match super::api_error(http::StatusCode::BAD_GATEWAY, b"<html><body>502 Bad Gateway</body></html>\n") {
            kube::Error::Api(s) => {
                assert_eq!(s.code, 502);
                assert_eq!(s.message, "<html><body>502 Bad Gateway</body></html>");
                assert_eq!(s.reason, "Failed to parse error data");
            }
            e => panic!("not an API error: {e}"),
        }
    }

    #[test]
    fn forbidden_revisions_message_says_what_to_ask_for() {
        assert_eq!(
            denied_message(StreamKind::Revisions, 403, None),
            "403 listing controllerrevisions in all namespaces: use -n or ask for list/watch on \
             apps/controllerrevisions; no outdated verdicts"
        );
        assert_eq!(
            denied_message(StreamKind::Pods, 403, Some("kube-system")),
            "403 listing pods in namespace kube-system: ask for list/watch on pods; cells show no pods"
        );
        assert_eq!(
            denied_message(StreamKind::Nodes, 403, Some("x")),
            "403 listing nodes: ask for list/watch on nodes (cluster-scoped); rows come from pods' nodes, \
             missing pods cannot be seen"
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
        let denied = classify(StreamKind::Revisions, None, Phase::List, &api_error(403));
        assert!(matches!(denied, Failure::Denied(m) if m.contains("apps/controllerrevisions")));
        let expired = classify(StreamKind::Pods, None, Phase::WatchStart, &api_error(410));
        assert!(matches!(expired, Failure::Expired(_)));
        let transient = classify(StreamKind::Pods, None, Phase::List, &api_error(503));
        assert_eq!(transient, Failure::Transient("listing pods: 503 Whatever: m".into()));
    }

    #[test]
    fn pods_are_filtered_on_the_server_by_template_generation_label() {
        let l = list_params(StreamKind::Pods);
        assert_eq!(l.label_selector.as_deref(), Some("pod-template-generation"));
        assert_eq!(l.limit, Some(PAGE_SIZE));
        let w = watch_params(StreamKind::Pods);
        assert_eq!(w.label_selector.as_deref(), Some("pod-template-generation"));
        assert!(w.bookmarks, "liveness needs BOOKMARK events");
        assert_eq!(list_params(StreamKind::Nodes).label_selector, None);
    }

    #[test]
    fn the_next_pages_token_is_read_before_the_items() {
        // As a real API server writes a page (Go's field order; the token is opaque text).
        let page = r#"{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"42","continue":"eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6NDJ9","remainingItemCount":1500},"items":[{"metadata":{"name":"a","continue":"not this"}}]}"#;
        assert_eq!(peek_continue(page.as_bytes()).as_deref(), Some("eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6NDJ9"));
        // The last page: an empty or absent token.
        assert_eq!(
            peek_continue(
                r#"{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"42","continue":""},"items":[]}"#
                    .as_bytes()
            ),
            None
        );
        assert_eq!(
            peek_continue(
                r#"{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"42"},"items":[]}"#.as_bytes()
            ),
            None
        );
        // Metadata after the items (kubectl -o json sorts keys): no early token; the decoded
        // page gives it instead.
        assert_eq!(
            peek_continue(r#"{"apiVersion":"v1","items":[],"kind":"PodList","metadata":{"continue":"c1"}}"#.as_bytes()),
            None
        );
        assert_eq!(peek_continue(b"not json"), None);
        // Megabytes of items after the metadata: the token is found at the front; items first
        // and metadata after them: not searched for past the first 64 KB.
        let items = vec![r#"{"metadata":{"name":"a"}}"#; 20_000].join(",");
        let front = format!(r#"{{"kind":"PodList","metadata":{{"continue":"c2"}},"items":[{items}]}}"#);
        assert_eq!(peek_continue(front.as_bytes()).as_deref(), Some("c2"));
        let back = format!(r#"{{"kind":"PodList","items":[{items}],"metadata":{{"continue":"c3"}},"items":[]}}"#);
        assert_eq!(peek_continue(back.as_bytes()), None);
    }

    #[test]
    fn idle_deadline_is_twice_the_bookmark_gap_within_bounds() {
        let t0 = Instant::now();
        let mut idle = Idle::default();
        assert_eq!(idle.deadline(), MAX_IDLE, "no gap known yet");
        idle.watch_started(t0);
        idle.bookmark(t0 + Duration::from_secs(5));
        assert_eq!(idle.deadline(), MIN_IDLE, "2 × 5 s is under the floor");
        idle.bookmark(t0 + Duration::from_secs(65));
        assert_eq!(idle.deadline(), Duration::from_secs(120), "a real server's minute");
        // A silence that made the stream stale is not learnt.
        idle.interrupted();
        idle.bookmark(t0 + Duration::from_secs(400));
        assert_eq!(idle.deadline(), Duration::from_secs(120));
        // Older gaps age out.
        for s in [405, 410, 415] {
            idle.bookmark(t0 + Duration::from_secs(s));
        }
        assert_eq!(idle.deadline(), MIN_IDLE);
        idle.gaps = [Some(Duration::from_secs(600)), None, None];
        assert_eq!(idle.deadline(), MAX_IDLE);
    }

    #[test]
    fn a_daemonset_that_does_not_decode_is_reported_with_its_key() {
        let bad = r#"{"metadata":{"name":"weird","namespace":"ns","resourceVersion":"7"},"spec":{"selector":"not an object"}}"#;
        match serde_json::from_str::<Lenient<DaemonSet>>(bad) {
            Ok(Lenient::Bad(u)) => {
                assert_eq!(u.key, ObjKey { namespace: "ns".into(), name: "weird".into() });
                assert_eq!(u.resource_version.as_deref(), Some("7"));
                assert!(u.error.contains("invalid type"), "{}", u.error);
            }
            other => panic!("expected a reported bad object, got {other:?}"),
        }
        let good = r#"{"metadata":{"name":"ok","namespace":"ns"},"spec":{"selector":{},"template":{}}}"#;
        assert!(matches!(serde_json::from_str::<Lenient<DaemonSet>>(good), Ok(Lenient::Ok(_))));
    }

    #[test]
    fn one_pod_that_does_not_decode_is_reported_and_the_rest_of_its_page_is_kept() {
        let page = r#"{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"42","continue":"c1"},
            "items":[
              {"metadata":{"name":"a","namespace":"ns"},"status":{"phase":"Running"}},
              {"metadata":{"name":"b","namespace":"ns","resourceVersion":"9"},
               "status":{"containerStatuses":[{"name":"x","restartCount":"seven"}]}},
              {"metadata":{"name":"c","namespace":"ns"}}]}"#;
        let (meta, items) = decode_page::<PodWire>(page.as_bytes()).expect("a list");
        assert_eq!(meta.metadata.resource_version.as_deref(), Some("42"));
        assert_eq!(meta.metadata.continue_.as_deref(), Some("c1"));
        let names: Vec<String> = items
            .iter()
            .map(|i| match i {
                Ok(p) => p.metadata.name.clone().unwrap_or_default(),
                Err(u) => format!("bad {}/{} at {:?}", u.key.namespace, u.key.name, u.resource_version),
            })
            .collect();
        assert_eq!(names, ["a", "bad ns/b at Some(\"9\")", "c"]);
        // A body that is not a list at all is still an error.
        assert!(decode_page::<PodWire>(br#"{"items": 3}"#).is_err());
    }

    fn link() -> (Link, mpsc::Receiver<FleetEvent>) {
        let (tx, rx) = mpsc::channel(16);
        (Link::new(StreamKind::Pods, tx, CancellationToken::new()), rx)
    }

    /// Supervise a body that misbehaves (`first`) on its first run and then waits for the
    /// cancel; returns the first event sent and how many runs there were 2 s later.
    async fn misbehave_once(first: fn() -> BoxFuture<'static, ()>) -> (FleetEvent, u32) {
        use std::sync::atomic::{AtomicU32, Ordering::SeqCst};
        let (mut link, mut rx) = link();
        let runs = std::sync::Arc::new(AtomicU32::new(0));
        let seen = runs.clone();
        let cancel = link.cancel.clone();
        let task = tokio::spawn(async move {
            supervise(&mut link, move |link| {
                let n = seen.fetch_add(1, SeqCst);
                async move {
                    assert!(panic_is_supervised(), "the panic hooks must know this task is supervised");
                    if n == 0 { first().await } else { link.cancel.cancelled().await }
                }
                .boxed()
            })
            .await;
        });
        let ev = rx.recv().await.expect("a state change");
        // The first backoff is under a second: the loop runs again meanwhile.
        tokio::time::sleep(Duration::from_secs(2)).await;
        let n = runs.load(SeqCst);
        cancel.cancel();
        task.await.expect("the supervisor ends when cancelled");
        (ev, n)
    }

    fn reconnecting_error(ev: &FleetEvent) -> &str {
        match ev {
            FleetEvent::Stream { kind: StreamKind::Pods, state: StreamState::Reconnecting { error, .. }, .. } => error,
            other => panic!("expected Reconnecting, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_panicking_watch_loop_is_reported_and_restarted() {
        let (ev, runs) = misbehave_once(|| async { panic!("boom in the pods loop") }.boxed()).await;
        assert_eq!(reconnecting_error(&ev), "the pods watch panicked: boom in the pods loop; restarting");
        assert_eq!(runs, 2);
        assert!(!panic_is_supervised(), "the flag is reset after the unwind");
    }

    #[tokio::test]
    async fn a_watch_loop_that_ends_by_itself_is_reported_and_restarted() {
        let (ev, runs) = misbehave_once(|| async {}.boxed()).await;
        assert_eq!(reconnecting_error(&ev), "the pods watch ended unexpectedly; restarting");
        assert_eq!(runs, 2);
    }

    #[tokio::test]
    async fn a_live_stream_that_hears_nothing_turns_stale_and_a_hanging_request_never_reads_live() {
        let (mut link, mut rx) = link();
        link.idle.floor = Duration::from_millis(100);
        link.idle.gaps = [Some(Duration::from_millis(50)), None, None];
        link.heard();
        assert!(link.live().await);
        let _ = rx.recv().await;
        let heard_at = link.heard_at;
        let limit = Instant::now() + Duration::from_millis(600);
        let out = link.wait(std::future::pending::<()>(), limit).await;
        assert!(matches!(out, Waited::TimedOut));
        match rx.recv().await {
            Some(FleetEvent::Stream { state: StreamState::Stale { since }, .. }) => assert_eq!(since, heard_at),
            other => panic!("expected Stale, got {other:?}"),
        }
        assert!(rx.try_recv().is_err(), "nothing else was reported while the request hung");
        assert_eq!(link.state, StreamState::Stale { since: heard_at });
    }
}
