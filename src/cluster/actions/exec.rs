//! The mutation gateway: [`Actions`] is the only thing in daemonscope that sends a mutating
//! request. It refuses in read-only mode before any request, runs a server-side dry run
//! (`dryRun=All`) before the real request, turns API errors into sentences a person on call
//! can act on, and appends every executed (or refused) action to the audit log.
//!
//! It also fetches what a plan needs that the fleet index does not hold (the revision `data`
//! for undo, the pods for node-by-node stepping); those are reads.

use http::header::{ACCEPT, CONTENT_TYPE};
use k8s_openapi::api::apps::v1::ControllerRevision;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, OwnerReference};
use kube::api::ListParams;
use serde_json::Value;

use super::audit::{AuditEntry, AuditLog};
use super::plan::{self, Plan, Verb};
use crate::fleet::rollout::{self, HistoryRow, RevisionData, UndoError};

/// The longest a mutating request (or its dry run) may take. The server's own default for a
/// request is 60 s; a DELETE or PATCH answers in well under a second when the server is well, so
/// waiting longer only hides a partition from the person at the keyboard.
pub const REQUEST_DEADLINE: std::time::Duration = std::time::Duration::from_secs(30);

/// How long a `D` batch waits, after deleting a pod, for it to be gone before the next step:
/// a daemon pod's grace period is usually 30 s (log shippers flushing take up to a minute or
/// two). Past it the pod is stuck (a node that went away, a finalizer) and the batch stops, so
/// one sick node does not take every pod of the DaemonSet down with it.
pub const TERMINATION_DEADLINE: std::time::Duration = std::time::Duration::from_secs(150);

/// How the gateway is set up.
#[derive(Clone, Debug)]
pub struct ActionsOptions {
    /// `--readonly`: refuse every mutation before it is sent.
    pub readonly: bool,
    /// The kubeconfig context name (for the audit log).
    pub context: String,
    /// The kubeconfig user (AuthInfo) name (for the audit log).
    pub user: String,
    /// Audit log file, usually `<state dir>/audit.jsonl`.
    pub audit_path: std::path::PathBuf,
    /// Send `dryRun=All` first and only then the real request (default true). Every API server
    /// since 1.18 supports it for DELETE and PATCH.
    pub dry_run_first: bool,
}

/// The gateway. Cheap to clone (the kube client is reference-counted); tasks own a clone.
#[derive(Clone)]
pub struct Actions {
    client: kube::Client,
    readonly: bool,
    dry_run_first: bool,
    /// How long a batch waits for a restarted pod to finish terminating before it stops.
    pub(crate) termination_deadline: std::time::Duration,
    audit: AuditLog,
    context: String,
    user: String,
    /// The API server URL, for the audit log.
    server: String,
}

/// Whether a dry run preceded the request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DryRun {
    Passed,
    Skipped,
}

/// The server's answer to a dry run (`dryRun=All`: admission and validation run, nothing is
/// stored), asked when a confirmation opens so the user reads it before sending.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DryRunOutcome {
    /// The server would accept the request.
    Accepted,
    /// The server would refuse the request itself (RBAC, validation, quota, a webhook): the
    /// sentence to show.
    WouldFail(String),
    /// The server refuses dry runs here (an admission webhook without `sideEffects: None`, or
    /// a server too old): nothing is known; the user may send without one.
    Unsupported(String),
    /// No answer (network, timeout, read-only): nothing is known.
    Unknown(String),
}

impl DryRunOutcome {
    /// A dry-run refusal of the dry run itself, as the API server words it
    /// (`admission webhook "x" does not support dry run`, or a server that rejects the
    /// `dryRun` parameter).
    fn from_error(e: ActionError) -> DryRunOutcome {
        match e {
            ActionError::Rejected { code: 400 | 415 | 422, message, .. }
                if message.contains("does not support dry run") || message.contains("dryRun") =>
            {
                DryRunOutcome::Unsupported(message)
            }
            ActionError::Transport(m) => DryRunOutcome::Unknown(format!("cannot reach the API server: {m}")),
            ActionError::Timeout { secs, .. } => DryRunOutcome::Unknown(format!("no answer within {secs}s")),
            other => DryRunOutcome::WouldFail(other.to_string()),
        }
    }
}

