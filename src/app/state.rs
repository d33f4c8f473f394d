//! `App`: all state of the terminal UI, owned by the event loop (one owner, no locks). The
//! fleet index lives inside it; so do the cached row/column order, the cursor, the open
//! layers (help, filter prompt; log panes and action prompts later) and the settings.

use tui_textarea::TextArea;

use super::keymap::Keymap;
use super::msg::Level;
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

/// A panel or prompt on top of the matrix; the last one in [`App::layers`] gets the keys.
/// Issue 6 adds log panes and issue 7 action prompts here.
/// `Picker`: the context or namespace picker (issue 5, `app::pickers`).
pub enum Layer {
    Help { scroll: u16 },
    Filter(Box<FilterPrompt>),
    Picker(Box<super::pickers::Picker>),
}

/// The `/` prompt: the text area and the filter to restore on Esc.
pub struct FilterPrompt {
    pub textarea: TextArea<'static>,
    pub before: String,
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
    pub context: String,
    pub namespace: Option<String>,
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
    pub view: View,
    pub cursor: Cursor,
    pub filter: String,
    pub problems_only: bool,
    pub sort: SortBy,
    /// Index into `config.group_labels`; `None`: not grouped.
    pub group: Option<usize>,
    pub detail: bool,
    pub layers: Vec<Layer>,
    /// The log pane, its session and layout (issue 6).
    pub logs: super::logs::LogsState,
    pub notice: Option<Notice>,
    /// Something visible changed since the last render.
    pub dirty: bool,
    pub quit: bool,
    /// The clock-dependent text last rendered (ages); a tick marks dirty only when it changes.
    pub(crate) clock_text: String,
    /// Action dialogs, rollout status view, running task (issue 7).
    pub act: super::actions::ActState,
}

impl App {
    pub fn new(index: Index, opts: AppOptions) -> App {
        let (keymap, mut warnings) = Keymap::build(&opts.config.keys, opts.readonly);
        let logs = super::logs::LogsState::new(&opts.config.logs);
        warnings.extend(opts.warnings);
        let notice = (!warnings.is_empty()).then(|| Notice {
            text: warnings.join("; "),
            level: Level::Warn,
            // Shown until the first ticks expire it; `until` is relative to the first tick.
            until: Secs::MAX,
        });
        let mut app = App {
            index,
            context: opts.context,
            namespace: opts.namespace,
            readonly: opts.readonly,
            ascii: opts.ascii || opts.config.ascii,
            config: opts.config,
            keymap,
            themes: opts.themes,
            theme: opts.theme,
            now: 0,
            size: (80, 24),
            view: View::default(),
            cursor: Cursor::default(),
            filter: String::new(),
            problems_only: false,
            sort: SortBy::Name,
            group: None,
            detail: false,
            layers: Vec::new(),
            logs,
            notice,
            dirty: true,
            quit: false,
            clock_text: String::new(),
            act: super::actions::ActState::default(),
        };
        app.refresh_view();
        app
    }

    pub fn theme(&self) -> &Theme {
        self.themes.get(self.theme)
    }

    pub fn group_label(&self) -> Option<&str> {
        self.group.and_then(|i| self.config.group_labels.get(i)).map(String::as_str)
    }

    pub fn view_key(&self) -> ViewKey {
        ViewKey {
            generation: self.index.generation(),
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
        self.clamp_cursor(1);
        true
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

    /// Scroll so the cursor is inside the matrix viewport (from the shared layout).
    pub(crate) fn ensure_visible(&mut self) {
        let (vis_rows, vis_cols) = match crate::ui::layout::geometry(self.size, self) {
            Some(g) => (g.visible_rows.max(1), g.visible_cols.max(1)),
            None => (1, 1),
        };
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

    pub fn notify(&mut self, text: impl Into<String>, level: Level) {
        let secs = match level {
            Level::Info => 4,
            Level::Warn => 8,
            Level::Error => 15,
        };
        self.notice = Some(Notice { text: text.into(), level, until: self.now.saturating_add(secs) });
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
}
