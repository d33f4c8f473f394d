//! Draws a [`LogPane`] into a ratatui `Buffer`: a title row, the log body (node prefix in a stable
//! colour per node, optional timestamps, wrap or horizontal scroll, search matches highlighted) and a
//! status row (or the search prompt). Pure: it reads the pane and writes cells, nothing else. Only
//! the rows on screen are laid out, so a frame costs O(visible rows), not O(buffer).
//!
//! Every string it writes is either sanitized log text or passes through
//! [`crate::logs::sanitize::sanitize`] here, so no cell can hold a raw control character.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;
use unicode_width::UnicodeWidthChar;

use super::pane::LogPane;
use crate::logs::sanitize::{is_dropped, sanitize};
use crate::logs::{LogLine, NODE_COLOURS, StreamState};

/// The styles the pane uses, named by meaning so a theme can fill them in. `Default` reads well on
/// dark and light 16-colour terminals.
#[derive(Clone, Debug)]
pub struct LogStyles {
    pub title: Style,
    pub text: Style,
    pub timestamp: Style,
    /// One style per node colour slot (see [`crate::logs::node_colour`]).
    pub node_palette: [Style; NODE_COLOURS],
    /// A search match.
    pub matched: Style,
    /// The matches on the line `n`/`N` moved to.
    pub current_match: Style,
    pub status: Style,
    pub status_follow: Style,
    pub status_paused: Style,
    pub status_warn: Style,
    pub status_error: Style,
    pub prompt: Style,
}

impl Default for LogStyles {
    fn default() -> Self {
        // Eight of the 16 ANSI colours that stay legible on both dark and light backgrounds; no
        // white/black/grey (they vanish on one of the two).
        let palette = [
            Color::Cyan,
            Color::Green,
            Color::Magenta,
            Color::Blue,
            Color::Yellow,
            Color::Red,
            Color::LightBlue,
            Color::LightMagenta,
        ]
        .map(|c| Style::new().fg(c));
        LogStyles {
            title: Style::new().add_modifier(Modifier::BOLD | Modifier::REVERSED),
            text: Style::new(),
            timestamp: Style::new().add_modifier(Modifier::DIM),
            node_palette: palette,
            matched: Style::new().fg(Color::Black).bg(Color::Yellow),
            current_match: Style::new().fg(Color::Black).bg(Color::LightRed).add_modifier(Modifier::BOLD),
            status: Style::new().add_modifier(Modifier::REVERSED),
            status_follow: Style::new().fg(Color::Black).bg(Color::Green),
            status_paused: Style::new().fg(Color::Black).bg(Color::Yellow),
            status_warn: Style::new().fg(Color::Black).bg(Color::Yellow),
            status_error: Style::new().fg(Color::White).bg(Color::Red),
            prompt: Style::new(),
        }
    }
}

/// Width of a displayed timestamp, `2024-05-01T12:00:00.123Z`.
const TS_WIDTH: usize = 24;

/// Body rows of a pane drawn in `height` rows (a title line and a status line around them).
pub fn body_rows(height: u16) -> u16 {
    match height {
        0..=2 => height.min(1),
        h => h - 2,
    }
}

/// Draw `pane` into `area` of `buf`. Pure: the app tells the pane its body height
/// ([`body_rows`]) whenever the layout changes.
pub fn render(pane: &LogPane, styles: &LogStyles, area: Rect, buf: &mut Buffer) {
    let area = area.intersection(buf.area);
    if area.is_empty() {
        return;
    }
    buf.set_style(area, styles.text);
    let (title_row, body, status_row) = match area.height {
        1 => (None, area, None),
        2 => (None, Rect { height: 1, ..area }, Some(area.y + 1)),
        h => (Some(area.y), Rect { y: area.y + 1, height: h - 2, ..area }, Some(area.y + h - 1)),
    };
    if let Some(y) = title_row {
        draw_title(pane, styles, Rect { y, height: 1, ..area }, buf);
    }
    draw_body(pane, styles, body, buf);
    if let Some(y) = status_row {
        let row = Rect { y, height: 1, ..area };
        match pane.prompt() {
            Some(ta) => {
                let label = if pane.filtering() { "filter /" } else { "/" };
                let w = (label.len() as u16).min(row.width);
                buf.set_stringn(row.x, y, label, usize::from(w), styles.prompt.add_modifier(Modifier::BOLD));
                let rest = Rect { x: row.x + w, width: row.width - w, ..row };
                ta.render(rest, buf);
                scrub(buf, rest);
            }
            None => draw_status(pane, styles, row, buf),
        }
    }
}

/// Text typed by the user could hold control characters pasted in; make sure none stays in a cell.
fn scrub(buf: &mut Buffer, area: Rect) {
    for y in area.top()..area.bottom() {
        for x in area.left()..area.right() {
            let cell = &mut buf[(x, y)];
            if cell.symbol().chars().any(is_dropped) {
                cell.set_symbol("\u{fffd}");
            }
        }
    }
}

