//! `snapshot`, `check` and `record` (in `record`): `snapshot` and `check` sync the fleet index once from the watch streams, print, exit.
//! Made for cron jobs, CI and bastions: output never needs a TTY, and every failure is one line
//! on stderr with exit code 2 (the caller, `run`, prints it).
//!
//! The renderers (`table`, `json`, `check`) are pure functions of a synced [`Index`]; only
//! [`sync`] does I/O.

pub mod check;
pub mod doctor;
pub mod json;
pub mod record;
pub mod table;

use std::io::Write;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::cli::{CheckArgs, OutputFormat, SnapshotArgs};
use crate::cluster::client::Target;
use crate::fleet::Index;
use crate::fleet::model::{FleetEvent, Secs, StreamKind, StreamState};
use crate::theme::Glyphs;

/// Why a headless run could not produce an answer (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum HeadlessError {
    #[error("timed out after {secs}s waiting for the first list of {waiting} (context {context}){last_error}")]
    Timeout { secs: u64, waiting: String, context: String, last_error: String },
    #[error("{0}")]
    StreamFailed(String),
    #[error("the watch streams stopped before the first list finished (context {context})")]
    WatchesEnded { context: String },
    #[error("writing output: {0}")]
    Output(#[from] std::io::Error),
}

/// Events buffered between the watch tasks and the index. Large enough that the first list of
/// a big cluster is not throttled by the channel, small enough to bound memory.
const CHANNEL_CAPACITY: usize = 4096;

/// How long, once the matrix is complete, a sync still waits for the Warning events that
/// explain it. Events only add words to the whys; a server slow to list them must not fail a
/// check (a warning says the whys lack them).
const EVENTS_GRACE: Duration = Duration::from_secs(5);

/// List and watch until every stream has finished its first list, then stop the watches and
/// return the index. A stream that fails for good (403 …) is an error; a stream that keeps
/// reconnecting runs into `timeout`. The events stream is waited for at most [`EVENTS_GRACE`]
/// past the others.
pub async fn sync(target: &Target, timeout: Duration) -> Result<Index, HeadlessError> {
    let (tx, mut rx) = mpsc::channel::<FleetEvent>(CHANNEL_CAPACITY);
    let cancel = CancellationToken::new();
    // Dropping the guard cancels the watches on every return path.
    let _stop = cancel.clone().drop_guard();
    let _watches = crate::cluster::watch::spawn_watches(target.client.clone(), target.namespace.clone(), tx, cancel);
    let mut index = Index::new();
    let deadline = tokio::time::Instant::now() + timeout;
    let mut events_deadline: Option<tokio::time::Instant> = None;
    loop {
        let wait_until = events_deadline.map_or(deadline, |d| d.min(deadline));
        let event = match tokio::time::timeout_at(wait_until, rx.recv()).await {
            Ok(Some(event)) => event,
            Ok(None) => return Err(HeadlessError::WatchesEnded { context: target.context.clone() }),
            Err(_) if events_deadline.is_some() && index.synced() => return Ok(index),
            Err(_) => return Err(timeout_error(&index, target, timeout)),
        };
        index.apply(event);
        // Apply whatever else is queued before asking `synced`: cheaper, and the answer is
        // then about a consistent batch.
        while let Ok(event) = rx.try_recv() {
            index.apply(event);
        }
        if let Some(err) = failed_stream(&index, target) {
            return Err(err);
        }
        if index.synced() {
            if index.listed(StreamKind::Events) {
                return Ok(index);
            }
            events_deadline.get_or_insert_with(|| tokio::time::Instant::now() + EVENTS_GRACE);
        }
    }
}

/// The first stream that failed for good, except ControllerRevisions: without them only the
/// outdated verdicts are lost (none is made), which is worth a warning, not a failed check. The watch module already words the failure ("403 listing pods in all
/// namespaces: use -n or ask for list/watch on pods; …"); we add the context.
fn failed_stream(index: &Index, target: &Target) -> Option<HeadlessError> {
    StreamKind::ALL.into_iter().filter(|&k| k != StreamKind::Revisions).find_map(|kind| {
        match index.stream_state(kind) {
            StreamState::Failed { error } => Some(HeadlessError::StreamFailed(format!(
                "{} (context {})",
                crate::cluster::client::one_line(error),
                target.context
            ))),
            _ => None,
        }
    })
}

