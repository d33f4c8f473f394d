//! The imperative shell around the pure app: the event loop, the one task that owns [`App`],
//! beside the cluster [`Executor`] that carries
//! out its effects. It waits on terminal input, the executor's reports, a one-second tick and
//! termination signals with `tokio::select!`, feeds each to `update`, hands the returned effects
//! to the executor (or, for local files, writes them itself), and renders when something
//! changed — at most `fps` times a second and never when nothing did (idle CPU ≈ 0).
//!
//! It also owns the terminal: raw mode and the alternate screen are entered by
//! [`TerminalGuard`] and restored by its `Drop` and by a panic hook, so every exit path (quit,
//! Ctrl-C, SIGTERM, SIGINT, error return, panic) gives the terminal back.

use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crossterm::event::{Event, EventStream};
use crossterm::{cursor, execute, terminal};
use futures::{Stream, StreamExt};
use ratatui::Terminal;
use ratatui::backend::{Backend, CrosstermBackend};
use tokio::time::Instant;

use crate::app::msg::{Effect, Msg};
use crate::app::persist::{State, Store};
use crate::app::{App, AppOptions, update};
use crate::cluster::executor::{Executor, ExecutorOptions};
use crate::config::Config;
use crate::fleet::Index;
use crate::theme::{self, ThemeSet};

pub use crate::cluster::executor::{FLEET_CHANNEL, KubeSource};

/// What `run_ui` needs from the CLI glue.
pub struct UiOptions {
    /// The connected first context.
    pub target: crate::cluster::client::Target,
    pub readonly: bool,
    /// `--theme`.
    pub theme: Option<String>,
    /// `--ascii`.
    pub ascii: bool,
    pub config: Config,
    /// `<config dir>/themes` for user themes, if there is a config dir.
    pub themes_dir: Option<PathBuf>,
    /// Context switching and remembered state.
    pub session: SessionOptions,
    /// The state dir (`config::Paths`): audit log, saved log buffers.
    pub state_dir: Option<PathBuf>,
}

/// How the UI switches contexts and remembers its settings.
#[derive(Clone, Default)]
pub struct SessionOptions {
    /// `None`: no kubeconfig to switch contexts with (in-cluster config).
    pub source: Option<KubeSource>,
    /// `None`: no state dir; nothing is remembered.
    pub store: Option<Store>,
    /// What was loaded from the state file at start.
    pub remembered: State,
    /// `--demo`: keep the remembered context/namespace instead of saving the demo's.
    pub keep_remembered_target: bool,
    /// Warnings from choosing the start context/namespace and loading the state file.
    pub warnings: Vec<String>,
}

/// Build the [`App`] settings from the UI options and the environment (`NO_COLOR`).
pub fn app_options(opts: &UiOptions) -> anyhow::Result<AppOptions> {
    let (themes, mut warnings) = ThemeSet::load(opts.themes_dir.as_deref());
    // no-color.org: "when present and not an empty string".
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let theme = match theme::choose(&themes, opts.theme.as_deref(), opts.config.theme.as_deref(), no_color) {
        Ok(i) => i,
        // A bad --theme is a usage error; a bad config theme is a warning.
        Err(e) if opts.theme.is_some() => anyhow::bail!("--theme: {e}"),
        Err(e) => {
            warnings.push(format!("config.toml theme: {e}"));
            themes.position("default").unwrap_or(0)
        }
    };
    Ok(AppOptions {
        context: opts.target.context.clone(),
        namespace: opts.target.namespace.clone(),
        readonly: opts.readonly,
        config: opts.config.clone(),
        themes,
        theme,
        ascii: opts.ascii,
        warnings,
    })
}

