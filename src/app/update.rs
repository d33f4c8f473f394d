//! `update`: the only function that changes [`App`]. Pure: it reads the message and the
//! state, changes the state, and returns the [`Effect`]s for the world to carry out. No I/O, no
//! clock (time arrives as `Msg::Tick`), no tasks.
//!
//! Keys follow one rule: the layer on top of the stack reads its table of the keymap first; a
//! layer that does not take the key (the detail panel, the rollout status view, an unfocused
//! log pane) hands it to the one below, down to the matrix. Modal layers (help, prompts,
//! pickers, dialogs) take every key: what their table does not bind is typing, or nothing.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use tui_textarea::TextArea;

use super::keymap::{Action, Ctx};
use super::msg::{Effect, Level, Msg, Report, Target};
use super::state::{App, FilterPrompt, Layer};
use super::view::RowEntry;
use crate::theme::Slot;

/// Apply one message. Marks `app.dirty` when something visible changed.
pub fn update(app: &mut App, msg: Msg) -> Vec<Effect> {
    let mut effects = apply(app, msg);
    effects.extend(super::logs::after_update(app));
    effects.extend(super::actions::after_update(app));
    effects.extend(super::access::after_update(app));
    if app.dirty {
        // The next render shows the clock text as of now; a later tick compares against it.
        app.clock_key = super::clock::clock_key(app);
    }
    effects
}

fn apply(app: &mut App, msg: Msg) -> Vec<Effect> {
    match msg {
        Msg::Key(key) => {
            // Windows and the kitty protocol report releases too; act on presses only.
            if key.kind == KeyEventKind::Release {
                return Vec::new();
            }
            on_key(app, key)
        }
        Msg::Resize(w, h) => {
            app.size = (w, h);
            app.relayout();
            app.ensure_visible();
            app.dirty = true;
            Vec::new()
        }
        Msg::Fleet(batch) => {
            apply_fleet(app, batch);
            Vec::new()
        }
        Msg::Tick(now) => {
            app.now = now;
            if let Some(n) = &mut app.notice {
                if n.until == i64::MAX {
                    // Start-up warnings get their time once the clock is known.
                    n.until = now + 10;
                } else if n.until <= now {
                    app.notice = None;
                    app.dirty = true;
                }
            }
            let key = super::clock::clock_key(app);
            if key != app.clock_key {
                app.clock_key = key;
                app.dirty = true;
            }
            super::actions::observe(app);
            Vec::new()
        }
        Msg::Notice { text, level } => {
            app.notify(text, level);
            Vec::new()
        }
        Msg::Cluster(report) => on_report(app, report),
        Msg::LogsSaved { stream, result } => {
            super::logs::on_saved(app, stream, result);
            Vec::new()
        }
    }
}

fn apply_fleet(app: &mut App, batch: Vec<crate::fleet::FleetEvent>) {
    let before = app.index.generation();
    for ev in batch {
        // Record when we received it: the header shows data age from it.
        app.index.apply_at(ev, app.now);
    }
    if app.index.generation() != before {
        app.refresh_view();
        app.dirty = true;
        super::actions::observe(app);
    }
}

/// A report of the cluster executor. Whatever belongs to another session than the one on
/// screen is dropped here: nothing of an old cluster reaches the new picture.
fn on_report(app: &mut App, report: Report) -> Vec<Effect> {
    let session = match &report {
        Report::Fleet { session, .. }
        | Report::FleetClosed { session }
        | Report::Logs { session, .. }
        | Report::LogsEnded { session, .. }
        | Report::Namespaces { session, .. }
        | Report::Done { session, .. }
        | Report::DryRun { session, .. }
        | Report::Access { session, .. }
        | Report::UndoPlanned { session, .. }
        | Report::RollPlanned { session, .. }
        | Report::Task { session, .. }
        | Report::Inspected { session, .. }
        | Report::Refused { session, .. } => Some(*session),
        Report::Contexts(_) | Report::Connected { .. } | Report::ConnectFailed { .. } => None,
    };
    if let Some(s) = session
        && s != app.session
        && !matches!(report, Report::Refused { .. })
    {
        tracing::debug!(session = %s, current = %app.session, "dropped a report of an old session");
        return Vec::new();
    }
    match report {
        Report::Fleet { events, .. } => apply_fleet(app, events),
        Report::FleetClosed { .. } => {
            // Every watch task has ended: the data on screen is frozen. Say so rather than
            // pretend it is live; quitting stays possible.
            app.fleet_closed = true;
            app.notify(
                "watch streams stopped: the data on screen is no longer updated; restart daemonscope",
                Level::Error,
            );
        }
        Report::Logs { stream, msgs, .. } => super::logs::on_lines(app, stream, msgs),
        Report::Inspected { id, result, .. } => super::inspect::on_report(app, id, result),
        Report::LogsEnded { .. } => {}
        Report::Contexts(result) => super::pickers::contexts(app, result),
        Report::Namespaces { result, .. } => super::pickers::namespaces(app, result),
        Report::Connected { info, warning } => super::pickers::switched(app, info, warning),
        Report::ConnectFailed { error } => app.notify(error, Level::Error),
        Report::Refused { what, why, .. } => app.notify(format!("refused: {what}: {why}"), Level::Error),
        Report::Access { session, namespace, answers } => super::access::on_report(app, session, namespace, answers),
        r @ (Report::Done { .. }
        | Report::DryRun { .. }
        | Report::UndoPlanned { .. }
        | Report::RollPlanned { .. }
        | Report::Task { .. }) => super::actions::on_report(app, r),
    }
    Vec::new()
}

