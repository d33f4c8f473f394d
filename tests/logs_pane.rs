//! The log pane without a cluster: keys, search, filter, follow, the ring buffer, and that hostile
//! log content never reaches a rendered cell raw.

use std::sync::Arc;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use daemonscope::cluster::logs::LineSplitter;
use daemonscope::logs::sanitize::{is_terminal_safe, sanitize};
use daemonscope::logs::{LogLine, LogMsg, LogSource, LogTarget, MAX_LINE_BYTES, PodRef, StreamState};
use daemonscope::logview::{LogBuffer, LogPane, LogStyles, PaneOptions, PaneOutcome, render};
use proptest::prelude::*;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};

fn pod_target() -> LogTarget {
    LogTarget::Pod {
        namespace: "kube-system".into(),
        pod: "fluent-bit-abcde".into(),
        node: "node-1".into(),
        container: None,
        previous: false,
    }
}

fn ds_target() -> LogTarget {
    LogTarget::DaemonSet {
        namespace: "kube-system".into(),
        name: "fluent-bit".into(),
        pods: vec![PodRef::new("node-a", "fb-1"), PodRef::new("node-b", "fb-2")],
        container: Some("fluent-bit".into()),
        previous: false,
    }
}

fn src(node: &str) -> Arc<LogSource> {
    Arc::new(LogSource::new(node, "pod", "app", false))
}

fn line(node: &str, text: &str) -> LogLine {
    LogLine::from_raw(src(node), text.as_bytes(), false, 0)
}

fn pane_with(lines: &[&str]) -> LogPane {
    let mut p = LogPane::new(pod_target(), PaneOptions::default());
    p.apply(LogMsg::Lines { lines: lines.iter().map(|t| line("node-1", t)).collect(), dropped: 0 });
    p
}

/// A key as the app routes it to a pane: through the default key table.
fn handle_key(p: &mut LogPane, key: KeyEvent) -> PaneOutcome {
    let (keymap, _) = daemonscope::app::Keymap::build(&Default::default(), false);
    daemonscope::app::logs::pane_key_with(&keymap, p, key)
}

fn key(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
}

fn code(c: KeyCode) -> KeyEvent {
    KeyEvent::new(c, KeyModifiers::NONE)
}

fn press(p: &mut LogPane, keys: &str) {
    for c in keys.chars() {
        handle_key(p, key(c));
    }
}

fn search(p: &mut LogPane, q: &str) {
    handle_key(p, key('/'));
    press(p, q);
    handle_key(p, code(KeyCode::Enter));
}

/// Lay the pane out in `w`×`h` as the app does (it tells the pane its body rows), then draw.
fn draw(p: &mut LogPane, w: u16, h: u16) -> Buffer {
    p.set_rows(daemonscope::logview::body_rows(h));
    let area = Rect::new(0, 0, w, h);
    let mut buf = Buffer::empty(area);
    render(p, &LogStyles::default(), area, &mut buf);
    buf
}

fn rows(buf: &Buffer) -> Vec<String> {
    let a = buf.area;
    (a.top()..a.bottom()).map(|y| (a.left()..a.right()).map(|x| buf[(x, y)].symbol()).collect::<String>()).collect()
}

/// Body rows (without the title and status rows), right-trimmed.
fn body(buf: &Buffer) -> Vec<String> {
    let r = rows(buf);
    r[1..r.len() - 1].iter().map(|s| s.trim_end().to_owned()).collect()
}

fn colours(buf: &Buffer, x: u16, y: u16) -> (Color, Color) {
    (buf[(x, y)].fg, buf[(x, y)].bg)
}

fn colours_of(s: Style) -> (Color, Color) {
    (s.fg.unwrap_or(Color::Reset), s.bg.unwrap_or(Color::Reset))
}

fn assert_no_raw_controls(buf: &Buffer) {
    for y in buf.area.top()..buf.area.bottom() {
        for x in buf.area.left()..buf.area.right() {
            let s = buf[(x, y)].symbol();
            assert!(is_terminal_safe(s), "cell ({x},{y}) holds a control character: {s:?}");
            assert!(!s.contains('\u{1b}'), "cell ({x},{y}) holds ESC");
        }
    }
}

#[test]
fn follow_shows_the_newest_lines_at_the_bottom() {
    let lines: Vec<String> = (0..50).map(|i| format!("line {i}")).collect();
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    let mut p = pane_with(&refs);
    let b = body(&draw(&mut p, 40, 12));
    assert_eq!(b.first().map(String::as_str), Some("line 40"));
    assert_eq!(b.last().map(String::as_str), Some("line 49"));
    assert!(p.following());
}

