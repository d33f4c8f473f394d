//! The real binary against bad input: every mistake a person can make with a kubeconfig, a
//! context or a server ends in exit code 2 and one clear line on stderr, never a panic, a
//! backtrace or Debug formatting. Also `--help`, and `daemonscope sim` serving the real kubectl.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Output, Stdio};

use common::sandbox::Sandbox;

/// Exit code 2 and exactly one stderr line that starts with `daemonscope: `; returns it.
fn assert_one_line_error(out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(2), "exit code; stderr: {stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line on stderr, got: {stderr}");
    let line = lines[0];
    assert!(line.starts_with("daemonscope: "), "{line}");
    for bad in ["panicked", "backtrace", "Error {", "Some(", "os error", "\\n"] {
        assert!(!line.contains(bad), "{bad:?} in {line}");
    }
    line.to_string()
}

fn kubeconfig(server: Option<&str>) -> String {
    let cluster = match server {
        Some(s) => format!("{{server: \"{s}\"}}"),
        None => "{}".to_string(),
    };
    format!(
        "apiVersion: v1\nkind: Config\ncurrent-context: a\nclusters:\n- name: c\n  cluster: {cluster}\n\
         contexts:\n- name: a\n  context: {{cluster: c, user: u}}\n- name: b\n  context: {{cluster: c, user: u}}\n\
         users:\n- name: u\n  user: {{token: very-secret-token}}\n"
    )
}

#[test]
fn missing_kubeconfig_file_is_one_line_exit_2() {
    let sb = Sandbox::new();
    let path = sb.path("nope.yaml");
    let line = assert_one_line_error(&sb.run(&["--kubeconfig", path.to_str().unwrap(), "snapshot"]));
    assert_eq!(line, format!("daemonscope: kubeconfig {}: file not found", path.display()));
}

#[test]
fn malformed_yaml_names_the_file() {
    let sb = Sandbox::new();
    let path = sb.write("bad.yaml", "apiVersion: v1\nclusters:\n  - name: [unclosed\n  cluster: {server: x\n");
    let line = assert_one_line_error(&sb.run(&["--kubeconfig", path.to_str().unwrap(), "check"]));
    assert!(line.starts_with(&format!("daemonscope: kubeconfig {}: invalid YAML at line ", path.display())), "{line}");
    assert!(!line.contains("unclosed"), "the excerpt may hold secrets: {line}");
}

#[test]
fn unknown_context_lists_available_contexts() {
    let sb = Sandbox::new();
    let path = sb.write("kc.yaml", &kubeconfig(Some("http://127.0.0.1:1")));
    let line =
        assert_one_line_error(&sb.run(&["--kubeconfig", path.to_str().unwrap(), "--context", "foo", "snapshot"]));
    assert_eq!(line, format!("daemonscope: context \"foo\" not found in {} (available: a, b)", path.display()));
}

#[test]
fn cluster_without_server_is_reported() {
    let sb = Sandbox::new();
    let path = sb.write("kc.yaml", &kubeconfig(None));
    let line = assert_one_line_error(&sb.run(&["--kubeconfig", path.to_str().unwrap(), "snapshot"]));
    assert_eq!(line, format!("daemonscope: cluster \"c\" of context \"a\" has no server URL in {}", path.display()));
}

#[test]
fn unreachable_server_fails_fast_with_exit_2_and_no_token() {
    let sb = Sandbox::new();
    let path = sb.write("kc.yaml", &kubeconfig(Some("http://127.0.0.1:1")));
    let out = sb.run(&["--kubeconfig", path.to_str().unwrap(), "snapshot", "-o", "json"]);
    let line = assert_one_line_error(&out);
    assert!(line.starts_with("daemonscope: cannot reach http://127.0.0.1:1: "), "{line}");
    assert!(line.ends_with("is the cluster up? (context a)"), "{line}");
    assert!(!line.contains("very-secret-token"));
    assert!(out.stdout.is_empty(), "nothing on stdout");
}

#[test]
fn kubeconfig_env_list_is_merged_like_kubectl() {
    // $KUBECONFIG lists a missing file first (skipped, as client-go does) and a real one.
    let sb = Sandbox::new();
    let path = sb.write("kc.yaml", &kubeconfig(Some("http://127.0.0.1:1")));
    let list = format!("{}:{}", sb.path("missing.yaml").display(), path.display());
    let out = sb.daemonscope().env("KUBECONFIG", list).args(["--context", "b", "check"]).output().expect("run");
    let line = assert_one_line_error(&out);
    assert!(line.contains("cannot reach http://127.0.0.1:1") && line.ends_with("(context b)"), "{line}");
}

#[test]
fn no_kubeconfig_anywhere_says_what_to_do() {
    let sb = Sandbox::new();
    let line = assert_one_line_error(&sb.run(&["snapshot"]));
    assert!(line.starts_with("daemonscope: no kubeconfig found"), "{line}");
    assert!(line.contains("--kubeconfig PATH or try --demo"), "{line}");
}

#[test]
fn invalid_log_level_is_a_usage_error() {
    let sb = Sandbox::new();
    let line = assert_one_line_error(&sb.run(&["--log-level", "loud", "snapshot"]));
    assert!(line.contains("invalid --log-level"), "{line}");
}

