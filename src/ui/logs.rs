//! The log pane drawn around `logview::render`, in the area `app::layout::pane_area` gives it,
//! and its container picker.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use crate::app::App;
use crate::app::layout::pane_area;
use crate::app::logs::ContainerPicker;
use crate::logview::LogStyles;
use crate::theme::Slot;

/// Draw the pane.
pub fn render(app: &App, f: &mut Frame, area: Rect) {
    let Some(logs) = app.logs() else { return };
    let pane = &logs.pane;
    let Some(r) = pane_area(app, area.width, area.height) else { return };
    f.render_widget(Clear, r);
    let mut styles = LogStyles::default();
    if !logs.has_focus() {
        // The matrix has the keys: say so by dimming the pane's title.
        styles.title = Style::new().add_modifier(Modifier::DIM | Modifier::REVERSED);
    }
    crate::logview::render(pane, &styles, r, f.buffer_mut());
}

/// The container picker, over the pane.
pub fn render_containers(app: &App, picker: &ContainerPicker, f: &mut Frame, area: Rect) {
    let Some(r) = pane_area(app, area.width, area.height) else { return };
    {
        let theme = app.theme();
        let width = picker.items.iter().map(|(n, _)| n.chars().count() + 8).max().unwrap_or(10).clamp(24, 60) as u16;
        let w = width.min(r.width);
        let h = (picker.items.len() as u16 + 2).min(r.height);
        let x = r.x + (r.width - w) / 2;
        let y = r.y + (r.height - h) / 2;
        let rect = Rect::new(x, y, w, h);
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(theme.style(Slot::Border))
            .title(Span::styled(" container ", theme.style(Slot::DetailTitle)));
        let inner = block.inner(rect);
        f.render_widget(Clear, rect);
        f.render_widget(block, rect);
        let skip = picker.selected.saturating_sub(usize::from(inner.height.saturating_sub(1)));
        let lines: Vec<Line<'static>> = picker
            .items
            .iter()
            .enumerate()
            .skip(skip)
            .map(|(i, (name, init))| {
                let mark = if i == picker.selected { "> " } else { "  " };
                let kind = if *init { " (init)" } else { "" };
                let style = if i == picker.selected { theme.style(Slot::Cursor) } else { theme.style(Slot::Help) };
                Line::styled(format!("{mark}{name}{kind}"), style)
            })
            .collect();
        f.render_widget(Paragraph::new(lines), inner);
    }
}
