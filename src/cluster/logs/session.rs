//! A log session: the set of pod streams behind one pane, capped at `max_streams`, opened and
//! closed as the pod set changes, with their lines batched towards the app.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use k8s_openapi::api::core::v1::Pod;
use kube::{Api, Client};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::stream::{self, StreamEvent, StreamSpec};
use crate::logs::{LogLine, LogMsg, LogOptions, LogTarget, PodRef, StreamState};

/// A running session. Dropping it cancels every stream (so does [`LogSession::cancel`]).
pub struct LogSession {
    pods: watch::Sender<Vec<PodRef>>,
    cancel: CancellationToken,
    handle: Option<JoinHandle<()>>,
}

impl LogSession {
    /// Replace the pod set (a DaemonSet's pods changed in the index, or a pod was re-created under
    /// a new name). Streams of pods no longer in the set close; new pods get streams, within the
    /// cap. Cheap when nothing changed.
    pub fn update_pods(&self, pods: Vec<PodRef>) {
        self.pods.send_if_modified(|cur| {
            let mut new = pods;
            new.sort();
            new.dedup();
            if *cur == new {
                false
            } else {
                *cur = new;
                true
            }
        });
    }

    pub fn cancel(&self) {
        self.cancel.cancel();
    }

    /// The supervisor task (ends after `cancel`, or by itself when not following and every stream
    /// has ended). Taking it leaves the session able to cancel.
    pub fn take_handle(&mut self) -> Option<JoinHandle<()>> {
        self.handle.take()
    }
}

impl Drop for LogSession {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

/// Start streaming `target`. Messages go to `tx` (give each session its own channel, so a
/// re-opened pane never sees the old session's lines); `cancel` (or dropping the returned session)
/// stops everything.
pub fn spawn_log_session(
    client: Client,
    target: LogTarget,
    opts: LogOptions,
    tx: mpsc::Sender<LogMsg>,
    cancel: CancellationToken,
) -> LogSession {
    let mut pods = target.pods();
    pods.sort();
    pods.dedup();
    let (pods_tx, pods_rx) = watch::channel(pods);
    let sup = Supervisor {
        api: Api::namespaced(client, target.namespace()),
        container: target.container().map(str::to_owned),
        previous: target.previous(),
        opts,
        tx,
        cancel: cancel.clone(),
        streams: BTreeMap::new(),
        finished: BTreeSet::new(),
        next_id: 0,
        outbox: VecDeque::new(),
        pending_lines: 0,
        last_counts: None,
    };
    let handle = tokio::spawn(sup.run(pods_rx));
    LogSession { pods: pods_tx, cancel, handle: Some(handle) }
}

struct Running {
    id: u64,
    cancel: CancellationToken,
}

struct Supervisor {
    api: Api<Pod>,
    container: Option<String>,
    previous: bool,
    opts: LogOptions,
    tx: mpsc::Sender<LogMsg>,
    cancel: CancellationToken,
    /// Open streams by pod.
    streams: BTreeMap<PodRef, Running>,
    /// Pods whose stream ended for good (gone, forbidden, or read to the end): not re-opened until
    /// they leave the pod set.
    finished: BTreeSet<PodRef>,
    next_id: u64,
    /// Messages not yet accepted by the app's channel, oldest first.
    outbox: VecDeque<LogMsg>,
    pending_lines: usize,
    last_counts: Option<(usize, usize, usize)>,
}

impl Supervisor {
    async fn run(mut self, mut pods_rx: watch::Receiver<Vec<PodRef>>) {
        let (ev_tx, mut ev_rx) = mpsc::channel::<StreamEvent>(256);
        let mut desired = pods_rx.borrow_and_update().clone();
        self.reconcile(&desired, &ev_tx);
        let mut deadline: Option<Instant> = None;
        loop {
            let flush_at = deadline;
            tokio::select! {
                _ = self.cancel.cancelled() => break,
                changed = pods_rx.changed() => {
                    if changed.is_err() {
                        break;
                    }
                    desired = pods_rx.borrow_and_update().clone();
                    self.reconcile(&desired, &ev_tx);
                }
                ev = ev_rx.recv() => {
                    let Some(ev) = ev else { break };
                    match ev {
                        StreamEvent::Lines(lines) => self.push_lines(lines),
                        StreamEvent::Status { source, state, text } => {
                            if matches!(state, StreamState::Failed | StreamState::Ended) {
                                let key = PodRef::new(&*source.node, &*source.pod);
                                self.finished.insert(key);
                            }
                            self.outbox.push_back(LogMsg::Status { source, state, text });
                        }
                        StreamEvent::Done(id) => {
                            self.streams.retain(|_, r| r.id != id);
                            // A finished stream frees its slot for the next pod over the cap.
                            self.reconcile(&desired, &ev_tx);
                            if self.streams.is_empty() && !self.following() {
                                self.flush_all().await;
                                break;
                            }
                        }
                    }
                }
                _ = sleep_until(flush_at), if flush_at.is_some() => {
                    deadline = None;
                    if !self.flush() {
                        break;
                    }
                }
            }
            if self.pending_lines >= self.opts.batch_lines && !self.flush() {
                break;
            }
            if !self.outbox.is_empty() && deadline.is_none() {
                deadline = Some(Instant::now() + self.opts.batch_interval);
            }
        }
        for r in self.streams.values() {
            r.cancel.cancel();
        }
    }

