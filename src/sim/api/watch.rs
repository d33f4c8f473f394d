//! `watch`: newline-delimited JSON events (`{"type":…,"object":…}`) streamed over a chunked
//! response. Supports selectors (an object that stops matching is sent as DELETED, like the
//! apiserver's cacheWatcher), resuming from a resourceVersion, synthetic ADDED events for
//! "" / "0", `sendInitialEvents` streaming lists ending with the `k8s.io/initial-events-end`
//! bookmark, periodic BOOKMARKs, `timeoutSeconds`, and 410 Expired as an ERROR event inside a
//! 200 stream (which is what `kube::runtime::watcher` expects to trigger a re-list).
//!
//! Each watch runs in its own task that reads the store's broadcast channel; it never blocks the
//! store: a watcher that falls behind (broadcast lag) ends its stream and the client re-watches.

use std::collections::HashSet;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use tokio::sync::{broadcast, mpsc};

use super::list::{Selection, parse_rv};
use super::table::{self, TableInclude};
use super::{ApiError, ApiState, Ctx, Resp};
use crate::sim::Kind;
use crate::sim::store::{EventType, ObjKey, Stored, WatchEvent};

/// Flush the event buffer at this size.
const CHUNK: usize = 128 * 1024;
/// The apiserver picks a random timeout in [minRequestTimeout, 2×) when none is given; we use
/// the lower bound (1800 s).
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1800);

enum Start {
    /// Synthetic ADDED events for the current state, then changes.
    Initial,
    /// Changes after this resourceVersion.
    After(u64),
}

struct Opts {
    kind: Kind,
    sel: Selection,
    bookmarks: bool,
    send_initial: bool,
    timeout: Duration,
    table: Option<TableInclude>,
    include_object: Option<String>,
}

pub fn watch(ctx: &Ctx) -> Result<Resp, ApiError> {
    let sel = Selection::from_ctx(ctx)?;
    let rv = parse_rv(ctx.param("resourceVersion"))?;
    let rv_match = ctx.param("resourceVersionMatch").filter(|s| !s.is_empty());
    let bookmarks = ctx.flag("allowWatchBookmarks")?;
    let send_initial = ctx.flag("sendInitialEvents")?;
    let timeout = match ctx.param("timeoutSeconds").filter(|s| !s.is_empty()) {
        None => DEFAULT_TIMEOUT,
        Some(v) => match v.parse::<i64>() {
            Ok(n) if n > 0 => Duration::from_secs(n as u64),
            Ok(_) => DEFAULT_TIMEOUT,
            Err(_) => {
                return Err(ApiError::bad_request(format!("timeoutSeconds: Invalid value: {v:?}: must be an integer")));
            }
        },
    };
    // ValidateListOptions for watch requests.
    if send_initial {
        if rv_match != Some("NotOlderThan") {
            return Err(ApiError::new(
                422,
                "Invalid",
                "resourceVersionMatch: Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
            ));
        }
        if !bookmarks {
            return Err(ApiError::new(
                422,
                "Invalid",
                "allowWatchBookmarks: Forbidden: sendInitialEvents requires setting allowWatchBookmarks=true",
            ));
        }
    } else if let Some(m) = rv_match {
        return Err(ApiError::new(
            422,
            "Invalid",
            format!(
                "resourceVersionMatch: Forbidden: resourceVersionMatch {m:?} is forbidden for watch unless sendInitialEvents is provided"
            ),
        ));
    }
    let start = match rv {
        _ if send_initial => Start::Initial,
        None | Some(0) => Start::Initial,
        Some(n) => Start::After(n),
    };
    let opts = Opts {
        kind: ctx.target.kind,
        sel,
        bookmarks,
        send_initial,
        timeout,
        table: table::wants_table(&ctx.headers),
        include_object: ctx.param("includeObject").map(str::to_string),
    };
    let (tx, rx) = mpsc::channel::<Bytes>(8);
    let state = ctx.state.clone();
    let gone = state.faults.take_gone();
    tokio::spawn(async move {
        let mut w = Watcher {
            state,
            opts,
            tx,
            buf: BytesMut::new(),
            members: None,
            last_rv: 0,
            floor_rv: 0,
            sent_headers: false,
        };
        if gone {
            let cur = w.state.store.current_rv();
            w.error(&ApiError::expired(format!("too old resource version: {} ({cur})", rv.unwrap_or(0))));
            w.flush().await;
            return;
        }
        w.run(start).await;
    });
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|b| (Ok::<_, Infallible>(Frame::data(b)), rx))
    });
    let mut r = http::Response::new(StreamBody::new(stream).boxed_unsync());
    r.headers_mut().insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
    Ok(r)
}