/// Warnings about a synced index: streams that failed without making the answer useless.
fn warnings(index: &Index) -> Vec<String> {
    let mut out = Vec::new();
    if let StreamState::Failed { error } = index.stream_state(StreamKind::Revisions) {
        out.push(crate::cluster::client::one_line(error));
    }
    match index.stream_state(StreamKind::Events) {
        StreamState::Failed { error } => out.push(format!(
            "{}; the whys below are without the cluster's events",
            crate::cluster::client::one_line(error)
        )),
        _ if !index.listed(StreamKind::Events) => out.push(format!(
            "Warning events were not listed within {}s; the whys below are without them",
            EVENTS_GRACE.as_secs()
        )),
        _ => {}
    }
    out
}

fn timeout_error(index: &Index, target: &Target, timeout: Duration) -> HeadlessError {
    let mut waiting = Vec::new();
    let mut last_error = String::new();
    for kind in StreamKind::ALL {
        match index.stream_state(kind) {
            StreamState::Syncing => waiting.push(kind.plural()),
            StreamState::Reconnecting { error, .. } => {
                waiting.push(kind.plural());
                if last_error.is_empty() {
                    last_error = format!("; last error: {}", crate::cluster::client::one_line(error));
                }
            }
            StreamState::Live | StreamState::Stale { .. } | StreamState::Failed { .. } => {}
        }
    }
    HeadlessError::Timeout {
        secs: timeout.as_secs(),
        waiting: if waiting.is_empty() { "all streams".to_string() } else { waiting.join(", ") },
        context: target.context.clone(),
        last_error,
    }
}

/// Unix seconds now.
pub fn now() -> Secs {
    jiff::Timestamp::now().as_second()
}

/// `daemonscope snapshot`: sync, print once. Returns the exit code (0).
pub async fn snapshot(
    target: &Target,
    args: &SnapshotArgs,
    glyphs: &Glyphs,
    ascii: bool,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<i32, HeadlessError> {
    let index = sync(target, Duration::from_secs(args.timeout)).await?;
    for w in warnings(&index) {
        writeln!(err, "daemonscope: warning: {w}")?;
    }
    let now = now();
    // Everything from the index is clean already; the kubeconfig's context name is text too.
    let context = crate::text::clean(&target.context);
    match args.output {
        OutputFormat::Json => json::write(&index, &context, args.problems, now, out)?,
        OutputFormat::Table | OutputFormat::Wide => {
            let opts = table::TableOptions {
                context: &context,
                problems_only: args.problems,
                wide: args.output == OutputFormat::Wide,
                glyphs,
                ascii,
                width: table::terminal_width(),
                now,
            };
            table::write(&index, &opts, out)?
        }
    }
    out.flush()?;
    Ok(0)
}

/// `daemonscope check`: sync, then exit 0 when no cell fails (`--fail-on`, `--max-outdated-age`),
/// 1 when some do: the summary line on stderr first, then one line per failing cell on stdout,
/// most severe first.
pub async fn check(
    target: &Target,
    args: &CheckArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<i32, HeadlessError> {
    let index = sync(target, Duration::from_secs(args.timeout)).await?;
    for w in warnings(&index) {
        writeln!(err, "daemonscope: warning: {w}")?;
    }
    let filter = check::CheckFilter::from_args(args);
    let report = check::report(&index, &filter, now());
    if report.failing.is_empty() {
        // Silent on success: a cron job mails whatever a command prints.
        return Ok(0);
    }
    // Before the lines, so a reader of `check 2>&1` (or a mail) sees the verdict first.
    writeln!(err, "daemonscope: {} (context {})", report.summary(), crate::text::clean(&target.context))?;
    err.flush()?;
    let written = report.failing.iter().try_for_each(|p| writeln!(out, "{}", p.line())).and_then(|()| out.flush());
    match written {
        // `check | head`: the reader has seen enough; the exit code must still say "problems".
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        other => other?,
    }
    Ok(1)
}
