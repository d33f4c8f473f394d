//! Log panes in the app (issue 6): the open pane, its session and channel, the split/full-screen
//! layout, which half has the keys, and the container picker.
//!
//! Data flow: `l`/`L` → `Effect::OpenLogs`/`OpenDaemonSetLogs` → [`carry_out`] (in the event
//! loop) spawns a [`LogSession`] with its own channel and installs a [`LogPane`]; the loop drains
//! the channel with a per-frame line budget ([`on_channel`]) so a flooding producer cannot starve
//! input or rendering; keys reach the pane first ([`on_key`]), and what the pane cannot do itself
//! (re-open for `p`/a container, save) comes back as [`LogEffect`]s. A DaemonSet tail follows the
//! visible rows: after every update [`after_update`] recomputes its pods when the view changed
//! (pods re-created, nodes appearing, the row filter edited) and hands them to
//! [`LogSession::update_pods`].
//!
//! `update` stays free of I/O: the only thing it does to a session is drop it (which cancels its
//! streams); spawning and file writes happen in [`carry_out`].

use std::path::PathBuf;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::keymap::{Action, Section};
use super::msg::{Effect, Level};
use super::state::App;
use super::view::{RowEntry, ViewKey};
use crate::cluster::logs::{LogMsg, LogOptions, LogSession, LogTarget, PodRef, spawn_log_session};
use crate::config::LogConfig;
use crate::fleet::index::DsId;
use crate::logview::pane::{self, PaneOutcome};
use crate::logview::{LogPane, PaneOptions};

/// Messages a session may queue towards the loop; each holds up to `batch_lines` lines.
pub const LOG_CHANNEL: usize = 64;
/// Lines applied per wake-up before the loop looks at input again.
pub const LINES_PER_WAKE: usize = 4_000;
/// Lines applied between two frames; beyond it the log arm waits for the next frame, so a
/// flooding producer slows down (and the session counts what it drops) instead of the UI.
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

/// Log work `update` asks the loop to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogEffect {
    /// Replace the session with one for the pane's (changed) target.
    Reopen,
    /// Write the pane's buffer to a file in the state directory.
    Save,
}