/// What happened, for the status-bar notice.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    /// `Plan::summary()` of what was executed.
    pub summary: String,
    /// The notice to show ("deleted pod …; the DaemonSet re-creates it").
    pub notice: String,
    pub dry_run: DryRun,
    /// The server's response body (the patched DaemonSet, the deleted pod …).
    pub response: Value,
    /// Set when the action succeeded but its audit line could not be written.
    pub audit_error: Option<String>,
}

/// Why an action did not happen (or failed). `Display` is the sentence for the status bar.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ActionError {
    #[error("read-only mode: {action} was not sent")]
    ReadOnly { action: String },
    #[error(
        "forbidden: you cannot {verb} {resource} in {namespace} (RBAC); is this a read-only token or context? (server: {message})"
    )]
    Forbidden { verb: String, resource: String, namespace: String, message: String },
    #[error("not found: {object} does not exist (any more)")]
    NotFound { object: String },
    #[error("conflict: {object} changed meanwhile ({message}); look again and retry")]
    Conflict { object: String, message: String },
    #[error("the server rejected {action}{}: {message}", if *.dry_run { " in the dry run (nothing was changed)" } else { "" })]
    Rejected { action: String, code: u16, message: String, dry_run: bool },
    #[error("cannot reach the API server: {0}")]
    Transport(String),
    #[error("no answer to {action} within {secs}s: it may or may not have happened; look before retrying")]
    Timeout { action: String, secs: u64 },
    #[error("{0}")]
    Undo(#[from] UndoError),
    #[error("{0}")]
    Refused(String),
    #[error("unexpected answer from the API server: {0}")]
    Decode(String),
}

impl ActionError {
    /// Errors that will fail every further step of a batch too (stop the batch).
    pub fn is_systemic(&self) -> bool {
        matches!(
            self,
            ActionError::ReadOnly { .. }
                | ActionError::Forbidden { .. }
                | ActionError::Transport(_)
                | ActionError::Timeout { .. }
        )
    }
}

/// Pause before the one retry of a DELETE whose answer was lost.
const RETRY_PAUSE: std::time::Duration = std::time::Duration::from_secs(1);

/// An answer that says nothing about whether the request happened.
fn retryable(e: &ActionError) -> bool {
    matches!(e, ActionError::Transport(_) | ActionError::Timeout { .. })
        || matches!(e, ActionError::Rejected { code, .. } if *code >= 500)
}

impl Actions {
    pub fn new(client: kube::Client, opts: ActionsOptions) -> Actions {
        Actions {
            client,
            readonly: opts.readonly,
            dry_run_first: opts.dry_run_first,
            termination_deadline: TERMINATION_DEADLINE,
            audit: AuditLog::new(opts.audit_path),
            context: opts.context,
            user: opts.user,
            server: String::new(),
        }
    }

    /// The same gateway, naming `server` in its audit lines.
    pub fn with_server(mut self, server: impl Into<String>) -> Actions {
        self.server = server.into();
        self
    }

    pub fn readonly(&self) -> bool {
        self.readonly
    }

    /// The same gateway with another [`TERMINATION_DEADLINE`].
    pub fn with_termination_deadline(mut self, d: std::time::Duration) -> Actions {
        self.termination_deadline = d;
        self
    }

    /// The same gateway without the dry run before each request: the user read the dry run's
    /// answer already, or chose to send without one where the server refuses dry runs.
    pub fn without_dry_run(&self) -> Actions {
        Actions { dry_run_first: false, ..self.clone() }
    }

    /// Ask the server what `plan` would do, changing nothing. Not audited: nothing is sent
    /// that could change the cluster. In read-only mode nothing at all is sent.
    pub async fn dry_run(&self, plan: &Plan) -> DryRunOutcome {
        if self.readonly {
            return DryRunOutcome::Unknown("read-only mode: no dry run was sent".into());
        }
        match self.send_within_deadline(plan, true).await {
            Ok(_) => DryRunOutcome::Accepted,
            Err(e) => DryRunOutcome::from_error(e),
        }
    }

