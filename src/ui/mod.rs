//! Drawing. Every function here is a pure function of `&App` into a `Frame`: no I/O, no
//! clock reads (`app.now`), no mutation. Only the visible rows and columns are touched.
//!
//! Files: `layout` (where things go, shared with `update`), `header`, `matrix` (column
//! headers, rows, totals, legend), `detail`, `footer` (keys that apply now, notices, the
//! filter prompt via `prompt`), `help` (generated from the keymap).

pub mod detail;
pub mod dialogs;
pub mod footer;
pub mod header;
pub mod help;
pub mod layout;
pub mod logs;
pub mod matrix;
pub mod pickers;
pub mod prompt;
pub mod rollout;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Wrap};
use unicode_width::UnicodeWidthChar;

use crate::app::App;
use crate::fleet::model::Secs;
use crate::theme::Slot;

/// Draw the whole screen.
pub fn render(app: &App, f: &mut Frame) {
    let area = f.area();
    let Some(g) = layout::geometry((area.width, area.height), app) else {
        too_small(app, f, area);
        return;
    };
    header::render(app, f, g.header);
    matrix::render(app, f, &g);
    if let Some(d) = g.detail {
        detail::render(app, f, d);
    }
    logs::render(app, f, area);
    footer::render(app, f, g.footer);
    // Issue 7: rollout status view over the bottom of the matrix, action dialogs on top.
    rollout::render(app, f, g.body);
    dialogs::render(app, f, area);
    if app.help_open() {
        help::render(app, f, area);
    }
    // Issue 5: the context/namespace picker.
    if let Some(crate::app::Layer::Picker(p)) = app.top_layer() {
        pickers::render(app, p, f, area);
    }
}

fn too_small(app: &App, f: &mut Frame, area: Rect) {
    let text = format!(
        "Terminal too small: {}×{}. daemonscope needs at least {}×{}. Enlarge the window (or press q to quit).",
        area.width,
        area.height,
        layout::MIN_WIDTH,
        layout::MIN_HEIGHT
    );
    let p = Paragraph::new(Line::styled(text, app.theme().style(Slot::Error))).wrap(Wrap { trim: true });
    f.render_widget(p, area);
}

/// The text on screen that depends on the clock (stream ages, pod ages in the detail panel).
/// A tick re-renders only when this changes, so an idle screen costs nothing.
pub fn clock_text(app: &App) -> String {
    let mut s = header::streams_text(app);
    if app.detail {
        s.push('|');
        s.push_str(&detail::clock_text(app));
    }
    if let Some(n) = &app.notice {
        s.push_str(if n.until > app.now { "|notice" } else { "|expired" });
    }
    s
}

/// A kubectl-style short age: `42s`, `5m`, `3h`, `12d` (`duration.HumanDuration`'s coarse form).
pub fn fmt_age(secs: Secs) -> String {
    let s = secs.max(0);
    match s {
        0..120 => format!("{s}s"),
        120..7_200 => format!("{}m", s / 60),
        7_200..172_800 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86_400),
    }
}

/// Cut `s` to at most `width` terminal columns, with `…` in the middle when it is cut (node
/// names share long prefixes and differ at both ends, e.g. `ip-10-0-1-23.ec2.internal`).
pub fn fit_middle(s: &str, width: usize, ascii: bool) -> String {
    let w: usize = s.chars().map(|c| c.width().unwrap_or(0)).sum();
    if w <= width {
        return s.to_string();
    }
    if width == 0 {
        return String::new();
    }
    let keep = width - 1;
    let head = keep.div_ceil(2);
    let tail = keep - head;
    let chars: Vec<char> = s.chars().collect();
    let mut out: String = chars.iter().take(head).collect();
    out.push(ellipsis(ascii));
    out.extend(chars[chars.len() - tail..].iter());
    out
}

/// The ellipsis for cut text (`~` in ASCII mode).
pub fn ellipsis(ascii: bool) -> char {
    if ascii { '~' } else { '…' }
}

/// Pick the Unicode or the ASCII form of a decoration.
pub fn deco(ascii: bool, unicode: &'static str, plain: &'static str) -> &'static str {
    if ascii { plain } else { unicode }
}

/// Cut `s` to at most `width` columns with a trailing `…`.
pub fn fit_end(s: &str, width: usize, ascii: bool) -> String {
    let mut out = String::new();
    let mut used = 0;
    let total: usize = s.chars().map(|c| c.width().unwrap_or(0)).sum();
    if total <= width {
        return s.to_string();
    }
    for c in s.chars() {
        let cw = c.width().unwrap_or(0);
        if used + cw + 1 > width {
            break;
        }
        out.push(c);
        used += cw;
    }
    if width > 0 {
        out.push(ellipsis(ascii));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_follow_kubectl_short_form() {
        assert_eq!(fmt_age(42), "42s");
        assert_eq!(fmt_age(300), "5m");
        assert_eq!(fmt_age(3 * 3600), "3h");
        assert_eq!(fmt_age(3 * 86_400), "3d");
        assert_eq!(fmt_age(-5), "0s");
    }

    #[test]
    fn long_names_are_cut_in_the_middle() {
        assert_eq!(fit_middle("ip-10-0-1-23.ec2.internal", 11, false), "ip-10…ernal");
        assert_eq!(fit_middle("short", 10, false), "short");
        assert_eq!(fit_end("kube-proxy", 6, false), "kube-…");
        assert_eq!(fit_end("kube-proxy", 6, true), "kube-~");
    }
}
