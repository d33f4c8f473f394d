//! Actions and rollout control in the UI (issue 7): the dialogs (confirmation, history, strategy
//! form, roll prompt), the live rollout status view, the running task's progress, and the
//! [`Runner`] the event loop uses to carry out [`ActEffect`]s as tokio tasks.
//!
//! Flow: a key opens a dialog (pure state change in `update`); confirming it returns an
//! [`ActEffect`] (plain data); the event loop hands it to [`Runner::spawn`], which runs it on a
//! task through the one mutation gateway (`cluster::actions::Actions`) and sends the result
//! back as [`Msg::Act`]. The UI never awaits the network; the matrix shows the effect through
//! the watch streams like any other change.

use std::collections::HashMap;
use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tui_textarea::TextArea;

use super::msg::{Effect, Level, Msg, Target};
use super::state::{App, Notice};
use crate::cluster::actions::rollout::{self, HistoryRow, RolloutProgress, StallDetector};
use crate::cluster::actions::strategy::{self, Field, FieldError, StrategyForm, StrategyType};
use crate::cluster::actions::{
    ActionError, Actions, Outcome, Plan, RollOptions, RollPlan, RollTarget, TaskEvent, plan, restart_cell_plan,
    restart_failing_plans, roll_nodes, run_batch,
};
use crate::fleet::model::Secs;

/// Seconds without rollout progress before the status view says "stalled".
pub const STALL_WINDOW: Secs = 60;
/// Pause between two restarts of a batch ("restart all failing pods"): a batch never takes out
/// a whole fleet at once.
pub const BATCH_PACE: Duration = Duration::from_secs(2);

/// What the event loop must do for an action (plain data; see [`Runner::spawn`]).
#[derive(Clone, Debug, PartialEq)]
pub enum ActEffect {
    /// Execute one confirmed plan.
    Execute(Plan),
    /// Read what `kubectl rollout undo --to-revision` needs and build the plan (for the dialog).
    PlanUndo { daemonset: Target, revision: i64 },
    /// Read the DaemonSet's pods and revisions and choose the nodes to roll (for the dialog).
    PlanRoll { daemonset: Target, target: RollTarget },
    /// A paced, cancellable batch of restarts.
    Batch { id: u64, task: String, plans: Vec<Plan> },
    /// A confirmed node-by-node roll.
    Roll { id: u64, plan: RollPlan },
    /// Cancel the running batch or roll `id`.
    Cancel { id: u64 },
}

// Plans hold JSON bodies (`serde_json::Value` is Eq); `Effect` is compared in tests.
impl Eq for ActEffect {}

impl ActEffect {
    pub fn describe(&self) -> String {
        match self {
            ActEffect::Execute(p) => p.summary(),
            ActEffect::PlanUndo { daemonset, revision } => format!("plan undo of {daemonset} to revision {revision}"),
            ActEffect::PlanRoll { daemonset, .. } => format!("plan node-by-node roll of {daemonset}"),
            ActEffect::Batch { task, .. } => task.clone(),
            ActEffect::Roll { plan, .. } => format!("roll {}/{}", plan.namespace, plan.daemonset),
            ActEffect::Cancel { .. } => "cancel the running task".into(),
        }
    }
}

/// Results of [`ActEffect`]s, back to `update` as [`Msg::Act`].
#[derive(Debug)]
pub enum ActMsg {
    Done(Result<Outcome, ActionError>),
    UndoPlanned(Result<Plan, ActionError>),
    RollPlanned(Result<RollPlan, ActionError>),
    Task { id: u64, event: TaskEvent },
}