fn on_key(app: &mut App, key: KeyEvent) -> Vec<Effect> {
    let ctrl_c = key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL);
    if ctrl_c {
        app.quit = true;
        return vec![Effect::Quit];
    }
    if app.geometry.is_none() {
        // "Terminal too small" hides the matrix and every dialog: nothing that is not drawn
        // may be acted on. Only quit (and help, which draws its own screen) work.
        return match app.keymap.action_for(&key) {
            Some(Action::Quit) => {
                app.quit = true;
                vec![Effect::Quit]
            }
            _ => Vec::new(),
        };
    }
    // Top layer first; a layer that does not take the key hands it down.
    let mut depth = app.layers.len();
    while depth > 0 {
        depth -= 1;
        if let Some(effects) = layer_key(app, depth, key) {
            return effects;
        }
    }
    match app.keymap.action_for(&key) {
        Some(action) => on_action(app, action),
        None => {
            unbound(app, Ctx::Matrix, &key);
            Vec::new()
        }
    }
}

/// Say why a key does nothing when it is a mutating key removed by `--readonly`.
/// Or, once per run, where the help is when a key means nothing here.
fn unbound(app: &mut App, ctx: Ctx, key: &KeyEvent) {
    if let Some(action) = app.keymap.removed(ctx, key) {
        let what = app.keymap.description(action);
        app.notify(format!("read-only mode: {what} is not available"), Level::Warn);
    } else if ctx == Ctx::Matrix && !app.help_hinted && !matches!(key.code, KeyCode::Modifier(_) | KeyCode::Null) {
        app.help_hinted = true;
        let text = format!("press {} for help", app.keymap.first_key(Action::Help));
        app.notify(text, Level::Info);
    }
}

/// The key for the layer at `depth`; `None`: the layer passes it down.
fn layer_key(app: &mut App, depth: usize, key: KeyEvent) -> Option<Vec<Effect>> {
    let ctx = app.layers[depth].ctx();
    let action = ctx.and_then(|c| app.keymap.lookup(c, &key));
    let top = depth + 1 == app.layers.len();
    if matches!(app.layers[depth], Layer::Detail) && detail_key(app, &key) {
        return Some(Vec::new());
    }
    match &app.layers[depth] {
        Layer::Detail | Layer::Status(_) => {
            let matrix = app.keymap.action_for(&key);
            let toggles = matches!(app.layers[depth], Layer::Detail) && matrix == Some(Action::ToggleDetail);
            if matrix == Some(Action::Close) || toggles {
                if matches!(app.layers[depth], Layer::Detail) {
                    app.detail.focused = false;
                }
                app.layers.remove(depth);
                app.relayout();
                app.ensure_visible();
                app.dirty = true;
                return Some(Vec::new());
            }
            None
        }
        Layer::Logs(l) if l.pane.prompt_open() && top => {
            super::logs::prompt_key(app, action, key);
            Some(Vec::new())
        }
        Layer::Logs(_) => super::logs::pane_key(app, action, &key),
        // Modal layers below the top (a picker opened over a dialog, say) never see keys.
        _ if !top => Some(Vec::new()),
        Layer::Inspect(l) if l.prompt.is_some() => {
            super::inspect::prompt_key(app, action, key);
            Some(Vec::new())
        }
        // Full screen and modal: the pane takes every key while it is on top.
        Layer::Inspect(_) => Some(super::inspect::pane_key(app, action, &key)),
        Layer::Command(_) => Some(super::command::key(app, action, key)),
        Layer::Help { .. } => {
            help_key(app, action);
            Some(Vec::new())
        }
        Layer::Filter(_) => {
            filter_key(app, action, key);
            Some(Vec::new())
        }
        Layer::Picker(_) => Some(match action {
            Some(a) => super::pickers::picker_action(app, a),
            None => {
                super::pickers::picker_input(app, key);
                Vec::new()
            }
        }),
        Layer::Dialog(_) if super::actions::takes_text(app) => Some(super::actions::text_key(app, key)),
        Layer::Dialog(_) => Some(match action {
            Some(a) => super::actions::dialog_action(app, a),
            None => {
                if let Some(c) = ctx {
                    unbound(app, c, &key);
                }
                super::actions::dialog_input(app, key);
                Vec::new()
            }
        }),
        Layer::Containers(_) => Some(action.map(|a| super::logs::containers_action(app, a)).unwrap_or_default()),
    }
}

