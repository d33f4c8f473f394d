//! The detail panel for the cursor cell: the pod (or why there is none), the node and the
//! DaemonSet. Text only, built from index views; ages from `app.now`.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use unicode_width::UnicodeWidthChar;

use super::fmt_age;
use crate::app::{Action, App};
use crate::fleet::CellState;
use crate::fleet::model::{NodeReadiness, StreamKind, StreamState, UpdateStrategy};
use crate::fleet::why::{ds_warning, explain, node_warnings};
use crate::theme::Slot;

pub fn render(app: &App, f: &mut Frame, area: Rect) {
    let theme = app.theme();
    let title = if app.detail.focused {
        format!(
            " detail: keys here ({}/{} scroll, {} back to the matrix) ",
            app.keymap.first_key(Action::DetailDown),
            app.keymap.first_key(Action::DetailUp),
            app.keymap.first_key(Action::DetailFocus)
        )
    } else {
        format!(
            " detail ({}/{} closes, {} scrolls) ",
            app.keymap.first_key(Action::ToggleDetail),
            app.keymap.first_key(Action::Close),
            app.keymap.first_key(Action::DetailFocus)
        )
    };
    let border = if app.detail.focused { theme.style(Slot::Cursor) } else { theme.style(Slot::Border) };
    let block = Block::default().borders(Borders::ALL).border_style(border).title(Span::styled(
        super::fit_end(&title, area.width.saturating_sub(2) as usize, app.ascii),
        theme.style(Slot::DetailTitle),
    ));
    let inner = block.inner(area);
    f.render_widget(Clear, area);
    f.render_widget(block, area);
    let text = lines(app, inner.width as usize);
    let max_scroll = (text.len() as u16).saturating_sub(inner.height);
    let scroll = app.detail.scroll_for(app.cursor_cell()).min(max_scroll);
    f.render_widget(Paragraph::new(text).scroll((scroll, 0)), inner);
}

/// Events listed under a cell's why.
const MAX_EVENTS: usize = 3;

/// Why the whys may lack the cluster's events.
fn events_unavailable(app: &App) -> String {
    match app.index.stream_state(StreamKind::Events) {
        StreamState::Failed { error } => format!("unavailable: {error}"),
        _ => "not listed yet; the why may lack the cluster's own words".to_string(),
    }
}

struct Out {
    lines: Vec<Line<'static>>,
    /// Columns available for a value (the panel width minus the key column).
    value_width: usize,
    key: Style,
    value: Style,
    title: Style,
}

impl Out {
    fn title(&mut self, t: impl Into<String>) {
        self.lines.push(Line::styled(t.into(), self.title));
    }
    fn kv(&mut self, k: &str, v: impl Into<String>) {
        self.kv_styled(k, v, self.value);
    }
    /// A key and its value; long values wrap under the value column, not under the key.
    fn kv_styled(&mut self, k: &str, v: impl Into<String>, style: Style) {
        let v = v.into();
        for (i, chunk) in wrap(&v, self.value_width).into_iter().enumerate() {
            let key = if i == 0 { format!("  {k:<12} ") } else { " ".repeat(15) };
            self.lines.push(Line::from(vec![Span::styled(key, self.key), Span::styled(chunk, style)]));
        }
    }
}

/// Split `s` into pieces of at most `width` columns, at spaces where possible.
fn wrap(s: &str, width: usize) -> Vec<String> {
    let width = width.max(8);
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut cur_w = 0;
    for word in s.split_inclusive(' ') {
        let ww: usize = word.chars().map(|c| c.width().unwrap_or(0)).sum();
        if cur_w + ww > width && !cur.is_empty() {
            out.push(std::mem::take(&mut cur).trim_end().to_string());
            cur_w = 0;
        }
        if ww > width {
            // A word longer than the line (a label value, an image): cut it hard.
            for c in word.chars() {
                let cw = c.width().unwrap_or(0);
                if cur_w + cw > width {
                    out.push(std::mem::take(&mut cur));
                    cur_w = 0;
                }
                cur.push(c);
                cur_w += cw;
            }
        } else {
            cur.push_str(word);
            cur_w += ww;
        }
    }
    if !cur.is_empty() || out.is_empty() {
        out.push(cur.trim_end().to_string());
    }
    out
}

