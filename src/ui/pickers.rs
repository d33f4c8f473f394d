//! The context and namespace pickers (`app::pickers`): a centred box with the type-to-filter
//! line, the matching entries (the one in use marked), and a line saying why the list is
//! empty or what failed. Only the visible entries are drawn.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use crate::app::App;
use crate::app::pickers::{Picker, PickerKind};
use crate::theme::Slot;

pub fn render(app: &App, picker: &Picker, f: &mut Frame, area: Rect) {
    let theme = app.theme();
    let w = area.width.saturating_sub(4).min(72);
    let h = area.height.saturating_sub(2).min(20);
    if w < 20 || h < 5 {
        return;
    }
    let r = Rect::new(area.x + (area.width - w) / 2, area.y + (area.height - h) / 2, w, h);
    let title = match picker.kind {
        PickerKind::Context => " context ",
        PickerKind::Namespace => " namespace ",
    };
    let hint = format!(
        " {} switch {} {} cancel ",
        app.keymap.first_key(crate::app::Action::PickerSelect),
        super::deco(app.ascii, "·", "-"),
        app.keymap.first_key(crate::app::Action::PickerCancel)
    );
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.style(Slot::Border))
        .title(Span::styled(title, theme.style(Slot::DetailTitle)))
        .title_bottom(Span::styled(hint, theme.style(Slot::Footer)));
    let inner = block.inner(r);
    f.render_widget(Clear, r);
    f.render_widget(block, r);

    // Line 1: the filter; line 2: status (loading / error / count); then the entries.
    let query = Rect { height: 1, ..inner };
    f.render_widget(Paragraph::new(Span::styled(">", theme.style(Slot::FooterKey))), Rect { width: 1, ..query });
    f.render_widget(&picker.query, Rect { x: query.x + 2, width: query.width.saturating_sub(2), ..query });

    let items = picker.visible();
    let status = if picker.loading {
        Line::styled("loading…", theme.style(Slot::DetailKey))
    } else if let Some(e) = &picker.error {
        Line::styled(super::fit_end(e, inner.width as usize, app.ascii), theme.style(Slot::Error))
    } else if items.is_empty() {
        Line::styled("nothing matches", theme.style(Slot::DetailKey))
    } else {
        Line::styled(format!("{} of {}", items.len(), picker.items.len()), theme.style(Slot::DetailKey))
    };
    if inner.height < 3 {
        return;
    }
    f.render_widget(Paragraph::new(status), Rect { y: inner.y + 1, height: 1, ..inner });

    let list_h = (inner.height - 2) as usize;
    // Keep the selection in view.
    let first = picker.selected.saturating_sub(list_h.saturating_sub(1));
    let lines: Vec<Line> = items
        .iter()
        .enumerate()
        .skip(first)
        .take(list_h)
        .map(|(i, item)| {
            let mark = if item.current { super::deco(app.ascii, "● ", "* ") } else { "  " };
            let style = if i == picker.selected { theme.style(Slot::Cursor) } else { theme.style(Slot::DetailValue) };
            let label_w = (inner.width as usize).saturating_sub(2);
            let label = super::fit_middle(&item.label, label_w, app.ascii);
            let used = 2 + unicode_width::UnicodeWidthStr::width(label.as_str());
            let mut spans = vec![Span::styled(mark, theme.style(Slot::FooterKey)), Span::styled(label, style)];
            if !item.detail.is_empty() && used + 3 < inner.width as usize {
                let room = inner.width as usize - used - 2;
                spans.push(Span::styled(
                    format!("  {}", super::fit_end(&item.detail, room, app.ascii)),
                    theme.style(Slot::DetailKey),
                ));
            }
            Line::from(spans)
        })
        .collect();
    let list = Rect { y: inner.y + 2, height: inner.height - 2, ..inner };
    f.render_widget(Paragraph::new(lines), list);
}
