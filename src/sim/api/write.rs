//! get, create, update (PUT), patch and delete, with the registry behaviour clients rely on:
//! status subresources (a main-resource write keeps the status, a status write keeps the rest),
//! optimistic concurrency on `metadata.resourceVersion`, graceful pod deletion
//! (pkg/registry/core/pod/strategy.go `CheckGracefulDelete`), and cascading deletion of owned
//! objects as the garbage collector would do for `propagationPolicy` Background/Foreground.

use std::sync::Arc;

use bytes::Bytes;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use serde_json::Value;

use super::{ApiError, Ctx, Resp, json_response, proto, strategic, table};
use crate::sim::store::{Object, Store, StoreError, Stored};
use crate::sim::{Kind, quota};

fn store_err(ctx: &Ctx) -> impl Fn(StoreError) -> ApiError + '_ {
    move |e| ApiError::from_store(e, ctx.target.kind.group(), ctx.target.kind.plural())
}

fn not_found(ctx: &Ctx) -> ApiError {
    ApiError::not_found(ctx.target.kind.group(), ctx.target.kind.plural(), ctx.name())
}

fn current(ctx: &Ctx) -> Result<Arc<Stored>, ApiError> {
    ctx.state.store.get(ctx.target.kind, ctx.namespace(), ctx.name()).ok_or_else(|| not_found(ctx))
}

fn dry_run(ctx: &Ctx) -> Result<bool, ApiError> {
    match ctx.param("dryRun") {
        None | Some("") => Ok(false),
        Some("All") => match ctx.state.faults.dry_run_webhook() {
            // What the webhook admission plugin answers (`webhookerrors.NewDryRunUnsupportedErr`).
            Some(name) => Err(ApiError::bad_request(format!("admission webhook {name:?} does not support dry run"))),
            None => Ok(true),
        },
        Some(v) => Err(ApiError::bad_request(format!("dryRun: Unsupported value: {v:?}: supported values: \"All\""))),
    }
}

fn object_response(ctx: &Ctx, code: u16, s: &Arc<Stored>) -> Result<Resp, ApiError> {
    if let Some(inc) = table::wants_table(&ctx.headers) {
        let body = table::list_table(
            ctx.target.kind,
            std::slice::from_ref(s),
            s.rv,
            None,
            inc,
            ctx.state.clock.now(),
            ctx.param("includeObject"),
        )?;
        return Ok(json_response(code, body));
    }
    Ok(json_response(code, s.json.clone()))
}

fn value_response(code: u16, obj: &Object) -> Result<Resp, ApiError> {
    let json = obj.to_json().map_err(|e| ApiError::internal(e.to_string()))?;
    Ok(json_response(code, Bytes::from(json)))
}

pub fn get(ctx: &Ctx) -> Result<Resp, ApiError> {
    let s = current(ctx)?;
    object_response(ctx, 200, &s)
}

/// Parse a JSON request body (400 with the parser's message otherwise).
fn parse_body(body: &[u8]) -> Result<Value, ApiError> {
    if body.is_empty() {
        return Err(ApiError::bad_request("the request body is empty; a JSON object is required"));
    }
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("couldn't get version/kind; json parse error: {e}")))?;
    if !v.is_object() {
        return Err(ApiError::bad_request(
            "couldn't get version/kind; json parse error: the body is not a JSON object",
        ));
    }
    Ok(v)
}

