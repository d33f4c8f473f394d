//! The describe / YAML pane, as state: which objects of the cursor cell it can show (its pod,
//! node and DaemonSet), which one and how (describe or YAML), the fetched text, scroll and
//! search.
//!
//! Data flow: `v` / `Y` (or `d` / `y` in the k9s preset) push an [`InspectLayer`] and ask the
//! executor for the object (`Work::Inspect`, a GET and, for describe, its events) with a fresh
//! request id; the `Report::Inspected` of that id (and session) fills the pane. Tab moves to
//! the next object, which is fetched the same way. The text is sanitised here, once, before
//! it is stored: the pane never draws a byte the cluster chose as a control character.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use tui_textarea::TextArea;

use super::keymap::Action;
use super::msg::{Effect, Level, SessionId, Work};
use super::state::{App, Layer};
use crate::inspect::{self, Fetched, Kind, Mode, ObjectRef};

/// An open describe / YAML pane.
pub struct InspectLayer {
    pub mode: Mode,
    /// The cursor cell's objects at the time the pane opened (pod first when there is one).
    pub objects: Vec<ObjectRef>,
    /// Index into `objects`.
    pub at: usize,
    /// The request whose answer the pane waits for (or shows).
    pub request: u64,
    pub session: SessionId,
    /// `None` while the answer is on its way; `Err`: the server's message.
    pub result: Option<Result<(), String>>,
    /// The text, sanitised, one entry a line.
    pub lines: Vec<String>,
    /// The first line shown.
    pub scroll: usize,
    /// The last search (case-insensitive); empty: none.
    pub query: String,
    /// The line of the current match.
    pub matched: Option<usize>,
    /// The search prompt while it is open.
    pub prompt: Option<TextArea<'static>>,
}

impl InspectLayer {
    pub fn object(&self) -> Option<&ObjectRef> {
        self.objects.get(self.at)
    }

    /// The pane's title: mode, object, and what Tab would show next.
    pub fn title(&self) -> String {
        let what = self.object().map(ToString::to_string).unwrap_or_default();
        format!("{} {what}", self.mode.name())
    }
}

/// The cursor cell's pod, node and DaemonSet, as objects to fetch.
fn cursor_objects(app: &App) -> Vec<ObjectRef> {
    let mut out = Vec::new();
    let node = app.cursor_node().and_then(|n| app.index.node(n)).map(|n| n.name.to_string());
    if let (Some(n), Some(d)) = (app.cursor_node(), app.cursor_ds())
        && let Some(pod) = app.index.cell(n, d).pod
    {
        out.push(ObjectRef { kind: Kind::Pod, namespace: Some(pod.namespace.to_string()), name: pod.name.to_string() });
    }
    if let Some(name) = node {
        out.push(ObjectRef { kind: Kind::Node, namespace: None, name });
    }
    if let Some(ds) = app.cursor_ds().and_then(|d| app.index.ds(d)) {
        out.push(ObjectRef {
            kind: Kind::DaemonSet,
            namespace: Some(ds.namespace.to_string()),
            name: ds.name.to_string(),
        });
    }
    out
}

/// Open the pane in `mode` on the cursor cell's first object.
pub fn open(app: &mut App, mode: Mode) -> Vec<Effect> {
    let objects = cursor_objects(app);
    if objects.is_empty() {
        app.notify("nothing under the cursor to show", Level::Info);
        return Vec::new();
    }
    app.remove_layers(|l| matches!(l, Layer::Inspect(_)));
    let layer = InspectLayer {
        mode,
        objects,
        at: 0,
        request: 0,
        session: app.session,
        result: None,
        lines: Vec::new(),
        scroll: 0,
        query: String::new(),
        matched: None,
        prompt: None,
    };
    app.layers.push(Layer::Inspect(Box::new(layer)));
    app.dirty = true;
    fetch(app)
}

/// Ask for the pane's current object with a fresh request id.
fn fetch(app: &mut App) -> Vec<Effect> {
    let id = app.fresh_id();
    let session = app.session;
    let Some(l) = app.inspect_mut() else { return Vec::new() };
    l.request = id;
    l.session = session;
    l.result = None;
    l.lines.clear();
    l.scroll = 0;
    l.matched = None;
    let Some(object) = l.object().cloned() else { return Vec::new() };
    let events = l.mode == Mode::Describe;
    vec![Effect::work(session, Work::Inspect { id, object, events })]
}

