//! The simulator's HTTP API: one hyper 1 service (HTTP/1.1 and HTTP/2, optionally TLS) that
//! speaks the Kubernetes wire format for the kinds in [`crate::sim::store::Kind`]. This module
//! owns the connection loop, authentication, request routing, faults and request statistics;
//! the verbs live in submodules. It never holds the store's lock while writing to a socket:
//! handlers take `Arc<Stored>` snapshots and stream their cached JSON.
//!
//! Submodules: `status` (Status errors), `selectors`, `discovery`, `list` (list + continue),
//! `watch`, `write` (create/update/delete/patch), `strategic` (strategic merge patch), `podlog`
//! (`pods/log`), `table` (server-side `meta.k8s.io/v1` Table printing for kubectl), `tls`.

pub mod control;
pub mod discovery;
pub mod list;
pub mod podlog;
pub mod proto;
pub mod rbac;
pub mod selectors;
pub mod status;
pub mod strategic;
pub mod table;
pub mod tls;
pub mod watch;
pub mod write;

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures::FutureExt;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::sim::{Clock, Faults, Kind, Store};
pub use status::ApiError;

/// Every response body: a full buffer or a stream of chunks.
pub type Body = UnsyncBoxBody<Bytes, Infallible>;
pub type Resp = Response<Body>;

/// Largest request body accepted (the real server's limit is 3 MiB for most requests).
const MAX_BODY: usize = 3 * 1024 * 1024;

/// Shared by every request.
pub struct ApiState {
    pub store: Arc<Store>,
    pub clock: Arc<Clock>,
    pub faults: Arc<Faults>,
    /// One bearer token per [`rbac::USERS`] entry, in the same order.
    pub tokens: Vec<String>,
    pub stats: Stats,
    /// Cancelled at shutdown: watches and log follows end.
    pub shutdown: CancellationToken,
    /// `/version` as a replayed recording has it (its `version.json`), instead of ours.
    pub version: Option<serde_json::Value>,
}

/// Request counters (what tests read through [`RequestStats`]).
#[derive(Default)]
pub struct Stats {
    total: AtomicU64,
    mutating: AtomicU64,
    read: AtomicU64,
    by_verb: Mutex<BTreeMap<String, u64>>,
    by_code: Mutex<BTreeMap<u16, u64>>,
}

/// A snapshot of the request counters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RequestStats {
    pub total: u64,
    /// POST, PUT, PATCH and DELETE requests received (whether or not they were allowed).
    pub mutating: u64,
    /// Every other request.
    pub read: u64,
    /// Kubernetes verbs: get, list, watch, create, update, patch, delete, deletecollection,
    /// plus "discovery" and "other".
    pub by_verb: BTreeMap<String, u64>,
    /// Responses by HTTP status code.
    pub by_code: BTreeMap<u16, u64>,
}

impl Stats {
    fn count(&self, verb: &str, mutating: bool) {
        self.total.fetch_add(1, Ordering::Relaxed);
        if mutating {
            self.mutating.fetch_add(1, Ordering::Relaxed);
        } else {
            self.read.fetch_add(1, Ordering::Relaxed);
        }
        *self.by_verb.lock().unwrap_or_else(|e| e.into_inner()).entry(verb.to_string()).or_default() += 1;
    }
    fn code(&self, code: u16) {
        *self.by_code.lock().unwrap_or_else(|e| e.into_inner()).entry(code).or_default() += 1;
    }
    pub fn snapshot(&self) -> RequestStats {
        RequestStats {
            total: self.total.load(Ordering::Relaxed),
            mutating: self.mutating.load(Ordering::Relaxed),
            read: self.read.load(Ordering::Relaxed),
            by_verb: self.by_verb.lock().unwrap_or_else(|e| e.into_inner()).clone(),
            by_code: self.by_code.lock().unwrap_or_else(|e| e.into_inner()).clone(),
        }
    }
}