/// Check apiVersion/kind (when given) and the namespace against the path, fill the namespace.
fn check_type_and_scope(ctx: &Ctx, v: &mut Value) -> Result<(), ApiError> {
    let kind = ctx.target.kind;
    if let Some(av) = v.get("apiVersion").and_then(Value::as_str)
        && av != kind.api_version()
    {
        return Err(ApiError::bad_request(format!(
            "the API version in the data ({av}) does not match the expected API version ({})",
            kind.api_version()
        )));
    }
    if let Some(k) = v.get("kind").and_then(Value::as_str)
        && k != kind.kind()
    {
        return Err(ApiError::bad_request(format!(
            "the kind in the data ({k}) does not match the expected kind ({})",
            kind.kind()
        )));
    }
    v["apiVersion"] = Value::from(kind.api_version());
    v["kind"] = Value::from(kind.kind());
    if !v.get("metadata").is_some_and(Value::is_object) {
        v["metadata"] = Value::Object(Default::default());
    }
    if kind.namespaced() {
        let path_ns = ctx.namespace();
        match v["metadata"].get("namespace").and_then(Value::as_str) {
            Some(ns) if !ns.is_empty() && ns != path_ns => {
                return Err(ApiError::bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request",
                ));
            }
            _ => v["metadata"]["namespace"] = Value::from(path_ns),
        }
    }
    Ok(())
}

fn decode(ctx: &Ctx, v: Value, code: u16) -> Result<Object, ApiError> {
    let kind = ctx.target.kind;
    let name = v["metadata"].get("name").and_then(Value::as_str).unwrap_or(ctx.name()).to_string();
    Object::from_value(kind, v).map_err(|e| {
        if code == 422 {
            ApiError::invalid(kind.group(), kind.kind(), &name, e.to_string())
        } else {
            ApiError::bad_request(format!("error decoding the {} body: {e}", kind.kind()))
        }
    })
}

/// `validation.IsDNS1123Subdomain`, the rule for the names of our kinds.
fn validate_name(kind: Kind, name: &str) -> Result<(), ApiError> {
    let ok = !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|l| {
            let b = l.as_bytes();
            !b.is_empty()
                && b[0].is_ascii_alphanumeric()
                && b[b.len() - 1].is_ascii_alphanumeric()
                && b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        });
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid(
            kind.group(),
            kind.kind(),
            name,
            format!(
                "metadata.name: Invalid value: {name:?}: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"
            ),
        ))
    }
}

/// The API defaults of the fields kubectl and the controllers read (pkg/apis/apps/v1
/// `SetDefaults_DaemonSet`, pkg/apis/core/v1 `SetDefaults_PodSpec`), applied on every write
/// like the real server's decoding does.
fn apply_defaults(obj: &mut Object) {
    use k8s_openapi::api::apps::v1::{DaemonSetUpdateStrategy, RollingUpdateDaemonSet};
    use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
    fn pod_spec(spec: &mut k8s_openapi::api::core::v1::PodSpec) {
        spec.restart_policy.get_or_insert_with(|| "Always".into());
        spec.termination_grace_period_seconds.get_or_insert(30);
        spec.dns_policy.get_or_insert_with(|| "ClusterFirst".into());
        spec.scheduler_name.get_or_insert_with(|| "default-scheduler".into());
    }
    match obj {
        Object::Pod(p) => {
            if let Some(spec) = p.spec.as_mut() {
                pod_spec(spec);
            }
        }
        Object::DaemonSet(d) => {
            let spec = &mut d.spec;
            spec.revision_history_limit.get_or_insert(10);
            let strategy = spec.update_strategy.get_or_insert_with(DaemonSetUpdateStrategy::default);
            let ty = strategy.type_.get_or_insert_with(|| "RollingUpdate".into());
            if ty == "RollingUpdate" {
                let ru = strategy.rolling_update.get_or_insert_with(RollingUpdateDaemonSet::default);
                ru.max_unavailable.get_or_insert(IntOrString::Int(1));
                ru.max_surge.get_or_insert(IntOrString::Int(0));
            }
            if let Some(ps) = spec.template.spec.as_mut() {
                pod_spec(ps);
            }
        }
        _ => {}
    }
}

