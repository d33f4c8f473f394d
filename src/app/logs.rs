//! Log panes, as state: the pane on the layer stack (the buffer, search, follow, wrap …), the
//! split/full-screen layout, which half has the keys, and the container picker.
//!
//! Data flow: `l`/`L` push a [`LogsLayer`] and ask the executor to open a stream
//! (`Work::OpenLogs`, with a fresh stream id); the executor's `Report::Logs` come back tagged
//! with the session and the stream, and only the pane of that stream takes them. The keys of
//! the pane come from the key table (`Ctx::Logs`); what the pane cannot do itself (re-open for
//! `p`/a container, save) becomes an effect. A DaemonSet tail follows the visible rows: after
//! every update [`after_update`] recomputes its pods when the view changed.

use super::keymap::{Action, Section};
use super::msg::{Effect, Level, SessionId, Target, Work};
use super::state::{App, Layer};
use super::view::{RowEntry, ViewKey};
use crate::config::LogConfig;
use crate::fleet::index::DsId;
use crate::logs::{LogMsg, LogOptions, LogTarget, PodRef};
use crate::logview::pane::{self, PaneAction, PaneOutcome};
use crate::logview::{LogPane, PaneOptions};

/// Lines applied between two frames; beyond it the loop stops reading the stream until the next
/// frame, so a flooding producer slows down (and the session counts what it drops) instead of
/// the UI.
pub const LINES_PER_FRAME: usize = 20_000;

/// Where the pane goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogLayout {
    /// Below the matrix, which keeps the upper part of the screen.
    Split,
    /// Everything between the header and the footer.
    Full,
}

impl LogLayout {
    /// `[logs] layout` in config.toml: "full", anything else is the split.
    pub fn from_config(s: &str) -> LogLayout {
        if s.eq_ignore_ascii_case("full") { LogLayout::Full } else { LogLayout::Split }
    }

    pub fn toggled(self) -> LogLayout {
        match self {
            LogLayout::Split => LogLayout::Full,
            LogLayout::Full => LogLayout::Split,
        }
    }
}

/// The `c` list: init containers first (they run first), then the app containers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContainerPicker {
    /// (name, is an init container).
    pub items: Vec<(String, bool)>,
    pub selected: usize,
}

/// An open log pane.
pub struct LogsLayer {
    pub pane: LogPane,
    /// The stream feeding it; reports of any other stream are dropped.
    pub stream: u64,
    /// The session the stream belongs to.
    pub session: SessionId,
    pub layout: LogLayout,
    /// Keys go to the pane (always in full screen; `Tab` hands them to the matrix in the split).
    pub focused: bool,
    /// The column the pane is about: its containers for the picker, its pods for a tail.
    pub ds: Option<DsId>,
    /// The view the DaemonSet tail's pod list was computed from.
    synced_view: Option<ViewKey>,
}

impl LogsLayer {
    /// The pane has the keys.
    pub fn has_focus(&self) -> bool {
        self.focused || self.layout == LogLayout::Full
    }
}

/// How streams are opened, from `[logs]` in config.toml.
pub fn log_options(c: &LogConfig) -> LogOptions {
    LogOptions {
        // A negative tail_lines means "the whole log".
        tail_lines: (c.tail_lines >= 0).then_some(c.tail_lines),
        since_seconds: c.since_seconds.filter(|s| *s > 0),
        max_streams: c.max_streams.max(1),
        max_pending_lines: c.buffer_lines.max(1),
        ..LogOptions::default()
    }
}

/// The pods of DaemonSet `ds` on the rows the matrix shows now (row filter, problems only).
pub fn visible_pods(app: &App, ds: DsId) -> Vec<PodRef> {
    let mut out = Vec::new();
    for row in &app.view.rows {
        let RowEntry::Node(id) = row else { continue };
        let Some(node) = app.index.node(*id) else { continue };
        for p in app.index.cell_pods(*id, ds) {
            out.push(PodRef::new(node.name, p.name));
        }
    }
    out
}

