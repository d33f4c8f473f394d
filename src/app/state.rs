//! `App`: all state of the terminal UI, as plain data. No client, no channel, no task handle:
//! the event loop owns `App` and the cluster executor side by side, and [`super::update`] is the
//! only function that writes `App`.
//!
//! Everything modal or on top of the matrix is a [`Layer`] on one stack: help, the filter
//! prompt, pickers, dialogs, the log pane and its container picker, the detail panel and the
//! rollout status view. Keys go to the top layer first (see `update`).

use tui_textarea::TextArea;

use super::actions::{DialogLayer, RunningTask, StatusView};
use super::inspect::InspectLayer;
use super::keymap::{Ctx, Keymap};
use super::layout::{self, Geometry};
use super::logs::{ContainerPicker, LogsLayer};
use super::msg::{Level, SessionId};
use super::pickers::Picker;
use super::view::{self, RowEntry, SortBy, View, ViewKey};
use crate::config::Config;
use crate::fleet::Index;
use crate::fleet::index::{DsId, NodeId};
use crate::fleet::model::Secs;
use crate::theme::{Theme, ThemeSet};

/// How to build an [`App`] (everything but the index and the clock is a setting).
#[derive(Clone, Debug)]
pub struct AppOptions {
    pub context: String,
    /// `None`: all namespaces.
    pub namespace: Option<String>,
    pub readonly: bool,
    pub config: Config,
    pub themes: ThemeSet,
    /// Index into `themes`.
    pub theme: usize,
    pub ascii: bool,
    /// Warnings gathered while loading config/themes/keys, shown once at start.
    pub warnings: Vec<String>,
}

impl Default for AppOptions {
    fn default() -> Self {
        AppOptions {
            context: String::new(),
            namespace: None,
            readonly: false,
            config: Config::default(),
            themes: ThemeSet::builtin(),
            theme: 0,
            ascii: false,
            warnings: Vec::new(),
        }
    }
}

/// A panel or prompt on top of the matrix; the last one in [`App::layers`] gets keys first.
pub enum Layer {
    Help {
        scroll: u16,
    },
    Filter(Box<FilterPrompt>),
    Picker(Box<Picker>),
    Dialog(Box<DialogLayer>),
    Logs(Box<LogsLayer>),
    Containers(ContainerPicker),
    /// The detail panel of the cursor cell (keys pass through to the matrix).
    Detail,
    /// The live rollout status view (keys pass through to the matrix).
    Status(Box<StatusView>),
    /// The describe / YAML pane (full screen, modal).
    Inspect(Box<InspectLayer>),
    /// The `:` command prompt.
    Command(Box<FilterPrompt>),
}

impl Layer {
    /// The key table this layer reads when it is on top; `None`: keys pass through to the
    /// layer below (except Esc, which closes it).
    pub fn ctx(&self) -> Option<Ctx> {
        match self {
            Layer::Help { .. } => Some(Ctx::Help),
            Layer::Filter(_) => Some(Ctx::Prompt),
            Layer::Picker(_) => Some(Ctx::Picker),
            Layer::Dialog(d) => Some(d.dialog.ctx()),
            Layer::Logs(l) if l.pane.prompt_open() => Some(Ctx::Prompt),
            Layer::Logs(_) => Some(Ctx::Logs),
            Layer::Containers(_) => Some(Ctx::Containers),
            Layer::Inspect(l) if l.prompt.is_some() => Some(Ctx::Prompt),
            Layer::Inspect(_) => Some(Ctx::Inspect),
            Layer::Command(_) => Some(Ctx::Prompt),
            Layer::Detail | Layer::Status(_) => None,
        }
    }
}

/// The `/` prompt.
pub struct FilterPrompt {
    pub textarea: TextArea<'static>,
}

/// A transient line in the footer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    pub text: String,
    pub level: Level,
    /// Unix seconds after which it disappears (at the next tick).
    pub until: Secs,
}

/// Cursor and scroll position, as indices into the cached [`View`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Cursor {
    pub row: usize,
    pub col: usize,
    pub row_offset: usize,
    pub col_offset: usize,
    /// What the cursor is on, so it stays on the same node/DaemonSet when the order changes.
    pub node: Option<NodeId>,
    pub ds: Option<DsId>,
}