/// Registry-level checks and defaults on create (a small subset of each strategy's
/// PrepareForCreate + Validate: the ones clients of the simulator can observe).
fn prepare_create(obj: &mut Object) -> Result<(), ApiError> {
    let name = obj.name().to_string();
    match obj {
        Object::Pod(p) => {
            let spec = p.spec.get_or_insert_with(Default::default);
            if spec.containers.is_empty() {
                return Err(ApiError::invalid("", "Pod", &name, "spec.containers: Required value"));
            }
            let status = p.status.get_or_insert_with(Default::default);
            status.phase.get_or_insert_with(|| "Pending".into());
        }
        Object::DaemonSet(d) => {
            let spec = &mut d.spec;
            let labels = spec.template.metadata.as_ref().and_then(|m| m.labels.clone()).unwrap_or_default();
            let sel = &spec.selector;
            let sel_ok = sel.match_labels.iter().flatten().all(|(k, v)| labels.get(k) == Some(v))
                && (sel.match_labels.as_ref().is_some_and(|m| !m.is_empty())
                    || sel.match_expressions.as_ref().is_some_and(|m| !m.is_empty()));
            if !sel_ok {
                return Err(ApiError::invalid(
                    "apps",
                    "DaemonSet",
                    &name,
                    "spec.template.metadata.labels: Invalid value: selector does not match template labels",
                ));
            }
            if spec.template.spec.as_ref().is_none_or(|s| s.containers.is_empty()) {
                return Err(ApiError::invalid(
                    "apps",
                    "DaemonSet",
                    &name,
                    "spec.template.spec.containers: Required value",
                ));
            }
            // DaemonSet status is owned by the controller: PrepareForCreate clears it.
            d.status = None;
        }
        // So is a quota's: the quota controller fills it (here, right after the write).
        Object::ResourceQuota(q) => q.status = None,
        _ => {}
    }
    Ok(())
}

/// The `ResourceQuota` admission plugin on pod creation: 403 Forbidden when one more pod
/// would exceed a quota of the namespace, with the plugin's message and the pod's name (its
/// generateName when it has none) in the details.
fn admit_quota(ctx: &Ctx, obj: &Object) -> Result<(), ApiError> {
    let Object::Pod(p) = obj else { return Ok(()) };
    let name = match p.metadata.name.as_deref() {
        Some(n) if !n.is_empty() => n,
        _ => p.metadata.generate_name.as_deref().unwrap_or(""),
    };
    quota::admit_pod(&ctx.state.store, ctx.namespace(), name, ctx.state.clock.now())
        .map_err(|m| ApiError::new(403, "Forbidden", m).with_details(name, "", "pods"))
}

/// After a quota is written, compute its status at once (the quota controller's first sync),
/// so a `get` right after `create quota` shows what is used. Returns the stored quota.
fn settle_quota(ctx: &Ctx, s: Arc<Stored>) -> Arc<Stored> {
    if s.kind() != Kind::ResourceQuota {
        return s;
    }
    if let Err(e) = quota::refresh(&ctx.state.store, s.namespace(), ctx.state.clock.now()) {
        tracing::debug!("quota status of {}/{}: {e}", s.namespace(), s.name());
    }
    ctx.state.store.get(Kind::ResourceQuota, s.namespace(), s.name()).unwrap_or(s)
}

pub fn create(ctx: &Ctx, body: &[u8]) -> Result<Resp, ApiError> {
    let kind = ctx.target.kind;
    if kind.namespaced() && ctx.target.namespace.is_none() {
        return Err(ApiError::method_not_allowed("POST"));
    }
    let mut v = match body.strip_prefix(proto::MAGIC) {
        // `kubectl create quota` uses a typed client, which sends protobuf.
        Some(envelope) if kind == Kind::ResourceQuota => proto::resource_quota(envelope)
            .ok_or_else(|| ApiError::bad_request("decoding the protobuf ResourceQuota: malformed"))?,
        _ => parse_body(body)?,
    };
    check_type_and_scope(ctx, &mut v)?;
    if v["metadata"].get("resourceVersion").and_then(Value::as_str).is_some_and(|s| !s.is_empty()) {
        return Err(ApiError::bad_request("resourceVersion should not be set on objects to be created"));
    }
    let mut obj = decode(ctx, v, 400)?;
    if !obj.name().is_empty() {
        validate_name(kind, obj.name())?;
    }
    prepare_create(&mut obj)?;
    apply_defaults(&mut obj);
    admit_quota(ctx, &obj)?;
    if dry_run(ctx)? {
        return value_response(201, &obj);
    }
    let s = ctx.state.store.create(obj, ctx.now()).map_err(store_err(ctx))?;
    object_response(ctx, 201, &settle_quota(ctx, s))
}