/// The container a pod pane starts with: like `kubectl logs`, the first container of the
/// template, so a multi-container pod shows something instead of the API's "a container name
/// must be specified".
fn default_container(app: &App, ds: Option<DsId>) -> (Option<String>, usize) {
    let Some(view) = ds.and_then(|d| app.index.ds(d)) else { return (None, 0) };
    (view.containers.first().cloned(), view.containers.len() + view.init_containers.len())
}

/// `l`: follow the logs of the cursor pod.
pub fn open_pod(app: &mut App, pod: Target, node: String) -> Vec<Effect> {
    let ds = app.cursor_ds();
    let (container, total) = default_container(app, ds);
    let target =
        LogTarget::Pod { namespace: pod.namespace, pod: pod.name, node, container: container.clone(), previous: false };
    let fx = open(app, target, ds);
    if total > 1
        && let Some(c) = container
    {
        let key = app.keymap.first_key(Action::LogsContainer);
        app.notify(format!("container {c} ({total} in the pod; {key} chooses another)"), Level::Info);
    }
    fx
}

/// `L`: tail every pod of the cursor DaemonSet on the rows shown.
pub fn open_daemonset(app: &mut App, daemonset: Target) -> Vec<Effect> {
    let Some(ds) = app.cursor_ds() else { return Vec::new() };
    let (container, _) = default_container(app, Some(ds));
    let pods = visible_pods(app, ds);
    if pods.is_empty() {
        app.notify(format!("no pods of {daemonset} on the {} nodes shown", app.view.node_rows), Level::Info);
        return Vec::new();
    }
    let target =
        LogTarget::DaemonSet { namespace: daemonset.namespace, name: daemonset.name, pods, container, previous: false };
    let fx = open(app, target, Some(ds));
    let key = app.view_key();
    if let Some(l) = app.logs_mut() {
        l.synced_view = Some(key);
    }
    fx
}

/// Open a pane for `target` (replacing any open one) on a fresh stream of the current session.
pub fn open(app: &mut App, target: LogTarget, ds: Option<DsId>) -> Vec<Effect> {
    let mut fx = close(app);
    let opts = PaneOptions { max_lines: app.config.logs.buffer_lines.max(1), ..PaneOptions::default() };
    let stream = app.fresh_id();
    let layer = LogsLayer {
        pane: LogPane::new(target.clone(), opts),
        stream,
        session: app.session,
        layout: LogLayout::from_config(&app.config.logs.layout),
        focused: true,
        ds,
        synced_view: None,
    };
    app.layers.push(Layer::Logs(Box::new(layer)));
    // The split takes rows from the matrix: keep the cursor visible.
    app.relayout();
    app.ensure_visible();
    app.dirty = true;
    let options = log_options(&app.config.logs);
    fx.push(Effect::work(app.session, Work::OpenLogs { stream, target, options }));
    fx
}

/// Close the pane (and its container picker); the stream is closed with it.
pub fn close(app: &mut App) -> Vec<Effect> {
    let Some((session, stream)) = app.logs().map(|l| (l.session, l.stream)) else { return Vec::new() };
    app.remove_layers(|l| matches!(l, Layer::Logs(_) | Layer::Containers(_)));
    app.relayout();
    app.ensure_visible();
    vec![Effect::work(session, Work::CloseLogs { stream })]
}

/// Messages of the pane's stream.
pub fn on_lines(app: &mut App, stream: u64, msgs: Vec<LogMsg>) {
    let Some(l) = app.logs_mut().filter(|l| l.stream == stream) else { return };
    for m in msgs {
        l.pane.apply(m);
    }
    app.dirty = true;
}

/// The loop wrote (or failed to write) the buffer.
pub fn on_saved(app: &mut App, stream: u64, result: Result<std::path::PathBuf, String>) {
    if let Some(l) = app.logs_mut().filter(|l| l.stream == stream) {
        l.pane.saved(result);
        app.dirty = true;
    }
}