/// The UI entry point: start the first cluster session, take the terminal, run until quit.
/// Returns how it ended; the terminal is restored before this returns, and the executor (every
/// watch, stream and running task) is dropped, which cancels them.
pub async fn run_ui(opts: UiOptions) -> anyhow::Result<Exit> {
    let mut app_opts = app_options(&opts)?;
    let fps = opts.config.fps;
    app_opts.warnings.extend(opts.session.warnings.iter().cloned());
    let mut app = App::new(Index::new(), app_opts);
    let theme_fixed = opts.theme.is_some() || std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    crate::app::persist::apply_settings(&mut app, &opts.session.remembered, theme_fixed);
    let executor = Executor::start(
        opts.target,
        ExecutorOptions {
            source: opts.session.source.clone(),
            readonly: opts.readonly,
            audit_path: opts.state_dir.as_ref().map(|d| d.join("audit.jsonl")),
        },
    );
    let shell = Shell {
        executor,
        state_dir: opts.state_dir,
        store: opts.session.store,
        keep_target: opts.session.keep_remembered_target.then_some(opts.session.remembered),
    };
    let result = {
        let _guard = TerminalGuard::enter()?;
        let backend = CrosstermBackend::new(io::stdout());
        let mut terminal = Terminal::new(backend)?;
        terminal.clear()?;
        let input = EventStream::new();
        run_loop(&mut terminal, app, input, shell, fps).await
        // `_guard` drops here: the terminal is restored before we report anything.
    };
    // The executor (and with it every watch task) was dropped when the loop returned.
    let exit = result.map(|(_, exit)| exit);
    // Actions still waiting for the server's answer get an `interrupted` audit line, whatever
    // ended the loop: the audit never stops at a bare intent.
    let why = match &exit {
        Ok(Exit::Signal(1)) => "SIGHUP (the terminal or SSH session went away)".to_string(),
        Ok(Exit::Signal(15)) => "SIGTERM".to_string(),
        Ok(Exit::Signal(2)) => "SIGINT".to_string(),
        Ok(Exit::Signal(n)) => format!("signal {n}"),
        Ok(Exit::Panic) => "an internal error (panic)".to_string(),
        Ok(Exit::InputClosed) => "the terminal's input closed".to_string(),
        Ok(Exit::Quit) => "quit".to_string(),
        Err(e) => format!("error: {e}"),
    };
    let interrupted = crate::cluster::actions::audit::interrupt_all(&why);
    if interrupted > 0 {
        tracing::warn!(actions = interrupted, reason = %why, "actions in flight at exit: audit lines say interrupted");
    }
    let exit = exit?;
    match exit {
        Exit::Quit => tracing::info!("quit"),
        Exit::Signal(n) => {
            tracing::warn!(signal = n, "exit on a signal: the terminal was restored, background work cancelled")
        }
        Exit::InputClosed => tracing::warn!("exit: the terminal's input closed"),
        Exit::Panic => tracing::error!("exit after a panic in a background task: the terminal was restored"),
    }
    Ok(exit)
}

/// Why the loop ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    Quit,
    /// SIGHUP (1), SIGINT (2) or SIGTERM (15): the process exits with 128 + the number, as a
    /// shell reports a process killed by it.
    Signal(i32),
    /// The input stream ended (the terminal went away).
    InputClosed,
    /// A task other than a supervised watch panicked (a bug): the hook restored the terminal
    /// and wrote the one-line reason; the loop stops drawing and the process exits 70
    /// (`EX_SOFTWARE`).
    Panic,
}

impl Exit {
    /// The process exit status for this ending: 0 for a quit, non-zero otherwise.
    pub fn code(self) -> i32 {
        match self {
            Exit::Quit => 0,
            Exit::Signal(n) => 128 + n,
            Exit::InputClosed => 1,
            Exit::Panic => 70,
        }
    }
}

/// The imperative shell around `update`: the cluster executor, and the local files effects
/// may write (saved log buffers, remembered settings).
pub struct Shell {
    pub executor: Executor,
    /// Where saved log buffers go (`<state dir>/logs`).
    pub state_dir: Option<PathBuf>,
    /// Remembered settings; `None`: nothing is remembered.
    pub store: Option<Store>,
    /// `--demo`: the remembered context/namespace kept instead of the app's.
    pub keep_target: Option<State>,
}

impl From<Executor> for Shell {
    fn from(executor: Executor) -> Shell {
        Shell { executor, state_dir: None, store: None, keep_target: None }
    }
}

impl From<tokio::sync::mpsc::Receiver<crate::fleet::FleetEvent>> for Shell {
    /// A shell fed by someone else's channel (tests, benchmarks): nothing can reach a cluster.
    fn from(rx: tokio::sync::mpsc::Receiver<crate::fleet::FleetEvent>) -> Shell {
        Shell::from(Executor::detached(rx))
    }
}

