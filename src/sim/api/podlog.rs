//! `pods/{name}/log`: container logs as text/plain, from the deterministic log model in
//! `crate::sim::logs` (nothing is stored). Supports `container`, `previous`, `timestamps`,
//! `tailLines`, `sinceSeconds`/`sinceTime`, `limitBytes` and `follow`, which polls for new
//! lines up to the simulated now until the pod is deleted, the container restarts, the client
//! goes away or the server shuts down.

use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::Frame;
use jiff::Timestamp;
use k8s_openapi::api::core::v1::Pod;
use tokio::sync::mpsc;

use super::{ApiError, Ctx, Resp};
use crate::sim::Kind;
use crate::sim::logs::{self, LogError};
use crate::sim::store::Object;

/// How often a follow looks for new lines (real time).
const FOLLOW_POLL: Duration = Duration::from_millis(250);

struct LogOpts {
    container: String,
    previous: bool,
    timestamps: bool,
    tail: Option<usize>,
    since: Option<Timestamp>,
    limit_bytes: Option<usize>,
    follow: bool,
}

fn positive(ctx: &Ctx, key: &str) -> Result<Option<i64>, ApiError> {
    match ctx.param(key).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(v) => match v.parse::<i64>() {
            Ok(n) if n >= 0 => Ok(Some(n)),
            _ => Err(ApiError::bad_request(format!("{key}: Invalid value: {v:?}: must be greater than or equal to 0"))),
        },
    }
}

fn restart_count(pod: &Pod, container: &str) -> Option<i32> {
    let st = pod.status.as_ref()?;
    st.container_statuses
        .iter()
        .flatten()
        .chain(st.init_container_statuses.iter().flatten())
        .find(|c| c.name == container)
        .map(|c| c.restart_count)
}

fn format_lines(lines: &[(Timestamp, String)], timestamps: bool) -> String {
    let mut out = String::new();
    for (t, l) in lines {
        if timestamps {
            // RFC 3339 with nanoseconds, as the kubelet prefixes lines.
            out.push_str(&t.strftime("%Y-%m-%dT%H:%M:%S.%f").to_string());
            out.push_str("Z ");
        }
        out.push_str(l);
        if !l.ends_with('\n') {
            out.push('\n');
        }
    }
    out
}

pub fn logs(ctx: &Ctx) -> Result<Resp, ApiError> {
    let Some(stored) = ctx.state.store.get(Kind::Pod, ctx.namespace(), ctx.name()) else {
        return Err(ApiError::not_found("", "pods", ctx.name()));
    };
    let Object::Pod(pod) = &*stored.obj() else {
        return Err(ApiError::internal("pods/log on a non-pod object"));
    };
    let since_seconds = positive(ctx, "sinceSeconds")?;
    if since_seconds == Some(0) {
        return Err(ApiError::bad_request("sinceSeconds: Invalid value: 0: must be greater than 0"));
    }
    let since_time = match ctx.param("sinceTime").filter(|s| !s.is_empty()) {
        None => None,
        Some(v) => Some(
            v.parse::<Timestamp>()
                .map_err(|e| ApiError::bad_request(format!("sinceTime: Invalid value: {v:?}: {e}")))?,
        ),
    };
    if since_seconds.is_some() && since_time.is_some() {
        return Err(ApiError::bad_request("at most one of `sinceTime` or `sinceSeconds` may be specified"));
    }
    let limit_bytes = positive(ctx, "limitBytes")?;
    if limit_bytes == Some(0) {
        return Err(ApiError::bad_request("limitBytes: Invalid value: 0: must be greater than 0"));
    }
    let now = ctx.state.clock.now();
    let since =
        since_time.or_else(|| since_seconds.and_then(|s| now.checked_sub(jiff::SignedDuration::from_secs(s)).ok()));
    let container = match ctx.param("container").filter(|s| !s.is_empty()) {
        Some(c) => c.to_string(),
        None => {
            let names: Vec<String> =
                pod.spec.iter().flat_map(|s| s.containers.iter().map(|c| c.name.clone())).collect();
            match names.as_slice() {
                [one] => one.clone(),
                _ => {
                    let e = LogError::ContainerRequired { pod: ctx.name().to_string(), choices: names.join(" ") };
                    return Err(ApiError::bad_request(e.to_string()));
                }
            }
        }
    };
    let opts = LogOpts {
        container,
        previous: ctx.flag("previous")?,
        timestamps: ctx.flag("timestamps")?,
        tail: positive(ctx, "tailLines")?.map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
        since,
        limit_bytes: limit_bytes.map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
        follow: ctx.flag("follow")?,
    };
    // The beginning of a container's life is bounded by the pod's; from there to now.
    let from = opts
        .since
        .or_else(|| pod.metadata.creation_timestamp.as_ref().map(|t| t.0))
        .unwrap_or_else(|| ctx.state.clock.start());
    let mut lines = logs::lines(pod, &opts.container, opts.previous, from, now)
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    if let Some(n) = opts.tail
        && lines.len() > n
    {
        lines.drain(..lines.len() - n);
    }
    let mut text = format_lines(&lines, opts.timestamps);
    let mut budget = opts.limit_bytes;
    if let Some(b) = budget {
        truncate_to(&mut text, b);
        budget = Some(b - text.len());
    }
    if !opts.follow || opts.previous || budget == Some(0) {
        return Ok(text_response(Full::new(Bytes::from(text)).boxed_unsync()));
    }

    let (tx, rx) = mpsc::channel::<Bytes>(16);
    let state = ctx.state.clone();
    let (ns, name) = (ctx.namespace().to_string(), ctx.name().to_string());
    let restarts = restart_count(pod, &opts.container);
    let uid = pod.metadata.uid.clone();
    tokio::spawn(async move {
        if !text.is_empty() && tx.send(Bytes::from(text)).await.is_err() {
            return;
        }
        let mut cursor = now;
        let shutdown = state.shutdown.clone();
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tx.closed() => return,
                _ = tokio::time::sleep(FOLLOW_POLL) => {}
            }
            let Some(s) = state.store.get(Kind::Pod, &ns, &name) else { return };
            let Object::Pod(pod) = &*s.obj() else { return };
            if pod.metadata.uid != uid || restart_count(pod, &opts.container) != restarts {
                return;
            }
            let to = state.clock.now();
            if to <= cursor {
                continue;
            }
            let Ok(new) = logs::lines(pod, &opts.container, false, cursor, to) else { return };
            cursor = to;
            let mut chunk = format_lines(&new, opts.timestamps);
            if let Some(b) = budget {
                truncate_to(&mut chunk, b);
                budget = Some(b - chunk.len());
            }
            if !chunk.is_empty() && tx.send(Bytes::from(chunk)).await.is_err() {
                return;
            }
            if budget == Some(0) {
                return;
            }
        }
    });
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|b| (Ok::<_, Infallible>(Frame::data(b)), rx))
    });
    Ok(text_response(StreamBody::new(stream).boxed_unsync()))
}

fn truncate_to(s: &mut String, max: usize) {
    if s.len() > max {
        let mut cut = max;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
}

fn text_response(body: super::Body) -> Resp {
    let mut r = http::Response::new(body);
    r.headers_mut().insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("text/plain"));
    r
}
