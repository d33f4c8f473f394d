//! Cell states (the precedence table of DESIGN.md) and the pod STATUS reason exactly as
//! `kubectl get pods` computes it (`printPod` in kubernetes/pkg/printers/internalversion).
//! Pure functions; no I/O.
//!
//! Three questions are answered here and nowhere else:
//! - [`print_status`]: the STATUS / READY / RESTARTS columns of `kubectl get pods`;
//! - [`failing_reason`]: whether such a STATUS means the pod is failing;
//! - [`pod_state`] and [`cell_state`]: the state of one daemon pod and of a whole cell.

use super::model::Phase;

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

/// `node.NodeUnreachablePodReason` (pkg/util/node): the reason the node lifecycle controller
/// sets on pods of a lost node.
pub const NODE_LOST_REASON: &str = "NodeLost";

/// STATUS, READY and RESTARTS of a pod exactly as `printPod` computes them
/// (kubernetes/pkg/printers/internalversion/printers.go, with restartable init containers).
///
/// `total_containers` is the spec's containers plus the restartable (sidecar) init containers.
/// The projection carries no init container spec beyond its length, so the sidecars are counted
/// from the init statuses' `restartable_init` flag (the kubelet reports every init container).
pub fn print_status(input: &StatusInput) -> PrintedStatus {
    let mut restarts: i64 = 0;
    let mut sidecar_restarts: i64 = 0;
    let mut total = input.containers + input.init_statuses.iter().filter(|c| c.restartable_init).count();
    let mut ready = 0usize;
    let mut last_restart: Option<i64> = None;
    let mut sidecar_last_restart: Option<i64> = None;
    let later = |acc: &mut Option<i64>, at: Option<i64>| {
        if let Some(at) = at
            && acc.is_none_or(|a| a < at)
        {
            *acc = Some(at);
        }
    };

    let mut reason = if input.reason.is_empty() { input.phase.clone() } else { input.reason.clone() };
    // {type: PodScheduled, reason: SchedulingGated} wins over the phase.
    if input.conditions.iter().any(|(t, _, r)| t == "PodScheduled" && r == "SchedulingGated") {
        reason = "SchedulingGated".to_string();
    }

    let mut initializing = false;
    for (i, c) in input.init_statuses.iter().enumerate() {
        restarts += i64::from(c.restart_count);
        let finished = c.last_terminated.as_ref().and_then(|(_, _, at)| *at);
        later(&mut last_restart, finished);
        if c.restartable_init {
            sidecar_restarts += i64::from(c.restart_count);
            later(&mut sidecar_last_restart, finished);
        }
        match &c.state {
            ContainerStateInput::Terminated { exit_code: 0, .. } => continue,
            _ if c.restartable_init && c.started == Some(true) => {
                if c.ready {
                    ready += 1;
                }
                continue;
            }
            ContainerStateInput::Terminated { reason: r, exit_code, signal } => {
                // Initialization failed.
                reason = if !r.is_empty() {
                    format!("Init:{r}")
                } else if *signal != 0 {
                    format!("Init:Signal:{signal}")
                } else {
                    format!("Init:ExitCode:{exit_code}")
                };
            }
            ContainerStateInput::Waiting { reason: r } if !r.is_empty() && r != "PodInitializing" => {
                reason = format!("Init:{r}");
            }
            _ => reason = format!("Init:{i}/{}", input.init_containers),
        }
        initializing = true;
        break;
    }

    let initialized = input.conditions.iter().any(|(t, s, _)| t == "Initialized" && s == "True");
    if !initializing || initialized {
        restarts = sidecar_restarts;
        last_restart = sidecar_last_restart;
        let mut has_running = false;
        // Backwards, so the first container with a waiting/terminated reason has the last word.
        for c in input.statuses.iter().rev() {
            restarts += i64::from(c.restart_count);
            later(&mut last_restart, c.last_terminated.as_ref().and_then(|(_, _, at)| *at));
            match &c.state {
                ContainerStateInput::Waiting { reason: r } if !r.is_empty() => reason = r.clone(),
                ContainerStateInput::Terminated { reason: r, .. } if !r.is_empty() => reason = r.clone(),
                ContainerStateInput::Terminated { signal, exit_code, .. } => {
                    reason = if *signal != 0 { format!("Signal:{signal}") } else { format!("ExitCode:{exit_code}") };
                }
                ContainerStateInput::Running if c.ready => {
                    has_running = true;
                    ready += 1;
                }
                _ => {}
            }
        }
        // Back to "Running" when at least one container still reports running.
        if reason == "Completed" && has_running {
            let pod_ready = input.conditions.iter().any(|(t, s, _)| t == "Ready" && s == "True");
            reason = if pod_ready { "Running".to_string() } else { "NotReady".to_string() };
        }
    }

    if input.deleting && input.reason == NODE_LOST_REASON {
        reason = "Unknown".to_string();
    } else if input.deleting && input.phase != "Succeeded" && input.phase != "Failed" {
        // `IsPodPhaseTerminal`: terminal pods keep their reason while being deleted.
        reason = "Terminating".to_string();
    }

    total = total.min(usize::from(u16::MAX));
    PrintedStatus {
        reason,
        ready_containers: u16::try_from(ready).unwrap_or(u16::MAX),
        total_containers: u16::try_from(total).unwrap_or(u16::MAX),
        restarts: u32::try_from(restarts.max(0)).unwrap_or(u32::MAX),
        last_restart: if restarts != 0 { last_restart } else { None },
    }
}

