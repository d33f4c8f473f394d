//! The messages `update` consumes and the effects it asks for. Both are plain data: `update`
//! never does I/O; it returns [`Effect`]s, and every answer from the outside world comes back
//! as a [`Msg`]. Intents that never leave `update` (open a dialog, move the cursor) are not
//! effects.

use crossterm::event::KeyEvent;

pub use crate::cluster::executor::{Command, ObjName as Target, Report, SessionId, SessionInfo, Work};
use crate::fleet::FleetEvent;
use crate::fleet::model::Secs;
use crate::logview::SaveRequest;

/// Everything that can change the [`super::App`].
#[derive(Debug)]
pub enum Msg {
    Key(KeyEvent),
    /// The terminal's new size (columns, rows).
    Resize(u16, u16),
    /// Fleet events already known to belong to the app's session, applied as one batch
    /// (tests and benchmarks; the executor's are [`Report::Fleet`], checked against the session).
    Fleet(Vec<FleetEvent>),
    /// The clock, in Unix seconds (about once a second): ages, data age, notice expiry.
    Tick(Secs),
    /// A transient message for the status line.
    Notice {
        text: String,
        level: Level,
    },
    /// A result from the cluster executor, tagged with its session.
    Cluster(Report),
    /// The log pane's buffer was written (or not) by the loop.
    LogsSaved {
        stream: u64,
        result: Result<std::path::PathBuf, String>,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Info,
    Warn,
    Error,
}

/// What `update` asks the world to do.
#[derive(Clone, Debug, PartialEq)]
pub enum Effect {
    Quit,
    /// Cluster work, carried out by `cluster::executor::Executor`.
    Cluster(Command),
    /// Write the log pane's buffer to the state directory (the loop does; no network).
    SaveLogs {
        stream: u64,
        request: SaveRequest,
    },
}

impl Effect {
    /// Work bound to `session`.
    pub fn work(session: SessionId, work: Work) -> Effect {
        Effect::Cluster(Command::Work { session, work })
    }

    /// A short description for notices and tests.
    pub fn describe(&self) -> String {
        match self {
            Effect::Quit => "quit".into(),
            Effect::Cluster(Command::ListContexts) => "list contexts".into(),
            Effect::Cluster(Command::Connect { context, .. }) => format!("switch to context {context}"),
            Effect::Cluster(Command::Rescope { namespace: Some(ns), .. }) => format!("switch to namespace {ns}"),
            Effect::Cluster(Command::Rescope { namespace: None, .. }) => "switch to all namespaces".into(),
            Effect::Cluster(Command::Work { work, .. }) => work.describe(),
            Effect::SaveLogs { .. } => "save the log buffer".into(),
        }
    }
}
