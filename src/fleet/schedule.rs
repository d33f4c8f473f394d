//! Should a DaemonSet run a pod on a node? One predicate, used by the fleet index (to find
//! missing and misscheduled pods) and by the simulator's DaemonSet controller (to decide where
//! to create them), so the two can never disagree.
//!
//! It follows Kubernetes' own code (v1.28):
//! - `pkg/controller/daemon/daemon_controller.go` `NodeShouldRunDaemonPod` and `predicates`;
//! - `pkg/controller/daemon/util` `AddOrUpdateDaemonPodTolerations` (the tolerations the
//!   controller adds to every daemon pod);
//! - `component-helpers/scheduling/corev1/nodeaffinity` (nodeSelector AND any one required
//!   nodeSelectorTerm; matchFields supports `metadata.name` only);
//! - `component-helpers/scheduling/corev1` `FindMatchingUntoleratedTaint` / `ToleratesTaint`.
//!
//! This module is pure: no I/O, no Kubernetes objects (conversions live in `cluster::project`).

use std::collections::BTreeMap;
use std::fmt;

/// A taint's effect. Unknown effects from the wire are kept as `Other` and never match a
/// NoSchedule/NoExecute filter, like the upstream string comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub enum TaintEffect {
    NoSchedule,
    PreferNoSchedule,
    NoExecute,
    Other,
}