#[test]
fn few_lines_are_drawn_from_the_top() {
    let mut p = pane_with(&["a", "b"]);
    let b = body(&draw(&mut p, 20, 8));
    assert_eq!(&b[..3], &["a".to_owned(), "b".to_owned(), String::new()]);
}

#[test]
fn scrolling_up_pauses_and_g_resumes() {
    let lines: Vec<String> = (0..50).map(|i| format!("line {i}")).collect();
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    let mut p = pane_with(&refs);
    draw(&mut p, 40, 12);
    handle_key(&mut p, code(KeyCode::Up));
    assert!(!p.following());
    assert_eq!(body(&draw(&mut p, 40, 12)).last().map(String::as_str), Some("line 48"));
    // New lines do not move a paused view.
    p.apply(LogMsg::Lines { lines: vec![line("node-1", "line 50")], dropped: 0 });
    let screen = draw(&mut p, 40, 12);
    assert_eq!(body(&screen).last().map(String::as_str), Some("line 48"));
    assert!(rows(&screen).last().is_some_and(|s| s.contains("PAUSED +2")));
    handle_key(&mut p, key('G'));
    assert!(p.following());
    assert_eq!(body(&draw(&mut p, 40, 12)).last().map(String::as_str), Some("line 50"));
    // Scrolling down to the newest line resumes too.
    handle_key(&mut p, code(KeyCode::PageUp));
    assert!(!p.following());
    handle_key(&mut p, code(KeyCode::End));
    assert!(p.following());
}

#[test]
fn home_shows_the_oldest_lines() {
    let lines: Vec<String> = (0..50).map(|i| format!("line {i}")).collect();
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    let mut p = pane_with(&refs);
    draw(&mut p, 40, 12);
    handle_key(&mut p, code(KeyCode::Home));
    assert_eq!(body(&draw(&mut p, 40, 12)).first().map(String::as_str), Some("line 0"));
}

#[test]
fn search_finds_and_highlights_matches() {
    let mut p = pane_with(&["ok", "ERROR disk full", "ok", "another error here", "ok"]);
    search(&mut p, "error");
    // Smart case: a lower-case query ignores case.
    assert_eq!(p.matches().len(), 2);
    let styles = LogStyles::default();
    let buf = draw(&mut p, 40, 10);
    let b = body(&buf);
    let y = b.iter().position(|r| r.starts_with("ERROR")).expect("line drawn") as u16 + 1;
    let y2 = b.iter().position(|r| r.starts_with("another")).expect("line drawn") as u16 + 1;
    // The search jumps to the newest match at or above the view: it is the current one.
    assert_eq!(colours(&buf, 8, y2), colours_of(styles.current_match));
    assert_eq!(colours(&buf, 0, y), colours_of(styles.matched));
    assert_eq!(colours(&buf, 5, y), colours_of(styles.text));
    assert!(rows(&draw(&mut p, 100, 10)).last().is_some_and(|s| s.contains("/error 2/2 matches")));
}

#[test]
fn upper_case_query_is_case_sensitive() {
    let mut p = pane_with(&["ERROR a", "error b"]);
    search(&mut p, "ERROR");
    assert_eq!(p.matches().len(), 1);
}

#[test]
fn n_and_shift_n_move_between_matches_and_wrap() {
    let mut p = pane_with(&["m 0", "x", "m 2", "x", "m 4"]);
    search(&mut p, "m ");
    assert_eq!(p.current_match(), Some(4));
    handle_key(&mut p, key('N'));
    assert_eq!(p.current_match(), Some(2));
    handle_key(&mut p, key('N'));
    assert_eq!(p.current_match(), Some(0));
    handle_key(&mut p, key('N'));
    assert_eq!(p.current_match(), Some(4), "N wraps to the newest match");
    assert!(p.note().is_some_and(|n| n.contains("wrapped")));
    handle_key(&mut p, key('n'));
    assert_eq!(p.current_match(), Some(0), "n wraps to the oldest match");
    handle_key(&mut p, key('n'));
    assert_eq!(p.current_match(), Some(2));
    assert!(!p.following(), "jumping to a match pauses follow");
}