/// After every update: a DaemonSet tail follows the visible rows. Cheap when the view did not
/// change (one key comparison).
pub fn after_update(app: &mut App) -> Vec<Effect> {
    let Some(l) = app.logs() else { return Vec::new() };
    let Some(ds) = l.ds.filter(|_| l.pane.target().is_daemonset()) else { return Vec::new() };
    let key = app.view_key();
    if l.synced_view.as_ref() == Some(&key) {
        return Vec::new();
    }
    let pods = visible_pods(app, ds);
    let Some(l) = app.logs_mut() else { return Vec::new() };
    if let LogTarget::DaemonSet { pods: shown, .. } = l.pane.target_mut() {
        *shown = pods.clone();
    }
    l.synced_view = Some(key);
    vec![Effect::work(l.session, Work::UpdateLogPods { stream: l.stream, pods })]
}

/// A bound key of the pane's table, or a key the pane did not bind. `None`: the key is not the
/// pane's, the layer below decides (the matrix has the keys in the split, or it is an
/// application or cluster-action key).
pub fn pane_key(app: &mut App, action: Option<Action>, key: &crossterm::event::KeyEvent) -> Option<Vec<Effect>> {
    let l = app.logs()?;
    let focused = l.has_focus();
    // Layout and focus keys work from either half.
    match action {
        Some(Action::LogsLayout) => {
            let l = app.logs_mut()?;
            l.layout = l.layout.toggled();
            l.focused = true;
            app.relayout();
            app.ensure_visible();
            app.dirty = true;
            return Some(Vec::new());
        }
        Some(Action::LogsFocus) if l.layout == LogLayout::Split => {
            let l = app.logs_mut()?;
            l.focused = !l.focused;
            app.dirty = true;
            return Some(Vec::new());
        }
        _ => {}
    }
    if !focused {
        return None;
    }
    let Some(pa) = action.and_then(pane_action) else {
        // Application keys (quit, help, theme) and cluster actions still work on top of the
        // pane; matrix navigation and filters do not (the pane has the keys).
        let matrix = app.keymap.action_for(key)?;
        let section = app.keymap.binding(matrix).map(|b| b.section);
        return if matches!(section, Some(Section::App | Section::Act)) && matrix != Action::Close {
            None
        } else {
            Some(Vec::new())
        };
    };
    let l = app.logs_mut()?;
    let stream = l.stream;
    let outcome = pane::apply(&mut l.pane, pa);
    app.dirty = true;
    Some(match outcome {
        PaneOutcome::Consumed | PaneOutcome::Ignored => Vec::new(),
        PaneOutcome::Close => close(app),
        PaneOutcome::Reopen(target) => reopen(app, target),
        PaneOutcome::Save(request) => vec![Effect::SaveLogs { stream, request }],
        PaneOutcome::PickContainer => {
            open_picker(app);
            Vec::new()
        }
    })
}

/// The pane's table action for a key-table action.
fn pane_action(a: Action) -> Option<PaneAction> {
    Some(match a {
        Action::LogsClose => PaneAction::Close,
        Action::LogsSearch => PaneAction::Search,
        Action::LogsNext => PaneAction::Next,
        Action::LogsPrev => PaneAction::Prev,
        Action::LogsFilter => PaneAction::Filter,
        Action::LogsFollow => PaneAction::Follow,
        Action::LogsUp => PaneAction::Up,
        Action::LogsDown => PaneAction::Down,
        Action::LogsPageUp => PaneAction::PageUp,
        Action::LogsPageDown => PaneAction::PageDown,
        Action::LogsHalfUp => PaneAction::HalfUp,
        Action::LogsHalfDown => PaneAction::HalfDown,
        Action::LogsTop => PaneAction::Top,
        Action::LogsLeft => PaneAction::Left,
        Action::LogsRight => PaneAction::Right,
        Action::LogsWrap => PaneAction::Wrap,
        Action::LogsTime => PaneAction::Time,
        Action::LogsPrevious => PaneAction::Previous,
        Action::LogsContainer => PaneAction::Container,
        Action::LogsSave => PaneAction::Save,
        Action::LogsClear => PaneAction::Clear,
        _ => return None,
    })
}