/// A modal dialog; while one is open it gets every key.
pub enum Dialog {
    /// "Send this?" with exactly what will be sent; `y`/Enter returns `on_yes`.
    Confirm {
        title: String,
        text: String,
        on_yes: ActEffect,
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
    pub label: String,
    pub done: usize,
    pub total: usize,
    pub message: String,
}

/// Everything issue 7 adds to [`App`].
#[derive(Default)]
pub struct ActState {
    pub dialog: Option<Dialog>,
    pub status: Option<StatusView>,
    pub task: Option<RunningTask>,
    next_id: u64,
    /// The mutation gateway, set by `run_ui` (None in pure UI tests: nothing can be sent).
    pub gateway: Option<Actions>,
}

fn first_line(ta: &TextArea<'static>) -> String {
    ta.lines().first().cloned().unwrap_or_default()
}

fn line_input(text: &str) -> TextArea<'static> {
    let mut ta = TextArea::new(vec![text.to_string()]);
    ta.move_cursor(tui_textarea::CursorMove::End);
    ta
}

/// Turn the action effects `update` produced from keys (`Effect::RestartPod` …) into dialogs;
/// every other effect passes through to the event loop.
pub fn route(app: &mut App, effects: Vec<Effect>) -> Vec<Effect> {
    let mut out = Vec::new();
    for e in effects {
        match e {
            Effect::RestartPod { .. } => open_restart(app),
            Effect::RolloutRestart { daemonset } => {
                let plan = plan::rollout_restart(
                    &daemonset.namespace,
                    &daemonset.name,
                    jiff::Timestamp::from_second(app.now).unwrap_or_else(|_| jiff::Timestamp::now()),
                );
                confirm(app, plan);
            }
            Effect::RolloutStatus { daemonset } => open_status(app, daemonset),
            Effect::History { daemonset } => open_history(app, daemonset),
            Effect::Strategy { daemonset } => open_strategy(app, daemonset),
            Effect::RollNext { daemonset } => open_roll(app, daemonset),
            other => out.push(other),
        }
    }
    out
}

fn confirm(app: &mut App, plan: Plan) {
    if app.readonly {
        app.notify(format!("read-only mode: {} would not be sent", plan.summary()), Level::Warn);
        return;
    }
    app.act.dialog =
        Some(Dialog::Confirm { title: plan.summary(), text: plan.confirm_text(), on_yes: ActEffect::Execute(plan) });
    app.dirty = true;
}

fn open_restart(app: &mut App) {
    let (Some(node), Some(ds)) = (app.cursor_node(), app.cursor_ds()) else {
        return app.notify("no pod in this cell", Level::Info);
    };
    match restart_cell_plan(&app.index, node, ds) {
        Some(p) => confirm(app, p),
        None => app.notify("no pod in this cell", Level::Info),
    }
}

/// `D`: restart every failing pod of the cursor DaemonSet, paced.
pub fn open_restart_failing(app: &mut App) -> Vec<Effect> {
    let Some(ds) = app.cursor_ds() else {
        app.notify("no DaemonSet column under the cursor", Level::Info);
        return Vec::new();
    };
    let name = app.index.ds(ds).map(|d| format!("{}/{}", d.namespace, d.name)).unwrap_or_default();
    let plans = restart_failing_plans(&app.index, ds);
    if plans.is_empty() {
        app.notify(format!("{name} has no failing pods"), Level::Info);
        return Vec::new();
    }
    if app.readonly {
        app.notify("read-only mode: restarts would not be sent", Level::Warn);
        return Vec::new();
    }
    let mut text = format!(
        "restart {} failing pods of daemonset {name}, one every {}s (Esc cancels while running)\n\n",
        plans.len(),
        BATCH_PACE.as_secs()
    );
    for p in &plans {
        text.push_str(&format!("{}  ({})\n", p.request_line(), p.node.as_deref().unwrap_or("?")));
    }
    app.act.next_id += 1;
    let task = format!("restart failing pods of {name}");
    app.act.dialog = Some(Dialog::Confirm {
        title: task.clone(),
        text,
        on_yes: ActEffect::Batch { id: app.act.next_id, task, plans },
    });
    app.dirty = true;
    Vec::new()
}

