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

/// Whether the confirmation on top has the server's dry-run answer (`y` waits for it).
pub fn dry_run_answered(app: &App) -> bool {
    use daemonscope::app::actions::{Dialog, DryRunState};
    matches!(
        app.dialog().map(|d| &d.dialog),
        Some(Dialog::Confirm { dry_run, .. }) if matches!(dry_run.state, DryRunState::Answered(_))
    )
}

/// Send the confirmation on top as a user does: `y`, or, where the dialog asks for a name
/// to be typed (a large blast radius, a protected context), that name and Enter.
pub fn send_confirmation(shell: &mut Shell, app: &mut App) {
    use daemonscope::app::actions::Dialog;
    let expect = match app.dialog().map(|d| &d.dialog) {
        Some(Dialog::Confirm { typed: Some(t), .. }) => Some(t.expect.clone()),
        _ => None,
    };
    match expect {
        Some(name) => {
            for c in name.chars() {
                press(shell, app, KeyCode::Char(c));
            }
            press(shell, app, KeyCode::Enter);
        }
        None => press(shell, app, KeyCode::Char('y')),
    }
}