#[test]
fn help_lists_the_commands_and_exits_0() {
    let sb = Sandbox::new();
    let out = sb.run(&["--help"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    for word in ["snapshot", "check", "sim", "--demo", "--kubeconfig", "--context"] {
        assert!(text.contains(word), "{word} in --help:\n{text}");
    }
    let out = sb.run(&["check", "--help"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    for word in ["--ignore-ds", "--ignore-node-label", "--grace", "--timeout", "--fail-on", "--max-outdated-age"] {
        assert!(text.contains(word), "{word} in check --help:\n{text}");
    }
}

#[test]
fn sim_help_lists_only_the_simulators_flags() {
    let sb = Sandbox::new();
    let out = sb.run(&["sim", "--help"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    for word in ["--listen", "--scenario", "--seed", "--kubeconfig-out", "--tls", "--frozen", "--log-level"] {
        assert!(text.contains(word), "{word} in sim --help:\n{text}");
    }
    // UI and cluster flags mean nothing to the simulator.
    for word in ["--readonly", "--theme", "--context", "--ascii", "--demo", "--namespace", "--all-namespaces"] {
        assert!(!text.contains(word), "{word} in sim --help:\n{text}");
    }
    assert!(!text.contains("--kubeconfig <"), "--kubeconfig in sim --help:\n{text}");
    let out = sb.run(&["sim", "--readonly"]);
    assert_eq!(out.status.code(), Some(2), "sim --readonly is a usage error");
}

#[test]
fn snapshot_and_check_take_cluster_flags_before_or_after_their_name() {
    let sb = Sandbox::new();
    let path = sb.write("kc.yaml", &kubeconfig(Some("http://127.0.0.1:1")));
    let kc = path.to_str().unwrap();
    let want = format!("daemonscope: context \"foo\" not found in {} (available: a, b)", path.display());
    for args in [
        vec!["snapshot", "--kubeconfig", kc, "--context", "foo"],
        vec!["--kubeconfig", kc, "snapshot", "--context", "foo"],
        vec!["check", "--kubeconfig", kc, "--context", "foo"],
        // The flag after the subcommand's name wins over the one before it.
        vec!["--context", "b", "check", "--kubeconfig", kc, "--context", "foo"],
    ] {
        assert_eq!(assert_one_line_error(&sb.run(&args)), want, "{args:?}");
    }
    let out = sb.run(&["snapshot", "--help"]);
    let text = String::from_utf8_lossy(&out.stdout);
    for word in ["--kubeconfig", "--context", "--demo", "--theme", "--ascii", "--problems"] {
        assert!(text.contains(word), "{word} in snapshot --help:\n{text}");
    }
    assert!(!text.contains("--readonly"), "--readonly in snapshot --help:\n{text}");
}

/// Kill the child on every exit path of a test.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn sim_prints_its_address_and_writes_a_kubeconfig_kubectl_can_use() {
    let sb = Sandbox::new();
    let kc = sb.path("sim.kubeconfig");
    let child = sb
        .daemonscope()
        // --tls: kubectl (client-go) sends bearer tokens only over HTTPS.
        .args(["sim", "--listen", "127.0.0.1:0", "--scenario", "small", "--frozen", "--tls", "--kubeconfig-out"])
        .arg(&kc)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn sim");
    let mut child = Child(child);
    let stdout = child.0.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let mut seen = Vec::new();
    // The sim prints its address, then the kubeconfig path once it accepts requests.
    while let Some(Ok(line)) = lines.next() {
        seen.push(line.clone());
        if line.starts_with("kubeconfig: ") {
            break;
        }
    }
    let listening = seen.iter().find(|l| l.contains("listening on https://127.0.0.1:"));
    assert!(listening.is_some(), "address line in {seen:?}");
    assert!(seen.iter().any(|l| l == &format!("kubeconfig: {}", kc.display())), "{seen:?}");
    assert!(Path::new(&kc).is_file());

    let out = sb.kubectl(&kc).args(["get", "nodes", "-o", "name"]).output().expect("run kubectl");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "kubectl failed: {}", String::from_utf8_lossy(&out.stderr));
    assert!(text.lines().count() >= 1 && text.lines().all(|l| l.starts_with("node/")), "{text}");

    // SIGTERM shuts it down cleanly with exit code 0.
    let pid = child.0.id() as libc::pid_t;
    // SAFETY: kill(2) on the pid of a child we spawned and have not reaped.
    unsafe {
        libc::kill(pid, libc::SIGTERM);
    }
    let status = child.0.wait().expect("wait sim");
    assert_eq!(status.code(), Some(0), "sim exit after SIGTERM");
}

#[test]
fn logs_go_to_the_state_dir_and_never_hold_the_token() {
    let sb = Sandbox::new();
    let path = sb.write("kc.yaml", &kubeconfig(Some("http://127.0.0.1:1")));
    let state = sb.path("state-dir");
    let out = sb
        .daemonscope()
        .env("DAEMONSCOPE_STATE_DIR", &state)
        .args(["--log-level", "trace", "--kubeconfig", path.to_str().unwrap(), "check"])
        .output()
        .expect("run");
    assert_one_line_error(&out);
    let log = std::fs::read_to_string(state.join("logs").join("daemonscope.log")).expect("log file written");
    assert!(log.contains("cannot reach http://127.0.0.1:1"), "the error is logged too:\n{log}");
    assert!(!log.contains("very-secret-token"), "token in the log:\n{log}");
}

#[test]
fn check_rejects_an_unknown_fail_on_state_and_a_duration_without_unit() {
    let sb = Sandbox::new();
    let out = sb.run(&["check", "--fail-on", "missing,broken"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("unknown state \"broken\"") && stderr.contains("missing, failing, pending"), "{stderr}");
    let out = sb.run(&["check", "--max-outdated-age", "90"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("invalid duration \"90\""), "{stderr}");
}