/// Accept connections until `state.shutdown` is cancelled. With `tls`, every connection is a
/// TLS handshake first (ALPN h2 / http/1.1).
pub async fn serve(listener: TcpListener, state: Arc<ApiState>, tls: Option<tokio_rustls::TlsAcceptor>) {
    let shutdown = state.shutdown.clone();
    loop {
        let accepted = tokio::select! {
            _ = shutdown.cancelled() => break,
            a = listener.accept() => a,
        };
        let (tcp, peer) = match accepted {
            Ok(x) => x,
            Err(e) => {
                // EMFILE and friends: back off instead of spinning.
                tracing::warn!("sim accept failed: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        if state.faults.is_down() {
            // Restarting: the connection is closed before a byte is read.
            drop(tcp);
            continue;
        }
        let _ = tcp.set_nodelay(true);
        let state = state.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            match tls {
                Some(acceptor) => match acceptor.accept(tcp).await {
                    Ok(stream) => serve_conn(hyper_util::rt::TokioIo::new(stream), state, peer).await,
                    Err(e) => tracing::debug!("sim TLS handshake with {peer} failed: {e}"),
                },
                None => serve_conn(hyper_util::rt::TokioIo::new(tcp), state, peer).await,
            }
        });
    }
}

async fn serve_conn<I>(io: I, state: Arc<ApiState>, peer: SocketAddr)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let shutdown = state.shutdown.clone();
    let mut restart = state.faults.restart_signal();
    let svc = hyper::service::service_fn(move |req: Request<Incoming>| {
        let state = state.clone();
        async move { Ok::<_, Infallible>(handle(state, req).await) }
    });
    let builder = hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new());
    let conn = builder.serve_connection(io, svc);
    tokio::pin!(conn);
    tokio::select! {
        r = conn.as_mut() => {
            if let Err(e) = r {
                tracing::debug!("sim connection from {peer} ended: {e}");
            }
        }
        _ = shutdown.cancelled() => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
        // A simulated restart drops the connection without a goodbye, as a dying server does.
        _ = restart.changed() => {}
    }
}

/// One request, with panics turned into a 500 Status as a last resort.
async fn handle(state: Arc<ApiState>, req: Request<Incoming>) -> Resp {
    let stats_state = state.clone();
    let resp = match AssertUnwindSafe(route(state, req)).catch_unwind().await {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => error_response(&e),
        Err(_) => error_response(&ApiError::internal("the simulator panicked while serving this request")),
    };
    stats_state.stats.code(resp.status().as_u16());
    resp
}

/// A Status error as an HTTP response.
pub fn error_response(e: &ApiError) -> Resp {
    let mut r = json_response(e.code, e.to_bytes());
    if let Some(s) = e.retry_after {
        r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(s));
    }
    r
}

pub fn json_response(code: u16, body: Bytes) -> Resp {
    let mut r = Response::new(Full::new(body).boxed_unsync());
    *r.status_mut() = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

/// Who is asking: an index into [`rbac::USERS`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Caller(pub usize);

impl Caller {
    pub fn user(self) -> &'static rbac::User {
        &rbac::USERS[self.0]
    }
}

/// What a path names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub kind: Kind,
    /// Some for a namespaced path (`/namespaces/{ns}/…`).
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub subresource: Option<String>,
}

/// A parsed request as the handlers see it.
pub struct Ctx {
    pub state: Arc<ApiState>,
    pub method: Method,
    pub target: Target,
    pub query: Vec<(String, String)>,
    pub headers: http::HeaderMap,
    pub caller: Caller,
}

