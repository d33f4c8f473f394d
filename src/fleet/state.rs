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
    /// No pod, and whether one should run cannot be known: the node itself cannot be read
    /// (nodes are forbidden by RBAC, so its row was made from its pods' node name).
    Unknown,
}

impl CellState {
    /// How many states there are: the length of per-state counter arrays.
    pub const COUNT: usize = 10;

    pub const ALL: [CellState; CellState::COUNT] = [
        CellState::Missing,
        CellState::Failing,
        CellState::Terminating,
        CellState::Pending,
        CellState::NotReady,
        CellState::Outdated,
        CellState::Ready,
        CellState::Misscheduled,
        CellState::NotEligible,
        CellState::Unknown,
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
            CellState::Unknown => "unknown",
        }
    }

    pub fn parse(s: &str) -> Option<CellState> {
        CellState::ALL.into_iter().find(|c| c.name() == s)
    }

    /// Index into per-state counter arrays.
    pub fn idx(self) -> usize {
        self as usize
    }

    /// The states most severe first (ties in precedence order): the order of the header's
    /// counts, `check`'s summary and `snapshot -o wide`'s problem lines.
    pub const BY_SEVERITY: [CellState; CellState::COUNT] = [
        CellState::Missing,
        CellState::Failing,
        CellState::Pending,
        CellState::NotReady,
        CellState::Misscheduled,
        CellState::Terminating,
        CellState::Outdated,
        CellState::Ready,
        CellState::NotEligible,
        CellState::Unknown,
    ];

    /// How much the state needs attention. The one place that says it: sorting by problems,
    /// problem jumps, the header, `snapshot -o wide` and `check` all read this.
    pub fn severity(self) -> Severity {
        match self {
            CellState::Missing | CellState::Failing => Severity::Down,
            CellState::Pending | CellState::NotReady | CellState::Misscheduled => Severity::Degraded,
            CellState::Terminating => Severity::Transient,
            CellState::Outdated => Severity::Stale,
            // Unknown is no verdict at all; what hides it is said where it is shown (the
            // header's and the matrix's RBAC notices), never counted as fine in a summary.
            CellState::Ready | CellState::NotEligible | CellState::Unknown => Severity::Fine,
        }
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

/// How much a cell state needs attention, least first (so `Ord` ranks it):
/// - `Down`: the daemon does not run where it should (missing) or keeps dying (failing);
/// - `Degraded`: it runs but does not serve yet or should not be there (pending, not-ready,
///   misscheduled);
/// - `Transient`: it is going away (terminating), usually resolved by the controller itself;
/// - `Stale`: it serves, on an older revision (outdated): a rollout to finish, not an outage;
/// - `Fine`: ready, or not meant to run there.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Severity {
    Fine,
    Stale,
    Transient,
    Degraded,
    Down,
}

impl Severity {
    /// The tiers that need attention, most severe first.
    pub const TIERS: [Severity; 4] = [Severity::Down, Severity::Degraded, Severity::Transient, Severity::Stale];

