//! `--version` of both binaries, against what git and cargo say independently: the crate version
//! from Cargo.toml, the commit from `git rev-parse`, and the Kubernetes API version from the
//! k8s-openapi feature that cargo's resolver enabled (`cargo tree -e features`).

mod common;

use std::process::Command;

use common::sandbox::Sandbox;

const KUBECTL_PLUGIN: &str = env!("CARGO_BIN_EXE_kubectl-daemonscope");

/// The commit git names for this checkout, or "unknown" when this is not one.
fn git_commit() -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(env!("CARGO_MANIFEST_DIR"))
        .args(["rev-parse", "--short=12", "HEAD"])
        .output();
    match out {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout).trim().to_string(),
        _ => "unknown".to_string(),
    }
}

/// "1.NN (k8s-openapi X.Y.Z)" from cargo's own feature resolution: the `v1_NN` feature enabled
/// on k8s-openapi (through `latest` or directly) and the version cargo resolved.
fn k8s_api_from_cargo() -> String {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["tree", "--offline", "-e", "features", "-i", "k8s-openapi", "--prefix", "none", "--depth", "0"])
        .args(["-f", "{p} {f}"])
        .output()
        .expect("run cargo tree");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "cargo tree failed: {}", String::from_utf8_lossy(&out.stderr));
    // "k8s-openapi v0.29.0 default,latest,std,v1_37"
    let line =
        text.lines().find(|l| l.starts_with("k8s-openapi v")).unwrap_or_else(|| panic!("no k8s-openapi in {text}"));
    let mut words = line.split_whitespace();
    let version = words.nth(1).and_then(|v| v.strip_prefix('v')).expect("k8s-openapi's version");
    let features = words.next().unwrap_or("");
    let minors: Vec<&str> = features.split(',').filter_map(|f| f.strip_prefix("v1_")).collect();
    assert_eq!(minors.len(), 1, "exactly one v1_NN feature of k8s-openapi is enabled: {features}");
    format!("1.{} (k8s-openapi {version})", minors[0])
}

fn expected() -> String {
    format!(
        "daemonscope {}\ncommit {}\nbuilt against Kubernetes API {}\n",
        env!("CARGO_PKG_VERSION"),
        git_commit(),
        k8s_api_from_cargo()
    )
}

fn version_of(bin: &str, flag: &str) -> String {
    let out = Sandbox::new().binary(bin).arg(flag).output().expect("run the binary");
    assert_eq!(out.status.code(), Some(0), "{bin} {flag}: {}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stderr.is_empty(), "nothing on stderr: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("UTF-8 version text")
}

#[test]
fn version_names_the_release_the_commit_and_the_kubernetes_api() {
    let want = expected();
    assert_eq!(version_of(common::sandbox::BIN, "--version"), want);
    assert_eq!(version_of(common::sandbox::BIN, "-V"), want);
}

#[test]
fn the_kubectl_plugin_says_the_same() {
    let want = expected();
    assert_eq!(version_of(KUBECTL_PLUGIN, "--version"), want);
}
