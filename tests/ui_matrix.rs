//! UI behaviour on ratatui's TestBackend with a fleet built from FleetEvents: keys go through
//! `update`, the screen through `ui::render`, and the assertions read the rendered buffer.

use std::collections::BTreeMap;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use daemonscope::app::msg::{Command, Work};
use daemonscope::app::{App, AppOptions, Effect, Msg, update};
use daemonscope::fleet::model::{
    Change, DsInfo, DsStatusCounts, FleetEvent, NodeInfo, NodeReadiness, Phase, PodInfo, StreamKind, StreamState,
    UpdateStrategy,
};
use daemonscope::fleet::schedule::{PodSchedSpec, Taint, TaintEffect};
use daemonscope::fleet::{CellState, Index};
use daemonscope::logs::LogTarget;
use daemonscope::theme::ThemeSet;
use daemonscope::ui;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const NOW: i64 = 1_700_000_000;

fn node(name: &str, pool: &str, ready: bool, cordoned: bool, taints: Vec<Taint>) -> FleetEvent {
    let mut labels = BTreeMap::new();
    labels.insert("pool".to_string(), pool.to_string());
    labels.insert("kubernetes.io/hostname".to_string(), name.to_string());
    FleetEvent::Node(Change::InitItem(NodeInfo {
        name: name.into(),
        labels,
        taints,
        unschedulable: cordoned,
        readiness: if ready { NodeReadiness::Ready } else { NodeReadiness::NotReady },
        created: NOW - 86_400,
        pressures: vec![],
        kubelet_version: "v1.30.0".into(),
        since: Vec::new(),
    }))
}

fn ds(ns: &str, name: &str, selector: &[(&str, &str)]) -> FleetEvent {
    let sched = PodSchedSpec {
        node_selector: selector.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        ..PodSchedSpec::default()
    };
    FleetEvent::DaemonSet(Change::InitItem(DsInfo {
        namespace: ns.into(),
        name: name.into(),
        uid: format!("uid-{name}"),
        generation: 1,
        created: NOW - 3600,
        sched,
        status: DsStatusCounts { desired: 3, current: 2, ready: 2, updated: 2, available: 2, ..Default::default() },
        strategy: UpdateStrategy::RollingUpdate { max_unavailable: "1".into(), max_surge: "0".into() },
        selector: format!("app={name}"),
        containers: vec![name.into()],
        init_containers: vec![],
        images: vec![format!("registry.example/{name}:1.0")],
    }))
}

fn pod(ns: &str, ds: &str, node: &str, reason: &str, ready: bool, restarts: u32) -> FleetEvent {
    FleetEvent::Pod(Change::InitItem(PodInfo {
        namespace: ns.into(),
        name: format!("{ds}-{node}"),
        uid: format!("uid-{ds}-{node}"),
        owner: Some(ds.into()),
        node: Some(node.into()),
        bound: true,
        revision_hash: Some("abc123".into()),
        template_generation: Some(1),
        created: NOW - 600,
        deleting: false,
        phase: if reason == "Running" || reason == "CrashLoopBackOff" { Phase::Running } else { Phase::Pending },
        reason: reason.into(),
        ready,
        containers_ready: u16::from(ready),
        containers_total: 1,
        restarts,
        last_termination: (restarts > 0).then(|| "Error (exit 1)".to_string()),
        last_restart: (restarts > 0).then_some(NOW - 30),
        detail: None,
    }))
}

fn unreachable() -> Vec<Taint> {
    vec![
        Taint { key: "node.kubernetes.io/unreachable".into(), value: String::new(), effect: TaintEffect::NoExecute },
        Taint { key: "node.kubernetes.io/unreachable".into(), value: String::new(), effect: TaintEffect::NoSchedule },
    ]
}

/// Four nodes, three DaemonSets:
/// - `kube-proxy` everywhere: Ready on alpha and bravo, missing on delta, and on charlie (down,
///   untolerated unreachable:NoSchedule) not eligible.
/// - `gpu-exporter` (nodeSelector pool=gpu): CrashLoopBackOff with 12 restarts on alpha,
///   missing on delta, not eligible on bravo (pool=cpu).
/// - `log-shipper` everywhere: Ready on alpha, bravo and delta.
fn fleet() -> Vec<FleetEvent> {
    let mut ev = vec![FleetEvent::Node(Change::Init)];
    ev.push(node("node-alpha", "gpu", true, false, vec![]));
    ev.push(node("node-bravo", "cpu", true, false, vec![]));
    ev.push(node("node-charlie", "cpu", false, false, unreachable()));
    ev.push(node("node-delta", "gpu", true, true, vec![]));
    ev.push(FleetEvent::Node(Change::InitDone));
    ev.push(FleetEvent::DaemonSet(Change::Init));
    ev.push(ds("kube-system", "kube-proxy", &[]));
    ev.push(ds("monitoring", "gpu-exporter", &[("pool", "gpu")]));
    ev.push(ds("logging", "log-shipper", &[]));
    ev.push(FleetEvent::DaemonSet(Change::InitDone));
    ev.push(FleetEvent::Revision(Change::Init));
    ev.push(FleetEvent::Revision(Change::InitDone));
    ev.push(FleetEvent::Pod(Change::Init));
    ev.push(pod("kube-system", "kube-proxy", "node-alpha", "Running", true, 0));
    ev.push(pod("kube-system", "kube-proxy", "node-bravo", "Running", true, 0));
    ev.push(pod("monitoring", "gpu-exporter", "node-alpha", "CrashLoopBackOff", false, 12));
    for n in ["node-alpha", "node-bravo", "node-delta"] {
        ev.push(pod("logging", "log-shipper", n, "Running", true, 0));
    }
    ev.push(FleetEvent::Pod(Change::InitDone));
    for kind in StreamKind::ALL {
        ev.push(FleetEvent::Stream { kind, state: StreamState::Live, at: NOW });
    }
    ev
}

fn app_sized(w: u16, h: u16) -> App {
    let mut app = App::new(Index::new(), AppOptions { context: "kind-test".into(), ..AppOptions::default() });
    update(&mut app, Msg::Tick(NOW));
    update(&mut app, Msg::Resize(w, h));
    update(&mut app, Msg::Fleet(fleet()));
    app
}

