//! Sync benchmark (prints its figures; it asserts nothing): how long daemonscope takes to hold a
//! fully synced fleet index of the `large` scenario (5,000 nodes × 30 DaemonSets, ~150k pods)
//! through the real HTTP path, its peak RSS and the index's bytes per pod, side by side with
//! `kubectl get pods -A -o json` against the same simulator.
//!
//! Run: `cargo bench --bench sync`. The simulator runs as a separate process
//! (`daemonscope sim --scenario large --frozen --listen 127.0.0.1:0 --kubeconfig-out …`) so that
//! its memory is not counted as ours. The binary is found, in order, at `$DAEMONSCOPE_BIN`,
//! Cargo's `CARGO_BIN_EXE_daemonscope` (set when Cargo builds a bench), or next to this bench's
//! own executable (`target/<profile>/daemonscope`; build it with `cargo build --release` if
//! missing). Set `SYNC_BENCH_SCENARIO` to run another scenario (e.g. `mixed`, for a quick try).
//!
//! Figures:
//! - sync time: from creating the client to `Index::synced()` (every stream listed);
//! - peak RSS: VmHWM of this process (the tokio runtime, the client, the index);
//! - bytes per pod: `Index::heap_bytes() / pods`;
//! - kubectl: wall time and peak RSS (`wait4` rusage, which covers the bundled client the
//!   kubectl dispatcher runs) of `kubectl get pods -A -o json > /dev/null`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use daemonscope::cluster::watch::spawn_watches;
use daemonscope::fleet::model::{Change, FleetEvent};
use daemonscope::fleet::{CellState, Index};
use tokio_util::sync::CancellationToken;