    /// The same gateway (read-only flag, dry run, audit log) aimed at another cluster: after a
    /// context switch every mutation must go to the cluster the user now sees, and its audit
    /// lines must name that context and user.
    pub fn retarget(&self, client: kube::Client, context: String, user: String) -> Actions {
        Actions { client, context, user, ..self.clone() }
    }

    /// The kubeconfig context this gateway sends to.
    pub fn context(&self) -> &str {
        &self.context
    }

    pub fn audit(&self) -> &AuditLog {
        &self.audit
    }

    /// A batch begins: one `intent` line for the whole of it (what, how many, at what pace),
    /// before its first request, so a session dropped mid-batch leaves the batch and how far
    /// it got (`interrupted … after 1 of 3 sent`), not only the requests already sent. `None`
    /// in read-only mode (each step leaves its own refusal) or when the line cannot be written
    /// (each step then refuses to send, for the same reason).
    pub fn begin_batch(&self, task: &str, plans: &[Plan], pace: std::time::Duration) -> Option<AuditEntry> {
        if self.readonly || plans.is_empty() {
            return None;
        }
        let now = jiff::Timestamp::now();
        let entry = AuditEntry {
            phase: "intent".into(),
            id: format!("{}-{}-batch", now.as_nanosecond(), std::process::id()),
            time: plan::rfc3339(now),
            context: self.context.clone(),
            user: self.user.clone(),
            verb: format!("batch: {task}"),
            object: plans.iter().map(|p| p.object.to_string()).collect::<Vec<_>>().join(", "),
            request: format!("{} requests, one every {} s", plans.len(), pace.as_secs()),
            server: self.server.clone(),
            ..AuditEntry::default()
        };
        self.audit.append(&entry).ok()?;
        self.audit.begin(&entry, &format!("0 of {} sent", plans.len()));
        Some(entry)
    }

    /// How far the batch got, for an `interrupted` line.
    pub fn batch_progress(&self, batch: &AuditEntry, progress: &str) {
        self.audit.progress(&batch.id, progress);
    }

    /// The batch's `result` line.
    pub fn end_batch(&self, batch: AuditEntry, result: &str) {
        self.audit.end(&batch.id);
        let line = AuditEntry {
            phase: "result".into(),
            time: plan::rfc3339(jiff::Timestamp::now()),
            result: result.to_string(),
            ..batch
        };
        if let Err(e) = self.audit.append(&line) {
            tracing::warn!(path = %self.audit.path().display(), error = %e, "audit log write failed");
        }
    }

    pub(crate) fn client(&self) -> &kube::Client {
        &self.client
    }

