//! `update`: the only function that changes [`App`]. Pure: it reads the message and the
//! state, changes the state, and returns the [`Effect`]s the event loop must carry out. No
//! I/O, no clock (time arrives as `Msg::Tick`).

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use tui_textarea::TextArea;

use super::keymap::Action;
use super::msg::{Effect, Level, Msg, Target};
use super::state::{App, FilterPrompt, Layer};
use super::view::RowEntry;
use crate::fleet::CellState;
use crate::theme::Slot;

/// Apply one message. Marks `app.dirty` when something visible changed.
pub fn update(app: &mut App, msg: Msg) -> Vec<Effect> {
    let effects = apply(app, msg);
    // Issue 7: action effects open their dialogs here.
    let effects = super::actions::route(app, effects);
    super::logs::after_update(app);
    if app.dirty {
        // The next render shows the clock text as of now; a later tick compares against it.
        app.clock_text = crate::ui::clock_text(app);
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
            app.ensure_visible();
            app.dirty = true;
            Vec::new()
        }
        Msg::Fleet(batch) => {
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
            let text = crate::ui::clock_text(app);
            if text != app.clock_text {
                app.clock_text = text;
                app.dirty = true;
            }
            super::actions::observe(app);
            Vec::new()
        }
        Msg::Notice { text, level } => {
            app.notify(text, level);
            Vec::new()
        }
        Msg::Picker(m) => super::pickers::on_msg(app, m),
        Msg::Act(m) => super::actions::on_msg(app, m),
    }
}

fn on_key(app: &mut App, key: KeyEvent) -> Vec<Effect> {
    let ctrl_c = key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL);
    if ctrl_c {
        app.quit = true;
        return vec![Effect::Quit];
    }
    if let Some(effects) = super::actions::on_key(app, &key) {
        return effects;
    }
    if let Some(effects) = super::logs::on_key(app, key) {
        return effects;
    }
    match app.layers.last_mut() {
        Some(Layer::Filter(prompt)) => {
            filter_key(&mut prompt.textarea, key).apply(app);
            return Vec::new();
        }
        Some(Layer::Help { scroll }) => {
            match app.keymap.action_for(&key) {
                Some(Action::Close | Action::Help | Action::Quit) => {
                    app.layers.pop();
                }
                Some(Action::MoveDown) => *scroll = scroll.saturating_add(1),
                Some(Action::MoveUp) => *scroll = scroll.saturating_sub(1),
                Some(Action::PageDown) => *scroll = scroll.saturating_add(10),
                Some(Action::PageUp) => *scroll = scroll.saturating_sub(10),
                Some(Action::Home) => *scroll = 0,
                _ => return Vec::new(),
            }
            app.dirty = true;
            return Vec::new();
        }
        Some(Layer::Picker(_)) => return super::pickers::on_key(app, key),
        None => {}
    }
    match app.keymap.action_for(&key) {
        Some(action) => on_action(app, action),
        None => Vec::new(),
    }
}

/// What a key in the filter prompt does (computed while the prompt is borrowed, then applied).
enum FilterOutcome {
    /// Text changed: filter live as the user types.
    Edited(String),
    Apply,
    Cancel,
    Nothing,
}

impl FilterOutcome {
    fn apply(self, app: &mut App) {
        match self {
            FilterOutcome::Edited(text) => {
                app.filter = text;
                app.refresh_view();
            }
            FilterOutcome::Apply => {
                app.layers.pop();
            }
            FilterOutcome::Cancel => {
                if let Some(Layer::Filter(p)) = app.layers.pop() {
                    app.filter = p.before;
                    app.refresh_view();
                }
            }
            FilterOutcome::Nothing => return,
        }
        app.dirty = true;
    }
}

