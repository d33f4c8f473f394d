//! Label and field selectors as the API server parses and applies them
//! (k8s.io/apimachinery/pkg/labels/selector.go `Parse`, pkg/fields/selector.go `ParseSelector`,
//! and each registry's `GetAttrs`/`*ToSelectableFields` for the fields a kind supports).
//! Parse errors are the messages served in a 400 Status.

use std::borrow::Cow;
use std::collections::BTreeMap;

use crate::sim::store::{Object, Stored, pod_field};

/// One label requirement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LabelReq {
    Exists(String),
    NotExists(String),
    Eq(String, String),
    NotEq(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Gt(String, i64),
    Lt(String, i64),
}

impl LabelReq {
    fn matches(&self, labels: Option<&BTreeMap<String, String>>) -> bool {
        let get = |k: &str| labels.and_then(|l| l.get(k));
        match self {
            LabelReq::Exists(k) => get(k).is_some(),
            LabelReq::NotExists(k) => get(k).is_none(),
            LabelReq::Eq(k, v) => get(k) == Some(v),
            // `!=` matches objects without the label too (labels.Requirement.Matches).
            LabelReq::NotEq(k, v) => get(k) != Some(v),
            LabelReq::In(k, vs) => get(k).is_some_and(|x| vs.contains(x)),
            LabelReq::NotIn(k, vs) => get(k).is_none_or(|x| !vs.contains(x)),
            LabelReq::Gt(k, n) => get(k).and_then(|x| x.parse::<i64>().ok()).is_some_and(|x| x > *n),
            LabelReq::Lt(k, n) => get(k).and_then(|x| x.parse::<i64>().ok()).is_some_and(|x| x < *n),
        }
    }
}

/// A parsed label selector: all requirements must hold. Empty matches everything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LabelSelector(pub Vec<LabelReq>);

impl LabelSelector {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn matches(&self, labels: Option<&BTreeMap<String, String>>) -> bool {
        self.0.iter().all(|r| r.matches(labels))
    }

