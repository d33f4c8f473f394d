//! The action dialogs, drawn centred over the matrix: the confirmation with the cluster it goes
//! to and exactly what will be sent (scrollable), the "reading…" wait, rollout history with its
//! selection, the update strategy form (tui-textarea fields, validation errors inline) and the
//! OnDelete roll prompt. Every key hint comes from the dialog's table of the keymap.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use super::fmt_age;
use crate::app::App;
use crate::app::actions::{Dialog, DialogLayer, DryRunCheck, DryRunOutcome, DryRunState, StrategyDialog};
use crate::app::keymap::Ctx;
use crate::fleet::strategy::{Field, StrategyType};
use crate::theme::Slot;

/// "y send   n/Esc cancel   Down scroll": the footer-labelled keys of a dialog's table.
fn hints(app: &App, ctx: Ctx) -> Line<'static> {
    let theme = app.theme();
    let mut spans = Vec::new();
    for b in app.keymap.table(ctx) {
        let Some(label) = b.footer else { continue };
        if b.keys.is_empty() {
            continue;
        }
        if !spans.is_empty() {
            spans.push(Span::styled("   ", theme.style(Slot::Help)));
        }
        spans.push(Span::styled(crate::app::keymap::keys_text(&b.keys), theme.style(Slot::HelpKey)));
        spans.push(Span::styled(format!(" {label}"), theme.style(Slot::Help)));
    }
    Line::from(spans)
}

/// The server's dry-run answer, always in view above the keys: what `y` will do depends on it.
fn dry_run_line(app: &App, check: &DryRunCheck) -> Line<'static> {
    let theme = app.theme();
    let label = Span::styled("server dry run: ", theme.style(Slot::Help).add_modifier(Modifier::BOLD));
    let (text, slot) = match &check.state {
        DryRunState::Unasked | DryRunState::Asked => {
            ("asking the server… (y waits for its answer)".to_string(), Slot::Help)
        }
        DryRunState::Answered(DryRunOutcome::Accepted) => {
            ("accepted (admission and validation passed; nothing changed)".to_string(), Slot::Notice)
        }
        DryRunState::Answered(DryRunOutcome::WouldFail(why)) => {
            (format!("the server would refuse this: {why} (nothing can be sent)"), Slot::Error)
        }
        DryRunState::Answered(DryRunOutcome::Unsupported(why)) => {
            (format!("refused by the server ({why}); y sends WITHOUT a dry run"), Slot::StreamReconnecting)
        }
        DryRunState::Answered(DryRunOutcome::Unknown(why)) => {
            (format!("no answer ({why}); y sends without one"), Slot::StreamReconnecting)
        }
    };
    Line::from(vec![label, Span::styled(text, theme.style(slot))])
}

/// A rectangle of at most `w`×`h`, centred in `area`.
pub fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect { x: area.x + (area.width - w) / 2, y: area.y + (area.height - h) / 2, width: w, height: h }
}

