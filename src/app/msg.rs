//! The messages `update` consumes and the effects it asks the event loop to carry out.
//! Both are plain data: `update` never does I/O, it returns [`Effect`]s, and every answer
//! from the outside world comes back as a [`Msg`].

use crossterm::event::KeyEvent;

use crate::fleet::FleetEvent;
use crate::fleet::model::Secs;

/// Everything that can change the [`super::App`].
#[derive(Debug)]
pub enum Msg {
    Key(KeyEvent),
    /// The terminal's new size (columns, rows).
    Resize(u16, u16),
    /// Every fleet event that was pending, applied as one batch before one render.
    Fleet(Vec<FleetEvent>),
    /// The clock, in Unix seconds (about once a second): ages, data age, notice expiry.
    Tick(Secs),
    /// A transient message for the status line (results of effects, warnings).
    Notice {
        text: String,
        level: Level,
    },
    /// Context/namespace pickers (issue 5): entries loaded, switch done or failed.
    Picker(super::pickers::PickerMsg),
    /// The result or progress of a cluster action (issue 7).
    Act(super::actions::ActMsg),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Info,
    Warn,
    Error,
}

/// A namespaced object the effect is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub namespace: String,
    pub name: String,
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

/// What `update` asks the event loop to do. Variants for log panes (issue 6) and actions
/// (issue 7) exist so the keymap can name them; the loop reports which ones it cannot carry
/// out yet instead of pretending.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    Quit,
    /// Follow the logs of one pod.
    OpenLogs {
        pod: Target,
        node: String,
    },
    /// Tail every pod of a DaemonSet (restricted to the visible rows).
    OpenDaemonSetLogs {
        daemonset: Target,
        nodes: Vec<String>,
    },
    /// Delete a pod so its DaemonSet re-creates it.
    RestartPod {
        pod: Target,
    },
    RolloutRestart {
        daemonset: Target,
    },
    RolloutStatus {
        daemonset: Target,
    },
    History {
        daemonset: Target,
    },
    Strategy {
        daemonset: Target,
    },
    RollNext {
        daemonset: Target,
    },
    PickContext,
    PickNamespace,
    /// A choice made in a picker (issue 5): carried out by `pickers::Session`.
    Picker(super::pickers::PickerEffect),
    /// A confirmed cluster action, carried out by `actions::Runner` (issue 7).
    Act(super::actions::ActEffect),
    /// Log pane work (re-open after `p`/container choice, save): see `app::logs`.
    Logs(super::logs::LogEffect),
}

impl Effect {
    /// A short description for notices ("restart pod kube-system/x").
    pub fn describe(&self) -> String {
        match self {
            Effect::Quit => "quit".into(),
            Effect::OpenLogs { pod, .. } => format!("logs of {pod}"),
            Effect::OpenDaemonSetLogs { daemonset, nodes } => {
                format!("logs of {daemonset} on {} nodes", nodes.len())
            }
            Effect::RestartPod { pod } => format!("restart pod {pod}"),
            Effect::RolloutRestart { daemonset } => format!("rollout restart {daemonset}"),
            Effect::RolloutStatus { daemonset } => format!("rollout status of {daemonset}"),
            Effect::History { daemonset } => format!("rollout history of {daemonset}"),
            Effect::Strategy { daemonset } => format!("update strategy of {daemonset}"),
            Effect::RollNext { daemonset } => format!("roll next outdated node of {daemonset}"),
            Effect::PickContext => "context picker".into(),
            Effect::PickNamespace => "namespace picker".into(),
            Effect::Picker(p) => p.describe(),
            Effect::Act(a) => a.describe(),
            Effect::Logs(e) => e.describe(),
        }
    }
}
