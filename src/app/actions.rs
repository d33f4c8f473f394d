//! Actions and rollout control, as state: the dialogs (confirmation, "reading…", history,
//! strategy form, roll prompt) as layers, the live rollout status view, the running task's
//! progress. Pure: every function here changes `App` and returns effects; the cluster executor
//! carries them out and its reports come back through [`on_report`].
//!
//! Every dialog remembers the session it was planned on. Confirming sends work tagged with that
//! session, so a plan made on one cluster can never be sent to another: `update` refuses it, and
//! the executor would refuse it too.

use crossterm::event::{KeyEvent, KeyModifiers};
use tui_textarea::TextArea;

use super::keymap::{Action, Ctx};
use super::msg::{Effect, Level, Report, SessionId, Target, Work};
use super::state::{App, Layer, Notice};
pub use crate::cluster::actions::DryRunOutcome;
use crate::cluster::actions::{Plan, RollTarget, TaskEvent, plan, restart_cell_plan, restart_failing_plans};
use crate::fleet::model::Secs;
use crate::fleet::rollout::{self, HistoryRow, RolloutProgress, StallDetector};
use crate::fleet::strategy::{self, Field, FieldError, StrategyForm, StrategyType};

/// Seconds without rollout progress before the status view says "stalled".
pub const STALL_WINDOW: Secs = 60;
/// Pause between two restarts of a batch ("restart all failing pods"): a batch never takes out
/// a whole fleet at once.
pub const BATCH_PACE: std::time::Duration = std::time::Duration::from_secs(2);

/// A modal dialog. At most one is open, and its layer is boxed already: the size of the
/// largest variant costs nothing worth an extra indirection.
#[allow(clippy::large_enum_variant)]
pub enum Dialog {
    /// "Send this?" with exactly what will be sent and the server's dry-run answer; `y`
    /// sends `work` once the dry run has answered.
    Confirm {
        title: String,
        text: String,
        work: Work,
        dry_run: DryRunCheck,
        /// What it does to the fleet, in words (how many pods on how many nodes, how long).
        radius: String,
        /// Above the blast-radius threshold or on a protected context: the name to type
        /// instead of `y`.
        typed: Option<Box<TypedName>>,
    },
    /// A protected context: type its name to turn writes on for this session.
    Unlock {
        input: Box<TextArea<'static>>,
        error: Option<String>,
    },
    /// Waiting for a read that builds a plan (undo, roll).
    Pending {
        text: String,
    },
    History {
        daemonset: Target,
        rows: Vec<HistoryRow>,
        selected: usize,
    },
    Strategy(Box<StrategyDialog>),
    /// OnDelete roll: `t` this node, or a count for "next N outdated".
    Roll {
        daemonset: Target,
        node: Option<String>,
        count: Box<TextArea<'static>>,
        error: Option<String>,
    },
}

impl Dialog {
    pub fn ctx(&self) -> Ctx {
        match self {
            Dialog::Confirm { .. } | Dialog::Unlock { .. } => Ctx::Confirm,
            Dialog::Pending { .. } => Ctx::Pending,
            Dialog::History { .. } => Ctx::History,
            Dialog::Strategy(_) => Ctx::Strategy,
            Dialog::Roll { .. } => Ctx::Roll,
        }
    }
}

/// A name the user must type to confirm (Enter then checks it): a deliberate act that
/// type-ahead over a laggy link cannot produce by accident.
pub struct TypedName {
    pub expect: String,
    pub input: TextArea<'static>,
    /// Why typing is asked ("12 pods restart", "context prod-eu is protected").
    pub why: String,
}

/// Whether the dialog on top reads typed text (a name to type) rather than its keys.
pub fn takes_text(app: &App) -> bool {
    matches!(
        app.layers.last(),
        Some(Layer::Dialog(d)) if matches!(d.dialog, Dialog::Unlock { .. } | Dialog::Confirm { typed: Some(_), .. })
    )
}