fn draw_title(pane: &LogPane, styles: &LogStyles, row: Rect, buf: &mut Buffer) {
    buf.set_style(row, styles.title);
    let text = sanitize(pane.target().describe().as_bytes());
    buf.set_stringn(row.x, row.y, format!(" {text} "), usize::from(row.width), styles.title);
}

fn draw_status(pane: &LogPane, styles: &LogStyles, row: Rect, buf: &mut Buffer) {
    buf.set_style(row, styles.status);
    let mut spans: Vec<Span> = Vec::new();
    if pane.following() {
        spans.push(Span::styled(" FOLLOW ", styles.status_follow));
    } else {
        let behind = pane.bottom_pos().map_or(0, |b| pane.visible_len().saturating_sub(b + 1));
        spans.push(Span::styled(format!(" PAUSED +{behind} (G resumes) "), styles.status_paused));
    }
    let mut parts = vec![format!("{} lines", pane.buffer().len())];
    if let Some(s) = pane.streams() {
        if s.shown < s.total {
            parts.push(format!("showing {} of {} pods", s.shown, s.total));
        } else {
            parts.push(format!("{} pods", s.total));
        }
        if s.open < s.shown {
            parts.push(format!("{} streams open", s.open));
        }
    }
    if let Some(q) = pane.query() {
        let pos = pane.current_match_index().map_or(String::new(), |i| format!("{i}/"));
        let mode = if pane.filtering() { " filter" } else { "" };
        parts.push(format!("/{}{mode} {pos}{} matches", q.pattern(), pane.matches().len()));
    }
    if pane.wrap() {
        parts.push("wrap".into());
    }
    if pane.timestamps() {
        parts.push("ts".into());
    }
    spans.push(Span::styled(format!(" {} ", parts.join(" · ")), styles.status));
    if pane.buffer().dropped() > 0 {
        spans.push(Span::styled(format!(" dropped {} ", pane.buffer().dropped()), styles.status_warn));
    }
    let troubled = pane.troubled();
    if !troubled.is_empty() {
        let failed = troubled.values().filter(|(s, _)| *s == StreamState::Failed).count();
        let style = if failed > 0 { styles.status_error } else { styles.status_warn };
        let (src, (_, text)) = troubled
            .iter()
            .next_back()
            .map_or((String::new(), (StreamState::Open, String::new())), |(k, v)| (k.clone(), v.clone()));
        let what = if troubled.len() == 1 { src } else { format!("{} streams, e.g. {src}", troubled.len()) };
        spans.push(Span::styled(format!(" {what}: {text} "), style));
    } else if let Some(s) = pane.last_status() {
        spans.push(Span::styled(format!(" {s} "), styles.status));
    }
    if let Some(n) = pane.note() {
        spans.push(Span::styled(format!(" {n} "), styles.status_warn));
    }
    // Status texts come from the API server: sanitize every span.
    let spans: Vec<Span> = spans.into_iter().map(|s| Span::styled(sanitize(s.content.as_bytes()), s.style)).collect();
    buf.set_line(row.x, row.y, &Line::from(spans), row.width);
}

/// Columns before the text: timestamp and node prefix.
fn prefix_cols(pane: &LogPane) -> usize {
    let mut n = 0;
    if pane.timestamps() {
        n += TS_WIDTH + 1;
    }
    if pane.target().is_daemonset() && pane.prefix_width() > 0 {
        n += pane.prefix_width() + 1;
    }
    n
}

/// Rows `text` takes when wrapped at `avail` columns, counted as `draw_line` lays it out: a
/// wide character that does not fit at the end of a row starts the next one (so the sum of widths
/// over `avail` can undercount), one wider than the whole row is not drawn.
fn wrapped_rows(text: &str, avail: usize) -> usize {
    crate::text::row_starts(text, avail).count()
}

fn draw_body(pane: &LogPane, styles: &LogStyles, body: Rect, buf: &mut Buffer) {
    let Some(bottom) = pane.bottom_pos() else { return };
    let height = usize::from(body.height);
    let width = usize::from(body.width);
    let pre = prefix_cols(pane);
    // Keep at least half the width for text; the prefix is cut when the pane is narrow.
    let pre = pre.min(width / 2);
    let avail = (width - pre).max(1);
    // Walk up from the bottom line until the rows are full.
    let mut picked: Vec<(u64, usize)> = Vec::new();
    let mut rows = 0usize;
    let mut pos = Some(bottom);
    while let Some(p) = pos
        && let Some(seq) = pane.visible_seq(p)
        && let Some(line) = pane.buffer().get(seq)
    {
        let need = if pane.wrap() { wrapped_rows(&line.text, avail).clamp(1, height) } else { 1 };
        picked.push((seq, need));
        rows += need;
        if rows >= height {
            break;
        }
        pos = p.checked_sub(1);
    }
    let mut skip = rows.saturating_sub(height);
    let mut y = body.y;
    for &(seq, need) in picked.iter().rev() {
        let Some(line) = pane.buffer().get(seq) else { continue };
        let drawn = draw_line(pane, styles, line, seq, body, y, skip, pre, avail, buf);
        debug_assert!(drawn <= need);
        y += drawn as u16;
        skip = 0;
        if y >= body.bottom() {
            break;
        }
    }
}

