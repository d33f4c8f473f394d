//! End-to-end: a confirmation is never accepted unless it was drawn. The real binary in tmux,
//! against an in-process simulator whose request counters are the witness: the terminal is
//! shrunk below the smallest usable size (the matrix and every dialog are hidden), and `d`,
//! `y`, `R`, `y`, `D`, `y` are pressed; nothing may reach the cluster and nothing may be
//! audited. Grown back, the matrix returns, and a drawn confirmation still works.

mod common;

use std::time::Duration;

use common::sim::SimCluster;
use common::tmux::Session;
use daemonscope::sim::SimOptions;

fn writes(c: &SimCluster) -> u64 {
    c.sim.stats().mutating
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_pressed_while_the_terminal_is_too_small_send_nothing() {
    let opts = SimOptions { scenario: "mixed".into(), frozen: true, churn: Some(0.0), ..SimOptions::default() };
    let cluster = SimCluster::start(opts).await;
    let kubeconfig = cluster.kubeconfig.to_string_lossy().into_owned();
    let tmux = Session::daemonscope(120, 36, &cluster.sandbox, &["--kubeconfig", &kubeconfig], &[]);
    tmux.wait_until("the matrix, live", Duration::from_secs(90), |s| {
        s.contains("ready-desired") && s.contains(" live ")
    });
    let before = writes(&cluster);

    tmux.resize(40, 10);
    tmux.wait_for("Terminal too small", Duration::from_secs(10));
    for k in ["d", "y", "R", "y", "D", "y", "N", "t"] {
        tmux.send_keys(&[k]);
    }
    // Give the keys time to be read and anything they might have started time to send.
    std::thread::sleep(Duration::from_secs(2));
    tmux.resize(120, 36);
    let screen = tmux.wait_for("ready-desired", Duration::from_secs(10));
    assert!(!screen.contains("confirm on"), "no dialog was opened unseen:\n{screen}");
    assert_eq!(writes(&cluster), before, "no request reached the cluster");
    let audit = cluster.sandbox.state_dir().join("audit.jsonl");
    assert!(!audit.exists(), "nothing was audited: {:?}", std::fs::read_to_string(&audit));

    // Drawn, the same keys work: the confirmation is shown and y sends.
    tmux.send_keys(&["R"]);
    tmux.wait_for("confirm on", Duration::from_secs(10));
    tmux.wait_for("server dry run: accepted", Duration::from_secs(10));
    // mixed.toml: aws-node runs on all 40 nodes, over the default of 10 pods: its name is typed.
    tmux.wait_for("type aws-node and press Enter", Duration::from_secs(10));
    tmux.type_text("aws-node");
    tmux.send_keys(&["Enter"]);
    tmux.wait_for("aws-node restarted", Duration::from_secs(30));
    assert!(writes(&cluster) > before, "the confirmed restart was sent");
    tmux.send_keys(&["q"]);
    assert_eq!(tmux.exit_code(Duration::from_secs(20)), 0, "exit status");
    tmux.assert_shell_is_back();
}