/// The detail panel's keys: Tab gives it the keys (and back); while it has them, its table
/// scrolls it and folds the labels. `true` when the key was the panel's.
fn detail_key(app: &mut App, key: &KeyEvent) -> bool {
    let Some(action) = app.keymap.lookup(Ctx::Detail, key) else { return false };
    let at = app.cursor_cell();
    let d = &mut app.detail;
    if d.at != at {
        d.at = at;
        d.scroll = 0;
    }
    // The panel clamps at its end when it draws; this bound only keeps the number sane.
    const MAX_SCROLL: u16 = 1000;
    match action {
        Action::DetailFocus => d.focused = !d.focused,
        _ if !d.focused => return false,
        Action::DetailDown => d.scroll = d.scroll.saturating_add(1).min(MAX_SCROLL),
        Action::DetailUp => d.scroll = d.scroll.saturating_sub(1),
        Action::DetailPageDown => d.scroll = d.scroll.saturating_add(10).min(MAX_SCROLL),
        Action::DetailPageUp => d.scroll = d.scroll.saturating_sub(10),
        Action::DetailLabels => d.labels_open = !d.labels_open,
        _ => return false,
    }
    app.dirty = true;
    true
}

fn help_key(app: &mut App, action: Option<Action>) {
    let Some(Layer::Help { scroll }) = app.layers.last_mut() else { return };
    match action {
        Some(Action::HelpClose) => {
            app.layers.pop();
        }
        Some(Action::HelpDown) => *scroll = scroll.saturating_add(1),
        Some(Action::HelpUp) => *scroll = scroll.saturating_sub(1),
        Some(Action::HelpPageDown) => *scroll = scroll.saturating_add(10),
        Some(Action::HelpPageUp) => *scroll = scroll.saturating_sub(10),
        Some(Action::HelpTop) => *scroll = 0,
        _ => return,
    }
    app.dirty = true;
}

/// The `/` prompt: typing filters live; Enter keeps the filter; Esc clears it; Ctrl-U erases.
fn filter_key(app: &mut App, action: Option<Action>, key: KeyEvent) {
    let Some(Layer::Filter(prompt)) = app.layers.last_mut() else { return };
    match action {
        Some(Action::PromptAccept) => {
            app.layers.pop();
        }
        Some(Action::PromptCancel) => {
            app.layers.pop();
            app.filter.clear();
            app.refresh_view();
        }
        Some(Action::PromptErase) => {
            prompt.textarea.select_all();
            prompt.textarea.cut();
            app.filter.clear();
            app.refresh_view();
        }
        _ => {
            // One line only: tui-textarea would insert a newline on Enter, Ctrl-M / Ctrl-J.
            let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
            if key.code == KeyCode::Enter || (ctrl && matches!(key.code, KeyCode::Char('m' | 'j'))) {
                return;
            }
            prompt.textarea.input(key);
            app.filter = prompt.textarea.lines().first().cloned().unwrap_or_default();
            app.refresh_view();
        }
    }
    app.dirty = true;
}

fn filter_textarea(app: &App, text: &str) -> TextArea<'static> {
    let mut ta = TextArea::new(vec![text.to_string()]);
    ta.move_cursor(tui_textarea::CursorMove::End);
    ta.set_placeholder_text("node name, label=value, DaemonSet name");
    let theme = app.theme();
    ta.set_style(theme.style(Slot::Prompt));
    ta.set_cursor_line_style(theme.style(Slot::Prompt));
    ta.set_placeholder_style(theme.style(Slot::DetailKey));
    ta
}

