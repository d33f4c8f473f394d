//! `list`: selectors, `limit` + `continue`, `resourceVersion`/`resourceVersionMatch`, and the
//! list body built by concatenating each object's cached JSON (no re-serialization), streamed
//! in chunks so a 150k-pod list never exists as one buffer.

use std::convert::Infallible;
use std::sync::Arc;

use base64::Engine;
use bytes::{Bytes, BytesMut};
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use serde::{Deserialize, Serialize};

use super::selectors::{FieldSelector, LabelSelector};
use super::{ApiError, Ctx, Resp, table};
use crate::sim::Kind;
use crate::sim::store::{ObjKey, Stored};

/// Bytes per body chunk.
const CHUNK: usize = 256 * 1024;

/// Selectors of a list or watch.
pub struct Selection {
    pub label: LabelSelector,
    pub field: FieldSelector,
    /// The namespace of a namespaced path.
    pub namespace: Option<String>,
}

impl Selection {
    pub fn from_ctx(ctx: &Ctx) -> Result<Selection, ApiError> {
        let label = LabelSelector::parse(ctx.param("labelSelector").unwrap_or("")).map_err(ApiError::bad_request)?;
        let field = FieldSelector::parse(ctx.param("fieldSelector").unwrap_or(""), ctx.target.kind)
            .map_err(ApiError::bad_request)?;
        Ok(Selection { label, field, namespace: ctx.target.namespace.clone() })
    }
    pub fn is_trivial(&self) -> bool {
        self.label.is_empty() && self.field.is_empty()
    }
    /// Selectors only (the caller has already scoped kind and namespace).
    pub fn matches(&self, s: &Stored) -> bool {
        self.label.matches(s.labels()) && self.field.matches(s)
    }
    pub fn in_scope(&self, s: &Stored) -> bool {
        self.namespace.as_deref().is_none_or(|ns| s.namespace() == ns)
    }
}

/// The opaque continue token: the list's resourceVersion and the last key returned
/// (apiserver's storage `continueToken` has the same two fields plus a version tag).
#[derive(Serialize, Deserialize)]
struct ContinueToken {
    v: String,
    rv: u64,
    start: String,
}

fn encode_continue(rv: u64, last: &ObjKey) -> String {
    let t = ContinueToken { v: "meta.k8s.io/v1".into(), rv, start: format!("{}/{}", last.namespace, last.name) };
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(&t).unwrap_or_default())
}

fn decode_continue(s: &str) -> Result<(u64, ObjKey), ApiError> {
    let bad = || {
        ApiError::bad_request(
            "continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)",
        )
    };
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(s.trim_end_matches('=')).map_err(|_| bad())?;
    let t: ContinueToken = serde_json::from_slice(&raw).map_err(|_| bad())?;
    if t.v != "meta.k8s.io/v1" {
        return Err(bad());
    }
    let (ns, name) = t.start.split_once('/').ok_or_else(bad)?;
    Ok((t.rv, ObjKey::new(ns, name)))
}

/// Parse a resourceVersion parameter ("" → None).
pub fn parse_rv(s: Option<&str>) -> Result<Option<u64>, ApiError> {
    match s {
        None | Some("") => Ok(None),
        Some(v) => v.parse::<u64>().map(Some).map_err(|_| {
            ApiError::bad_request(format!("resourceVersion: Invalid value: {v:?}: must be a valid resource version"))
        }),
    }
}

/// `limit`: a non-negative integer; 0 means no limit.
pub fn parse_limit(s: Option<&str>) -> Result<Option<usize>, ApiError> {
    match s {
        None | Some("") => Ok(None),
        Some(v) => match v.parse::<i64>() {
            Ok(n) if n < 0 => {
                Err(ApiError::bad_request(format!("limit: Invalid value: {n}: must be greater than or equal to 0")))
            }
            Ok(0) => Ok(None),
            Ok(n) => Ok(Some(usize::try_from(n).unwrap_or(usize::MAX))),
            Err(_) => Err(ApiError::bad_request(format!("limit: Invalid value: {v:?}: must be an integer"))),
        },
    }
}

fn too_large(requested: u64, current: u64) -> ApiError {
    ApiError::new(504, "Timeout", format!("Too large resource version: {requested}, current: {current}"))
}

