//! The log pane's state and keys: follow/pause and scrolling, `/` search with `n`/`N`, filter mode,
//! wrap, timestamps, previous-container and container-picker requests, save and clear.
//!
//! [`handle_key`] is pure: anything that needs I/O (re-open the stream, pick a container, write a
//! file) comes back as a [`PaneOutcome`] for the app to turn into an effect. Stream output enters
//! through [`LogPane::apply`], once per batch.

use std::collections::{BTreeMap, VecDeque};
use std::io::Write;
use std::path::{Path, PathBuf};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::style::Style;
use tui_textarea::TextArea;

use super::buffer::{DEFAULT_MAX_BYTES, LogBuffer};
use crate::logs::DEFAULT_MAX_LINES;
use crate::logs::{LogLine, LogMsg, LogTarget, StreamState};

/// How a pane is set up.
#[derive(Clone, Debug)]
pub struct PaneOptions {
    /// Ring buffer capacity in lines (default 20,000).
    pub max_lines: usize,
    /// Ring buffer budget for line text in bytes (default 64 MiB).
    pub max_bytes: usize,
    /// Start with long lines wrapped.
    pub wrap: bool,
    /// Start with timestamps shown.
    pub timestamps: bool,
}

impl Default for PaneOptions {
    fn default() -> Self {
        PaneOptions { max_lines: DEFAULT_MAX_LINES, max_bytes: DEFAULT_MAX_BYTES, wrap: false, timestamps: false }
    }
}

/// What the app should do after a key.
#[derive(Debug)]
pub enum PaneOutcome {
    /// The pane used the key (redraw).
    Consumed,
    /// Not a pane key: the app may handle it (e.g. Ctrl-C, `q`).
    Ignored,
    /// Esc: close the pane and cancel its session.
    Close,
    /// Cancel the current session and open a new one for this target (`p` toggled `previous`,
    /// or [`LogPane::set_container`] chose a container). The pane has already been cleared.
    Reopen(LogTarget),
    /// `c`: show a container picker (containers and init containers of the pod/DaemonSet), then
    /// call [`LogPane::set_container`] with the choice.
    PickContainer,
    /// `s`: write this to a file (off the UI task if you like) and report with [`LogPane::saved`].
    Save(SaveRequest),
}

/// The buffer's text, as displayed (node prefix, timestamps when shown), ready to be written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SaveRequest {
    /// A file-name stem naming the source, e.g. `kube-system_fluent-bit`.
    pub stem: String,
    pub contents: String,
}

