//! The program's edge: parse the CLI, set up logging to a file, build the runtime, and dispatch
//! to the UI, the simulator, `snapshot` or `check`. Everything that can fail ends here as one
//! line on stderr (`daemonscope: …`) and an exit code: 0 ok, 1 problems found (`check`),
//! 2 errors. Nothing below this module prints to the terminal on its own.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use clap::Parser;
use tracing::level_filters::LevelFilter;

use crate::cli::{Cli, ClusterArgs, Command, SimArgs, SourceArgs};
use crate::cluster::client::{self, Target};
use crate::config::{Config, Paths};
use crate::headless::doctor;
use crate::sim::{self, SimOptions};
use crate::theme::ThemeSet;

/// Exit codes.
pub const EXIT_OK: i32 = 0;
pub const EXIT_PROBLEMS: i32 = 1;
pub const EXIT_ERROR: i32 = 2;

/// A failure reported as one line.
#[derive(Debug)]
pub struct Failure(String);

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Failure {
    fn from_error(e: &dyn std::fmt::Display) -> Failure {
        Failure(client::one_line(&e.to_string()))
    }
}

impl From<client::ClientError> for Failure {
    fn from(e: client::ClientError) -> Failure {
        Failure::from_error(&e)
    }
}

impl From<crate::headless::HeadlessError> for Failure {
    fn from(e: crate::headless::HeadlessError) -> Failure {
        Failure::from_error(&e)
    }
}

/// The process's entry point (both binaries call this). Returns the exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // clap prints help and version on stdout (exit 0) and usage errors on stderr (2).
            let _ = e.print();
            return e.exit_code();
        }
    };
    let level = match LevelFilter::from_str(&cli.log_level) {
        Ok(level) => level,
        Err(_) => {
            eprintln!(
                "daemonscope: invalid --log-level \"{}\": use error, warn, info, debug, trace or off",
                cli.log_level
            );
            return EXIT_ERROR;
        }
    };
    let log_file = init_tracing(level);
    install_panic_hook(log_file.clone());
    // rustls needs one process-wide crypto provider before any TLS (kube's client, the
    // simulator's --tls). A second install returns Err, which is fine.
    let _ = rustls::crypto::ring::default_provider().install_default();

    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("daemonscope: cannot start the async runtime: {e}");
            return EXIT_ERROR;
        }
    };
    tracing::info!(version = env!("CARGO_PKG_VERSION"), commit = env!("DAEMONSCOPE_GIT_COMMIT"), command = ?cli.command.as_ref().map(command_name), "start");
    let code = match runtime.block_on(dispatch(cli)) {
        Ok(code) => code,
        Err(failure) => {
            tracing::error!(error = %failure, "exit with error");
            eprintln!("daemonscope: {failure}");
            EXIT_ERROR
        }
    };
    // Do not wait for watch tasks blocked on a slow server: the answer is already printed.
    runtime.shutdown_timeout(std::time::Duration::from_millis(500));
    code
}

fn command_name(c: &Command) -> &'static str {
    match c {
        Command::Sim(_) => "sim",
        Command::Snapshot { .. } => "snapshot",
        Command::Check { .. } => "check",
        Command::Record { .. } => "record",
        Command::Doctor { .. } => "doctor",
    }
}

async fn dispatch(cli: Cli) -> Result<i32, Failure> {
    match cli.command.clone() {
        Some(Command::Sim(args)) => run_sim(args).await,
        Some(Command::Snapshot { args, look, source }) => {
            let look = cli.look(&look);
            let themes = ThemeSet::load(Paths::discover().map(|p| p.themes_dir()).as_deref()).0;
            let theme = choose_theme(&themes, look.theme.as_deref())?;
            let (target, _sim) = target_for(&cli.source(&source)).await?;
            let glyphs = themes.get(theme).glyph_set(look.ascii);
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            headless_result(
                crate::headless::snapshot(&target, &args, glyphs, look.ascii, &mut out, &mut std::io::stderr()).await,
            )
        }
        Some(Command::Check { args, source }) => {
            let (target, _sim) = target_for(&cli.source(&source)).await?;
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            headless_result(crate::headless::check(&target, &args, &mut out, &mut std::io::stderr()).await)
        }
        Some(Command::Record { dir, strip, source }) => {
            let (target, _sim) = target_for(&cli.source(&source)).await?;
            let recorded = crate::headless::record::record(&target, &dir, strip).await.map_err(|e| {
                Failure(format!("recording context {}: {}", target.context, client::one_line(&e.to_string())))
            })?;
            let mut out = std::io::stdout().lock();
            for (path, n) in &recorded.files {
                let _ = writeln!(out, "{n:>6}  {}", path.display());
            }
            let _ = writeln!(out, "replay with: daemonscope --demo {}", dir.display());
            Ok(EXIT_OK)
        }
        Some(Command::Doctor { source }) => {
            let source = cli.source(&source);
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            let written = match &source.demo {
                Some(scenario) => {
                    let handle = start_demo(scenario).await?;
                    let yaml = handle.kubeconfig_yaml();
                    let demo = doctor::Source::Demo { yaml: &yaml, args: &source.cluster };
                    let written = doctor::doctor(demo, &mut out).await;
                    stop_sim(handle).await;
                    written
                }
                None => doctor::doctor(doctor::Source::Args(&source.cluster), &mut out).await,
            };
            match written {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(Failure(format!("writing output: {e}"))),
                Err(_) => Ok(EXIT_OK),
                Ok(code) => Ok(code),
            }
        }
        None => run_ui(&cli).await,
    }
}