    fn following(&self) -> bool {
        self.opts.follow && !self.previous
    }

    /// Open and close streams so that the open set is the first `max_streams` live pods of
    /// `desired`, keeping streams already open (a stable selection as pods come and go).
    fn reconcile(&mut self, desired: &[PodRef], ev_tx: &mpsc::Sender<StreamEvent>) {
        let wanted: BTreeSet<&PodRef> = desired.iter().collect();
        self.finished.retain(|p| wanted.contains(p));
        let gone: Vec<PodRef> = self.streams.keys().filter(|p| !wanted.contains(p)).cloned().collect();
        for p in gone {
            if let Some(r) = self.streams.remove(&p) {
                r.cancel.cancel();
            }
        }
        let cap = self.opts.max_streams.max(1);
        let live: Vec<&PodRef> = desired.iter().filter(|p| !self.finished.contains(*p)).collect();
        let mut selected: usize = self.streams.len();
        for p in &live {
            if selected >= cap {
                break;
            }
            if self.streams.contains_key(*p) {
                continue;
            }
            self.start(p, ev_tx);
            selected += 1;
        }
        let shown = live.len().min(cap) + (desired.len() - live.len());
        let counts = (self.streams.len(), shown.min(desired.len()), desired.len());
        if self.last_counts != Some(counts) {
            if live.len() > cap && self.last_counts.is_none_or(|(_, s, t)| (s, t) != (counts.1, counts.2)) {
                self.outbox.push_back(LogMsg::Note(format!(
                    "{} pods; streaming {cap} at a time (max_streams), first by node name",
                    desired.len()
                )));
            }
            self.last_counts = Some(counts);
            self.outbox.push_back(LogMsg::Streams { open: counts.0, shown: counts.1, total: counts.2 });
        }
    }

    fn start(&mut self, pod: &PodRef, ev_tx: &mpsc::Sender<StreamEvent>) {
        let id = self.next_id;
        self.next_id += 1;
        let cancel = self.cancel.child_token();
        let spec = StreamSpec {
            id,
            api: self.api.clone(),
            pod: pod.clone(),
            container: self.container.clone(),
            previous: self.previous,
            opts: self.opts.clone(),
            out: ev_tx.clone(),
            cancel: cancel.clone(),
        };
        tokio::spawn(stream::run(spec));
        self.streams.insert(pod.clone(), Running { id, cancel });
    }

    fn push_lines(&mut self, lines: Vec<LogLine>) {
        self.pending_lines += lines.len();
        match self.outbox.back_mut() {
            Some(LogMsg::Lines { lines: batch, .. }) => batch.extend(lines),
            _ => self.outbox.push_back(LogMsg::Lines { lines, dropped: 0 }),
        }
        self.trim();
    }

    /// Keep at most `max_pending_lines` waiting: drop the oldest and carry the count forward.
    fn trim(&mut self) {
        let max = self.opts.max_pending_lines.max(1);
        let mut carried = 0u64;
        while self.pending_lines > max {
            let excess = self.pending_lines - max;
            let Some(i) = self.outbox.iter().position(|m| matches!(m, LogMsg::Lines { .. })) else { break };
            if let Some(LogMsg::Lines { lines, dropped }) = self.outbox.get_mut(i) {
                let n = excess.min(lines.len());
                lines.drain(..n);
                self.pending_lines -= n;
                carried += *dropped + n as u64;
                *dropped = 0;
                if lines.is_empty() {
                    self.outbox.remove(i);
                }
            }
        }
        if carried > 0 {
            match self.outbox.iter_mut().find(|m| matches!(m, LogMsg::Lines { .. })) {
                Some(LogMsg::Lines { dropped, .. }) => *dropped += carried,
                _ => self.outbox.push_back(LogMsg::Lines { lines: Vec::new(), dropped: carried }),
            }
        }
    }

    /// Hand what the app's channel accepts now; keep the rest. False when the app has gone away.
    fn flush(&mut self) -> bool {
        while let Some(msg) = self.outbox.pop_front() {
            let n = if let LogMsg::Lines { lines, .. } = &msg { lines.len() } else { 0 };
            match self.tx.try_send(msg) {
                Ok(()) => self.pending_lines -= n,
                Err(mpsc::error::TrySendError::Full(msg)) => {
                    self.outbox.push_front(msg);
                    return true;
                }
                Err(mpsc::error::TrySendError::Closed(_)) => return false,
            }
        }
        true
    }

    /// At the end of a finite session: wait for the app to take everything.
    async fn flush_all(&mut self) {
        while let Some(msg) = self.outbox.pop_front() {
            tokio::select! {
                _ = self.cancel.cancelled() => return,
                r = self.tx.send(msg) => if r.is_err() { return },
            }
        }
    }
}

async fn sleep_until(at: Option<Instant>) {
    if let Some(at) = at {
        tokio::time::sleep_until(at).await;
    }
}