    /// Parse `labelSelector`.
    pub fn parse(s: &str) -> Result<LabelSelector, String> {
        let toks = lex(s)?;
        let mut p = Parser { toks, pos: 0 };
        let mut reqs = Vec::new();
        if p.peek() == &Tok::End {
            return Ok(LabelSelector(reqs));
        }
        loop {
            reqs.push(p.requirement()?);
            match p.next() {
                Tok::End => break,
                Tok::Comma => {
                    if p.peek() == &Tok::End {
                        return Err("found '', expected: identifier after ','".into());
                    }
                }
                t => return Err(format!("found '{}', expected: ',' or 'end of string'", t.text())),
            }
        }
        Ok(LabelSelector(reqs))
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Tok {
    Ident(String),
    Not,
    Eq,
    DoubleEq,
    NotEq,
    Open,
    Close,
    Comma,
    Gt,
    Lt,
    End,
}

impl Tok {
    fn text(&self) -> String {
        match self {
            Tok::Ident(s) => s.clone(),
            Tok::Not => "!".into(),
            Tok::Eq => "=".into(),
            Tok::DoubleEq => "==".into(),
            Tok::NotEq => "!=".into(),
            Tok::Open => "(".into(),
            Tok::Close => ")".into(),
            Tok::Comma => ",".into(),
            Tok::Gt => ">".into(),
            Tok::Lt => "<".into(),
            Tok::End => "".into(),
        }
    }
}

fn is_special(c: char) -> bool {
    matches!(c, '!' | '=' | '(' | ')' | ',' | '<' | '>') || c.is_whitespace()
}

fn lex(s: &str) -> Result<Vec<Tok>, String> {
    let cs: Vec<char> = s.chars().collect();
    let mut i = 0;
    let mut out = Vec::new();
    while i < cs.len() {
        let c = cs[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let two = cs.get(i + 1).copied();
        let (tok, n) = match (c, two) {
            ('=', Some('=')) => (Tok::DoubleEq, 2),
            ('!', Some('=')) => (Tok::NotEq, 2),
            ('=', _) => (Tok::Eq, 1),
            ('!', _) => (Tok::Not, 1),
            ('(', _) => (Tok::Open, 1),
            (')', _) => (Tok::Close, 1),
            (',', _) => (Tok::Comma, 1),
            ('>', _) => (Tok::Gt, 1),
            ('<', _) => (Tok::Lt, 1),
            _ => {
                let start = i;
                while i < cs.len() && !is_special(cs[i]) {
                    i += 1;
                }
                out.push(Tok::Ident(cs[start..i].iter().collect()));
                continue;
            }
        };
        out.push(tok);
        i += n;
    }
    out.push(Tok::End);
    Ok(out)
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> &Tok {
        self.toks.get(self.pos).unwrap_or(&Tok::End)
    }
    fn next(&mut self) -> Tok {
        let t = self.peek().clone();
        self.pos += 1;
        t
    }
    fn key(&mut self) -> Result<String, String> {
        match self.next() {
            Tok::Ident(k) => {
                validate_key(&k)?;
                Ok(k)
            }
            t => Err(format!("found '{}', expected: identifier", t.text())),
        }
    }
    fn requirement(&mut self) -> Result<LabelReq, String> {
        if self.peek() == &Tok::Not {
            self.next();
            return Ok(LabelReq::NotExists(self.key()?));
        }
        let key = self.key()?;
        match self.peek().clone() {
            Tok::End | Tok::Comma => Ok(LabelReq::Exists(key)),
            Tok::Eq | Tok::DoubleEq | Tok::NotEq => {
                let op = self.next();
                let value = match self.peek().clone() {
                    Tok::Ident(v) => {
                        self.next();
                        v
                    }
                    Tok::End | Tok::Comma => String::new(),
                    t => return Err(format!("found '{}', expected: identifier", t.text())),
                };
                validate_value(&value)?;
                Ok(if op == Tok::NotEq { LabelReq::NotEq(key, value) } else { LabelReq::Eq(key, value) })
            }
            Tok::Gt | Tok::Lt => {
                let op = self.next();
                let n = match self.next() {
                    Tok::Ident(v) => v.parse::<i64>().map_err(|_| {
                        format!("unable to parse requirement: for 'Gt', 'Lt' operators, the value must be an integer (got {v:?})")
                    })?,
                    t => return Err(format!("found '{}', expected: integer", t.text())),
                };
                Ok(if op == Tok::Gt { LabelReq::Gt(key, n) } else { LabelReq::Lt(key, n) })
            }
            Tok::Ident(w) if w == "in" || w == "notin" => {
                self.next();
                if self.next() != Tok::Open {
                    return Err("found '', expected: '('".into());
                }
                let mut values = Vec::new();
                loop {
                    match self.next() {
                        Tok::Ident(v) => {
                            validate_value(&v)?;
                            values.push(v);
                            match self.next() {
                                Tok::Comma => continue,
                                Tok::Close => break,
                                t => return Err(format!("found '{}', expected: ',' or ')'", t.text())),
                            }
                        }
                        Tok::Close if values.is_empty() => break,
                        t => return Err(format!("found '{}', expected: identifier", t.text())),
                    }
                }
                if values.is_empty() {
                    return Err(
                        "unable to parse requirement: for 'in', 'notin' operators, values set can't be empty".into()
                    );
                }
                Ok(if w == "in" { LabelReq::In(key, values) } else { LabelReq::NotIn(key, values) })
            }
            t => Err(format!("found '{}', expected: in, notin, =, ==, !=, gt, lt", t.text())),
        }
    }
}

fn name_part_ok(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

fn dns_subdomain_ok(s: &str) -> bool {
    s.len() <= 253
        && s.split('.').all(|l| {
            let b = l.as_bytes();
            !b.is_empty()
                && b[0].is_ascii_alphanumeric()
                && b[b.len() - 1].is_ascii_alphanumeric()
                && b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        })
}

/// `validation.IsQualifiedName`.
fn validate_key(k: &str) -> Result<(), String> {
    let ok = match k.split_once('/') {
        Some((prefix, name)) => dns_subdomain_ok(prefix) && name_part_ok(name),
        None => name_part_ok(k),
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "unable to parse requirement: key: Invalid value: {k:?}: name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
        ))
    }
}

/// `validation.IsValidLabelValue`.
fn validate_value(v: &str) -> Result<(), String> {
    if v.is_empty() || name_part_ok(v) {
        Ok(())
    } else {
        Err(format!(
            "unable to parse requirement: values[0][value]: Invalid value: {v:?}: a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
        ))
    }
}

/// One field requirement: `field=value` or `field!=value`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldReq {
    pub field: String,
    pub value: String,
    pub negate: bool,
}

/// A parsed field selector (all must hold).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldSelector(pub Vec<FieldReq>);

impl FieldSelector {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Parse `fieldSelector` and check each field is selectable on `kind`.
    pub fn parse(s: &str, kind: crate::sim::Kind) -> Result<FieldSelector, String> {
        let mut reqs = Vec::new();
        for term in split_unescaped(s, ',') {
            if term.trim().is_empty() {
                continue;
            }
            let (field, value, negate) = if let Some(i) = find_unescaped(&term, "!=") {
                (&term[..i], &term[i + 2..], true)
            } else if let Some(i) = find_unescaped(&term, "==") {
                (&term[..i], &term[i + 2..], false)
            } else if let Some(i) = find_unescaped(&term, "=") {
                (&term[..i], &term[i + 1..], false)
            } else {
                return Err(format!("invalid selector: '{s}'; can't understand '{term}'"));
            };
            let field = field.trim().to_string();
            if !selectable(kind, &field) {
                return Err(format!("field label not supported: {field}"));
            }
            reqs.push(FieldReq { field, value: unescape(value), negate });
        }
        Ok(FieldSelector(reqs))
    }

