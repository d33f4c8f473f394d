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
use unicode_width::UnicodeWidthStr;

pub fn render(app: &App, f: &mut Frame, area: Rect) {
    use crate::fleet::model::StreamKind;
    let theme = app.theme();
    let h = theme.style(Slot::Header);
    let dim = theme.style(Slot::HeaderDim);
    let s = app.index.summary();
    let ns = app.namespace.as_deref().unwrap_or("all");
    let not_ready = s.nodes.saturating_sub(s.nodes_ready + s.nodes_unknown);
    let bar = super::deco(app.ascii, "│", "|");
    // Everything but the context name, which is cut (in the middle: EKS ARNs differ at the
    // end) to leave room for the counts; "DaemonSets" becomes "DS" first on a narrow terminal.
    let context = if app.context.is_empty() { "-".to_string() } else { app.context.clone() };
    let line1 = |ds_label: &'static str, context: String| {
        let mut l1 = Vec::new();
        // The program name only when there is room: the counts matter more on a narrow terminal.
        if area.width >= 110 {
            l1.push(Span::styled(" daemonscope ", h));
            l1.push(Span::styled(bar, dim));
        }
        l1.extend([Span::styled(" ctx ", dim), Span::styled(context, h)]);
        // A protected context says whether writes are on, right beside its name.
        if crate::app::access::unlocked_protected(app) {
            l1.push(Span::styled(" WRITES ON", theme.style(Slot::Error).add_modifier(ratatui::style::Modifier::BOLD)));
        } else if !app.readonly && crate::app::access::locked(app) {
            l1.push(Span::styled(" [protected: read-only]", theme.style(Slot::StreamReconnecting)));
        }
        l1.extend([Span::styled("  ns ", dim), Span::styled(ns.to_string(), h), Span::styled("  nodes ", dim)]);
        if s.nodes == 0 && app.index.denied(StreamKind::Nodes) {
            // Forbidden and no pod names to stand in for them: unknown, never "0/0 ready".
            l1.push(Span::styled("?", theme.style(Slot::StreamReconnecting)));
        } else if s.nodes_unknown > 0 {
            // Rows made from pods' node names (nodes forbidden): their readiness is unknown,
            // never counted as ready or not.
            let known = s.nodes - s.nodes_unknown;
            if known > 0 {
                l1.push(Span::styled(format!("{}/{known} ready, ", s.nodes_ready), h));
            }
            l1.push(Span::styled(format!("{} unknown", s.nodes_unknown), theme.style(Slot::StreamReconnecting)));
        } else {
            // "39/40 ready": the NotReady count is the difference, highlighted when there is one.
            l1.push(Span::styled(
                format!("{}/{} ready", s.nodes_ready, s.nodes),
                if not_ready > 0 { theme.style(Slot::StreamFailed) } else { h },
            ));
        }
        if s.nodes_cordoned > 0 {
            l1.push(Span::styled(format!(", {} cordoned", s.nodes_cordoned), dim));
        }
        // A count the user may not list is unknown ("?"), not zero; what was seen still counts.
        let count = |kind: StreamKind, n: u32| {
            if n == 0 && app.index.denied(kind) {
                Span::styled("?", theme.style(Slot::StreamReconnecting))
            } else {
                Span::styled(n.to_string(), h)
            }
        };
        l1.push(Span::styled(ds_label, dim));
        l1.push(count(StreamKind::DaemonSets, s.daemonsets));
        l1.push(Span::styled("  pods ", dim));
        l1.push(count(StreamKind::Pods, s.pods));
        if app.readonly {
            l1.push(Span::styled("  [read-only]", h));
        }
        l1
    };
    let width_of = |spans: &[Span<'_>]| spans.iter().map(Span::width).sum::<usize>();
    let mut l1 = line1("  DaemonSets ", context.clone());
    if width_of(&l1) > area.width as usize {
        l1 = line1("  DS ", context.clone());
        let over = width_of(&l1).saturating_sub(area.width as usize);
        if over > 0 {
            let keep = context.width().saturating_sub(over).max(8);
            l1 = line1("  DS ", super::fit_middle(&context, keep, app.ascii));
        }
    }

    // Problem counts: only the states that occur, most severe first. Every count stays: at
    // worst as glyph and number; state names are added, most severe first, while they fit.
    let glyphs = theme.glyph_set(app.ascii);
    let counts: Vec<(CellState, u32)> = CellState::BY_SEVERITY
        .into_iter()
        .map(|state| (state, s.cells[state.idx()]))
        .filter(|&(state, n)| {
            n > 0 && (state.is_problem() || matches!(state, CellState::Terminating | CellState::Unknown))
        })
        .collect();
    let short = |state: CellState, n: u32| format!("{} {n}", glyphs.state(state));
    let long = |state: CellState, n: u32| format!("{} {n} {}", glyphs.state(state), state.name());
    let none = format!("{} no problem cells", glyphs.state(CellState::Ready));
    let sep = 2;
    let counts_min: usize =
        if counts.is_empty() { none.width() } else { counts.iter().map(|&(st, n)| short(st, n).width() + sep).sum() };
    // The connection state first: it must stay visible on a narrow terminal, cut if it has to
    // be so the counts keep their place.
    let bar_w = 3;
    let width = area.width as usize;
    let stream_budget = width.saturating_sub(1 + bar_w + counts_min);
    let mut l2 = vec![Span::styled(" ", dim)];
    l2.extend(stream_spans(app, stream_budget));
    l2.push(Span::styled(format!(" {bar} "), dim));
    let used: usize = l2.iter().map(Span::width).sum();
    let mut room = width.saturating_sub(used + counts_min);
    if counts.is_empty() {
        match problems_unknown(app) {
            // A stream the verdicts depend on is denied: no problems seen is not no problems.
            Some(text) => l2.push(Span::styled(format!("? {text}  "), theme.style(Slot::StreamReconnecting))),
            None => l2.push(Span::styled(format!("{none}  "), theme.state_style(CellState::Ready).patch(bg_of(h)))),
        }
    }
    for (state, n) in counts {
        let extra = long(state, n).width() - short(state, n).width();
        let text = if extra <= room {
            room -= extra;
            long(state, n)
        } else {
            // Once one name does not fit, none after it gets one: the names stay in order.
            room = 0;
            short(state, n)
        };
        l2.push(Span::styled(text, theme.state_style(state).patch(bg_of(h))));
        l2.push(Span::styled("  ", dim));
    }
    let fill = |mut spans: Vec<Span<'static>>| {
        // Paint the whole line in the header style, not just the text.
        let used: usize = spans.iter().map(|s| s.width()).sum();
        spans.push(Span::styled(" ".repeat((area.width as usize).saturating_sub(used)), h));
        Line::from(spans)
    };
    f.render_widget(Paragraph::new(vec![fill(l1), fill(l2)]), area);
}