fn key(app: &mut App, code: KeyCode) -> Vec<Effect> {
    update(app, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

fn chars(app: &mut App, s: &str) {
    for c in s.chars() {
        key(app, KeyCode::Char(c));
    }
}

fn screen(app: &App) -> Vec<String> {
    let (w, h) = app.size;
    let mut term = Terminal::new(TestBackend::new(w, h)).expect("test terminal");
    term.draw(|f| ui::render(app, f)).expect("draw");
    let buf = term.backend().buffer().clone();
    (0..h).map(|y| (0..w).map(|x| buf[(x, y)].symbol().to_string()).collect::<String>()).collect()
}

fn text(app: &App) -> String {
    screen(app).join("\n")
}

/// The glyph drawn for (node, DaemonSet), found by the row label and the column's position.
fn glyph_at(app: &App, node: &str, ds: &str) -> Option<String> {
    let g = ui::layout::geometry(app.size, app)?;
    let col = app.view.cols.iter().position(|id| app.index.ds(*id).is_some_and(|d| d.name == ds))?;
    let j = col.checked_sub(app.cursor.col_offset)?;
    let lines = screen(app);
    let y = (g.body.y..g.body.y + g.body.height).find(|y| lines[*y as usize].starts_with(node))?;
    let line: Vec<char> = lines[y as usize].chars().collect();
    line.get(g.col_x(j) as usize + 1).map(|c| c.to_string())
}

fn glyph(app: &App, s: CellState) -> String {
    app.theme().glyph_set(app.ascii).state(s).to_string()
}

fn move_cursor_to(app: &mut App, node: &str, ds: &str) {
    key(app, KeyCode::Home);
    for _ in 0..app.view.rows.len() {
        if app.cursor_node().and_then(|n| app.index.node(n)).is_some_and(|n| n.name == node) {
            break;
        }
        key(app, KeyCode::Down);
    }
    for _ in 0..app.view.cols.len() {
        key(app, KeyCode::Left);
    }
    for _ in 0..app.view.cols.len() {
        if app.cursor_ds().and_then(|d| app.index.ds(d)).is_some_and(|d| d.name == ds) {
            break;
        }
        key(app, KeyCode::Right);
    }
}

#[test]
fn matrix_shows_each_state_glyph_at_its_cell() {
    let app = app_sized(100, 30);
    assert_eq!(glyph_at(&app, "node-alpha", "kube-proxy"), Some(glyph(&app, CellState::Ready)));
    assert_eq!(glyph_at(&app, "node-alpha", "gpu-exporter"), Some(glyph(&app, CellState::Failing)));
    assert_eq!(glyph_at(&app, "node-delta", "kube-proxy"), Some(glyph(&app, CellState::Missing)));
    assert_eq!(glyph_at(&app, "node-bravo", "gpu-exporter"), Some(glyph(&app, CellState::NotEligible)));
    assert_eq!(glyph_at(&app, "node-charlie", "kube-proxy"), Some(glyph(&app, CellState::NotEligible)));
}

#[test]
fn restarts_above_threshold_are_marked_next_to_the_glyph() {
    let app = app_sized(100, 30);
    let g = ui::layout::geometry(app.size, &app).expect("fits");
    let col = app.view.cols.iter().position(|id| app.index.ds(*id).is_some_and(|d| d.name == "gpu-exporter"));
    let lines = screen(&app);
    let row = lines.iter().find(|l| l.starts_with("node-alpha")).expect("row");
    let marker: String = row.chars().nth(g.col_x(col.expect("col")) as usize + 2).into_iter().collect();
    assert_eq!(marker, app.theme().glyph_set(false).restarts);
}

#[test]
fn header_counts_nodes_and_problems_and_says_live() {
    let app = app_sized(120, 30);
    let t = text(&app);
    assert!(t.contains("kind-test"), "{t}");
    assert!(t.contains("nodes 3/4 ready"), "{t}");
    assert!(t.contains("1 cordoned"), "{t}");
    assert!(t.contains("2 missing"), "{t}");
    assert!(t.contains("1 failing"), "{t}");
    assert!(t.contains("live"), "{t}");
}

#[test]
fn node_row_labels_mark_not_ready_and_cordoned() {
    let app = app_sized(100, 30);
    let g = app.theme().glyph_set(false).clone();
    let lines = screen(&app);
    let charlie = lines.iter().find(|l| l.starts_with("node-charlie")).expect("row");
    assert!(charlie.contains(&g.node_not_ready), "{charlie}");
    assert!(charlie.contains(&g.node_tainted), "{charlie}");
    let delta = lines.iter().find(|l| l.starts_with("node-delta")).expect("row");
    assert!(delta.contains(&g.node_cordoned), "{delta}");
}

#[test]
fn filter_by_label_keeps_matching_rows_only() {
    let mut app = app_sized(100, 30);
    key(&mut app, KeyCode::Char('/'));
    chars(&mut app, "pool=gpu");
    key(&mut app, KeyCode::Enter);
    let t = text(&app);
    assert!(t.contains("node-alpha") && t.contains("node-delta"), "{t}");
    assert!(!t.contains("node-bravo") && !t.contains("node-charlie"), "{t}");
    assert_eq!(app.filter, "pool=gpu");
}

#[test]
fn filter_word_matching_a_daemonset_filters_columns() {
    let mut app = app_sized(100, 30);
    key(&mut app, KeyCode::Char('/'));
    chars(&mut app, "exporter");
    assert_eq!(app.view.cols.len(), 1, "filters live while typing");
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.view.node_rows, 4);
    assert!(text(&app).contains("monitoring/gpu-exporter"));
}

#[test]
fn filter_fuzzy_node_name_and_escape_clears_it() {
    let mut app = app_sized(100, 30);
    key(&mut app, KeyCode::Char('/'));
    chars(&mut app, "nch");
    assert_eq!(app.view.node_rows, 1, "n…c…h matches node-charlie only");
    key(&mut app, KeyCode::Esc);
    assert_eq!(app.filter, "");
    assert_eq!(app.view.node_rows, 4);
}

#[test]
fn problems_only_hides_healthy_rows_and_columns() {
    let mut app = app_sized(100, 30);
    key(&mut app, KeyCode::Char('p'));
    let t = text(&app);
    assert!(!t.contains("node-bravo"), "bravo has no problem cell:\n{t}");
    assert!(t.contains("node-alpha") && t.contains("node-delta"), "{t}");
    let names: Vec<&str> = app.view.cols.iter().filter_map(|id| app.index.ds(*id).map(|d| d.name)).collect();
    assert!(!names.contains(&"log-shipper"), "{names:?}");
    key(&mut app, KeyCode::Char('p'));
    assert!(text(&app).contains("node-bravo"));
}

#[test]
fn sort_by_problems_puts_worst_node_first() {
    let mut app = app_sized(100, 30);
    key(&mut app, KeyCode::Char('o'));
    let lines = screen(&app);
    let first_row = ui::layout::geometry(app.size, &app).expect("fits").body.y as usize;
    // alpha (failing gpu-exporter) and delta (two missing) have problems; delta has more.
    assert!(lines[first_row].starts_with("node-delta"), "{}", lines.join("\n"));
    key(&mut app, KeyCode::Char('o'));
    key(&mut app, KeyCode::Char('o'));
    assert!(screen(&app)[first_row].starts_with("node-alpha"), "back to name order");
}

#[test]
fn group_by_pool_inserts_group_headers() {
    let mut app = app_sized(100, 30);
    key(&mut app, KeyCode::Char('g'));
    let t = text(&app);
    assert!(t.contains("pool=cpu · 2 nodes"), "{t}");
    assert!(t.contains("pool=gpu · 2 nodes"), "{t}");
    assert!(app.cursor_node().is_some(), "cursor never rests on a group header");
}

#[test]
fn next_problem_jumps_to_problem_cells_in_reading_order() {
    let mut app = app_sized(100, 30);
    key(&mut app, KeyCode::Char(']'));
    let at = |app: &App| {
        let n = app.index.node(app.cursor_node().expect("node")).expect("node").name.to_string();
        let d = app.index.ds(app.cursor_ds().expect("ds")).expect("ds").name.to_string();
        (n, d)
    };
    assert_eq!(at(&app), ("node-alpha".into(), "gpu-exporter".into()));
    key(&mut app, KeyCode::Char(']'));
    let second = at(&app);
    assert_eq!(second.0, "node-delta");
    key(&mut app, KeyCode::Char('['));
    assert_eq!(at(&app), ("node-alpha".into(), "gpu-exporter".into()));
}

#[test]
fn detail_for_missing_pod_explains_why() {
    let mut app = app_sized(100, 40);
    move_cursor_to(&mut app, "node-delta", "kube-proxy");
    key(&mut app, KeyCode::Enter);
    let t = text(&app);
    assert!(t.contains("missing"), "{t}");
    // The fixture's kube-proxy status: desired 3, current 2 (node-delta's pod was never made),
    // and no events: the controller's own count is the why.
    assert!(t.contains("why          no daemon pod; the controller reports 2 of 3 scheduled"), "{t}");
    assert!(t.contains("next         the controller has not created it yet"), "{t}");
    // The events stream never listed here: the panel says its why lacks them.
    assert!(t.contains("events       not listed yet"), "{t}");
    assert!(t.contains("cordoned"), "{t}");
}

#[test]
fn detail_for_not_eligible_cell_names_the_selector() {
    let mut app = app_sized(140, 40);
    move_cursor_to(&mut app, "node-bravo", "gpu-exporter");
    key(&mut app, KeyCode::Enter);
    let t = text(&app);
    assert!(t.contains("nodeSelector pool=gpu"), "{t}");
}

#[test]
fn detail_for_failing_pod_shows_status_restarts_and_last_exit() {
    let mut app = app_sized(140, 40);
    move_cursor_to(&mut app, "node-alpha", "gpu-exporter");
    key(&mut app, KeyCode::Enter);
    let t = text(&app);
    assert!(t.contains("CrashLoopBackOff"), "{t}");
    assert!(t.contains("gpu-exporter-node-alpha"), "{t}");
    assert!(t.contains("12 (last 30s ago)"), "{t}");
    assert!(t.contains("Error (exit 1)"), "{t}");
    assert!(t.contains("0/1 containers"), "{t}");
}

#[test]
fn help_overlay_lists_keymap_and_escape_closes_it() {
    let mut app = app_sized(100, 40);
    key(&mut app, KeyCode::Char('?'));
    let t = text(&app);
    assert!(t.contains("problems only on/off"), "{t}");
    assert!(t.contains("restart the cursor pod"), "{t}");
    key(&mut app, KeyCode::Esc);
    assert!(!text(&app).contains("problems only on/off"));
}

#[test]
fn readonly_help_and_keys_omit_mutations() {
    let mut app = App::new(Index::new(), AppOptions { readonly: true, ..AppOptions::default() });
    update(&mut app, Msg::Tick(NOW));
    update(&mut app, Msg::Resize(100, 40));
    update(&mut app, Msg::Fleet(fleet()));
    move_cursor_to(&mut app, "node-alpha", "kube-proxy");
    assert!(key(&mut app, KeyCode::Char('d')).is_empty(), "d does nothing in read-only mode");
    let t = text(&app);
    assert!(t.contains("read-only mode: restart the cursor pod"), "d says why it does nothing:\n{t}");
    assert!(app.dialog().is_none());
    update(&mut app, Msg::Tick(NOW + 60));
    key(&mut app, KeyCode::Char('?'));
    let t = text(&app);
    // No binding line for it (the message history may quote the notice above).
    assert!(!t.contains("[restart_pod]"), "{t}");
    assert!(t.contains("[toggle_detail]"), "binding lines end with the action's name:\n{t}");
    assert!(t.contains("Read-only mode"), "{t}");
}

#[test]
fn works_at_80_by_24() {
    let mut app = app_sized(80, 24);
    let lines = screen(&app);
    assert_eq!(lines.len(), 24);
    let t = lines.join("\n");
    for n in ["node-alpha", "node-bravo", "node-charlie", "node-delta"] {
        assert!(t.contains(n), "{t}");
    }
    assert!(lines[23].contains("quit"), "footer shows keys: {}", lines[23]);
    key(&mut app, KeyCode::Enter);
    assert!(text(&app).contains("detail"), "detail panel fits at 80x24");
}

#[test]
fn too_small_terminal_says_so() {
    let app = app_sized(50, 12);
    let t = text(&app);
    assert!(t.contains("too small"), "{t}");
}

#[test]
fn cursor_actions_return_effects_for_the_cursor_pod() {
    let mut app = app_sized(100, 30);
    move_cursor_to(&mut app, "node-alpha", "gpu-exporter");
    // `d` opens the confirmation of exactly the DELETE it would send and asks the server for
    // its dry run of that DELETE (nothing else); Esc sends nothing.
    let fx = key(&mut app, KeyCode::Char('d'));
    assert!(
        matches!(&fx[..], [Effect::Cluster(Command::Work { work: Work::DryRun { plans, .. }, .. })]
            if plans.len() == 1 && plans[0].path == "/api/v1/namespaces/monitoring/pods/gpu-exporter-node-alpha"),
        "{fx:?}"
    );
    assert!(text(&app).contains("DELETE /api/v1/namespaces/monitoring/pods/gpu-exporter-node-alpha"), "{}", text(&app));
    assert!(key(&mut app, KeyCode::Esc).is_empty());
    assert!(app.dialog().is_none());
    let fx = key(&mut app, KeyCode::Char('L'));
    assert!(
        matches!(&fx[..], [Effect::Cluster(Command::Work { work: Work::OpenLogs { target: LogTarget::DaemonSet { pods, .. }, .. }, .. })] if pods.len() == 1 && pods[0].node == "node-alpha"),
        "{fx:?}"
    );
    // `q` in the log pane closes the pane (its stream with it), not the program.
    let fx = key(&mut app, KeyCode::Char('q'));
    assert!(matches!(&fx[..], [Effect::Cluster(Command::Work { work: Work::CloseLogs { .. }, .. })]), "{fx:?}");
    assert_eq!(key(&mut app, KeyCode::Char('q')), vec![Effect::Quit]);
}

#[test]
fn ascii_mode_draws_ascii_glyphs() {
    let mut app = App::new(Index::new(), AppOptions { ascii: true, ..AppOptions::default() });
    update(&mut app, Msg::Tick(NOW));
    update(&mut app, Msg::Resize(100, 30));
    update(&mut app, Msg::Fleet(fleet()));
    assert_eq!(glyph_at(&app, "node-delta", "kube-proxy").as_deref(), Some("X"));
    assert!(screen(&app).iter().all(|l| l.chars().all(|c| c.is_ascii() || c == '▸' || c == '│' || c == '·')));
}

#[test]
fn every_theme_renders_the_matrix() {
    let mut app = app_sized(100, 30);
    for _ in 0..ThemeSet::builtin().len() {
        key(&mut app, KeyCode::Char('t'));
        assert!(text(&app).contains("node-alpha"), "theme {}", app.theme().name);
    }
}

#[test]
fn tick_marks_dirty_only_when_clock_text_changes() {
    let mut app = app_sized(100, 30);
    app.dirty = false;
    update(&mut app, Msg::Tick(NOW + 1));
    assert!(!app.dirty, "nothing time-dependent changed on screen");
    update(&mut app, Msg::Tick(NOW + 600));
    assert!(app.dirty, "after ten quiet minutes the header shows the data age");
}

#[test]
fn cursor_stays_on_the_same_node_when_order_changes() {
    let mut app = app_sized(100, 30);
    move_cursor_to(&mut app, "node-bravo", "kube-proxy");
    key(&mut app, KeyCode::Char('o'));
    let n = app.index.node(app.cursor_node().expect("node")).expect("node").name.to_string();
    assert_eq!(n, "node-bravo");
}

#[test]
fn header_shows_reconnecting_age_and_permanent_stream_errors() {
    let mut app = app_sized(140, 30);
    update(
        &mut app,
        Msg::Fleet(vec![
            FleetEvent::Stream {
                kind: StreamKind::Pods,
                state: StreamState::Reconnecting { since: NOW, error: "connection refused".into() },
                at: NOW,
            },
            FleetEvent::Stream {
                kind: StreamKind::Revisions,
                state: StreamState::Failed { error: "403 Forbidden".into() },
                at: NOW,
            },
        ]),
    );
    update(&mut app, Msg::Tick(NOW + 12));
    let t = text(&app);
    assert!(t.contains("pods reconnecting 12s"), "{t}");
    assert!(t.contains("controllerrevisions: 403 Forbidden"), "{t}");
    assert!(!t.contains(" live "), "{t}");
}

#[test]
fn key_overrides_from_config_drive_keys_footer_and_help() {
    let mut config = daemonscope::config::Config::default();
    config.keys.insert("restart_pod".into(), daemonscope::config::KeySpec::One("x".into()));
    let mut app = App::new(Index::new(), AppOptions { config, ..AppOptions::default() });
    update(&mut app, Msg::Tick(NOW));
    update(&mut app, Msg::Resize(120, 40));
    update(&mut app, Msg::Fleet(fleet()));
    move_cursor_to(&mut app, "node-alpha", "kube-proxy");
    assert!(key(&mut app, KeyCode::Char('d')).is_empty(), "d is no longer bound");
    key(&mut app, KeyCode::Char('x'));
    let t = text(&app);
    assert!(t.contains("confirm on") && t.contains("restart pod"), "x opens the restart confirmation:\n{t}");
    key(&mut app, KeyCode::Esc);
    // Let the "cancelled" notice expire so the footer shows keys again.
    update(&mut app, Msg::Tick(NOW + 60));
    assert!(screen(&app)[39].contains("x restart"), "footer: {}", screen(&app)[39]);
    key(&mut app, KeyCode::Char('?'));
    let help = text(&app);
    assert!(help.lines().any(|l| l.contains(" x ") && l.contains("restart the cursor pod")), "{help}");
}

/// The text of every run of cells drawn in the footer-key style on the bottom row: the keys the
/// footer shows.
fn footer_keys(app: &App) -> Vec<String> {
    let (w, h) = app.size;
    let mut term = Terminal::new(TestBackend::new(w, h)).expect("test terminal");
    term.draw(|f| ui::render(app, f)).expect("draw");
    let buf = term.backend().buffer().clone();
    let key_style = app.theme().style(daemonscope::theme::Slot::FooterKey);
    let y = h - 1;
    let mut out = Vec::new();
    let mut run = String::new();
    for x in 0..w {
        let cell = &buf[(x, y)];
        if cell.fg == key_style.fg.unwrap_or(cell.fg)
            && cell.bg == key_style.bg.unwrap_or(cell.bg)
            && cell.symbol() != " "
        {
            run.push_str(cell.symbol());
        } else if !run.is_empty() {
            out.push(std::mem::take(&mut run));
        }
    }
    if !run.is_empty() {
        out.push(run);
    }
    out
}

/// Every key the footer shows is the first key of a binding in the key table of the layer that
/// has the keys (the log pane adds help and quit).
fn assert_footer_from_table(app: &App, what: &str) {
    use daemonscope::app::keymap::Ctx;
    let ctx = ui::footer::active_ctx(app);
    let mut allowed: Vec<String> =
        app.keymap.table(ctx).filter_map(|b| b.keys.first().map(ToString::to_string)).collect();
    if ctx == Ctx::Logs {
        // Help and quit, by a key the pane does not take for itself.
        for a in [daemonscope::app::Action::Help, daemonscope::app::Action::Quit] {
            allowed.extend(app.keymap.binding(a).into_iter().flat_map(|b| b.keys.iter().map(ToString::to_string)));
        }
        let shown = footer_keys(app);
        assert!(
            !shown.contains(&"q".to_string())
                || !app.keymap.table(Ctx::Logs).any(|b| b.keys.iter().any(|k| k.to_string() == "q")),
            "{what}: q closes the pane, the footer must not offer it as quit"
        );
    }
    let shown = footer_keys(app);
    assert!(!shown.is_empty(), "{what}: the footer shows keys:\n{}", text(app));
    for k in &shown {
        assert!(allowed.contains(k), "{what}: footer key {k:?} is not in the {ctx:?} table {allowed:?}");
    }
    // And the items the footer was asked to show are the table's.
    for (k, label, _) in ui::footer::items(app) {
        assert!(
            app.keymap.table(ctx).chain(app.keymap.table(Ctx::Matrix)).any(|b| b
                .keys
                .iter()
                .any(|bk| bk.to_string() == k)
                && b.footer == Some(label.as_str())),
            "{what}: {k} {label}"
        );
    }
}

#[test]
fn every_layer_footer_comes_from_the_key_table() {
    let mut app = app_sized(140, 40);
    // Notices take footer room: let them expire between layers.
    let quiet = |app: &mut App| {
        update(app, Msg::Tick(NOW + 1000));
    };
    quiet(&mut app);
    assert_footer_from_table(&app, "matrix");
    key(&mut app, KeyCode::Char('?'));
    assert_footer_from_table(&app, "help");
    key(&mut app, KeyCode::Esc);
    key(&mut app, KeyCode::Char('/'));
    assert_footer_from_table(&app, "filter prompt");
    key(&mut app, KeyCode::Esc);
    key(&mut app, KeyCode::Char('c'));
    assert_footer_from_table(&app, "context picker");
    key(&mut app, KeyCode::Esc);
    move_cursor_to(&mut app, "node-alpha", "kube-proxy");
    key(&mut app, KeyCode::Char('d'));
    assert_footer_from_table(&app, "confirmation");
    key(&mut app, KeyCode::Esc);
    key(&mut app, KeyCode::Char('S'));
    assert_footer_from_table(&app, "strategy form");
    key(&mut app, KeyCode::Esc);
    key(&mut app, KeyCode::Char('N'));
    assert_footer_from_table(&app, "roll prompt");
    key(&mut app, KeyCode::Esc);
    quiet(&mut app);
    key(&mut app, KeyCode::Char('l'));
    quiet(&mut app);
    assert_footer_from_table(&app, "log pane");
    key(&mut app, KeyCode::Char('c'));
    assert_footer_from_table(&app, "container picker");
    key(&mut app, KeyCode::Esc);
    key(&mut app, KeyCode::Char('/'));
    assert_footer_from_table(&app, "log search prompt");
}

#[test]
fn a_log_pane_key_rebound_in_config_works_and_the_footer_says_so() {
    let mut config = daemonscope::config::Config::default();
    let text_cfg = "[keys.logs]\nfollow = \"F\"\n[keys]\n\"logs.wrap\" = \"W\"\n";
    let parsed: daemonscope::config::Config = toml::from_str(text_cfg).expect("config parses");
    config.keys = parsed.keys;
    let mut app = App::new(Index::new(), AppOptions { config, ..AppOptions::default() });
    update(&mut app, Msg::Tick(NOW));
    update(&mut app, Msg::Resize(140, 40));
    update(&mut app, Msg::Fleet(fleet()));
    move_cursor_to(&mut app, "node-alpha", "kube-proxy");
    key(&mut app, KeyCode::Char('l'));
    update(&mut app, Msg::Tick(NOW + 1000));
    let lines = (0..50).map(|i| format!("line {i}")).collect::<Vec<_>>();
    let src = std::sync::Arc::new(daemonscope::logs::LogSource::new("node-alpha", "p", "c", false));
    let msg = daemonscope::logs::LogMsg::Lines {
        lines: lines
            .iter()
            .map(|t| daemonscope::logs::LogLine::from_raw(src.clone(), t.as_bytes(), false, 0))
            .collect(),
        dropped: 0,
    };
    let stream = app.logs().expect("pane").stream;
    let session = app.session;
    update(&mut app, Msg::Cluster(daemonscope::app::msg::Report::Logs { session, stream, msgs: vec![msg], lines: 50 }));
    key(&mut app, KeyCode::Up);
    assert!(!app.logs().expect("pane").pane.following(), "scrolling up pauses");
    key(&mut app, KeyCode::Char('G'));
    assert!(!app.logs().expect("pane").pane.following(), "G is no longer bound");
    key(&mut app, KeyCode::Char('F'));
    assert!(app.logs().expect("pane").pane.following(), "F follows again");
    let wrap = app.logs().expect("pane").pane.wrap();
    key(&mut app, KeyCode::Char('W'));
    assert_ne!(app.logs().expect("pane").pane.wrap(), wrap, "W toggles wrap");
    let footer = screen(&app)[39].clone();
    assert!(footer.contains("F follow") && footer.contains("W wrap"), "{footer}");
    assert_footer_from_table(&app, "rebound log pane");
}

#[test]
fn the_too_small_screen_swallows_every_key_but_quit() {
    let mut app = app_sized(40, 10);
    move_cursor_to(&mut app, "node-alpha", "kube-proxy");
    for c in ['d', 'y', 'R', 'y', 'D', 'y', 'N', 't'] {
        assert!(key(&mut app, KeyCode::Char(c)).is_empty(), "{c} does nothing while the matrix is hidden");
    }
    assert!(app.dialog().is_none() && app.layers.is_empty(), "nothing opened unseen");
    assert_eq!(key(&mut app, KeyCode::Char('q')), vec![Effect::Quit]);
}

#[test]
fn esc_on_the_matrix_clears_an_applied_filter() {
    let mut app = app_sized(100, 30);
    key(&mut app, KeyCode::Char('/'));
    chars(&mut app, "pool=gpu");
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.view.node_rows, 2);
    key(&mut app, KeyCode::Esc);
    assert_eq!(app.filter, "");
    assert_eq!(app.view.node_rows, 4);
}