/// What a write may change: a status write changes only the status; a main-resource write
/// keeps the status of kinds that have a status subresource.
fn scope_write(sub: Option<&str>, cur: &Object, mut new: Object) -> Object {
    match (sub, cur, &mut new) {
        (Some("status"), _, _) => {
            let mut out = cur.clone();
            match (&mut out, new) {
                (Object::Pod(o), Object::Pod(n)) => o.status = n.status,
                (Object::DaemonSet(o), Object::DaemonSet(n)) => o.status = n.status,
                (Object::Node(o), Object::Node(n)) => o.status = n.status,
                (Object::Namespace(o), Object::Namespace(n)) => o.status = n.status,
                (Object::ResourceQuota(o), Object::ResourceQuota(n)) => o.status = n.status,
                _ => {}
            }
            out
        }
        (_, Object::Pod(o), Object::Pod(n)) => {
            n.status = o.status.clone();
            new
        }
        (_, Object::DaemonSet(o), Object::DaemonSet(n)) => {
            n.status = o.status.clone();
            new
        }
        (_, Object::Node(o), Object::Node(n)) => {
            n.status = o.status.clone();
            new
        }
        (_, Object::Namespace(o), Object::Namespace(n)) => {
            n.status = o.status.clone();
            new
        }
        (_, Object::ResourceQuota(o), Object::ResourceQuota(n)) => {
            n.status = o.status.clone();
            new
        }
        _ => new,
    }
}

/// Pod spec is immutable apart from images, activeDeadlineSeconds and added tolerations
/// (pkg/apis/core/validation `ValidatePodUpdate`).
fn check_pod_update(cur: &Object, new: &Object) -> Result<(), ApiError> {
    let (Object::Pod(o), Object::Pod(n)) = (cur, new) else { return Ok(()) };
    let (Some(os), Some(ns)) = (&o.spec, &n.spec) else { return Ok(()) };
    let mut probe = ns.clone();
    for (pc, oc) in probe.containers.iter_mut().zip(&os.containers) {
        pc.image = oc.image.clone();
    }
    for (pc, oc) in probe.init_containers.iter_mut().flatten().zip(os.init_containers.iter().flatten()) {
        pc.image = oc.image.clone();
    }
    probe.active_deadline_seconds = os.active_deadline_seconds;
    let old_tol = os.tolerations.clone().unwrap_or_default();
    let new_tol = ns.tolerations.clone().unwrap_or_default();
    if old_tol.iter().all(|t| new_tol.contains(t)) {
        probe.tolerations = os.tolerations.clone();
    }
    if &probe != os {
        return Err(ApiError::invalid(
            "",
            "Pod",
            n.metadata.name.as_deref().unwrap_or(""),
            "spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)",
        ));
    }
    Ok(())
}

fn check_identity(ctx: &Ctx, obj: &Object) -> Result<(), ApiError> {
    if obj.name() != ctx.name() {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({}) does not match the name on the URL ({})",
            obj.name(),
            ctx.name()
        )));
    }
    Ok(())
}

