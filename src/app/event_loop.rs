//! The event loop: the one task that owns [`App`]. It waits on terminal input, the fleet
//! event channel, a one-second tick and termination signals with `tokio::select!`, feeds each
//! to `update`, carries out the returned effects, and renders when something changed — at
//! most `fps` times a second and never when nothing did (idle CPU ≈ 0).
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

use super::msg::{Effect, Level, Msg};
use super::pickers::{Session, SessionOptions};
use super::state::{App, AppOptions};
use super::update::update;
use crate::config::Config;
use crate::fleet::Index;
use crate::theme::{self, ThemeSet};

/// Capacity of the fleet event channel: bounded so a burst back-pressures the watch tasks
/// instead of growing memory; the loop drains it all before each render.
pub const FLEET_CHANNEL: usize = 16_384;
/// At most this many events are applied before the loop looks at input again, so a 150k-pod
/// initial list cannot make the keyboard wait for seconds.
const MAX_BATCH: usize = 50_000;

/// What `run_ui` needs from the CLI glue.
pub struct UiOptions {
    pub client: kube::Client,
    /// Shown in the header.
    pub context: String,
    /// `None`: all namespaces.
    pub namespace: Option<String>,
    pub readonly: bool,
    /// `--theme`.
    pub theme: Option<String>,
    /// `--ascii`.
    pub ascii: bool,
    pub config: Config,
    /// `<config dir>/themes` for user themes, if there is a config dir.
    pub themes_dir: Option<PathBuf>,
    /// Context/namespace switching and remembered state (issue 5, `app::pickers`).
    pub session: SessionOptions,
    /// The kubeconfig user name of the context (for the audit log; never credentials).
    pub user: String,
    /// The state dir (`config::Paths`): the audit log goes to `<state>/audit.jsonl`.
    pub state_dir: Option<PathBuf>,
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
        context: opts.context.clone(),
        namespace: opts.namespace.clone(),
        readonly: opts.readonly,
        config: opts.config.clone(),
        themes,
        theme,
        ascii: opts.ascii,
        warnings,
    })
}

/// The UI entry point: start the watches, take the terminal, run until quit.
pub async fn run_ui(opts: UiOptions) -> anyhow::Result<()> {
    let mut app_opts = app_options(&opts)?;
    let fps = opts.config.fps;
    // Issue 5: remembered settings, and a session owning the watches so the pickers can switch.
    app_opts.warnings.extend(opts.session.warnings.iter().cloned());
    let mut app = App::new(Index::new(), app_opts);
    let theme_fixed = opts.theme.is_some() || std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    super::persist::apply_settings(&mut app, &opts.session.remembered, theme_fixed);
    // Issue 7: the one mutation gateway (read-only refusal, dry run, audit).
    app.act.gateway = Some(super::actions::gateway(&opts));
    app.logs.set_client(opts.client.clone());
    let rx = Session::start(opts.client, opts.namespace, opts.session);

    let result = {
        let _guard = TerminalGuard::enter()?;
        let backend = CrosstermBackend::new(io::stdout());
        let mut terminal = Terminal::new(backend)?;
        terminal.clear()?;
        let input = EventStream::new();
        run_loop(&mut terminal, app, input, rx, fps).await
        // `_guard` drops here: the terminal is restored before we report anything.
    };
    // The session (and with it every watch task) was dropped when the loop returned.
    result.map(|_| ())
}

/// Why the loop ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    Quit,
    Signal,
    /// The input stream ended (the terminal went away).
    InputClosed,
}