/// `--theme` for headless output: only its glyphs matter, and `NO_COLOR` changes nothing
/// (there is no colour in headless output).
fn choose_theme(themes: &ThemeSet, flag: Option<&str>) -> Result<usize, Failure> {
    crate::theme::choose(themes, flag, None, false).map_err(|e| Failure(format!("--theme: {e}")))
}

/// A closed pipe (`daemonscope snapshot | head`) is not an error worth a message.
fn headless_result(r: Result<i32, crate::headless::HeadlessError>) -> Result<i32, Failure> {
    match r {
        Err(crate::headless::HeadlessError::Output(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(EXIT_OK),
        other => Ok(other?),
    }
}

/// The cluster to talk to: the embedded simulator for `--demo`, else the user's kubeconfig.
/// The simulator handle must outlive the target (dropping it stops the server).
async fn target_for(source: &SourceArgs) -> Result<(Target, Option<sim::SimHandle>), Failure> {
    match &source.demo {
        Some(scenario) => {
            let (target, handle) = demo_target(scenario, &source.cluster).await?;
            Ok((target, Some(handle)))
        }
        None => Ok((client::connect(&source.cluster).await?, None)),
    }
}

/// Start the simulator in-process on a free loopback port and connect to it through kube
/// over HTTP, with the kubeconfig it generates: the same path a real cluster takes.
/// A SCENARIO that names a directory or a `.json` file is a recording, replayed as recorded.
pub async fn demo_target(scenario: &str, cluster: &ClusterArgs) -> Result<(Target, sim::SimHandle), Failure> {
    let handle = start_demo(scenario).await?;
    let yaml = handle.kubeconfig_yaml();
    let args = ClusterArgs { kubeconfig: None, ..cluster.clone() };
    let target = client::connect_yaml(&yaml, "the demo cluster's kubeconfig", &args).await?;
    Ok((target, handle))
}

/// The simulator of `--demo SCENARIO` on a free loopback port (not yet connected to).
async fn start_demo(scenario: &str) -> Result<sim::SimHandle, Failure> {
    let replay = is_recording(Path::new(scenario)).then(|| PathBuf::from(scenario));
    let what = if replay.is_some() { "recording" } else { "scenario" };
    let options = SimOptions { scenario: scenario.to_string(), replay, ..SimOptions::default() };
    sim::start(options).await.map_err(|e| {
        Failure(format!("cannot start the demo cluster ({what} {scenario}): {}", client::one_line(&format!("{e:#}"))))
    })
}

/// `--demo PATH` replays PATH when it is a directory or a `.json` file (scenario files are TOML).
pub fn is_recording(path: &Path) -> bool {
    path.is_dir() || (path.extension().is_some_and(|x| x == "json") && path.is_file())
}

/// `daemonscope sim`: serve until Ctrl-C or SIGTERM, then shut down cleanly.
async fn run_sim(args: SimArgs) -> Result<i32, Failure> {
    if !args.listen.ip().is_loopback() {
        return Err(Failure(format!(
            "--listen {}: the simulator serves on loopback only (127.0.0.1 or ::1)",
            args.listen
        )));
    }
    let scenario = match &args.replay {
        Some(path) => format!("replay of {}", path.display()),
        None => format!("scenario {} (seed {})", args.scenario, args.seed),
    };
    let options = SimOptions {
        listen: args.listen,
        scenario: args.scenario.clone(),
        seed: args.seed,
        tls: args.tls,
        frozen: args.frozen,
        churn: args.churn,
        kubeconfig_out: args.kubeconfig_out.clone(),
        replay: args.replay.clone(),
        replay_live: args.replay_live,
    };
    let handle = sim::start(options)
        .await
        .map_err(|e| Failure(format!("cannot start the simulator: {}", client::one_line(&format!("{e:#}")))))?;
    if let Some(ms) = args.fault_latency_ms {
        handle.faults.set_latency(std::time::Duration::from_millis(ms));
    }
    if let Some(ms) = args.fault_bookmark_period_ms {
        handle.faults.set_bookmark_period(std::time::Duration::from_millis(ms));
    }
    let server = handle.url.clone();
    // `sim::start` wrote --kubeconfig-out once the server accepted connections; without it
    // the kubeconfig goes to the state dir, named by port so several simulators can coexist.
    let path = match &args.kubeconfig_out {
        Some(path) => path.clone(),
        None => {
            let dir = state_dir().ok_or_else(|| {
                Failure("no state directory to write the kubeconfig to; pass --kubeconfig-out PATH".into())
            })?;
            let path = dir.join(format!("sim-{}.kubeconfig", handle.addr.port()));
            handle.write_kubeconfig(&path).map_err(|e| Failure(client::one_line(&format!("{e:#}"))))?;
            path
        }
    };
    tracing::info!(%server, kubeconfig = %path.display(), %scenario, "simulator listening");
    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "daemonscope sim: {scenario} listening on {server}");
        let _ = writeln!(out, "kubeconfig: {}", path.display());
        if args.tls {
            let _ = writeln!(out, "try: kubectl --kubeconfig {} get nodes,daemonsets -A", path.display());
        } else {
            // kubectl (client-go) never sends a bearer token over plain HTTP, so it gets 401
            // here; kube-rs does send it. Say so instead of suggesting a command that fails.
            let _ = writeln!(out, "try: daemonscope --kubeconfig {}", path.display());
            let _ = writeln!(out, "note: kubectl sends tokens only over HTTPS; start with --tls to use kubectl");
        }
        let _ = writeln!(
            out,
            "faults: POST {server}{}NAME with the kubeconfig's full token (GET {server}{} lists them)",
            sim::api::control::PREFIX,
            sim::api::control::PATH
        );
        let _ = writeln!(out, "stop with Ctrl-C");
        let _ = out.flush();
    }
    shutdown_signal().await;
    tracing::info!("simulator shutting down");
    stop_sim(handle).await;
    Ok(EXIT_OK)
}