/// The executor's answer to request `id`.
pub fn on_report(app: &mut App, id: u64, result: Result<Fetched, String>) {
    let now = app.now;
    let Some(l) = app.inspect_mut().filter(|l| l.request == id) else { return };
    let kind = l.object().map(|o| o.kind).unwrap_or(Kind::Pod);
    match result {
        Ok(fetched) => {
            l.lines = inspect::text(l.mode, kind, &fetched, now).into_iter().map(crate::text::clean_owned).collect();
            l.result = Some(Ok(()));
        }
        Err(e) => {
            l.lines = vec![crate::text::clean_owned(e.clone())];
            l.result = Some(Err(crate::text::clean_owned(e)));
        }
    }
    if !l.query.is_empty() {
        l.matched = find(l, 0, true);
    }
    app.dirty = true;
}

/// Rows of text the pane shows (the screen less header, title, footer).
fn page(app: &App) -> usize {
    usize::from(app.size.1).saturating_sub(4).max(1)
}

/// One line of the pane as the rows it takes at `width` columns: long lines (an event's message,
/// an image digest) wrap as a terminal wraps `kubectl describe`, so nothing is cut off. A wide
/// character that does not fit at a row's end opens the next row.
pub fn wrap_line(line: &str, width: usize) -> Vec<String> {
    let starts: Vec<usize> = crate::text::row_starts(line, width.max(2)).collect();
    let ends = starts.iter().skip(1).copied().chain([line.len()]);
    starts.iter().zip(ends).map(|(&a, b)| line[a..b].to_string()).collect()
}

/// How many rows line `i` takes (as [`wrap_line`] cuts it, without building the rows).
fn rows_of(l: &InspectLayer, i: usize, width: usize) -> usize {
    l.lines.get(i).map_or(1, |line| crate::text::row_starts(line, width.max(2)).count())
}

/// The first line of the page after the one starting at `from` (`rows` rows of `width` columns).
fn page_down(l: &InspectLayer, from: usize, width: usize, rows: usize) -> usize {
    let (mut i, mut used) = (from, 0usize);
    while i < l.lines.len() {
        used += rows_of(l, i, width);
        if used > rows {
            break;
        }
        i += 1;
    }
    i.max(from + 1).min(l.lines.len().saturating_sub(1))
}

/// The first line of the page that ends just before line `before`.
fn page_up(l: &InspectLayer, before: usize, width: usize, rows: usize) -> usize {
    let (mut i, mut used) = (before, 0usize);
    while i > 0 {
        used += rows_of(l, i - 1, width);
        if used > rows {
            break;
        }
        i -= 1;
    }
    i
}

/// A bound key of the pane's table; a key it does not bind does nothing (the pane is modal),
/// except help and quit, which still work on top of it.
pub fn pane_key(app: &mut App, action: Option<Action>, key: &KeyEvent) -> Vec<Effect> {
    let page = page(app);
    let width = usize::from(app.size.0);
    let Some(action) = action else {
        if let Some(a @ (Action::Help | Action::NextTheme)) = app.keymap.action_for(key) {
            return super::update::matrix_action(app, a);
        }
        return Vec::new();
    };
    let Some(l) = app.inspect_mut() else { return Vec::new() };
    let last = l.lines.len().saturating_sub(1);
    match action {
        Action::InspectClose => {
            app.remove_layers(|l| matches!(l, Layer::Inspect(_)));
            return Vec::new();
        }
        Action::InspectCycle => {
            l.at = (l.at + 1) % l.objects.len().max(1);
            app.dirty = true;
            return fetch(app);
        }
        Action::InspectMode => {
            l.mode = match l.mode {
                Mode::Describe => Mode::Yaml,
                Mode::Yaml => Mode::Describe,
            };
            app.dirty = true;
            return fetch(app);
        }
        Action::InspectSearch => {
            let mut ta = TextArea::new(vec![l.query.clone()]);
            ta.move_cursor(tui_textarea::CursorMove::End);
            l.prompt = Some(ta);
        }
        Action::InspectNext | Action::InspectPrev => {
            if l.query.is_empty() {
                let key = app.keymap.first_key(Action::InspectSearch);
                app.notify(format!("no search yet: {key} searches"), Level::Info);
                return Vec::new();
            }
            let forward = action == Action::InspectNext;
            let from = match l.matched {
                Some(m) if forward => m + 1,
                Some(m) => m.wrapping_sub(1),
                None => l.scroll,
            };
            match find(l, from, forward) {
                Some(m) => {
                    l.matched = Some(m);
                    l.scroll = m;
                }
                None => {
                    let q = l.query.clone();
                    app.notify(format!("{q:?} not found"), Level::Info);
                }
            }
        }
        Action::InspectUp => l.scroll = l.scroll.saturating_sub(1),
        Action::InspectDown => l.scroll = (l.scroll + 1).min(last),
        Action::InspectPageUp => l.scroll = page_up(l, l.scroll, width, page).min(l.scroll.saturating_sub(1)),
        Action::InspectPageDown => l.scroll = page_down(l, l.scroll, width, page),
        Action::InspectTop => l.scroll = 0,
        Action::InspectBottom => l.scroll = page_up(l, l.lines.len(), width, page),
        _ => {}
    }
    app.dirty = true;
    Vec::new()
}