#[test]
fn search_prompt_escape_restores_the_previous_query() {
    let mut p = pane_with(&["alpha", "beta"]);
    search(&mut p, "alpha");
    handle_key(&mut p, key('/'));
    press(&mut p, "zzz");
    assert_eq!(p.matches().len(), 0, "typing searches incrementally");
    handle_key(&mut p, code(KeyCode::Esc));
    assert_eq!(p.query().map(|q| q.pattern().to_owned()), Some("alpha".into()));
    assert_eq!(p.matches().len(), 1);
    // Esc outside the prompt closes the pane.
    assert!(matches!(handle_key(&mut p, code(KeyCode::Esc)), PaneOutcome::Close));
}

#[test]
fn filter_mode_shows_only_matching_lines() {
    let mut p = pane_with(&["GET /a 200", "GET /b 500", "GET /c 200", "GET /d 503"]);
    search(&mut p, " 50");
    handle_key(&mut p, key('f'));
    assert!(p.filtering());
    let b = body(&draw(&mut p, 30, 8));
    assert_eq!(&b[..3], &["GET /b 500".to_owned(), "GET /d 503".to_owned(), String::new()]);
    // Following again, new matching lines appear in the filtered view, others do not.
    handle_key(&mut p, key('G'));
    p.apply(LogMsg::Lines { lines: vec![line("n", "GET /e 200"), line("n", "GET /f 502")], dropped: 0 });
    let b = body(&draw(&mut p, 30, 8));
    assert_eq!(&b[..3], &["GET /b 500".to_owned(), "GET /d 503".to_owned(), "GET /f 502".to_owned()]);
    handle_key(&mut p, key('f'));
    assert_eq!(body(&draw(&mut p, 30, 8)).iter().filter(|r| !r.is_empty()).count(), 6);
}

#[test]
fn f_without_a_query_opens_the_prompt_in_filter_mode() {
    let mut p = pane_with(&["x", "y"]);
    handle_key(&mut p, key('f'));
    assert!(p.prompt().is_some());
    press(&mut p, "y");
    handle_key(&mut p, code(KeyCode::Enter));
    assert!(p.filtering());
    assert_eq!(body(&draw(&mut p, 10, 6))[0], "y");
}

#[test]
fn wrap_splits_long_lines_and_nowrap_scrolls_horizontally() {
    let mut p = pane_with(&["0123456789abcdefghij"]);
    assert_eq!(body(&draw(&mut p, 10, 6))[0], "0123456789");
    handle_key(&mut p, code(KeyCode::Right));
    assert_eq!(body(&draw(&mut p, 10, 6))[0], "89abcdefgh");
    handle_key(&mut p, key('w'));
    let b = body(&draw(&mut p, 10, 6));
    assert_eq!(&b[..2], &["0123456789".to_owned(), "abcdefghij".to_owned()]);
}

#[test]
fn timestamps_toggle_shows_the_kubelet_timestamp() {
    let mut p = LogPane::new(pod_target(), PaneOptions::default());
    let l = LogLine::from_raw(src("n"), b"2024-05-01T12:00:00.5Z started", true, 0);
    p.apply(LogMsg::Lines { lines: vec![l], dropped: 0 });
    assert_eq!(body(&draw(&mut p, 60, 5))[0], "started");
    handle_key(&mut p, key('t'));
    assert_eq!(body(&draw(&mut p, 60, 5))[0], "2024-05-01T12:00:00.500Z started");
}

#[test]
fn daemonset_lines_carry_a_node_prefix_in_a_stable_colour() {
    let mut p = LogPane::new(ds_target(), PaneOptions::default());
    p.apply(LogMsg::Lines { lines: vec![line("node-a", "from a"), line("node-bb", "from b")], dropped: 0 });
    let styles = LogStyles::default();
    let buf = draw(&mut p, 40, 6);
    let b = body(&buf);
    assert_eq!(&b[..2], &["node-a  from a".to_owned(), "node-bb from b".to_owned()]);
    let a = src("node-a").colour as usize;
    assert_eq!(colours(&buf, 0, 1), colours_of(styles.node_palette[a]));
    assert_eq!(colours(&buf, 8, 1), colours_of(styles.text));
}

#[test]
fn p_asks_to_reopen_with_the_previous_container() {
    let mut p = pane_with(&["current run"]);
    match handle_key(&mut p, key('p')) {
        PaneOutcome::Reopen(t) => assert!(t.previous()),
        other => panic!("expected Reopen, got {other:?}"),
    }
    assert_eq!(p.buffer().len(), 0, "the pane is cleared for the other container's log");
    assert!(rows(&draw(&mut p, 80, 5))[0].contains("previous container"));
    match handle_key(&mut p, key('p')) {
        PaneOutcome::Reopen(t) => assert!(!t.previous()),
        other => panic!("expected Reopen, got {other:?}"),
    }
}