/// The panel's text for a panel `width` columns wide.
pub fn lines(app: &App, width: usize) -> Vec<Line<'static>> {
    let theme = app.theme();
    let glyphs = theme.glyph_set(app.ascii);
    let mut o = Out {
        lines: Vec::new(),
        value_width: width.saturating_sub(15),
        key: theme.style(Slot::DetailKey),
        value: theme.style(Slot::DetailValue),
        title: theme.style(Slot::DetailTitle),
    };
    let (Some(node_id), Some(ds_id)) = (app.cursor_node(), app.cursor_ds()) else {
        o.title("No cell under the cursor.");
        return o.lines;
    };
    let (Some(node), Some(ds)) = (app.index.node(node_id), app.index.ds(ds_id)) else {
        o.title("The cursor's node or DaemonSet is gone.");
        return o.lines;
    };
    let cell = app.index.cell(node_id, ds_id);
    let state = cell.state;
    o.lines.push(Line::from(vec![
        Span::styled(format!("{} {}", glyphs.state(state), state.name()), theme.state_style(state)),
        Span::styled(format!("  {}/{} on {}", ds.namespace, ds.name, node.name), o.value),
    ]));

    // Why, first: in the cluster's words (events, the kubelet's statuses) where it has them.
    match explain(&app.index, &cell, &ds, &node, app.now) {
        Some(why) => {
            let style = if state == CellState::NotEligible { o.value } else { theme.state_style(state) };
            let why_text = why.text.clone();
            o.kv_styled("why", why.text, style);
            if let Some(hint) = why.hint {
                o.kv("next", hint);
            }
            // The events the why does not already quote.
            let listed = why.events.iter().filter(|e| !why_text.contains(e.message.as_str()));
            for (i, e) in listed.take(MAX_EVENTS).enumerate() {
                let times = if e.count > 1 { format!("{}× ", e.count) } else { String::new() };
                o.kv(
                    if i == 0 { "events" } else { "" },
                    format!("{} {times}{} ago ({}): {}", e.reason, fmt_age(app.now - e.last), e.object, e.message),
                );
            }
        }
        None if state == CellState::NotEligible => o.kv("why", "the DaemonSet does not schedule here"),
        None => {}
    }
    let events_missing = !app.index.listed(StreamKind::Events)
        || matches!(app.index.stream_state(StreamKind::Events), StreamState::Failed { .. });
    if events_missing && state.is_problem() {
        o.kv_styled("events", events_unavailable(app), theme.style(Slot::TotalsShort));
    }

    if let Some(pod) = &cell.pod {
        o.title("Pod");
        o.kv("name", pod.name.to_string());
        o.kv_styled("status", pod.reason.to_string(), theme.state_style(state));
        o.kv("ready", format!("{}/{} containers", pod.containers_ready, pod.containers_total));
        let mut restarts = pod.restarts.to_string();
        if let Some(t) = pod.last_restart {
            restarts.push_str(&format!(" (last {} ago)", fmt_age(app.now - t)));
        }
        let restart_style =
            if pod.restarts >= app.config.restart_threshold.max(1) { theme.style(Slot::Restarts) } else { o.value };
        o.kv_styled("restarts", restarts, restart_style);
        if let Some(t) = pod.last_termination {
            o.kv("last exit", t.to_string());
        }
        o.kv("age", fmt_age(app.now - pod.created));
        let newest = ds.newest_revision.map(|(_, h)| h);
        let rev = match (pod.revision_hash, pod.outdated) {
            (Some(h), true) => format!("{h} (outdated; newest is {})", newest.unwrap_or("unknown")),
            (Some(h), false) => format!("{h} (current)"),
            (None, true) => "no revision label (outdated)".to_string(),
            (None, false) => "no revision label".to_string(),
        };
        o.kv_styled("revision", rev, if pod.outdated { theme.state_style(CellState::Outdated) } else { o.value });
        if pod.deleting {
            o.kv_styled("deleting", "deletionTimestamp set", theme.state_style(CellState::Terminating));
        }
        if cell.pods > 1 {
            o.kv("pods here", format!("{} (surge or leftover; the worst is shown)", cell.pods));
        }
    }

    o.title("Node");
    o.kv("name", node.name.to_string());
    if node.standin {
        // Nothing of the node is known: no readiness, age, taints or labels to show, and none
        // made up.
        o.kv_styled(
            "known",
            "only from its pods: nodes cannot be listed (RBAC); ask for list/watch on nodes",
            theme.style(Slot::StreamFailed),
        );
    } else {
        node_facts(app, &mut o, &node, node_id);
    }

    o.title("DaemonSet");
    o.kv("name", format!("{}/{}", ds.namespace, ds.name));
    let st = ds.status;
    o.kv(
        "status",
        format!(
            "desired {} current {} ready {} updated {} available {} unavailable {} misscheduled {}",
            st.desired, st.current, st.ready, st.updated, st.available, st.unavailable, st.misscheduled
        ),
    );
    if app.index.denied(crate::fleet::model::StreamKind::Nodes) {
        o.kv_styled("predicate", "unknown: nodes cannot be listed", theme.style(Slot::TotalsShort));
    } else {
        let pred_style =
            if ds.desired_by_predicate as i64 != st.desired as i64 { theme.style(Slot::TotalsShort) } else { o.value };
        o.kv_styled("predicate", format!("{} nodes should run it", ds.desired_by_predicate), pred_style);
    }
    o.kv(
        "strategy",
        match ds.strategy {
            UpdateStrategy::RollingUpdate { max_unavailable, max_surge } => {
                format!("RollingUpdate maxUnavailable={max_unavailable} maxSurge={max_surge}")
            }
            UpdateStrategy::OnDelete => "OnDelete".to_string(),
        },
    );
    if let Some((rev, hash)) = ds.newest_revision {
        o.kv("revision", format!("{rev} ({hash})"));
    }
    if let Some(w) = ds_warning(&app.index, &ds, app.now) {
        o.kv_styled("warning", w, theme.style(Slot::TotalsShort));
    }
    for (i, img) in ds.images.iter().enumerate() {
        o.kv(if i == 0 { "images" } else { "" }, img.to_string());
    }
    o.lines
}