impl Shell {
    /// Tell `app` which session it belongs to (the loop's first message).
    pub fn attach(&mut self, app: &mut App) {
        if let Some(info) = self.executor.current().cloned() {
            let report = crate::cluster::executor::Report::Connected { info, warning: None };
            let effects = update(app, Msg::Cluster(report));
            self.carry_out(app, effects);
        }
    }

    /// Carry out effects; returns `true` when one of them is `Quit`. Results come back through
    /// [`Shell::next`] (cluster work) or right away through `update` (local files).
    pub fn carry_out(&mut self, app: &mut App, effects: Vec<Effect>) -> bool {
        let mut quit = false;
        for effect in effects {
            match effect {
                Effect::Quit => quit = true,
                Effect::Cluster(command) => self.executor.run(command),
                Effect::SaveLogs { stream, request } => {
                    let dir = self.state_dir.clone().or_else(|| crate::config::Paths::discover().map(|p| p.state_dir));
                    let result = match dir {
                        Some(dir) => request.write_in(&dir).map_err(|e| e.to_string()),
                        None => Err("no state directory (no home directory)".to_string()),
                    };
                    let more = update(app, Msg::LogsSaved { stream, result });
                    quit |= self.carry_out(app, more);
                }
            }
        }
        quit
    }

    /// The next report of the executor, as a message.
    pub async fn next(&mut self, log_lines: usize) -> Msg {
        Msg::Cluster(self.executor.next(log_lines).await)
    }

    /// Apply one message and carry out what it asks for, as the loop does; `true` on quit.
    pub fn feed(&mut self, app: &mut App, msg: Msg) -> bool {
        let effects = update(app, msg);
        let quit = self.carry_out(app, effects);
        self.remember(app);
        quit
    }

    /// Drive `app` without a terminal (tests, tools): apply the next report, or nothing if none
    /// comes within `wait`, then a tick. `true` on quit.
    pub async fn step(&mut self, app: &mut App, wait: Duration) -> bool {
        let msg = tokio::time::timeout(wait, self.next(crate::app::logs::LINES_PER_FRAME)).await;
        let quit = msg.is_ok_and(|m| self.feed(app, m));
        quit | self.feed(app, Msg::Tick(unix_now()))
    }

    /// Write the remembered settings if they changed.
    pub fn remember(&mut self, app: &mut App) {
        let Some(store) = &mut self.store else { return };
        let state = State::of(app, self.keep_target.as_ref());
        if let Err(e) = store.save_if_changed(&state) {
            tracing::warn!(error = %e, "saving UI state");
            update(app, Msg::Notice { text: e, level: crate::app::msg::Level::Warn });
        }
    }
}

/// The loop itself, generic over the terminal backend and the input stream so tests and the
/// benchmark can drive the real thing. Returns the final [`App`] and why it stopped.
pub async fn run_loop<B, I>(
    terminal: &mut Terminal<B>,
    mut app: App,
    mut input: I,
    shell: impl Into<Shell>,
    fps: u32,
) -> anyhow::Result<(App, Exit)>
where
    B: Backend,
    I: Stream<Item = io::Result<Event>> + Unpin,
{
    let mut shell: Shell = shell.into();
    let frame = Duration::from_secs(1) / fps.clamp(1, 120);
    let mut next_frame = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut sigterm = signals::Term::new()?;
    let mut fatal = panicked().subscribe();
    let size = terminal.size()?;
    update(&mut app, Msg::Resize(size.width, size.height));
    update(&mut app, Msg::Tick(unix_now()));
    shell.attach(&mut app);
    // Log lines the loop may still apply before the next frame.
    let mut log_budget = crate::app::logs::LINES_PER_FRAME;

    loop {
        // After a panic elsewhere the hook gave the terminal back: never draw over the shell.
        if *fatal.borrow() {
            return Ok((app, Exit::Panic));
        }
        if app.dirty && Instant::now() >= next_frame {
            terminal.draw(|f| crate::ui::render(&app, f))?;
            app.dirty = false;
            next_frame = Instant::now() + frame;
            log_budget = crate::app::logs::LINES_PER_FRAME;
        }
        let msg = tokio::select! {
            ev = input.next() => match ev {
                Some(Ok(Event::Key(k))) => Msg::Key(k),
                Some(Ok(Event::Resize(w, h))) => {
                    // ratatui re-sizes its buffers on the next draw; clear so no stale glyphs stay.
                    terminal.autoresize()?;
                    Msg::Resize(w, h)
                }
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Err(anyhow::Error::new(e).context("reading terminal input")),
                None => return Ok((app, Exit::InputClosed)),
            },
            msg = shell.next(log_budget) => {
                if let Msg::Cluster(crate::cluster::executor::Report::Logs { lines, .. }) = &msg {
                    log_budget = log_budget.saturating_sub((*lines).max(1));
                }
                msg
            }
            _ = tick.tick() => Msg::Tick(unix_now()),
            signo = sigterm.recv() => return Ok((app, Exit::Signal(signo))),
            _ = fatal.wait_for(|p| *p) => return Ok((app, Exit::Panic)),
            _ = tokio::time::sleep_until(next_frame), if app.dirty => continue,
        };
        let effects = update(&mut app, msg);
        if shell.carry_out(&mut app, effects) {
            return Ok((app, Exit::Quit));
        }
        shell.remember(&mut app);
    }
}

