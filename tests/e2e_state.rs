//! End-to-end: remembered state (`state.toml`) and the context picker in the real binary
//! (`daemonscope --demo`) inside a detached tmux session with its own server socket (killed at
//! the end, nobody else's). tmux is required: the test fails with a clear message when it is
//! missing (never skips).

mod common;

use std::time::Duration;

use common::sandbox::Sandbox;
use common::sim::SimCluster;
use common::tmux::Session;

/// `--demo` with a corrupt `state.toml`: the UI starts with the defaults and says so; the
/// context picker switches to the demo's read-only context; a changed sort is written back
/// (the demo's context is not remembered: it belongs to no real kubeconfig).
#[test]
fn demo_with_corrupt_state_starts_switches_context_and_rewrites_the_state() {
    let sandbox = Sandbox::new();
    let state_file = sandbox.write("state/state.toml", "sort = [unclosed\n");
    let tmux = Session::daemonscope(140, 36, &sandbox, &["--demo", "small"], &[]);
    tmux.wait_until("the matrix and the state warning", Duration::from_secs(90), |s| {
        s.contains("ready-desired") && s.contains(" live ") && s.contains("state.toml")
    });

    tmux.send_keys(&["o"]);
    tmux.send_keys(&["c"]);
    tmux.wait_for("daemonscope-sim-readonly", Duration::from_secs(10));
    tmux.type_text("readonly");
    tmux.send_keys(&["Enter"]);
    tmux.wait_until("the read-only context live", Duration::from_secs(60), |s| {
        s.contains("ctx daemonscope-sim-readonly") && s.contains(" live ")
    });

    tmux.send_keys(&["q"]);
    assert_eq!(tmux.exit_code(Duration::from_secs(20)), 0, "exit status");
    tmux.assert_shell_is_back();
    let text = std::fs::read_to_string(&state_file).expect("state.toml rewritten");
    assert!(text.contains("sort = \"problems\""), "{text}");
    assert!(!text.contains("context ="), "the demo's context is not remembered: {text}");
    assert!(!text.contains("token"), "{text}");
}

/// Like kubectl, the UI starts on the kubeconfig's current context even when `state.toml`
/// remembers another one (and that one's namespace is not applied to a different context);
/// the remembered context is where the context picker's selection starts, so `c` then Enter
/// goes back to it. A simulator (in this process) with its two-context kubeconfig, whose
/// current context is the full one; `state.toml` names the read-only context and `monitoring`.
#[test]
fn the_current_context_starts_and_the_remembered_one_is_the_pickers_default() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let cluster = rt.block_on(SimCluster::start(common::sim::frozen("mixed")));
    cluster.sandbox.write("state/state.toml", "context = \"daemonscope-sim-readonly\"\nnamespace = \"monitoring\"\n");
    let kubeconfig = cluster.kubeconfig.to_string_lossy();
    let tmux = Session::daemonscope(140, 36, &cluster.sandbox, &["--kubeconfig", &kubeconfig], &[]);
    let screen = tmux.wait_until("the current context, all namespaces", Duration::from_secs(90), |s| {
        s.contains("ctx daemonscope-sim ") && s.contains("ns all") && s.contains(" live ")
    });
    assert!(!screen.contains("monitoring"), "the namespace remembered with another context applies:\n{screen}");
    tmux.send_keys(&["c"]);
    tmux.wait_for("daemonscope-sim-readonly", Duration::from_secs(20));
    tmux.send_keys(&["Enter"]);
    tmux.wait_until("switched to the remembered context", Duration::from_secs(60), |s| {
        s.contains("ctx daemonscope-sim-readonly") && s.contains(" live ")
    });
    tmux.send_keys(&["q"]);
    assert_eq!(tmux.exit_code(Duration::from_secs(20)), 0, "exit status");
    tmux.assert_shell_is_back();
    drop(cluster);
}