pub struct App {
    pub index: Index,
    /// The cluster session everything on screen belongs to ([`SessionId::NONE`] before the
    /// first one). Every cluster effect is planned on it.
    pub session: SessionId,
    pub context: String,
    /// `None`: all namespaces.
    pub namespace: Option<String>,
    /// The namespace the session's kubeconfig context names (offered by the namespace picker
    /// when namespaces cannot be listed).
    pub home_namespace: Option<String>,
    /// The API server of the session (shown where a mutation is confirmed).
    pub server: String,
    /// The kubeconfig user of the session.
    pub user: String,
    pub readonly: bool,
    pub config: Config,
    pub keymap: Keymap,
    pub themes: ThemeSet,
    pub theme: usize,
    pub ascii: bool,
    /// Unix seconds, set by `Msg::Tick` (render never reads a clock).
    pub now: Secs,
    /// Terminal size (columns, rows).
    pub size: (u16, u16),
    /// Where everything goes, for `size` and the open layers; `None`: the terminal is too small
    /// (and then no key but quit and help does anything).
    pub geometry: Option<Geometry>,
    pub view: View,
    pub cursor: Cursor,
    pub filter: String,
    pub problems_only: bool,
    pub sort: SortBy,
    /// Index into `config.group_labels`; `None`: not grouped.
    pub group: Option<usize>,
    pub layers: Vec<Layer>,
    pub notice: Option<Notice>,
    /// The running batch or roll.
    pub task: Option<RunningTask>,
    /// Ids for tasks and log streams.
    pub next_id: u64,
    /// Every watch stream of the session has ended: the data on screen is frozen.
    pub fleet_closed: bool,
    /// What RBAC allows per namespace, and whether a protected context was unlocked.
    pub access: super::access::Access,
    /// The context of the last session (`state.toml`): where the context picker's selection
    /// starts, so Enter goes back to it. Never where the UI starts (that is the kubeconfig's
    /// current context or `--context`, as for kubectl and the headless commands).
    pub remembered_context: Option<String>,
    /// Something visible changed since the last render.
    pub dirty: bool,
    pub quit: bool,
    /// The clock-dependent text on screen (ages); a tick marks dirty only when it changes.
    pub(crate) clock_key: String,
    /// Focus, scroll and folds of the detail panel.
    pub detail: DetailPane,
    /// Quit was pressed while this task ran, and asked first: the next quit goes.
    pub quit_asked: Option<u64>,
    /// An unbound key said once where the help is; it is not said again.
    pub help_hinted: bool,
    /// The last [`MESSAGE_HISTORY`] footer messages (when, level, text), oldest first: the
    /// help screen lists them, so a notice that vanished can still be read.
    pub messages: std::collections::VecDeque<(Secs, Level, String)>,
}

/// Footer messages kept for the help screen.
pub const MESSAGE_HISTORY: usize = 50;

/// The detail panel's own state (the panel itself is [`Layer::Detail`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DetailPane {
    /// The panel has the keys (Tab): j/k/PgUp/PgDn scroll it instead of moving the cursor.
    pub focused: bool,
    /// Lines scrolled, for the cell in `at` only: another cell starts at the top.
    pub scroll: u16,
    pub at: Option<(NodeId, DsId)>,
    /// The node's labels in full (folded to a count by default).
    pub labels_open: bool,
}

impl DetailPane {
    /// The scroll for the cell under the cursor.
    pub fn scroll_for(&self, at: Option<(NodeId, DsId)>) -> u16 {
        if at.is_some() && self.at == at { self.scroll } else { 0 }
    }
}

impl App {
    pub fn new(index: Index, opts: AppOptions) -> App {
        let mut warnings = Vec::new();
        let preset = super::keymap::Preset::parse(&opts.config.keymap).unwrap_or_else(|e| {
            warnings.push(e);
            super::keymap::Preset::Default
        });
        let (keymap, key_warnings) = Keymap::build_with(preset, &opts.config.keys, opts.readonly);
        warnings.extend(key_warnings);
        warnings.extend(opts.warnings);
        let notice = (!warnings.is_empty()).then(|| Notice {
            text: warnings.join("; "),
            level: Level::Warn,
            // Shown until the first ticks expire it; `until` is relative to the first tick.
            until: Secs::MAX,
        });
        let mut app = App {
            index,
            session: SessionId::NONE,
            // A kubeconfig's names are text from elsewhere too.
            context: crate::text::clean_owned(opts.context),
            namespace: opts.namespace,
            home_namespace: None,
            server: String::new(),
            user: String::new(),
            readonly: opts.readonly,
            ascii: opts.ascii || opts.config.ascii,
            config: opts.config,
            keymap,
            themes: opts.themes,
            theme: opts.theme,
            now: 0,
            size: (80, 24),
            geometry: None,
            view: View::default(),
            cursor: Cursor::default(),
            filter: String::new(),
            problems_only: false,
            sort: SortBy::Name,
            group: None,
            layers: Vec::new(),
            notice,
            task: None,
            next_id: 0,
            fleet_closed: false,
            access: super::access::Access::default(),
            remembered_context: None,
            dirty: true,
            quit: false,
            detail: DetailPane::default(),
            quit_asked: None,
            help_hinted: false,
            messages: std::collections::VecDeque::new(),
            clock_key: String::new(),
        };
        app.relayout();
        app.refresh_view();
        app
    }