fn open_status(app: &mut App, daemonset: Target) {
    app.act.status = Some(StatusView { daemonset, detector: StallDetector::new(STALL_WINDOW), progress: None });
    observe(app);
    app.dirty = true;
}

/// Feed the status view's stall detector from the index (on each fleet batch and tick).
pub fn observe(app: &mut App) {
    let now = app.now;
    let Some(view) = app.act.status.as_mut() else { return };
    let progress = app.index.ds_by_name(&view.daemonset.namespace, &view.daemonset.name).and_then(|id| {
        let ds = app.index.ds(id)?;
        Some(view.detector.observe(now, ds.generation, ds.strategy, ds.status))
    });
    if view.progress != progress {
        view.progress = progress;
        app.dirty = true;
    }
}

fn open_history(app: &mut App, daemonset: Target) {
    let rows = app
        .index
        .ds_by_name(&daemonset.namespace, &daemonset.name)
        .map(|id| rollout::history_from_index(&app.index.revisions(id)))
        .unwrap_or_default();
    if rows.is_empty() {
        return app.notify(format!("{daemonset}: no ControllerRevisions seen yet"), Level::Info);
    }
    let selected = rows.len().saturating_sub(1);
    app.act.dialog = Some(Dialog::History { daemonset, rows, selected });
    app.dirty = true;
}

fn open_strategy(app: &mut App, daemonset: Target) {
    let Some(ds) = app.index.ds_by_name(&daemonset.namespace, &daemonset.name).and_then(|id| app.index.ds(id)) else {
        return;
    };
    let form = StrategyForm::from_current(ds.strategy);
    app.act.dialog = Some(Dialog::Strategy(Box::new(StrategyDialog {
        daemonset,
        kind: form.kind,
        max_unavailable: line_input(&form.max_unavailable),
        max_surge: line_input(&form.max_surge),
        focus: 1,
        errors: Vec::new(),
    })));
    app.dirty = true;
}

fn open_roll(app: &mut App, daemonset: Target) {
    let node = app.cursor_node().and_then(|n| app.index.node(n)).map(|n| n.name.to_string());
    app.act.dialog = Some(Dialog::Roll { daemonset, node, count: Box::new(line_input("1")), error: None });
    app.dirty = true;
}

/// Keys for the dialogs, Esc for a running task and the status view. `None`: not ours.
pub fn on_key(app: &mut App, key: &KeyEvent) -> Option<Vec<Effect>> {
    if app.act.dialog.is_some() {
        let fx = dialog_key(app, key);
        app.dirty = true;
        return Some(fx.into_iter().map(Effect::Act).collect());
    }
    // Esc belongs to a focused log pane first (issue 6).
    if key.code == KeyCode::Esc && app.layers.is_empty() && !app.logs.has_focus() {
        if let Some(t) = &app.act.task {
            let id = t.id;
            app.notify(format!("{}: cancelling…", t.label), Level::Info);
            return Some(vec![Effect::Act(ActEffect::Cancel { id })]);
        }
        if app.act.status.take().is_some() {
            app.dirty = true;
            return Some(Vec::new());
        }
    }
    None
}

fn is_yes(key: &KeyEvent) -> bool {
    matches!(key.code, KeyCode::Enter | KeyCode::Char('y' | 'Y'))
}