/// A key for a dialog that reads a typed name: Esc cancels, Enter checks the name (and
/// sends, or unlocks), Up/Down scroll, everything else is typing.
pub fn text_key(app: &mut App, key: KeyEvent) -> Vec<Effect> {
    use crossterm::event::KeyCode;
    app.dirty = true;
    let context = app.context.clone();
    let Some(d) = top_dialog(app) else { return Vec::new() };
    match key.code {
        KeyCode::Esc => {
            let what = match &d.dialog {
                Dialog::Confirm { title, .. } => format!("cancelled: {title} (nothing sent)"),
                _ => "writes stay off".to_string(),
            };
            close_dialog(app);
            app.notify(what, Level::Info);
            Vec::new()
        }
        KeyCode::Up => {
            d.scroll = d.scroll.saturating_sub(1);
            Vec::new()
        }
        KeyCode::Down => {
            d.scroll = d.scroll.saturating_add(1);
            Vec::new()
        }
        KeyCode::Enter => match &mut d.dialog {
            Dialog::Unlock { input, error } => {
                if first_line(input).trim() == context {
                    close_dialog(app);
                    super::access::unlock(app);
                } else {
                    *error = Some(format!("that is not {context:?}; Esc leaves writes off"));
                }
                Vec::new()
            }
            Dialog::Confirm { typed: Some(t), .. } => {
                if first_line(&t.input).trim() == t.expect {
                    send_confirmed(app)
                } else {
                    let text = format!("type {} exactly to send, or Esc to cancel", t.expect);
                    app.notify(text, Level::Warn);
                    Vec::new()
                }
            }
            _ => Vec::new(),
        },
        _ => {
            match &mut d.dialog {
                Dialog::Unlock { input, error } => {
                    input.input(key);
                    *error = None;
                }
                Dialog::Confirm { typed: Some(t), .. } => {
                    t.input.input(key);
                }
                _ => {}
            }
            Vec::new()
        }
    }
}

/// `W`: type the protected context's name to turn writes on for this session.
pub fn open_unlock(app: &mut App) {
    if !app.config.is_protected(&app.context) {
        return app.notify(format!("context {} is not protected: writes are on", app.context), Level::Info);
    }
    if !super::access::locked(app) {
        return app.notify(format!("writes are already on for context {}", app.context), Level::Info);
    }
    push_dialog(app, Dialog::Unlock { input: Box::new(line_input("")), error: None });
}

/// The dry run of a confirmation: asked by the update that opened it, answered by the server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DryRunCheck {
    pub id: u64,
    pub state: DryRunState,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DryRunState {
    Unasked,
    Asked,
    Answered(DryRunOutcome),
}

/// The plans a confirmation's dry run asks about: all of them (a batch, capped by the
/// executor), or a roll's first step.
fn plans_of(work: &Work) -> Vec<Plan> {
    match work {
        Work::Execute { plan, .. } => vec![plan.clone()],
        Work::Batch { plans, .. } => plans.clone(),
        Work::Roll { plan, .. } => plan.steps.iter().take(1).map(|s| s.plan.clone()).collect(),
        _ => Vec::new(),
    }
}

/// After every update: a confirmation that just opened asks the server for its dry run.
pub fn after_update(app: &mut App) -> Vec<Effect> {
    let Some(Layer::Dialog(d)) = app.layers.last_mut() else { return Vec::new() };
    let session = d.session;
    let Dialog::Confirm { work, dry_run, .. } = &mut d.dialog else { return Vec::new() };
    if dry_run.state != DryRunState::Unasked {
        return Vec::new();
    }
    let plans = plans_of(work);
    if plans.is_empty() {
        dry_run.state = DryRunState::Answered(DryRunOutcome::Unknown("nothing to dry-run".into()));
        return Vec::new();
    }
    dry_run.state = DryRunState::Asked;
    vec![Effect::work(session, Work::DryRun { id: dry_run.id, plans })]
}

