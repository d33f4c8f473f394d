//! Prompts drawn with tui-textarea: the `/` filter and the `:` command line, with their keys from
//! the key table.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::app::keymap::Ctx;
use crate::app::{App, FilterPrompt};
use crate::theme::Slot;

/// " Enter keep  Esc clear  Ctrl-U erase ", from the prompt's table, keys in the key style.
pub fn hint(app: &App) -> Line<'static> {
    let theme = app.theme();
    let mut spans = Vec::new();
    for b in app.keymap.table(Ctx::Prompt) {
        let (Some(k), Some(label)) = (b.keys.first(), b.footer) else { continue };
        spans.push(Span::styled(format!(" {k}"), theme.style(Slot::FooterKey)));
        spans.push(Span::styled(format!(" {label} "), theme.style(Slot::Footer)));
    }
    Line::from(spans)
}

/// A prompt on the footer line: its sign (`/` filter, `:` command) + the text area + a hint.
pub fn render_filter(app: &App, prompt: &FilterPrompt, sign: &'static str, f: &mut Frame, area: Rect) {
    let theme = app.theme();
    if area.width < 4 {
        return;
    }
    // The prompt sign, not a key: drawn in the prompt style so it never reads as a key hint.
    f.render_widget(Paragraph::new(Span::styled(sign, theme.style(Slot::Prompt))), Rect { width: 1, ..area });
    let hint = hint(app);
    let hint_w = if area.width > 60 { hint.width() as u16 } else { 0 };
    let input = Rect { x: area.x + 1, width: area.width - 1 - hint_w, ..area };
    // Styles were set from the theme when the prompt opened (`update`), so no clone here.
    f.render_widget(&prompt.textarea, input);
    if hint_w > 0 {
        let r = Rect { x: area.x + area.width - hint_w, width: hint_w, ..area };
        f.render_widget(Paragraph::new(hint), r);
    }
}
