//! Cell states (the precedence table of DESIGN.md) and the pod STATUS reason exactly as
//! `kubectl get pods` computes it (`printPod` in kubernetes/pkg/printers/internalversion).
//! Pure functions; no I/O.

/// The state of one (node, DaemonSet) cell, in order of precedence: when several apply, the
/// earlier wins. `ALL` lists them in that order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CellState {
    Missing,
    Failing,
    Terminating,
    Pending,
    NotReady,
    Outdated,
    Ready,
    Misscheduled,
    NotEligible,
}

impl CellState {
    pub const ALL: [CellState; 9] = [
        CellState::Missing,
        CellState::Failing,
        CellState::Terminating,
        CellState::Pending,
        CellState::NotReady,
        CellState::Outdated,
        CellState::Ready,
        CellState::Misscheduled,
        CellState::NotEligible,
    ];

    /// The name used in JSON output, themes and `check` lines.
    pub fn name(self) -> &'static str {
        match self {
            CellState::Missing => "missing",
            CellState::Failing => "failing",
            CellState::Terminating => "terminating",
            CellState::Pending => "pending",
            CellState::NotReady => "not-ready",
            CellState::Outdated => "outdated",
            CellState::Ready => "ready",
            CellState::Misscheduled => "misscheduled",
            CellState::NotEligible => "not-eligible",
        }
    }

    pub fn parse(s: &str) -> Option<CellState> {
        CellState::ALL.into_iter().find(|c| c.name() == s)
    }

    /// Index into per-state counter arrays.
    pub fn idx(self) -> usize {
        self as usize
    }

    /// States that `check` reports and "problems only" shows.
    pub fn is_problem(self) -> bool {
        matches!(
            self,
            CellState::Missing
                | CellState::Failing
                | CellState::Pending
                | CellState::NotReady
                | CellState::Outdated
                | CellState::Misscheduled
        )
    }
}

/// The state of one container, as much of it as the STATUS column needs.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum ContainerStateInput {
    Waiting {
        reason: String,
    },
    Running,
    Terminated {
        reason: String,
        exit_code: i32,
        signal: i32,
    },
    /// No state reported yet.
    #[default]
    Unknown,
}

#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ContainerStatusInput {
    pub ready: bool,
    pub started: Option<bool>,
    pub restart_count: i32,
    pub state: ContainerStateInput,
    /// `lastState.terminated`: (reason, exit code, finishedAt as Unix seconds).
    pub last_terminated: Option<(String, i32, Option<i64>)>,
    /// An init container with `restartPolicy: Always` (a sidecar).
    pub restartable_init: bool,
}

/// The parts of a pod that `kubectl get pods` reads to print STATUS, READY and RESTARTS.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct StatusInput {
    /// `status.phase` ("Pending", "Running", …; empty when unset).
    pub phase: String,
    /// `status.reason` ("Evicted", "NodeLost", …).
    pub reason: String,
    pub deleting: bool,
    /// Number of init containers in the spec.
    pub init_containers: usize,
    /// Number of containers in the spec.
    pub containers: usize,
    /// (type, status, reason) of each condition.
    pub conditions: Vec<(String, String, String)>,
    pub init_statuses: Vec<ContainerStatusInput>,
    pub statuses: Vec<ContainerStatusInput>,
}

/// What `kubectl get pods` prints for a pod.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrintedStatus {
    pub reason: String,
    pub ready_containers: u16,
    pub total_containers: u16,
    pub restarts: u32,
    /// Unix seconds of the latest `lastState.terminated.finishedAt`, if any.
    pub last_restart: Option<i64>,
}