pub fn render(app: &App, layer: &DialogLayer, f: &mut Frame, area: Rect) {
    let d = &layer.dialog;
    let theme = app.theme();
    let key = theme.style(Slot::HelpKey);
    let text_style = theme.style(Slot::Help);
    let mut fixed_tail = 0;
    let (title, lines): (String, Vec<Line>) = match d {
        Dialog::Confirm { title, text, dry_run, radius, typed, .. } => {
            let ns = layer.namespace.as_deref().unwrap_or("all namespaces");
            let mut lines: Vec<Line> = vec![
                Line::from(vec![
                    Span::styled("context ", text_style),
                    Span::styled(layer.context.clone(), theme.style(Slot::Notice).add_modifier(Modifier::BOLD)),
                    Span::styled(format!("  server {}  user {}  scope {ns}", layer.server, layer.user), text_style),
                ]),
                Line::from(vec![
                    Span::styled("Blast radius: ", text_style.add_modifier(Modifier::BOLD)),
                    Span::styled(radius.clone(), text_style),
                ]),
                Line::styled("This will be sent:", text_style.add_modifier(Modifier::BOLD)),
            ];
            lines.extend(text.lines().map(|l| Line::styled(l.to_string(), text_style)));
            lines.push(Line::default());
            lines.push(dry_run_line(app, dry_run));
            match typed {
                Some(t) => {
                    lines.push(Line::from(vec![
                        Span::styled(format!("{}: type ", t.why), theme.style(Slot::Error)),
                        Span::styled(t.expect.clone(), theme.style(Slot::Error).add_modifier(Modifier::BOLD)),
                        Span::styled(" and press Enter to send: ", theme.style(Slot::Error)),
                        Span::styled(t.input.lines().first().cloned().unwrap_or_default(), theme.style(Slot::Prompt)),
                        Span::styled(super::deco(app.ascii, "▏", "_"), theme.style(Slot::Prompt)),
                    ]));
                    lines.push(Line::styled("Esc cancels   Up/Down scroll", text_style));
                }
                None => lines.push(hints(app, Ctx::Confirm)),
            }
            fixed_tail = if typed.is_some() { 4 } else { 3 };
            (format!(" confirm on {}: {title} ", layer.context), lines)
        }
        Dialog::Unlock { input, error } => {
            let mut lines = vec![
                Line::styled(
                    format!("context {} is protected (config protected_contexts): writes are off.", layer.context),
                    text_style,
                ),
                Line::styled(format!("server {}  user {}", layer.server, layer.user), text_style),
                Line::from(vec![
                    Span::styled("type the context name to turn writes on for this session: ", text_style),
                    Span::styled(input.lines().first().cloned().unwrap_or_default(), theme.style(Slot::Prompt)),
                    Span::styled(super::deco(app.ascii, "▏", "_"), theme.style(Slot::Prompt)),
                ]),
            ];
            if let Some(e) = error {
                lines.push(Line::styled(e.clone(), theme.style(Slot::Error)));
            }
            lines.push(Line::styled("Enter checks   Esc leaves writes off", text_style));
            (format!(" turn writes on for {} ", layer.context), lines)
        }
        Dialog::Pending { text } => {
            (" please wait ".into(), vec![Line::styled(text.clone(), text_style), hints(app, Ctx::Pending)])
        }
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
            lines.push(hints(app, Ctx::History));
            (format!(" rollout history of daemonset {daemonset} "), lines)
        }
        Dialog::Strategy(form) => {
            (format!(" update strategy of daemonset {} ", form.daemonset), strategy_lines(app, form))
        }
        Dialog::Roll { daemonset, node, count, error } => {
            let mut lines = Vec::new();
            let this = app.keymap.first_key(crate::app::Action::RollThisNode);
            if let Some(n) = node.as_ref().filter(|_| !this.is_empty()) {
                lines.push(Line::from(vec![
                    Span::styled(this, key),
                    Span::styled(format!(" roll this node ({n})"), text_style),
                ]));
            }
            lines.push(Line::from(vec![
                Span::styled("roll the next N outdated nodes, N = ", text_style),
                Span::styled(count.lines().first().cloned().unwrap_or_default(), theme.style(Slot::Prompt)),
                Span::styled(super::deco(app.ascii, "▏", "_"), theme.style(Slot::Prompt)),
            ]));
            if let Some(e) = error {
                lines.push(Line::styled(e.clone(), theme.style(Slot::Error)));
            }
            lines.push(Line::styled(
                "each node: delete the outdated pod, wait until the new one is Ready; stop at the first failure",
                text_style,
            ));
            lines.push(hints(app, Ctx::Roll));
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
    let inner = block.inner(rect);
    f.render_widget(block, rect);
    // A long body scrolls; the key hints at the bottom always stay visible.
    let tail = fixed_tail.min(lines.len());
    let (body, foot) = lines.split_at(lines.len() - tail);
    let foot_h = (foot.len() as u16).min(inner.height);
    let body_area = Rect { height: inner.height - foot_h, ..inner };
    let max_scroll = (body.len() as u16).saturating_sub(body_area.height);
    let scroll = layer.scroll.min(max_scroll);
    f.render_widget(Paragraph::new(body.to_vec()).wrap(Wrap { trim: false }).scroll((scroll, 0)), body_area);
    if foot_h > 0 {
        let foot_area = Rect { y: inner.y + inner.height - foot_h, height: foot_h, ..inner };
        f.render_widget(Paragraph::new(foot.to_vec()), foot_area);
    }
}

fn strategy_lines(app: &App, form: &StrategyDialog) -> Vec<Line<'static>> {
    let theme = app.theme();
    let text = theme.style(Slot::Help);
    let focus = |i: usize| if form.focus == i { theme.style(Slot::Cursor) } else { theme.style(Slot::Prompt) };
    let kind = match form.kind {
        StrategyType::RollingUpdate => "RollingUpdate",
        StrategyType::OnDelete => "OnDelete",
    };
    let mut lines = vec![Line::from(vec![
        Span::styled("type:            ", text),
        Span::styled(format!("< {kind} >"), focus(0)),
        Span::styled(format!("  ({} switches)", app.keymap.first_key(crate::app::Action::StrategyToggle)), text),
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
    lines.push(hints(app, Ctx::Strategy));
    lines
}