impl SaveRequest {
    /// Write to a new file `<dir>/logs/<stem>-<UTC time>.log` (never overwriting) and return its path.
    pub fn write_in(&self, state_dir: &Path) -> std::io::Result<PathBuf> {
        let dir = state_dir.join("logs");
        crate::config::create_private_dir(&dir)?;
        let now = jiff::Timestamp::now().strftime("%Y%m%dT%H%M%SZ").to_string();
        for n in 0u32..1000 {
            let name = if n == 0 { format!("{}-{now}.log", self.stem) } else { format!("{}-{now}-{n}.log", self.stem) };
            let path = dir.join(name);
            match crate::config::create_private(&path) {
                Ok(mut f) => {
                    f.write_all(self.contents.as_bytes())?;
                    f.flush()?;
                    return Ok(path);
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
        Err(std::io::Error::new(std::io::ErrorKind::AlreadyExists, "no free file name for the saved log"))
    }
}

/// A committed or in-progress search: smart case (case-insensitive unless the query has an upper-case
/// letter), ASCII case folding only so byte offsets of matches stay valid for highlighting.
#[derive(Clone, Debug)]
pub struct Query {
    pattern: String,
    ignore_case: bool,
}

impl Query {
    pub fn new(pattern: &str) -> Option<Query> {
        if pattern.is_empty() {
            return None;
        }
        let ignore_case = !pattern.chars().any(char::is_uppercase);
        Some(Query { pattern: pattern.to_owned(), ignore_case })
    }

    pub fn pattern(&self) -> &str {
        &self.pattern
    }

    /// Byte offset of the first match at or after `from`.
    fn find_from(&self, hay: &str, from: usize) -> Option<usize> {
        let h = hay.as_bytes();
        let n = self.pattern.as_bytes();
        if from > h.len() || n.len() > h.len() - from {
            return None;
        }
        if !self.ignore_case {
            return hay[from..].find(&self.pattern).map(|i| i + from);
        }
        let first = n[0].to_ascii_lowercase();
        (from..=h.len() - n.len())
            .find(|&i| h[i].to_ascii_lowercase() == first && h[i..i + n.len()].eq_ignore_ascii_case(n))
    }

    pub fn is_match(&self, hay: &str) -> bool {
        self.find_from(hay, 0).is_some()
    }

    /// Non-overlapping byte ranges of the matches in `hay`. Matches start and end on char
    /// boundaries: the pattern is valid UTF-8 and only ASCII bytes compare case-insensitively.
    pub fn ranges(&self, hay: &str) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        let mut at = 0;
        while let Some(i) = self.find_from(hay, at) {
            let end = i + self.pattern.len();
            out.push((i, end));
            at = end;
        }
        out
    }
}

/// Stream counts reported by the session (DaemonSet tails).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StreamCounts {
    pub open: usize,
    pub shown: usize,
    pub total: usize,
}

/// The state of one log pane. See the module docs; the app owns it, feeds it with
/// [`LogPane::apply`] and [`handle_key`], and draws it with [`super::render`].
pub struct LogPane {
    target: LogTarget,
    pub(crate) buf: LogBuffer,
    follow: bool,
    /// When paused: sequence number of the line at the bottom of the view.
    anchor: u64,
    wrap: bool,
    timestamps: bool,
    /// Columns skipped at the start of the text when not wrapping.
    hscroll: usize,
    /// Widest node name seen, for aligned prefixes (capped).
    prefix_width: usize,
    prompt: Option<TextArea<'static>>,
    /// The query in force before the prompt opened (restored by Esc).
    query_before_prompt: Option<Query>,
    query: Option<Query>,
    filter: bool,
    /// Sequence numbers of held lines matching `query`, ascending.
    matches: VecDeque<u64>,
    current: Option<u64>,
    streams: Option<StreamCounts>,
    /// Sources whose stream is not healthy, with the last text said about them.
    troubled: BTreeMap<String, (StreamState, String)>,
    /// The last status text of any kind, for the status line.
    last_status: Option<String>,
    /// A one-shot message (saved to …, search wrapped, no match).
    note: Option<String>,
    /// Body rows on screen, set by the app whenever the layout changes, so paging moves by a
    /// screen. Render never writes it.
    rows: u16,
}

const PREFIX_MAX: usize = 32;

impl LogPane {
    pub fn new(target: LogTarget, opts: PaneOptions) -> LogPane {
        LogPane {
            target,
            buf: LogBuffer::new(opts.max_lines, opts.max_bytes),
            follow: true,
            anchor: 0,
            wrap: opts.wrap,
            timestamps: opts.timestamps,
            hscroll: 0,
            prefix_width: 0,
            prompt: None,
            query_before_prompt: None,
            query: None,
            filter: false,
            matches: VecDeque::new(),
            current: None,
            streams: None,
            troubled: BTreeMap::new(),
            last_status: None,
            note: None,
            rows: 20,
        }
    }

    /// Apply one message from the session (a batch of lines, a stream status, stream counts).
    /// O(lines in the batch), plus a match test per line while a search is active.
    pub fn apply(&mut self, msg: LogMsg) {
        match msg {
            LogMsg::Lines { lines, dropped } => self.push_lines(lines, dropped),
            LogMsg::Status { source, state, text } => {
                let key = source.label();
                match state {
                    StreamState::Open => {
                        self.troubled.remove(&key);
                    }
                    _ => {
                        self.troubled.insert(key.clone(), (state, text.clone()));
                    }
                }
                self.last_status = Some(format!("{key}: {text}"));
            }
            LogMsg::Streams { open, shown, total } => self.streams = Some(StreamCounts { open, shown, total }),
            LogMsg::Note(text) => self.last_status = Some(text),
        }
    }

    /// Append lines (already sanitized) and count `dropped` lines lost upstream.
    pub fn push_lines(&mut self, lines: Vec<LogLine>, dropped: u64) {
        self.buf.note_dropped(dropped);
        for line in lines {
            // A source that delivers lines is healthy again.
            if !self.troubled.is_empty() {
                self.troubled.remove(&line.source.label());
            }
            if self.target.is_daemonset() {
                self.prefix_width = self.prefix_width.max(line.source.node.chars().count().min(PREFIX_MAX));
            }
            let seq = self.buf.end_seq();
            if self.query.as_ref().is_some_and(|q| q.is_match(&line.text)) {
                self.matches.push_back(seq);
            }
            self.buf.push(line);
        }
        let first = self.buf.first_seq();
        while self.matches.front().is_some_and(|&s| s < first) {
            self.matches.pop_front();
        }
        if self.current.is_some_and(|c| c < first) {
            self.current = None;
        }
    }