    /// Execute a plan: refuse in read-only mode (no request at all), else dry run, then the
    /// real request. Every call leaves one audit line.
    pub async fn execute(&self, plan: &Plan) -> Result<Outcome, ActionError> {
        let now = jiff::Timestamp::now();
        let entry = AuditEntry {
            phase: "intent".into(),
            id: format!("{}-{}", now.as_nanosecond(), std::process::id()),
            time: plan::rfc3339(now),
            context: self.context.clone(),
            user: self.user.clone(),
            verb: plan.verb.name().to_string(),
            object: plan.object.to_string(),
            request: plan.request_line(),
            result: String::new(),
            server: self.server.clone(),
            revision: match plan.verb {
                Verb::RolloutUndo { to_revision } => Some(to_revision),
                _ => None,
            },
            body: Some(plan.body.clone()),
        };
        if self.readonly {
            // Refused before any request: one line says so, there is no intent to record.
            let refused =
                AuditEntry { phase: "result".into(), result: "refused: read-only".into(), body: None, ..entry };
            let audit_error = self.audit.append(&refused).err();
            if let Some(e) = &audit_error {
                tracing::warn!(path = %self.audit.path().display(), error = %e, "audit log write failed");
            }
            return Err(ActionError::ReadOnly { action: plan.summary() });
        }
        // No trace, no request: an action whose intent cannot be recorded is not sent.
        if let Err(e) = self.audit.append(&entry) {
            tracing::warn!(path = %self.audit.path().display(), error = %e, "audit log write failed");
            return Err(ActionError::Refused(format!(
                "{} not sent: the audit log {} cannot be written ({e})",
                plan.summary(),
                self.audit.path().display()
            )));
        }
        self.audit.begin(&entry, "");
        let result = self.execute_inner(plan).await;
        self.audit.end(&entry.id);
        let audit_result = match &result {
            Ok(_) => "ok".to_string(),
            Err(ActionError::ReadOnly { .. }) => "refused: read-only".to_string(),
            Err(e) => format!("error: {e}"),
        };
        let entry = AuditEntry {
            phase: "result".into(),
            time: plan::rfc3339(jiff::Timestamp::now()),
            result: audit_result,
            body: None,
            ..entry
        };
        let audit_error = self.audit.append(&entry).err().map(|e| {
            tracing::warn!(path = %self.audit.path().display(), error = %e, "audit log write failed");
            format!("audit log {}: {e}", self.audit.path().display())
        });
        result.map(|mut o| {
            o.audit_error = audit_error;
            o
        })
    }

    async fn execute_inner(&self, plan: &Plan) -> Result<Outcome, ActionError> {
        if self.readonly {
            return Err(ActionError::ReadOnly { action: plan.summary() });
        }
        let dry_run = if self.dry_run_first {
            self.send_within_deadline(plan, true).await?;
            DryRun::Passed
        } else {
            DryRun::Skipped
        };
        let mut notice_text = notice(plan);
        let response = match self.send_within_deadline(plan, false).await {
            Ok(r) => r,
            // A DELETE whose answer was lost (timeout, 5xx) may have happened: ask again once.
            // With the UID precondition, 404 now means this very pod is gone — done, not an
            // error; a pod re-created under the same name meets 409 instead and is left alone.
            Err(e) if plan.method == plan::Method::Delete && retryable(&e) => {
                tracing::warn!(action = %plan.summary(), error = %e, "delete retried once");
                tokio::time::sleep(RETRY_PAUSE).await;
                match self.send_within_deadline(plan, false).await {
                    Ok(r) => r,
                    Err(ActionError::NotFound { .. }) => {
                        notice_text.push_str(" (the first answer was lost; the retry found it gone)");
                        Value::Null
                    }
                    Err(e) => return Err(e),
                }
            }
            Err(e) => return Err(e),
        };
        tracing::info!(action = %plan.summary(), "action executed");
        Ok(Outcome { summary: plan.summary(), notice: notice_text, dry_run, response, audit_error: None })
    }

    /// [`Actions::send`] within [`REQUEST_DEADLINE`].
    async fn send_within_deadline(&self, plan: &Plan, dry_run: bool) -> Result<Value, ActionError> {
        match tokio::time::timeout(REQUEST_DEADLINE, self.send(plan, dry_run)).await {
            Ok(r) => r,
            Err(_) => Err(ActionError::Timeout { action: plan.summary(), secs: REQUEST_DEADLINE.as_secs() }),
        }
    }

