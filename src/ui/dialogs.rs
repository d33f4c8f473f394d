//! The action dialogs (issue 7), drawn centred over the matrix: the confirmation with exactly
//! what will be sent, the "reading…" wait, rollout history with its selection, the update
//! strategy form (tui-textarea fields, validation errors inline) and the OnDelete roll prompt.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use super::fmt_age;
use crate::app::App;
use crate::app::actions::{Dialog, StrategyDialog};
use crate::cluster::actions::strategy::{Field, StrategyType};
use crate::theme::Slot;

/// A rectangle of at most `w`×`h`, centred in `area`.
pub fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect { x: area.x + (area.width - w) / 2, y: area.y + (area.height - h) / 2, width: w, height: h }
}

pub fn render(app: &App, f: &mut Frame, area: Rect) {
    let Some(d) = &app.act.dialog else { return };
    let theme = app.theme();
    let key = theme.style(Slot::HelpKey);
    let text_style = theme.style(Slot::Help);
    let (title, lines): (String, Vec<Line>) = match d {
        Dialog::Confirm { title, text, .. } => {
            let mut lines: Vec<Line> =
                vec![Line::styled("This will be sent:", text_style.add_modifier(Modifier::BOLD))];
            lines.extend(text.lines().map(|l| Line::styled(l.to_string(), text_style)));
            lines.push(Line::default());
            lines.push(Line::from(vec![
                Span::styled("y", key),
                Span::styled("/", text_style),
                Span::styled("Enter", key),
                Span::styled(" send   ", text_style),
                Span::styled("n", key),
                Span::styled("/", text_style),
                Span::styled("Esc", key),
                Span::styled(" cancel", text_style),
            ]));
            (format!(" confirm: {title} "), lines)
        }
        Dialog::Pending { text } => (" please wait ".into(), vec![Line::styled(text.clone(), text_style)]),
        Dialog::History { daemonset, rows, selected } => {
            let mut lines = vec![Line::styled(
                format!("{:<9}{:<7}{:<40}{}", "REVISION", "AGE", "CHANGE-CAUSE", "IMAGES"),
                theme.style(Slot::DetailKey),
            )];
            for (i, r) in rows.iter().enumerate() {
                let mark = if r.current { " (current)" } else { "" };
                let s = format!(
                    "{:<9}{:<7}{:<40}{}{mark}",
                    r.revision,
                    fmt_age(r.age(app.now)),
                    super::fit_end(r.change_cause_text(), 38, app.ascii),
                    r.images.join(",")
                );
                let style = if i == *selected { theme.style(Slot::Cursor) } else { text_style };
                lines.push(Line::styled(s, style));
            }
            lines.push(Line::default());
            lines.push(Line::from(vec![
                Span::styled(super::deco(app.ascii, "↑/↓", "up/down"), key),
                Span::styled(" select   ", text_style),
                Span::styled("u", key),
                Span::styled(" undo to the selected revision   ", text_style),
                Span::styled("Esc", key),
                Span::styled(" close", text_style),
            ]));
            (format!(" rollout history of daemonset {daemonset} "), lines)
        }
        Dialog::Strategy(form) => {
            (format!(" update strategy of daemonset {} ", form.daemonset), strategy_lines(app, form))
        }
        Dialog::Roll { daemonset, node, count, error } => {
            let mut lines = Vec::new();
            if let Some(n) = node {
                lines.push(Line::from(vec![
                    Span::styled("t", key),
                    Span::styled(format!(" roll this node ({n})"), text_style),
                ]));
            }
            lines.push(Line::from(vec![
                Span::styled("roll the next N outdated nodes, N = ", text_style),
                Span::styled(count.lines().first().cloned().unwrap_or_default(), theme.style(Slot::Prompt)),
                Span::styled(super::deco(app.ascii, "▏", "_"), theme.style(Slot::Prompt)),
                Span::styled("  (Enter)", text_style),
            ]));
            if let Some(e) = error {
                lines.push(Line::styled(e.clone(), theme.style(Slot::Error)));
            }
            lines.push(Line::styled(
                "each node: delete the outdated pod, wait until the new one is Ready; stop at the first failure",
                text_style,
            ));
            lines.push(Line::from(vec![Span::styled("Esc", key), Span::styled(" cancel", text_style)]));
            (format!(" roll daemonset {daemonset} node by node (OnDelete) "), lines)
        }
    };
    let width = lines.iter().map(|l| l.width()).max().unwrap_or(20).max(title.chars().count()) as u16 + 4;
    let height = lines.len() as u16 + 2;
    let rect = centered(area, width, height);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.style(Slot::Border))
        .title(Span::styled(title, theme.style(Slot::DetailTitle)))
        .style(text_style);
    f.render_widget(Clear, rect);
    f.render_widget(Paragraph::new(lines).block(block).wrap(Wrap { trim: false }), rect);
}

fn strategy_lines(app: &App, form: &StrategyDialog) -> Vec<Line<'static>> {
    let theme = app.theme();
    let text = theme.style(Slot::Help);
    let key = theme.style(Slot::HelpKey);
    let focus = |i: usize| if form.focus == i { theme.style(Slot::Cursor) } else { theme.style(Slot::Prompt) };
    let kind = match form.kind {
        StrategyType::RollingUpdate => "RollingUpdate",
        StrategyType::OnDelete => "OnDelete",
    };
    let mut lines = vec![Line::from(vec![
        Span::styled("type:            ", text),
        Span::styled(format!("< {kind} >"), focus(0)),
        Span::styled("  (Space switches)", text),
    ])];
    let field = |label: &str, i: usize, value: String, err: Option<&str>| {
        let mut spans = vec![Span::styled(format!("{label:<17}"), text), Span::styled(format!("{value:<8}"), focus(i))];
        if let Some(e) = err {
            spans.push(Span::styled(format!("  {} {e}", super::deco(app.ascii, "✗", "x")), theme.style(Slot::Error)));
        }
        Line::from(spans)
    };
    if form.kind == StrategyType::RollingUpdate {
        let first = |ta: &tui_textarea::TextArea<'static>| ta.lines().first().cloned().unwrap_or_default();
        lines.push(field("maxUnavailable:", 1, first(&form.max_unavailable), form.error_for(Field::MaxUnavailable)));
        lines.push(field("maxSurge:", 2, first(&form.max_surge), form.error_for(Field::MaxSurge)));
        lines.push(Line::styled("a number (2) or a percentage (10%); exactly one of the two non-zero", text));
    } else {
        lines.push(Line::styled("pods are replaced only when you delete them (N rolls node by node)", text));
    }
    lines.push(Line::default());
    lines.push(Line::from(vec![
        Span::styled("Tab", key),
        Span::styled(" next field   ", text),
        Span::styled("Enter", key),
        Span::styled(" review and send   ", text),
        Span::styled("Esc", key),
        Span::styled(" cancel", text),
    ]));
    lines
}