/// Whether the real request repeats the dry run: a single request does not (its dry run just
/// answered); each step of a batch or roll does, unless the server refuses dry runs.
fn with_dry_run(work: Work, outcome: &DryRunOutcome) -> Work {
    let per_step = *outcome == DryRunOutcome::Accepted;
    match work {
        Work::Execute { plan, .. } => Work::Execute { plan, dry_run: false },
        Work::Batch { id, task, plans, pace, .. } => Work::Batch { id, task, plans, pace, dry_run: per_step },
        Work::Roll { id, plan, .. } => Work::Roll { id, plan, dry_run: per_step },
        other => other,
    }
}

/// A dialog on the layer stack, with the session (and its names) it was planned on.
pub struct DialogLayer {
    pub session: SessionId,
    pub context: String,
    pub server: String,
    pub user: String,
    pub namespace: Option<String>,
    pub dialog: Dialog,
    /// First line shown of a long body.
    pub scroll: u16,
}

/// The `S` form.
pub struct StrategyDialog {
    pub daemonset: Target,
    pub kind: StrategyType,
    pub max_unavailable: TextArea<'static>,
    pub max_surge: TextArea<'static>,
    /// 0: type, 1: maxUnavailable, 2: maxSurge.
    pub focus: usize,
    pub errors: Vec<FieldError>,
}

impl StrategyDialog {
    pub fn form(&self) -> StrategyForm {
        StrategyForm {
            kind: self.kind,
            max_unavailable: first_line(&self.max_unavailable),
            max_surge: first_line(&self.max_surge),
        }
    }
    pub fn error_for(&self, field: Field) -> Option<&str> {
        self.errors.iter().find(|e| e.field == field).map(|e| e.message.as_str())
    }
}

/// The `r` view: kubectl's rollout status for one DaemonSet, kept current from the index.
pub struct StatusView {
    pub daemonset: Target,
    pub detector: StallDetector,
    pub progress: Option<RolloutProgress>,
}

/// A running batch or roll.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunningTask {
    pub id: u64,
    pub session: SessionId,
    pub label: String,
    pub done: usize,
    pub total: usize,
    pub message: String,
}

fn first_line(ta: &TextArea<'static>) -> String {
    ta.lines().first().cloned().unwrap_or_default()
}

fn line_input(text: &str) -> TextArea<'static> {
    let mut ta = TextArea::new(vec![text.to_string()]);
    ta.move_cursor(tui_textarea::CursorMove::End);
    ta
}

/// Push a dialog planned on the current session (replacing any open dialog).
fn push_dialog(app: &mut App, dialog: Dialog) {
    app.remove_layers(|l| matches!(l, Layer::Dialog(_)));
    app.layers.push(Layer::Dialog(Box::new(DialogLayer {
        session: app.session,
        context: app.context.clone(),
        server: app.server.clone(),
        user: app.user.clone(),
        namespace: app.namespace.clone(),
        dialog,
        scroll: 0,
    })));
    app.dirty = true;
}

fn confirm(app: &mut App, title: String, text: String, work: Work) {
    let dry_run = DryRunCheck { id: app.fresh_id(), state: DryRunState::Unasked };
    let (radius, pods) = blast_radius(app, &work);
    let protected = app.config.is_protected(&app.context);
    let above = pods > app.config.confirm_by_name_above;
    let typed = (protected || above).then(|| {
        Box::new(TypedName {
            expect: name_to_type(app, &work),
            input: line_input(""),
            why: match (protected, above) {
                (true, _) => format!("context {} is protected", app.context),
                _ => format!("{pods} pods restart (more than {})", app.config.confirm_by_name_above),
            },
        })
    });
    push_dialog(app, Dialog::Confirm { title, text, work, dry_run, radius, typed });
}

