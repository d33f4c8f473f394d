//! Who may do what on the simulator: a fixed set of users, each with a bearer token and a rule
//! set shaped like RBAC `PolicyRule`s (verbs × resources, cluster-wide or bound in named
//! namespaces), and the two self-review endpoints `kubectl auth can-i` and clients use to ask
//! before they act: `SelfSubjectAccessReview` and `SelfSubjectRulesReview`.
//!
//! The users model the roles an SRE meets: the cluster admin, a cluster-wide viewer, a
//! namespace-scoped `view` binding that cannot read nodes, and an operator who may delete pods
//! but not patch DaemonSets. Each gets a kubeconfig context, so a test picks a permission set by
//! picking a context, as a person would.

use bytes::Bytes;
use serde_json::{Value, json};

use super::{ApiError, Resp, Target, json_response, proto};

/// One rule: these verbs on these resources (`plural` or `plural/subresource`; `*` for all),
/// everywhere (`namespaces: None`, a ClusterRoleBinding) or only in the namespaces named (a
/// RoleBinding per namespace, which never grants cluster-scoped kinds).
#[derive(Debug)]
pub struct Rule {
    pub verbs: &'static [&'static str],
    pub resources: &'static [&'static str],
    pub namespaces: Option<&'static [&'static str]>,
}

/// A user of the simulator, its kubeconfig context and its rules.
#[derive(Debug)]
pub struct User {
    pub name: &'static str,
    pub context: &'static str,
    /// The context's default namespace.
    pub namespace: &'static str,
    pub rules: &'static [Rule],
}

const READ: &[&str] = &["get", "list", "watch"];

/// The namespace the namespace-scoped users are bound in: the `mixed` scenario has a
/// crash-looping DaemonSet there.
pub const SCOPED_NAMESPACE: &str = "monitoring";

/// Every user the simulator knows. The index is the caller's identity; 0 is the admin.
pub static USERS: [User; 4] = [
    User {
        name: "daemonscope",
        context: crate::sim::CONTEXT,
        namespace: "default",
        rules: &[Rule { verbs: &["*"], resources: &["*"], namespaces: None }],
    },
    User {
        name: "daemonscope-readonly",
        context: crate::sim::READONLY_CONTEXT,
        namespace: "default",
        rules: &[Rule { verbs: READ, resources: &["*"], namespaces: None }],
    },
    // The built-in `view` ClusterRole bound by a RoleBinding in one namespace: pods, their
    // logs, DaemonSets, ControllerRevisions and events there; no nodes, no namespaces.
    User {
        name: "daemonscope-ns-viewer",
        context: crate::sim::NS_VIEW_CONTEXT,
        namespace: SCOPED_NAMESPACE,
        rules: &[Rule {
            verbs: READ,
            resources: &["pods", "pods/log", "daemonsets", "controllerrevisions", "events"],
            namespaces: Some(&[SCOPED_NAMESPACE]),
        }],
    },
    // Reads everything and may restart pods, but may not patch DaemonSets (no rollouts).
    User {
        name: "daemonscope-operator",
        context: crate::sim::OPERATOR_CONTEXT,
        namespace: "default",
        rules: &[
            Rule { verbs: READ, resources: &["*"], namespaces: None },
            Rule { verbs: &["delete"], resources: &["pods"], namespaces: None },
        ],
    },
];

pub const ADMIN: usize = 0;
pub const READONLY: usize = 1;

/// What is asked: the attributes of a `ResourceAttributes`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attributes<'a> {
    pub verb: &'a str,
    /// `plural` or `plural/subresource`.
    pub resource: String,
    /// None: cluster scope (a cluster-scoped kind, or a list across all namespaces).
    pub namespace: Option<&'a str>,
    pub cluster_scoped_kind: bool,
}

impl Rule {
    fn allows(&self, a: &Attributes) -> bool {
        let verb = self.verbs.iter().any(|v| *v == "*" || *v == a.verb);
        let resource = self.resources.iter().any(|r| {
            *r == "*"
                || *r == a.resource
                || r.strip_suffix("/*").is_some_and(|p| a.resource.split('/').next() == Some(p))
        });
        let scope = match self.namespaces {
            None => true,
            // A RoleBinding grants only namespaced objects in its own namespace.
            Some(list) => !a.cluster_scoped_kind && a.namespace.is_some_and(|ns| list.contains(&ns)),
        };
        verb && resource && scope
    }
}