    pub fn theme(&self) -> &Theme {
        self.themes.get(self.theme)
    }

    pub fn group_label(&self) -> Option<&str> {
        self.group.and_then(|i| self.config.group_labels.get(i)).map(String::as_str)
    }

    /// The inputs of the row and column order. Cell states are not among them: a pod changing
    /// state re-sorts nothing, unless the order shows problem counts (problems-only, the
    /// problems sort, group headers) and a count changed.
    pub fn view_key(&self) -> ViewKey {
        let counts_matter = self.problems_only || self.sort == SortBy::Problems || self.group.is_some();
        ViewKey {
            structure: self.index.structure_generation(),
            problems: if counts_matter { self.index.problem_generation() } else { 0 },
            filter: self.filter.clone(),
            sort: self.sort,
            problems_only: self.problems_only,
            group: self.group_label().map(str::to_string),
        }
    }

    /// Recompute the row/column order if its inputs changed; keep the cursor on the same node
    /// and DaemonSet when they are still shown. Returns whether it recomputed.
    pub fn refresh_view(&mut self) -> bool {
        let key = self.view_key();
        if self.view.key.as_ref() == Some(&key) {
            return false;
        }
        self.view = view::compute(&self.index, &key);
        if let Some(node) = self.cursor.node
            && let Some(i) = self.view.rows.iter().position(|r| *r == RowEntry::Node(node))
        {
            self.cursor.row = i;
        }
        if let Some(ds) = self.cursor.ds
            && let Some(i) = self.view.cols.iter().position(|d| *d == ds)
        {
            self.cursor.col = i;
        }
        self.relayout();
        self.clamp_cursor(1);
        true
    }

    /// Recompute the geometry (size, open layers and label width decide it) and tell the log
    /// pane how many rows it has.
    pub fn relayout(&mut self) {
        self.geometry = layout::geometry(self.size, self);
        let (w, h) = self.size;
        let rows = layout::pane_area(self, w, h).map(|r| crate::logview::body_rows(r.height));
        if let (Some(rows), Some(l)) = (rows, self.logs_mut()) {
            l.pane.set_rows(rows);
        }
    }

    /// Keep the cursor inside the view and on a node row (moving in `dir` past group headers),
    /// then remember what it is on.
    pub(crate) fn clamp_cursor(&mut self, dir: isize) {
        let rows = self.view.rows.len();
        self.cursor.row = self.cursor.row.min(rows.saturating_sub(1));
        self.cursor.col = self.cursor.col.min(self.view.cols.len().saturating_sub(1));
        if rows > 0 && !matches!(self.view.rows[self.cursor.row], RowEntry::Node(_)) {
            let find = |from: usize, step: isize| -> Option<usize> {
                let mut i = from as isize;
                while i >= 0 && (i as usize) < rows {
                    if matches!(self.view.rows[i as usize], RowEntry::Node(_)) {
                        return Some(i as usize);
                    }
                    i += step;
                }
                None
            };
            if let Some(i) = find(self.cursor.row, dir).or_else(|| find(self.cursor.row, -dir)) {
                self.cursor.row = i;
            }
        }
        self.cursor.node = self.cursor_node();
        self.cursor.ds = self.cursor_ds();
        self.ensure_visible();
    }

    pub fn cursor_node(&self) -> Option<NodeId> {
        match self.view.rows.get(self.cursor.row) {
            Some(RowEntry::Node(id)) => Some(*id),
            _ => None,
        }
    }

    pub fn cursor_ds(&self) -> Option<DsId> {
        self.view.cols.get(self.cursor.col).copied()
    }

    /// The cursor's (node, DaemonSet) cell.
    pub fn cursor_cell(&self) -> Option<(NodeId, DsId)> {
        Some((self.cursor_node()?, self.cursor_ds()?))
    }