/// Ctrl-C or SIGTERM, whichever comes first.
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// The default command: the full-screen UI.
async fn run_ui(cli: &Cli) -> Result<i32, Failure> {
    // Read the config before connecting: a typo in config.toml should not cost a round trip.
    let (config, paths) = Config::load_default().map_err(|e| Failure::from_error(&e))?;
    // `ui_target` fills the session: the remembered context/namespace (they decide where to
    // connect when no flag does) and the kubeconfig the context picker switches with.
    let mut session = crate::shell::SessionOptions::default();
    let (target, sim_handle) = ui_target(cli, paths.as_ref(), &mut session).await?;
    let options = crate::shell::UiOptions {
        target,
        readonly: cli.readonly,
        theme: cli.theme.clone(),
        ascii: cli.ascii || config.ascii,
        config,
        themes_dir: paths.map(|p| p.themes_dir()),
        session,
        state_dir: state_dir(),
    };
    let result = crate::shell::run_ui(options).await;
    if let Some(handle) = sim_handle {
        stop_sim(handle).await;
    }
    result.map(|exit| exit.code()).map_err(|e| Failure::from_error(&e))
}

/// Stop a simulator whose process is about to exit. Its server and controllers are stopped
/// cleanly, but the store is deliberately leaked: freeing `large`'s 150k objects one by one takes
/// ~15 s (measured) after the user has already quit, and the kernel reclaims it all at exit.
async fn stop_sim(handle: crate::sim::SimHandle) {
    let store = handle.store.clone();
    handle.shutdown().await;
    std::mem::forget(store);
}

/// Where the simulator's kubeconfigs and remembered UI state go (`config::Paths`: XDG state
/// dir on Linux, the local data dir elsewhere, `DAEMONSCOPE_STATE_DIR` when set). Created on
/// demand.
pub fn state_dir() -> Option<PathBuf> {
    let dir = Paths::discover()?.state_dir;
    crate::config::create_private_dir(&dir).ok()?;
    Some(dir)
}

/// Log files above this size are rotated to `daemonscope.log.1` at start.
const LOG_ROTATE_BYTES: u64 = 10 * 1024 * 1024;

