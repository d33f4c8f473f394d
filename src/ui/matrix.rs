//! The matrix: a row per node, a column per DaemonSet, virtualised in both directions (only
//! the rows and columns inside the viewport are looked up in the index).
//!
//! Column headers: cells are 3 columns wide (up to 8 when the columns leave room), far too
//! narrow for names, so the names are staggered over the header lines: column `i` writes its
//! name on line `i % lines`, starting right above the column, and may run until the next
//! visible column that uses the same line (8 characters with 3 lines of 3-wide cells), the last
//! ones to the right edge. The cursor column's name is drawn last, in full, and the legend
//! line above repeats it with its namespace and counts. The label column of the header shows
//! the sort, grouping and filter in force.
//!
//! Totals: under each column, how far ready pods fall short of the predicate's desired
//! count (`-3`), or the ready glyph when none are missing; the legend shows the exact numbers.

use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use unicode_width::UnicodeWidthStr;

use super::layout::Geometry;
use super::{fit_end, fit_middle};
use crate::app::App;
use crate::app::keymap::Action;
use crate::app::view::RowEntry;
use crate::fleet::CellState;
use crate::fleet::model::NodeReadiness;
use crate::theme::Slot;

pub fn render(app: &App, f: &mut Frame, g: &Geometry) {
    let buf = f.buffer_mut();
    legend(app, buf, g.legend);
    column_headers(app, buf, g);
    body(app, buf, g);
    totals(app, buf, g);
}

/// Visible column range as indices into `app.view.cols`.
fn visible_cols(app: &App, g: &Geometry) -> std::ops::Range<usize> {
    let start = app.cursor.col_offset.min(app.view.cols.len());
    start..(start + g.visible_cols).min(app.view.cols.len())
}

fn legend(app: &App, buf: &mut Buffer, area: Rect) {
    let theme = app.theme();
    let style = theme.style(Slot::Legend);
    buf.set_style(area, style);
    let glyphs = theme.glyph_set(app.ascii);
    let mut x = area.x;
    let right = area.x + area.width;
    let put = |buf: &mut Buffer, text: &str, st: Style, x: &mut u16| {
        if *x < right {
            let (nx, _) = buf.set_stringn(*x, area.y, text, (right - *x) as usize, st);
            *x = nx;
        }
    };
    // The matrix itself says when what it shows may be old, not only the header.
    if let Some(age) = crate::app::clock::stale_for(app) {
        let text = format!(" data stale for {} ", crate::app::clock::fmt_age(age));
        put(buf, &text, theme.style(Slot::StreamReconnecting), &mut x);
    }
    // And what RBAC hides from it: no verdict is made up for what cannot be read.
    for text in crate::app::access::rbac_gaps(app) {
        put(buf, &format!(" {text} "), theme.style(Slot::StreamFailed), &mut x);
    }
    let pos = format!(
        " row {}/{} col {}/{} ",
        // Positions count group headers too: counting only nodes would walk every row per frame.
        if app.view.rows.is_empty() { 0 } else { app.cursor.row + 1 },
        app.view.rows.len(),
        if app.view.cols.is_empty() { 0 } else { app.cursor.col + 1 },
        app.view.cols.len()
    );
    let Some(ds) = app.cursor_ds().and_then(|id| app.index.ds(id)) else {
        put(buf, &pos, theme.style(Slot::DetailKey), &mut x);
        return;
    };
    put(buf, super::deco(app.ascii, "▸ ", "> "), theme.style(Slot::Title), &mut x);
    put(buf, &format!("{}/{}", ds.namespace, ds.name), theme.style(Slot::Title), &mut x);
    let ready = ds.counts[CellState::Ready.idx()] + ds.counts[CellState::Outdated.idx()];
    let (desired, whose) = desired_of(app, &ds);
    let short = ready < desired;
    put(
        buf,
        &format!("  ready {ready}/{desired}{whose}"),
        theme.style(if short { Slot::TotalsShort } else { Slot::Totals }),
        &mut x,
    );
    for state in CellState::ALL {
        let n = ds.counts[state.idx()];
        if n == 0 || matches!(state, CellState::Ready | CellState::NotEligible) {
            continue;
        }
        put(buf, &format!("  {} {n} {}", glyphs.state(state), state.name()), theme.state_style(state), &mut x);
    }
    put(buf, &pos, theme.style(Slot::DetailKey), &mut x);
    // The column's most frequent recent warning, in the cluster's words, cut to what fits;
    // only while the column has problems (a healed DaemonSet's old refusals are history), and
    // only when enough of it fits to be read.
    let troubled = CellState::ALL.iter().any(|s| s.is_problem() && ds.counts[s.idx()] > 0);
    let room = right.saturating_sub(x) as usize;
    if troubled
        && room >= 20
        && let Some(w) = crate::fleet::why::ds_warning_short(&app.index, &ds, app.now)
    {
        put(buf, &fit_end(&format!(" {w}"), room, app.ascii), theme.style(Slot::TotalsShort), &mut x);
    }
}