fn move_rows(app: &mut App, delta: isize) {
    let rows = app.view.rows.len();
    if rows == 0 {
        return;
    }
    let mut target = (app.cursor.row as isize + delta).clamp(0, rows as isize - 1) as usize;
    // Step over group headers in the direction of travel.
    while target < rows - 1 && delta > 0 && !matches!(app.view.rows[target], RowEntry::Node(_)) {
        target += 1;
    }
    app.cursor.row = target;
    app.clamp_cursor(if delta >= 0 { 1 } else { -1 });
    app.dirty = true;
}

fn move_cols(app: &mut App, delta: isize) {
    let cols = app.view.cols.len();
    if cols == 0 {
        return;
    }
    app.cursor.col = (app.cursor.col as isize + delta).clamp(0, cols as isize - 1) as usize;
    app.clamp_cursor(1);
    app.dirty = true;
}

fn ds_target(app: &App) -> Option<Target> {
    let ds = app.index.ds(app.cursor_ds()?)?;
    Some(Target { namespace: ds.namespace.to_string(), name: ds.name.to_string() })
}

fn pod_target(app: &App) -> Option<(Target, String)> {
    let node = app.cursor_node()?;
    let ds = app.cursor_ds()?;
    let cell = app.index.cell(node, ds);
    let pod = cell.pod?;
    let node_name = app.index.node(node)?.name.to_string();
    Some((Target { namespace: pod.namespace.to_string(), name: pod.name.to_string() }, node_name))
}

/// A matrix-table action, as if its key was pressed on the matrix (for layers and commands that
/// hand an application key on: help, quit).
pub(crate) fn matrix_action(app: &mut App, action: Action) -> Vec<Effect> {
    on_action(app, action)
}

fn on_action(app: &mut App, action: Action) -> Vec<Effect> {
    if super::access::refuse(app, action) {
        return Vec::new();
    }
    let page = app.viewport().0 as isize;
    match action {
        Action::MoveUp => move_rows(app, -1),
        Action::MoveDown => move_rows(app, 1),
        Action::MoveLeft => move_cols(app, -1),
        Action::MoveRight => move_cols(app, 1),
        Action::PageUp => move_rows(app, -page),
        Action::PageDown => move_rows(app, page),
        Action::Home => move_rows(app, -(app.view.rows.len() as isize)),
        Action::End => move_rows(app, app.view.rows.len() as isize),
        Action::ToggleDetail => {
            app.detail.focused = false;
            if !app.remove_layers(|l| matches!(l, Layer::Detail)) {
                // Below every modal layer: the detail panel shows under a dialog.
                app.layers.insert(0, Layer::Detail);
            }
            app.relayout();
            app.ensure_visible();
            app.dirty = true;
        }
        Action::Filter => {
            let ta = filter_textarea(app, &app.filter.clone());
            app.layers.push(Layer::Filter(Box::new(FilterPrompt { textarea: ta })));
            app.dirty = true;
        }
        Action::ToggleProblems => {
            app.problems_only = !app.problems_only;
            app.refresh_view();
            app.dirty = true;
        }
        Action::NextProblem => jump_problem(app, true),
        Action::PrevProblem => jump_problem(app, false),
        Action::CycleSort => {
            app.sort = app.sort.next();
            app.refresh_view();
            app.notify(format!("sort: {}", app.sort.label()), Level::Info);
        }
        Action::GroupBy => {
            let n = app.config.group_labels.len();
            app.group = match app.group {
                None if n > 0 => Some(0),
                Some(i) if i + 1 < n => Some(i + 1),
                _ => None,
            };
            app.refresh_view();
            let text = match app.group_label() {
                Some(l) => format!("group rows by {l}"),
                None => "grouping off".to_string(),
            };
            app.notify(text, Level::Info);
        }
        Action::NextTheme if !app.themes.is_empty() => {
            app.theme = (app.theme + 1) % app.themes.len();
            let name = app.theme().name.clone();
            app.notify(format!("theme: {name}"), Level::Info);
        }
        Action::Help => {
            app.layers.push(Layer::Help { scroll: 0 });
            app.dirty = true;
        }
        Action::Quit => {
            // A running batch or roll stops with the program: ask once (Ctrl-C never asks).
            if let Some(task) = &app.task
                && app.quit_asked != Some(task.id)
            {
                app.quit_asked = Some(task.id);
                let text = format!(
                    "{} is running ({}/{}): {} again quits and stops it",
                    task.label,
                    task.done,
                    task.total,
                    app.keymap.first_key(Action::Quit)
                );
                app.notify(text, Level::Warn);
                return Vec::new();
            }
            app.quit = true;
            return vec![Effect::Quit];
        }
        Action::Close => return close(app),
        Action::Logs => match pod_target(app) {
            Some((pod, node)) => return super::logs::open_pod(app, pod, node),
            None => app.notify("no pod in this cell", Level::Info),
        },
        Action::Describe => return super::inspect::open(app, crate::inspect::Mode::Describe),
        Action::Yaml => return super::inspect::open(app, crate::inspect::Mode::Yaml),
        Action::CommandMode => super::command::open(app),
        Action::RestartPod => super::actions::open_restart(app),
        Action::RestartFailing => super::actions::open_restart_failing(app),
        Action::UnlockWrites => super::actions::open_unlock(app),
        Action::LogsDaemonSet
        | Action::RolloutRestart
        | Action::RolloutStatus
        | Action::History
        | Action::Strategy
        | Action::RollNext => match ds_target(app) {
            Some(daemonset) => match action {
                Action::LogsDaemonSet => return super::logs::open_daemonset(app, daemonset),
                Action::RolloutRestart => super::actions::open_rollout_restart(app, daemonset),
                Action::RolloutStatus => super::actions::open_status(app, daemonset),
                Action::History => super::actions::open_history(app, daemonset),
                Action::Strategy => super::actions::open_strategy(app, daemonset),
                _ => super::actions::open_roll(app, daemonset),
            },
            None => app.notify("no DaemonSet column under the cursor", Level::Info),
        },
        Action::ContextPicker => return super::pickers::open(app, super::pickers::PickerKind::Context),
        Action::NamespacePicker => return super::pickers::open(app, super::pickers::PickerKind::Namespace),
        // Layer actions never reach the matrix table.
        _ => {}
    }
    Vec::new()
}

