//! Deterministic container logs: the lines a simulated container has written are a pure
//! function of (pod, container, which run of it, time), so `pods/log` needs no storage.
//! (CONTRACT STUB — the sim-controllers helper implements it; keep these signatures.)

use jiff::Timestamp;
use k8s_openapi::api::core::v1::Pod;

/// Why logs cannot be served; the Display text is what the kubelet says (served as a 400 Status).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LogError {
    #[error("container {container} is not valid for pod {pod}")]
    ContainerNotFound { container: String, pod: String },
    #[error("container \"{container}\" in pod \"{pod}\" is waiting to start: {reason}")]
    NotStarted { container: String, pod: String, reason: String },
    #[error("previous terminated container \"{container}\" in pod \"{pod}\" not found")]
    NoPrevious { container: String, pod: String },
    #[error("a container name must be specified for pod {pod}, choose one of: [{choices}]")]
    ContainerRequired { pod: String, choices: String },
}

/// Lines written by `container` of `pod` (the current run, or the previous one when `previous`)
/// with timestamps in `[from, to)`, oldest first.
pub fn lines(
    _pod: &Pod,
    _container: &str,
    _previous: bool,
    _from: Timestamp,
    _to: Timestamp,
) -> Result<Vec<(Timestamp, String)>, LogError> {
    Ok(Vec::new())
}