    /// Set the container and return the target to re-open (the pane is cleared).
    pub fn set_container(&mut self, container: &str) -> LogTarget {
        self.target.set_container(Some(container.to_owned()));
        self.reset();
        self.target.clone()
    }

    /// Report the result of a [`PaneOutcome::Save`] (shown on the status line).
    pub fn saved(&mut self, result: Result<PathBuf, String>) {
        self.note = Some(match result {
            Ok(path) => format!("saved to {}", path.display()),
            Err(e) => format!("save failed: {e}"),
        });
    }

    /// Replace the DaemonSet pod list shown in the title (the session gets it via `update_pods`).
    pub fn target_mut(&mut self) -> &mut LogTarget {
        &mut self.target
    }

    fn reset(&mut self) {
        self.buf.clear();
        self.matches.clear();
        self.current = None;
        self.follow = true;
        self.troubled.clear();
        self.last_status = None;
        self.streams = None;
    }

    // ---- read access for rendering and tests ----

    pub fn target(&self) -> &LogTarget {
        &self.target
    }
    pub fn buffer(&self) -> &LogBuffer {
        &self.buf
    }
    pub fn following(&self) -> bool {
        self.follow
    }
    pub fn wrap(&self) -> bool {
        self.wrap
    }
    pub fn timestamps(&self) -> bool {
        self.timestamps
    }
    pub fn filtering(&self) -> bool {
        self.filter
    }
    pub fn hscroll(&self) -> usize {
        self.hscroll
    }
    pub fn query(&self) -> Option<&Query> {
        self.query.as_ref()
    }
    /// Sequence numbers of held lines that match the search, oldest first.
    pub fn matches(&self) -> impl ExactSizeIterator<Item = u64> + '_ {
        self.matches.iter().copied()
    }
    /// The match `n`/`N` moved to.
    pub fn current_match(&self) -> Option<u64> {
        self.current
    }
    pub fn streams(&self) -> Option<StreamCounts> {
        self.streams
    }
    /// Sources whose stream is failing or retrying, with what was said about them.
    pub fn troubled(&self) -> &BTreeMap<String, (StreamState, String)> {
        &self.troubled
    }
    pub fn last_status(&self) -> Option<&str> {
        self.last_status.as_deref()
    }
    pub fn note(&self) -> Option<&str> {
        self.note.as_deref()
    }
    pub fn prompt(&self) -> Option<&TextArea<'static>> {
        self.prompt.as_ref()
    }
    pub(crate) fn prefix_width(&self) -> usize {
        self.prefix_width
    }
    /// The body rows the pane has on screen (see [`super::render::body_rows`]).
    pub fn set_rows(&mut self, rows: u16) {
        self.rows = rows.max(1);
    }

    // ---- the visible list: every held line, or only matches in filter mode ----

    pub fn visible_len(&self) -> usize {
        if self.filter { self.matches.len() } else { self.buf.len() }
    }

    pub fn visible_seq(&self, pos: usize) -> Option<u64> {
        if self.filter {
            self.matches.get(pos).copied()
        } else {
            (pos < self.buf.len()).then(|| self.buf.first_seq() + pos as u64)
        }
    }

    /// Position of the newest visible line with sequence number ≤ `seq`.
    fn visible_pos(&self, seq: u64) -> Option<usize> {
        if self.filter {
            self.matches.partition_point(|&s| s <= seq).checked_sub(1)
        } else {
            let first = self.buf.first_seq();
            (seq >= first && !self.buf.is_empty()).then(|| ((seq - first) as usize).min(self.buf.len() - 1))
        }
    }

    /// Position of the line drawn on the bottom row, if any line is visible.
    pub fn bottom_pos(&self) -> Option<usize> {
        let len = self.visible_len();
        if len == 0 {
            return None;
        }
        if self.follow { Some(len - 1) } else { Some(self.visible_pos(self.anchor).unwrap_or(0)) }
    }

    fn rows(&self) -> usize {
        usize::from(self.rows)
    }

    fn set_bottom(&mut self, pos: usize) {
        if let Some(seq) = self.visible_seq(pos) {
            self.follow = false;
            self.anchor = seq;
        }
    }

    fn scroll_up(&mut self, k: usize) {
        let Some(b) = self.bottom_pos() else { return };
        let floor = (self.visible_len() - 1).min(self.rows() - 1);
        self.set_bottom(b.saturating_sub(k).max(floor).min(b));
    }

    fn scroll_down(&mut self, k: usize) {
        let Some(b) = self.bottom_pos() else { return };
        if b + k >= self.visible_len() - 1 {
            self.follow = true;
        } else {
            self.set_bottom(b + k);
        }
    }

    fn scroll_top(&mut self) {
        let len = self.visible_len();
        if len > 0 {
            self.set_bottom((len - 1).min(self.rows() - 1));
        }
    }

    /// Show `seq` about mid-screen, pausing follow.
    fn reveal(&mut self, seq: u64) {
        let Some(pos) = self.visible_pos(seq) else { return };
        let len = self.visible_len();
        let bottom = (pos + self.rows() / 2).min(len - 1).max(pos);
        self.set_bottom(bottom);
    }

    // ---- search ----

    /// Replace the search query (None clears it) and rescan the buffer. O(lines held).
    pub fn set_query(&mut self, query: Option<Query>) {
        self.matches.clear();
        self.current = None;
        if let Some(q) = &query {
            self.matches.extend(self.buf.iter_from(0).filter(|(_, l)| q.is_match(&l.text)).map(|(s, _)| s));
        }
        self.query = query;
        if self.query.is_none() {
            self.filter = false;
        }
    }

    /// After a search is committed: the newest match at or above the bottom of the view.
    fn jump_first(&mut self) {
        let bottom = self.bottom_pos().and_then(|p| self.visible_seq(p)).unwrap_or(u64::MAX);
        let i = self.matches.partition_point(|&s| s <= bottom);
        let target = if i > 0 { self.matches.get(i - 1) } else { self.matches.front() }.copied();
        match target {
            Some(seq) => {
                self.current = Some(seq);
                self.reveal(seq);
            }
            None => self.note = Some(format!("pattern not found: {}", self.query.as_ref().map_or("", Query::pattern))),
        }
    }

    /// `n` (newer, down) or `N` (older, up), wrapping around at the ends.
    fn jump(&mut self, newer: bool) {
        if self.matches.is_empty() {
            self.note = Some(match &self.query {
                Some(q) => format!("pattern not found: {}", q.pattern()),
                None => "no search".to_owned(),
            });
            return;
        }
        let from = self.current.or_else(|| self.bottom_pos().and_then(|p| self.visible_seq(p)));
        let next = match (from, newer) {
            (Some(c), true) => {
                let i = self.matches.partition_point(|&s| s <= c);
                self.matches.get(i).copied().or_else(|| {
                    self.note = Some("search wrapped to the oldest match".to_owned());
                    self.matches.front().copied()
                })
            }
            (Some(c), false) => {
                let i = self.matches.partition_point(|&s| s < c);
                match i.checked_sub(1) {
                    Some(j) => self.matches.get(j).copied(),
                    None => {
                        self.note = Some("search wrapped to the newest match".to_owned());
                        self.matches.back().copied()
                    }
                }
            }
            (None, _) => self.matches.back().copied(),
        };
        if let Some(seq) = next {
            self.current = Some(seq);
            self.reveal(seq);
        }
    }

    /// Index (1-based) of the current match among all matches, for "3/17".
    pub fn current_match_index(&self) -> Option<usize> {
        let c = self.current?;
        let i = self.matches.partition_point(|&s| s < c);
        (self.matches.get(i) == Some(&c)).then_some(i + 1)
    }

    fn open_prompt(&mut self) {
        let mut ta = TextArea::default();
        ta.set_cursor_line_style(Style::default());
        ta.set_placeholder_text("search (smart case)");
        if let Some(q) = &self.query {
            ta.insert_str(q.pattern());
        }
        self.query_before_prompt = self.query.clone();
        self.prompt = Some(ta);
    }

    /// The search prompt is open (it takes the typing).
    pub fn prompt_open(&self) -> bool {
        self.prompt.is_some()
    }

    /// Close the prompt and restore the search in force before it opened.
    pub fn prompt_cancel(&mut self) {
        self.prompt = None;
        let before = self.query_before_prompt.take();
        self.set_query(before);
    }

    /// Close the prompt keeping the search, and jump to the first match.
    pub fn prompt_accept(&mut self) {
        self.prompt = None;
        self.query_before_prompt = None;
        if self.query.is_some() {
            self.jump_first();
        }
    }

    /// Erase the prompt's text (the search clears with it).
    pub fn prompt_erase(&mut self) {
        if let Some(ta) = self.prompt.as_mut() {
            ta.select_all();
            ta.cut();
            self.set_query(None);
        }
    }

    /// Typing in the prompt: incremental search.
    pub fn prompt_input(&mut self, key: KeyEvent) {
        if let Some(ta) = self.prompt.as_mut() {
            // Single-line prompt: never let the text area insert a newline.
            let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
            if key.code == KeyCode::Enter || (ctrl && matches!(key.code, KeyCode::Char('m' | 'j'))) {
                return;
            }
            if ta.input(key) {
                let text = ta.lines().first().cloned().unwrap_or_default();
                self.set_query(Query::new(&text));
            }
        }
    }

    /// The buffer as text, as displayed (prefix and timestamps when on).
    pub fn save_request(&self) -> SaveRequest {
        let mut contents = String::with_capacity(self.buf.text_bytes() + self.buf.len() * 16);
        for (_, l) in self.buf.iter_from(0) {
            if self.timestamps
                && let Some(ts) = l.ts
            {
                contents.push_str(&ts.to_string());
                contents.push(' ');
            }
            if self.target.is_daemonset() {
                contents.push_str(&l.source.node);
                contents.push(' ');
            }
            contents.push_str(&l.text);
            contents.push('\n');
        }
        let stem: String = self
            .target
            .file_stem()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '.' { c } else { '_' })
            .collect();
        SaveRequest { stem, contents }
    }
}