/// Why the absence of problem cells proves nothing: a stream the cells are built from could
/// not be listed (its own message, in the header too, says which permission would fix it).
fn problems_unknown(app: &App) -> Option<String> {
    use crate::fleet::model::{StreamKind, StreamState};
    let denied: Vec<&str> = [StreamKind::Nodes, StreamKind::DaemonSets, StreamKind::Pods]
        .into_iter()
        .filter(|&k| app.index.denied(k) || matches!(app.index.stream_state(k), StreamState::Failed { .. }))
        .map(StreamKind::plural)
        .collect();
    if denied.is_empty() {
        return None;
    }
    let unplaced = app.index.unplaced_pods();
    let pods = if unplaced > 0 { format!(", {unplaced} daemon pods not shown") } else { String::new() };
    Some(format!("problems unknown: cannot list {}{pods}", denied.join(", ")))
}

fn bg_of(s: Style) -> Style {
    match s.bg {
        Some(bg) => Style::default().bg(bg),
        None => Style::default(),
    }
}

/// The stream parts in at most `budget` columns (each cut at its end when needed; at least the
/// first part's start is always shown).
fn stream_spans(app: &App, budget: usize) -> Vec<Span<'static>> {
    let theme = app.theme();
    let mut out = Vec::new();
    let mut left = budget.max(8);
    for (i, (text, slot)) in crate::app::clock::stream_parts(app).into_iter().enumerate() {
        let gap = usize::from(i > 0);
        if left < gap + 4 {
            break;
        }
        if i > 0 {
            out.push(Span::styled(" ", theme.style(Slot::HeaderDim)));
        }
        let text = super::fit_end(&text, left - gap - 2, app.ascii);
        left -= gap + text.width() + 2;
        out.push(Span::styled(format!(" {text} "), theme.style(slot)));
    }
    out
}