#[test]
fn c_asks_for_a_container_picker_and_set_container_reopens() {
    let mut p = pane_with(&["x"]);
    assert!(matches!(handle_key(&mut p, key('c')), PaneOutcome::PickContainer));
    let t = p.set_container("init-sysctl");
    assert_eq!(t.container(), Some("init-sysctl"));
    assert_eq!(p.buffer().len(), 0);
}

#[test]
fn s_saves_the_buffer_and_shows_the_path() {
    let mut p = LogPane::new(ds_target(), PaneOptions::default());
    p.apply(LogMsg::Lines { lines: vec![line("node-a", "one"), line("node-b", "two")], dropped: 0 });
    let PaneOutcome::Save(req) = handle_key(&mut p, key('s')) else { panic!("expected Save") };
    let dir = tempfile::tempdir().expect("tempdir");
    let path = req.write_in(dir.path()).expect("written");
    assert_eq!(std::fs::read_to_string(&path).expect("readable"), "node-a one\nnode-b two\n");
    assert!(path.starts_with(dir.path().join("logs")));
    // A second save never overwrites the first.
    let path2 = req.write_in(dir.path()).expect("written");
    assert_ne!(path, path2);
    p.saved(Ok(path.clone()));
    let status = rows(&draw(&mut p, 200, 5)).pop().unwrap_or_default();
    assert!(status.contains(&format!("saved to {}", path.display())), "{status}");
}

#[test]
fn x_clears_the_buffer() {
    let mut p = pane_with(&["a", "b"]);
    handle_key(&mut p, key('x'));
    assert_eq!(p.buffer().len(), 0);
    assert!(body(&draw(&mut p, 10, 5)).iter().all(String::is_empty));
}

#[test]
fn unknown_keys_are_left_to_the_app_and_q_closes_the_pane() {
    let mut p = pane_with(&["a"]);
    assert!(matches!(handle_key(&mut p, key('?')), PaneOutcome::Ignored));
    assert!(matches!(handle_key(&mut p, key('q')), PaneOutcome::Close), "q closes the pane, not the program");
    let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
    assert!(matches!(handle_key(&mut p, ctrl_c), PaneOutcome::Ignored));
}

#[test]
fn ring_buffer_caps_lines_and_counts_dropped() {
    let mut b = LogBuffer::new(100, usize::MAX);
    for i in 0..250 {
        b.push(line("n", &format!("line {i}")));
    }
    assert_eq!(b.len(), 100);
    assert_eq!(b.dropped(), 150);
    assert_eq!(b.first_seq(), 150);
    assert_eq!(b.get(150).map(|l| &*l.text), Some("line 150"));
    assert!(b.get(149).is_none());
}

#[test]
fn ring_buffer_caps_bytes() {
    let mut b = LogBuffer::new(10_000, 10_000);
    let big = "x".repeat(1000);
    for _ in 0..100 {
        b.push(line("n", &big));
    }
    assert!(b.text_bytes() <= 10_000);
    assert_eq!(b.len(), 10);
    assert_eq!(b.dropped(), 90);
}

#[test]
fn pane_shows_dropped_lines_and_keeps_matches_of_held_lines_only() {
    let mut p = LogPane::new(pod_target(), PaneOptions { max_lines: 10, ..PaneOptions::default() });
    search(&mut p, "hit");
    let lines: Vec<LogLine> = (0..30).map(|i| line("n", &format!("hit {i}"))).collect();
    p.apply(LogMsg::Lines { lines, dropped: 5 });
    assert_eq!(p.buffer().len(), 10);
    assert_eq!(p.buffer().dropped(), 25);
    assert_eq!(p.matches().len(), 10);
    let status = rows(&draw(&mut p, 120, 5)).pop().unwrap_or_default();
    assert!(status.contains("dropped 25"), "{status}");
}