impl Ctx {
    /// The last value of a query parameter.
    pub fn param(&self, key: &str) -> Option<&str> {
        self.query.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
    /// `true`/`1` → true; `false`/`0`/absent → false; anything else → 400.
    pub fn flag(&self, key: &str) -> Result<bool, ApiError> {
        match self.param(key) {
            None | Some("") | Some("false") | Some("0") => Ok(false),
            Some("true") | Some("1") => Ok(true),
            Some(v) => Err(ApiError::bad_request(format!("{key}: Invalid value: {v:?}: must be a boolean"))),
        }
    }
    pub fn namespace(&self) -> &str {
        self.target.namespace.as_deref().unwrap_or("")
    }
    pub fn name(&self) -> &str {
        self.target.name.as_deref().unwrap_or("")
    }
    pub fn now(&self) -> k8s_openapi::apimachinery::pkg::apis::meta::v1::Time {
        self.state.clock.now_time()
    }
}

fn verb_of(method: &Method, target: Option<&Target>, watch: bool) -> &'static str {
    let Some(t) = target else {
        return if method == Method::GET { "discovery" } else { "other" };
    };
    match *method {
        Method::GET if t.name.is_none() => {
            if watch {
                "watch"
            } else {
                "list"
            }
        }
        Method::GET => "get",
        Method::POST => "create",
        Method::PUT => "update",
        Method::PATCH => "patch",
        Method::DELETE if t.name.is_none() => "deletecollection",
        Method::DELETE => "delete",
        _ => "other",
    }
}

fn is_mutating(m: &Method) -> bool {
    matches!(*m, Method::POST | Method::PUT | Method::PATCH | Method::DELETE)
}

async fn route(state: Arc<ApiState>, req: Request<Incoming>) -> Result<Resp, ApiError> {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let query: Vec<(String, String)> =
        req.uri().query().map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect()).unwrap_or_default();
    let target = parse_path(&path);
    let watch_flag = query.iter().any(|(k, v)| k == "watch" && (v == "true" || v == "1"));
    let verb = verb_of(&method, target.as_ref().and_then(|t| t.as_ref().ok()), watch_flag);
    // A self review is a POST that stores nothing: not a mutation.
    state.stats.count(verb, is_mutating(&method) && rbac::review_kind(&path).is_none());

    // The fault switches themselves are exempt from the faults (a freeze must be thawable).
    if path == control::PATH || path.starts_with(control::PREFIX) {
        let caller = authenticate(&state, req.headers())?;
        return control::serve(&state, caller, &method, &path, &query);
    }

    let latency = state.faults.latency();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }

    if state.faults.is_frozen() {
        tokio::select! {
            _ = state.shutdown.cancelled() => {
                return Err(ApiError::new(503, "ServiceUnavailable", "the simulator is shutting down"));
            }
            _ = state.faults.thawed() => {}
        }
    }

    let caller = authenticate(&state, req.headers())?;

    if let Some((code, retry)) = state.faults.take_burst() {
        let mut e = match code {
            429 => ApiError::new(429, "TooManyRequests", "Too many requests, please try again later."),
            503 => ApiError::new(503, "ServiceUnavailable", "the server is currently unable to handle the request"),
            504 => ApiError::new(504, "Timeout", "the server was unable to return a response in the time allotted"),
            c => ApiError::new(c, "InternalError", "Internal error occurred: injected fault"),
        };
        if matches!(code, 429 | 503) {
            e.retry_after = Some(retry);
        }
        return Err(e);
    }

    // The self reviews create nothing: they answer who may do what, for the caller only.
    if let Some(kind) = rbac::review_kind(&path) {
        if method != Method::POST {
            return Err(ApiError::method_not_allowed(method.as_str()));
        }
        let body = read_body(req.into_body()).await?;
        return rbac::review(caller.user(), kind, &body);
    }

    let target = match target {
        None => return discovery::serve(&state, &method, &path, req.headers()),
        Some(Err(e)) => return Err(e),
        Some(Ok(t)) => t,
    };

    if !caller.user().allows(&rbac::attributes(verb, &target)) {
        return Err(forbidden(caller.user().name, verb, &target));
    }

    let headers = req.headers().clone();
    let needs_body = matches!(method, Method::POST | Method::PUT | Method::PATCH | Method::DELETE);
    let body = if needs_body { read_body(req.into_body()).await? } else { Bytes::new() };

    let ctx = Ctx { state, method, target, query, headers, caller };
    let sub = ctx.target.subresource.clone();
    match (ctx.method.clone(), ctx.target.name.is_some(), sub.as_deref()) {
        (Method::GET, false, None) => {
            if ctx.flag("watch")? {
                watch::watch(&ctx)
            } else {
                list::list(&ctx)
            }
        }
        (Method::GET, true, Some("log")) if ctx.target.kind == Kind::Pod => podlog::logs(&ctx),
        (Method::GET, true, None | Some("status")) => write::get(&ctx),
        (Method::POST, false, None) => write::create(&ctx, &body),
        (Method::PUT, true, None | Some("status")) => write::update(&ctx, &body),
        (Method::PATCH, true, None | Some("status")) => write::patch(&ctx, &body),
        (Method::DELETE, true, None) => write::delete(&ctx, &body),
        (m, _, _) => Err(ApiError::method_not_allowed(m.as_str())),
    }
}