#[test]
fn a_pod_state_change_does_not_recompute_the_row_order() {
    let mut app = app_sized(100, 30);
    let key_before = app.view.key.clone();
    update(&mut app, Msg::Fleet(vec![pod("kube-system", "kube-proxy", "node-bravo", "CrashLoopBackOff", false, 3)]));
    assert_eq!(app.view.key, key_before, "a pod event keeps the cached order");
    assert!(text(&app).contains("failing"), "and still shows the new state");
    update(&mut app, Msg::Fleet(vec![node("node-echo", "cpu", true, false, vec![])]));
    assert_ne!(app.view.key, key_before, "a new node re-sorts");
}

#[test]
fn the_cursor_columns_full_name_never_runs_into_its_neighbours_name() {
    let mut ev = vec![FleetEvent::Node(Change::Init), node("node-alpha", "cpu", true, false, vec![])];
    ev.push(FleetEvent::Node(Change::InitDone));
    ev.push(FleetEvent::DaemonSet(Change::Init));
    for name in ["a-fluent-bit", "b", "c", "d-falco-agent-xyz", "e"] {
        ev.push(ds("kube-system", name, &[]));
    }
    ev.push(FleetEvent::DaemonSet(Change::InitDone));
    let mut app = App::new(Index::new(), AppOptions::default());
    update(&mut app, Msg::Tick(NOW));
    update(&mut app, Msg::Resize(100, 30));
    update(&mut app, Msg::Fleet(ev));
    let names: Vec<&str> = app.view.cols.iter().filter_map(|id| app.index.ds(*id).map(|d| d.name)).collect();
    assert_eq!(names[0], "a-fluent-bit", "{names:?}");
    let t = text(&app);
    assert!(t.contains("a-fluent-bit"), "the cursor column's name in full:\n{t}");
    let glued = t
        .lines()
        .any(|l| l.split("a-fluent-bit").nth(1).is_some_and(|after| after.chars().next().is_some_and(|c| c != ' ')));
    assert!(!glued, "the cursor column's name runs into its neighbour's:\n{t}");
}