/// The first line at or after `from` (before, backwards; wrapping) holding the query.
fn find(l: &InspectLayer, from: usize, forward: bool) -> Option<usize> {
    let n = l.lines.len();
    if n == 0 || l.query.is_empty() {
        return None;
    }
    let q = l.query.to_lowercase();
    let hit = |i: usize| l.lines[i].to_lowercase().contains(&q);
    let start = if from >= n { if forward { 0 } else { n - 1 } } else { from };
    (0..n).map(|k| if forward { (start + k) % n } else { (start + n - k) % n }).find(|&i| hit(i))
}

/// A key while the pane's search prompt is open: Enter searches, Esc cancels.
pub fn prompt_key(app: &mut App, action: Option<Action>, key: KeyEvent) {
    let Some(l) = app.inspect_mut() else { return };
    let Some(ta) = l.prompt.as_mut() else { return };
    match action {
        Some(Action::PromptAccept) => {
            l.query = ta.lines().first().cloned().unwrap_or_default();
            l.prompt = None;
            l.matched = find(l, l.scroll, true);
            if let Some(m) = l.matched {
                l.scroll = m;
            } else if !l.query.is_empty() {
                let q = l.query.clone();
                app.notify(format!("{q:?} not found"), Level::Info);
            }
        }
        Some(Action::PromptCancel) => l.prompt = None,
        Some(Action::PromptErase) => {
            ta.select_all();
            ta.cut();
        }
        _ => {
            let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
            if !(key.code == KeyCode::Enter || (ctrl && matches!(key.code, KeyCode::Char('m' | 'j')))) {
                ta.input(key);
            }
        }
    }
    app.dirty = true;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer(lines: &[&str]) -> InspectLayer {
        InspectLayer {
            mode: Mode::Describe,
            objects: Vec::new(),
            at: 0,
            request: 0,
            session: SessionId::NONE,
            result: Some(Ok(())),
            lines: lines.iter().map(|s| s.to_string()).collect(),
            scroll: 0,
            query: String::new(),
            matched: None,
            prompt: None,
        }
    }

    #[test]
    fn long_lines_wrap_by_display_columns_and_nothing_is_lost() {
        assert_eq!(wrap_line("abcdefg", 3), ["abc", "def", "g"]);
        assert_eq!(wrap_line("", 3), [""]);
        // '世' is two columns: it does not fit after "ab" in 3 columns and opens the next row.
        assert_eq!(wrap_line("ab世c", 3), ["ab", "世c"]);
        assert_eq!(wrap_line("ab世c", 3).concat(), "ab世c");
    }

    #[test]
    fn a_page_is_the_lines_whose_wrapped_rows_fill_the_screen() {
        // Width 4, 3 rows a page: "aaaaaaaa" takes 2 rows, so a page from line 0 holds lines 0
        // and 1 ("aaaaaaaa", "b") and the next page starts at line 2 ("c").
        let l = layer(&["aaaaaaaa", "b", "c", "d", "e"]);
        assert_eq!(page_down(&l, 0, 4, 3), 2);
        assert_eq!(page_down(&l, 2, 4, 3), 4);
        // Never past the last line, and always at least one line on.
        assert_eq!(page_down(&l, 4, 4, 3), 4);
        let long = layer(&["aaaaaaaaaaaaaaaa", "b"]);
        assert_eq!(page_down(&long, 0, 4, 3), 1);
        // Back from line 4: "d", "c", "b" fill 3 rows, so the page before starts at line 1.
        assert_eq!(page_up(&l, 4, 4, 3), 1);
        // The last page ends with the last line: "c", "d", "e".
        assert_eq!(page_up(&l, 5, 4, 3), 2);
        assert_eq!(page_up(&l, 1, 4, 3), 0);
    }
}