#[test]
fn stream_status_and_capped_pod_count_show_on_the_status_line() {
    let mut p = LogPane::new(ds_target(), PaneOptions::default());
    p.apply(LogMsg::Streams { open: 50, shown: 50, total: 200 });
    p.apply(LogMsg::Status {
        source: src("node-a"),
        state: StreamState::Retrying,
        text: "connection lost; re-opening in 0.5s".into(),
    });
    let status = rows(&draw(&mut p, 200, 5)).pop().unwrap_or_default();
    assert!(status.contains("showing 50 of 200 pods"), "{status}");
    assert!(status.contains("node-a/pod/app: connection lost"), "{status}");
    // Lines from the source clear its trouble.
    p.apply(LogMsg::Lines { lines: vec![line("node-a", "back")], dropped: 0 });
    assert!(p.troubled().is_empty());
}

fn hostile_lines() -> Vec<LogLine> {
    let mut raw: Vec<Vec<u8>> = vec![
        b"\x1b[31mred\x1b[0m \x1b]0;title\x07 \x1b]52;c;ZXZpbA==\x07 \x1b[2J\x1b[H".to_vec(),
        b"bell\x07 cr\r overwrite \x08\x08 del\x7f nul\x00".to_vec(),
        b"invalid \xff\xfe\xc3 utf8 \xe2\x82".to_vec(),
        "c1 \u{9b}31m csi \u{9d}osc\u{9c} bidi \u{202e}evil".as_bytes().to_vec(),
        b"\x1bP dcs payload \x1b\\ after".to_vec(),
        b"tab\tsep\tcols".to_vec(),
        b"unterminated \x1b]8;;http://x".to_vec(),
    ];
    // A 1 MB line with escapes sprinkled in, through the same splitter the streams use.
    let mut mb = Vec::with_capacity(1 << 20);
    while mb.len() < (1 << 20) {
        mb.extend_from_slice(b"xxxxxxxxxxxxxxxxxxxxxxxxxxxx\x1b[1m\x1b]0;t\x07\xff");
    }
    mb.push(b'\n');
    let mut splitter = LineSplitter::new(MAX_LINE_BYTES);
    splitter.feed(&mb, |l, cut| {
        assert_eq!(l.len(), MAX_LINE_BYTES);
        assert!(cut > 900_000);
        raw.push(l.to_vec());
    });
    raw.iter().map(|r| LogLine::from_raw(src("node-\x1b[31mx"), r, false, 0)).collect()
}

#[test]
fn hostile_content_never_reaches_the_rendered_buffer_raw() {
    for target in [pod_target(), ds_target()] {
        let mut p = LogPane::new(target, PaneOptions::default());
        p.apply(LogMsg::Lines { lines: hostile_lines(), dropped: 0 });
        p.apply(LogMsg::Status {
            source: src("n\x1b]0;x\x07"),
            state: StreamState::Failed,
            text: "server says \x1b[2J\x07".into(),
        });
        p.apply(LogMsg::Note("note \x1b[5m".into()));
        for keys in ["", "w", "t", "w"] {
            press(&mut p, keys);
            assert_no_raw_controls(&draw(&mut p, 80, 20));
            assert_no_raw_controls(&draw(&mut p, 7, 4));
        }
        // The prompt echoes what the user typed, even pasted control characters.
        handle_key(&mut p, key('/'));
        handle_key(&mut p, key('\u{1b}'));
        handle_key(&mut p, key('\u{7}'));
        assert_no_raw_controls(&draw(&mut p, 80, 20));
    }
}

#[test]
fn a_one_megabyte_line_is_capped_in_memory() {
    let lines = hostile_lines();
    let big = lines.iter().map(|l| l.text.len()).max().unwrap_or(0);
    assert!(big <= MAX_LINE_BYTES * 3, "sanitized text stays near the cap: {big}");
}

proptest! {
    #[test]
    fn sanitize_output_is_always_terminal_safe(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let s = sanitize(&bytes);
        prop_assert!(is_terminal_safe(&s));
    }

    #[test]
    fn rendering_any_bytes_leaves_no_control_in_cells(
        lines in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..200), 1..20),
        wrap in any::<bool>(),
    ) {
        let mut p = LogPane::new(ds_target(), PaneOptions::default());
        let ls = lines.iter().map(|b| LogLine::from_raw(src("n"), b, true, 0)).collect();
        p.apply(LogMsg::Lines { lines: ls, dropped: 0 });
        if wrap {
            press(&mut p, "w");
        }
        let buf = draw(&mut p, 50, 12);
        for y in 0..12 {
            for x in 0..50 {
                prop_assert!(is_terminal_safe(buf[(x, y)].symbol()));
            }
        }
    }
}