/// Two nodes, two DaemonSets everywhere, both on revision `v2` (`v1` before): n-one runs both
/// pods on `v1` (two outdated cells), n-two runs `a` on `v2` and has no `b` pod (one missing).
fn severity_fleet() -> Vec<FleetEvent> {
    let mut ev = vec![FleetEvent::Node(Change::Init)];
    ev.push(node("n-one", "cpu", true, false, vec![]));
    ev.push(node("n-two", "cpu", true, false, vec![]));
    ev.push(FleetEvent::Node(Change::InitDone));
    ev.push(FleetEvent::DaemonSet(Change::Init));
    ev.push(ds("kube-system", "a", &[]));
    ev.push(ds("kube-system", "b", &[]));
    ev.push(FleetEvent::DaemonSet(Change::InitDone));
    ev.push(FleetEvent::Revision(Change::Init));
    for d in ["a", "b"] {
        for (revision, hash) in [(1, "v1"), (2, "v2")] {
            ev.push(FleetEvent::Revision(Change::InitItem(daemonscope::fleet::model::RevInfo {
                namespace: "kube-system".into(),
                name: format!("{d}-{hash}"),
                owner: Some(d.into()),
                revision,
                hash: hash.into(),
                created: NOW - 3600,
                change_cause: None,
                images: vec![],
            })));
        }
    }
    ev.push(FleetEvent::Revision(Change::InitDone));
    ev.push(FleetEvent::Pod(Change::Init));
    for (d, n, hash) in [("a", "n-one", "v1"), ("b", "n-one", "v1"), ("a", "n-two", "v2")] {
        let FleetEvent::Pod(Change::InitItem(mut p)) = pod("kube-system", d, n, "Running", true, 0) else {
            unreachable!()
        };
        p.revision_hash = Some(hash.into());
        p.template_generation = None;
        ev.push(FleetEvent::Pod(Change::InitItem(p)));
    }
    ev.push(FleetEvent::Pod(Change::InitDone));
    for kind in StreamKind::ALL {
        ev.push(FleetEvent::Stream { kind, state: StreamState::Live, at: NOW });
    }
    ev
}