/// The DaemonSet's name: what a typed confirmation asks for.
fn name_to_type(app: &App, work: &Work) -> String {
    let from_cursor = || app.cursor_ds().and_then(|d| app.index.ds(d)).map(|d| d.name.to_string());
    match work {
        Work::Execute { plan, .. } if plan.object.kind == plan::ObjKind::DaemonSet => plan.object.name.clone(),
        Work::Roll { plan, .. } => plan.daemonset.clone(),
        Work::Execute { plan, .. } => from_cursor().unwrap_or_else(|| plan.object.name.clone()),
        _ => from_cursor().unwrap_or_default(),
    }
}

/// The blast radius in words, and how many pods restart.
fn blast_radius(app: &App, work: &Work) -> (String, usize) {
    let nodes = |plans: &[&Plan]| {
        let mut n: Vec<&str> = plans.iter().filter_map(|p| p.node.as_deref()).collect();
        n.sort_unstable();
        n.dedup();
        n.len()
    };
    match work {
        Work::Execute { plan, .. } => match plan.verb {
            plan::Verb::RestartPod => {
                let on = plan.node.as_deref().map(|n| format!(" on node {n}")).unwrap_or_default();
                (format!("1 pod restarts{on}; its DaemonSet re-creates it"), 1)
            }
            plan::Verb::UpdateStrategy => ("no pod restarts now; later rollouts follow the new strategy".into(), 0),
            plan::Verb::RolloutRestart | plan::Verb::RolloutUndo { .. } => {
                let ds = app.index.ds_by_name(&plan.object.namespace, &plan.object.name).and_then(|d| app.index.ds(d));
                let Some(ds) = ds else { return ("every pod of the DaemonSet is replaced".into(), usize::MAX) };
                let desired = usize::try_from(ds.status.desired.max(0)).unwrap_or(0);
                match rollout::rollout_waves(ds.strategy, ds.status.desired) {
                    Some((at_once, waves)) => {
                        let (u, s) = match &ds.strategy {
                            crate::fleet::model::UpdateStrategy::RollingUpdate { max_unavailable, max_surge } => {
                                (max_unavailable.as_str(), max_surge.as_str())
                            }
                            _ => ("", ""),
                        };
                        (
                            format!(
                                "all {desired} pods of {} on {desired} nodes are replaced, {at_once} at a time: {waves} waves (maxUnavailable {u}, maxSurge {s}), each waiting for its pods to be Ready",
                                ds.name
                            ),
                            desired,
                        )
                    }
                    None => (
                        format!(
                            "no pod restarts by itself (OnDelete): {desired} pods change only when deleted (N rolls them)"
                        ),
                        0,
                    ),
                }
            }
        },
        Work::Batch { plans, pace, .. } => {
            let n = plans.len();
            let refs: Vec<&Plan> = plans.iter().collect();
            let secs = pace.as_secs() * n.saturating_sub(1) as u64;
            (
                format!(
                    "{n} pods on {} nodes restart, one every {}s (about {secs}s in all)",
                    nodes(&refs),
                    pace.as_secs()
                ),
                n,
            )
        }
        Work::Roll { plan, .. } => {
            let n = plan.steps.len();
            (format!("{n} pods on {n} nodes are replaced, one node at a time, each waiting until Ready"), n)
        }
        _ => (String::new(), 0),
    }
}

fn confirm_plan(app: &mut App, plan: Plan) {
    confirm(app, plan.summary(), plan.confirm_text(), Work::Execute { plan, dry_run: true });
}

/// `d`: restart the cursor pod.
pub fn open_restart(app: &mut App) {
    let (Some(node), Some(ds)) = (app.cursor_node(), app.cursor_ds()) else {
        return app.notify("no pod in this cell", Level::Info);
    };
    match restart_cell_plan(&app.index, node, ds) {
        Some(p) => confirm_plan(app, p),
        None => app.notify("no pod in this cell", Level::Info),
    }
}

/// `R`: rollout restart the cursor DaemonSet.
pub fn open_rollout_restart(app: &mut App, daemonset: Target) {
    let at = jiff::Timestamp::from_second(app.now).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    confirm_plan(app, plan::rollout_restart(&daemonset.namespace, &daemonset.name, at));
}

