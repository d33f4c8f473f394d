//! The `:` command prompt (k9s' command mode, in both keymaps): `ctx [NAME]`, `ns [NAME]`,
//! `ds NAME`, `q` / `quit`. A command does what the key of the same job does (the pickers, the
//! running-task question on quit), so there is one way each thing happens.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use tui_textarea::TextArea;

use super::keymap::Action;
use super::msg::{Command, Effect, Level};
use super::pickers::PickerKind;
use super::state::{App, FilterPrompt, Layer};
use crate::theme::Slot;

/// The commands, for the prompt's placeholder and the "unknown command" notice.
pub const COMMANDS: &str = "ctx [NAME], ns [NAME|-A], ds NAME, q";

/// `:` opens the prompt.
pub fn open(app: &mut App) {
    let mut ta = TextArea::new(vec![String::new()]);
    ta.set_placeholder_text(COMMANDS);
    let theme = app.theme();
    ta.set_style(theme.style(Slot::Prompt));
    ta.set_cursor_line_style(theme.style(Slot::Prompt));
    ta.set_placeholder_style(theme.style(Slot::DetailKey));
    app.layers.push(Layer::Command(Box::new(FilterPrompt { textarea: ta })));
    app.dirty = true;
}

/// A key while the prompt is on top: Enter runs the line, Esc drops it, Ctrl-U erases.
pub fn key(app: &mut App, action: Option<Action>, key: KeyEvent) -> Vec<Effect> {
    let Some(Layer::Command(prompt)) = app.layers.last_mut() else { return Vec::new() };
    app.dirty = true;
    match action {
        Some(Action::PromptAccept) => {
            let line = prompt.textarea.lines().first().cloned().unwrap_or_default();
            app.layers.pop();
            return run(app, &line);
        }
        Some(Action::PromptCancel) => {
            app.layers.pop();
        }
        Some(Action::PromptErase) => {
            prompt.textarea.select_all();
            prompt.textarea.cut();
        }
        _ => {
            let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
            if !(key.code == KeyCode::Enter || (ctrl && matches!(key.code, KeyCode::Char('m' | 'j')))) {
                prompt.textarea.input(key);
            }
        }
    }
    Vec::new()
}

/// Run one command line.
pub fn run(app: &mut App, line: &str) -> Vec<Effect> {
    let mut words = line.split_whitespace();
    let (Some(cmd), arg, extra) = (words.next(), words.next(), words.next()) else { return Vec::new() };
    if extra.is_some() {
        app.notify(format!("{cmd}: one argument at most ({COMMANDS})"), Level::Warn);
        return Vec::new();
    }
    match (cmd, arg) {
        ("q" | "q!" | "quit" | "exit", None) => super::update::matrix_action(app, Action::Quit),
        ("ctx" | "context", None) => super::pickers::open(app, PickerKind::Context),
        ("ctx" | "context", Some(name)) => {
            if name == app.context {
                app.notify("already showing that", Level::Info);
                return Vec::new();
            }
            app.notify(format!("connecting to context {name}…"), Level::Info);
            vec![Effect::Cluster(Command::Connect { context: name.to_string(), namespace: app.namespace.clone() })]
        }
        ("ns" | "namespace", None) => super::pickers::open(app, PickerKind::Namespace),
        ("ns" | "namespace", Some(ns)) => {
            let namespace = (!matches!(ns, "-A" | "*")).then(|| ns.to_string());
            if namespace == app.namespace {
                app.notify("already showing that", Level::Info);
                return Vec::new();
            }
            vec![Effect::Cluster(Command::Rescope { session: app.session, namespace })]
        }
        ("ds" | "daemonset", Some(name)) => {
            jump_to_daemonset(app, name);
            Vec::new()
        }
        _ => {
            let text = crate::text::truncate_chars(line.trim(), 40);
            app.notify(format!("unknown command: {text} (commands: {COMMANDS})"), Level::Warn);
            Vec::new()
        }
    }
}

/// Put the cursor on the column of DaemonSet `name` (`name` or `namespace/name`).
fn jump_to_daemonset(app: &mut App, name: &str) {
    let (ns, name) = match name.split_once('/') {
        Some((ns, n)) => (Some(ns), n),
        None => (None, name),
    };
    let col = app
        .view
        .cols
        .iter()
        .position(|d| app.index.ds(*d).is_some_and(|v| v.name == name && ns.is_none_or(|ns| v.namespace == ns)));
    match col {
        Some(c) => {
            app.cursor.col = c;
            app.clamp_cursor(1);
            app.dirty = true;
        }
        None => {
            let hidden = app.index.ds_ids().into_iter().any(|d| app.index.ds(d).is_some_and(|v| v.name == name));
            let why = if hidden { "not shown (filter or problems-only hides it)" } else { "no such DaemonSet" };
            app.notify(format!("ds {name}: {why}"), Level::Warn);
        }
    }
}