fn severity_app() -> App {
    let mut app = App::new(Index::new(), AppOptions::default());
    update(&mut app, Msg::Tick(NOW));
    update(&mut app, Msg::Resize(100, 30));
    update(&mut app, Msg::Fleet(severity_fleet()));
    let state = |n: &str, d: &str| {
        let node = app.index.node_ids().into_iter().find(|id| app.index.node(*id).is_some_and(|v| v.name == n));
        let ds = app.index.ds_ids().into_iter().find(|id| app.index.ds(*id).is_some_and(|v| v.name == d));
        app.index.cell(node.expect("node"), ds.expect("ds")).state
    };
    assert_eq!(
        [state("n-one", "a"), state("n-one", "b"), state("n-two", "a"), state("n-two", "b")],
        [CellState::Outdated, CellState::Outdated, CellState::Ready, CellState::Missing],
        "the fleet this test is about"
    );
    app
}

fn cursor_at(app: &App) -> (String, String) {
    let n = app.index.node(app.cursor_node().expect("node")).expect("node").name.to_string();
    let d = app.index.ds(app.cursor_ds().expect("ds")).expect("ds").name.to_string();
    (n, d)
}

#[test]
fn sort_by_problems_ranks_one_missing_pod_above_two_outdated() {
    let mut app = severity_app();
    let first_row = ui::layout::geometry(app.size, &app).expect("fits").body.y as usize;
    assert!(screen(&app)[first_row].starts_with("n-one"), "name order first");
    key(&mut app, KeyCode::Char('o'));
    assert!(screen(&app)[first_row].starts_with("n-two"), "{}", text(&app));
}