fn dialog_key(app: &mut App, key: &KeyEvent) -> Vec<ActEffect> {
    let Some(dialog) = app.act.dialog.take() else { return Vec::new() };
    let esc = key.code == KeyCode::Esc;
    match dialog {
        Dialog::Confirm { title, text, on_yes } => {
            if is_yes(key) {
                if app.readonly {
                    app.notify(format!("read-only mode: {title} was not sent"), Level::Warn);
                    return Vec::new();
                }
                start_task(app, &on_yes);
                app.notify(format!("{title}: sending…"), Level::Info);
                return vec![on_yes];
            }
            if esc || matches!(key.code, KeyCode::Char('n' | 'N' | 'q')) {
                app.notify(format!("cancelled: {title} (nothing sent)"), Level::Info);
                return Vec::new();
            }
            app.act.dialog = Some(Dialog::Confirm { title, text, on_yes });
        }
        Dialog::Pending { text } => {
            if !esc {
                app.act.dialog = Some(Dialog::Pending { text });
            }
        }
        Dialog::History { daemonset, rows, mut selected } => match key.code {
            KeyCode::Esc | KeyCode::Char('q' | 'H') => {}
            KeyCode::Down | KeyCode::Char('j') => {
                selected = (selected + 1).min(rows.len().saturating_sub(1));
                app.act.dialog = Some(Dialog::History { daemonset, rows, selected });
            }
            KeyCode::Up | KeyCode::Char('k') => {
                selected = selected.saturating_sub(1);
                app.act.dialog = Some(Dialog::History { daemonset, rows, selected });
            }
            KeyCode::Char('u') => {
                let Some(row) = rows.get(selected) else { return Vec::new() };
                if row.current {
                    app.notify(
                        format!("revision {} is the current one; pick an earlier one", row.revision),
                        Level::Info,
                    );
                    app.act.dialog = Some(Dialog::History { daemonset, rows, selected });
                    return Vec::new();
                }
                if app.readonly {
                    app.notify(format!("read-only mode: undo of {daemonset} would not be sent"), Level::Warn);
                    app.act.dialog = Some(Dialog::History { daemonset, rows, selected });
                    return Vec::new();
                }
                let revision = row.revision;
                app.act.dialog = Some(Dialog::Pending {
                    text: format!("reading revision {revision} of {daemonset} to build the undo…"),
                });
                return vec![ActEffect::PlanUndo { daemonset, revision }];
            }
            _ => app.act.dialog = Some(Dialog::History { daemonset, rows, selected }),
        },
        Dialog::Strategy(mut form) => {
            if esc {
                return Vec::new();
            }
            match key.code {
                KeyCode::Tab | KeyCode::Down => form.focus = (form.focus + 1) % 3,
                KeyCode::BackTab | KeyCode::Up => form.focus = (form.focus + 2) % 3,
                KeyCode::Enter => match strategy::validate(&form.form()) {
                    Ok(valid) => {
                        let p = plan::update_strategy(&form.daemonset.namespace, &form.daemonset.name, &valid);
                        if app.readonly {
                            app.notify(format!("read-only mode: {} would not be sent", p.summary()), Level::Warn);
                            app.act.dialog = Some(Dialog::Strategy(form));
                            return Vec::new();
                        }
                        confirm(app, p);
                        return Vec::new();
                    }
                    Err(errors) => form.errors = errors,
                },
                KeyCode::Char(' ' | 'h' | 'l') | KeyCode::Left | KeyCode::Right if form.focus == 0 => {
                    form.kind = match form.kind {
                        StrategyType::RollingUpdate => StrategyType::OnDelete,
                        StrategyType::OnDelete => StrategyType::RollingUpdate,
                    };
                    form.errors.clear();
                }
                _ if form.focus > 0
                    && !(key.modifiers.contains(KeyModifiers::CONTROL)
                        && matches!(key.code, KeyCode::Char('m' | 'j'))) =>
                {
                    // One line per field: Ctrl-M / Ctrl-J would insert a newline.
                    let ta = if form.focus == 1 { &mut form.max_unavailable } else { &mut form.max_surge };
                    ta.input(*key);
                    form.errors.clear();
                }
                _ => {}
            }
            app.act.dialog = Some(Dialog::Strategy(form));
        }
        Dialog::Roll { daemonset, node, mut count, error } => {
            if esc {
                return Vec::new();
            }
            let target = match key.code {
                KeyCode::Char('t') => node.as_ref().map(|n| RollTarget::Nodes(vec![n.clone()])),
                KeyCode::Enter => match first_line(&count).trim().parse::<usize>() {
                    Ok(n) if n > 0 => Some(RollTarget::NextOutdated(n)),
                    _ => {
                        let error = Some("enter a whole number of nodes, at least 1".to_string());
                        app.act.dialog = Some(Dialog::Roll { daemonset, node, count, error });
                        return Vec::new();
                    }
                },
                _ => {
                    count.input(*key);
                    None
                }
            };
            match target {
                Some(_) if app.readonly => {
                    app.notify(format!("read-only mode: roll of {daemonset} would not be sent"), Level::Warn);
                }
                Some(target) => {
                    app.act.dialog =
                        Some(Dialog::Pending { text: format!("reading {daemonset}'s pods to plan the roll…") });
                    return vec![ActEffect::PlanRoll { daemonset, target }];
                }
                None => app.act.dialog = Some(Dialog::Roll { daemonset, node, count, error }),
            }
        }
    }
    Vec::new()
}