/// A request body, at most [`MAX_BODY`] bytes.
async fn read_body(body: Incoming) -> Result<Bytes, ApiError> {
    match Limited::new(body, MAX_BODY).collect().await {
        Ok(b) => Ok(b.to_bytes()),
        Err(e) => Err(if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() {
            ApiError::new(413, "RequestEntityTooLarge", "Request entity too large: limit is 3145728")
        } else {
            ApiError::bad_request(format!("reading the request body: {e}"))
        }),
    }
}

/// `Authorization: Bearer <token>`; 401 otherwise.
fn authenticate(state: &ApiState, headers: &http::HeaderMap) -> Result<Caller, ApiError> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim);
    match token {
        // Compare against every token, so the time taken does not say which one matched.
        Some(t) => state
            .tokens
            .iter()
            .map(|known| ct_eq(t, known))
            .enumerate()
            .fold(None, |found, (i, eq)| found.or(eq.then_some(Caller(i))))
            .ok_or_else(ApiError::unauthorized),
        // client-go (so kubectl) sends bearer tokens only over https: say so to whoever reads it.
        None => Err(ApiError::new(
            401,
            "Unauthorized",
            "Unauthorized: no bearer token in the request (kubectl and client-go send tokens only over https: start the simulator with --tls)",
        )),
    }
}