    /// Position in [`Severity::TIERS`] (most severe = 0); `None` for `Fine`. Per-tier counter
    /// arrays use it, so comparing two such arrays lexicographically ranks by severity first,
    /// then by count.
    pub fn tier(self) -> Option<usize> {
        match self {
            Severity::Down => Some(0),
            Severity::Degraded => Some(1),
            Severity::Transient => Some(2),
            Severity::Stale => Some(3),
            Severity::Fine => None,
        }
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

#[cfg(test)]
mod tests {
    //! Table tests of `print_status` against `printPod` (pkg/printers/internalversion/printers.go)
    //! and of the cell state precedence of DESIGN.md.

    use super::*;

    /// The severity table as the issue that introduced it states it: missing, failing >
    /// pending, not-ready, misscheduled > terminating > outdated > ready, not-eligible.
    #[test]
    fn severity_follows_the_stated_table() {
        use CellState::*;
        let table = [
            (Missing, Severity::Down),
            (Failing, Severity::Down),
            (Pending, Severity::Degraded),
            (NotReady, Severity::Degraded),
            (Misscheduled, Severity::Degraded),
            (Terminating, Severity::Transient),
            (Outdated, Severity::Stale),
            (Ready, Severity::Fine),
            (NotEligible, Severity::Fine),
            // No verdict (nodes cannot be read): nothing to rank, said by the RBAC notices.
            (Unknown, Severity::Fine),
        ];
        for (state, want) in table {
            assert_eq!(state.severity(), want, "{state:?}");
        }
        assert!(Severity::Down > Severity::Degraded && Severity::Degraded > Severity::Transient);
        assert!(Severity::Transient > Severity::Stale && Severity::Stale > Severity::Fine);
        // BY_SEVERITY holds every state once, in the table's order.
        assert_eq!(CellState::BY_SEVERITY.to_vec(), table.iter().map(|(s, _)| *s).collect::<Vec<_>>());
        // Tier positions: most severe first, so per-tier count arrays compare by severity.
        let tiers: Vec<_> = Severity::TIERS.iter().map(|t| t.tier()).collect();
        assert_eq!(tiers, [Some(0), Some(1), Some(2), Some(3)]);
        assert_eq!(Severity::Fine.tier(), None);
    }

    fn waiting(r: &str) -> ContainerStatusInput {
        ContainerStatusInput { state: ContainerStateInput::Waiting { reason: r.into() }, ..Default::default() }
    }
    fn running(ready: bool) -> ContainerStatusInput {
        ContainerStatusInput { ready, started: Some(true), state: ContainerStateInput::Running, ..Default::default() }
    }
    fn terminated(r: &str, exit_code: i32, signal: i32) -> ContainerStatusInput {
        ContainerStatusInput {
            state: ContainerStateInput::Terminated { reason: r.into(), exit_code, signal },
            ..Default::default()
        }
    }
    fn sidecar(started: bool, ready: bool) -> ContainerStatusInput {
        ContainerStatusInput {
            restartable_init: true,
            started: Some(started),
            ready,
            state: if started {
                ContainerStateInput::Running
            } else {
                ContainerStateInput::Waiting { reason: "PodInitializing".into() }
            },
            ..Default::default()
        }
    }
    fn pod(phase: &str, statuses: Vec<ContainerStatusInput>) -> StatusInput {
        StatusInput { phase: phase.into(), containers: statuses.len(), statuses, ..Default::default() }
    }
    fn cond(t: &str, s: &str) -> (String, String, String) {
        (t.into(), s.into(), String::new())
    }

    #[test]
    fn status_reason_follows_print_pod() {
        let mut cases: Vec<(&str, StatusInput, &str, (u16, u16))> = Vec::new();
        cases.push(("running", pod("Running", vec![running(true)]), "Running", (1, 1)));
        cases.push(("pending, no statuses", pod("Pending", vec![]), "Pending", (0, 0)));
        let mut p = pod("Running", vec![running(true)]);
        p.containers = 2;
        cases.push(("not all statuses reported", p, "Running", (1, 2)));
        cases.push(("creating", pod("Pending", vec![waiting("ContainerCreating")]), "ContainerCreating", (0, 1)));
        cases.push(("crash loop", pod("Running", vec![waiting("CrashLoopBackOff")]), "CrashLoopBackOff", (0, 1)));
        cases.push(("oom", pod("Running", vec![terminated("OOMKilled", 137, 0)]), "OOMKilled", (0, 1)));
        cases.push(("exit code", pod("Running", vec![terminated("", 2, 0)]), "ExitCode:2", (0, 1)));
        cases.push(("signal", pod("Running", vec![terminated("", 0, 9)]), "Signal:9", (0, 1)));
        // Backwards over containers: the first container's reason has the last word.
        cases.push((
            "first container wins",
            pod("Running", vec![waiting("ImagePullBackOff"), waiting("CrashLoopBackOff")]),
            "ImagePullBackOff",
            (0, 2),
        ));
        // Completed with one container still running → Running / NotReady by the Ready condition.
        let mut p = pod("Running", vec![terminated("Completed", 0, 0), running(true)]);
        p.conditions.push(cond("Ready", "True"));
        cases.push(("completed but running, ready", p, "Running", (1, 2)));
        let p = pod("Running", vec![terminated("Completed", 0, 0), running(true)]);
        cases.push(("completed but running, not ready", p, "NotReady", (1, 2)));
        cases.push(("completed", pod("Succeeded", vec![terminated("Completed", 0, 0)]), "Completed", (0, 1)));
        // status.reason wins over the phase.
        let mut p = pod("Failed", vec![]);
        p.reason = "Evicted".into();
        cases.push(("evicted", p, "Evicted", (0, 0)));
        // SchedulingGated.
        let mut p = pod("Pending", vec![]);
        p.conditions.push(("PodScheduled".into(), "False".into(), "SchedulingGated".into()));
        cases.push(("gated", p, "SchedulingGated", (0, 0)));
        // Init containers.
        let init = |inits: Vec<ContainerStatusInput>, n: usize| {
            let mut p = pod("Pending", vec![waiting("PodInitializing")]);
            p.init_containers = n;
            p.init_statuses = inits;
            p
        };
        cases.push((
            "init 0/2",
            init(vec![ContainerStatusInput::default(), ContainerStatusInput::default()], 2),
            "Init:0/2",
            (0, 1),
        ));
        cases.push((
            "init 1/2",
            init(vec![terminated("Completed", 0, 0), waiting("PodInitializing")], 2),
            "Init:1/2",
            (0, 1),
        ));
        cases.push((
            "init waiting reason",
            init(vec![waiting("CrashLoopBackOff")], 1),
            "Init:CrashLoopBackOff",
            (0, 1),
        ));
        cases.push(("init terminated reason", init(vec![terminated("Error", 1, 0)], 1), "Init:Error", (0, 1)));
        cases.push(("init exit code", init(vec![terminated("", 3, 0)], 1), "Init:ExitCode:3", (0, 1)));
        cases.push(("init signal", init(vec![terminated("", 143, 15)], 1), "Init:Signal:15", (0, 1)));
        // Exit code 0 counts as a finished init container whatever the signal says.
        cases.push(("init exit 0", init(vec![terminated("", 0, 15)], 1), "PodInitializing", (0, 1)));
        // Sidecars: a started restartable init container counts in READY and total.
        cases.push((
            "sidecar started, next init",
            init(vec![sidecar(true, true), ContainerStatusInput::default()], 2),
            "Init:1/2",
            (1, 2),
        ));
        let mut p = pod("Running", vec![running(true)]);
        p.init_containers = 1;
        p.init_statuses = vec![sidecar(true, true)];
        cases.push(("sidecar and app running", p, "Running", (2, 2)));
        cases.push(("sidecar not started", init(vec![sidecar(false, false)], 1), "Init:0/1", (0, 2)));
        // Deletion.
        let mut p = pod("Running", vec![running(true)]);
        p.deleting = true;
        cases.push(("terminating", p, "Terminating", (1, 1)));
        let mut p = pod("Running", vec![running(true)]);
        p.deleting = true;
        p.reason = NODE_LOST_REASON.into();
        cases.push(("node lost", p, "Unknown", (1, 1)));
        let mut p = pod("Failed", vec![terminated("Error", 1, 0)]);
        p.deleting = true;
        cases.push(("terminal pods keep their reason while deleted", p, "Error", (0, 1)));

        for (name, input, reason, (ready, total)) in cases {
            let out = print_status(&input);
            assert_eq!(out.reason, reason, "{name}");
            assert_eq!((out.ready_containers, out.total_containers), (ready, total), "{name}");
        }
    }

    #[test]
    fn restarts_count_init_containers_only_while_initializing() {
        let mut c = waiting("CrashLoopBackOff");
        c.restart_count = 4;
        c.last_terminated = Some(("Error".into(), 1, Some(500)));
        let mut app = waiting("PodInitializing");
        app.restart_count = 0;
        let mut p = pod("Pending", vec![app]);
        p.init_containers = 1;
        p.init_statuses = vec![c];
        let out = print_status(&p);
        assert_eq!((out.restarts, out.last_restart), (4, Some(500)));
        // Initialized: only sidecar restarts and the app containers' count.
        let mut side = sidecar(true, true);
        side.restart_count = 2;
        side.last_terminated = Some(("Error".into(), 1, Some(100)));
        let mut done = terminated("Completed", 0, 0);
        done.restart_count = 3;
        let mut app = running(true);
        app.restart_count = 5;
        app.last_terminated = Some(("OOMKilled".into(), 137, Some(300)));
        let mut p = pod("Running", vec![app]);
        p.init_containers = 2;
        p.init_statuses = vec![done, side];
        let out = print_status(&p);
        assert_eq!((out.restarts, out.last_restart), (7, Some(300)));
        assert_eq!(print_status(&pod("Running", vec![running(true)])).last_restart, None);
    }

    #[test]
    fn failing_reasons() {
        let cases: &[(&str, Phase, bool)] = &[
            ("CrashLoopBackOff", Phase::Running, true),
            ("ImagePullBackOff", Phase::Pending, true),
            ("ErrImagePull", Phase::Pending, true),
            ("InvalidImageName", Phase::Pending, true),
            ("CreateContainerConfigError", Phase::Pending, true),
            ("CreateContainerError", Phase::Pending, true),
            ("RunContainerError", Phase::Running, true),
            ("Error", Phase::Running, true),
            ("OOMKilled", Phase::Running, true),
            ("ContainerCannotRun", Phase::Running, true),
            ("Evicted", Phase::Failed, true),
            ("Init:CrashLoopBackOff", Phase::Pending, true),
            ("Init:Error", Phase::Pending, true),
            ("Init:ExitCode:1", Phase::Pending, true),
            ("ExitCode:137", Phase::Running, true),
            ("Signal:9", Phase::Running, true),
            ("Init:Signal:15", Phase::Pending, true),
            ("ExitCode:0", Phase::Running, false),
            ("Anything", Phase::Failed, true),
            ("Running", Phase::Running, false),
            ("ContainerCreating", Phase::Pending, false),
            ("PodInitializing", Phase::Pending, false),
            ("Init:0/2", Phase::Pending, false),
            ("Terminating", Phase::Running, false),
            ("Completed", Phase::Succeeded, false),
            ("NotReady", Phase::Running, false),
        ];
        for (reason, phase, want) in cases {
            assert_eq!(failing_reason(reason, *phase), *want, "{reason} {phase:?}");
        }
    }

    #[test]
    fn pod_state_precedence() {
        let base = PodFacts { phase: Phase::Running, reason: "Running", ready: true, deleting: false, updated: true };
        let cases = [
            (base, CellState::Ready),
            (PodFacts { updated: false, ..base }, CellState::Outdated),
            (PodFacts { ready: false, updated: false, ..base }, CellState::NotReady),
            (PodFacts { phase: Phase::Pending, reason: "ContainerCreating", ready: false, ..base }, CellState::Pending),
            (PodFacts { deleting: true, reason: "Terminating", ..base }, CellState::Terminating),
            (PodFacts { reason: "CrashLoopBackOff", ready: false, deleting: true, ..base }, CellState::Failing),
            (PodFacts { phase: Phase::Failed, reason: "Evicted", ready: false, ..base }, CellState::Failing),
            (PodFacts { phase: Phase::Succeeded, reason: "Completed", ready: false, ..base }, CellState::NotReady),
        ];
        for (facts, want) in cases {
            assert_eq!(pod_state(&facts), want, "{facts:?}");
        }
    }

    #[test]
    fn cell_state_precedence() {
        use CellState::*;
        assert_eq!(cell_state(true, []), Missing);
        assert_eq!(cell_state(false, []), NotEligible);
        assert_eq!(cell_state(true, [Ready, Pending]), Pending);
        assert_eq!(cell_state(true, [Outdated, Terminating]), Terminating);
        assert_eq!(cell_state(true, [Ready, Failing]), Failing);
        assert_eq!(cell_state(false, [Ready]), Misscheduled);
        // A misscheduled pod is shown as misscheduled even when it also fails.
        assert_eq!(cell_state(false, [Failing]), Misscheduled);
    }

    #[test]
    fn updated_when_either_hash_or_generation_matches() {
        assert!(is_pod_updated(Some("abc"), Some(1), Some("abc"), 2));
        assert!(is_pod_updated(Some("old"), Some(2), Some("abc"), 2));
        assert!(!is_pod_updated(Some("old"), Some(1), Some("abc"), 2));
        assert!(!is_pod_updated(None, None, None, 2));
        assert!(!is_pod_updated(Some(""), None, Some(""), 2), "an empty hash never matches");
    }
}