/// `D`: restart every failing pod of the cursor DaemonSet, paced.
pub fn open_restart_failing(app: &mut App) {
    let Some(ds) = app.cursor_ds() else {
        return app.notify("no DaemonSet column under the cursor", Level::Info);
    };
    let name = app.index.ds(ds).map(|d| format!("{}/{}", d.namespace, d.name)).unwrap_or_default();
    let mut plans = restart_failing_plans(&app.index, ds);
    if plans.is_empty() {
        return app.notify(format!("{name} has no failing pods"), Level::Info);
    }
    let failing = plans.len();
    plans.truncate(app.config.batch_cap.max(1));
    let mut text = format!(
        "restart {} failing pods of daemonset {name}, one every {}s ({} cancels while running)\n",
        plans.len(),
        BATCH_PACE.as_secs(),
        app.keymap.first_key(Action::Close)
    );
    if plans.len() < failing {
        text.push_str(&format!(
            "{failing} pods are failing; this batch stops at {} (config batch_cap): press {} again for the rest\n",
            plans.len(),
            app.keymap.first_key(Action::RestartFailing)
        ));
    }
    text.push_str(
        "each pod is looked at again just before its delete; a pod already replaced or healthy is skipped\n\n",
    );
    for p in &plans {
        text.push_str(&format!("{}  ({})\n", p.request_line(), p.node.as_deref().unwrap_or("?")));
    }
    let id = app.fresh_id();
    let task = format!("restart failing pods of {name}");
    confirm(app, task.clone(), text, Work::Batch { id, task, plans, pace: BATCH_PACE, dry_run: true });
}

/// `r`: the rollout status view.
pub fn open_status(app: &mut App, daemonset: Target) {
    app.remove_layers(|l| matches!(l, Layer::Status(_)));
    let view = StatusView { daemonset, detector: StallDetector::new(STALL_WINDOW), progress: None };
    app.layers.push(Layer::Status(Box::new(view)));
    observe(app);
    app.dirty = true;
}

/// Feed the status view's stall detector from the index (on each fleet batch and tick).
pub fn observe(app: &mut App) {
    let now = app.now;
    let Some(view) = app.layers.iter_mut().find_map(|l| match l {
        Layer::Status(s) => Some(s.as_mut()),
        _ => None,
    }) else {
        return;
    };
    let progress = app.index.ds_by_name(&view.daemonset.namespace, &view.daemonset.name).and_then(|id| {
        let ds = app.index.ds(id)?;
        Some(view.detector.observe(now, ds.generation, ds.strategy, ds.status))
    });
    if view.progress != progress {
        view.progress = progress;
        app.dirty = true;
    }
}

/// `H`: rollout history (undo is a binding of the history layer).
pub fn open_history(app: &mut App, daemonset: Target) {
    let rows = app
        .index
        .ds_by_name(&daemonset.namespace, &daemonset.name)
        .map(|id| rollout::history_from_index(&app.index.revisions(id)))
        .unwrap_or_default();
    if rows.is_empty() {
        return app.notify(format!("{daemonset}: no ControllerRevisions seen yet"), Level::Info);
    }
    let selected = rows.len().saturating_sub(1);
    push_dialog(app, Dialog::History { daemonset, rows, selected });
}

/// `S`: the update-strategy form.
pub fn open_strategy(app: &mut App, daemonset: Target) {
    let Some(ds) = app.index.ds_by_name(&daemonset.namespace, &daemonset.name).and_then(|id| app.index.ds(id)) else {
        return;
    };
    let form = StrategyForm::from_current(ds.strategy);
    let dialog = StrategyDialog {
        daemonset,
        kind: form.kind,
        max_unavailable: line_input(&form.max_unavailable),
        max_surge: line_input(&form.max_surge),
        focus: 1,
        errors: Vec::new(),
    };
    push_dialog(app, Dialog::Strategy(Box::new(dialog)));
}