pub fn update(ctx: &Ctx, body: &[u8]) -> Result<Resp, ApiError> {
    let kind = ctx.target.kind;
    let mut v = parse_body(body)?;
    check_type_and_scope(ctx, &mut v)?;
    let rv_str = v["metadata"].get("resourceVersion").and_then(Value::as_str).unwrap_or("").to_string();
    let mut obj = decode(ctx, v, 400)?;
    check_identity(ctx, &obj)?;
    apply_defaults(&mut obj);
    if rv_str.is_empty() {
        return Err(ApiError::invalid(
            kind.group(),
            kind.kind(),
            ctx.name(),
            "metadata.resourceVersion: Invalid value: 0x0: must be specified for an update",
        ));
    }
    let rv = rv_str
        .parse::<u64>()
        .map_err(|_| ApiError::bad_request(format!("metadata.resourceVersion: Invalid value: {rv_str:?}")))?;
    let cur = current(ctx)?;
    let cur = cur.obj();
    let new = scope_write(ctx.target.subresource.as_deref(), &cur, obj);
    if ctx.target.subresource.is_none() {
        check_pod_update(&cur, &new)?;
    }
    if dry_run(ctx)? {
        return value_response(200, &new);
    }
    let s = ctx.state.store.update(new, Some(rv)).map_err(store_err(ctx))?;
    object_response(ctx, 200, &settle_quota(ctx, s))
}

enum PatchType {
    Merge,
    Strategic,
    Json,
}

pub fn patch(ctx: &Ctx, body: &[u8]) -> Result<Resp, ApiError> {
    let kind = ctx.target.kind;
    let ct = ctx
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let ptype = match ct.as_str() {
        "application/merge-patch+json" => PatchType::Merge,
        "application/strategic-merge-patch+json" => PatchType::Strategic,
        "application/json-patch+json" => PatchType::Json,
        // Server-side apply needs managed-fields tracking the simulator does not model.
        _ => return Err(ApiError::unsupported_media_type(&ct)),
    };
    let pv: Value =
        serde_json::from_slice(body).map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))?;
    let json_patch = match ptype {
        PatchType::Json => Some(
            serde_json::from_value::<json_patch::Patch>(pv.clone())
                .map_err(|e| ApiError::bad_request(format!("error decoding JSON patch: {e}")))?,
        ),
        _ => {
            if !pv.is_object() {
                return Err(ApiError::bad_request("error decoding patch: the patch must be a JSON object"));
            }
            None
        }
    };
    let dry = dry_run(ctx)?;
    // Retry our own optimistic-concurrency conflicts (another writer between read and write),
    // as the apiserver's patcher does; a resourceVersion in the patch is a real precondition.
    for _ in 0..8 {
        let cur = current(ctx)?;
        let mut doc: Value = serde_json::from_slice(&cur.json).map_err(|e| ApiError::internal(e.to_string()))?;
        match (&ptype, &json_patch) {
            (PatchType::Merge, _) => json_patch::merge(&mut doc, &pv),
            (PatchType::Strategic, _) => {
                doc = strategic::apply(&doc, &pv)
                    .map_err(|m| ApiError::invalid(kind.group(), kind.kind(), ctx.name(), m))?;
            }
            (PatchType::Json, Some(p)) => json_patch::patch(&mut doc, p).map_err(|e| {
                ApiError::invalid(
                    kind.group(),
                    kind.kind(),
                    ctx.name(),
                    format!("the server rejected our request due to an error in our request: {e}"),
                )
            })?,
            (PatchType::Json, None) => return Err(ApiError::internal("JSON patch was not decoded")),
        }
        if !doc.is_object() {
            return Err(ApiError::invalid(
                kind.group(),
                kind.kind(),
                ctx.name(),
                "the patched object is not a JSON object",
            ));
        }
        let precondition = doc["metadata"].get("resourceVersion").and_then(Value::as_str).map(str::to_string);
        let precondition_rv = match precondition.as_deref() {
            Some(s) if s != cur.rv.to_string() => {
                return Err(ApiError::from_store(
                    StoreError::Conflict { plural: kind.plural(), name: ctx.name().to_string() },
                    kind.group(),
                    kind.plural(),
                ));
            }
            _ => pv.get("metadata").and_then(|m| m.get("resourceVersion")).is_some(),
        };
        doc["apiVersion"] = Value::from(kind.api_version());
        doc["kind"] = Value::from(kind.kind());
        let mut obj = decode(ctx, doc, 422)?;
        apply_defaults(&mut obj);
        if obj.name() != ctx.name() || (kind.namespaced() && obj.namespace() != ctx.namespace()) {
            return Err(ApiError::invalid(
                kind.group(),
                kind.kind(),
                ctx.name(),
                "metadata.name: Invalid value: field is immutable",
            ));
        }
        let cur_obj = cur.obj();
        let new = scope_write(ctx.target.subresource.as_deref(), &cur_obj, obj);
        if ctx.target.subresource.is_none() {
            check_pod_update(&cur_obj, &new)?;
        }
        if dry {
            return value_response(200, &new);
        }
        match ctx.state.store.update(new, Some(cur.rv)) {
            Ok(s) => return object_response(ctx, 200, &settle_quota(ctx, s)),
            Err(StoreError::Conflict { .. }) if !precondition_rv => continue,
            Err(e) => return Err(store_err(ctx)(e)),
        }
    }
    Err(ApiError::new(
        409,
        "Conflict",
        format!("Operation cannot be fulfilled on {} \"{}\": too many concurrent writers", kind.plural(), ctx.name()),
    ))
}