#[test]
fn problem_jumps_visit_the_most_severe_cells_first() {
    let mut app = severity_app();
    key(&mut app, KeyCode::Home);
    assert_eq!(cursor_at(&app), ("n-one".into(), "a".into()));
    // From an outdated cell, `]` walks on through the outdated ones, then wraps to the most
    // severe tier; from there on the missing cell comes before any outdated one.
    key(&mut app, KeyCode::Char(']'));
    assert_eq!(cursor_at(&app), ("n-one".into(), "b".into()));
    key(&mut app, KeyCode::Char(']'));
    assert_eq!(cursor_at(&app), ("n-two".into(), "b".into()), "wraps to the missing cell");
    key(&mut app, KeyCode::Char(']'));
    assert_eq!(cursor_at(&app), ("n-one".into(), "a".into()), "then the outdated, in reading order");
    key(&mut app, KeyCode::Char('['));
    assert_eq!(cursor_at(&app), ("n-two".into(), "b".into()), "[ walks back");
    // From a healthy cell, `]` goes to the most severe cell first, although the outdated
    // cells come first in reading order.
    move_cursor_to(&mut app, "n-two", "a");
    key(&mut app, KeyCode::Char(']'));
    assert_eq!(cursor_at(&app), ("n-two".into(), "b".into()));
}