struct Watcher {
    state: Arc<ApiState>,
    opts: Opts,
    tx: mpsc::Sender<Bytes>,
    buf: BytesMut,
    /// Keys of objects the client holds, kept only when selectors are set (to turn
    /// "stopped matching" into DELETED and "started matching" into ADDED).
    members: Option<HashSet<ObjKey>>,
    /// The newest resourceVersion whose event was processed (sent or filtered out).
    last_rv: u64,
    /// Events at or below this rv were asked not to be sent (the watch's starting point).
    floor_rv: u64,
    /// Table watches: column definitions go with the first event only.
    sent_headers: bool,
}

impl Watcher {
    async fn run(&mut self, start: Start) {
        let store = self.state.store.clone();
        let kind = self.opts.kind;
        let ns = self.opts.sel.namespace.clone().filter(|_| kind.namespaced());
        let (initial, sub) = match start {
            Start::Initial => loop {
                let (items, rv) = store.list(kind, ns.as_deref());
                // A compaction between the two calls makes subscribe fail; take a new snapshot.
                if let Ok(sub) = store.subscribe_from(rv) {
                    self.floor_rv = rv;
                    break (items, sub);
                }
                tokio::task::yield_now().await;
            },
            Start::After(n) => match store.subscribe_from(n) {
                Ok(sub) => {
                    self.floor_rv = n;
                    if !self.opts.sel.is_trivial() {
                        let (items, _) = store.list(kind, ns.as_deref());
                        self.members =
                            Some(items.iter().filter(|s| self.opts.sel.matches(s)).map(|s| s.key().clone()).collect());
                    }
                    (Vec::new(), sub)
                }
                Err(e) => {
                    self.error(&ApiError::from_store(e, kind.group(), kind.plural()));
                    self.flush().await;
                    return;
                }
            },
        };
        if self.members.is_none() && !self.opts.sel.is_trivial() {
            self.members = Some(HashSet::new());
        }
        self.last_rv = self.floor_rv;
        for s in &initial {
            if self.opts.sel.matches(s) {
                if let Some(m) = &mut self.members {
                    m.insert(s.key().clone());
                }
                self.event(EventType::Added.as_str(), s);
                if self.buf.len() >= CHUNK && !self.flush().await {
                    return;
                }
            }
        }
        drop(initial);
        if self.opts.send_initial {
            self.bookmark(self.floor_rv, true);
        }
        for ev in &sub.backlog {
            self.handle(ev);
            if self.buf.len() >= CHUNK && !self.flush().await {
                return;
            }
        }
        if !self.flush().await {
            return;
        }
        self.follow(sub.rx).await;
    }

    async fn follow(&mut self, mut rx: broadcast::Receiver<Arc<WatchEvent>>) {
        let shutdown = self.state.shutdown.clone();
        let mut dropped = self.state.faults.drop_signal();
        let deadline = tokio::time::sleep(self.opts.timeout);
        tokio::pin!(deadline);
        let period = self.state.faults.bookmark_period();
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let tx = self.tx.clone();
        let faults = self.state.faults.clone();
        let mut frozen = faults.freeze_signal();
        loop {
            tokio::select! {
                biased;
                _ = shutdown.cancelled() => return,
                _ = dropped.changed() => return,
                _ = tx.closed() => return,
                // A partition: the connection stays open and says nothing until the thaw;
                // events meanwhile wait in the broadcast buffer (or overflow it, which ends
                // the watch after the thaw, as a lagging one does).
                _ = async { drop(frozen.wait_for(|f| *f).await) } => {
                    tokio::select! {
                        _ = shutdown.cancelled() => return,
                        _ = dropped.changed() => return,
                        _ = tx.closed() => return,
                        _ = faults.thawed() => {}
                    }
                }
                _ = &mut deadline => {
                    // The apiserver sends a last bookmark before closing a timed-out watch.
                    if self.opts.bookmarks && self.drain(&mut rx) {
                        let rv = self.last_rv;
                        self.bookmark(rv, false);
                    }
                    self.flush().await;
                    return;
                }
                _ = tick.tick(), if self.opts.bookmarks && self.opts.table.is_none() => {
                    if !self.drain(&mut rx) {
                        return;
                    }
                    let rv = self.last_rv;
                    self.bookmark(rv, false);
                    if !self.flush().await {
                        return;
                    }
                }
                r = rx.recv() => match r {
                    Ok(ev) => {
                        self.handle(&ev);
                        if !self.drain(&mut rx) || !self.flush().await {
                            return;
                        }
                    }
                    // Lagged: we missed events; end the stream so the client re-watches from
                    // its last resourceVersion. Closed: the store is gone.
                    Err(_) => {
                        self.flush().await;
                        return;
                    }
                },
            }
        }
    }

