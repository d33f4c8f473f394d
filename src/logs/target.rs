//! What a log session is asked to stream: the target (one pod, or a DaemonSet's pods) and how
//! (follow, tail, batching, retries).

use std::time::Duration;

/// One pod of a log target: the node it runs on (the line prefix) and its name.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PodRef {
    pub node: String,
    pub pod: String,
}

impl PodRef {
    pub fn new(node: impl Into<String>, pod: impl Into<String>) -> PodRef {
        PodRef { node: node.into(), pod: pod.into() }
    }
}

/// What to stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogTarget {
    /// One pod (`l` on a cell).
    Pod {
        namespace: String,
        pod: String,
        node: String,
        /// None: the server picks the only container (and says which to choose if there are several).
        container: Option<String>,
        /// The previous, terminated instance of the container (`kubectl logs -p`).
        previous: bool,
    },
    /// Every pod of a DaemonSet, interleaved with a node prefix (`L` on a column). `pods` is the
    /// selection at open time (honouring the matrix's row filter); later changes go through
    /// the session's `update_pods`.
    DaemonSet { namespace: String, name: String, pods: Vec<PodRef>, container: Option<String>, previous: bool },
}

impl LogTarget {
    pub fn namespace(&self) -> &str {
        match self {
            LogTarget::Pod { namespace, .. } | LogTarget::DaemonSet { namespace, .. } => namespace,
        }
    }

    pub fn is_daemonset(&self) -> bool {
        matches!(self, LogTarget::DaemonSet { .. })
    }

    pub fn container(&self) -> Option<&str> {
        match self {
            LogTarget::Pod { container, .. } | LogTarget::DaemonSet { container, .. } => container.as_deref(),
        }
    }

    pub fn set_container(&mut self, c: Option<String>) {
        match self {
            LogTarget::Pod { container, .. } | LogTarget::DaemonSet { container, .. } => *container = c,
        }
    }

    pub fn previous(&self) -> bool {
        match self {
            LogTarget::Pod { previous, .. } | LogTarget::DaemonSet { previous, .. } => *previous,
        }
    }

    pub fn set_previous(&mut self, p: bool) {
        match self {
            LogTarget::Pod { previous, .. } | LogTarget::DaemonSet { previous, .. } => *previous = p,
        }
    }

    /// The pods to stream.
    pub fn pods(&self) -> Vec<PodRef> {
        match self {
            LogTarget::Pod { pod, node, .. } => vec![PodRef::new(node.clone(), pod.clone())],
            LogTarget::DaemonSet { pods, .. } => pods.clone(),
        }
    }

    /// One line for the pane's title.
    pub fn describe(&self) -> String {
        let container = self.container().map_or(String::new(), |c| format!(" [{c}]"));
        let prev = if self.previous() { " (previous container)" } else { "" };
        match self {
            LogTarget::Pod { namespace, pod, node, .. } => {
                format!("logs {namespace}/{pod}{container}{prev} on {node}")
            }
            LogTarget::DaemonSet { namespace, name, .. } => {
                format!("logs daemonset {namespace}/{name}{container}{prev}")
            }
        }
    }

    /// A file-name stem for a saved buffer.
    pub fn file_stem(&self) -> String {
        match self {
            LogTarget::Pod { namespace, pod, .. } => format!("{namespace}_{pod}"),
            LogTarget::DaemonSet { namespace, name, .. } => format!("{namespace}_ds_{name}"),
        }
    }
}

/// How a session streams and batches.
#[derive(Clone, Debug, PartialEq)]
pub struct LogOptions {
    /// Keep the streams open for new lines (`kubectl logs -f`). Ignored for previous containers.
    pub follow: bool,
    /// Lines from the end of each container's log to start with (None: the whole log).
    pub tail_lines: Option<i64>,
    /// Only lines newer than this many seconds (`--since`).
    pub since_seconds: Option<i64>,
    /// At most this many concurrent streams; a DaemonSet with more pods shows the first ones by
    /// node name and says so.
    pub max_streams: usize,
    /// Send a batch at least this often while lines are arriving (one batch per frame at ~30 fps).
    pub batch_interval: Duration,
    /// Send a batch as soon as it has this many lines.
    pub batch_lines: usize,
    /// Lines kept while the app is not draining the channel; beyond this the oldest are dropped
    /// and counted (the pane's ring buffer would evict them anyway).
    pub max_pending_lines: usize,
    /// First re-open delay; doubles per failed attempt up to `retry_max`.
    pub retry_initial: Duration,
    pub retry_max: Duration,
}

impl Default for LogOptions {
    fn default() -> Self {
        LogOptions {
            follow: true,
            tail_lines: Some(500),
            since_seconds: None,
            max_streams: 50,
            batch_interval: Duration::from_millis(30),
            batch_lines: 1000,
            max_pending_lines: super::DEFAULT_MAX_LINES,
            retry_initial: Duration::from_millis(500),
            retry_max: Duration::from_secs(30),
        }
    }
}