    async fn send(&self, plan: &Plan, dry_run: bool) -> Result<Value, ActionError> {
        let uri = if dry_run { format!("{}?dryRun=All", plan.path) } else { plan.path.clone() };
        let body = serde_json::to_vec(&plan.body).map_err(|e| ActionError::Decode(e.to_string()))?;
        let req = http::Request::builder()
            .method(plan.method.as_str())
            .uri(uri)
            .header(CONTENT_TYPE, plan.content_type)
            .header(ACCEPT, "application/json")
            .body(body)
            .map_err(|e| ActionError::Decode(e.to_string()))?;
        let text = self.client.request_text(req).await.map_err(|e| error_for(plan, e, dry_run))?;
        if text.trim().is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&text).map_err(|e| ActionError::Decode(e.to_string()))
    }

    /// Plan `kubectl rollout undo daemonset/<name> [--to-revision=N]`: read the DaemonSet and
    /// the ControllerRevisions it controls (kubectl's `daemonSetHistory`), then
    /// [`rollout::undo_patch`]. `to_revision` None means the previous revision.
    pub async fn plan_undo(&self, namespace: &str, name: &str, to_revision: Option<i64>) -> Result<Plan, ActionError> {
        let (ds, revisions) = self.daemonset_history(namespace, name).await?;
        let history: Vec<RevisionData> = revisions
            .iter()
            .map(|r| RevisionData { revision: r.revision.unwrap_or(0), data: r.data.0.clone() })
            .collect();
        let (rev, data) = rollout::undo_patch(&ds, &history, to_revision)?;
        Ok(plan::rollout_undo(namespace, name, rev, data))
    }

    /// Rollout history read from the API (what `kubectl rollout history daemonset/<name>` reads).
    /// The UI normally uses [`rollout::history_from_index`]; this is for when the index has no
    /// revisions yet and for checking against kubectl.
    pub async fn fetch_history(&self, namespace: &str, name: &str) -> Result<Vec<HistoryRow>, ActionError> {
        let (_, revisions) = self.daemonset_history(namespace, name).await?;
        Ok(rollout::history_rows(revisions.iter().map(|r| {
            HistoryRow {
                revision: r.revision.unwrap_or(0),
                name: r.metadata.name.clone().unwrap_or_default(),
                created: r.metadata.creation_timestamp.as_ref().map(|t| t.0.as_second()).unwrap_or(0),
                change_cause: r
                    .metadata
                    .annotations
                    .as_ref()
                    .and_then(|a| a.get("kubernetes.io/change-cause"))
                    .map(|c| crate::text::clean_owned(c.clone())),
                images: rollout::images_in_revision_data(&r.data.0).into_iter().map(crate::text::clean_owned).collect(),
                current: false,
            }
        })))
    }

    /// The DaemonSet as raw JSON, and the ControllerRevisions it controls
    /// (kubectl `daemonSetHistory`: list by the DaemonSet's selector, keep `IsControlledBy`).
    async fn daemonset_history(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<(Value, Vec<ControllerRevision>), ActionError> {
        let ds_ref = plan::ObjRef::daemonset(namespace, name);
        let ds = self.get_json(&ds_ref).await?;
        let uid = ds["metadata"]["uid"].as_str().unwrap_or_default().to_string();
        let selector: LabelSelector = serde_json::from_value(ds["spec"]["selector"].clone())
            .map_err(|e| ActionError::Decode(format!("daemonset {namespace}/{name} selector: {e}")))?;
        let api: kube::Api<ControllerRevision> = kube::Api::namespaced(self.client.clone(), namespace);
        let list = api
            .list(&ListParams::default().labels(&selector_string(&selector)))
            .await
            .map_err(|e| read_error("list", "controllerrevisions", namespace, e))?;
        let revisions =
            list.items.into_iter().filter(|r| controlled_by(r.metadata.owner_references.as_deref(), &uid)).collect();
        Ok((ds, revisions))
    }

    pub(crate) async fn get_json(&self, obj: &plan::ObjRef) -> Result<Value, ActionError> {
        let req = http::Request::get(obj.path())
            .header(ACCEPT, "application/json")
            .body(Vec::new())
            .map_err(|e| ActionError::Decode(e.to_string()))?;
        match self.client.request::<Value>(req).await {
            Ok(v) => Ok(v),
            Err(kube::Error::Api(s)) if s.code == 404 => Err(ActionError::NotFound { object: obj.to_string() }),
            Err(e) => Err(read_error("get", obj.kind.resource(), &obj.namespace, e)),
        }
    }
}

