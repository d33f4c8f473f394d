//! The `?` overlay: every binding of the key table, the matrix by section and then each layer
//! (so help cannot disagree with behaviour), the glyph legend from the theme, and the filter
//! syntax.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use crate::app::App;
use crate::app::keymap::{Action, Ctx, Section, keys_text};
use crate::fleet::CellState;
use crate::theme::Slot;

pub fn render(app: &App, scroll: u16, f: &mut Frame, area: Rect) {
    let theme = app.theme();
    let w = area.width.saturating_sub(4).min(86);
    let h = area.height.saturating_sub(2);
    let r = Rect::new(area.x + (area.width - w) / 2, area.y + 1, w, h);
    let title = format!(
        " help {} {} closes, {}/{} scroll ",
        super::deco(app.ascii, "—", "-"),
        app.keymap.first_key(Action::HelpClose),
        app.keymap.first_key(Action::HelpUp),
        app.keymap.first_key(Action::HelpDown),
    );
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.style(Slot::Border))
        .title(Span::styled(title, theme.style(Slot::DetailTitle)));
    let inner = block.inner(r);
    f.render_widget(Clear, r);
    f.render_widget(block, r);
    let text = lines(app);
    let max_scroll = (text.len() as u16).saturating_sub(inner.height);
    f.render_widget(Paragraph::new(text).scroll((scroll.min(max_scroll), 0)), inner);
}

/// The help text.
pub fn lines(app: &App) -> Vec<Line<'static>> {
    let theme = app.theme();
    let key = theme.style(Slot::HelpKey);
    let text = theme.style(Slot::Help);
    let title = theme.style(Slot::DetailTitle);
    let mut out = Vec::new();
    out.push(Line::styled(
        format!(
            "Keymap: {} preset (keymap = \"default\" or \"k9s\" in config.toml; [keys] overrides apply on top)",
            app.keymap.preset.name()
        ),
        text,
    ));
    if app.readonly {
        out.push(Line::styled("Read-only mode: keys that change the cluster are removed.", theme.style(Slot::Notice)));
    }
    // What the server (or a protected context) forbids where the cursor is, and why.
    for action in [Action::RestartPod, Action::RolloutRestart] {
        if let Some(why) = crate::app::access::denied(app, action) {
            let what = app.keymap.description(action);
            out.push(Line::styled(format!("Not available here: {what}: {why}"), theme.style(Slot::Error)));
        }
    }
    if !app.messages.is_empty() {
        out.push(Line::styled("Messages (newest first)", title));
        for (at, level, message) in app.messages.iter().rev() {
            let slot = match level {
                crate::app::Level::Info => Slot::Help,
                crate::app::Level::Warn => Slot::Notice,
                crate::app::Level::Error => Slot::Error,
            };
            out.push(Line::from(vec![
                Span::styled(format!("  {:>8} ago  ", super::fmt_age(app.now.saturating_sub(*at))), key),
                Span::styled(message.clone(), theme.style(slot)),
            ]));
        }
    }
    let row = |b: &crate::app::keymap::Binding| {
        let keys = if b.keys.is_empty() { "(unbound)".to_string() } else { keys_text(&b.keys) };
        Line::from(vec![
            Span::styled(format!("  {keys:<14}"), key),
            Span::styled(format!(" {}", b.description), text),
            Span::styled(format!("  [{}]", b.action.name()), theme.style(Slot::DetailKey)),
        ])
    };
    let mut sections: Vec<Section> = app.keymap.table(Ctx::Matrix).map(|b| b.section).collect();
    sections.sort();
    sections.dedup();
    for section in sections {
        out.push(Line::styled(section.title().to_string(), title));
        out.extend(app.keymap.table(Ctx::Matrix).filter(|b| b.section == section).map(row));
    }
    for ctx in Ctx::ALL.iter().filter(|c| **c != Ctx::Matrix) {
        out.push(Line::styled(ctx.title().to_string(), title));
        out.extend(app.keymap.table(*ctx).map(row));
    }
    out.push(Line::styled("Cell glyphs", title));
    let glyphs = theme.glyph_set(app.ascii);
    for state in CellState::ALL {
        out.push(Line::from(vec![
            Span::styled(format!("  {}  ", glyphs.state(state)), theme.state_style(state)),
            Span::styled(state.name().to_string(), text),
        ]));
    }
    out.push(Line::from(vec![
        Span::styled(format!("  {}  ", glyphs.restarts), theme.style(Slot::Restarts)),
        Span::styled(format!("after the glyph: {} or more restarts", app.config.restart_threshold.max(1)), text),
    ]));
    out.push(Line::styled("Row markers (after a node name)", title));
    for (glyph, slot, meaning) in [
        (&glyphs.node_not_ready, Slot::NodeNotReady, "the node is NotReady"),
        (&glyphs.node_unknown, Slot::NodeNotReady, "readiness Unknown: the kubelet stopped posting status"),
        (&glyphs.node_cordoned, Slot::NodeCordoned, "cordoned (spec.unschedulable)"),
        (&glyphs.node_tainted, Slot::NodeTainted, "has taints (the detail panel lists them)"),
    ] {
        out.push(Line::from(vec![
            Span::styled(format!("  {glyph}  "), theme.style(slot)),
            Span::styled(meaning.to_string(), text),
        ]));
    }
    let mut section = |heading: &str, body: &[&str]| {
        out.push(Line::styled(heading.to_string(), title));
        out.extend(body.iter().map(|l| Line::styled(l.to_string(), text)));
    };
    section(
        "Bottom row: ready-desired",
        &[
            "  under each column, how many ready pods (current or outdated) it lacks on the nodes",
            "  where it should run (-3), or the ready glyph when none; it counts the rows shown,",
            "  so it follows the filter and problems only. The line above the columns has the",
            "  cursor DaemonSet's totals.",
        ],
    );
    section(
        "Severity (problem sort, ] and [ jumps, header)",
        &["  missing, failing > pending, not-ready, misscheduled > terminating > outdated"],
    );
    section(
        "Filter (/)",
        &[
            "  key=value      nodes with that label (pool=gpu)",
            "  node:TEXT      nodes whose name matches TEXT",
            "  ds:TEXT        DaemonSets whose namespace/name contains TEXT",
            "  word           a DaemonSet if one's name contains it, else node names",
            "                 (substring; fuzzy in-order letters when nothing contains it)",
            "  node terms must all match; DaemonSet terms add columns",
        ],
    );
    out.push(Line::styled(
        "Keys are set in config.toml under [keys] by the name in brackets: restart_pod = \"x\", \"logs.follow\" = \"F\".",
        text,
    ));
    out
}