    /// Whether a stored object matches, from its head where the kind is held as bytes (pods),
    /// so that selecting pods never decodes them.
    pub fn matches(&self, s: &Stored) -> bool {
        self.0.iter().all(|r| (stored_field(s, &r.field) == r.value) != r.negate)
    }

    /// The name the selector pins (`metadata.name=x`), used to answer a watch of one object.
    pub fn pinned_name(&self) -> Option<&str> {
        self.0.iter().find(|r| r.field == "metadata.name" && !r.negate).map(|r| r.value.as_str())
    }
}

fn split_unescaped(s: &str, sep: char) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut esc = false;
    for c in s.chars() {
        if esc {
            if let Some(last) = out.last_mut() {
                last.push('\\');
                last.push(c);
            }
            esc = false;
        } else if c == '\\' {
            esc = true;
        } else if c == sep {
            out.push(String::new());
        } else if let Some(last) = out.last_mut() {
            last.push(c);
        }
    }
    out
}

fn find_unescaped(s: &str, pat: &str) -> Option<usize> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' {
            i += 2;
            continue;
        }
        if s[i..].starts_with(pat) {
            return Some(i);
        }
        i += 1;
    }
    None
}

fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut esc = false;
    for c in s.chars() {
        if esc || c != '\\' {
            out.push(c);
            esc = false;
        } else {
            esc = true;
        }
    }
    out
}

/// The fields each registry makes selectable (pkg/registry/*/strategy.go `ToSelectableFields`).
fn selectable(kind: crate::sim::Kind, field: &str) -> bool {
    use crate::sim::Kind;
    if matches!(field, "metadata.name" | "metadata.namespace") {
        return true;
    }
    match kind {
        Kind::Pod => matches!(
            field,
            "spec.nodeName"
                | "spec.restartPolicy"
                | "spec.schedulerName"
                | "spec.serviceAccountName"
                | "spec.hostNetwork"
                | "status.phase"
                | "status.podIP"
                | "status.nominatedNodeName"
        ),
        Kind::Node => field == "spec.unschedulable",
        Kind::Namespace => field == "status.phase",
        Kind::Event => matches!(
            field,
            "involvedObject.kind"
                | "involvedObject.namespace"
                | "involvedObject.name"
                | "involvedObject.uid"
                | "involvedObject.apiVersion"
                | "involvedObject.resourceVersion"
                | "involvedObject.fieldPath"
                | "reason"
                | "reportingComponent"
                | "source"
                | "type"
        ),
        Kind::DaemonSet | Kind::ControllerRevision | Kind::ResourceQuota => false,
    }
}

/// A selectable field's value ("" when unset, as the apiserver's field set has it).
fn stored_field<'a>(s: &'a Stored, field: &str) -> Cow<'a, str> {
    match field {
        "metadata.name" => Cow::Borrowed(s.name()),
        "metadata.namespace" => Cow::Borrowed(s.namespace()),
        _ if s.kind() == crate::sim::Kind::Pod => Cow::Borrowed(s.head.field(field)),
        _ => Cow::Owned(s.typed().and_then(|o| field_value(o, field)).unwrap_or_default()),
    }
}