/// Compare without an early exit on the first differing byte.
fn ct_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The message the real RBAC authorizer produces (`forbiddenMessage` in
/// k8s.io/apiserver/pkg/endpoints/handlers/responsewriters/errors.go).
fn forbidden(user: &str, verb: &str, t: &Target) -> ApiError {
    let resource = match &t.subresource {
        Some(s) => format!("{}/{s}", t.kind.plural()),
        None => t.kind.plural().to_string(),
    };
    let subject = match &t.name {
        Some(n) => format!("{} \"{n}\"", status::qualified(t.kind.group(), t.kind.plural())),
        None => status::qualified(t.kind.group(), t.kind.plural()),
    };
    let scope = match &t.namespace {
        Some(ns) => format!(" in the namespace \"{ns}\""),
        None => " at the cluster scope".to_string(),
    };
    let mut e = ApiError::new(
        403,
        "Forbidden",
        format!(
            "{subject} is forbidden: User \"{user}\" cannot {verb} resource \"{resource}\" in API group \"{}\"{scope}",
            t.kind.group()
        ),
    );
    if let Some(n) = &t.name {
        e = e.with_details(n, t.kind.group(), t.kind.plural());
    }
    e
}

/// Split a resource path. None: not a resource path (discovery or unknown; the caller decides).
/// Some(Err): a resource path that names nothing we serve (404).
fn parse_path(path: &str) -> Option<Result<Target, ApiError>> {
    let segs: Vec<&str> = path.trim_end_matches('/').split('/').filter(|s| !s.is_empty()).collect();
    let (group, rest) = match segs.as_slice() {
        ["api", "v1", rest @ ..] if !rest.is_empty() => ("", rest),
        ["apis", "apps", "v1", rest @ ..] if !rest.is_empty() => ("apps", rest),
        _ => return None,
    };
    let decode = |s: &str| percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned();
    let not_found = || Some(Err(ApiError::not_found_path(path)));
    // `/namespaces/{ns}/{plural}/…` is a namespaced path when {plural} is a namespaced kind;
    // otherwise `/namespaces/{name}` names the Namespace object itself.
    if rest.len() >= 3 && rest[0] == "namespaces" && group_kind(group, rest[2]).is_some_and(|k| k.namespaced()) {
        let Some(kind) = group_kind(group, rest[2]) else { return not_found() };
        if rest.len() > 5 {
            return not_found();
        }
        return Some(Ok(Target {
            kind,
            namespace: Some(decode(rest[1])),
            name: rest.get(3).map(|s| decode(s)),
            subresource: rest.get(4).map(|s| decode(s)),
        }));
    }
    let Some(kind) = group_kind(group, rest[0]) else { return not_found() };
    if rest.len() > 3 {
        return not_found();
    }
    if kind.namespaced() && rest.len() > 1 {
        // A namespaced object always needs its namespace in the path.
        return not_found();
    }
    let t = Target {
        kind,
        namespace: None,
        name: rest.get(1).map(|s| decode(s)),
        subresource: rest.get(2).map(|s| decode(s)),
    };
    if let Some(sub) = &t.subresource
        && !valid_subresource(kind, sub)
    {
        return not_found();
    }
    Some(Ok(t))
}

fn group_kind(group: &str, plural: &str) -> Option<Kind> {
    Kind::from_plural(group, plural)
}

fn valid_subresource(kind: Kind, sub: &str) -> bool {
    matches!(
        (kind, sub),
        (Kind::Pod, "log" | "status")
            | (Kind::DaemonSet, "status")
            | (Kind::Node, "status")
            | (Kind::Namespace, "status")
            | (Kind::ResourceQuota, "status")
    )
}

/// Check a namespaced target's subresource too (parse_path only checks cluster ones).
pub fn check_subresource(t: &Target) -> Result<(), ApiError> {
    match &t.subresource {
        Some(s) if !valid_subresource(t.kind, s) => Err(ApiError::new(
            404,
            "NotFound",
            format!("the server could not find the requested resource ({}/{s})", t.kind.plural()),
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaced_and_cluster_paths_are_told_apart() {
        let t = parse_path("/api/v1/namespaces/kube-system/pods/p1/log");
        assert!(matches!(t, Some(Ok(Target { kind: Kind::Pod, .. }))));
        let t = parse_path("/api/v1/namespaces/kube-system");
        assert!(matches!(t, Some(Ok(Target { kind: Kind::Namespace, name: Some(ref n), .. })) if n == "kube-system"));
        let t = parse_path("/apis/apps/v1/daemonsets");
        assert!(matches!(t, Some(Ok(Target { kind: Kind::DaemonSet, namespace: None, name: None, .. }))));
        assert!(matches!(parse_path("/api/v1/widgets"), Some(Err(_))));
        assert!(matches!(parse_path("/api/v1/pods/x"), Some(Err(_))));
        assert!(parse_path("/version").is_none());
    }

    #[test]
    fn forbidden_message_reads_like_rbac() {
        let t = Target { kind: Kind::Pod, namespace: Some("y".into()), name: Some("x".into()), subresource: None };
        assert_eq!(
            forbidden("daemonscope-readonly", "delete", &t).message,
            "pods \"x\" is forbidden: User \"daemonscope-readonly\" cannot delete resource \"pods\" in API group \"\" in the namespace \"y\""
        );
    }
}
