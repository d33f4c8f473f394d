//! One pod's log stream: open `pods/log`, read bytes, split into capped lines, re-open with backoff
//! when that can help, and report every state change to the session.

use std::sync::Arc;
use std::time::Duration;

use futures::AsyncReadExt;
use jiff::Timestamp;
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::api::LogParams;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::logs::{LogLine, LogOptions, LogSource, MAX_LINE_BYTES, PodRef, StreamState};

/// Splits a byte stream on `\n`, keeping at most `cap` bytes of each line (the rest is counted, not
/// stored), so a producer that never writes a newline cannot grow memory.
#[derive(Debug)]
pub struct LineSplitter {
    partial: Vec<u8>,
    /// Bytes of the current line dropped past the cap.
    cut: usize,
    cap: usize,
}

impl LineSplitter {
    pub fn new(cap: usize) -> LineSplitter {
        LineSplitter { partial: Vec::new(), cut: 0, cap: cap.max(1) }
    }

    /// Feed bytes; `emit(line, cut_bytes)` is called for each complete line (without `\n`).
    pub fn feed(&mut self, mut data: &[u8], mut emit: impl FnMut(&[u8], usize)) {
        while !data.is_empty() {
            let nl = data.iter().position(|&b| b == b'\n');
            let piece = &data[..nl.unwrap_or(data.len())];
            let room = self.cap - self.partial.len();
            if piece.len() <= room {
                self.partial.extend_from_slice(piece);
            } else {
                self.partial.extend_from_slice(&piece[..room]);
                self.cut += piece.len() - room;
            }
            match nl {
                Some(i) => {
                    emit(&self.partial, self.cut);
                    self.partial.clear();
                    self.cut = 0;
                    data = &data[i + 1..];
                }
                None => break,
            }
        }
    }

    /// End of stream: emit a final line that had no newline.
    pub fn finish(&mut self, mut emit: impl FnMut(&[u8], usize)) {
        if !self.partial.is_empty() || self.cut > 0 {
            emit(&self.partial, self.cut);
        }
        self.partial.clear();
        self.cut = 0;
    }
}

/// What a stream task tells its session.
#[derive(Debug)]
pub(super) enum StreamEvent {
    Lines(Vec<LogLine>),
    Status {
        source: Arc<LogSource>,
        state: StreamState,
        text: String,
    },
    /// The task ended for good (task id).
    Done(u64),
}

/// Everything one stream task needs.
pub(super) struct StreamSpec {
    pub id: u64,
    pub api: Api<Pod>,
    pub pod: PodRef,
    pub container: Option<String>,
    pub previous: bool,
    pub opts: LogOptions,
    pub out: mpsc::Sender<StreamEvent>,
    pub cancel: CancellationToken,
}

/// How one attempt ended.
enum Attempt {
    /// The stream ended (EOF); `lines` were read.
    Eof {
        lines: usize,
    },
    /// The connection broke after `lines` lines.
    Broken {
        lines: usize,
        error: String,
    },
    /// The request failed: retry after backoff with this message, or give up.
    Retry(String),
    GiveUp(String),
    Cancelled,
}

/// Map an API error to retry or give up, in the kubelet's and API server's words. The kubelet's
/// messages come from `validateContainerLogStatus` (pkg/kubelet/kubelet_pods.go).
fn classify(err: kube::Error, spec: &StreamSpec) -> Attempt {
    match err {
        kube::Error::Api(s) => {
            let msg = s.message.clone();
            match s.code {
                404 => Attempt::GiveUp(format!("pod {} not found (deleted?)", spec.pod.pod)),
                401 => Attempt::GiveUp(format!("unauthorized: {msg}: refresh your credentials")),
                403 => Attempt::GiveUp(format!("forbidden: {msg}: ask for get on pods/log")),
                400 if msg.contains("waiting to start") || msg.contains("PodInitializing") => {
                    Attempt::Retry(format!("{msg}; waiting"))
                }
                400 if msg.contains("previous terminated container") => {
                    Attempt::GiveUp(format!("{msg}: the container has not restarted"))
                }
                400 if msg.contains("must be specified") || msg.contains("is not valid") => {
                    Attempt::GiveUp(format!("{msg}: press c to pick a container"))
                }
                400 => Attempt::GiveUp(msg),
                code => Attempt::Retry(format!("server error {code}: {msg}")),
            }
        }
        other => Attempt::Retry(format!("cannot reach the API server: {other}")),
    }
}

/// Run one pod's stream until it ends for good or `cancel` fires.
pub(super) async fn run(spec: StreamSpec) {
    let source =
        Arc::new(LogSource::new(&spec.pod.node, &spec.pod.pod, spec.container.as_deref().unwrap_or(""), spec.previous));
    let follow = spec.opts.follow && !spec.previous;
    // Resume point after a re-open: the newest timestamp seen and how many lines carried it.
    let mut resume: Option<(Timestamp, usize)> = None;
    let mut failures: u32 = 0;
    let mut troubled = false;
    loop {
        let attempt = attempt(&spec, &source, follow, &mut resume, &mut troubled).await;
        let status = |state, text: String| StreamEvent::Status { source: source.clone(), state, text };
        let (retry_text, delay) = match attempt {
            Attempt::Cancelled => break,
            Attempt::GiveUp(text) => {
                let _ = spec.out.send(status(StreamState::Failed, text)).await;
                break;
            }
            Attempt::Eof { lines } if !follow => {
                let text = if lines == 0 && resume.is_none() { "no log lines" } else { "end of log" };
                let _ = spec.out.send(status(StreamState::Ended, text.to_owned())).await;
                break;
            }
            Attempt::Eof { lines } => {
                // A followed stream ends when the container exits: the kubelet then restarts it
                // (or the pod is being deleted, which the next attempt will tell with a 404).
                if lines > 0 {
                    failures = 0;
                }
                ("stream ended (container exited?); re-opening".to_owned(), backoff(&spec.opts, failures))
            }
            Attempt::Broken { lines, error } => {
                if lines > 0 {
                    failures = 0;
                }
                (format!("connection lost: {error}; re-opening"), backoff(&spec.opts, failures))
            }
            Attempt::Retry(text) => (text, backoff(&spec.opts, failures)),
        };
        failures = failures.saturating_add(1);
        troubled = true;
        let text = format!("{retry_text} in {:.1}s", delay.as_secs_f64());
        if spec.out.send(status(StreamState::Retrying, text)).await.is_err() {
            break;
        }
        tokio::select! {
            _ = spec.cancel.cancelled() => break,
            _ = tokio::time::sleep(delay) => {}
        }
    }
    let _ = spec.out.send(StreamEvent::Done(spec.id)).await;
}

