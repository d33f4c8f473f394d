//! What a log session reports: lines, and the state of each stream.

use std::sync::Arc;

use super::{LogLine, LogSource};

/// Health of one source's stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamState {
    /// Streaming (sent after a recovery, to clear an earlier error).
    Open,
    /// Temporarily failing; re-opening with backoff.
    Retrying,
    /// Finished normally (not following, or the previous container's log is complete).
    Ended,
    /// Given up: the pod is gone, access is forbidden, or the request cannot succeed as made.
    Failed,
}

/// What a session sends to the app.
#[derive(Clone, Debug)]
pub enum LogMsg {
    /// Lines in arrival order; `dropped` lines were lost before this batch because the app did not
    /// keep up.
    Lines { lines: Vec<LogLine>, dropped: u64 },
    /// A stream's state changed; `text` says why in words a person on call can act on.
    Status { source: Arc<LogSource>, state: StreamState, text: String },
    /// Streams: `open` connected now, `shown` selected (≤ max_streams), `total` pods in the target.
    Streams { open: usize, shown: usize, total: usize },
    /// A message about the session as a whole.
    Note(String),
}
