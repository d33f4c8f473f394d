//! Discovery: `/version`, `/api`, `/api/v1`, `/apis`, `/apis/apps`, `/apis/apps/v1` and the
//! health endpoints, in the legacy (unaggregated) JSON forms. `kubectl` asks for aggregated
//! discovery (`as=APIGroupDiscoveryList`) first and falls back to these when the response's
//! content type is plain `application/json`, as client-go's discovery client does.

use bytes::Bytes;
use http::{HeaderMap, Method};
use serde_json::{Value, json};

use super::{ApiError, ApiState, Resp, json_response};
use crate::sim::Kind;

/// The Kubernetes version the simulator reports. The `kubectl` on these machines dispatches to a
/// bundled client matching the server's minor version (1.27–1.33 are bundled).
pub const GIT_VERSION: &str = "v1.33.1";

pub fn serve(state: &ApiState, method: &Method, path: &str, _headers: &HeaderMap) -> Result<Resp, ApiError> {
    let path = if path.len() > 1 { path.trim_end_matches('/') } else { path };
    let body: Value = match path {
        "/version" if state.version.is_some() => state.version.clone().unwrap_or_default(),
        "/version" => json!({
            "major": "1",
            "minor": "33",
            "gitVersion": GIT_VERSION,
            "gitCommit": "8adc0f041b8e7ad1d30e29cc59c6ae7a15e19828",
            "gitTreeState": "clean",
            "buildDate": "2025-05-15T08:19:08Z",
            "goVersion": "go1.24.2",
            "compiler": "gc",
            "platform": "linux/amd64"
        }),
        "/healthz" | "/livez" | "/readyz" => {
            return if method == Method::GET {
                let mut r = json_response(200, Bytes::from_static(b"ok"));
                r.headers_mut()
                    .insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("text/plain; charset=utf-8"));
                Ok(r)
            } else {
                Err(ApiError::method_not_allowed(method.as_str()))
            };
        }
        "/api" => json!({
            "kind": "APIVersions",
            "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:443"}]
        }),
        "/apis" => json!({
            "kind": "APIGroupList",
            "apiVersion": "v1",
            "groups": [apps_group()]
        }),
        "/apis/apps" => {
            let mut g = apps_group();
            g["kind"] = json!("APIGroup");
            g["apiVersion"] = json!("v1");
            g
        }
        "/api/v1" => resource_list("v1"),
        "/apis/apps/v1" => resource_list("apps/v1"),
        _ => return Err(ApiError::not_found_path(path)),
    };
    if method != Method::GET {
        return Err(ApiError::method_not_allowed(method.as_str()));
    }
    Ok(json_response(200, Bytes::from(body.to_string())))
}

fn apps_group() -> Value {
    json!({
        "name": "apps",
        "versions": [{"groupVersion": "apps/v1", "version": "v1"}],
        "preferredVersion": {"groupVersion": "apps/v1", "version": "v1"}
    })
}

const VERBS: [&str; 7] = ["create", "delete", "get", "list", "patch", "update", "watch"];

fn short_names(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Namespace => &["ns"],
        Kind::Node => &["no"],
        Kind::Pod => &["po"],
        Kind::DaemonSet => &["ds"],
        Kind::Event => &["ev"],
        Kind::ResourceQuota => &["quota"],
        Kind::ControllerRevision => &[],
    }
}

fn subresources(kind: Kind) -> &'static [(&'static str, &'static [&'static str])] {
    match kind {
        Kind::Pod => &[("log", &["get"]), ("status", &["get", "patch", "update"])],
        Kind::DaemonSet | Kind::Node | Kind::Namespace | Kind::ResourceQuota => {
            &[("status", &["get", "patch", "update"])]
        }
        _ => &[],
    }
}

/// The `APIResourceList` of one group version.
pub fn resource_list(group_version: &str) -> Value {
    let mut resources = Vec::new();
    for kind in Kind::ALL.into_iter().filter(|k| k.api_version() == group_version) {
        let mut r = json!({
            "name": kind.plural(),
            "singularName": kind.kind().to_lowercase(),
            "namespaced": kind.namespaced(),
            "kind": kind.kind(),
            "verbs": VERBS,
        });
        if !short_names(kind).is_empty() {
            r["shortNames"] = json!(short_names(kind));
        }
        if matches!(kind, Kind::Pod | Kind::DaemonSet) {
            r["categories"] = json!(["all"]);
        }
        resources.push(r);
        for (sub, verbs) in subresources(kind) {
            resources.push(json!({
                "name": format!("{}/{sub}", kind.plural()),
                "singularName": "",
                "namespaced": kind.namespaced(),
                "kind": kind.kind(),
                "verbs": verbs,
            }));
        }
    }
    json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": resources,
    })
}
