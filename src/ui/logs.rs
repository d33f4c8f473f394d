//! Where the log pane goes and how it is drawn around `logview::render`: the rows it takes from
//! the matrix in the split layout, the full-screen area, the container picker and the pane's
//! help section (generated from `app::logs::PANE_KEYS`).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use crate::app::App;
use crate::app::logs::{LogLayout, PANE_KEYS};
use crate::logview::LogStyles;
use crate::theme::Slot;

/// Rows the split pane takes at the bottom (above the footer) of a `height`-row terminal: about
/// half, leaving the matrix its header rows and a few body rows.
pub fn split_rows(app: &App, height: u16) -> u16 {
    if !app.logs.split_open() {
        return 0;
    }
    // header 2 + legend 1 + column heads 3 + 3 body rows + totals 1 + footer 1.
    let keep = 11;
    (height / 2).min(height.saturating_sub(keep)).max(3.min(height.saturating_sub(keep)))
}

/// The pane's rectangle on a `w`×`h` screen, if a pane is open.
pub fn pane_area(app: &App, w: u16, h: u16) -> Option<Rect> {
    if !app.logs.is_open() || h < 4 {
        return None;
    }
    match app.logs.layout {
        LogLayout::Full => Some(Rect::new(0, 2, w, h.saturating_sub(3))),
        LogLayout::Split => {
            let rows = split_rows(app, h);
            (rows > 0).then(|| Rect::new(0, h - 1 - rows, w, rows))
        }
    }
}

/// Draw the pane (and the container picker over it).
pub fn render(app: &App, f: &mut Frame, area: Rect) {
    let Some(pane) = app.logs.pane.as_ref() else { return };
    let Some(r) = pane_area(app, area.width, area.height) else { return };
    f.render_widget(Clear, r);
    let mut styles = LogStyles::default();
    if !app.logs.has_focus() {
        // The matrix has the keys: say so by dimming the pane's title.
        styles.title = Style::new().add_modifier(Modifier::DIM | Modifier::REVERSED);
    }
    crate::logview::render(pane, &styles, r, f.buffer_mut());
    if let Some(picker) = &app.logs.picker {
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

/// The "Log pane" section of the help screen.
pub fn help_lines(app: &App) -> Vec<Line<'static>> {
    let theme = app.theme();
    let mut out = vec![Line::styled("Log pane (l on a cell, L on a column)", theme.style(Slot::DetailTitle))];
    for (keys, what, _) in PANE_KEYS {
        out.push(Line::from(vec![
            Span::styled(format!("  {keys:<14}"), theme.style(Slot::HelpKey)),
            Span::styled(format!(" {what}"), theme.style(Slot::Help)),
        ]));
    }
    out
}