pub fn list(ctx: &Ctx) -> Result<Resp, ApiError> {
    let store = &ctx.state.store;
    let kind = ctx.target.kind;
    let sel = Selection::from_ctx(ctx)?;
    let limit = parse_limit(ctx.param("limit"))?;
    let rv = parse_rv(ctx.param("resourceVersion"))?;
    let rv_match = ctx.param("resourceVersionMatch").filter(|s| !s.is_empty());
    let cont = ctx.param("continue").filter(|s| !s.is_empty());

    // k8s.io/apimachinery/pkg/apis/meta/internalversion/validation ValidateListOptions.
    if let Some(m) = rv_match {
        if m != "NotOlderThan" && m != "Exact" {
            return Err(ApiError::new(
                422,
                "Invalid",
                format!(
                    "resourceVersionMatch: Unsupported value: {m:?}: supported values: \"Exact\", \"NotOlderThan\", \"\""
                ),
            ));
        }
        if rv.is_none() {
            return Err(ApiError::new(
                422,
                "Invalid",
                "resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided",
            ));
        }
        if m == "Exact" && rv == Some(0) {
            return Err(ApiError::new(
                422,
                "Invalid",
                "resourceVersionMatch: Forbidden: resourceVersionMatch \"exact\" is forbidden for resourceVersion \"0\"",
            ));
        }
        if cont.is_some() {
            return Err(ApiError::new(
                422,
                "Invalid",
                "resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden when continue is provided",
            ));
        }
    }
    if cont.is_some() && rv.is_some_and(|v| v != 0) {
        return Err(ApiError::bad_request("specifying resource version is not allowed when using continue"));
    }

    let (start, list_rv_from_token) = match cont {
        Some(c) => {
            let (trv, key) = decode_continue(c)?;
            // Pages are served from the live state; pages after a compaction past the first
            // page's rv are refused like etcd does for a compacted continue revision.
            if trv < store.oldest_rv() {
                return Err(ApiError::expired(
                    "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.",
                ));
            }
            (Some(key), Some(trv))
        }
        None => (None, None),
    };

    // One page: the objects after the token's key, read under one lock without cloning those
    // not returned. remainingItemCount is only reported for lists without selectors, so a
    // selected list stops at the first match past the page.
    let mut selected: Vec<Arc<Stored>> = Vec::new();
    let mut more = false;
    let mut remaining = 0usize;
    let namespace = ctx.target.namespace.as_deref().filter(|_| kind.namespaced());
    let store_rv = store.scan(kind, namespace, start.as_ref(), |s| {
        if !sel.matches(s) {
            return true;
        }
        if limit.is_some_and(|l| selected.len() >= l) {
            more = true;
            remaining += 1;
            return sel.is_trivial();
        }
        selected.push(s.clone());
        true
    });
    if let Some(v) = rv
        && v > store_rv
    {
        return Err(too_large(v, store_rv));
    }
    if rv_match == Some("Exact")
        && let Some(v) = rv
        && v != store_rv
    {
        // The store keeps no snapshots: only the current revision can be served exactly.
        return Err(ApiError::expired(format!("too old resource version: {v} ({store_rv})")));
    }

    let list_rv = list_rv_from_token.unwrap_or(store_rv);
    let continue_token = match (more, selected.last()) {
        (true, Some(last)) => Some(encode_continue(list_rv, last.key())),
        _ => None,
    };
    let remaining_count = (more && sel.is_trivial()).then_some(remaining);

    if let Some(include) = table::wants_table(&ctx.headers) {
        let now = ctx.state.clock.now();
        let body = table::list_table(
            kind,
            &selected,
            list_rv,
            continue_token.as_deref(),
            include,
            now,
            ctx.param("includeObject"),
        )?;
        return Ok(super::json_response(200, body));
    }

    let mut meta = serde_json::json!({ "resourceVersion": list_rv.to_string() });
    if let Some(c) = &continue_token {
        meta["continue"] = serde_json::json!(c);
    }
    if let Some(n) = remaining_count {
        meta["remainingItemCount"] = serde_json::json!(n);
    }
    let header = format!(
        "{{\"kind\":\"{}List\",\"apiVersion\":\"{}\",\"metadata\":{},\"items\":[",
        kind.kind(),
        kind.api_version(),
        meta
    );
    Ok(stream_list(Bytes::from(header), selected))
}

/// Stream `header` + comma-joined cached JSON of `items` + `]}` in ~256 KiB chunks.
pub fn stream_list(header: Bytes, items: Vec<Arc<Stored>>) -> Resp {
    let chunks = ListChunks { header: Some(header), items: items.into_iter(), first: true, done: false };
    let body = StreamBody::new(futures::stream::iter(chunks.map(|b| Ok::<_, Infallible>(Frame::data(b)))));
    let mut r = http::Response::new(body.boxed_unsync());
    r.headers_mut().insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
    r
}

struct ListChunks {
    header: Option<Bytes>,
    items: std::vec::IntoIter<Arc<Stored>>,
    first: bool,
    done: bool,
}

impl Iterator for ListChunks {
    type Item = Bytes;
    fn next(&mut self) -> Option<Bytes> {
        if self.done {
            return None;
        }
        let mut buf = BytesMut::with_capacity(CHUNK + 8 * 1024);
        if let Some(h) = self.header.take() {
            buf.extend_from_slice(&h);
        }
        while buf.len() < CHUNK {
            match self.items.next() {
                Some(s) => {
                    if !self.first {
                        buf.extend_from_slice(b",");
                    }
                    self.first = false;
                    buf.extend_from_slice(&s.json);
                }
                None => {
                    buf.extend_from_slice(b"]}");
                    self.done = true;
                    break;
                }
            }
        }
        Some(buf.freeze())
    }
}

/// Kinds and the `kind` of their list (for tests and tables).
pub fn list_kind(kind: Kind) -> String {
    format!("{}List", kind.kind())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continue_token_round_trips() {
        let t = encode_continue(42, &ObjKey::new("ns", "p-1"));
        let (rv, key) = decode_continue(&t).unwrap_or((0, ObjKey::new("", "")));
        assert_eq!(rv, 42);
        assert_eq!(key, ObjKey::new("ns", "p-1"));
        assert!(decode_continue("garbage!").is_err());
    }

    #[test]
    fn limits_must_be_non_negative_integers() {
        assert!(parse_limit(Some("-1")).is_err());
        assert!(parse_limit(Some("ten")).is_err());
        assert!(parse_limit(Some("99999999999999999999999")).is_err());
        assert_eq!(parse_limit(Some("0")).ok(), Some(None));
        assert_eq!(parse_limit(Some("5")).ok(), Some(Some(5)));
    }
}