/// DeleteOptions from the body and query.
struct DeleteOpts {
    grace: Option<i64>,
    uid: Option<String>,
    rv: Option<String>,
    propagation: String,
}

fn delete_opts(ctx: &Ctx, body: &[u8]) -> Result<DeleteOpts, ApiError> {
    let v: Value = if body.iter().all(u8::is_ascii_whitespace) {
        Value::Object(Default::default())
    } else {
        serde_json::from_slice(body).map_err(|e| ApiError::bad_request(format!("error decoding DeleteOptions: {e}")))?
    };
    let grace = match ctx.param("gracePeriodSeconds").filter(|s| !s.is_empty()) {
        Some(q) => Some(
            q.parse::<i64>().map_err(|_| ApiError::bad_request(format!("gracePeriodSeconds: Invalid value: {q:?}")))?,
        ),
        None => match v.get("gracePeriodSeconds") {
            None | Some(Value::Null) => None,
            Some(g) => Some(g.as_i64().ok_or_else(|| ApiError::bad_request("gracePeriodSeconds: must be an integer"))?),
        },
    };
    let pre = v.get("preconditions");
    let propagation = ctx
        .param("propagationPolicy")
        .map(str::to_string)
        .or_else(|| v.get("propagationPolicy").and_then(Value::as_str).map(str::to_string))
        .or_else(|| {
            // The deprecated orphanDependents flag.
            v.get("orphanDependents")
                .and_then(Value::as_bool)
                .map(|o| if o { "Orphan".into() } else { "Background".into() })
        })
        .unwrap_or_else(|| "Background".into());
    if !matches!(propagation.as_str(), "Background" | "Foreground" | "Orphan") {
        return Err(ApiError::bad_request(format!("propagationPolicy: Unsupported value: {propagation:?}")));
    }
    Ok(DeleteOpts {
        grace,
        uid: pre.and_then(|p| p.get("uid")).and_then(Value::as_str).map(str::to_string),
        rv: pre.and_then(|p| p.get("resourceVersion")).and_then(Value::as_str).map(str::to_string),
        propagation,
    })
}

pub fn delete(ctx: &Ctx, body: &[u8]) -> Result<Resp, ApiError> {
    let kind = ctx.target.kind;
    let opts = delete_opts(ctx, body)?;
    let cur = current(ctx)?;
    if let Some(uid) = &opts.uid
        && cur.uid() != Some(uid.as_str())
    {
        return Err(ApiError::new(
            409,
            "Conflict",
            format!("Precondition failed: UID in precondition: {uid}, UID in object meta: {}", cur.uid().unwrap_or("")),
        ));
    }
    if let Some(rv) = &opts.rv
        && *rv != cur.rv.to_string()
    {
        return Err(ApiError::new(
            409,
            "Conflict",
            format!(
                "Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {}",
                cur.rv
            ),
        ));
    }
    if dry_run(ctx)? {
        return object_response(ctx, 200, &cur);
    }
    let store = &ctx.state.store;
    let s = match &*cur.obj() {
        Object::Pod(_) => delete_pod(store, &cur, opts.grace, ctx.now()).map_err(store_err(ctx))?,
        _ => {
            let s = store.delete(kind, ctx.namespace(), ctx.name()).map_err(store_err(ctx))?;
            cascade(store, &s, &opts.propagation, ctx.now());
            s
        }
    };
    object_response(ctx, 200, &s)
}