/// `N`: the OnDelete roll prompt.
pub fn open_roll(app: &mut App, daemonset: Target) {
    let node = app.cursor_node().and_then(|n| app.index.node(n)).map(|n| n.name.to_string());
    push_dialog(app, Dialog::Roll { daemonset, node, count: Box::new(line_input("1")), error: None });
}

fn top_dialog(app: &mut App) -> Option<&mut DialogLayer> {
    match app.layers.last_mut() {
        Some(Layer::Dialog(d)) => Some(d.as_mut()),
        _ => None,
    }
}

fn close_dialog(app: &mut App) {
    if matches!(app.layers.last(), Some(Layer::Dialog(_))) {
        app.layers.pop();
        app.dirty = true;
    }
}

/// Send the confirmation on top, once its dry run has answered and allows it.
fn send_confirmed(app: &mut App) -> Vec<Effect> {
    let Some(d) = top_dialog(app) else { return Vec::new() };
    let Dialog::Confirm { title, dry_run, .. } = &d.dialog else { return Vec::new() };
    let outcome = match &dry_run.state {
        DryRunState::Answered(o) => o.clone(),
        _ => {
            let text = format!("{title}: waiting for the server's dry run; nothing sent yet");
            app.notify(text, Level::Info);
            return Vec::new();
        }
    };
    if let DryRunOutcome::WouldFail(why) = &outcome {
        let text = format!("not sent: the server's dry run says it would fail: {why}");
        app.notify(text, Level::Error);
        return Vec::new();
    }
    let Some(Layer::Dialog(d)) = app.layers.pop() else { return Vec::new() };
    let DialogLayer { session, context, dialog, .. } = *d;
    let Dialog::Confirm { title, work, .. } = dialog else { return Vec::new() };
    let work = with_dry_run(work, &outcome);
    if session != app.session {
        app.notify(
            format!("not sent: {title} was planned on context {context}, the screen now shows {}", app.context),
            Level::Error,
        );
        return Vec::new();
    }
    start_task(app, session, &work);
    app.notify(format!("{title}: sending…"), Level::Info);
    vec![Effect::work(session, work)]
}