fn field_value(obj: &Object, field: &str) -> Option<String> {
    match field {
        "metadata.name" => return Some(obj.name().to_string()),
        "metadata.namespace" => return Some(obj.namespace().to_string()),
        _ => {}
    }
    match obj {
        Object::Pod(p) => pod_field(p, field),
        Object::Node(n) => match field {
            "spec.unschedulable" => Some(n.spec.as_ref().and_then(|s| s.unschedulable).unwrap_or(false).to_string()),
            _ => None,
        },
        Object::Namespace(n) => match field {
            "status.phase" => n.status.as_ref().and_then(|s| s.phase.clone()),
            _ => None,
        },
        Object::Event(e) => {
            let io = &e.involved_object;
            match field {
                "involvedObject.kind" => io.kind.clone(),
                "involvedObject.namespace" => io.namespace.clone(),
                "involvedObject.name" => io.name.clone(),
                "involvedObject.uid" => io.uid.clone(),
                "involvedObject.apiVersion" => io.api_version.clone(),
                "involvedObject.resourceVersion" => io.resource_version.clone(),
                "involvedObject.fieldPath" => io.field_path.clone(),
                "reason" => e.reason.clone(),
                "reportingComponent" => e.reporting_component.clone(),
                "source" => e.source.as_ref().and_then(|s| s.component.clone()),
                "type" => e.type_.clone(),
                _ => None,
            }
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn parses_every_operator() {
        let s = LabelSelector::parse("a=1,b==2,c!=3,d in (x, y),e notin (z),f,!g").unwrap_or_default();
        assert_eq!(s.0.len(), 7);
        let l = labels(&[("a", "1"), ("b", "2"), ("d", "y"), ("f", "")]);
        assert!(s.matches(Some(&l)));
        let l2 = labels(&[("a", "1"), ("b", "2"), ("d", "y"), ("f", ""), ("g", "1")]);
        assert!(!s.matches(Some(&l2)));
    }

    #[test]
    fn not_equal_matches_objects_without_the_label() {
        let s = LabelSelector::parse("app!=web").unwrap_or_default();
        assert!(s.matches(None));
    }

    #[test]
    fn empty_selector_matches_everything() {
        assert!(LabelSelector::parse("").is_ok_and(|s| s.is_empty() && s.matches(None)));
    }

    #[test]
    fn rejects_malformed_label_selectors() {
        for bad in ["a=(", "in (a)", "a in a", "a in (", "=x", "a,", "a=b c", "a b", "a in ()", "bad key=1", "a=b/c"] {
            assert!(LabelSelector::parse(bad).is_err(), "{bad} should fail");
        }
    }

    #[test]
    fn field_selector_rejects_unknown_fields() {
        use crate::sim::Kind;
        assert!(FieldSelector::parse("spec.nodeName=n1", Kind::Pod).is_ok());
        assert!(FieldSelector::parse("spec.nodeName=n1", Kind::DaemonSet).is_err());
        assert!(FieldSelector::parse("nonsense", Kind::Pod).is_err());
        let f = FieldSelector::parse("metadata.name!=x,metadata.namespace==y", Kind::Pod).unwrap_or_default();
        assert_eq!(f.0.len(), 2);
        assert!(f.0[0].negate);
    }

    /// Pods are held as bytes: their selectable fields come from the stored head. The values
    /// are the apiserver's (pkg/registry/core/pod/strategy.go `ToSelectableFields`): an unset
    /// field is "", an unset hostNetwork is "false".
    #[test]
    fn field_selector_matches_pods_held_as_bytes() {
        use crate::sim::Kind;
        use k8s_openapi::api::core::v1::{Pod, PodSpec, PodStatus};
        let store = crate::sim::store::Store::new(16);
        let pod = Pod {
            metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
                name: Some("p1".into()),
                namespace: Some("ns".into()),
                ..Default::default()
            },
            spec: Some(PodSpec { node_name: Some("n1".into()), ..Default::default() }),
            status: Some(PodStatus { phase: Some("Running".into()), ..Default::default() }),
        };
        let now = k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(jiff::Timestamp::UNIX_EPOCH);
        let Ok(stored) = store.create(Object::Pod(pod), now) else { panic!("create failed") };
        let m = |sel: &str| FieldSelector::parse(sel, Kind::Pod).is_ok_and(|f| f.matches(&stored));
        assert!(m("spec.nodeName=n1"));
        assert!(!m("spec.nodeName=n2"));
        assert!(m("spec.nodeName!=n2,status.phase=Running"));
        assert!(m("metadata.name=p1,metadata.namespace=ns"));
        assert!(m("spec.hostNetwork=false"));
        assert!(m("status.podIP="));
        assert!(!m("status.podIP!="));
    }
}
