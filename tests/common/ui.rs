//! Driving the app by keys in the tests that run it against a simulator.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use daemonscope::app::{App, Msg};
use daemonscope::fleet::CellState;
use daemonscope::shell::Shell;

/// One key press through `update`, its effects carried out by `shell` as the event loop does.
pub fn press(shell: &mut Shell, app: &mut App, code: KeyCode) {
    shell.feed(app, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)));
}

/// Move the cursor with the arrow keys onto the first cell of DaemonSet `ds` (by name) in
/// `state`, top to bottom; returns that node's name. Panics when there is none.
pub fn cursor_to(shell: &mut Shell, app: &mut App, ds: &str, state: CellState) -> String {
    let col = app
        .view
        .cols
        .iter()
        .position(|id| app.index.ds(*id).is_some_and(|d| d.name == ds))
        .unwrap_or_else(|| panic!("column {ds}"));
    press(shell, app, KeyCode::Home);
    for _ in 0..app.view.cols.len() {
        press(shell, app, KeyCode::Left);
    }
    for _ in 0..col {
        press(shell, app, KeyCode::Right);
    }
    for _ in 0..app.view.rows.len() {
        let node = app.cursor_node().expect("node row");
        if app.index.cell(node, app.cursor_ds().expect("col")).state == state {
            return app.index.node(node).map(|n| n.name.to_string()).unwrap_or_default();
        }
        press(shell, app, KeyCode::Down);
    }
    panic!("no {} cell in {ds}", state.name());
}