/// Graceful pod deletion: set deletionTimestamp and deletionGracePeriodSeconds and leave the
/// removal to the kubelet; remove at once when the grace period is 0, or when no kubelet will
/// act (unscheduled pods, terminal phases), as CheckGracefulDelete decides.
pub fn delete_pod(store: &Store, cur: &Stored, grace: Option<i64>, now: Time) -> Result<Arc<Stored>, StoreError> {
    let Object::Pod(pod) = &*cur.obj() else {
        return store.delete(cur.kind(), cur.namespace(), cur.name());
    };
    let spec_grace = pod.spec.as_ref().and_then(|s| s.termination_grace_period_seconds).unwrap_or(30);
    // A negative grace period is set to 1 (pkg/registry/core/pod/strategy.go).
    let grace = match grace.unwrap_or(spec_grace) {
        g if g < 0 => 1,
        g => g,
    };
    let unbound = pod.spec.as_ref().and_then(|s| s.node_name.as_deref()).unwrap_or("").is_empty();
    let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref()).unwrap_or("");
    if grace == 0 || unbound || phase == "Succeeded" || phase == "Failed" {
        return store.delete(Kind::Pod, cur.namespace(), cur.name());
    }
    let deadline = Time(now.0.checked_add(jiff::SignedDuration::from_secs(grace)).unwrap_or(now.0));
    store.modify(Kind::Pod, cur.namespace(), cur.name(), |o: &mut Object| {
        let meta = o.meta_mut();
        match (&meta.deletion_timestamp, meta.deletion_grace_period_seconds) {
            // Already terminating: a delete may only shorten the grace period.
            (Some(existing), Some(_)) if existing.0 <= deadline.0 => {}
            _ => {
                meta.deletion_timestamp = Some(deadline.clone());
                meta.deletion_grace_period_seconds = Some(grace);
            }
        }
        Ok::<(), StoreError>(())
    })
}

/// What the garbage collector does after an owner is deleted: delete its dependents
/// (Background/Foreground) or remove the owner reference from them (Orphan). A deleted
/// Namespace takes every object in it.
fn cascade(store: &Store, deleted: &Stored, propagation: &str, now: Time) {
    if let Object::Namespace(ns) = &*deleted.obj() {
        let name = ns.metadata.name.clone().unwrap_or_default();
        for kind in Kind::ALL.into_iter().filter(|k| k.namespaced()) {
            let (items, _) = store.list(kind, Some(&name));
            for s in items {
                let _ = store.delete(kind, &name, s.name());
            }
        }
        return;
    }
    let Some(uid) = deleted.obj().meta().uid.clone() else { return };
    let ns = deleted.namespace().to_string();
    for kind in [Kind::Pod, Kind::ControllerRevision, Kind::Event] {
        let (items, _) = store.list(kind, Some(&ns));
        for s in items {
            let owned = s.obj().meta().owner_references.iter().flatten().any(|o| o.uid == uid);
            if !owned {
                continue;
            }
            if propagation == "Orphan" {
                let _ = store.modify(kind, &ns, s.name(), |o: &mut Object| {
                    if let Some(refs) = o.meta_mut().owner_references.as_mut() {
                        refs.retain(|r| r.uid != uid);
                    }
                    Ok::<(), StoreError>(())
                });
            } else if kind == Kind::Pod {
                let _ = delete_pod(store, &s, None, now.clone());
            } else {
                let _ = store.delete(kind, &ns, s.name());
            }
        }
    }
}
