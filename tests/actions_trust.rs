//! Actions an SRE can trust, driven by keys on the real app against the simulator: the
//! confirmation names the cluster and the blast radius and shows the server's dry run before
//! `y` can send; a server that refuses dry runs is said so and the user may send without one;
//! RBAC is asked before a key is offered; a protected context starts read-only and unlocks by
//! typing its name; a `D` batch looks at each pod again and skips one replaced meanwhile.
//! Expected values come from the scenario files and Kubernetes' rules, not from the app.

mod common;

use common::rig::{flat, rig, screen};
use crossterm::event::KeyCode;
use daemonscope::app::actions::{Dialog, DryRunState};
use daemonscope::cluster::actions::DryRunOutcome;
use daemonscope::config::Config;
use daemonscope::fleet::CellState;
use daemonscope::sim;
use k8s_openapi::api::core::v1::Pod;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_confirmation_names_the_cluster_the_blast_radius_and_the_dry_run_before_y_sends() {
    let mut r = rig("small", sim::CONTEXT, Config::default()).await;
    r.cursor_to("kube-proxy", CellState::Ready);
    let patches = r.writes("patch");
    r.key(KeyCode::Char('R'));
    // `y` before the dry run answered sends nothing.
    r.key(KeyCode::Char('y'));
    assert!(r.dry_run().is_some(), "the dialog stays open until the dry run answers");
    r.wait_for("the dry run", common::ui::dry_run_answered).await;
    assert_eq!(r.dry_run(), Some(DryRunState::Answered(DryRunOutcome::Accepted)));
    assert_eq!(r.writes("patch"), patches + 1, "exactly one request so far: the dry run");
    let text = flat(&r.app);
    assert!(text.contains(&format!("context {}", sim::CONTEXT)), "{text}");
    assert!(text.contains(&format!("server {}", r.sim.url)), "{text}");
    assert!(text.contains("user daemonscope-sim"), "{text}");
    // small.toml: kube-proxy runs on all 4 nodes with maxUnavailable 10%: ceil(0.4) = 1 at a time.
    assert!(
        text.contains("all 4 pods of kube-proxy on 4 nodes are replaced, 1 at a time: 4 waves (maxUnavailable 10%"),
        "{text}"
    );
    assert!(text.contains("server dry run: accepted"), "{text}");
    common::ui::send_confirmation(&mut r.shell, &mut r.app);
    r.wait_for("the rollout restart", |a| a.notice.as_ref().is_some_and(|n| n.text.contains("restarted"))).await;
    assert_eq!(r.writes("patch"), patches + 2, "the real request, without a second dry run");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_refuses_dry_runs_is_said_so_and_y_sends_without_one() {
    let mut r = rig("small", sim::CONTEXT, Config::default()).await;
    r.sim.faults.set_dry_run_webhook(Some("validate.policy.example.com"));
    r.cursor_to("fluent-bit", CellState::Ready);
    let deletes = r.writes("delete");
    r.key(KeyCode::Char('d'));
    r.wait_for("the dry run", common::ui::dry_run_answered).await;
    let Some(DryRunState::Answered(DryRunOutcome::Unsupported(why))) = r.dry_run() else {
        panic!("expected an unsupported dry run, got {:?}", r.dry_run());
    };
    assert_eq!(why, "admission webhook \"validate.policy.example.com\" does not support dry run");
    let text = flat(&r.app);
    assert!(text.contains("y sends WITHOUT a dry run"), "{text}");
    r.key(KeyCode::Char('y'));
    r.wait_for("the delete", |a| a.notice.as_ref().is_some_and(|n| n.text.contains("deleted"))).await;
    // The dry run (refused) and the real delete: two DELETE requests, no third.
    assert_eq!(r.writes("delete"), deletes + 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_that_may_not_patch_is_never_offered_a_rollout_restart() {
    let mut r = rig("small", sim::OPERATOR_CONTEXT, Config::default()).await;
    r.cursor_to("kube-proxy", CellState::Ready);
    // The server was asked about kube-system; wait for its answer to reach the screen.
    r.key(KeyCode::Char('?'));
    r.wait_for("the RBAC answer in help", |a| flat(a).contains("Not available here")).await;
    let help = flat(&r.app);
    assert!(help.contains("Not available here: rollout restart the cursor DaemonSet: forbidden by RBAC"), "{help}");
    assert_eq!(
        daemonscope::app::access::denied(&r.app, daemonscope::app::Action::RolloutRestart).as_deref(),
        Some(
            "forbidden by RBAC: you may not patch daemonsets in kube-system; `kubectl auth can-i patch daemonsets.apps -n kube-system` says no"
        )
    );
    assert!(!help.contains("Not available here: restart the cursor pod"), "deleting pods is allowed: {help}");
    r.key(KeyCode::Esc);
    let patches = r.writes("patch");
    r.key(KeyCode::Char('R'));
    assert!(r.app.dialog().is_none(), "no confirmation is offered");
    assert!(r.notice().contains("is not available: forbidden by RBAC"), "{}", r.notice());
    assert_eq!(r.writes("patch"), patches, "nothing was sent");
    // Pod restarts stay available to this user.
    r.key(KeyCode::Char('d'));
    assert!(r.dry_run().is_some(), "the restart confirmation opens");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_protected_context_starts_read_only_and_unlocks_by_typing_its_name() {
    let config = Config { protected_contexts: vec!["daemonscope-sim*".into()], ..Config::default() };
    let mut r = rig("small", sim::CONTEXT, config).await;
    r.cursor_to("fluent-bit", CellState::Ready);
    assert!(flat(&r.app).contains("[protected: read-only]"), "{}", screen(&r.app));
    r.key(KeyCode::Char('d'));
    assert!(r.app.dialog().is_none());
    assert!(r.notice().contains("is protected"), "{}", r.notice());

    r.key(KeyCode::Char('W'));
    r.chars("daemonscope-si");
    r.key(KeyCode::Enter);
    assert!(flat(&r.app).contains("that is not"), "a wrong name leaves writes off:\n{}", screen(&r.app));
    r.chars("m");
    r.key(KeyCode::Enter);
    assert!(r.app.dialog().is_none());
    assert!(flat(&r.app).contains("WRITES ON"), "{}", screen(&r.app));

    // On a protected context even one pod asks for the DaemonSet's name to be typed.
    let deletes = r.writes("delete");
    r.key(KeyCode::Char('d'));
    r.wait_for("the dry run", common::ui::dry_run_answered).await;
    assert!(
        flat(&r.app).contains("context daemonscope-sim is protected: type fluent-bit and press Enter"),
        "{}",
        screen(&r.app)
    );
    // `y` is only a letter here: typed into the field, nothing sent.
    r.key(KeyCode::Char('y'));
    r.key(KeyCode::Enter);
    assert!(r.app.dialog().is_some(), "`y` Enter does not send a typed confirmation");
    assert!(r.notice().contains("type fluent-bit exactly"), "{}", r.notice());
    assert_eq!(r.writes("delete"), deletes + 1, "only the dry run");
    r.key(KeyCode::Backspace);
    r.chars("fluent-bit");
    r.key(KeyCode::Enter);
    r.wait_for("the delete", |a| a.notice.as_ref().is_some_and(|n| n.text.contains("deleted"))).await;
    assert_eq!(r.writes("delete"), deletes + 2, "dry run and delete");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_skips_a_pod_replaced_after_it_was_planned() {
    // mixed.toml: datadog-agent crash-loops on general-03, -11 and -22; restart the failing
    // pods, but another hand deletes one of them first.
    let mut r = rig("mixed", sim::CONTEXT, Config::default()).await;
    r.cursor_to("datadog-agent", CellState::Failing);
    r.key(KeyCode::Char('D'));
    r.wait_for("the dry run", common::ui::dry_run_answered).await;
    let Some(Dialog::Confirm { work: daemonscope::cluster::executor::Work::Batch { plans, .. }, .. }) =
        r.app.dialog().map(|d| &d.dialog)
    else {
        panic!("a batch confirmation:\n{}", screen(&r.app));
    };
    let replaced = plans.last().expect("a failing pod").object.clone();
    let n = plans.len();
    // Someone else deletes that pod meanwhile: the DaemonSet re-creates it under a new uid.
    let pods: kube::Api<Pod> = kube::Api::namespaced(r.sim.client().await.expect("client"), &replaced.namespace);
    pods.delete(&replaced.name, &Default::default()).await.expect("delete by another hand");
    common::ui::send_confirmation(&mut r.shell, &mut r.app);
    r.wait_for("the batch to end", |a| a.task.is_none() && a.notice.as_ref().is_some_and(|n| n.text.contains("of")))
        .await;
    let notice = r.notice();
    assert!(notice.contains(&format!("{} of {n} restarted", n - 1)), "{notice}");
    assert!(notice.contains("1 skipped"), "{notice}");
    let audit = std::fs::read_to_string(r.dir.path().join("audit.jsonl")).unwrap_or_default();
    assert!(!audit.contains(&format!("\"object\":\"{replaced}\"")), "the replaced pod was never deleted:\n{audit}");
}
