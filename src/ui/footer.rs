//! The bottom line: the keys that apply now (from the keymap, so it never disagrees with
//! behaviour), or the filter prompt while it is open, with a transient notice on the right.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use unicode_width::UnicodeWidthStr;

use crate::app::keymap::{Action, Applies, keys_text};
use crate::app::{App, Layer, Level};
use crate::theme::Slot;

pub fn render(app: &App, f: &mut Frame, area: Rect) {
    let theme = app.theme();
    f.buffer_mut().set_style(area, theme.style(Slot::Footer));
    if let Some(Layer::Filter(prompt)) = app.top_layer() {
        super::prompt::render_filter(app, prompt, f, area);
        return;
    }
    let mut spans: Vec<Span<'static>> = Vec::new();
    let mut notice_w = 0;
    if let Some(n) = &app.notice
        && n.until > app.now
    {
        notice_w = n.text.width() as u16 + 2;
    }
    let budget = area.width.saturating_sub(notice_w.min(area.width / 2)) as usize;
    // Help, quit and close always get a place; the others fill the rest in keymap order.
    let all = items(app);
    let width = |i: &(String, String, bool)| i.0.width() + i.1.width() + 3;
    let mut used: usize = all.iter().filter(|i| i.2).map(width).sum();
    let mut shown = vec![false; all.len()];
    for (k, item) in all.iter().enumerate() {
        if item.2 {
            shown[k] = true;
        } else if used + width(item) <= budget {
            used += width(item);
            shown[k] = true;
        }
    }
    for (item, _) in all.iter().zip(&shown).filter(|(_, s)| **s) {
        spans.push(Span::styled(format!(" {}", item.0), theme.style(Slot::FooterKey)));
        spans.push(Span::styled(format!(" {} ", item.1), theme.style(Slot::Footer)));
    }
    f.render_widget(Paragraph::new(Line::from(spans)), area);
    if let Some(n) = &app.notice
        && n.until > app.now
    {
        let w = notice_w.min(area.width.saturating_sub(used as u16)).min(area.width);
        if w > 2 {
            let slot = match n.level {
                Level::Info | Level::Warn => Slot::Notice,
                Level::Error => Slot::Error,
            };
            let r = Rect::new(area.x + area.width - w, area.y, w, 1);
            let text = super::fit_end(&n.text, w as usize - 2, app.ascii);
            f.render_widget(Paragraph::new(Span::styled(format!(" {text} "), theme.style(slot))), r);
        }
    }
}

/// (keys, label, always shown) for the bindings that apply in the current state, in keymap order.
pub fn items(app: &App) -> Vec<(String, String, bool)> {
    if app.help_open() {
        return vec![("Esc".into(), "close help".into(), true), ("Up/Down".into(), "scroll".into(), true)];
    }
    if let Some(items) = crate::app::logs::footer_items(app) {
        return items;
    }
    let has_pod = match (app.cursor_node(), app.cursor_ds()) {
        (Some(n), Some(d)) => app.index.cell(n, d).pod.is_some(),
        _ => false,
    };
    let has_col = app.cursor_ds().is_some();
    let has_layer = !app.layers.is_empty() || app.detail;
    app.keymap
        .bindings
        .iter()
        .filter(|b| !b.keys.is_empty())
        .filter(|b| match b.applies {
            Applies::Always => true,
            Applies::WithPod => has_pod,
            Applies::WithColumn => has_col,
            Applies::WithLayer => has_layer,
        })
        .filter_map(|b| {
            let always = matches!(b.action, Action::Help | Action::Quit | Action::Close);
            b.footer.map(|label| (keys_text(&b.keys[..1]), label.to_string(), always))
        })
        .collect()
}