fn filter_key(ta: &mut TextArea<'static>, key: KeyEvent) -> FilterOutcome {
    match key.code {
        KeyCode::Enter => FilterOutcome::Apply,
        KeyCode::Esc => FilterOutcome::Cancel,
        _ => {
            // One line only: tui-textarea would insert a newline on Ctrl-M / Ctrl-J.
            if key.modifiers.contains(KeyModifiers::CONTROL) && matches!(key.code, KeyCode::Char('m' | 'j')) {
                return FilterOutcome::Nothing;
            }
            // Edits and cursor moves alike need a redraw; the view is recomputed only if the
            // text (and so the view key) changed.
            ta.input(key);
            FilterOutcome::Edited(ta.lines().first().cloned().unwrap_or_default())
        }
    }
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

fn page(app: &App) -> isize {
    crate::ui::layout::geometry(app.size, app).map(|g| g.visible_rows.max(1)).unwrap_or(1) as isize
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

fn on_action(app: &mut App, action: Action) -> Vec<Effect> {
    match action {
        Action::MoveUp => move_rows(app, -1),
        Action::MoveDown => move_rows(app, 1),
        Action::MoveLeft => move_cols(app, -1),
        Action::MoveRight => move_cols(app, 1),
        Action::PageUp => move_rows(app, -page(app)),
        Action::PageDown => move_rows(app, page(app)),
        Action::Home => move_rows(app, -(app.view.rows.len() as isize)),
        Action::End => move_rows(app, app.view.rows.len() as isize),
        Action::ToggleDetail => {
            app.detail = !app.detail;
            app.ensure_visible();
            app.dirty = true;
        }
        Action::Filter => {
            let mut ta = TextArea::new(vec![app.filter.clone()]);
            ta.move_cursor(tui_textarea::CursorMove::End);
            ta.set_placeholder_text("node name, label=value, DaemonSet name");
            let theme = app.theme();
            ta.set_style(theme.style(Slot::Prompt));
            ta.set_cursor_line_style(theme.style(Slot::Prompt));
            ta.set_placeholder_style(theme.style(Slot::DetailKey));
            app.layers.push(Layer::Filter(Box::new(FilterPrompt { textarea: ta, before: app.filter.clone() })));
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
        Action::NextTheme => {
            if !app.themes.is_empty() {
                app.theme = (app.theme + 1) % app.themes.len();
                let name = app.theme().name.clone();
                app.notify(format!("theme: {name}"), Level::Info);
            }
        }
        Action::Help => {
            app.layers.push(Layer::Help { scroll: 0 });
            app.dirty = true;
        }
        Action::Quit => {
            app.quit = true;
            return vec![Effect::Quit];
        }
        Action::Close => {
            if app.layers.pop().is_some() {
                app.dirty = true;
            } else if app.detail {
                app.detail = false;
                app.ensure_visible();
                app.dirty = true;
            }
        }
        Action::Logs | Action::RestartPod => match pod_target(app) {
            Some((pod, node)) => {
                return vec![if action == Action::Logs {
                    Effect::OpenLogs { pod, node }
                } else {
                    Effect::RestartPod { pod }
                }];
            }
            None => app.notify("no pod in this cell", Level::Info),
        },
        Action::LogsDaemonSet
        | Action::RolloutRestart
        | Action::RolloutStatus
        | Action::History
        | Action::Strategy
        | Action::RollNext => match ds_target(app) {
            Some(daemonset) => {
                return vec![match action {
                    Action::LogsDaemonSet => {
                        // The tail honours the current row filter: the nodes shown.
                        let nodes = app
                            .view
                            .rows
                            .iter()
                            .filter_map(|r| match r {
                                RowEntry::Node(id) => app.index.node(*id).map(|n| n.name.to_string()),
                                RowEntry::Group { .. } => None,
                            })
                            .collect();
                        Effect::OpenDaemonSetLogs { daemonset, nodes }
                    }
                    Action::RolloutRestart => Effect::RolloutRestart { daemonset },
                    Action::RolloutStatus => Effect::RolloutStatus { daemonset },
                    Action::History => Effect::History { daemonset },
                    Action::Strategy => Effect::Strategy { daemonset },
                    _ => Effect::RollNext { daemonset },
                }];
            }
            None => app.notify("no DaemonSet column under the cursor", Level::Info),
        },
        Action::RestartFailing => return super::actions::open_restart_failing(app),
        Action::ContextPicker => return vec![Effect::PickContext],
        Action::NamespacePicker => return vec![Effect::PickNamespace],
    }
    Vec::new()
}

/// Move to the next (or previous) problem cell in reading order over the shown rows and
/// columns, wrapping around. Rows without problems are skipped by their counter, so the scan
/// touches cells only on rows that have some. O(rows + problem rows × columns).
fn jump_problem(app: &mut App, forward: bool) {
    let rows = app.view.rows.len();
    let cols = app.view.cols.len();
    if rows == 0 || cols == 0 {
        return;
    }
    let total = rows * cols;
    let start = app.cursor.row * cols + app.cursor.col;
    let mut step = 1;
    while step <= total {
        let pos = if forward { (start + step) % total } else { (start + total - step % total) % total };
        let (r, c) = (pos / cols, pos % cols);
        let RowEntry::Node(node) = app.view.rows[r] else {
            // Skip the whole header row.
            step += if forward { cols - c } else { c + 1 };
            continue;
        };
        if app.index.node(node).is_none_or(|n| n.problems == 0) {
            step += if forward { cols - c } else { c + 1 };
            continue;
        }
        let state: CellState = app.index.cell(node, app.view.cols[c]).state;
        if state.is_problem() {
            app.cursor.row = r;
            app.cursor.col = c;
            app.clamp_cursor(1);
            app.dirty = true;
            return;
        }
        step += 1;
    }
    app.notify("no problem cells in view", Level::Info);
}
