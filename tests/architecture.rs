//! The direction of dependencies, checked on the source: `fleet` ← `cluster` ← `app` ← `ui`.
//! A scan of the code (comments left out) is enough to keep the house from sliding back: `ui`
//! never reaches the cluster, `app` never talks to an API server or spawns a task, `fleet`
//! imports nothing of ours, and the log pane and the log streams share one lower module of types
//! instead of importing each other.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("reading {}: {e}", d.display())) {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    assert!(!out.is_empty(), "no Rust files under {}", dir.display());
    out
}

/// The code lines of a file: line comments and doc comments dropped (they may name anything).
fn code_lines(path: &Path) -> Vec<(usize, String)> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    text.lines()
        .enumerate()
        .filter_map(|(i, l)| {
            let code = match l.find("//") {
                Some(at) if !l[..at].contains('"') => &l[..at],
                _ => l,
            };
            let code = code.trim();
            (!code.is_empty()).then(|| (i + 1, code.to_string()))
        })
        .collect()
}

/// Every (file:line, code) under `src/<module>` for which `bad` holds.
fn offenders(module: &str, bad: impl Fn(&str) -> bool) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join(module);
    let mut files = if root.is_dir() { rust_files(&root) } else { Vec::new() };
    let single = root.with_extension("rs");
    if single.is_file() {
        files.push(single);
    }
    let mut out = Vec::new();
    for f in files {
        for (n, line) in code_lines(&f) {
            if bad(&line) {
                out.push(format!("{}:{n}: {line}", f.display()));
            }
        }
    }
    out
}

/// A path to `module` of this crate in a line (`crate::cluster`, `daemonscope::cluster`).
fn names_module(line: &str, module: &str) -> bool {
    line.contains(&format!("crate::{module}")) || line.contains(&format!("daemonscope::{module}"))
}

#[test]
fn ui_does_not_import_cluster() {
    let bad = offenders("ui", |l| names_module(l, "cluster"));
    assert!(bad.is_empty(), "ui reaches the cluster layer:\n{}", bad.join("\n"));
}

#[test]
fn app_does_not_import_kube_or_spawn_tasks() {
    let bad = offenders("app", |l| {
        l.contains("kube::")
            || l.starts_with("use kube")
            || l.contains("tokio::spawn")
            || l.contains("spawn_blocking")
            || l.contains("thread::spawn")
            || l.contains("JoinHandle")
            || l.contains("CancellationToken")
    });
    assert!(bad.is_empty(), "app talks to a cluster or runs tasks itself:\n{}", bad.join("\n"));
}

#[test]
fn app_does_not_call_into_ui() {
    let bad = offenders("app", |l| names_module(l, "ui::"));
    assert!(bad.is_empty(), "app depends on ui (geometry and ages belong to state):\n{}", bad.join("\n"));
}

#[test]
fn fleet_imports_nothing_of_ours() {
    let bad = offenders("fleet", |l| {
        let mut rest = l;
        while let Some(at) = rest.find("crate::") {
            if !rest[at..].starts_with("crate::fleet") {
                return true;
            }
            rest = &rest[at + 7..];
        }
        l.contains("daemonscope::")
    });
    assert!(bad.is_empty(), "fleet imports another module of the crate:\n{}", bad.join("\n"));
}

#[test]
fn the_log_pane_and_the_log_streams_do_not_import_each_other() {
    let pane = offenders("logview", |l| names_module(l, "cluster"));
    assert!(pane.is_empty(), "logview imports cluster:\n{}", pane.join("\n"));
    let streams = offenders("cluster/logs", |l| names_module(l, "logview"));
    assert!(streams.is_empty(), "cluster::logs imports logview:\n{}", streams.join("\n"));
}

#[test]
fn the_library_forbids_unsafe_code() {
    let lib = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lib.rs")).expect("lib.rs");
    assert!(lib.contains("#![forbid(unsafe_code)]"), "src/lib.rs must forbid unsafe code");
}

#[test]
fn the_scan_finds_what_it_looks_for() {
    // The checks above pass vacuously if the scan reads nothing: prove it sees real imports.
    let seen = offenders("app", |l| names_module(l, "cluster"));
    assert!(!seen.is_empty(), "app does import cluster types; the scan must see them");
    let seen = offenders("cluster", |l| l.contains("kube::"));
    assert!(!seen.is_empty(), "cluster uses kube; the scan must see it");
}