/// Send `tracing` to `daemonscope.log` in the state dir, never to the terminal (the UI owns
/// it): `<state dir>/logs/daemonscope.log`. Without a writable state dir there is no log; that is not worth failing for.
fn init_tracing(level: LevelFilter) -> Option<PathBuf> {
    let paths = Paths::discover()?;
    crate::config::create_private_dir(&paths.state_dir).ok()?;
    let dir = paths.log_dir;
    crate::config::create_private_dir(&dir).ok()?;
    let path = dir.join("daemonscope.log");
    rotate(&path);
    let file = crate::config::private_file(&path).ok()?;
    // Our own code at the chosen level; the HTTP and TLS stacks only warn, or they drown it.
    // (A default directive only applies when no directive is given, so the level goes first.)
    // kube_client logs raw HTTP headers at trace: capped at debug so no header is ever logged.
    let kube_level = std::cmp::min(level, LevelFilter::DEBUG);
    let filter = tracing_subscriber::EnvFilter::builder().parse_lossy(format!(
        "{level},kube_client={kube_level},hyper=warn,hyper_util=warn,h2=warn,rustls=warn,tower=warn"
    ));
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::sync::Mutex::new(file))
        .with_ansi(false)
        .with_target(true)
        .finish();
    tracing::subscriber::set_global_default(subscriber).ok()?;
    Some(path)
}

fn rotate(path: &Path) {
    if std::fs::metadata(path).is_ok_and(|m| m.len() > LOG_ROTATE_BYTES) {
        let _ = std::fs::rename(path, path.with_extension("log.1"));
    }
}

/// A panic is a bug: say so in one line (the details go to the log), never a backtrace
/// dump on an SRE's terminal. The UI adds its own hook in front to restore the terminal.
fn install_panic_hook(log_file: Option<PathBuf>) {
    std::panic::set_hook(Box::new(move |info| {
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_string());
        let location = info.location().map(|l| format!(" at {}:{}", l.file(), l.line())).unwrap_or_default();
        tracing::error!(panic = %msg, location = %location, "panic");
        // Caught by a watch task's supervisor, which shows it as a stream error and restarts:
        // a line on stderr would be drawn over the UI.
        if crate::cluster::watch::panic_is_supervised() {
            return;
        }
        let log = log_file.as_ref().map(|p| format!("; log: {}", p.display())).unwrap_or_default();
        eprintln!("daemonscope: internal error: {}{location} (please report it{log})", client::one_line(&msg));
    }));
}

/// Connect for the UI. Like kubectl and the headless commands: `--context` > the kubeconfig's
/// current-context (the remembered context, `<state dir>/state.toml`, is only the context
/// picker's default); `-n` > `-A` > the remembered namespace when remembered with this
/// context > all namespaces (`app::persist`). `session` gets the kubeconfig the context
/// picker switches with and the state store. With `--demo` the
/// remembered context/namespace are neither used nor overwritten (they belong to the real
/// kubeconfig).
async fn ui_target(
    cli: &Cli,
    paths: Option<&Paths>,
    session: &mut crate::shell::SessionOptions,
) -> Result<(Target, Option<sim::SimHandle>), Failure> {
    use crate::app::persist::{self, Store};
    use crate::cluster::executor::KubeSource;
    let mut store = paths.map(|p| Store::in_dir(&p.state_dir));
    if let Some(store) = &mut store {
        let (state, warning) = store.load();
        session.remembered = state;
        session.warnings.extend(warning);
    }
    session.store = store;
    if let Some(scenario) = &cli.demo {
        let (target, handle) = demo_target(scenario, &cli.cluster).await?;
        let args = ClusterArgs { kubeconfig: None, ..cli.cluster.clone() };
        let name = "the demo cluster's kubeconfig".to_string();
        session.source = Some(KubeSource::Yaml { yaml: handle.kubeconfig_yaml(), name, args });
        session.keep_remembered_target = true;
        return Ok((target, Some(handle)));
    }
    // No kubeconfig (in-cluster config): nothing to pick from and nothing remembered applies.
    let contexts = client::list_contexts(&cli.cluster).ok();
    let args = persist::start_args(&cli.cluster, &session.remembered, contexts.as_deref().unwrap_or(&[]));
    if contexts.is_some() {
        session.source = Some(KubeSource::Args(cli.cluster.clone()));
    }
    let target = match client::connect(&args).await {
        Ok(target) => target,
        // A remembered namespace that is gone: all namespaces, with a warning.
        Err(client::ClientError::NamespaceNotFound { namespace, .. }) if cli.cluster.namespace.is_none() => {
            session.warnings.push(format!("the last namespace {namespace:?} no longer exists; showing all namespaces"));
            client::connect(&ClusterArgs { namespace: None, ..args }).await?
        }
        Err(e) => return Err(e.into()),
    };
    Ok((target, None))
}
