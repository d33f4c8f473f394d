//! Container log streams through `kube` (`pods/log`): one pod, or a whole DaemonSet across nodes.
//!
//! A [`LogSession`] owns the streams of one log pane. It reads the streams as bytes (invalid UTF-8
//! never ends a stream), splits and caps lines (`stream`), sanitizes them off the UI task, and
//! batches them (`session`) so the app applies at most one batch per frame. Errors become
//! [`LogMsg::Status`] and streams re-open with backoff where that can help (the container
//! restarted, the connection came back), never when the pod is gone. Nothing here touches UI state:
//! everything goes out through the session's channel.

mod session;
mod stream;

pub use session::{LogSession, spawn_log_session};
pub use stream::LineSplitter;

// The session's inputs and outputs are plain data in `crate::logs`, shared with the log pane;
// re-exported here so that older import paths still resolve.
