//! "May I?" asked of the API server before acting: `SelfSubjectAccessReview`s, the request
//! `kubectl auth can-i` sends. The server's authorizer answers for the caller's own identity,
//! whatever the authentication (token, client certificate, exec plugin), so the answer is the
//! one the real request would meet. A review stores nothing; it is a POST all the same, so
//! callers that promise no writes (`--readonly`) never send one.

use k8s_openapi::api::authorization::v1::{ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec};
use kube::api::{Api, PostParams};

use super::client::{error_chain, one_line};

/// One question: may I `verb` `resource` (in `namespace`, or at cluster scope)?
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Question {
    pub verb: &'static str,
    /// The API group: "" for the core group, "apps" for DaemonSets.
    pub group: &'static str,
    pub resource: &'static str,
    pub subresource: Option<&'static str>,
    /// None: across all namespaces (or a cluster-scoped kind).
    pub namespace: Option<String>,
}

/// The server's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    Allowed,
    /// Denied; the authorizer's reason when it gave one (RBAC usually gives none).
    Denied(String),
    /// The review itself failed (an old server, a network error): nothing is known.
    Unknown(String),
}

impl Answer {
    pub fn allowed(&self) -> bool {
        matches!(self, Answer::Allowed)
    }
}

impl Question {
    pub fn new(verb: &'static str, group: &'static str, resource: &'static str, namespace: Option<&str>) -> Question {
        Question { verb, group, resource, subresource: None, namespace: namespace.map(str::to_string) }
    }

    pub fn subresource(mut self, subresource: &'static str) -> Question {
        self.subresource = Some(subresource);
        self
    }

    /// `list nodes`, `delete pods in kube-system`, `get pods/log in all namespaces`.
    pub fn describe(&self) -> String {
        let resource = match self.subresource {
            Some(s) => format!("{}/{s}", self.resource),
            None => self.resource.to_string(),
        };
        let scope = match (&self.namespace, self.resource) {
            (_, "nodes" | "namespaces") => String::new(),
            (Some(ns), _) => format!(" in {}", one_line(ns)),
            (None, _) => " in all namespaces".to_string(),
        };
        format!("{} {resource}{scope}", self.verb)
    }

    /// The `kubectl auth can-i` line that asks the same.
    pub fn kubectl(&self) -> String {
        let resource = match (self.group, self.subresource) {
            ("", Some(s)) => format!("{}/{s}", self.resource),
            ("", None) => self.resource.to_string(),
            (g, Some(s)) => format!("{}.{g}/{s}", self.resource),
            (g, None) => format!("{}.{g}", self.resource),
        };
        let scope = match &self.namespace {
            Some(ns) => format!(" -n {}", one_line(ns)),
            None => " -A".to_string(),
        };
        format!("kubectl auth can-i {} {resource}{scope}", self.verb)
    }

    fn review(&self) -> SelfSubjectAccessReview {
        SelfSubjectAccessReview {
            spec: SelfSubjectAccessReviewSpec {
                resource_attributes: Some(ResourceAttributes {
                    verb: Some(self.verb.to_string()),
                    group: Some(self.group.to_string()),
                    resource: Some(self.resource.to_string()),
                    subresource: self.subresource.map(str::to_string),
                    namespace: self.namespace.clone(),
                    ..Default::default()
                }),
                ..Default::default()
            },
            ..Default::default()
        }
    }
}

/// What the fleet view needs to read: list and watch the four kinds, in `namespace` (None: all).
pub fn fleet_reads(namespace: Option<&str>) -> Vec<Question> {
    let mut out = Vec::new();
    for (group, resource) in [("", "nodes"), ("", "pods"), ("apps", "daemonsets"), ("apps", "controllerrevisions")] {
        let ns = if resource == "nodes" { None } else { namespace };
        for verb in ["list", "watch"] {
            out.push(Question::new(verb, group, resource, ns));
        }
    }
    out
}

/// What the actions send in `namespace`: pod deletes (restarts) and DaemonSet patches (rollouts).
pub fn action_writes(namespace: Option<&str>) -> Vec<Question> {
    vec![Question::new("delete", "", "pods", namespace), Question::new("patch", "apps", "daemonsets", namespace)]
}

/// Ask one question.
pub async fn ask(client: &kube::Client, q: &Question) -> Answer {
    let api: Api<SelfSubjectAccessReview> = Api::all(client.clone());
    match api.create(&PostParams::default(), &q.review()).await {
        Ok(r) => match r.status {
            Some(s) if s.allowed => Answer::Allowed,
            Some(s) => Answer::Denied(one_line(s.reason.as_deref().unwrap_or(""))),
            None => Answer::Unknown("the server's review had no status".into()),
        },
        Err(e) => Answer::Unknown(error_chain(&e)),
    }
}

/// Ask several questions at once; answers in the same order.
pub async fn ask_all(client: &kube::Client, questions: &[Question]) -> Vec<Answer> {
    futures::future::join_all(questions.iter().map(|q| ask(client, q))).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describes_as_a_person_reads_it() {
        assert_eq!(Question::new("list", "", "nodes", Some("x")).describe(), "list nodes");
        assert_eq!(Question::new("delete", "", "pods", Some("kube-system")).describe(), "delete pods in kube-system");
        assert_eq!(
            Question::new("get", "", "pods", None).subresource("log").describe(),
            "get pods/log in all namespaces"
        );
        assert_eq!(
            Question::new("patch", "apps", "daemonsets", Some("ns")).kubectl(),
            "kubectl auth can-i patch daemonsets.apps -n ns"
        );
    }
}
