//! The bottom line: the keys of the layer that has them (from the key table, so it never
//! disagrees with behaviour), or the filter prompt while it is open, with a transient notice on
//! the right.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use unicode_width::UnicodeWidthStr;

use crate::app::keymap::{Action, Applies, Ctx, keys_text};
use crate::app::{App, Layer, Level};
use crate::theme::Slot;

pub fn render(app: &App, f: &mut Frame, area: Rect) {
    let theme = app.theme();
    f.buffer_mut().set_style(area, theme.style(Slot::Footer));
    match app.top_layer() {
        Some(Layer::Filter(prompt)) => return super::prompt::render_filter(app, prompt, "/", f, area),
        Some(Layer::Command(prompt)) => return super::prompt::render_filter(app, prompt, ":", f, area),
        _ => {}
    }
    let mut spans: Vec<Span<'static>> = Vec::new();
    let mut notice_w = 0;
    if let Some(n) = &app.notice
        && n.until > app.now
    {
        notice_w = n.text.width() as u16 + 2;
    }
    let budget = area.width.saturating_sub(notice_w.min(area.width / 2)) as usize;
    let (shown, used) = fit(items(app), budget);
    for item in &shown {
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

/// Which footer items get a place first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Place {
    /// Help, quit, close: always shown.
    Always,
    /// On the matrix, the keys a user needs most: a pod's logs, restarting it, the detail, the
    /// filter. They get their place before the others.
    First,
    /// The rest, in table order, while they fit.
    Rest,
}

const FIRST: &[Action] = &[Action::Logs, Action::RestartPod, Action::ToggleDetail, Action::Filter];

/// The items that fit in `budget` columns, in table order, and the width they take: first the
/// `Always` items, then the `First`, then the rest in table order. When some are left out, the
/// help item moves to the end, labelled `more`: `?` lists them all.
pub fn fit(all: Vec<(String, String, Place)>, budget: usize) -> (Vec<(String, String, Place)>, usize) {
    let width = |i: &(String, String, Place)| i.0.width() + i.1.width() + 3;
    let mut order: Vec<usize> = (0..all.len()).collect();
    order.sort_by_key(|&k| all[k].2);
    let mut used = 0;
    let mut take = vec![false; all.len()];
    for k in order {
        if all[k].2 == Place::Always || used + width(&all[k]) <= budget {
            used += width(&all[k]);
            take[k] = true;
        }
    }
    let dropped = take.iter().any(|t| !t);
    let mut shown: Vec<_> = all.into_iter().zip(take).filter(|(_, t)| *t).map(|(i, _)| i).collect();
    if dropped && let Some(at) = shown.iter().position(|i| i.1 == HELP_LABEL) {
        let mut help = shown.remove(at);
        used = used + MORE_LABEL.width() - help.1.width();
        help.1 = MORE_LABEL.to_string();
        shown.push(help);
    }
    (shown, used)
}

/// The help binding's footer label, and what it becomes when keys are left out.
const HELP_LABEL: &str = "help";
const MORE_LABEL: &str = "more";

/// The layer whose table the keys go to now: the first from the top that takes keys.
pub fn active_ctx(app: &App) -> Ctx {
    for layer in app.layers.iter().rev() {
        match layer {
            Layer::Detail if app.detail.focused => return Ctx::Detail,
            Layer::Detail | Layer::Status(_) => continue,
            Layer::Logs(l) if !l.has_focus() => continue,
            other => return other.ctx().unwrap_or(Ctx::Matrix),
        }
    }
    Ctx::Matrix
}

/// (keys, label, place) for the bindings that apply in the current state, in table order.
pub fn items(app: &App) -> Vec<(String, String, Place)> {
    let ctx = active_ctx(app);
    let label = |b: &crate::app::keymap::Binding, place: Place| {
        b.footer.filter(|_| !b.keys.is_empty()).map(|l| (keys_text(&b.keys[..1]), l.to_string(), place))
    };
    let always = |yes: bool| if yes { Place::Always } else { Place::Rest };
    match ctx {
        Ctx::Matrix => {}
        Ctx::Logs => {
            let split = app.logs().is_some_and(|l| l.layout == crate::app::logs::LogLayout::Split);
            let mut out: Vec<_> = app
                .keymap
                .table(Ctx::Logs)
                .filter(|b| b.applies != Applies::InSplit || split)
                .filter_map(|b| label(b, always(b.action == Action::LogsClose)))
                .collect();
            // Application keys still work on top of the pane, except those the pane binds
            // itself (`q` closes the pane): show a key that reaches the application.
            let shadowed: Vec<_> = app.keymap.table(Ctx::Logs).flat_map(|b| b.keys.iter().copied()).collect();
            for action in [Action::Help, Action::Quit] {
                let Some(b) = app.keymap.binding(action) else { continue };
                if let (Some(k), Some(l)) = (b.keys.iter().find(|k| !shadowed.contains(k)), b.footer) {
                    out.push((k.to_string(), l.to_string(), Place::Always));
                }
            }
            return out;
        }
        Ctx::Detail => {
            // The other keys still reach the matrix: offer closing, help and quit too.
            let mut out: Vec<_> = app.keymap.table(Ctx::Detail).filter_map(|b| label(b, Place::Always)).collect();
            for action in [Action::Close, Action::Help, Action::Quit] {
                if let Some(b) = app.keymap.binding(action) {
                    out.extend(label(b, Place::Always));
                }
            }
            return out;
        }
        // A confirmation that asks for a name reads text: its letters are not keys.
        Ctx::Confirm if crate::app::actions::takes_text(app) => {
            return vec![
                ("Enter".to_string(), "check the typed name".to_string(), Place::Always),
                ("Esc".to_string(), "cancel".to_string(), Place::Always),
            ];
        }
        other => return app.keymap.table(other).filter_map(|b| label(b, Place::Always)).collect(),
    }
    let has_pod = match (app.cursor_node(), app.cursor_ds()) {
        (Some(n), Some(d)) => app.index.cell(n, d).pod.is_some(),
        _ => false,
    };
    let has_col = app.cursor_ds().is_some();
    let has_layer = !app.layers.is_empty() || !app.filter.is_empty() || app.task.is_some();
    app.keymap
        .table(Ctx::Matrix)
        .filter(|b| match b.applies {
            Applies::Always => true,
            Applies::WithPod => has_pod,
            Applies::WithColumn => has_col,
            Applies::WithLayer => has_layer,
            Applies::InSplit => false,
        })
        // Forbidden here (RBAC, a protected context): not offered; the key and help say why.
        .filter(|b| crate::app::access::denied(app, b.action).is_none())
        .filter_map(|b| {
            let place = if matches!(b.action, Action::Help | Action::Quit | Action::Close) {
                Place::Always
            } else if FIRST.contains(&b.action) {
                Place::First
            } else {
                Place::Rest
            };
            label(b, place)
        })
        .collect()
}
