//! `snapshot -o table|wide`: the matrix as plain text. Rows are nodes, columns are
//! DaemonSets numbered in a header (read top to bottom for two-digit numbers) and named in a
//! legend below, one glyph per cell: the theme's glyphs, so a snapshot reads like the screen.
//! When the columns do not fit the terminal they are split into blocks. No colour and no escape codes: the output is for pipes, mail and tickets.

use std::io::{IsTerminal, Write};

use unicode_width::UnicodeWidthStr;

use crate::fleet::CellState;
use crate::fleet::Index;
use crate::fleet::index::{DsId, DsView, NodeId, NodeView};
use crate::fleet::model::{NodeReadiness, Secs};
use crate::fleet::why::explain;
use crate::theme::Glyphs;

pub struct TableOptions<'a> {
    pub context: &'a str,
    /// Only the rows and columns that hold a problem cell.
    pub problems_only: bool,
    /// Add one line per problem cell with its pod and reason.
    pub wide: bool,
    /// Cell glyphs (one column each), from the theme.
    pub glyphs: &'a Glyphs,
    pub ascii: bool,
    /// Columns available; `None` for no limit.
    pub width: Option<usize>,
    pub now: Secs,
}

/// The width to fit: the terminal's when stdout is one, else `$COLUMNS`, else no limit (a
/// pipe into a file should not be folded).
pub fn terminal_width() -> Option<usize> {
    if std::io::stdout().is_terminal()
        && let Ok((cols, _)) = crossterm::terminal::size()
        && cols > 0
    {
        return Some(cols as usize);
    }
    std::env::var("COLUMNS").ok().and_then(|c| c.trim().parse::<usize>().ok()).filter(|&c| c > 0)
}

/// Node names longer than this are shortened in the first column (the full name is in the
/// wide lines and the JSON).
const MAX_NODE_COLUMN: usize = 40;

/// What `kubectl get nodes` prints in STATUS: readiness, then `SchedulingDisabled` when cordoned.
fn node_status(node: &NodeView<'_>) -> String {
    let ready = match node.readiness {
        NodeReadiness::Ready => "Ready",
        NodeReadiness::NotReady => "NotReady",
        NodeReadiness::Unknown => "Unknown",
    };
    if node.unschedulable { format!("{ready},SchedulingDisabled") } else { ready.to_string() }
}

/// Shorten to `max` display columns, marking the cut.
fn truncate(text: &str, max: usize, ascii: bool) -> String {
    if text.width() <= max {
        return text.to_string();
    }
    let mark = crate::text::ellipsis(ascii);
    let mut out = String::new();
    let mut used = 0;
    for ch in text.chars() {
        let w = unicode_width::UnicodeWidthChar::width(ch).unwrap_or(0);
        if used + w + 1 > max {
            break;
        }
        out.push(ch);
        used += w;
    }
    out.push(mark);
    out
}

fn pad(text: &str, width: usize) -> String {
    let w = text.width();
    if w >= width { text.to_string() } else { format!("{text}{}", " ".repeat(width - w)) }
}