/// Esc on the matrix: the topmost closable layer, else cancel the running task, else clear
/// the filter.
fn close(app: &mut App) -> Vec<Effect> {
    if let Some(t) = &app.task {
        let (id, session) = (t.id, t.session);
        let text = format!("{}: cancelling…", t.label);
        app.notify(text, Level::Info);
        return vec![Effect::work(session, super::msg::Work::Cancel { id })];
    }
    if !app.filter.is_empty() {
        app.filter.clear();
        app.refresh_view();
        app.notify("filter cleared", Level::Info);
    }
    Vec::new()
}

/// Move to the next (or previous) cell that needs attention, most severe first
/// (`CellState::severity`): `]` walks the cells of the most severe tier in view in reading
/// order, then those of the next tier, and wraps; `[` walks back. From a cell that needs none,
/// `]` goes to the next cell of the most severe tier after the cursor. Rows without such cells
/// are skipped by their counters: O(rows + problem rows × columns).
fn jump_problem(app: &mut App, forward: bool) {
    let cols = app.view.cols.len();
    if app.view.rows.is_empty() || cols == 0 {
        return;
    }
    let mut cells: Vec<(usize, usize)> = Vec::new();
    for (r, entry) in app.view.rows.iter().enumerate() {
        let RowEntry::Node(node) = *entry else { continue };
        if app.index.node(node).is_none_or(|n| n.tiers == [0; 4]) {
            continue;
        }
        for (c, &ds) in app.view.cols.iter().enumerate() {
            if let Some(tier) = app.index.cell(node, ds).state.severity().tier() {
                cells.push((tier, r * cols + c));
            }
        }
    }
    cells.sort_unstable();
    let Some(&top) = cells.first() else {
        app.notify("no problem cells in view", Level::Info);
        return;
    };
    let here = app.cursor.row * cols + app.cursor.col;
    let here_tier = match (app.cursor_node(), app.cursor_ds()) {
        (Some(n), Some(d)) => app.index.cell(n, d).state.severity().tier(),
        _ => None,
    };
    let key = (here_tier.unwrap_or(top.0), here);
    let target = if forward {
        cells.iter().find(|c| **c > key).or(cells.first())
    } else {
        cells.iter().rev().find(|c| **c < key).or(cells.last())
    };
    if let Some(&(_, pos)) = target {
        app.cursor.row = pos / cols;
        app.cursor.col = pos % cols;
        app.clamp_cursor(1);
        app.dirty = true;
    }
}