fn column_headers(app: &App, buf: &mut Buffer, g: &Geometry) {
    let theme = app.theme();
    let area = g.colhead;
    buf.set_style(area, theme.style(Slot::ColumnHeader));
    let lines = area.height as usize;
    // The label column: what is in force.
    let mut info = vec![format!("sort: {}", app.sort.label())];
    if let Some(label) = app.group_label() {
        info.push(format!("group: {label}"));
    }
    if app.problems_only {
        info.push("problems only".to_string());
    }
    if !app.filter.is_empty() {
        info.push(format!("/{}", app.filter));
    }
    if info.len() > lines {
        // Keep the most specific lines (filter, problems) when space is short.
        info.drain(..info.len() - lines);
    }
    for (i, text) in info.iter().enumerate() {
        buf.set_stringn(
            area.x,
            area.y + i as u16,
            fit_end(text, g.label_width.saturating_sub(1) as usize, app.ascii),
            g.label_width.saturating_sub(1) as usize,
            theme.style(Slot::DetailKey),
        );
    }
    let right = area.x + area.width;
    let range = visible_cols(app, g);
    // The cursor column's name is drawn in full: names it would run into on its line are left
    // out (a space after it keeps it from reading as one word with the next).
    let cursor_span = range.clone().enumerate().find(|(_, ci)| *ci == app.cursor.col).and_then(|(j, ci)| {
        let ds = app.index.ds(app.view.cols[ci])?;
        let x = g.col_x(j);
        Some((ci % lines, x, x.saturating_add(UnicodeWidthStr::width(ds.name) as u16 + 1)))
    });
    let mut cursor_name = None;
    for (j, ci) in range.clone().enumerate() {
        let Some(ds) = app.index.ds(app.view.cols[ci]) else { continue };
        let x = g.col_x(j);
        let line = ci % lines;
        // Until the next visible column that writes on the same line, or the right edge.
        let next = if j + lines < range.len() { g.col_x(j + lines) } else { right };
        let room = next.saturating_sub(x).saturating_sub(1).max(1) as usize;
        if ci == app.cursor.col {
            cursor_name = Some((x, line, ds.name.to_string()));
            continue;
        }
        if let Some((cline, cx, cend)) = cursor_span
            && cline == line
            && x > cx
            && x < cend
        {
            continue;
        }
        buf.set_stringn(
            x,
            area.y + line as u16,
            fit_end(ds.name, room, app.ascii),
            room,
            theme.style(Slot::ColumnHeader),
        );
    }
    if let Some((x, line, name)) = cursor_name {
        let room = right.saturating_sub(x) as usize;
        buf.set_stringn(
            x,
            area.y + line as u16,
            fit_end(&name, room, app.ascii),
            room,
            theme.style(Slot::ColumnHeaderCursor),
        );
    }
}