/// A key while the pane's search prompt is open.
pub fn prompt_key(app: &mut App, action: Option<Action>, key: crossterm::event::KeyEvent) {
    let Some(l) = app.logs_mut() else { return };
    match action {
        Some(Action::PromptAccept) => l.pane.prompt_accept(),
        Some(Action::PromptCancel) => l.pane.prompt_cancel(),
        Some(Action::PromptErase) => l.pane.prompt_erase(),
        _ => l.pane.prompt_input(key),
    }
    app.dirty = true;
}

/// Replace the stream with one for the pane's changed target (previous container, another
/// container). The pane was cleared; a fresh stream id keeps the old stream's lines out.
fn reopen(app: &mut App, target: LogTarget) -> Vec<Effect> {
    let stream = app.fresh_id();
    let options = log_options(&app.config.logs);
    let Some(l) = app.logs_mut() else { return Vec::new() };
    let old = l.stream;
    l.stream = stream;
    let session = l.session;
    vec![
        Effect::work(session, Work::CloseLogs { stream: old }),
        Effect::work(session, Work::OpenLogs { stream, target, options }),
    ]
}

fn open_picker(app: &mut App) {
    let Some(view) = app.logs().and_then(|l| l.ds).and_then(|d| app.index.ds(d)) else {
        app.notify("no container list for this pane (its DaemonSet is gone)", Level::Warn);
        return;
    };
    let items: Vec<(String, bool)> = view
        .init_containers
        .iter()
        .map(|c| (c.clone(), true))
        .chain(view.containers.iter().map(|c| (c.clone(), false)))
        .collect();
    if items.is_empty() {
        app.notify("the DaemonSet's template lists no containers", Level::Warn);
        return;
    }
    let current = app.logs().and_then(|l| l.pane.target().container().map(str::to_owned));
    let selected = items.iter().position(|(n, _)| Some(n) == current.as_ref()).unwrap_or(0);
    app.layers.push(Layer::Containers(ContainerPicker { items, selected }));
    app.dirty = true;
}

/// A bound key while the container picker is on top.
pub fn containers_action(app: &mut App, action: Action) -> Vec<Effect> {
    let Some(Layer::Containers(picker)) = app.layers.last_mut() else { return Vec::new() };
    app.dirty = true;
    let n = picker.items.len();
    match action {
        Action::ContainersCancel => {
            app.layers.pop();
        }
        Action::ContainersUp => picker.selected = picker.selected.saturating_sub(1),
        Action::ContainersDown => picker.selected = (picker.selected + 1).min(n.saturating_sub(1)),
        Action::ContainersTop => picker.selected = 0,
        Action::ContainersBottom => picker.selected = n.saturating_sub(1),
        Action::ContainersSelect => {
            let choice = picker.items.get(picker.selected).map(|(c, _)| c.clone());
            app.layers.pop();
            if let Some(c) = choice
                && let Some(l) = app.logs_mut()
            {
                let target = l.pane.set_container(&c);
                return reopen(app, target);
            }
        }
        _ => {}
    }
    Vec::new()
}

/// One key on a pane outside the app (tools, tests): the pane's table of `keymap`, or its search
/// prompt's, as the app routes it. Keys the pane does not bind are [`PaneOutcome::Ignored`].
pub fn pane_key_with(keymap: &super::Keymap, pane: &mut LogPane, key: crossterm::event::KeyEvent) -> PaneOutcome {
    use super::keymap::Ctx;
    if pane.prompt_open() {
        match keymap.lookup(Ctx::Prompt, &key) {
            Some(Action::PromptAccept) => pane.prompt_accept(),
            Some(Action::PromptCancel) => pane.prompt_cancel(),
            Some(Action::PromptErase) => pane.prompt_erase(),
            _ => pane.prompt_input(key),
        }
        return PaneOutcome::Consumed;
    }
    match keymap.lookup(Ctx::Logs, &key).and_then(pane_action) {
        Some(a) => pane::apply(pane, a),
        None => PaneOutcome::Ignored,
    }
}
