//! Drawing. Every function here is a pure function of `&App` into a `Frame`: no I/O, no
//! clock reads (`app.now`), no mutation, nothing of `cluster`. Only the visible rows and
//! columns are touched.
//!
//! Files: `header`, `matrix` (column headers, rows, totals, legend), `detail`, `footer` (the
//! keys of the top layer from the key table, notices, the filter prompt via `prompt`), `help`
//! (generated from the key table), `logs`, `dialogs`, `rollout`, `pickers`. Where things go is
//! `app::layout`, computed by `update` and kept in state.

pub mod detail;
pub mod dialogs;
pub mod footer;
pub mod header;
pub mod help;
pub mod inspect;
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

pub use crate::app::clock::fmt_age;
pub use crate::app::layout;
use crate::app::{App, Layer};
pub use crate::text::{ellipsis, fit_end};
use crate::theme::Slot;

/// Draw the whole screen: the base (header, matrix, detail, log pane, footer), then every
/// overlay layer in stack order.
pub fn render(app: &App, f: &mut Frame) {
    let area = f.area();
    let computed;
    let g = if app.size == (area.width, area.height) {
        app.geometry.as_ref()
    } else {
        // Drawn at another size than the state knows (a test backend): lay out for this one.
        computed = layout::geometry((area.width, area.height), app);
        computed.as_ref()
    };
    let Some(g) = g else {
        too_small(app, f, area);
        return;
    };
    header::render(app, f, g.header);
    matrix::render(app, f, g);
    if let Some(d) = g.detail {
        detail::render(app, f, d);
    }
    logs::render(app, f, area);
    footer::render(app, f, g.footer);
    for layer in &app.layers {
        match layer {
            Layer::Status(view) => rollout::render(app, view, f, g.body),
            Layer::Dialog(d) => dialogs::render(app, d, f, area),
            Layer::Help { scroll } => help::render(app, *scroll, f, area),
            Layer::Picker(p) => pickers::render(app, p, f, area),
            Layer::Containers(c) => logs::render_containers(app, c, f, area),
            Layer::Inspect(pane) => inspect::render(app, pane, f, g.header, g.footer),
            Layer::Detail | Layer::Filter(_) | Layer::Logs(_) | Layer::Command(_) => {}
        }
    }
}

fn too_small(app: &App, f: &mut Frame, area: Rect) {
    let quit = app.keymap.keys_text(crate::app::Action::Quit);
    let text = format!(
        "Terminal too small: {}×{}. daemonscope needs at least {}×{}. Enlarge the window; keys do nothing until then ({quit} quits).",
        area.width,
        area.height,
        layout::MIN_WIDTH,
        layout::MIN_HEIGHT
    );
    let p = Paragraph::new(Line::styled(text, app.theme().style(Slot::Error))).wrap(Wrap { trim: true });
    f.render_widget(p, area);
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

/// Pick the Unicode or the ASCII form of a decoration.
pub fn deco(ascii: bool, unicode: &'static str, plain: &'static str) -> &'static str {
    if ascii { plain } else { unicode }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_names_are_cut_in_the_middle() {
        assert_eq!(fit_middle("ip-10-0-1-23.ec2.internal", 11, false), "ip-10…ernal");
        assert_eq!(fit_middle("short", 10, false), "short");
        assert_eq!(fit_end("kube-proxy", 6, false), "kube-…");
        assert_eq!(fit_end("kube-proxy", 6, true), "kube-*");
    }
}