/// What is known of a node: readiness, cordon, age, conditions, warnings, taints and labels.
fn node_facts(app: &App, o: &mut Out, node: &crate::fleet::index::NodeView<'_>, node_id: crate::fleet::index::NodeId) {
    let theme = app.theme();
    let readiness = match node.readiness {
        NodeReadiness::Ready => "Ready",
        NodeReadiness::NotReady => "NotReady",
        NodeReadiness::Unknown => "Unknown (node controller lost contact)",
    };
    let rs = if node.readiness == NodeReadiness::Ready { o.value } else { theme.style(Slot::NodeNotReady) };
    let info = app.index.node_info(node_id);
    let since = |what: &str| {
        info.and_then(|i| i.since(what)).map(|t| format!(" (since {} ago)", fmt_age(app.now - t))).unwrap_or_default()
    };
    o.kv_styled("readiness", format!("{readiness}{}", since("Ready")), rs);
    if node.unschedulable {
        o.kv_styled("cordoned", "yes (spec.unschedulable)", theme.style(Slot::NodeCordoned));
    }
    o.kv("age", fmt_age(app.now - node.created));
    o.kv("problems", format!("{} cell{}", node.problems, if node.problems == 1 { "" } else { "s" }));
    if let Some(info) = info.filter(|i| !i.pressures.is_empty()) {
        let list: Vec<String> = info.pressures.iter().map(|p| format!("{p}{}", since(p))).collect();
        o.kv_styled("conditions", list.join(", "), theme.style(Slot::NodeNotReady));
    }
    for (i, w) in node_warnings(&app.index, node, app.now).into_iter().enumerate() {
        o.kv(if i == 0 { "warnings" } else { "" }, w);
    }
    if node.taints.is_empty() {
        o.kv("taints", "none");
    } else {
        for (i, t) in node.taints.iter().enumerate() {
            let added = info
                .and_then(|n| n.since(&format!("taint {t}")))
                .map(|at| format!(" (added {} ago)", fmt_age(app.now - at)))
                .unwrap_or_default();
            o.kv(if i == 0 { "taints" } else { "" }, format!("{t}{added}"));
        }
    }
    // Folded to a count: a cloud node carries a dozen labels that push the DaemonSet's lines
    // off a small panel.
    if app.detail.labels_open {
        for (i, (k, v)) in node.labels.iter().enumerate() {
            o.kv(if i == 0 { "labels" } else { "" }, format!("{k}={v}"));
        }
    } else if !node.labels.is_empty() {
        let n = node.labels.len();
        let how = if app.detail.focused {
            format!("{} shows them", app.keymap.first_key(Action::DetailLabels))
        } else {
            format!(
                "{} then {} shows them",
                app.keymap.first_key(Action::DetailFocus),
                app.keymap.first_key(Action::DetailLabels)
            )
        };
        o.kv("labels", format!("{n} label{} ({how})", if n == 1 { "" } else { "s" }));
    }
}