fn start_task(app: &mut App, effect: &ActEffect) {
    let (id, label, total) = match effect {
        ActEffect::Batch { id, task, plans } => (*id, task.clone(), plans.len()),
        ActEffect::Roll { id, plan } => (*id, format!("roll {}/{}", plan.namespace, plan.daemonset), plan.steps.len()),
        _ => return,
    };
    app.act.task = Some(RunningTask { id, label, done: 0, total, message: "starting".into() });
}

/// A status-bar line that stays while a task runs (its progress replaces it).
fn sticky(app: &mut App, text: String) {
    app.notice = Some(Notice { text, level: Level::Info, until: app.now.saturating_add(3600) });
    app.dirty = true;
}

/// Apply a result that came back from a task.
pub fn on_msg(app: &mut App, msg: ActMsg) -> Vec<Effect> {
    match msg {
        ActMsg::Done(Ok(o)) => {
            let mut text = o.notice;
            if let Some(e) = o.audit_error {
                text.push_str(&format!(" (audit log not written: {e})"));
            }
            app.notify(text, Level::Info);
        }
        ActMsg::Done(Err(e)) => app.notify(e.to_string(), Level::Error),
        ActMsg::UndoPlanned(r) => {
            // Only replace the "reading…" dialog; if the user dismissed it, drop the answer.
            let pending = matches!(app.act.dialog, Some(Dialog::Pending { .. }));
            if pending {
                app.act.dialog = None;
            }
            match r {
                Ok(p) if pending => confirm(app, p),
                Ok(_) => {}
                Err(e) => app.notify(e.to_string(), Level::Error),
            }
        }
        ActMsg::RollPlanned(Err(e)) => {
            if matches!(app.act.dialog, Some(Dialog::Pending { .. })) {
                app.act.dialog = None;
            }
            app.notify(e.to_string(), Level::Error);
        }
        ActMsg::RollPlanned(Ok(plan)) => {
            if !matches!(app.act.dialog, Some(Dialog::Pending { .. })) {
                return Vec::new();
            }
            app.act.dialog = None;
            if plan.steps.is_empty() {
                let why: Vec<String> = plan.skipped.iter().map(|(n, w)| format!("{n}: {w}")).collect();
                let why = if why.is_empty() { "no outdated pods".to_string() } else { why.join("; ") };
                app.notify(format!("nothing to roll in {}/{} ({why})", plan.namespace, plan.daemonset), Level::Info);
                return Vec::new();
            }
            app.act.next_id += 1;
            app.act.dialog = Some(Dialog::Confirm {
                title: format!("roll {}/{} node by node", plan.namespace, plan.daemonset),
                text: plan.confirm_text(),
                on_yes: ActEffect::Roll { id: app.act.next_id, plan },
            });
            app.dirty = true;
        }
        ActMsg::Task { id, event } => {
            if app.act.task.as_ref().is_none_or(|t| t.id != id) {
                return Vec::new();
            }
            match event {
                TaskEvent::Progress { task, done, total, message } => {
                    if let Some(t) = app.act.task.as_mut() {
                        t.done = done;
                        t.total = total;
                        t.message = message.clone();
                    }
                    sticky(app, format!("{task} {done}/{total} (Esc cancels): {message}"));
                }
                TaskEvent::Finished { task, ok, message } => {
                    app.act.task = None;
                    app.notify(format!("{task}: {message}"), if ok { Level::Info } else { Level::Error });
                }
            }
        }
    }
    Vec::new()
}

