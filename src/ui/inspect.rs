//! The describe / YAML pane: full screen between the header and the footer, the text the app
//! prepared (already sanitised), scrolled, the current search match highlighted, the search
//! prompt on its last line while it is open.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use crate::app::App;
use crate::app::inspect::{InspectLayer, wrap_line};
use crate::app::keymap::Action;
use crate::theme::Slot;

/// Draw the pane over the body (between `header` and `footer`).
pub fn render(app: &App, pane: &InspectLayer, f: &mut Frame, header: Rect, footer: Rect) {
    let top = header.y + header.height;
    let Some(height) = footer.y.checked_sub(top).filter(|h| *h >= 3) else { return };
    let r = Rect::new(header.x, top, header.width, height);
    let theme = app.theme();
    let next = pane.objects.get((pane.at + 1) % pane.objects.len().max(1)).filter(|_| pane.objects.len() > 1);
    let mut title = format!(" {} ", pane.title());
    if let Some(n) = next {
        title.push_str(&format!(
            "{} {}: {} ",
            super::deco(app.ascii, "·", "-"),
            app.keymap.first_key(Action::InspectCycle),
            n.kind.name()
        ));
    }
    if !pane.lines.is_empty() {
        title.push_str(&format!(
            "{} {}/{} ",
            super::deco(app.ascii, "·", "-"),
            (pane.scroll + 1).min(pane.lines.len()),
            pane.lines.len()
        ));
    }
    let block = Block::default()
        .borders(Borders::TOP)
        .border_style(theme.style(Slot::Border))
        .title(Span::styled(super::fit_end(&title, r.width as usize, app.ascii), theme.style(Slot::DetailTitle)));
    let inner = block.inner(r);
    f.render_widget(Clear, r);
    f.render_widget(block, r);
    let mut body = inner;
    if let Some(prompt) = &pane.prompt {
        body.height = body.height.saturating_sub(1);
        let line = Rect::new(inner.x, inner.y + body.height, inner.width, 1);
        f.render_widget(Paragraph::new(Span::styled("/", theme.style(Slot::Prompt))), Rect { width: 1, ..line });
        let input = Rect { x: line.x + 1, width: line.width.saturating_sub(1), ..line };
        f.render_widget(prompt, input);
    }
    let lines: Vec<Line<'static>> = match &pane.result {
        None => vec![Line::styled(
            format!("reading {}…", pane.object().map(ToString::to_string).unwrap_or_default()),
            theme.style(Slot::Notice),
        )],
        Some(Err(e)) => vec![Line::styled(e.clone(), theme.style(Slot::Error))],
        Some(Ok(())) => pane
            .lines
            .iter()
            .enumerate()
            .skip(pane.scroll.min(pane.lines.len().saturating_sub(1)))
            .flat_map(|(i, l)| {
                let slot = if pane.matched == Some(i) { Slot::Cursor } else { Slot::DetailValue };
                let style = theme.style(slot);
                wrap_line(l, usize::from(body.width)).into_iter().map(move |row| Line::styled(row, style))
            })
            .take(usize::from(body.height))
            .collect(),
    };
    f.render_widget(Paragraph::new(lines), body);
}
