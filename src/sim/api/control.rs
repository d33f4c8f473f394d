//! `/debug/faults`: the simulator's fault switches over HTTP, so a standalone `daemonscope sim`
//! (and a chaos test driving a separate process) can break it on demand. Loopback only, like
//! the whole simulator, and only for the full (admin) token: the read-only user gets 403.
//!
//! `GET /debug/faults` shows the switches; `POST /debug/faults/NAME?ARGS` flips one and shows
//! them again:
//!
//! | NAME              | ARGS                                   | effect                                   |
//! |-------------------|----------------------------------------|------------------------------------------|
//! | `drop-watches`    |                                        | close every open watch now               |
//! | `gone`            | `count` (1)                            | the next watches get 410 Expired         |
//! | `burst`           | `count` (5), `code` (503), `retryAfter` (1) | the next requests fail with `code`  |
//! | `latency`         | `ms`                                   | delay every request                      |
//! | `bookmark-period` | `ms`                                   | BOOKMARK period of new watches           |
//! | `freeze`          |                                        | accept, read, never answer (partition)   |
//! | `unfreeze`        |                                        | answer again                             |
//! | `restart`         | `downtimeMs` (2000)                    | drop every connection, refuse new ones for the downtime, forget the watch history (resumes get 410) |
//! | `clear`           |                                        | thaw, no latency, no burst, no 410       |
//!
//! For example, with the token from the kubeconfig `daemonscope sim --kubeconfig-out` wrote:
//! `curl -X POST -H "Authorization: Bearer $TOKEN" http://127.0.0.1:PORT/debug/faults/freeze`.

use std::time::Duration;

use bytes::Bytes;
use http::Method;

use super::{ApiError, ApiState, Caller, Resp, json_response};

pub const PATH: &str = "/debug/faults";
pub const PREFIX: &str = "/debug/faults/";

pub fn serve(
    state: &ApiState,
    caller: Caller,
    method: &Method,
    path: &str,
    query: &[(String, String)],
) -> Result<Resp, ApiError> {
    if caller != Caller(super::rbac::ADMIN) {
        return Err(ApiError::new(403, "Forbidden", "the fault switches need the simulator's full token"));
    }
    let faults = &state.faults;
    let name = path.strip_prefix(PREFIX).unwrap_or("");
    match (method, name) {
        (&Method::GET, "") => {}
        (&Method::POST, "drop-watches") => faults.drop_watches(),
        (&Method::POST, "gone") => faults.force_gone(num(query, "count", 1)?),
        (&Method::POST, "burst") => {
            let code = num(query, "code", 503)?;
            if !(400..=599).contains(&code) {
                return Err(ApiError::bad_request(format!("code: Invalid value: {code}: must be a 4xx or 5xx status")));
            }
            faults.burst(num(query, "count", 5)?, code as u16, num(query, "retryAfter", 1)?)
        }
        (&Method::POST, "latency") => faults.set_latency(Duration::from_millis(num(query, "ms", 0)?.into())),
        (&Method::POST, "bookmark-period") => {
            faults.set_bookmark_period(Duration::from_millis(num(query, "ms", 5000)?.into()))
        }
        (&Method::POST, "freeze") => faults.set_frozen(true),
        (&Method::POST, "unfreeze") => faults.set_frozen(false),
        (&Method::POST, "restart") => {
            // A restarted server rebuilds its watch cache: resourceVersions from before are gone.
            state.store.compact();
            faults.restart(Duration::from_millis(num(query, "downtimeMs", 2000)?.into()));
        }
        (&Method::POST, "clear") => {
            faults.set_frozen(false);
            faults.set_latency(Duration::ZERO);
            faults.burst(0, 503, 0);
            faults.force_gone(0);
        }
        (&Method::GET | &Method::POST, _) => {
            return Err(ApiError::new(
                404,
                "NotFound",
                format!(
                    "no fault {name:?}: drop-watches, gone, burst, latency, bookmark-period, freeze, unfreeze, restart, clear"
                ),
            ));
        }
        (m, _) => return Err(ApiError::method_not_allowed(m.as_str())),
    }
    Ok(json_response(200, Bytes::from(faults.describe().to_string())))
}

/// A non-negative integer query parameter, `default` when absent.
fn num(query: &[(String, String)], key: &str, default: u32) -> Result<u32, ApiError> {
    match query.iter().rev().find(|(k, _)| k == key) {
        None => Ok(default),
        Some((_, v)) => v
            .parse()
            .map_err(|_| ApiError::bad_request(format!("{key}: Invalid value: {v:?}: must be a non-negative integer"))),
    }
}
