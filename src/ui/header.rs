//! The two header lines: where we are (context, namespace scope, counts of nodes, DaemonSets
//! and pods), the problem counts per state, and the health of each watch stream with data age.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::app::App;
use crate::fleet::CellState;
use crate::theme::Slot;

pub fn render(app: &App, f: &mut Frame, area: Rect) {
    let theme = app.theme();
    let h = theme.style(Slot::Header);
    let dim = theme.style(Slot::HeaderDim);
    let s = app.index.summary();
    let ns = app.namespace.as_deref().unwrap_or("all");
    let not_ready = s.nodes.saturating_sub(s.nodes_ready);
    let bar = super::deco(app.ascii, "│", "|");
    let mut l1 = Vec::new();
    // The program name only when there is room: the counts matter more on a narrow terminal.
    if area.width >= 110 {
        l1.push(Span::styled(" daemonscope ", h));
        l1.push(Span::styled(bar, dim));
    }
    l1.extend([
        Span::styled(" ctx ", dim),
        Span::styled(if app.context.is_empty() { "-".to_string() } else { app.context.clone() }, h),
        Span::styled("  ns ", dim),
        Span::styled(ns.to_string(), h),
        Span::styled("  nodes ", dim),
        // "39/40 ready": the NotReady count is the difference, highlighted when there is one.
        Span::styled(
            format!("{}/{} ready", s.nodes_ready, s.nodes),
            if not_ready > 0 { theme.style(Slot::StreamFailed) } else { h },
        ),
    ]);
    if s.nodes_cordoned > 0 {
        l1.push(Span::styled(format!(", {} cordoned", s.nodes_cordoned), dim));
    }
    l1.push(Span::styled("  DaemonSets ", dim));
    l1.push(Span::styled(s.daemonsets.to_string(), h));
    l1.push(Span::styled("  pods ", dim));
    l1.push(Span::styled(s.pods.to_string(), h));
    if app.readonly {
        l1.push(Span::styled("  [read-only]", h));
    }

    // Problem counts: only the states that occur, so the line stays short.
    let glyphs = theme.glyph_set(app.ascii);
    // The connection state first: it must stay visible on a narrow terminal.
    let mut l2 = vec![Span::styled(" ", dim)];
    l2.extend(stream_spans(app));
    l2.push(Span::styled(format!(" {bar} "), dim));
    let mut any = false;
    // Most severe first, so a narrow terminal cuts the least severe.
    for state in CellState::BY_SEVERITY {
        let n = s.cells[state.idx()];
        if n == 0 || !(state.is_problem() || state == CellState::Terminating) {
            continue;
        }
        any = true;
        l2.push(Span::styled(
            format!("{} {n} {}", glyphs.state(state), state.name()),
            theme.state_style(state).patch(bg_of(h)),
        ));
        l2.push(Span::styled("  ", dim));
    }
    if !any {
        l2.push(Span::styled(
            format!("{} no problem cells  ", glyphs.state(CellState::Ready)),
            theme.state_style(CellState::Ready).patch(bg_of(h)),
        ));
    }
    let fill = |mut spans: Vec<Span<'static>>| {
        // Paint the whole line in the header style, not just the text.
        let used: usize = spans.iter().map(|s| s.width()).sum();
        spans.push(Span::styled(" ".repeat((area.width as usize).saturating_sub(used)), h));
        Line::from(spans)
    };
    f.render_widget(Paragraph::new(vec![fill(l1), fill(l2)]), area);
}

fn bg_of(s: Style) -> Style {
    match s.bg {
        Some(bg) => Style::default().bg(bg),
        None => Style::default(),
    }
}

fn stream_spans(app: &App) -> Vec<Span<'static>> {
    let theme = app.theme();
    let mut out = Vec::new();
    for (i, (text, slot)) in crate::app::clock::stream_parts(app).into_iter().enumerate() {
        if i > 0 {
            out.push(Span::styled(" ", theme.style(Slot::HeaderDim)));
        }
        out.push(Span::styled(format!(" {text} "), theme.style(slot)));
    }
    out
}