impl User {
    pub fn allows(&self, a: &Attributes) -> bool {
        self.rules.iter().any(|r| r.allows(a))
    }
}

/// The attributes of a resource request.
pub fn attributes<'a>(verb: &'a str, t: &'a Target) -> Attributes<'a> {
    let resource = match &t.subresource {
        Some(s) => format!("{}/{s}", t.kind.plural()),
        None => t.kind.plural().to_string(),
    };
    Attributes { verb, resource, namespace: t.namespace.as_deref(), cluster_scoped_kind: !t.kind.namespaced() }
}

/// The two review paths; None for any other path.
pub fn review_kind(path: &str) -> Option<&'static str> {
    match path.trim_end_matches('/') {
        "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews" => Some("SelfSubjectAccessReview"),
        "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews" => Some("SelfSubjectRulesReview"),
        _ => None,
    }
}

/// Answer a review for `user`: the request's object with its `status` filled in, 201 Created
/// as the API server answers (nothing is stored).
pub fn review(user: &User, kind: &str, body: &[u8]) -> Result<Resp, ApiError> {
    // client-go's typed clients (so `kubectl auth can-i`) send these as protobuf; the answer
    // may be JSON, which their Accept header lists too.
    let mut v: Value = match body.strip_prefix(proto::MAGIC) {
        Some(envelope) => proto::review(kind, envelope)
            .ok_or_else(|| ApiError::bad_request(format!("decoding the protobuf {kind}: malformed")))?,
        None => serde_json::from_slice(body).map_err(|e| ApiError::bad_request(format!("decoding the {kind}: {e}")))?,
    };
    if v.get("kind").and_then(Value::as_str).is_some_and(|k| k != kind) {
        return Err(ApiError::bad_request(format!("the body is not a {kind}")));
    }
    let spec = v.get("spec").cloned().unwrap_or(Value::Null);
    let status =
        if kind == "SelfSubjectAccessReview" { access_status(user, &spec)? } else { rules_status(user, &spec)? };
    v["kind"] = json!(kind);
    v["apiVersion"] = json!("authorization.k8s.io/v1");
    if v.get("metadata").is_none() {
        v["metadata"] = json!({});
    }
    v["status"] = status;
    Ok(json_response(201, Bytes::from(v.to_string())))
}

fn access_status(user: &User, spec: &Value) -> Result<Value, ApiError> {
    let Some(ra) = spec.get("resourceAttributes") else {
        // Non-resource URLs (`/healthz` …): every authenticated user may GET them here.
        return Ok(json!({ "allowed": spec.get("nonResourceAttributes").is_some() }));
    };
    let s = |k: &str| ra.get(k).and_then(Value::as_str).unwrap_or("");
    let verb = s("verb");
    if verb.is_empty() {
        return Err(ApiError::bad_request("spec.resourceAttributes.verb: Required value"));
    }
    let plural = s("resource");
    let kind = crate::sim::Kind::ALL.into_iter().find(|k| k.plural() == plural && k.group() == s("group"));
    let resource = match s("subresource") {
        "" => plural.to_string(),
        sub => format!("{plural}/{sub}"),
    };
    let namespace = Some(s("namespace")).filter(|n| !n.is_empty());
    let a = Attributes { verb, resource, namespace, cluster_scoped_kind: kind.is_some_and(|k| !k.namespaced()) };
    Ok(if user.allows(&a) {
        json!({ "allowed": true, "reason": format!("RBAC: allowed by the simulator's rules for User \"{}\"", user.name) })
    } else {
        json!({ "allowed": false })
    })
}

