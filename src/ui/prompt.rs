//! Prompts drawn with tui-textarea: the `/` filter, with its keys from the key table.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Span;
use ratatui::widgets::Paragraph;

use crate::app::keymap::Ctx;
use crate::app::{App, FilterPrompt};
use crate::theme::Slot;

/// " Enter keep · Esc clear · Ctrl-U erase ", from the prompt's table.
pub fn hint(app: &App) -> String {
    let sep = super::deco(app.ascii, " · ", " - ");
    let parts: Vec<String> =
        app.keymap.table(Ctx::Prompt).filter_map(|b| Some(format!("{} {}", b.keys.first()?, b.footer?))).collect();
    format!(" {} ", parts.join(sep))
}

/// The filter prompt on the footer line: `/` + the text area + a hint.
pub fn render_filter(app: &App, prompt: &FilterPrompt, f: &mut Frame, area: Rect) {
    let theme = app.theme();
    if area.width < 4 {
        return;
    }
    f.render_widget(Paragraph::new(Span::styled("/", theme.style(Slot::FooterKey))), Rect { width: 1, ..area });
    let hint = hint(app);
    let hint_w = if area.width > 60 { unicode_width::UnicodeWidthStr::width(hint.as_str()) as u16 } else { 0 };
    let input = Rect { x: area.x + 1, width: area.width - 1 - hint_w, ..area };
    // Styles were set from the theme when the prompt opened (`update`), so no clone here.
    f.render_widget(&prompt.textarea, input);
    if hint_w > 0 {
        let r = Rect { x: area.x + area.width - hint_w, width: hint_w, ..area };
        f.render_widget(Paragraph::new(Span::styled(hint, theme.style(Slot::Footer))), r);
    }
}
