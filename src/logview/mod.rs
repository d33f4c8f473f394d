//! The log pane's model and widget, with no I/O: the bounded ring buffer (`buffer`), the pane
//! state and its keys (`pane`) and its pure render function (`render`).
//!
//! The log streams themselves live in `cluster::logs`; they produce [`LogLine`]s (already sanitized,
//! off the UI task) and the app hands them to [`LogPane::apply`]. The types both sides share, and
//! the sanitizer, live below both in `crate::logs`; this module never imports `cluster`.

pub mod buffer;
pub mod pane;
pub mod render;

pub use buffer::LogBuffer;
pub use pane::{LogPane, PaneAction, PaneOptions, PaneOutcome, SaveRequest};
pub use render::{LogStyles, body_rows, render};

// The line type and the sanitizer are shared with `cluster::logs` and live below both, in
// `crate::logs`; re-exported here so that older import paths still resolve.