/// `metav1.IsControlledBy`: the controller ownerReference points at `uid`.
pub(crate) fn controlled_by(owners: Option<&[OwnerReference]>, uid: &str) -> bool {
    !uid.is_empty() && owners.unwrap_or_default().iter().any(|o| o.controller == Some(true) && o.uid == uid)
}

/// `metav1.LabelSelectorAsSelector(...).String()`: matchLabels then matchExpressions.
pub(crate) fn selector_string(sel: &LabelSelector) -> String {
    let mut parts: Vec<String> = sel.match_labels.iter().flatten().map(|(k, v)| format!("{k}={v}")).collect();
    for e in sel.match_expressions.iter().flatten() {
        let values = e.values.clone().unwrap_or_default().join(",");
        parts.push(match e.operator.as_str() {
            "In" => format!("{} in ({values})", e.key),
            "NotIn" => format!("{} notin ({values})", e.key),
            "Exists" => e.key.clone(),
            "DoesNotExist" => format!("!{}", e.key),
            other => format!("{} {other} ({values})", e.key),
        });
    }
    parts.join(",")
}

fn notice(plan: &Plan) -> String {
    match &plan.verb {
        Verb::RestartPod => match &plan.node {
            Some(node) => format!("deleted {} on {node}; its DaemonSet re-creates it", plan.object),
            None => format!("deleted {}; its DaemonSet re-creates it", plan.object),
        },
        Verb::RolloutRestart => format!("{} restarted; pods roll per its update strategy", plan.object),
        Verb::RolloutUndo { to_revision } => format!("{} rolled back to revision {to_revision}", plan.object),
        Verb::UpdateStrategy => format!("{} update strategy changed", plan.object),
    }
}

/// Turn a kube error of a mutation into a sentence.
fn error_for(plan: &Plan, err: kube::Error, dry_run: bool) -> ActionError {
    match err {
        kube::Error::Api(status) => match status.code {
            403 => ActionError::Forbidden {
                verb: plan.method.rbac_verb().into(),
                resource: plan.object.kind.resource().into(),
                namespace: plan.object.namespace.clone(),
                message: status.message.clone(),
            },
            404 => ActionError::NotFound { object: plan.object.to_string() },
            409 => ActionError::Conflict { object: plan.object.to_string(), message: status.message.clone() },
            code => ActionError::Rejected { action: plan.summary(), code, message: status.message.clone(), dry_run },
        },
        other => ActionError::Transport(other.to_string()),
    }
}

/// Turn a kube error of a read the gateway does for planning into a sentence.
pub(crate) fn read_error(verb: &str, resource: &str, namespace: &str, err: kube::Error) -> ActionError {
    match err {
        kube::Error::Api(status) if status.code == 403 => ActionError::Forbidden {
            verb: verb.into(),
            resource: resource.into(),
            namespace: namespace.into(),
            message: status.message.clone(),
        },
        kube::Error::Api(status) => ActionError::Rejected {
            action: format!("{verb} {resource} in {namespace}"),
            code: status.code,
            message: status.message.clone(),
            dry_run: false,
        },
        other => ActionError::Transport(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::actions::plan::Method;

    #[test]
    fn forbidden_reads_plainly() {
        let e = ActionError::Forbidden {
            verb: Method::Patch.rbac_verb().into(),
            resource: "daemonsets".into(),
            namespace: "kube-system".into(),
            message: "daemonsets.apps \"x\" is forbidden".into(),
        };
        assert_eq!(
            e.to_string(),
            "forbidden: you cannot patch daemonsets in kube-system (RBAC); is this a read-only token or context? (server: daemonsets.apps \"x\" is forbidden)"
        );
    }

    #[test]
    fn selector_string_matches_label_selector_syntax() {
        let sel: LabelSelector = serde_json::from_value(serde_json::json!({
            "matchLabels": {"app": "a", "tier": "node"},
            "matchExpressions": [{"key": "x", "operator": "In", "values": ["1", "2"]},
                                 {"key": "y", "operator": "DoesNotExist"}]
        }))
        .unwrap();
        assert_eq!(selector_string(&sel), "app=a,tier=node,x in (1,2),!y");
    }
}