#[test]
fn header_lists_counts_most_severe_first() {
    let app = severity_app();
    let t = text(&app);
    let header = t.lines().nth(1).expect("second header line");
    let missing = header.find("1 missing").unwrap_or_else(|| panic!("{header}"));
    let outdated = header.find("2 outdated").unwrap_or_else(|| panic!("{header}"));
    assert!(missing < outdated, "{header}");
}

#[test]
fn a_wide_footer_shows_every_key_and_says_help() {
    let mut app = app_sized(200, 30);
    move_cursor_to(&mut app, "node-alpha", "gpu-exporter");
    let footer = screen(&app)[29].clone();
    for item in ["l logs", "d restart", "Enter detail", "/ filter", "] next", "o sort", "g group", "? help", "q quit"] {
        assert!(footer.contains(item), "{item:?} in {footer:?}");
    }
    assert!(!footer.contains("more"), "{footer:?}");
}

#[test]
fn at_80x24_the_footer_keeps_logs_and_restart_and_ends_with_more() {
    let mut app = app_sized(80, 24);
    move_cursor_to(&mut app, "node-alpha", "gpu-exporter");
    let footer = screen(&app)[23].clone();
    for item in ["l logs", "d restart", "Enter detail", "/ filter", "q quit"] {
        assert!(footer.contains(item), "{item:?} in {footer:?}");
    }
    assert!(footer.trim_end().ends_with("? more"), "{footer:?}");
}

/// The rows of the detail panel's box on screen (between its top and bottom borders).
fn detail_box(app: &App) -> Vec<String> {
    let g = ui::layout::geometry(app.size, app).expect("fits");
    let d = g.detail.expect("detail panel open");
    screen(app)[(d.y + 1) as usize..(d.y + d.height - 1) as usize].to_vec()
}

#[test]
fn the_detail_panel_takes_the_keys_on_tab_scrolls_and_folds_labels() {
    let mut app = app_sized(80, 24);
    move_cursor_to(&mut app, "node-alpha", "gpu-exporter");
    key(&mut app, KeyCode::Enter);
    let before = detail_box(&app);
    // The state line, the why and the pod come first.
    assert!(before[0].contains("failing") && before[0].contains("gpu-exporter on node-alpha"), "{before:#?}");
    assert!(before[1].contains("why          CrashLoopBackOff; last exit: Error (exit 1)"), "{before:#?}");
    assert!(before.iter().take(8).any(|l| l.starts_with("│Pod ")), "{before:#?}");
    let cursor = app.cursor.clone();

    // Tab gives the panel the keys: PgDn and j scroll it.
    key(&mut app, KeyCode::Tab);
    assert!(text(&app).contains("keys here"), "{}", text(&app));
    for _ in 0..3 {
        key(&mut app, KeyCode::PageDown);
    }
    key(&mut app, KeyCode::Char('j'));
    assert_eq!(app.cursor, cursor, "PgDn and j scroll the panel, not the matrix");
    let scrolled = detail_box(&app);
    assert_ne!(scrolled, before, "the panel scrolled");
    let joined = scrolled.join("\n");
    assert!(joined.contains("DaemonSet") || joined.contains("images"), "the end of the panel: {joined}");

    // The labels are folded to a count; f shows them.
    let all = |app: &mut App| {
        key(app, KeyCode::PageUp);
        key(app, KeyCode::PageUp);
        key(app, KeyCode::PageUp);
        let mut seen = Vec::new();
        for _ in 0..40 {
            seen.extend(detail_box(app));
            key(app, KeyCode::Char('j'));
        }
        seen.join("\n")
    };
    let folded = all(&mut app);
    assert!(folded.contains("2 labels (f shows them)"), "{folded}");
    assert!(!folded.contains("pool=gpu"), "{folded}");
    key(&mut app, KeyCode::Char('f'));
    let open = all(&mut app);
    assert!(open.contains("pool=gpu") && open.contains("kubernetes.io/hostname=node-alpha"), "{open}");

    // Tab gives the keys back: j moves the cursor again.
    key(&mut app, KeyCode::Tab);
    key(&mut app, KeyCode::Char('j'));
    assert_ne!(app.cursor, cursor, "j moves the matrix again");
    // Esc closes the panel (and its focus).
    key(&mut app, KeyCode::Esc);
    assert!(!app.detail_open() && !app.detail.focused);
}

/// One node and `names` DaemonSets (everywhere, no pods).
fn app_with_columns(names: &[String], w: u16, h: u16, ascii: bool) -> App {
    let mut ev = vec![FleetEvent::Node(Change::Init), node("node-alpha", "cpu", true, false, vec![])];
    ev.push(FleetEvent::Node(Change::InitDone));
    ev.push(FleetEvent::DaemonSet(Change::Init));
    for name in names {
        ev.push(ds("kube-system", name, &[]));
    }
    ev.push(FleetEvent::DaemonSet(Change::InitDone));
    let mut app = App::new(Index::new(), AppOptions { ascii, ..AppOptions::default() });
    update(&mut app, Msg::Tick(NOW));
    update(&mut app, Msg::Resize(w, h));
    update(&mut app, Msg::Fleet(ev));
    app
}

