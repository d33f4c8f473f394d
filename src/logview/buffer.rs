//! The per-pane ring buffer: the newest lines of a log, bounded by a line count and a byte budget,
//! counting what it had to drop. Lines are addressed by a sequence number that keeps growing, so a
//! position (search match, scroll anchor) stays meaningful while old lines fall off the front.

use std::collections::VecDeque;

use crate::logs::{DEFAULT_MAX_LINES, LogLine};

/// Default byte budget for line text (lines are at most `MAX_LINE_BYTES` each, so the line count
/// alone would allow 1.3 GB of pathological lines).
pub const DEFAULT_MAX_BYTES: usize = 64 * 1024 * 1024;

#[derive(Debug)]
pub struct LogBuffer {
    lines: VecDeque<LogLine>,
    max_lines: usize,
    max_bytes: usize,
    bytes: usize,
    /// Sequence number of `lines[0]`.
    first_seq: u64,
    /// Lines evicted (or never stored) because the buffer was full.
    dropped: u64,
}

impl LogBuffer {
    /// A buffer keeping at most `max_lines` lines (at least 1) and about `max_bytes` of text.
    pub fn new(max_lines: usize, max_bytes: usize) -> LogBuffer {
        let max_lines = max_lines.max(1);
        LogBuffer {
            lines: VecDeque::with_capacity(max_lines.min(4096)),
            max_lines,
            max_bytes: max_bytes.max(1),
            bytes: 0,
            first_seq: 0,
            dropped: 0,
        }
    }

    /// Append a line, evicting the oldest ones to stay within both bounds. O(1) amortized.
    pub fn push(&mut self, line: LogLine) {
        self.bytes += line.heap_bytes();
        self.lines.push_back(line);
        while self.lines.len() > self.max_lines || (self.bytes > self.max_bytes && self.lines.len() > 1) {
            self.pop_front();
        }
    }

    fn pop_front(&mut self) {
        if let Some(old) = self.lines.pop_front() {
            self.bytes -= old.heap_bytes();
            self.first_seq += 1;
            self.dropped += 1;
        }
    }

    /// Count lines that were lost before reaching the buffer (a producer faster than the UI).
    pub fn note_dropped(&mut self, n: u64) {
        self.dropped += n;
    }

    /// Remove every line (sequence numbers keep growing; the dropped count is reset).
    pub fn clear(&mut self) {
        self.first_seq += self.lines.len() as u64;
        self.lines.clear();
        self.bytes = 0;
        self.dropped = 0;
    }

    pub fn len(&self) -> usize {
        self.lines.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// Sequence number of the oldest line held.
    pub fn first_seq(&self) -> u64 {
        self.first_seq
    }

    /// Sequence number the next pushed line will get.
    pub fn end_seq(&self) -> u64 {
        self.first_seq + self.lines.len() as u64
    }

    /// The line with sequence number `seq`, if still held.
    pub fn get(&self, seq: u64) -> Option<&LogLine> {
        let i = seq.checked_sub(self.first_seq)?;
        self.lines.get(usize::try_from(i).ok()?)
    }

    /// Lines from `seq` (clamped to the oldest held) to the newest, with their sequence numbers.
    pub fn iter_from(&self, seq: u64) -> impl DoubleEndedIterator<Item = (u64, &LogLine)> {
        let start = seq.saturating_sub(self.first_seq).min(self.lines.len() as u64) as usize;
        let first = self.first_seq;
        self.lines.range(start..).enumerate().map(move |(i, l)| (first + (start + i) as u64, l))
    }

    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Bytes of line text held: bounded by `max_bytes` (plus one line) and `max_lines × MAX_LINE_BYTES`.
    pub fn text_bytes(&self) -> usize {
        self.bytes
    }

    pub fn max_lines(&self) -> usize {
        self.max_lines
    }
}

impl Default for LogBuffer {
    fn default() -> Self {
        LogBuffer::new(DEFAULT_MAX_LINES, DEFAULT_MAX_BYTES)
    }
}