/// Write the table (and, for wide, the problem lines) for the whole index.
pub fn write(index: &Index, opts: &TableOptions<'_>, out: &mut dyn Write) -> std::io::Result<()> {
    let all_nodes: Vec<(NodeId, NodeView<'_>)> =
        index.node_ids().into_iter().filter_map(|id| index.node(id).map(|n| (id, n))).collect();
    let all_ds: Vec<_> = index.ds_ids().into_iter().filter_map(|id| index.ds(id).map(|d| (id, d))).collect();

    // Which rows and columns to show: everything, or only those holding a problem. Computed
    // from the cells themselves so rows and columns always agree with the glyphs drawn.
    let mut row_has_problem = vec![false; all_nodes.len()];
    let mut col_has_problem = vec![false; all_ds.len()];
    let mut states = [0u32; CellState::COUNT];
    for (r, (node_id, _)) in all_nodes.iter().enumerate() {
        for (c, (ds_id, _)) in all_ds.iter().enumerate() {
            let state = index.cell(*node_id, *ds_id).state;
            states[state.idx()] += 1;
            if state.is_problem() {
                row_has_problem[r] = true;
                col_has_problem[c] = true;
            }
        }
    }
    let nodes: Vec<_> = all_nodes
        .iter()
        .enumerate()
        .filter(|(r, _)| !opts.problems_only || row_has_problem[*r])
        .map(|(_, n)| n)
        .collect();
    // Each column keeps its number in the full table (1-based), so `--problems` and a full
    // snapshot name the same DaemonSet by the same number.
    let dss: Vec<(usize, &(DsId, DsView<'_>))> = all_ds
        .iter()
        .enumerate()
        .filter(|(c, _)| !opts.problems_only || col_has_problem[*c])
        .map(|(c, d)| (c + 1, d))
        .collect();

    let sep = if opts.ascii { "-" } else { "·" };
    writeln!(
        out,
        "context {} {sep} {} nodes {sep} {} daemonsets {sep} {} pods",
        opts.context,
        all_nodes.len(),
        all_ds.len(),
        index.summary().pods
    )?;

    if opts.problems_only && nodes.is_empty() {
        writeln!(out, "no problems: every DaemonSet runs ready and current wherever it should")?;
    } else if dss.is_empty() || nodes.is_empty() {
        writeln!(out, "nothing to show: {} nodes, {} DaemonSets", all_nodes.len(), all_ds.len())?;
    } else {
        write_matrix(index, opts, &nodes, &dss, out)?;
        writeln!(out)?;
        write_ds_legend(&dss, out)?;
    }
    writeln!(out)?;
    let legend: Vec<String> =
        CellState::ALL.iter().map(|&s| format!("{} {}", opts.glyphs.state(s), s.name())).collect();
    writeln!(out, "legend: {}", legend.join("  "))?;
    let counts: Vec<String> = CellState::BY_SEVERITY
        .iter()
        .filter(|s| states[s.idx()] > 0)
        .map(|s| format!("{} {}", s.name(), states[s.idx()]))
        .collect();
    writeln!(out, "summary: {}", if counts.is_empty() { "no cells".to_string() } else { counts.join(", ") })?;

    if opts.wide {
        write_problem_lines(index, opts, &nodes, &dss, out)?;
    }
    Ok(())
}

fn write_matrix(
    index: &Index,
    opts: &TableOptions<'_>,
    nodes: &[&(NodeId, NodeView<'_>)],
    dss: &[(usize, &(DsId, DsView<'_>))],
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let name_w = nodes.iter().map(|(_, n)| n.name.width()).max().unwrap_or(4).clamp(4, MAX_NODE_COLUMN);
    let statuses: Vec<String> = nodes.iter().map(|(_, n)| node_status(n)).collect();
    let status_w = statuses.iter().map(|s| s.width()).max().unwrap_or(6).max(6);
    // Each DaemonSet column is its glyph and a space; the number in the header is written
    // vertically, one digit per header line, so columns stay two characters wide.
    let digits = dss.iter().map(|(num, _)| *num).max().unwrap_or(1).to_string().len();
    let fixed = name_w + 2 + 1 + status_w;
    let per_block = match opts.width {
        Some(w) if w > fixed + 2 => ((w - fixed) / 2).max(1),
        Some(_) => 1,
        None => dss.len(),
    };
    let mut first = true;
    for block in dss.chunks(per_block.max(1)) {
        if !first {
            writeln!(out)?;
        }
        first = false;
        for d in 0..digits {
            let label = if d + 1 == digits { pad("NODE", name_w) } else { " ".repeat(name_w) };
            let mut line = format!("{label}  ");
            for (num, _) in block {
                let num = format!("{num:>digits$}");
                line.push(num.as_bytes()[d] as char);
                line.push(' ');
            }
            if d + 1 == digits {
                line.push_str("STATUS");
            }
            writeln!(out, "{}", line.trim_end())?;
        }
        for ((node_id, node), status) in nodes.iter().zip(&statuses) {
            let mut line = format!("{}  ", pad(&truncate(node.name, name_w, opts.ascii), name_w));
            for (_, (ds_id, _)) in block.iter() {
                line.push_str(opts.glyphs.state(index.cell(*node_id, *ds_id).state));
                line.push(' ');
            }
            line.push_str(status);
            writeln!(out, "{}", line.trim_end())?;
        }
    }
    Ok(())
}

fn write_ds_legend(dss: &[(usize, &(DsId, DsView<'_>))], out: &mut dyn Write) -> std::io::Result<()> {
    let names: Vec<String> = dss.iter().map(|(_, (_, d))| format!("{}/{}", d.namespace, d.name)).collect();
    let num_w = dss.iter().map(|(num, _)| *num).max().unwrap_or(1).to_string().len();
    let name_w = names.iter().map(|n| n.width()).max().unwrap_or(9).max(9);
    writeln!(
        out,
        "{:>num_w$}  {}  DESIRED  CURRENT  READY  UP-TO-DATE  AVAILABLE  SHOULD-RUN  REVISION",
        "#",
        pad("DAEMONSET", name_w)
    )?;
    for ((num, (_, d)), name) in dss.iter().zip(&names) {
        let rev = d.newest_revision.map_or("-".to_string(), |(r, _)| r.to_string());
        writeln!(
            out,
            "{:>num_w$}  {}  {:>7}  {:>7}  {:>5}  {:>10}  {:>9}  {:>10}  {:>8}",
            num,
            pad(name, name_w),
            d.status.desired,
            d.status.current,
            d.status.ready,
            d.status.updated,
            d.status.available,
            d.desired_by_predicate,
            rev
        )?;
    }
    Ok(())
}

/// `-o wide`: one aligned line per problem cell, with its pod, restarts, age and reason; most
/// severe first (`CellState::severity`), node-major within a state.
fn write_problem_lines(
    index: &Index,
    opts: &TableOptions<'_>,
    nodes: &[&(NodeId, NodeView<'_>)],
    dss: &[(usize, &(DsId, DsView<'_>))],
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let mut rows: Vec<(CellState, [String; 7])> = Vec::new();
    for (node_id, node) in nodes {
        for (_, (ds_id, ds)) in dss {
            let cell = index.cell(*node_id, *ds_id);
            if !cell.state.is_problem() {
                continue;
            }
            let pod = cell.pod.as_ref();
            rows.push((
                cell.state,
                [
                    node.name.to_string(),
                    format!("{}/{}", ds.namespace, ds.name),
                    cell.state.name().to_string(),
                    pod.map_or("-".to_string(), |p| p.name.to_string()),
                    pod.map_or("-".to_string(), |p| p.restarts.to_string()),
                    pod.map_or("-".to_string(), |p| age(opts.now.saturating_sub(p.created))),
                    explain(index, &cell, ds, node, opts.now).map_or_else(|| "-".to_string(), |w| w.text),
                ],
            ));
        }
    }
    rows.sort_by_key(|(state, _)| CellState::BY_SEVERITY.iter().position(|s| s == state));
    let rows: Vec<[String; 7]> = rows.into_iter().map(|(_, row)| row).collect();
    writeln!(out)?;
    if rows.is_empty() {
        writeln!(out, "problems: none")?;
        return Ok(());
    }
    let header = ["NODE", "DAEMONSET", "STATE", "POD", "RESTARTS", "AGE", "REASON"].map(str::to_string);
    let mut widths = [0usize; 7];
    for row in std::iter::once(&header).chain(rows.iter()) {
        for (w, field) in widths.iter_mut().zip(row) {
            *w = (*w).max(field.width());
        }
    }
    for row in std::iter::once(&header).chain(rows.iter()) {
        let mut line = String::new();
        for (i, field) in row.iter().enumerate() {
            if i + 1 == row.len() {
                line.push_str(field);
            } else {
                line.push_str(&pad(field, widths[i]));
                line.push_str("  ");
            }
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

/// Age as kubectl prints it (`translateTimestampSince`, coarsely): 45s, 12m, 5h, 3d.
pub fn age(secs: Secs) -> String {
    let secs = secs.max(0);
    match secs {
        s if s < 120 => format!("{s}s"),
        s if s < 2 * 3600 => format!("{}m", s / 60),
        s if s < 2 * 86400 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_node_names_are_cut_with_a_mark() {
        assert_eq!(truncate("abcdefghij", 6, false), "abcde…");
        assert_eq!(truncate("abcdefghij", 6, true), "abcde*");
        assert_eq!(truncate("abc", 6, false), "abc");
    }

    #[test]
    fn ages_read_like_kubectl() {
        assert_eq!(age(5), "5s");
        assert_eq!(age(600), "10m");
        assert_eq!(age(3 * 3600), "3h");
        assert_eq!(age(3 * 86400), "3d");
    }
}