fn node_label(app: &App, buf: &mut Buffer, g: &Geometry, y: u16, id: crate::fleet::index::NodeId, is_cursor: bool) {
    let theme = app.theme();
    let glyphs = theme.glyph_set(app.ascii);
    let Some(n) = app.index.node(id) else { return };
    let name_w = g.label_width.saturating_sub(5) as usize;
    let style = theme.style(if is_cursor { Slot::RowLabelCursor } else { Slot::RowLabel });
    let x = g.body.x;
    let label = format!("{:<w$}", fit_middle(n.name, name_w, app.ascii), w = name_w);
    buf.set_stringn(x, y, &label, name_w, style);
    let fx = x + name_w as u16 + 1;
    let (ready_glyph, ready_slot) = match n.readiness {
        // A row made from pods (nodes forbidden): unknown, but not a node in trouble.
        _ if n.standin => (glyphs.node_unknown.as_str(), Slot::StreamReconnecting),
        NodeReadiness::Ready => (" ", Slot::RowLabel),
        NodeReadiness::NotReady => (glyphs.node_not_ready.as_str(), Slot::NodeNotReady),
        NodeReadiness::Unknown => (glyphs.node_unknown.as_str(), Slot::NodeNotReady),
    };
    buf.set_string(fx, y, ready_glyph, theme.style(ready_slot));
    if n.unschedulable {
        buf.set_string(fx + 1, y, &glyphs.node_cordoned, theme.style(Slot::NodeCordoned));
    }
    if !n.taints.is_empty() {
        buf.set_string(fx + 2, y, &glyphs.node_tainted, theme.style(Slot::NodeTainted));
    }
}

fn body(app: &App, buf: &mut Buffer, g: &Geometry) {
    let theme = app.theme();
    let glyphs = theme.glyph_set(app.ascii);
    let area = g.body;
    if app.view.rows.is_empty() || app.view.cols.is_empty() {
        empty_message(app, buf, area);
        return;
    }
    let cols = visible_cols(app, g);
    let threshold = app.config.restart_threshold.max(1);
    let cursor_style = theme.style(Slot::Cursor);
    let restart_style = theme.style(Slot::Restarts);
    let first = app.cursor.row_offset.min(app.view.rows.len());
    let last = (first + g.visible_rows).min(app.view.rows.len());
    for (i, ri) in (first..last).enumerate() {
        let y = area.y + i as u16;
        match &app.view.rows[ri] {
            RowEntry::Group { label, value, nodes, problems } => {
                let dot = super::deco(app.ascii, "·", "-");
                let text = format!(
                    "{} {label}={} {dot} {nodes} nodes{}",
                    super::deco(app.ascii, "▾", "v"),
                    value.as_deref().unwrap_or("(none)"),
                    if *problems > 0 { format!(" {dot} {problems} with problems") } else { String::new() }
                );
                buf.set_stringn(area.x, y, &text, area.width as usize, theme.style(Slot::GroupHeader));
            }
            RowEntry::Node(id) => {
                let row_is_cursor = ri == app.cursor.row;
                node_label(app, buf, g, y, *id, row_is_cursor);
                for (j, ci) in cols.clone().enumerate() {
                    let cell = app.index.cell(*id, app.view.cols[ci]);
                    let x = g.col_x(j);
                    let mut st = theme.state_style(cell.state);
                    let is_cursor = row_is_cursor && ci == app.cursor.col;
                    if is_cursor {
                        st = st.patch(cursor_style);
                        buf.set_string(x, y, " ", st);
                    }
                    buf.set_string(x + 1, y, glyphs.state(cell.state), st);
                    let restarts = cell.pod.as_ref().map(|p| p.restarts).unwrap_or(0);
                    if restarts >= threshold {
                        let rs = if is_cursor { restart_style.patch(cursor_style) } else { restart_style };
                        buf.set_string(x + 2, y, &glyphs.restarts, rs);
                    } else if is_cursor {
                        buf.set_string(x + 2, y, " ", st);
                    }
                }
            }
        }
    }
}