/// A bound key in the dialog on top.
pub fn dialog_action(app: &mut App, action: Action) -> Vec<Effect> {
    app.dirty = true;
    let Some(d) = top_dialog(app) else { return Vec::new() };
    match action {
        // A typed confirmation reads text (`takes_text`): `y` never reaches here for it.
        Action::ConfirmYes => return send_confirmed(app),
        Action::ConfirmNo => {
            if let Dialog::Confirm { title, .. } = &d.dialog {
                let text = format!("cancelled: {title} (nothing sent)");
                close_dialog(app);
                app.notify(text, Level::Info);
            }
        }
        Action::ConfirmDown => d.scroll = d.scroll.saturating_add(1),
        Action::ConfirmUp => d.scroll = d.scroll.saturating_sub(1),
        Action::PendingCancel | Action::HistoryClose | Action::StrategyCancel | Action::RollCancel => close_dialog(app),
        Action::HistoryUp | Action::HistoryDown => {
            if let Dialog::History { rows, selected, .. } = &mut d.dialog {
                *selected = if action == Action::HistoryUp {
                    selected.saturating_sub(1)
                } else {
                    (*selected + 1).min(rows.len().saturating_sub(1))
                };
            }
        }
        Action::HistoryUndo => {
            let session = d.session;
            let Dialog::History { daemonset, .. } = &d.dialog else { return Vec::new() };
            let ns = daemonset.namespace.clone();
            if let Some(why) = super::access::denied_in(app, action, &ns) {
                app.notify(format!("undo is not available: {why}"), Level::Warn);
                return Vec::new();
            }
            let Some(d) = top_dialog(app) else { return Vec::new() };
            let Dialog::History { daemonset, rows, selected } = &d.dialog else { return Vec::new() };
            let Some(row) = rows.get(*selected) else { return Vec::new() };
            if row.current {
                let text = format!("revision {} is the current one; pick an earlier one", row.revision);
                app.notify(text, Level::Info);
                return Vec::new();
            }
            let (daemonset, revision) = (daemonset.clone(), row.revision);
            d.dialog =
                Dialog::Pending { text: format!("reading revision {revision} of {daemonset} to build the undo…") };
            return vec![Effect::work(session, Work::PlanUndo { daemonset, revision })];
        }
        Action::StrategyNext | Action::StrategyPrev | Action::StrategyToggle | Action::StrategySubmit => {
            let Dialog::Strategy(form) = &mut d.dialog else { return Vec::new() };
            match action {
                Action::StrategyNext => form.focus = (form.focus + 1) % 3,
                Action::StrategyPrev => form.focus = (form.focus + 2) % 3,
                Action::StrategyToggle if form.focus == 0 => {
                    form.kind = match form.kind {
                        StrategyType::RollingUpdate => StrategyType::OnDelete,
                        StrategyType::OnDelete => StrategyType::RollingUpdate,
                    };
                    form.errors.clear();
                }
                Action::StrategySubmit => match strategy::validate(&form.form()) {
                    Ok(valid) => {
                        let p = plan::update_strategy(&form.daemonset.namespace, &form.daemonset.name, &valid);
                        confirm_plan(app, p);
                    }
                    Err(errors) => form.errors = errors,
                },
                _ => {}
            }
        }
        Action::RollThisNode | Action::RollSubmit => {
            let session = d.session;
            let Dialog::Roll { daemonset, node, count, error } = &mut d.dialog else { return Vec::new() };
            let target = if action == Action::RollThisNode {
                match node {
                    Some(n) => RollTarget::Nodes(vec![n.clone()]),
                    None => return Vec::new(),
                }
            } else {
                match first_line(count).trim().parse::<usize>() {
                    Ok(n) if n > 0 => RollTarget::NextOutdated(n),
                    _ => {
                        *error = Some("enter a whole number of nodes, at least 1".to_string());
                        return Vec::new();
                    }
                }
            };
            let daemonset = daemonset.clone();
            d.dialog = Dialog::Pending { text: format!("reading {daemonset}'s pods to plan the roll…") };
            let avoid = unfit_nodes(app);
            return vec![Effect::work(session, Work::PlanRoll { daemonset, target, avoid })];
        }
        _ => {}
    }
    Vec::new()
}

/// Nodes a roll must not pick by itself, with why: NotReady or unreachable (an old pod there
/// never finishes terminating) and cordoned (being drained).
fn unfit_nodes(app: &App) -> std::collections::BTreeMap<String, String> {
    use crate::fleet::model::NodeReadiness;
    let mut out = std::collections::BTreeMap::new();
    for id in app.index.node_ids() {
        let Some(n) = app.index.node(id) else { continue };
        let why = match (n.readiness, n.unschedulable) {
            (NodeReadiness::NotReady, _) => "node is NotReady: its old pod could never finish terminating",
            (NodeReadiness::Unknown, _) => {
                "node is unreachable (Ready Unknown): its old pod could never finish terminating"
            }
            (_, true) => "node is cordoned",
            _ => continue,
        };
        out.insert(n.name.to_string(), why.to_string());
    }
    out
}

/// An unbound key in the dialog on top: typing into its text field, if it has one.
pub fn dialog_input(app: &mut App, key: KeyEvent) {
    let Some(d) = top_dialog(app) else { return };
    // One line per field: Enter, Ctrl-M and Ctrl-J would insert a newline.
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    if key.code == crossterm::event::KeyCode::Enter
        || (ctrl && matches!(key.code, crossterm::event::KeyCode::Char('m' | 'j')))
    {
        return;
    }
    match &mut d.dialog {
        Dialog::Strategy(form) if form.focus > 0 => {
            let ta = if form.focus == 1 { &mut form.max_unavailable } else { &mut form.max_surge };
            ta.input(key);
            form.errors.clear();
        }
        Dialog::Roll { count, error, .. } => {
            count.input(key);
            *error = None;
        }
        _ => return,
    }
    app.dirty = true;
}