impl LogEffect {
    pub fn describe(&self) -> String {
        match self {
            LogEffect::Reopen => "re-open the log streams".into(),
            LogEffect::Save => "save the log buffer".into(),
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

/// Everything about log panes the app holds.
pub struct LogsState {
    pub pane: Option<LogPane>,
    pub layout: LogLayout,
    /// Keys go to the pane (always in full screen; `Tab` hands them to the matrix in the split).
    pub focused: bool,
    pub picker: Option<ContainerPicker>,
    /// The column the pane is about: its containers for the picker, its pods for a tail.
    ds: Option<DsId>,
    session: Option<LogSession>,
    rx: Option<mpsc::Receiver<LogMsg>>,
    client: Option<kube::Client>,
    /// Where saved buffers go (`<state dir>/logs`); discovered at save time when unset.
    state_dir: Option<PathBuf>,
    config: LogConfig,
    /// The view the DaemonSet tail's pod list was computed from.
    synced_view: Option<ViewKey>,
}

impl LogsState {
    pub fn new(config: &LogConfig) -> LogsState {
        LogsState {
            pane: None,
            layout: LogLayout::from_config(&config.layout),
            focused: false,
            picker: None,
            ds: None,
            session: None,
            rx: None,
            client: None,
            state_dir: None,
            config: config.clone(),
            synced_view: None,
        }
    }

    /// The cluster the sessions stream from (set by `run_ui`, or by tests).
    pub fn set_client(&mut self, client: kube::Client) {
        self.client = Some(client);
    }

    /// Save buffers under this directory instead of the discovered state dir.
    pub fn set_state_dir(&mut self, dir: PathBuf) {
        self.state_dir = Some(dir);
    }

    pub fn is_open(&self) -> bool {
        self.pane.is_some()
    }

    /// The pane is open and has the keys.
    pub fn has_focus(&self) -> bool {
        self.pane.is_some() && (self.focused || self.layout == LogLayout::Full)
    }

    /// The split layout is showing (the matrix must leave room).
    pub fn split_open(&self) -> bool {
        self.pane.is_some() && self.layout == LogLayout::Split
    }

    /// The next message of the current session; pending forever without one (a `select!` arm).
    pub async fn recv(&mut self) -> Option<LogMsg> {
        match self.rx.as_mut() {
            Some(rx) => rx.recv().await,
            None => std::future::pending().await,
        }
    }

    /// Close the pane: dropping the session cancels every stream.
    pub fn close(&mut self) {
        self.pane = None;
        self.picker = None;
        self.session = None;
        self.rx = None;
        self.ds = None;
        self.synced_view = None;
        self.focused = false;
    }

    fn options(&self) -> LogOptions {
        let c = &self.config;
        LogOptions {
            // A negative tail_lines means "the whole log".
            tail_lines: (c.tail_lines >= 0).then_some(c.tail_lines),
            since_seconds: c.since_seconds.filter(|s| *s > 0),
            max_streams: c.max_streams.max(1),
            max_pending_lines: c.buffer_lines.max(1),
            ..LogOptions::default()
        }
    }

    fn pane_options(&self) -> PaneOptions {
        PaneOptions { max_lines: self.config.buffer_lines.max(1), ..PaneOptions::default() }
    }

    /// Start (or restart) the session for the pane's target on a fresh channel, so no line of
    /// the previous session can reach the pane.
    fn start_session(&mut self) -> Result<(), String> {
        let Some(target) = self.pane.as_ref().map(|p| p.target().clone()) else { return Ok(()) };
        self.session = None;
        self.rx = None;
        let Some(client) = self.client.clone() else {
            return Err("logs need a cluster connection (none in this run)".into());
        };
        let (tx, rx) = mpsc::channel(LOG_CHANNEL);
        let opts = self.options();
        self.session = Some(spawn_log_session(client, target, opts, tx, CancellationToken::new()));
        self.rx = Some(rx);
        Ok(())
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
/// template (kubectl's `kubectl.kubernetes.io/default-container` annotation aside), so a
/// multi-container pod shows something instead of the API's "a container name must be
/// specified".
fn default_container(app: &App, ds: Option<DsId>) -> (Option<String>, usize) {
    let Some(view) = ds.and_then(|d| app.index.ds(d)) else { return (None, 0) };
    (view.containers.first().cloned(), view.containers.len() + view.init_containers.len())
}

/// Carry out a log effect (called by the event loop right after `update`, so the cursor is
/// still where the key was pressed). Other effects are left alone.
pub fn carry_out(app: &mut App, effect: Effect) {
    match effect {
        Effect::OpenLogs { pod, node } => {
            let ds = app.cursor_ds();
            let (container, total) = default_container(app, ds);
            let target = LogTarget::Pod {
                namespace: pod.namespace,
                pod: pod.name,
                node,
                container: container.clone(),
                previous: false,
            };
            open(app, target, ds);
            if total > 1
                && let Some(c) = container
            {
                app.notify(format!("container {c} ({total} in the pod; c chooses another)"), Level::Info);
            }
        }
        Effect::OpenDaemonSetLogs { daemonset, nodes } => {
            let Some(ds) = app.cursor_ds() else { return };
            let (container, _) = default_container(app, Some(ds));
            let pods = visible_pods(app, ds);
            if pods.is_empty() {
                app.notify(format!("no pods of {daemonset} on the {} nodes shown", nodes.len()), Level::Info);
                return;
            }
            let target = LogTarget::DaemonSet {
                namespace: daemonset.namespace,
                name: daemonset.name,
                pods,
                container,
                previous: false,
            };
            open(app, target, Some(ds));
            app.logs.synced_view = Some(app.view_key());
        }
        Effect::Logs(LogEffect::Reopen) => {
            if let Err(e) = app.logs.start_session() {
                app.notify(e, Level::Error);
            }
            app.dirty = true;
        }
        Effect::Logs(LogEffect::Save) => {
            let Some(pane) = app.logs.pane.as_mut() else { return };
            let dir = app.logs.state_dir.clone().or_else(|| crate::config::Paths::discover().map(|p| p.state_dir));
            let result = match dir {
                Some(dir) => pane.save_request().write_in(&dir),
                None => {
                    Err(std::io::Error::new(std::io::ErrorKind::NotFound, "no state directory (no home directory)"))
                }
            };
            pane.saved(result);
            app.dirty = true;
        }
        _ => {}
    }
}

/// Open a pane for `target` (replacing any open one) and start its session; `ds` is the column
/// it belongs to (container picker, DaemonSet pod updates), if any.
pub fn open(app: &mut App, target: LogTarget, ds: Option<DsId>) {
    let logs = &mut app.logs;
    logs.close();
    logs.pane = Some(LogPane::new(target, logs.pane_options()));
    logs.ds = ds;
    logs.focused = true;
    if let Err(e) = logs.start_session() {
        app.notify(e, Level::Error);
    }
    // The split takes rows from the matrix: keep the cursor visible.
    app.ensure_visible();
    app.dirty = true;
}

/// Apply what the channel gave (`first`) and whatever else is queued, up to `budget` lines (at
/// least `first`). Returns the lines applied. `None`: the session ended (a finite read such as
/// the previous container's log) — the pane stays with what it got.
pub fn on_channel(app: &mut App, first: Option<LogMsg>, budget: usize) -> usize {
    let logs = &mut app.logs;
    let Some(first) = first else {
        logs.rx = None;
        return 0;
    };
    let Some(pane) = logs.pane.as_mut() else { return 0 };
    let mut applied = msg_lines(&first);
    pane.apply(first);
    let budget = budget.min(LINES_PER_WAKE);
    while applied < budget {
        let Some(rx) = logs.rx.as_mut() else { break };
        match rx.try_recv() {
            Ok(msg) => {
                applied += msg_lines(&msg);
                pane.apply(msg);
            }
            Err(_) => break,
        }
    }
    app.dirty = true;
    applied.max(1)
}

fn msg_lines(m: &LogMsg) -> usize {
    match m {
        LogMsg::Lines { lines, .. } => lines.len(),
        _ => 0,
    }
}

/// Apply a batch of session messages to the pane (tests and tools that drive `update` by hand).
pub fn apply_msgs(app: &mut App, msgs: Vec<LogMsg>) {
    if let Some(pane) = app.logs.pane.as_mut() {
        for m in msgs {
            pane.apply(m);
        }
        app.dirty = true;
    }
}

/// After every update: a DaemonSet tail follows the visible rows. Cheap when the view did not
/// change (one key comparison).
pub fn after_update(app: &mut App) {
    let Some(pane) = app.logs.pane.as_ref() else { return };
    if !pane.target().is_daemonset() || app.logs.session.is_none() {
        return;
    }
    let Some(ds) = app.logs.ds else { return };
    let key = app.view_key();
    if app.logs.synced_view.as_ref() == Some(&key) {
        return;
    }
    let pods = visible_pods(app, ds);
    if let Some(pane) = app.logs.pane.as_mut()
        && let LogTarget::DaemonSet { pods: shown, .. } = pane.target_mut()
    {
        *shown = pods.clone();
    }
    if let Some(s) = &app.logs.session {
        s.update_pods(pods);
    }
    app.logs.synced_view = Some(key);
}

/// Keys while a pane is open. `None`: not ours, the app keymap decides (a layer such as help is
/// on top, or the matrix has the keys in the split).
pub fn on_key(app: &mut App, key: KeyEvent) -> Option<Vec<Effect>> {
    if app.logs.pane.is_none() || !app.layers.is_empty() {
        return None;
    }
    let plain = !key.modifiers.intersects(KeyModifiers::CONTROL | KeyModifiers::ALT);
    // Layout and focus keys work from either half.
    match key.code {
        KeyCode::Char('z') if plain => {
            app.logs.layout = app.logs.layout.toggled();
            app.logs.focused = true;
            app.ensure_visible();
            app.dirty = true;
            return Some(Vec::new());
        }
        KeyCode::Tab if plain && app.logs.layout == LogLayout::Split => {
            app.logs.focused = !app.logs.focused;
            app.dirty = true;
            return Some(Vec::new());
        }
        _ => {}
    }
    if !app.logs.has_focus() {
        return None;
    }
    if app.logs.picker.is_some() {
        return Some(picker_key(app, key));
    }
    let pane = app.logs.pane.as_mut()?;
    let outcome = pane::handle_key(pane, key);
    app.dirty = true;
    match outcome {
        PaneOutcome::Consumed => Some(Vec::new()),
        PaneOutcome::Close => {
            app.logs.close();
            app.ensure_visible();
            Some(Vec::new())
        }
        PaneOutcome::Reopen(_) => Some(vec![Effect::Logs(LogEffect::Reopen)]),
        PaneOutcome::Save(_) => Some(vec![Effect::Logs(LogEffect::Save)]),
        PaneOutcome::PickContainer => {
            open_picker(app);
            Some(Vec::new())
        }
        PaneOutcome::Ignored => {
            // Application keys (quit, help, theme) and cluster actions still work on top of the
            // pane; matrix navigation and filters do not (the pane has the keys).
            let action = app.keymap.action_for(&key)?;
            let section = app.keymap.binding(action).map(|b| b.section);
            if matches!(section, Some(Section::App | Section::Act)) && action != Action::Close {
                None
            } else {
                Some(Vec::new())
            }
        }
    }
}

fn open_picker(app: &mut App) {
    let Some(view) = app.logs.ds.and_then(|d| app.index.ds(d)) else {
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
    let current = app.logs.pane.as_ref().and_then(|p| p.target().container().map(str::to_owned));
    let selected = items.iter().position(|(n, _)| Some(n) == current.as_ref()).unwrap_or(0);
    app.logs.picker = Some(ContainerPicker { items, selected });
}

fn picker_key(app: &mut App, key: KeyEvent) -> Vec<Effect> {
    let Some(picker) = app.logs.picker.as_mut() else { return Vec::new() };
    app.dirty = true;
    let n = picker.items.len();
    match key.code {
        KeyCode::Esc => app.logs.picker = None,
        KeyCode::Up | KeyCode::Char('k') => picker.selected = picker.selected.saturating_sub(1),
        KeyCode::Down | KeyCode::Char('j') => picker.selected = (picker.selected + 1).min(n.saturating_sub(1)),
        KeyCode::Home => picker.selected = 0,
        KeyCode::End => picker.selected = n.saturating_sub(1),
        KeyCode::Enter => {
            let choice = picker.items.get(picker.selected).map(|(c, _)| c.clone());
            app.logs.picker = None;
            if let (Some(c), Some(pane)) = (choice, app.logs.pane.as_mut()) {
                pane.set_container(&c);
                return vec![Effect::Logs(LogEffect::Reopen)];
            }
        }
        _ => {}
    }
    Vec::new()
}

/// The pane's keys: (keys, what they do, footer label). Help and the footer are generated from
/// this table; `logview::pane::handle_key` implements them (plus `z`/`Tab` here).
pub const PANE_KEYS: &[(&str, &str, Option<&str>)] = &[
    ("Esc", "close the log pane", Some("close")),
    ("/", "search (smart case); Enter keeps it", Some("search")),
    ("n/N", "next / previous match", Some("next")),
    ("f", "filter: only matching lines, on/off", Some("filter")),
    ("G/End", "follow new lines (scrolling up pauses)", Some("follow")),
    ("Up/Down/PgUp/PgDn/g", "scroll; g: oldest line", None),
    ("Left/Right/h/l", "scroll sideways (without wrap)", None),
    ("w", "wrap long lines on/off", Some("wrap")),
    ("t", "timestamps on/off", Some("time")),
    ("p", "previous container's logs on/off", Some("prev")),
    ("c", "choose the container (init containers too)", Some("container")),
    ("s", "save the buffer to the state directory", Some("save")),
    ("x", "clear the buffer", None),
    ("z", "split / full screen", Some("layout")),
    ("Tab", "keys to the matrix / back to the pane (split)", Some("focus")),
];

/// The footer while the pane (or its picker) has the keys: (keys, label, always shown).
pub fn footer_items(app: &App) -> Option<Vec<(String, String, bool)>> {
    if !app.logs.has_focus() || !app.layers.is_empty() {
        return None;
    }
    if app.logs.picker.is_some() {
        return Some(vec![
            ("Up/Down".into(), "choose".into(), true),
            ("Enter".into(), "stream it".into(), true),
            ("Esc".into(), "cancel".into(), true),
        ]);
    }
    let mut out: Vec<(String, String, bool)> = PANE_KEYS
        .iter()
        .filter(|(k, ..)| app.logs.layout == LogLayout::Split || *k != "Tab")
        .filter_map(|(k, _, label)| label.map(|l| ((*k).to_string(), l.to_string(), *k == "Esc")))
        .collect();
    for action in [Action::Help, Action::Quit] {
        let keys = app.keymap.binding(action).and_then(|b| b.keys.first()).map(ToString::to_string);
        if let Some(k) = keys {
            out.push((k, action.name().to_string(), true));
        }
    }
    Some(out)
}