/// Draw one log line from row `y`, skipping its first `skip` wrapped rows. Returns rows drawn.
#[allow(clippy::too_many_arguments)]
fn draw_line(
    pane: &LogPane,
    styles: &LogStyles,
    line: &LogLine,
    seq: u64,
    body: Rect,
    y: u16,
    skip: usize,
    pre: usize,
    avail: usize,
    buf: &mut Buffer,
) -> usize {
    if skip == 0 && pre > 0 {
        let mut x = body.x;
        let end = body.x + pre as u16;
        if pane.timestamps() {
            if let Some(ts) = line.ts {
                let s = format!("{ts:.3}");
                buf.set_stringn(x, y, &s, usize::from(end - x), styles.timestamp);
            }
            x = (x + TS_WIDTH as u16 + 1).min(end);
        }
        if pane.target().is_daemonset() && x < end {
            let style = styles.node_palette[usize::from(line.source.colour) % NODE_COLOURS];
            buf.set_stringn(x, y, &*line.source.node, usize::from(end - x).saturating_sub(1), style);
        }
    }
    let ranges = match pane.query() {
        Some(q) => q.ranges(&line.text),
        None => Vec::new(),
    };
    let hl = if pane.current_match() == Some(seq) { styles.current_match } else { styles.matched };
    let text_x = body.x + pre as u16;
    let bottom = body.bottom();
    let wrap = pane.wrap();
    let hscroll = if wrap { 0 } else { pane.hscroll() };
    let mut row = 0usize; // wrapped row within the line
    let mut col = 0usize; // column within the line's text (before hscroll)
    let mut r = 0usize; // index into ranges
    let mut last: Option<(u16, u16)> = None;
    for (i, c) in line.text.char_indices() {
        let w = c.width().unwrap_or(0);
        if w == 0 {
            // A combining mark joins the previous cell; nothing else of width 0 is drawn.
            if let Some(pos) = last
                && !is_dropped(c)
            {
                let sym = format!("{}{c}", buf[pos].symbol());
                buf[pos].set_symbol(&sym);
            }
            continue;
        }
        if w > avail {
            // A wide character in a one-column text area cannot be drawn at all.
            continue;
        }
        if wrap && col + w > avail {
            row += 1;
            col = 0;
        }
        let out_row = row.checked_sub(skip);
        let Some(out_row) = out_row else {
            col += w;
            continue;
        };
        let yy = y as usize + out_row;
        if yy >= usize::from(bottom) {
            break;
        }
        if !wrap && col + w > hscroll + avail {
            break;
        }
        if col >= hscroll {
            while r < ranges.len() && ranges[r].1 <= i {
                r += 1;
            }
            let style = if r < ranges.len() && ranges[r].0 <= i { hl } else { styles.text };
            let x = text_x + (col - hscroll) as u16;
            let yy = yy as u16;
            buf[(x, yy)].set_char(c).set_style(style);
            for k in 1..w as u16 {
                buf[(x + k, yy)].reset();
            }
            last = Some((x, yy));
        }
        col += w;
    }
    (row + 1).saturating_sub(skip).min(usize::from(bottom - y))
}

#[cfg(test)]
mod tests {
    use super::wrapped_rows;

    #[test]
    fn a_wide_character_that_does_not_fit_at_a_row_end_starts_the_next_row() {
        // 4 columns: "abc" fills 3, the 2-column '世' cannot take the 4th, so it opens row 2,
        // and "de" then fills row 2 to 4 columns: 2 rows, though 7 columns of text / 4 = 2 too.
        assert_eq!(wrapped_rows("abc世de", 4), 2);
        // "abc世d世" is 8 columns (2 rows by width alone), but "abc" | "世d" | "世": 3 rows.
        assert_eq!(wrapped_rows("abc世d世", 4), 3);
        // Tabs and other zero-width characters take no room; the empty line is one row.
        assert_eq!(wrapped_rows("", 4), 1);
        assert_eq!(wrapped_rows("ab\u{301}cd", 4), 1);
        // A character wider than the row is not drawn and takes no row.
        assert_eq!(wrapped_rows("世", 1), 1);
    }
}
