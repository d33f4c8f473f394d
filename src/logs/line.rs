//! One line of a container's log and where it came from: what the log streams produce and the
//! log pane keeps and draws.

use std::sync::Arc;

use jiff::Timestamp;

/// Longest line kept, in bytes of the raw stream (timestamp included). Longer lines are cut here and
/// marked, so one pathological line cannot take the memory of thousands.
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// Lines a log pane keeps by default, and so also the most a session holds back while the app is
/// not draining its channel (the pane would evict older ones anyway).
pub const DEFAULT_MAX_LINES: usize = 20_000;

/// Where a line came from: the stern-like prefix (node) and the status line (pod, container).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct LogSource {
    pub node: Arc<str>,
    pub pod: Arc<str>,
    pub container: Arc<str>,
    /// The previous (terminated) instance of the container.
    pub previous: bool,
    /// Index into the node palette, a stable hash of the node name (see [`node_colour`]).
    pub colour: u8,
}

impl LogSource {
    pub fn new(node: &str, pod: &str, container: &str, previous: bool) -> LogSource {
        LogSource {
            node: node.into(),
            pod: pod.into(),
            container: container.into(),
            previous,
            colour: node_colour(node),
        }
    }

    /// "node/pod/container" for status messages.
    pub fn label(&self) -> String {
        let node = if self.node.is_empty() { "-" } else { &self.node };
        format!("{node}/{}/{}", self.pod, self.container)
    }
}

/// Number of node colours in the palette (`logview::LogStyles::node_palette` has one style per slot).
pub const NODE_COLOURS: usize = 8;

/// A stable palette slot for a node: FNV-1a of its name, so a node keeps its colour across panes,
/// restarts and machines.
pub fn node_colour(node: &str) -> u8 {
    let mut h: u32 = 0x811c_9dc5;
    for b in node.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    (h % NODE_COLOURS as u32) as u8
}

/// One line of a container's log, ready to display: `text` has been through [`super::sanitize::sanitize`].
#[derive(Clone, Debug)]
pub struct LogLine {
    pub source: Arc<LogSource>,
    /// The kubelet's timestamp for the line (we always ask for timestamps; `t` shows them).
    pub ts: Option<Timestamp>,
    pub text: Box<str>,
}

impl LogLine {
    /// Build a line from raw stream bytes (no trailing newline). With `has_ts`, the first word is
    /// the RFC 3339 timestamp the kubelet prefixes when asked (`timestamps=true`); a line without a
    /// parseable one keeps all its text. `truncated` is how many bytes of the line were cut off.
    pub fn from_raw(source: Arc<LogSource>, raw: &[u8], has_ts: bool, truncated: usize) -> LogLine {
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let (ts, body) = if has_ts { split_timestamp(raw) } else { (None, raw) };
        let mut text = super::sanitize::sanitize(body);
        if truncated > 0 {
            text.push_str(&format!(" … [line truncated: {truncated} more bytes]"));
        }
        LogLine { source, ts, text: text.into_boxed_str() }
    }

    /// Bytes this line holds on the heap (its text; the source is shared).
    pub fn heap_bytes(&self) -> usize {
        self.text.len()
    }
}

/// Split `2024-05-01T12:00:00.123456789Z rest` into the timestamp and the rest.
fn split_timestamp(raw: &[u8]) -> (Option<Timestamp>, &[u8]) {
    // RFC 3339 with nanoseconds is 30 bytes; look no further than a generous bound.
    let Some(sp) = raw.iter().take(40).position(|&b| b == b' ') else {
        return match std::str::from_utf8(raw).ok().and_then(|s| s.parse::<Timestamp>().ok()) {
            Some(ts) => (Some(ts), &[]),
            None => (None, raw),
        };
    };
    match std::str::from_utf8(&raw[..sp]).ok().and_then(|s| s.parse::<Timestamp>().ok()) {
        Some(ts) => (Some(ts), &raw[sp + 1..]),
        None => (None, raw),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src() -> Arc<LogSource> {
        Arc::new(LogSource::new("node-1", "pod-a", "app", false))
    }

    #[test]
    fn timestamp_prefix_is_parsed_and_removed() {
        let l = LogLine::from_raw(src(), b"2024-05-01T12:00:00.123456789Z hello there", true, 0);
        assert_eq!(&*l.text, "hello there");
        assert_eq!(l.ts.map(|t| t.as_second()), Some(1_714_564_800));
    }

    #[test]
    fn line_without_timestamp_keeps_its_text() {
        let l = LogLine::from_raw(src(), b"no-timestamp here", true, 0);
        assert_eq!(&*l.text, "no-timestamp here");
        assert!(l.ts.is_none());
    }

    #[test]
    fn crlf_and_truncation_marker() {
        let l = LogLine::from_raw(src(), b"abc\r", false, 10);
        assert_eq!(&*l.text, "abc … [line truncated: 10 more bytes]");
    }

    #[test]
    fn node_colour_is_stable_and_in_palette() {
        assert_eq!(node_colour("node-1"), node_colour("node-1"));
        let distinct: std::collections::HashSet<u8> = (0..64).map(|i| node_colour(&format!("node-{i}"))).collect();
        assert!(distinct.len() > 4);
        assert!(distinct.iter().all(|&c| (c as usize) < NODE_COLOURS));
    }
}