/// How long the simulator may take to build the scenario and accept requests.
const SIM_START_TIMEOUT: Duration = Duration::from_secs(300);
/// How long a sync may take before we give up.
const SYNC_TIMEOUT: Duration = Duration::from_secs(300);

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` runs benches with no argument in
    // test mode, where we do nothing (a benchmark is not a test).
    if !std::env::args().any(|a| a == "--bench") {
        println!("sync: run with `cargo bench --bench sync`");
        return;
    }
    if let Err(e) = run() {
        eprintln!("sync benchmark failed: {e:#}");
        std::process::exit(1);
    }
}

fn daemonscope_bin() -> anyhow::Result<PathBuf> {
    if let Some(p) = std::env::var_os("DAEMONSCOPE_BIN") {
        return Ok(PathBuf::from(p));
    }
    if let Some(p) = option_env!("CARGO_BIN_EXE_daemonscope") {
        return Ok(PathBuf::from(p));
    }
    // target/<profile>/deps/sync-<hash> → target/<profile>/daemonscope
    let exe = std::env::current_exe().context("locating the bench executable")?;
    let profile_dir = exe.parent().and_then(Path::parent).context("bench executable has no target dir")?;
    let bin = profile_dir.join("daemonscope");
    if !bin.exists() {
        bail!("{} not found: run `cargo build --release` first or set DAEMONSCOPE_BIN", bin.display());
    }
    Ok(bin)
}

/// The simulator process; killed on drop.
struct Sim {
    child: Child,
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_sim(scenario: &str, kubeconfig: &Path) -> anyhow::Result<Sim> {
    let bin = daemonscope_bin()?;
    let child = Command::new(&bin)
        .args(["sim", "--scenario", scenario, "--frozen", "--listen", "127.0.0.1:0", "--kubeconfig-out"])
        .arg(kubeconfig)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("starting {} sim", bin.display()))?;
    let mut sim = Sim { child };
    let started = Instant::now();
    // The kubeconfig is written once the simulator accepts requests.
    while !kubeconfig.exists() {
        if let Some(status) = sim.child.try_wait()? {
            bail!("the simulator exited early ({status})");
        }
        if started.elapsed() > SIM_START_TIMEOUT {
            bail!("the simulator did not write {} within {:?}", kubeconfig.display(), SIM_START_TIMEOUT);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    // Let a partly written file settle.
    std::thread::sleep(Duration::from_millis(200));
    println!("simulator ready after {:.1} s (not counted)", started.elapsed().as_secs_f64());
    Ok(sim)
}

/// Peak resident set size of this process in bytes (VmHWM).
fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

struct SyncFigures {
    elapsed: Duration,
    events: u64,
    nodes: usize,
    daemonsets: usize,
    pods: u64,
    index_bytes: usize,
    peak_rss: Option<u64>,
    problems: u64,
}

async fn sync_index(kubeconfig: &Path) -> anyhow::Result<SyncFigures> {
    let started = Instant::now();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let kc = kube::config::Kubeconfig::read_from(kubeconfig).context("reading the simulator's kubeconfig")?;
    let config = kube::Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default())
        .await
        .context("kubeconfig → client config")?;
    let client = kube::Client::try_from(config).context("building the client")?;
    let (tx, mut rx) = tokio::sync::mpsc::channel(8192);
    let cancel = CancellationToken::new();
    let handles = spawn_watches(client, None, tx, cancel.clone());
    let mut index = Index::new();
    let mut events = 0u64;
    let deadline = tokio::time::Instant::now() + SYNC_TIMEOUT;
    while !index.synced() {
        let Ok(next) = tokio::time::timeout_at(deadline, rx.recv()).await else {
            bail!("not synced after {SYNC_TIMEOUT:?}");
        };
        let Some(ev) = next else { bail!("the watch streams ended before the index synced") };
        if let FleetEvent::Stream { kind, state, .. } = &ev {
            println!("  {:>7.2} s  {:<20} {state:?}", started.elapsed().as_secs_f64(), kind.plural());
        }
        if matches!(ev, FleetEvent::Pod(Change::InitItem(_) | Change::Apply(_))) {
            events += 1;
        }
        index.apply(ev);
    }
    let elapsed = started.elapsed();
    cancel.cancel();
    for h in handles {
        let _ = h.await;
    }
    let summary_pods = index.ds_ids().iter().map(|&d| index.pods_of(d).len() as u64).sum();
    let problems = index
        .ds_ids()
        .iter()
        .filter_map(|&d| index.ds(d))
        .map(|d| CellState::ALL.iter().filter(|s| s.is_problem()).map(|s| u64::from(d.counts[s.idx()])).sum::<u64>())
        .sum();
    Ok(SyncFigures {
        elapsed,
        events,
        nodes: index.node_ids().len(),
        daemonsets: index.ds_ids().len(),
        pods: summary_pods,
        index_bytes: index.heap_bytes(),
        peak_rss: peak_rss(),
        problems,
    })
}

struct KubectlFigures {
    elapsed: Duration,
    peak_rss: u64,
    ok: bool,
}

/// Run kubectl and reap it with `wait4`, whose rusage carries the peak RSS of the child and
/// of the bundled client it runs.
fn kubectl_get_pods(kubeconfig: &Path) -> anyhow::Result<KubectlFigures> {
    let started = Instant::now();
    let child = Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(["get", "pods", "-A", "-o", "json"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .context("starting kubectl")?;
    let pid = child.id() as libc::pid_t;
    let mut status: libc::c_int = 0;
    // SAFETY: rusage is plain data; wait4 fills it for our own child, which we have not reaped.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: valid pointers to locals; pid is our child.
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    if r != pid {
        bail!("wait4 on kubectl failed: {}", std::io::Error::last_os_error());
    }
    let elapsed = started.elapsed();
    let ok = libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
    // ru_maxrss is in kilobytes on Linux.
    Ok(KubectlFigures { elapsed, peak_rss: usage.ru_maxrss as u64 * 1024, ok })
}

fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / (1024.0 * 1024.0))
}

fn run() -> anyhow::Result<()> {
    let scenario = std::env::var("SYNC_BENCH_SCENARIO").unwrap_or_else(|_| "large".to_string());
    let dir = tempfile::tempdir().context("temp dir")?;
    let kubeconfig = dir.path().join("kubeconfig");
    println!("sync benchmark: scenario {scenario}");
    let _sim = start_sim(&scenario, &kubeconfig)?;

    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("tokio runtime")?;
    let ours = rt.block_on(sync_index(&kubeconfig))?;
    drop(rt);
    let pods = ours.pods.max(1);
    println!(
        "synced: {} nodes, {} daemonsets, {} daemon pods ({} pod events), {} problem cells",
        ours.nodes, ours.daemonsets, ours.pods, ours.events, ours.problems
    );

    let kubectl = kubectl_get_pods(&kubeconfig);
    println!();
    println!("{:<28} {:>14} {:>28} {:>8}", "", "daemonscope", "kubectl get pods -A -o json", "ratio");
    match &kubectl {
        Ok(k) => {
            let note = if k.ok { "" } else { "  (kubectl failed)" };
            println!(
                "{:<28} {:>12.2} s {:>26.2} s {:>7.1}x{note}",
                "time to all pods",
                ours.elapsed.as_secs_f64(),
                k.elapsed.as_secs_f64(),
                k.elapsed.as_secs_f64() / ours.elapsed.as_secs_f64().max(1e-9)
            );
            let ours_rss = ours.peak_rss.unwrap_or(0);
            println!(
                "{:<28} {:>14} {:>28} {:>7.1}x",
                "peak RSS",
                mb(ours_rss),
                mb(k.peak_rss),
                k.peak_rss as f64 / (ours_rss.max(1)) as f64
            );
        }
        Err(e) => {
            println!("{:<28} {:>12.2} s {:>28}", "time to all pods", ours.elapsed.as_secs_f64(), "n/a");
            println!("{:<28} {:>14} {:>28}", "peak RSS", mb(ours.peak_rss.unwrap_or(0)), "n/a");
            println!("kubectl: {e:#}");
        }
    }
    println!("{:<28} {:>14}", "index bytes (heap)", mb(ours.index_bytes as u64));
    println!("{:<28} {:>12} B   (target ≤ 300)", "index bytes per pod", ours.index_bytes as u64 / pods);
    println!("{:<28} {:>14}   (target ≤ 250 MB)", "peak RSS target", mb(ours.peak_rss.unwrap_or(0)));
    Ok(())
}
