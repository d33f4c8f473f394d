//! Errors as the API server sends them: a `metav1.Status` object with the HTTP code, a machine
//! reason and a human message. Every failure the simulator's HTTP layer can produce goes
//! through [`ApiError`], so clients (`kube`, `kubectl`) see exactly what a real server sends.

use bytes::Bytes;
use serde_json::json;

use crate::sim::store::StoreError;

/// A failed request: serialized as a `Status` with `code`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    pub code: u16,
    /// `metav1.StatusReason` ("NotFound", "BadRequest", …); empty for a plain 400.
    pub reason: &'static str,
    pub message: String,
    /// `details.name`, `details.group`, `details.kind` when the error concerns one object.
    pub details: Option<Box<(String, String, String)>>,
    /// Seconds for `Retry-After` (429 and some 5xx).
    pub retry_after: Option<u32>,
}

impl ApiError {
    pub fn new(code: u16, reason: &'static str, message: impl Into<String>) -> ApiError {
        ApiError { code, reason, message: message.into(), details: None, retry_after: None }
    }
    pub fn with_details(mut self, name: &str, group: &str, kind: &str) -> ApiError {
        self.details = Some(Box::new((name.to_string(), group.to_string(), kind.to_string())));
        self
    }
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(400, "BadRequest", message)
    }
    pub fn not_found_path(path: &str) -> ApiError {
        // What the real server's NotFoundHandler says for a path no group serves.
        ApiError::new(404, "NotFound", format!("the server could not find the requested resource ({path})"))
    }
    /// `errors.NewNotFound(qualifiedResource, name)`: `pods "x" not found`.
    pub fn not_found(group: &str, plural: &str, name: &str) -> ApiError {
        ApiError::new(404, "NotFound", format!("{} \"{name}\" not found", qualified(group, plural)))
            .with_details(name, group, plural)
    }
    pub fn invalid(group: &str, kind: &str, name: &str, message: impl Into<String>) -> ApiError {
        ApiError::new(422, "Invalid", format!("{kind} \"{name}\" is invalid: {}", message.into()))
            .with_details(name, group, kind)
    }
    pub fn method_not_allowed(method: &str) -> ApiError {
        ApiError::new(
            405,
            "MethodNotAllowed",
            format!("the server does not allow this method on the requested resource ({method})"),
        )
    }
    pub fn unsupported_media_type(ct: &str) -> ApiError {
        ApiError::new(
            415,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json (got {ct:?})"
            ),
        )
    }
    pub fn unauthorized() -> ApiError {
        ApiError::new(401, "Unauthorized", "Unauthorized")
    }
    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError::new(500, "InternalError", format!("Internal error occurred: {}", message.into()))
    }
    /// `errors.NewResourceExpired`: a resourceVersion or continue token older than the history.
    pub fn expired(message: impl Into<String>) -> ApiError {
        ApiError::new(410, "Expired", message)
    }
    /// The store's errors, for the resource `group`/`plural`.
    pub fn from_store(e: StoreError, group: &str, plural: &str) -> ApiError {
        match e {
            StoreError::NotFound { name, .. } => ApiError::not_found(group, plural, &name),
            StoreError::AlreadyExists { name, .. } => ApiError::new(
                409,
                "AlreadyExists",
                format!("{} \"{name}\" already exists", qualified(group, plural)),
            )
            .with_details(&name, group, plural),
            StoreError::Conflict { name, .. } => ApiError::new(
                409,
                "Conflict",
                format!(
                    "Operation cannot be fulfilled on {} \"{name}\": the object has been modified; please apply your changes to the latest version and try again",
                    qualified(group, plural)
                ),
            )
            .with_details(&name, group, plural),
            StoreError::Invalid(m) => ApiError::new(422, "Invalid", m),
            StoreError::Gone { requested, oldest } => {
                ApiError::expired(format!("too old resource version: {requested} ({oldest})"))
            }
        }
    }

    /// The `Status` object.
    pub fn to_value(&self) -> serde_json::Value {
        let mut v = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "code": self.code,
        });
        if !self.reason.is_empty() {
            v["reason"] = json!(self.reason);
        }
        if let Some(d) = &self.details {
            let (name, group, kind) = &**d;
            let mut d = json!({ "name": name, "kind": kind });
            if !group.is_empty() {
                d["group"] = json!(group);
            }
            v["details"] = d;
        }
        if let Some(s) = self.retry_after {
            v["details"]["retryAfterSeconds"] = json!(s);
        }
        v
    }
    pub fn to_bytes(&self) -> Bytes {
        Bytes::from(self.to_value().to_string())
    }
}

/// `pods` or `daemonsets.apps`, as the real server names a resource in messages.
pub fn qualified(group: &str, plural: &str) -> String {
    if group.is_empty() { plural.to_string() } else { format!("{plural}.{group}") }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.code, self.reason, self.message)
    }
}

impl std::error::Error for ApiError {}
