//! The plain data that the log streams (`cluster::logs`) and the log pane (`logview`) share: a
//! log line and its source ([`line`]), the sanitizer every line goes through before anyone
//! keeps it ([`sanitize`]), what a session is asked to stream ([`target`]) and what it reports
//! ([`msg`]).
//!
//! It sits below both of them so that neither imports the other, and imports nothing of this
//! crate itself. No I/O, no async, no terminal.

pub mod line;
pub mod msg;
pub mod sanitize;
pub mod target;

pub use line::{DEFAULT_MAX_LINES, LogLine, LogSource, MAX_LINE_BYTES, NODE_COLOURS, node_colour};
pub use msg::{LogMsg, StreamState};
pub use target::{LogOptions, LogTarget, PodRef};