/// What a key in the pane asks for (the app's key table maps keys to these).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PaneAction {
    Close,
    Search,
    Next,
    Prev,
    Filter,
    Follow,
    Up,
    Down,
    PageUp,
    PageDown,
    HalfUp,
    HalfDown,
    Top,
    Left,
    Right,
    Wrap,
    Time,
    Previous,
    Container,
    Save,
    Clear,
}

/// Carry out one pane action. Pure: see [`PaneOutcome`] for what the app must do.
pub fn apply(pane: &mut LogPane, action: PaneAction) -> PaneOutcome {
    // One-shot notes last until the next key.
    pane.note = None;
    let page = pane.rows().saturating_sub(1).max(1);
    match action {
        PaneAction::Close => return PaneOutcome::Close,
        PaneAction::Up => pane.scroll_up(1),
        PaneAction::Down => pane.scroll_down(1),
        PaneAction::PageUp => pane.scroll_up(page),
        PaneAction::PageDown => pane.scroll_down(page),
        PaneAction::HalfUp => pane.scroll_up(page / 2),
        PaneAction::HalfDown => pane.scroll_down(page / 2),
        PaneAction::Top => pane.scroll_top(),
        PaneAction::Follow => pane.follow = true,
        PaneAction::Left if !pane.wrap => pane.hscroll = pane.hscroll.saturating_sub(8),
        PaneAction::Right if !pane.wrap => pane.hscroll = pane.hscroll.saturating_add(8),
        PaneAction::Left | PaneAction::Right => {}
        PaneAction::Search => pane.open_prompt(),
        PaneAction::Next => pane.jump(true),
        PaneAction::Prev => pane.jump(false),
        PaneAction::Filter => {
            if pane.query.is_none() {
                pane.filter = true;
                pane.open_prompt();
            } else {
                // Keep the line at the bottom of the view in place across the switch.
                let keep = pane.bottom_pos().and_then(|p| pane.visible_seq(p));
                pane.filter = !pane.filter;
                if let (false, Some(seq)) = (pane.follow, keep) {
                    pane.anchor = seq;
                }
            }
        }
        PaneAction::Wrap => {
            pane.wrap = !pane.wrap;
            pane.hscroll = 0;
        }
        PaneAction::Time => pane.timestamps = !pane.timestamps,
        PaneAction::Previous => {
            let previous = !pane.target.previous();
            pane.target.set_previous(previous);
            pane.reset();
            return PaneOutcome::Reopen(pane.target.clone());
        }
        PaneAction::Container => return PaneOutcome::PickContainer,
        PaneAction::Save => return PaneOutcome::Save(pane.save_request()),
        PaneAction::Clear => {
            pane.buf.clear();
            pane.matches.clear();
            pane.current = None;
            pane.follow = true;
        }
    }
    PaneOutcome::Consumed
}