/// Reasons (kubelet waiting/terminated reasons and pod `status.reason`s) that mean the pod is
/// broken rather than on its way: image pulls that failed, crash loops, containers that could
/// not be created or started, and evictions.
const FAILING_REASONS: &[&str] = &[
    "CrashLoopBackOff",
    "ImagePullBackOff",
    "ErrImagePull",
    "ErrImageNeverPull",
    "InvalidImageName",
    "ImageInspectError",
    "RegistryUnavailable",
    "CreateContainerConfigError",
    "CreateContainerError",
    "RunContainerError",
    "PreStartHookError",
    "PostStartHookError",
    "StartError",
    "ContainerCannotRun",
    "Error",
    "OOMKilled",
    "Evicted",
    "DeadlineExceeded",
    "UnexpectedAdmissionError",
];

/// Is a pod with this STATUS (as [`print_status`] prints it) and phase failing?
///
/// Failed phase always is; otherwise the reason decides, with or without the `Init:` prefix
/// printPod adds for init containers. `ExitCode:N` (N ≠ 0) and `Signal:N` are what printPod
/// prints for a terminated container without a reason, so they are failures too.
pub fn failing_reason(reason: &str, phase: Phase) -> bool {
    if phase == Phase::Failed {
        return true;
    }
    let r = reason.strip_prefix("Init:").unwrap_or(reason);
    if let Some(code) = r.strip_prefix("ExitCode:") {
        return code != "0";
    }
    if r.starts_with("Signal:") {
        return true;
    }
    FAILING_REASONS.contains(&r)
}

/// `util.IsPodUpdated` (pkg/controller/daemon/util): a daemon pod is up to date when its
/// `controller-revision-hash` equals the newest revision's hash, or its
/// `pod-template-generation` equals the DaemonSet's generation. Either one suffices.
pub fn is_pod_updated(
    pod_hash: Option<&str>,
    pod_template_generation: Option<i64>,
    newest_hash: Option<&str>,
    ds_generation: i64,
) -> bool {
    let hash_matches = matches!((pod_hash, newest_hash), (Some(p), Some(n)) if !n.is_empty() && p == n);
    hash_matches || pod_template_generation == Some(ds_generation)
}

/// What [`pod_state`] needs of a daemon pod.
#[derive(Clone, Copy, Debug)]
pub struct PodFacts<'a> {
    pub phase: Phase,
    /// STATUS as printed by [`print_status`].
    pub reason: &'a str,
    /// The pod's Ready condition.
    pub ready: bool,
    /// `metadata.deletionTimestamp` is set.
    pub deleting: bool,
    /// The pod is up to date ([`is_pod_updated`]).
    pub updated: bool,
}

/// The state a single daemon pod gives its cell, among `Failing ..= Ready`, by the precedence of
/// DESIGN.md: failing > terminating > pending > not-ready > outdated > ready.
///
/// A Succeeded or Unknown pod is neither pending nor running: it counts as not-ready (a daemon
/// that exited is not serving, yet it did not fail).
pub fn pod_state(p: &PodFacts<'_>) -> CellState {
    if failing_reason(p.reason, p.phase) {
        CellState::Failing
    } else if p.deleting {
        CellState::Terminating
    } else if p.phase == Phase::Pending {
        CellState::Pending
    } else if p.phase != Phase::Running || !p.ready {
        CellState::NotReady
    } else if !p.updated {
        CellState::Outdated
    } else {
        CellState::Ready
    }
}

/// The state of a cell from the predicate and the states of its pods ([`pod_state`]).
///
/// - No pod: `Missing` when the DaemonSet should run here, else `NotEligible`. A Pending pod
///   not yet bound but whose affinity names this node is a pod of this cell, so it is never
///   missing (the caller places pods by `spec.nodeName` or that affinity term).
/// - Pods where the predicate is true: the worst pod state (earliest in the precedence).
/// - Pods where the predicate is false: always `Misscheduled`, whatever the pods' health.
///   This is the rule that surfaces the fact the controller itself reports
///   (`status.numberMisscheduled` counts every node with a pod where `NodeShouldRunDaemonPod`
///   says no, healthy or not), keeps our column counts comparable to that status, and a pod that
///   should not be there at all is the first thing to fix. A failing misscheduled pod still shows
///   its own STATUS in the cell's pod view, so nothing is hidden.
pub fn cell_state(should_run: bool, pod_states: impl IntoIterator<Item = CellState>) -> CellState {
    let worst = pod_states.into_iter().min();
    match (worst, should_run) {
        (None, true) => CellState::Missing,
        (None, false) => CellState::NotEligible,
        (Some(_), false) => CellState::Misscheduled,
        (Some(w), true) => w,
    }
}