/// Carries out [`ActEffect`]s as tokio tasks; results come back on `tx` as [`Msg::Act`].
pub struct Runner {
    gateway: Option<Actions>,
    tx: mpsc::UnboundedSender<Msg>,
    tasks: HashMap<u64, CancellationToken>,
}

impl Runner {
    /// `gateway` None: every effect answers with a plain "no cluster connection" error.
    pub fn new(gateway: Option<Actions>, tx: mpsc::UnboundedSender<Msg>) -> Runner {
        Runner { gateway, tx, tasks: HashMap::new() }
    }

    pub fn spawn(&mut self, effect: ActEffect) {
        self.tasks.retain(|_, t| !t.is_cancelled());
        if let ActEffect::Cancel { id } = effect {
            if let Some(t) = self.tasks.remove(&id) {
                t.cancel();
            }
            return;
        }
        let tx = self.tx.clone();
        let Some(gw) = self.gateway.clone() else {
            let err = ActionError::Refused("no cluster connection for actions in this session".into());
            let _ = tx.send(Msg::Act(ActMsg::Done(Err(err))));
            return;
        };
        let send = move |m: ActMsg| {
            // The loop may have quit meanwhile; then nobody wants the answer.
            let _ = tx.send(Msg::Act(m));
        };
        match effect {
            ActEffect::Execute(p) => {
                tokio::spawn(async move { send(ActMsg::Done(gw.execute(&p).await)) });
            }
            ActEffect::PlanUndo { daemonset, revision } => {
                tokio::spawn(async move {
                    send(ActMsg::UndoPlanned(gw.plan_undo(&daemonset.namespace, &daemonset.name, Some(revision)).await))
                });
            }
            ActEffect::PlanRoll { daemonset, target } => {
                tokio::spawn(async move {
                    send(ActMsg::RollPlanned(gw.plan_roll(&daemonset.namespace, &daemonset.name, target).await))
                });
            }
            ActEffect::Batch { id, task, plans } => {
                let cancel = CancellationToken::new();
                self.tasks.insert(id, cancel.clone());
                tokio::spawn(async move {
                    let report = |event| send(ActMsg::Task { id, event });
                    run_batch(&gw, &task, plans, BATCH_PACE, report, cancel.clone()).await;
                    cancel.cancel();
                });
            }
            ActEffect::Roll { id, plan } => {
                let cancel = CancellationToken::new();
                self.tasks.insert(id, cancel.clone());
                tokio::spawn(async move {
                    let report = |event| send(ActMsg::Task { id, event });
                    roll_nodes(&gw, &plan, RollOptions::default(), report, cancel.clone()).await;
                    cancel.cancel();
                });
            }
            ActEffect::Cancel { .. } => {}
        }
    }
}

/// The gateway for a UI session: audit log at `<state dir>/audit.jsonl` (the temp dir when
/// there is no state dir, so an action is never unaudited), dry run first.
pub fn gateway(opts: &super::UiOptions) -> Actions {
    let dir = opts.state_dir.clone().unwrap_or_else(std::env::temp_dir);
    Actions::new(
        opts.client.clone(),
        crate::cluster::actions::ActionsOptions {
            readonly: opts.readonly,
            context: opts.context.clone(),
            user: opts.user.clone(),
            audit_path: dir.join("audit.jsonl"),
            dry_run_first: true,
        },
    )
}
