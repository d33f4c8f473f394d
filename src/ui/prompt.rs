//! Prompts drawn with tui-textarea: the `/` filter (issue 7's confirmation and strategy
//! forms will live here too).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Span;
use ratatui::widgets::Paragraph;

use crate::app::{App, FilterPrompt};
use crate::theme::Slot;

const HINT: &str = " Enter keep · Esc cancel ";

/// The filter prompt on the footer line: `/` + the text area + a hint.
pub fn render_filter(app: &App, prompt: &FilterPrompt, f: &mut Frame, area: Rect) {
    let theme = app.theme();
    if area.width < 4 {
        return;
    }
    f.render_widget(Paragraph::new(Span::styled("/", theme.style(Slot::FooterKey))), Rect { width: 1, ..area });
    let hint_w = if area.width > 40 { HINT.len() as u16 } else { 0 };
    let input = Rect { x: area.x + 1, width: area.width - 1 - hint_w, ..area };
    // Styles were set from the theme when the prompt opened (`update`), so no clone here.
    f.render_widget(&prompt.textarea, input);
    if hint_w > 0 {
        let r = Rect { x: area.x + area.width - hint_w, width: hint_w, ..area };
        f.render_widget(Paragraph::new(Span::styled(HINT, theme.style(Slot::Footer))), r);
    }
}
