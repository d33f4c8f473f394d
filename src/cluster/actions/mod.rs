//! All mutations go through here (DESIGN.md: "Every mutation goes through one place").
//!
//! - [`plan`]: pure builders of [`Plan`]s — exactly what will be sent, for the confirmation dialog.
//! - [`exec`]: the gateway [`Actions`]: read-only refusal, dry run, plain errors, audit.
//! - The pure rules these use live beside the index: [`crate::fleet::rollout`] (rollout status,
//!   stall detection, history, undo) and [`crate::fleet::strategy`] (the update-strategy form).
//! - [`batch`]: paced, cancellable batches of restarts.
//! - [`stepper`]: node-by-node rolling of OnDelete DaemonSets.
//! - [`audit`]: the JSON-lines audit log.
//!
//! The UI never awaits anything here: the cluster executor (`cluster::executor`) runs these on
//! its tasks and reports back ([`TaskEvent`], `Result<Outcome, ActionError>`).

pub mod audit;
pub mod batch;
pub mod exec;
pub mod plan;
pub mod stepper;

pub use audit::{AuditEntry, AuditLog};
pub use batch::{BatchReport, restart_cell_plan, restart_failing_plans, restart_on_nodes_plans, run_batch};
pub use exec::{ActionError, Actions, ActionsOptions, DryRun, DryRunOutcome, Outcome, REQUEST_DEADLINE};
pub use plan::{Method, ObjKind, ObjRef, Plan, Verb};
pub use stepper::{RollOptions, RollPlan, RollReport, RollStep, RollTarget, roll_nodes};

/// Progress of a long-running action (a batch restart or a node-by-node roll), sent through
/// the reporter closure the caller passes in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TaskEvent {
    /// `done` of `total` steps are finished; `message` says what just happened or what it waits for.
    Progress { task: String, done: usize, total: usize, message: String },
    /// The task ended; `ok` is false when it stopped on a failure or was cancelled.
    Finished { task: String, ok: bool, message: String },
}