fn empty_message(app: &App, buf: &mut Buffer, area: Rect) {
    let theme = app.theme();
    use crate::fleet::model::StreamKind;
    let denied: Vec<&str> = [(StreamKind::DaemonSets, "DaemonSets"), (StreamKind::Pods, "pods")]
        .into_iter()
        .filter(|(k, _)| app.index.denied(*k))
        .map(|(_, name)| name)
        .collect();
    let text = if !app.index.synced() {
        format!("Listing nodes, DaemonSets and pods{}", super::deco(app.ascii, "…", "..."))
    } else if !denied.is_empty() && app.index.summary().daemonsets == 0 {
        // Nothing to draw because the user may not read what the matrix is made of: say so and
        // what to do, never an empty fleet.
        let what = denied.join(" and ");
        match &app.namespace {
            None => format!(
                "Forbidden: {what} in all namespaces. Press {} for one namespace.",
                app.keymap.first_key(Action::NamespacePicker)
            ),
            Some(ns) => format!(
                "Forbidden: {what} in namespace {ns}. Ask for list/watch, or press {}.",
                app.keymap.first_key(Action::NamespacePicker)
            ),
        }
    } else if app.index.summary().nodes == 0 {
        "No nodes visible to this user.".to_string()
    } else if app.index.summary().daemonsets == 0 {
        match &app.namespace {
            Some(ns) => format!("No DaemonSets in namespace {ns}."),
            None => "No DaemonSets in this cluster.".to_string(),
        }
    } else if !app.filter.is_empty() || app.problems_only {
        format!(
            "Nothing matches{}{}. Press / to edit the filter{}.",
            if app.filter.is_empty() { String::new() } else { format!(" the filter \"{}\"", app.filter) },
            if app.problems_only { " with problems only" } else { "" },
            if app.problems_only { ", p to show all" } else { "" }
        )
    } else {
        "Nothing to show.".to_string()
    };
    if area.height > 0 {
        buf.set_stringn(area.x + 1, area.y, text, area.width.saturating_sub(1) as usize, theme.style(Slot::Notice));
    }
}

/// How many nodes the DaemonSet should run on: our predicate's count, or, while nodes cannot
/// be read (RBAC), the DaemonSet controller's own `desiredNumberScheduled` (said so).
fn desired_of(app: &App, ds: &crate::fleet::index::DsView<'_>) -> (u32, &'static str) {
    if app.index.denied(crate::fleet::model::StreamKind::Nodes) {
        (u32::try_from(ds.status.desired).unwrap_or(0), " (controller)")
    } else {
        (ds.desired_by_predicate, "")
    }
}

fn totals(app: &App, buf: &mut Buffer, g: &Geometry) {
    let theme = app.theme();
    let glyphs = theme.glyph_set(app.ascii);
    let area = g.totals;
    if area.height == 0 {
        return;
    }
    let label_w = g.label_width.saturating_sub(1) as usize;
    buf.set_stringn(
        area.x,
        area.y,
        fit_end("ready-desired", label_w, app.ascii),
        label_w,
        theme.style(Slot::DetailKey),
    );
    // With rows filtered out (the filter, problems only) the row counts the rows shown, so it
    // agrees with the cells above it: O(shown rows) per visible column, only then.
    let filtered = (app.view.node_rows as u32) < app.index.summary().nodes;
    for (j, ci) in visible_cols(app, g).enumerate() {
        let id = app.view.cols[ci];
        let Some(ds) = app.index.ds(id) else { continue };
        let nodes_unknown = app.index.denied(crate::fleet::model::StreamKind::Nodes);
        if filtered && nodes_unknown {
            // Rows shown are a part of the fleet, and where the DaemonSet should run is unknown.
            buf.set_string(g.col_x(j) + 1, area.y, glyphs.state(CellState::Unknown), theme.style(Slot::TotalsShort));
            continue;
        }
        let (ready, desired) = if filtered {
            let shown = app.view.rows.iter().filter_map(|r| match r {
                RowEntry::Node(n) => Some(*n),
                _ => None,
            });
            shown.fold((0u32, 0u32), |(ready, desired), n| {
                let state = app.index.cell_state(n, id);
                let runs = app.index.cell_decision(n, id).is_some_and(|(should_run, _)| should_run);
                (ready + u32::from(matches!(state, CellState::Ready | CellState::Outdated)), desired + u32::from(runs))
            })
        } else {
            (ds.counts[CellState::Ready.idx()] + ds.counts[CellState::Outdated.idx()], desired_of(app, &ds).0)
        };
        let x = g.col_x(j);
        if ready >= desired {
            buf.set_string(x + 1, area.y, glyphs.state(CellState::Ready), theme.style(Slot::Totals));
        } else {
            let short = desired - ready;
            let text = if short > 99 { ">99".to_string() } else { format!("{:>3}", format!("-{short}")) };
            buf.set_string(x, area.y, text, theme.style(Slot::TotalsShort));
        }
    }
}