impl TaintEffect {
    pub fn parse(s: &str) -> TaintEffect {
        match s {
            "NoSchedule" => TaintEffect::NoSchedule,
            "PreferNoSchedule" => TaintEffect::PreferNoSchedule,
            "NoExecute" => TaintEffect::NoExecute,
            _ => TaintEffect::Other,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            TaintEffect::NoSchedule => "NoSchedule",
            TaintEffect::PreferNoSchedule => "PreferNoSchedule",
            TaintEffect::NoExecute => "NoExecute",
            TaintEffect::Other => "Other",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct Taint {
    pub key: String,
    pub value: String,
    pub effect: TaintEffect,
}

impl fmt::Display for Taint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.value.is_empty() {
            write!(f, "{}:{}", self.key, self.effect.as_str())
        } else {
            write!(f, "{}={}:{}", self.key, self.value, self.effect.as_str())
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TolerationOp {
    /// `Equal`, also the meaning of an empty operator.
    Equal,
    Exists,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Toleration {
    /// Empty key with `Exists` tolerates every taint (of the effect, if one is given).
    pub key: String,
    pub op: TolerationOp,
    pub value: String,
    /// `None` tolerates every effect.
    pub effect: Option<TaintEffect>,
}

impl Toleration {
    pub fn exists(key: &str, effect: TaintEffect) -> Toleration {
        Toleration { key: key.to_string(), op: TolerationOp::Exists, value: String::new(), effect: Some(effect) }
    }

    /// `ToleratesTaint` in k8s.io/api/core/v1/toleration.go.
    pub fn tolerates(&self, taint: &Taint) -> bool {
        if let Some(e) = self.effect
            && e != taint.effect
        {
            return false;
        }
        if !self.key.is_empty() && self.key != taint.key {
            return false;
        }
        match self.op {
            TolerationOp::Exists => true,
            // An empty key is only valid with Exists; with Equal it must match the key above.
            TolerationOp::Equal => self.key == taint.key && self.value == taint.value,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SelectorOp {
    In,
    NotIn,
    Exists,
    DoesNotExist,
    Gt,
    Lt,
    /// An operator this version does not know: never matches (upstream returns an error,
    /// which makes the term fail).
    Unknown,
}

impl SelectorOp {
    pub fn parse(s: &str) -> SelectorOp {
        match s {
            "In" => SelectorOp::In,
            "NotIn" => SelectorOp::NotIn,
            "Exists" => SelectorOp::Exists,
            "DoesNotExist" => SelectorOp::DoesNotExist,
            "Gt" => SelectorOp::Gt,
            "Lt" => SelectorOp::Lt,
            _ => SelectorOp::Unknown,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            SelectorOp::In => "In",
            SelectorOp::NotIn => "NotIn",
            SelectorOp::Exists => "Exists",
            SelectorOp::DoesNotExist => "DoesNotExist",
            SelectorOp::Gt => "Gt",
            SelectorOp::Lt => "Lt",
            SelectorOp::Unknown => "?",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Requirement {
    pub key: String,
    pub op: SelectorOp,
    pub values: Vec<String>,
}

impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.op {
            SelectorOp::Exists | SelectorOp::DoesNotExist => write!(f, "{} {}", self.key, self.op.as_str()),
            _ => write!(f, "{} {} [{}]", self.key, self.op.as_str(), self.values.join(",")),
        }
    }
}

impl Requirement {
    /// `labels.Requirement.Matches` semantics as used by nodeaffinity (`nodeSelectorRequirementsAsSelector`).
    /// A requirement `labels.NewRequirement` rejects (In/NotIn without values, Exists/
    /// DoesNotExist with values) makes its term fail, as the parse error does upstream
    /// (`LazyErrorNodeSelector.Match` skips terms with errors).
    fn matches(&self, value: Option<&str>) -> bool {
        match self.op {
            SelectorOp::In => value.is_some_and(|v| self.values.iter().any(|x| x == v)),
            SelectorOp::NotIn => !self.values.is_empty() && value.is_none_or(|v| !self.values.iter().any(|x| x == v)),
            SelectorOp::Exists => self.values.is_empty() && value.is_some(),
            SelectorOp::DoesNotExist => self.values.is_empty() && value.is_none(),
            SelectorOp::Gt | SelectorOp::Lt => {
                // Exactly one integer value is required; a label that is not an integer fails.
                let (Some(v), [bound]) = (value, self.values.as_slice()) else { return false };
                let (Ok(v), Ok(bound)) = (v.parse::<i64>(), bound.parse::<i64>()) else { return false };
                if self.op == SelectorOp::Gt { v > bound } else { v < bound }
            }
            SelectorOp::Unknown => false,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct NodeSelectorTerm {
    pub match_expressions: Vec<Requirement>,
    /// Only `metadata.name` is a supported field; any other key fails the term.
    pub match_fields: Vec<Requirement>,
}

impl NodeSelectorTerm {
    /// The first requirement of this term the node fails, or `None` when the term matches.
    /// An empty term matches nothing (upstream: "a null or empty term matches no objects").
    fn first_failure<'a>(&'a self, node: &NodeView<'_>) -> Option<TermFailure<'a>> {
        if self.match_expressions.is_empty() && self.match_fields.is_empty() {
            return Some(TermFailure::Empty);
        }
        for r in &self.match_expressions {
            if !r.matches(node.labels.get(&r.key).map(String::as_str)) {
                return Some(TermFailure::Requirement(r));
            }
        }
        for r in &self.match_fields {
            let value = if r.key == "metadata.name" { Some(node.name) } else { None };
            // Only In/NotIn with exactly one value are valid for fields
            // (`nodeSelectorRequirementsAsFieldSelector`); anything else is a parse error upstream.
            let valid =
                r.key == "metadata.name" && matches!(r.op, SelectorOp::In | SelectorOp::NotIn) && r.values.len() == 1;
            if !valid || !r.matches(value) {
                return Some(TermFailure::Requirement(r));
            }
        }
        None
    }
}

enum TermFailure<'a> {
    Empty,
    Requirement(&'a Requirement),
}

/// The scheduling-relevant part of a DaemonSet's pod template.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct PodSchedSpec {
    /// `spec.template.spec.nodeName`: when set, the DaemonSet runs only there.
    pub node_name: String,
    pub node_selector: BTreeMap<String, String>,
    /// `affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms`;
    /// `None` when there is no required node affinity. `Some(vec![])` matches nothing.
    pub required_terms: Option<Vec<NodeSelectorTerm>>,
    /// The template's own tolerations (the controller's defaults are added by [`daemon_tolerations`]).
    pub tolerations: Vec<Toleration>,
    pub host_network: bool,
}

/// What the predicate needs of a node.
#[derive(Clone, Copy, Debug)]
pub struct NodeView<'a> {
    pub name: &'a str,
    pub labels: &'a BTreeMap<String, String>,
    pub taints: &'a [Taint],
}

/// Why a DaemonSet should not run on a node: the first rule that decided it, in the order
/// `NodeShouldRunDaemonPod` checks them.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum NotEligible {
    /// The template pins the pod to another node via `nodeName`.
    NodeName { wanted: String },
    /// A nodeSelector key the node lacks or has with another value.
    NodeSelector { key: String, wanted: String, actual: Option<String> },
    /// No required nodeSelectorTerm matched; the first failing requirement of the first term.
    Affinity { requirement: Option<String> },
    /// A NoSchedule/NoExecute taint the daemon pod does not tolerate.
    Taint(Taint),
}

impl fmt::Display for NotEligible {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NotEligible::NodeName { wanted } => write!(f, "template nodeName is {wanted}"),
            NotEligible::NodeSelector { key, wanted, actual: None } => {
                write!(f, "nodeSelector {key}={wanted}: node has no {key} label")
            }
            NotEligible::NodeSelector { key, wanted, actual: Some(a) } => {
                write!(f, "nodeSelector {key}={wanted}: node has {key}={a}")
            }
            NotEligible::Affinity { requirement: Some(r) } => write!(f, "node affinity: no term matched ({r})"),
            NotEligible::Affinity { requirement: None } => write!(f, "node affinity: no term matched"),
            NotEligible::Taint(t) => write!(f, "untolerated taint {t}"),
        }
    }
}

/// The answer of [`should_run`], with both booleans of `NodeShouldRunDaemonPod`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    /// A daemon pod should be created here.
    pub should_run: bool,
    /// An existing daemon pod may keep running (only a NoExecute taint or a non-matching
    /// selector evicts it).
    pub should_continue_running: bool,
    /// Why `should_run` is false.
    pub reason: Option<NotEligible>,
}

impl Decision {
    fn run() -> Decision {
        Decision { should_run: true, should_continue_running: true, reason: None }
    }
    fn no(reason: NotEligible, keep: bool) -> Decision {
        Decision { should_run: false, should_continue_running: keep, reason: Some(reason) }
    }
}

/// Well-known taint keys (k8s.io/api/core/v1/well_known_taints.go).
pub mod taints {
    pub const NOT_READY: &str = "node.kubernetes.io/not-ready";
    pub const UNREACHABLE: &str = "node.kubernetes.io/unreachable";
    pub const DISK_PRESSURE: &str = "node.kubernetes.io/disk-pressure";
    pub const MEMORY_PRESSURE: &str = "node.kubernetes.io/memory-pressure";
    pub const PID_PRESSURE: &str = "node.kubernetes.io/pid-pressure";
    pub const UNSCHEDULABLE: &str = "node.kubernetes.io/unschedulable";
    pub const NETWORK_UNAVAILABLE: &str = "node.kubernetes.io/network-unavailable";
}

/// The tolerations the DaemonSet controller adds to every daemon pod
/// (`util.AddOrUpdateDaemonPodTolerations`), followed by the template's own.
pub fn daemon_tolerations(spec: &PodSchedSpec) -> Vec<Toleration> {
    let mut out = spec.tolerations.clone();
    let mut add = |key: &str, effect: TaintEffect| {
        let t = Toleration::exists(key, effect);
        // AddOrUpdateTolerationInPod replaces a toleration with the same key and effect.
        if let Some(slot) = out.iter_mut().find(|x| x.key == t.key && x.effect == t.effect) {
            *slot = t;
        } else {
            out.push(t);
        }
    };
    add(taints::NOT_READY, TaintEffect::NoExecute);
    add(taints::UNREACHABLE, TaintEffect::NoExecute);
    add(taints::DISK_PRESSURE, TaintEffect::NoSchedule);
    add(taints::MEMORY_PRESSURE, TaintEffect::NoSchedule);
    add(taints::PID_PRESSURE, TaintEffect::NoSchedule);
    add(taints::UNSCHEDULABLE, TaintEffect::NoSchedule);
    if spec.host_network {
        add(taints::NETWORK_UNAVAILABLE, TaintEffect::NoSchedule);
    }
    out
}

/// `FindMatchingUntoleratedTaint` restricted to the effects `filter` accepts.
pub fn first_untolerated<'a>(
    taints: &'a [Taint],
    tolerations: &[Toleration],
    filter: impl Fn(TaintEffect) -> bool,
) -> Option<&'a Taint> {
    taints.iter().filter(|t| filter(t.effect)).find(|t| !tolerations.iter().any(|tol| tol.tolerates(t)))
}

/// `NodeShouldRunDaemonPod` (pkg/controller/daemon, v1.28). `tolerations` must be
/// [`daemon_tolerations`] of `spec`; callers evaluating many nodes compute it once.
pub fn should_run_with(node: &NodeView<'_>, spec: &PodSchedSpec, tolerations: &[Toleration]) -> Decision {
    if !spec.node_name.is_empty() && spec.node_name != node.name {
        return Decision::no(NotEligible::NodeName { wanted: spec.node_name.clone() }, false);
    }
    // GetRequiredNodeAffinity(pod).Match(node): the nodeSelector, then the required terms.
    for (key, wanted) in &spec.node_selector {
        let actual = node.labels.get(key);
        if actual != Some(wanted) {
            let reason =
                NotEligible::NodeSelector { key: key.clone(), wanted: wanted.clone(), actual: actual.cloned() };
            return Decision::no(reason, false);
        }
    }
    if let Some(terms) = &spec.required_terms {
        let mut first: Option<String> = None;
        let mut matched = false;
        for term in terms {
            match term.first_failure(node) {
                None => {
                    matched = true;
                    break;
                }
                Some(fail) => {
                    if first.is_none() {
                        first = Some(match fail {
                            TermFailure::Empty => "empty term".to_string(),
                            TermFailure::Requirement(r) => r.to_string(),
                        });
                    }
                }
            }
        }
        if !matched {
            return Decision::no(NotEligible::Affinity { requirement: first }, false);
        }
    }
    let blocking = |e: TaintEffect| matches!(e, TaintEffect::NoSchedule | TaintEffect::NoExecute);
    if let Some(t) = first_untolerated(node.taints, tolerations, blocking) {
        // Scheduled daemon pods continue running unless a NoExecute taint is untolerated.
        let keep = first_untolerated(node.taints, tolerations, |e| e == TaintEffect::NoExecute).is_none();
        return Decision::no(NotEligible::Taint(t.clone()), keep);
    }
    Decision::run()
}

/// [`should_run_with`] with the controller's default tolerations computed here.
pub fn should_run(node: &NodeView<'_>, spec: &PodSchedSpec) -> Decision {
    should_run_with(node, spec, &daemon_tolerations(spec))
}

#[cfg(test)]
mod tests {
    //! Table tests of the predicate, case by case from Kubernetes' behaviour. Upstream functions:
    //! `NodeShouldRunDaemonPod` (pkg/controller/daemon/daemon_controller.go),
    //! `AddOrUpdateDaemonPodTolerations` (pkg/controller/daemon/util/daemonset_util.go),
    //! `nodeaffinity.GetRequiredNodeAffinity` / `NodeSelector.Match`
    //! (component-helpers/scheduling/corev1/nodeaffinity), `labels.Requirement.Matches`
    //! (apimachinery/pkg/labels/selector.go), `ToleratesTaint` (api/core/v1/toleration.go).

    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }
    fn req(key: &str, op: &str, values: &[&str]) -> Requirement {
        Requirement {
            key: key.to_string(),
            op: SelectorOp::parse(op),
            values: values.iter().map(|v| v.to_string()).collect(),
        }
    }
    fn term(exprs: Vec<Requirement>, fields: Vec<Requirement>) -> NodeSelectorTerm {
        NodeSelectorTerm { match_expressions: exprs, match_fields: fields }
    }
    fn taint(key: &str, value: &str, effect: TaintEffect) -> Taint {
        Taint { key: key.to_string(), value: value.to_string(), effect }
    }
    fn decide(name: &str, l: &[(&str, &str)], t: &[Taint], spec: &PodSchedSpec) -> Decision {
        let l = labels(l);
        should_run(&NodeView { name, labels: &l, taints: t }, spec)
    }
    fn affinity(terms: Vec<NodeSelectorTerm>) -> PodSchedSpec {
        PodSchedSpec { required_terms: Some(terms), ..PodSchedSpec::default() }
    }

    #[test]
    fn node_selector_requires_every_key_with_its_value() {
        let spec = PodSchedSpec { node_selector: labels(&[("disk", "ssd"), ("zone", "a")]), ..Default::default() };
        let cases: &[(&[(&str, &str)], bool)] = &[
            (&[("disk", "ssd"), ("zone", "a")], true),
            (&[("disk", "ssd"), ("zone", "a"), ("extra", "x")], true),
            (&[("disk", "ssd")], false),
            (&[("disk", "hdd"), ("zone", "a")], false),
            (&[], false),
        ];
        for (l, want) in cases {
            assert_eq!(decide("n", l, &[], &spec).should_run, *want, "labels {l:?}");
        }
        let d = decide("n", &[("disk", "hdd"), ("zone", "a")], &[], &spec);
        assert_eq!(
            d.reason,
            Some(NotEligible::NodeSelector { key: "disk".into(), wanted: "ssd".into(), actual: Some("hdd".into()) })
        );
        // A selector mismatch evicts too: shouldContinueRunning is false.
        assert!(!d.should_continue_running);
    }

    #[test]
    fn affinity_operators_follow_label_requirement_semantics() {
        let node = [("zone", "a"), ("cores", "16"), ("name", "web")];
        let cases: Vec<(Requirement, bool)> = vec![
            (req("zone", "In", &["a", "b"]), true),
            (req("zone", "In", &["b"]), false),
            (req("missing", "In", &["a"]), false),
            (req("zone", "NotIn", &["b"]), true),
            (req("zone", "NotIn", &["a"]), false),
            // NotIn matches a node without the label (labels.Requirement.Matches).
            (req("missing", "NotIn", &["a"]), true),
            (req("zone", "Exists", &[]), true),
            (req("missing", "Exists", &[]), false),
            (req("missing", "DoesNotExist", &[]), true),
            (req("zone", "DoesNotExist", &[]), false),
            (req("cores", "Gt", &["8"]), true),
            (req("cores", "Gt", &["16"]), false),
            (req("cores", "Lt", &["32"]), true),
            (req("cores", "Lt", &["16"]), false),
            // Gt/Lt: a value that is not an integer, or not exactly one value, fails.
            (req("cores", "Gt", &["eight"]), false),
            (req("name", "Gt", &["1"]), false),
            (req("cores", "Gt", &["1", "2"]), false),
            (req("cores", "Gt", &[]), false),
            (req("missing", "Lt", &["100"]), false),
            (req("zone", "Near", &["a"]), false),
            // Requirements labels.NewRequirement rejects fail their term.
            (req("missing", "NotIn", &[]), false),
            (req("zone", "Exists", &["a"]), false),
            (req("missing", "DoesNotExist", &["a"]), false),
        ];
        for (r, want) in cases {
            let spec = affinity(vec![term(vec![r.clone()], vec![])]);
            assert_eq!(decide("n", &node, &[], &spec).should_run, want, "{r}");
        }
    }

    #[test]
    fn match_fields_supports_metadata_name_only() {
        let cases: Vec<(Requirement, bool)> = vec![
            (req("metadata.name", "In", &["node-1"]), true),
            (req("metadata.name", "In", &["node-2"]), false),
            (req("metadata.name", "NotIn", &["node-2"]), true),
            (req("metadata.name", "NotIn", &["node-1"]), false),
            // Other operators and other fields are invalid for node fields: the term fails.
            (req("metadata.name", "Exists", &[]), false),
            (req("metadata.uid", "In", &["node-1"]), false),
            // Field requirements take exactly one value.
            (req("metadata.name", "In", &["node-1", "node-2"]), false),
            (req("metadata.name", "In", &[]), false),
        ];
        for (r, want) in cases {
            let spec = affinity(vec![term(vec![], vec![r.clone()])]);
            assert_eq!(decide("node-1", &[], &[], &spec).should_run, want, "{r}");
        }
    }

    #[test]
    fn terms_are_ored_and_requirements_within_a_term_anded() {
        let node = [("zone", "a"), ("disk", "ssd")];
        let both = term(vec![req("zone", "In", &["a"]), req("disk", "In", &["hdd"])], vec![]);
        assert!(!decide("n", &node, &[], &affinity(vec![both.clone()])).should_run, "AND within a term");
        let other = term(vec![req("disk", "Exists", &[])], vec![]);
        assert!(decide("n", &node, &[], &affinity(vec![both.clone(), other])).should_run, "OR across terms");
        let d = decide("n", &node, &[], &affinity(vec![both]));
        assert_eq!(d.reason, Some(NotEligible::Affinity { requirement: Some("disk In [hdd]".into()) }));
        // matchExpressions and matchFields of one term are ANDed.
        let mixed = term(vec![req("zone", "In", &["a"])], vec![req("metadata.name", "In", &["other"])]);
        assert!(!decide("n", &node, &[], &affinity(vec![mixed])).should_run);
    }

    #[test]
    fn empty_terms_match_nothing() {
        // "A null or empty node selector term matches no objects" and an empty list of terms
        // matches nothing (nodeaffinity.NodeSelector.Match).
        assert!(!decide("n", &[("a", "b")], &[], &affinity(vec![term(vec![], vec![])])).should_run);
        assert!(!decide("n", &[("a", "b")], &[], &affinity(vec![])).should_run);
        // An empty term next to a matching one does not prevent the match.
        let ok = term(vec![req("a", "In", &["b"])], vec![]);
        assert!(decide("n", &[("a", "b")], &[], &affinity(vec![term(vec![], vec![]), ok])).should_run);
        // No affinity at all runs everywhere.
        assert!(decide("n", &[], &[], &PodSchedSpec::default()).should_run);
    }

    #[test]
    fn node_selector_and_affinity_must_both_match() {
        let spec = PodSchedSpec {
            node_selector: labels(&[("os", "linux")]),
            required_terms: Some(vec![term(vec![req("zone", "In", &["a"])], vec![])]),
            ..Default::default()
        };
        assert!(decide("n", &[("os", "linux"), ("zone", "a")], &[], &spec).should_run);
        assert!(!decide("n", &[("os", "linux"), ("zone", "b")], &[], &spec).should_run);
        assert!(!decide("n", &[("os", "windows"), ("zone", "a")], &[], &spec).should_run);
    }

    #[test]
    fn template_node_name_pins_the_daemonset() {
        let spec = PodSchedSpec { node_name: "n1".into(), ..Default::default() };
        assert!(decide("n1", &[], &[], &spec).should_run);
        let d = decide("n2", &[], &[], &spec);
        assert_eq!((d.should_run, d.should_continue_running), (false, false));
        assert_eq!(d.reason, Some(NotEligible::NodeName { wanted: "n1".into() }));
    }

    #[test]
    fn tolerations_match_taints_like_tolerates_taint() {
        let t = taint("dedicated", "gpu", TaintEffect::NoSchedule);
        let tol = |key: &str, op: TolerationOp, value: &str, effect: Option<TaintEffect>| Toleration {
            key: key.into(),
            op,
            value: value.into(),
            effect,
        };
        let cases = vec![
            (tol("dedicated", TolerationOp::Equal, "gpu", Some(TaintEffect::NoSchedule)), true),
            (tol("dedicated", TolerationOp::Equal, "cpu", Some(TaintEffect::NoSchedule)), false),
            (tol("dedicated", TolerationOp::Exists, "", Some(TaintEffect::NoSchedule)), true),
            (tol("dedicated", TolerationOp::Exists, "", Some(TaintEffect::NoExecute)), false),
            // An effect-less toleration tolerates every effect.
            (tol("dedicated", TolerationOp::Equal, "gpu", None), true),
            (tol("other", TolerationOp::Exists, "", None), false),
            // Empty key with Exists tolerates every taint (of the effect, if one is given).
            (tol("", TolerationOp::Exists, "", None), true),
            (tol("", TolerationOp::Exists, "", Some(TaintEffect::NoSchedule)), true),
            (tol("", TolerationOp::Exists, "", Some(TaintEffect::NoExecute)), false),
        ];
        for (tl, want) in cases {
            assert_eq!(tl.tolerates(&t), want, "{tl:?}");
            let spec = PodSchedSpec { tolerations: vec![tl.clone()], ..Default::default() };
            assert_eq!(decide("n", &[], std::slice::from_ref(&t), &spec).should_run, want, "{tl:?}");
        }
    }

    #[test]
    fn controller_default_tolerations() {
        use taints::*;
        let plain = PodSchedSpec::default();
        let host = PodSchedSpec { host_network: true, ..Default::default() };
        let cases: Vec<(Taint, bool, bool)> = vec![
            // (taint, should run without hostNetwork, with hostNetwork)
            (taint(NOT_READY, "", TaintEffect::NoExecute), true, true),
            (taint(UNREACHABLE, "", TaintEffect::NoExecute), true, true),
            // Only the NoExecute variants are tolerated: a NotReady node is not eligible.
            (taint(NOT_READY, "", TaintEffect::NoSchedule), false, false),
            (taint(UNREACHABLE, "", TaintEffect::NoSchedule), false, false),
            (taint(DISK_PRESSURE, "", TaintEffect::NoSchedule), true, true),
            (taint(MEMORY_PRESSURE, "", TaintEffect::NoSchedule), true, true),
            (taint(PID_PRESSURE, "", TaintEffect::NoSchedule), true, true),
            (taint(UNSCHEDULABLE, "", TaintEffect::NoSchedule), true, true),
            (taint(NETWORK_UNAVAILABLE, "", TaintEffect::NoSchedule), false, true),
            // PreferNoSchedule never blocks a daemon pod.
            (taint("soft", "", TaintEffect::PreferNoSchedule), true, true),
            (taint("hard", "", TaintEffect::NoSchedule), false, false),
        ];
        for (t, want_plain, want_host) in cases {
            let ts = std::slice::from_ref(&t);
            assert_eq!(decide("n", &[], ts, &plain).should_run, want_plain, "{t}");
            assert_eq!(decide("n", &[], ts, &host).should_run, want_host, "{t} hostNetwork");
        }
    }

    #[test]
    fn template_toleration_with_same_key_and_effect_is_replaced() {
        let spec = PodSchedSpec {
            tolerations: vec![Toleration {
                key: taints::NOT_READY.into(),
                op: TolerationOp::Equal,
                value: "x".into(),
                effect: Some(TaintEffect::NoExecute),
            }],
            ..Default::default()
        };
        let tols = daemon_tolerations(&spec);
        let nr: Vec<_> = tols.iter().filter(|t| t.key == taints::NOT_READY).collect();
        assert_eq!(nr.len(), 1);
        assert_eq!(nr[0].op, TolerationOp::Exists);
    }

    #[test]
    fn should_continue_running_only_stops_on_untolerated_no_execute() {
        let spec = PodSchedSpec::default();
        let d = decide("n", &[], &[taint("maint", "", TaintEffect::NoSchedule)], &spec);
        assert_eq!((d.should_run, d.should_continue_running), (false, true));
        let d = decide("n", &[], &[taint("maint", "", TaintEffect::NoExecute)], &spec);
        assert_eq!((d.should_run, d.should_continue_running), (false, false));
        // Both: the reason is the first untolerated taint; NoExecute decides eviction.
        let both = [taint("a", "", TaintEffect::NoSchedule), taint("b", "", TaintEffect::NoExecute)];
        let d = decide("n", &[], &both, &spec);
        assert_eq!(d.reason, Some(NotEligible::Taint(both[0].clone())));
        assert!(!d.should_continue_running);
        // A NotReady node: unreachable NoExecute (tolerated) + NoSchedule (not): keeps running.
        let down = [
            taint(taints::UNREACHABLE, "", TaintEffect::NoExecute),
            taint(taints::UNREACHABLE, "", TaintEffect::NoSchedule),
        ];
        let d = decide("n", &[], &down, &spec);
        assert_eq!((d.should_run, d.should_continue_running), (false, true));
    }
}