fn unix_now() -> i64 {
    jiff::Timestamp::now().as_second()
}

mod signals {
    //! SIGHUP (the SSH session dropped), SIGTERM and SIGINT as one future. In raw mode Ctrl-C
    //! arrives as a key, but a SIGINT can still come from `kill -INT`.
    use tokio::signal::unix::{Signal, SignalKind, signal};

    pub struct Term {
        hup: Signal,
        term: Signal,
        int: Signal,
    }

    impl Term {
        pub fn new() -> std::io::Result<Term> {
            Ok(Term {
                hup: signal(SignalKind::hangup())?,
                term: signal(SignalKind::terminate())?,
                int: signal(SignalKind::interrupt())?,
            })
        }

        /// The signal's number when one arrives.
        pub async fn recv(&mut self) -> i32 {
            tokio::select! {
                _ = self.hup.recv() => 1,
                _ = self.term.recv() => 15,
                _ = self.int.recv() => 2,
            }
        }
    }
}

static TERMINAL_TAKEN: AtomicBool = AtomicBool::new(false);

/// Give the terminal back: leave the alternate screen, show the cursor, leave raw mode.
/// Idempotent, so Drop and the panic hook can both call it.
pub fn restore_terminal() {
    if TERMINAL_TAKEN.swap(false, Ordering::SeqCst) {
        let mut out = io::stdout();
        let _ = execute!(out, terminal::LeaveAlternateScreen, cursor::Show);
        let _ = terminal::disable_raw_mode();
        let _ = out.flush();
    }
}

/// Raw mode + alternate screen for as long as it lives; a panic hook restores the terminal
/// before the panic message is printed, so the message is readable.
pub struct TerminalGuard {
    _private: (),
}

/// Set when a task panicked outside a supervised watch: whichever thread it ran on, the event
/// loop sees it and ends (tokio catches a spawned task's panic, so without this the loop would
/// go on drawing over a terminal the hook already gave back).
fn panicked() -> &'static tokio::sync::watch::Sender<bool> {
    static PANICKED: std::sync::OnceLock<tokio::sync::watch::Sender<bool>> = std::sync::OnceLock::new();
    PANICKED.get_or_init(|| tokio::sync::watch::channel(false).0)
}

/// Chain the UI's panic hook in front of the current one, once: restore the terminal, then
/// tell the event loop, then the previous hook writes the one-line reason (and the log line).
/// A supervised watch task's panic is caught, shown as a stream error and restarted: the UI
/// goes on.
pub fn install_panic_hook() {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !crate::cluster::watch::panic_is_supervised() {
                restore_terminal();
                panicked().send_replace(true);
            }
            previous(info);
        }));
    });
}

impl TerminalGuard {
    pub fn enter() -> io::Result<TerminalGuard> {
        install_panic_hook();
        terminal::enable_raw_mode()?;
        TERMINAL_TAKEN.store(true, Ordering::SeqCst);
        if let Err(e) = execute!(io::stdout(), terminal::EnterAlternateScreen, cursor::Hide) {
            restore_terminal();
            return Err(e);
        }
        Ok(TerminalGuard { _private: () })
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore_terminal();
    }
}