fn backoff(opts: &LogOptions, failures: u32) -> Duration {
    let factor = 1u32.checked_shl(failures.min(16)).unwrap_or(u32::MAX);
    opts.retry_initial.saturating_mul(factor).min(opts.retry_max)
}

async fn attempt(
    spec: &StreamSpec,
    source: &Arc<LogSource>,
    follow: bool,
    resume: &mut Option<(Timestamp, usize)>,
    troubled: &mut bool,
) -> Attempt {
    let mut params = LogParams {
        container: spec.container.clone(),
        follow,
        previous: spec.previous,
        // Always ask for timestamps: they order the resume point and `t` shows them without a re-open.
        timestamps: true,
        ..LogParams::default()
    };
    match resume {
        None => {
            params.tail_lines = spec.opts.tail_lines;
            params.since_seconds = spec.opts.since_seconds;
        }
        // kube rounds sinceTime to the second; floor it ourselves so no line is skipped, and drop
        // the lines we already have below.
        Some((ts, _)) => params.since_time = Timestamp::from_second(ts.as_second()).ok(),
    }
    let opened = tokio::select! {
        _ = spec.cancel.cancelled() => return Attempt::Cancelled,
        r = spec.api.log_stream(&spec.pod.pod, &params) => r,
    };
    let reader = match opened {
        Ok(r) => r,
        Err(e) => return classify(e, spec),
    };
    if *troubled {
        *troubled = false;
        let ev = StreamEvent::Status { source: source.clone(), state: StreamState::Open, text: "streaming".into() };
        if spec.out.send(ev).await.is_err() {
            return Attempt::Cancelled;
        }
    }
    let mut reader = Box::pin(reader);
    let mut splitter = LineSplitter::new(MAX_LINE_BYTES);
    let mut chunk = vec![0u8; 64 * 1024];
    let mut total = 0usize;
    // Lines to skip on a resumed stream: older than the resume point, or already seen at it.
    let mut skip_at = *resume;
    loop {
        let n = tokio::select! {
            _ = spec.cancel.cancelled() => return Attempt::Cancelled,
            r = reader.read(&mut chunk) => r,
        };
        let mut lines = Vec::new();
        let mut on_line = |raw: &[u8], cut: usize| {
            let line = LogLine::from_raw(source.clone(), raw, true, cut);
            if let (Some((at, seen)), Some(ts)) = (skip_at.as_mut(), line.ts) {
                if ts < *at {
                    return;
                }
                if ts == *at && *seen > 0 {
                    *seen -= 1;
                    return;
                }
                skip_at = None;
            }
            if let Some(ts) = line.ts {
                match resume {
                    Some((at, count)) if *at == ts => *count += 1,
                    _ => *resume = Some((ts, 1)),
                }
            }
            lines.push(line);
        };
        let end = match n {
            Ok(0) => {
                splitter.finish(&mut on_line);
                Some(Attempt::Eof { lines: total + lines.len() })
            }
            Ok(n) => {
                splitter.feed(&chunk[..n], &mut on_line);
                None
            }
            Err(e) => {
                splitter.finish(&mut on_line);
                Some(Attempt::Broken { lines: total + lines.len(), error: e.to_string() })
            }
        };
        total += lines.len();
        if !lines.is_empty() && spec.out.send(StreamEvent::Lines(lines)).await.is_err() {
            return Attempt::Cancelled;
        }
        if let Some(end) = end {
            return end;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(cap: usize, parts: &[&[u8]]) -> Vec<(Vec<u8>, usize)> {
        let mut s = LineSplitter::new(cap);
        let mut out = Vec::new();
        for p in parts {
            s.feed(p, |l, c| out.push((l.to_vec(), c)));
        }
        s.finish(|l, c| out.push((l.to_vec(), c)));
        out
    }

    #[test]
    fn lines_split_across_reads_are_joined() {
        let out = split(100, &[b"ab", b"c\nde", b"f\n", b"tail"]);
        let texts: Vec<_> = out.iter().map(|(l, _)| l.as_slice()).collect();
        assert_eq!(texts, vec![&b"abc"[..], b"def", b"tail"]);
    }

    #[test]
    fn long_lines_are_capped_and_the_rest_counted() {
        let out = split(4, &[b"0123456789", b"abc\nok\n"]);
        assert_eq!(out, vec![(b"0123".to_vec(), 9), (b"ok".to_vec(), 0)]);
    }

    #[test]
    fn invalid_utf8_passes_through_the_splitter() {
        let out = split(100, &[b"\xff\xfe\n"]);
        assert_eq!(out, vec![(vec![0xff, 0xfe], 0)]);
    }
}
