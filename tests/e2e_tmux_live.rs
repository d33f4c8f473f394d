//! End-to-end, the real binary in tmux against an in-process simulator: the header never calls
//! old data live (a frozen server shows as stale within the idle deadline, and live again after
//! the thaw), and text from the cluster cannot take over the terminal (a change-cause holding
//! an OSC "set title" sequence, shown by the history dialog, leaves the pane title alone).

mod common;

use std::time::{Duration, Instant};

use common::sim::SimCluster;
use common::tmux::Session;
use daemonscope::sim::store::StoreError;
use daemonscope::sim::{Kind, SimOptions};

async fn cluster() -> SimCluster {
    let opts = SimOptions { scenario: "small".into(), frozen: true, churn: Some(0.0), ..SimOptions::default() };
    SimCluster::start(opts).await
}

fn ui(cluster: &SimCluster) -> Session {
    let kubeconfig = cluster.kubeconfig.to_string_lossy().into_owned();
    let tmux = Session::daemonscope(120, 36, &cluster.sandbox, &["--kubeconfig", &kubeconfig], &[]);
    tmux.wait_until("the matrix, live", Duration::from_secs(90), |s| {
        s.contains("ready-desired") && s.contains(" live ")
    });
    tmux
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_server_shows_stale_within_the_deadline_and_live_after_the_thaw() {
    let cluster = cluster().await;
    // Bookmarks every second: the streams learn a deadline of 2 s, raised to the 15 s floor.
    cluster.sim.faults.set_bookmark_period(Duration::from_secs(1));
    let tmux = ui(&cluster);
    // A few bookmarks to learn from; a quiet healthy cluster stays live meanwhile.
    std::thread::sleep(Duration::from_secs(4));
    let screen = tmux.capture();
    assert!(screen.contains(" live ") && !screen.contains("stale"), "quiet but healthy is live:\n{screen}");

    cluster.sim.faults.set_frozen(true);
    let frozen_at = Instant::now();
    let screen = tmux.wait_until("stale in the header and the matrix", Duration::from_secs(40), |s| {
        s.contains("stale for") && s.contains("data stale for")
    });
    let took = frozen_at.elapsed();
    assert!(took < Duration::from_secs(15 + 10), "stale shown only after {took:?}:\n{screen}");
    assert!(!screen.contains(" live "), "stale and live at once:\n{screen}");

    // Hold the freeze long enough for the age to be 40 s, as a partition would.
    let screen = tmux.wait_until("stale for 40s", Duration::from_secs(60), |s| s.contains("stale for 4"));
    assert!(screen.contains("nodes") && screen.contains("pods"), "which streams are stale:\n{screen}");

    cluster.sim.faults.set_frozen(false);
    tmux.wait_until("live again after the thaw", Duration::from_secs(60), |s| {
        s.contains(" live ") && !s.contains("stale")
    });
    tmux.send_keys(&["q"]);
    assert_eq!(tmux.exit_code(Duration::from_secs(20)), 0, "exit status");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_change_cause_in_the_history_dialog_leaves_the_pane_title_alone() {
    let cluster = cluster().await;
    let tmux = ui(&cluster);
    let title = tmux.pane_title();
    assert!(!title.contains("pwned"));
    // Every revision says so, so whichever DaemonSet the cursor is on shows it.
    let (revs, _) = cluster.sim.store.list(Kind::ControllerRevision, None);
    assert!(!revs.is_empty(), "the scenario has revisions");
    for r in revs {
        cluster
            .sim
            .store
            .modify::<StoreError>(Kind::ControllerRevision, r.namespace(), r.name(), |o| {
                o.meta_mut()
                    .annotations
                    .get_or_insert_with(Default::default)
                    .insert("kubernetes.io/change-cause".into(), "\u{1b}]0;pwned\u{7}bump".into());
                Ok(())
            })
            .expect("annotate a revision");
    }
    // Let the watch deliver the changes, then open the history.
    std::thread::sleep(Duration::from_secs(2));
    tmux.send_keys(&["H"]);
    let screen = tmux.wait_for("pwned", Duration::from_secs(20));
    assert!(screen.contains("\\x1b]0;pwned"), "the escape is shown, not sent:\n{screen}");
    assert_eq!(tmux.pane_title(), title, "the pane title changed");
    tmux.send_keys(&["Escape"]);
    tmux.send_keys(&["q"]);
    assert_eq!(tmux.exit_code(Duration::from_secs(20)), 0, "exit status");
    assert_eq!(tmux.pane_title(), title, "the pane title changed");
}