fn start_task(app: &mut App, session: SessionId, work: &Work) {
    let (id, label, total) = match work {
        Work::Batch { id, task, plans, .. } => (*id, task.clone(), plans.len()),
        Work::Roll { id, plan, .. } => (*id, format!("roll {}/{}", plan.namespace, plan.daemonset), plan.steps.len()),
        _ => return,
    };
    app.task = Some(RunningTask { id, session, label, done: 0, total, message: "starting".into() });
}

/// A status-bar line that stays while a task runs (its progress replaces it).
fn sticky(app: &mut App, text: String) {
    app.notice = Some(Notice { text, level: Level::Info, until: app.now.saturating_add(3600) });
    app.dirty = true;
}

/// Replace the "reading…" dialog of `session` (the answer to a plan request); `None` when the
/// user dismissed it meanwhile.
fn take_pending(app: &mut App, session: SessionId) -> Option<()> {
    let pending = matches!(
        app.layers.last(),
        Some(Layer::Dialog(d)) if d.session == session && matches!(d.dialog, Dialog::Pending { .. })
    );
    pending.then(|| {
        app.layers.pop();
    })
}

/// Apply an action result from the executor (already checked to belong to the app's session).
pub fn on_report(app: &mut App, report: Report) {
    match report {
        Report::Done { result: Ok(o), .. } => {
            let mut text = o.notice;
            if let Some(e) = o.audit_error {
                text.push_str(&format!(" (audit log not written: {e})"));
            }
            app.notify(text, Level::Info);
        }
        Report::Done { result: Err(e), .. } => {
            app.notify(crate::cluster::client::one_line(&e.to_string()), Level::Error)
        }
        Report::UndoPlanned { session, result } => {
            let pending = take_pending(app, session).is_some();
            match result {
                Ok(p) if pending => confirm_plan(app, p),
                Ok(_) => {}
                Err(e) => app.notify(e.to_string(), Level::Error),
            }
        }
        Report::RollPlanned { session, result } => {
            let pending = take_pending(app, session).is_some();
            let plan = match result {
                Ok(plan) if pending => plan,
                Ok(_) => return,
                Err(e) => return app.notify(e.to_string(), Level::Error),
            };
            if plan.steps.is_empty() {
                let why: Vec<String> = plan.skipped.iter().map(|(n, w)| format!("{n}: {w}")).collect();
                let why = if why.is_empty() { "no outdated pods".to_string() } else { why.join("; ") };
                let text = format!("nothing to roll in {}/{} ({why})", plan.namespace, plan.daemonset);
                return app.notify(text, Level::Info);
            }
            let id = app.fresh_id();
            let title = format!("roll {}/{} node by node", plan.namespace, plan.daemonset);
            let text = plan.confirm_text();
            confirm(app, title, text, Work::Roll { id, plan, dry_run: true });
        }
        Report::DryRun { session, id, outcome } => {
            if let Some(Layer::Dialog(d)) = app.layers.last_mut()
                && d.session == session
                && let Dialog::Confirm { dry_run, .. } = &mut d.dialog
                && dry_run.id == id
            {
                dry_run.state = DryRunState::Answered(outcome);
                app.dirty = true;
            }
        }
        Report::Task { id, event, .. } => {
            if app.task.as_ref().is_none_or(|t| t.id != id) {
                return;
            }
            match event {
                TaskEvent::Progress { task, done, total, message } => {
                    if let Some(t) = app.task.as_mut() {
                        t.done = done;
                        t.total = total;
                        t.message = message.clone();
                    }
                    let cancel = app.keymap.first_key(Action::Close);
                    sticky(app, format!("{task} {done}/{total} ({cancel} cancels): {message}"));
                }
                TaskEvent::Finished { task, ok, message } => {
                    app.task = None;
                    app.notify(format!("{task}: {message}"), if ok { Level::Info } else { Level::Error });
                }
            }
        }
        _ => {}
    }
}
