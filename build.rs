//! Build facts for `daemonscope --version`: the git commit of the checkout and the Kubernetes API
//! version that k8s-openapi was built for. A bug report from a bastion then says exactly what ran.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rustc-env=DAEMONSCOPE_GIT_COMMIT={}", git_commit());
    let (api, openapi) = k8s_api_version();
    println!("cargo::rustc-env=DAEMONSCOPE_K8S_API={api}");
    println!("cargo::rustc-env=DAEMONSCOPE_K8S_OPENAPI={openapi}");
}

/// `git rev-parse --short=12 HEAD` in the crate's directory, or "unknown" outside a checkout (a
/// source archive, or no git installed). The build script reruns when HEAD moves: HEAD itself
/// changes on a checkout of another branch, the branch's ref file (or packed-refs) on a commit.
fn git_commit() -> String {
    let dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let Some(commit) = git(&dir, &["rev-parse", "--short=12", "HEAD"]) else {
        return "unknown".to_string();
    };
    let git_dir = git(&dir, &["rev-parse", "--git-dir"]).map(|d| dir.join(d));
    let common_dir = git(&dir, &["rev-parse", "--git-common-dir"]).map(|d| dir.join(d));
    let head_ref = git(&dir, &["symbolic-ref", "-q", "HEAD"]);
    let mut watched: Vec<PathBuf> = Vec::new();
    if let Some(git_dir) = &git_dir {
        watched.push(git_dir.join("HEAD"));
        if let Some(r) = &head_ref {
            // In a worktree a branch's ref lives in the common dir; in a plain checkout both are one.
            watched.push(git_dir.join(r));
        }
    }
    if let Some(common) = &common_dir {
        if let Some(r) = &head_ref {
            watched.push(common.join(r));
        }
        watched.push(common.join("packed-refs"));
    }
    // A path that does not exist would make cargo rerun this script on every build.
    for path in watched.iter().filter(|p| p.is_file()) {
        println!("cargo::rerun-if-changed={}", path.display());
    }
    commit
}

fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git").arg("-C").arg(dir).args(args).output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    let text = text.trim();
    (out.status.success() && !text.is_empty()).then(|| text.to_string())
}

/// The Kubernetes version k8s-openapi's enabled feature selects, as k8s-openapi itself reports it
/// to the build scripts of crates that depend on it: `DEP_K8S_OPENAPI_<crate version>_VERSION`
/// holds `0x00_MM_NN_00` for Kubernetes MM.NN (the crate's documented way to learn it at build
/// time). Returns ("1.37", "0.29.0"), or "unknown" for what cannot be read.
fn k8s_api_version() -> (String, String) {
    let unknown = || ("unknown".to_string(), "unknown".to_string());
    let found = std::env::vars().find_map(|(key, value)| {
        let crate_version = key.strip_prefix("DEP_K8S_OPENAPI_")?.strip_suffix("_VERSION")?.to_string();
        Some((crate_version, value))
    });
    let Some((crate_version, value)) = found else {
        return unknown();
    };
    match value.parse::<u32>() {
        Ok(v) => (format!("{}.{}", (v >> 16) & 0xff, (v >> 8) & 0xff), crate_version),
        Err(_) => unknown(),
    }
}