fn rules_status(user: &User, spec: &Value) -> Result<Value, ApiError> {
    let ns = spec.get("namespace").and_then(Value::as_str).unwrap_or("");
    if ns.is_empty() {
        return Err(ApiError::bad_request("spec.namespace: Required value: no namespace on request"));
    }
    let mut rules = vec![json!({
        "verbs": ["create"],
        "apiGroups": ["authorization.k8s.io"],
        "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"],
    })];
    for r in user.rules.iter().filter(|r| r.namespaces.is_none_or(|l| l.contains(&ns))) {
        let groups: Vec<&str> = if r.resources == ["*"] {
            vec!["*"]
        } else {
            let mut g: Vec<&str> = r
                .resources
                .iter()
                .filter_map(|res| {
                    let plural = res.split('/').next().unwrap_or(res);
                    crate::sim::Kind::ALL.into_iter().find(|k| k.plural() == plural).map(|k| k.group())
                })
                .collect();
            g.sort_unstable();
            g.dedup();
            g
        };
        rules.push(json!({ "verbs": r.verbs, "apiGroups": groups, "resources": r.resources }));
    }
    Ok(json!({
        "resourceRules": rules,
        "nonResourceRules": [{ "verbs": ["get"], "nonResourceURLs": ["/healthz", "/livez", "/readyz", "/version", "/api", "/api/*", "/apis", "/apis/*"] }],
        "incomplete": false,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a<'x>(verb: &'x str, resource: &str, namespace: Option<&'x str>, cluster: bool) -> Attributes<'x> {
        Attributes { verb, resource: resource.into(), namespace, cluster_scoped_kind: cluster }
    }

    // Expected values follow Kubernetes RBAC: a RoleBinding grants namespaced resources in its
    // namespace only; a cluster-wide list needs a ClusterRoleBinding.
    #[test]
    fn namespace_viewer_reads_its_namespace_only() {
        let u = &USERS[2];
        assert!(u.allows(&a("list", "pods", Some(SCOPED_NAMESPACE), false)));
        assert!(u.allows(&a("get", "pods/log", Some(SCOPED_NAMESPACE), false)));
        assert!(!u.allows(&a("list", "pods", None, false)), "all-namespace list needs a cluster binding");
        assert!(!u.allows(&a("list", "pods", Some("kube-system"), false)));
        assert!(!u.allows(&a("list", "nodes", None, true)));
        assert!(!u.allows(&a("delete", "pods", Some(SCOPED_NAMESPACE), false)));
    }

    #[test]
    fn operator_deletes_pods_but_does_not_patch_daemonsets() {
        let u = &USERS[3];
        assert!(u.allows(&a("delete", "pods", Some("kube-system"), false)));
        assert!(u.allows(&a("watch", "nodes", None, true)));
        assert!(!u.allows(&a("patch", "daemonsets", Some("kube-system"), false)));
        assert!(!u.allows(&a("delete", "pods/eviction", Some("kube-system"), false)));
    }

    #[test]
    fn reads_the_protobuf_review_kubectl_sends() {
        // `kubectl auth can-i list pods -n ns` (v1.33), as its -v=9 log dumps the body.
        let attrs = [b"\x0a\x02ns".as_slice(), b"\x12\x04list", b"\x1a\x00", b"\x22\x00", b"\x2a\x04pods"].concat();
        let spec = [&[0x0a, attrs.len() as u8][..], &attrs].concat();
        let object = [&[0x0a, 0x00, 0x12, spec.len() as u8][..], &spec].concat();
        let type_meta = b"\x0a\x19authorization.k8s.io/v1\x12\x17SelfSubjectAccessReview";
        let envelope = [&[0x0a, type_meta.len() as u8][..], type_meta, &[0x12, object.len() as u8], &object].concat();
        let v = proto::review("SelfSubjectAccessReview", &envelope).expect("decodes");
        assert_eq!(
            v["spec"]["resourceAttributes"],
            json!({ "namespace": "ns", "verb": "list", "group": "", "version": "", "resource": "pods" })
        );
    }

    #[test]
    fn readonly_never_writes() {
        let u = &USERS[READONLY];
        for verb in ["create", "update", "patch", "delete", "deletecollection"] {
            assert!(!u.allows(&a(verb, "pods", Some("x"), false)), "{verb}");
        }
        assert!(u.allows(&a("get", "pods/log", Some("x"), false)));
    }
}