fn column_header_lines(app: &App) -> Vec<String> {
    let g = ui::layout::geometry(app.size, app).expect("fits");
    screen(app)[g.colhead.y as usize..(g.colhead.y + g.colhead.height) as usize].to_vec()
}

#[test]
fn column_names_use_the_width_that_is_there() {
    let names: Vec<String> = [
        "aws-ebs-csi-node-driver",
        "nvidia-device-plugin",
        "node-local-dns-cache",
        "datadog-agent-cluster",
        "fluent-bit-forwarder",
        "prometheus-node-exporter",
    ]
    .map(String::from)
    .to_vec();
    // 200 columns, six DaemonSets: every name in full, not cut to a few characters.
    let app = app_with_columns(&names, 200, 30, false);
    let heads = column_header_lines(&app).join("\n");
    for name in &names {
        assert!(heads.contains(name.as_str()), "{name} in full:\n{heads}");
    }
    assert!(!heads.contains('…'), "{heads}");
}

#[test]
fn cut_column_names_in_ascii_end_with_a_mark_that_is_no_state_glyph() {
    let names: Vec<String> = (0..30).map(|i| format!("daemonset-with-a-long-name-{i:02}")).collect();
    let app = app_with_columns(&names, 80, 24, true);
    let heads = column_header_lines(&app).join("\n");
    assert!(heads.contains("daemonset-with-a-long-name-00"), "the cursor column in full:\n{heads}");
    assert!(heads.contains("daemons*"), "cut names end with the ASCII cut mark:\n{heads}");
    // The mark is no ASCII state glyph (`~`, the old mark, is not-ready's).
    let glyphs = app.theme().glyph_set(true);
    assert!(CellState::ALL.iter().all(|s| glyphs.state(*s) != "*"));
    assert!(!heads.contains('~'), "{heads}");
}

#[test]
fn quitting_with_a_roll_running_asks_first() {
    let mut app = app_sized(100, 30);
    assert!(key(&mut app, KeyCode::Char('x')).is_empty());
    app.task = Some(daemonscope::app::actions::RunningTask {
        id: 7,
        session: app.session,
        label: "roll security/falco".into(),
        done: 1,
        total: 4,
        message: String::new(),
    });
    let effects = key(&mut app, KeyCode::Char('q'));
    assert!(effects.is_empty() && !app.quit, "{effects:?}");
    let notice = app.notice.as_ref().map(|n| n.text.clone()).unwrap_or_default();
    assert_eq!(notice, "roll security/falco is running (1/4): q again quits and stops it");
    let footer = screen(&app)[29].clone();
    assert!(footer.contains("roll security/falco is running"), "{footer}");
    let effects = key(&mut app, KeyCode::Char('q'));
    assert!(app.quit && effects.iter().any(|e| matches!(e, Effect::Quit)), "{effects:?}");
}

#[test]
fn an_unbound_key_says_where_the_help_is_once() {
    let mut app = app_sized(100, 30);
    key(&mut app, KeyCode::Char('x'));
    assert!(text(&app).contains("press ? for help"), "{}", text(&app));
    app.notice = None;
    key(&mut app, KeyCode::Char('x'));
    assert!(!text(&app).contains("press ? for help"), "only once");
}

#[test]
fn help_explains_the_bottom_row_the_row_markers_and_severity() {
    let mut app = app_sized(100, 30);
    key(&mut app, KeyCode::Char('?'));
    let help: Vec<String> = ui::help::lines(&app).iter().map(|l| l.to_string()).collect();
    let all = help.join("\n");
    for needle in [
        "Bottom row: ready-desired",
        "follows the filter and problems only",
        "readiness Unknown: the kubelet stopped posting status",
        "has taints",
        "missing, failing > pending, not-ready, misscheduled > terminating > outdated",
    ] {
        assert!(all.contains(needle), "{needle:?} in help:\n{all}");
    }
}

/// The text of the ready-desired row under DaemonSet `ds`.
fn total_under(app: &App, ds: &str) -> String {
    let g = ui::layout::geometry(app.size, app).expect("fits");
    let col = app.view.cols.iter().position(|id| app.index.ds(*id).is_some_and(|d| d.name == ds)).expect("column");
    let j = col - app.cursor.col_offset;
    let row: Vec<char> = screen(app)[g.totals.y as usize].chars().collect();
    let x = g.col_x(j) as usize;
    row[x..x + 3].iter().collect::<String>().trim().to_string()
}

#[test]
fn the_ready_desired_row_follows_the_row_filter() {
    // kube-proxy: ready on alpha and bravo, missing on delta (charlie is not eligible).
    let mut app = app_sized(100, 30);
    assert_eq!(total_under(&app, "kube-proxy"), "-1");
    key(&mut app, KeyCode::Char('/'));
    chars(&mut app, "node-alpha");
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.view.node_rows, 1);
    assert_eq!(total_under(&app, "kube-proxy"), glyph(&app, CellState::Ready), "{}", text(&app));
    key(&mut app, KeyCode::Esc);
    key(&mut app, KeyCode::Char('/'));
    chars(&mut app, "node-delta");
    key(&mut app, KeyCode::Enter);
    assert_eq!(total_under(&app, "kube-proxy"), "-1", "{}", text(&app));
}

#[test]
fn help_lists_the_recent_messages_with_their_age() {
    let mut app = app_sized(100, 30);
    key(&mut app, KeyCode::Char(']'));
    key(&mut app, KeyCode::Char('o'));
    update(&mut app, Msg::Tick(NOW + 75));
    key(&mut app, KeyCode::Char('?'));
    let all: Vec<String> = ui::help::lines(&app).iter().map(|l| l.to_string()).collect();
    let at = all.iter().position(|l| l == "Messages (newest first)").expect("a messages section");
    assert!(all[at + 1].contains("sort: problems"), "{all:#?}");
    assert!(all[at + 1].contains(&format!("{} ago", ui::fmt_age(75))), "{}", all[at + 1]);
}