    /// Rows and columns of the matrix viewport (at least 1 each).
    pub fn viewport(&self) -> (usize, usize) {
        match &self.geometry {
            Some(g) => (g.visible_rows.max(1), g.visible_cols.max(1)),
            None => (1, 1),
        }
    }

    /// Scroll so the cursor is inside the matrix viewport.
    pub(crate) fn ensure_visible(&mut self) {
        let (vis_rows, vis_cols) = self.viewport();
        let c = &mut self.cursor;
        if c.row < c.row_offset {
            c.row_offset = c.row;
        } else if c.row >= c.row_offset + vis_rows {
            c.row_offset = c.row + 1 - vis_rows;
        }
        // When the cursor is on the first node of a group, show its header too.
        if c.row_offset > 0
            && c.row == c.row_offset
            && matches!(self.view.rows.get(c.row - 1), Some(RowEntry::Group { .. }))
        {
            c.row_offset -= 1;
        }
        let max_row_off = self.view.rows.len().saturating_sub(vis_rows);
        c.row_offset = c.row_offset.min(max_row_off);
        if c.col < c.col_offset {
            c.col_offset = c.col;
        } else if c.col >= c.col_offset + vis_cols {
            c.col_offset = c.col + 1 - vis_cols;
        }
        c.col_offset = c.col_offset.min(self.view.cols.len().saturating_sub(vis_cols));
    }

    /// Show a notice. Its text may quote the cluster (a server's error, an object's name):
    /// hostile characters become visible escapes here too, whatever the caller did.
    pub fn notify(&mut self, text: impl Into<String>, level: Level) {
        let text = crate::text::clean_owned(text.into());
        let secs = match level {
            Level::Info => 4,
            Level::Warn => 8,
            Level::Error => 15,
        };
        if self.messages.len() == MESSAGE_HISTORY {
            self.messages.pop_front();
        }
        self.messages.push_back((self.now, level, text.clone()));
        self.notice = Some(Notice { text, level, until: self.now.saturating_add(secs) });
        self.dirty = true;
    }

    pub fn top_layer(&self) -> Option<&Layer> {
        self.layers.last()
    }

    pub fn filter_prompt(&self) -> Option<&FilterPrompt> {
        self.layers.iter().rev().find_map(|l| match l {
            Layer::Filter(p) => Some(p.as_ref()),
            _ => None,
        })
    }

    pub fn help_open(&self) -> bool {
        self.layers.iter().any(|l| matches!(l, Layer::Help { .. }))
    }

    pub fn detail_open(&self) -> bool {
        self.layers.iter().any(|l| matches!(l, Layer::Detail))
    }

    /// The open log pane, wherever it is in the stack.
    pub fn logs(&self) -> Option<&LogsLayer> {
        self.layers.iter().find_map(|l| match l {
            Layer::Logs(l) => Some(l.as_ref()),
            _ => None,
        })
    }

    pub fn logs_mut(&mut self) -> Option<&mut LogsLayer> {
        self.layers.iter_mut().find_map(|l| match l {
            Layer::Logs(l) => Some(l.as_mut()),
            _ => None,
        })
    }

    /// The open describe / YAML pane.
    pub fn inspect(&self) -> Option<&InspectLayer> {
        self.layers.iter().find_map(|l| match l {
            Layer::Inspect(l) => Some(l.as_ref()),
            _ => None,
        })
    }

    pub fn inspect_mut(&mut self) -> Option<&mut InspectLayer> {
        self.layers.iter_mut().find_map(|l| match l {
            Layer::Inspect(l) => Some(l.as_mut()),
            _ => None,
        })
    }

    /// The open dialog, if one is on the stack.
    pub fn dialog(&self) -> Option<&DialogLayer> {
        self.layers.iter().rev().find_map(|l| match l {
            Layer::Dialog(d) => Some(d.as_ref()),
            _ => None,
        })
    }

    pub fn status_view(&self) -> Option<&StatusView> {
        self.layers.iter().find_map(|l| match l {
            Layer::Status(s) => Some(s.as_ref()),
            _ => None,
        })
    }

    /// Remove every layer matching `f`; returns whether one was removed.
    pub fn remove_layers(&mut self, f: impl Fn(&Layer) -> bool) -> bool {
        let before = self.layers.len();
        self.layers.retain(|l| !f(l));
        let removed = self.layers.len() != before;
        if removed {
            self.dirty = true;
        }
        removed
    }

    /// A fresh id for a task or a log stream.
    pub fn fresh_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }
}