/// The loop itself, generic over the terminal backend and the input stream so tests and the
/// benchmark can drive the real thing. Returns the final [`App`] and why it stopped.
pub async fn run_loop<B, I>(
    terminal: &mut Terminal<B>,
    mut app: App,
    mut input: I,
    fleet: impl Into<Session>,
    fps: u32,
) -> anyhow::Result<(App, Exit)>
where
    B: Backend,
    I: Stream<Item = io::Result<Event>> + Unpin,
{
    // A plain receiver converts into a session that cannot switch (tests, benchmarks).
    let mut fleet: Session = fleet.into();
    let mut picker_results = fleet.results();
    let frame = Duration::from_secs(1) / fps.clamp(1, 120);
    let mut next_frame = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut sigterm = signals::Term::new()?;
    let mut fleet_open = true;
    // Issue 7: actions run as tasks; their results come back on this channel.
    let (act_tx, mut act_rx) = tokio::sync::mpsc::unbounded_channel();
    let mut runner = super::actions::Runner::new(app.act.gateway.clone(), act_tx);
    let size = terminal.size()?;
    update(&mut app, Msg::Resize(size.width, size.height));
    update(&mut app, Msg::Tick(unix_now()));
    // Log lines the loop may still apply before the next frame (see `app::logs`).
    let mut log_budget = super::logs::LINES_PER_FRAME;

    loop {
        if app.dirty && Instant::now() >= next_frame {
            terminal.draw(|f| crate::ui::render(&app, f))?;
            app.dirty = false;
            next_frame = Instant::now() + frame;
            log_budget = super::logs::LINES_PER_FRAME;
        }
        let effects = tokio::select! {
            ev = input.next() => match ev {
                Some(Ok(Event::Key(k))) => update(&mut app, Msg::Key(k)),
                Some(Ok(Event::Resize(w, h))) => {
                    // ratatui re-sizes its buffers on the next draw; clear so no stale glyphs stay.
                    terminal.autoresize()?;
                    update(&mut app, Msg::Resize(w, h))
                }
                Some(Ok(_)) => Vec::new(),
                Some(Err(e)) => return Err(anyhow::Error::new(e).context("reading terminal input")),
                None => return Ok((app, Exit::InputClosed)),
            },
            first = fleet.recv(), if fleet_open => match first {
                Some(first) => {
                    let mut batch = vec![first];
                    while batch.len() < MAX_BATCH {
                        match fleet.try_recv() {
                            Ok(ev) => batch.push(ev),
                            Err(_) => break,
                        }
                    }
                    update(&mut app, Msg::Fleet(batch))
                }
                None => {
                    // Every watch task has ended: the data on screen is frozen. Say so
                    // rather than pretend it is live; quitting stays possible.
                    fleet_open = false;
                    update(&mut app, Msg::Notice {
                        text: "watch streams stopped: the data on screen is no longer updated; restart daemonscope".into(),
                        level: Level::Error,
                    })
                }
            },
            Some(m) = act_rx.recv() => update(&mut app, m),
            msg = app.logs.recv(), if log_budget > 0 => {
                let applied = super::logs::on_channel(&mut app, msg, log_budget);
                log_budget = log_budget.saturating_sub(applied);
                Vec::new()
            }
            _ = tick.tick() => update(&mut app, Msg::Tick(unix_now())),
            // Context/namespace pickers (issue 5): results of their background tasks.
            done = picker_results.next() => {
                let effects = fleet.apply_result(&mut app, done);
                fleet_open |= fleet.take_rewired();
                effects
            }
            _ = sigterm.recv() => return Ok((app, Exit::Signal)),
            _ = tokio::time::sleep_until(next_frame), if app.dirty => Vec::new(),
        };
        for effect in effects {
            match effect {
                Effect::Quit => return Ok((app, Exit::Quit)),
                // Issue 5: the pickers; a namespace switch re-opens the fleet channel at once.
                e @ (Effect::PickContext | Effect::PickNamespace | Effect::Picker(_)) => {
                    fleet.on_effect(&mut app, e);
                    fleet_open |= fleet.take_rewired();
                }
                Effect::Act(a) => runner.spawn(a),
                effect @ (Effect::OpenLogs { .. } | Effect::OpenDaemonSetLogs { .. } | Effect::Logs(_)) => {
                    super::logs::carry_out(&mut app, effect);
                }
                other => {
                    // Action keys become dialogs inside `update` (`actions::route`), so nothing
                    // should arrive here; if a new effect is added without a handler, say so
                    // plainly instead of pretending something happened.
                    let text = format!("{}: not available in this version yet", other.describe());
                    update(&mut app, Msg::Notice { text, level: Level::Warn });
                }
            }
        }
        // Issue 5: remember context/namespace and UI settings when they changed.
        fleet.remember(&mut app);
    }
}

fn unix_now() -> i64 {
    jiff::Timestamp::now().as_second()
}

mod signals {
    //! SIGTERM and SIGINT as one future. In raw mode Ctrl-C arrives as a key, but a SIGINT can
    //! still come from `kill -INT`.
    use tokio::signal::unix::{Signal, SignalKind, signal};

    pub struct Term {
        term: Signal,
        int: Signal,
    }

    impl Term {
        pub fn new() -> std::io::Result<Term> {
            Ok(Term { term: signal(SignalKind::terminate())?, int: signal(SignalKind::interrupt())? })
        }
        pub async fn recv(&mut self) {
            tokio::select! {
                _ = self.term.recv() => {}
                _ = self.int.recv() => {}
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

impl TerminalGuard {
    pub fn enter() -> io::Result<TerminalGuard> {
        static HOOK: std::sync::Once = std::sync::Once::new();
        HOOK.call_once(|| {
            let previous = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                restore_terminal();
                previous(info);
            }));
        });
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