    /// Process every event already queued (and everything up to the store's current rv, which
    /// is therefore safe to announce in a bookmark). False when the receiver lagged.
    fn drain(&mut self, rx: &mut broadcast::Receiver<Arc<WatchEvent>>) -> bool {
        let cur = self.state.store.current_rv();
        loop {
            match rx.try_recv() {
                Ok(ev) => self.handle(&ev),
                Err(broadcast::error::TryRecvError::Empty) => break,
                Err(_) => return false,
            }
        }
        // Every event with rv <= cur was broadcast before `cur` became readable.
        self.last_rv = self.last_rv.max(cur);
        true
    }

    fn handle(&mut self, ev: &WatchEvent) {
        if ev.rv <= self.floor_rv {
            return;
        }
        self.last_rv = self.last_rv.max(ev.rv);
        if ev.kind != self.opts.kind || !self.opts.sel.in_scope(&ev.object) {
            return;
        }
        let matches = self.opts.sel.matches(&ev.object);
        let etype = match &mut self.members {
            None => ev.etype,
            Some(m) => {
                let key = ev.object.key().clone();
                let was = m.contains(&key);
                match (ev.etype, was, matches) {
                    (EventType::Deleted, true, _) | (EventType::Deleted, false, true) => {
                        m.remove(&key);
                        EventType::Deleted
                    }
                    (EventType::Deleted, false, false) => return,
                    (_, true, true) => EventType::Modified,
                    (_, false, true) => {
                        m.insert(key);
                        EventType::Added
                    }
                    (_, true, false) => {
                        m.remove(&key);
                        EventType::Deleted
                    }
                    (_, false, false) => return,
                }
            }
        };
        self.event(etype.as_str(), &ev.object);
    }

    fn event(&mut self, etype: &str, s: &Stored) {
        self.buf.extend_from_slice(b"{\"type\":\"");
        self.buf.extend_from_slice(etype.as_bytes());
        self.buf.extend_from_slice(b"\",\"object\":");
        match self.opts.table {
            None => self.buf.extend_from_slice(&s.json),
            Some(inc) => {
                let now = self.state.clock.now();
                let t = table::event_table(s, !self.sent_headers, inc, now, self.opts.include_object.as_deref());
                self.sent_headers = true;
                self.buf.extend_from_slice(t.to_string().as_bytes());
            }
        }
        self.buf.extend_from_slice(b"}\n");
    }

    fn bookmark(&mut self, rv: u64, initial_end: bool) {
        let mut meta = serde_json::json!({ "resourceVersion": rv.to_string(), "creationTimestamp": null });
        if initial_end {
            meta["annotations"] = serde_json::json!({ "k8s.io/initial-events-end": "true" });
        }
        let obj = serde_json::json!({
            "kind": self.opts.kind.kind(),
            "apiVersion": self.opts.kind.api_version(),
            "metadata": meta,
        });
        self.buf.extend_from_slice(format!("{{\"type\":\"BOOKMARK\",\"object\":{obj}}}\n").as_bytes());
    }

    fn error(&mut self, e: &ApiError) {
        self.buf.extend_from_slice(format!("{{\"type\":\"ERROR\",\"object\":{}}}\n", e.to_value()).as_bytes());
    }

    /// Send what is buffered; false when the client has gone.
    async fn flush(&mut self) -> bool {
        if self.buf.is_empty() {
            return !self.tx.is_closed();
        }
        let chunk = self.buf.split().freeze();
        self.tx.send(chunk).await.is_ok()
    }
}
