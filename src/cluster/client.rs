//! The API client: which kubeconfig, which context, which namespace, and a cheap probe that
//! the server answers before anything else starts.
//!
//! Loading follows kubectl (client-go `clientcmd`): `--kubeconfig PATH`, else the files of
//! `$KUBECONFIG` (path-list separated, missing files skipped, merged first-wins as
//! `Kubeconfig::merge` does), else `~/.kube/config`, else the in-cluster service account.
//! Tokens, client certificates, exec plugins and TLS verification are left entirely to
//! `kube::Config::from_custom_kubeconfig`, so they behave exactly as they do in kube.
//!
//! Errors are [`ClientError`]: one line a person on call can act on. This module never logs
//! or prints a token, a certificate or a key: messages name files, contexts, clusters, users
//! and URLs only.

use std::path::{Path, PathBuf};
use std::time::Duration;

use kube::config::{KubeConfigOptions, Kubeconfig, KubeconfigError};

use crate::cli::ClusterArgs;

/// How long the connectivity probe (`GET /version`) may take before we call the server
/// unreachable. kube's own connect timeout is 30 s, too long for a cron job to learn that the
/// VPN is down.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(10);

/// A connected cluster: the client and what to call it in messages and the status bar.
#[derive(Clone)]
pub struct Target {
    pub client: kube::Client,
    /// The kubeconfig context name (`in-cluster` for the service account).
    pub context: String,
    /// The API server URL, as configured.
    pub cluster_url: String,
    /// `Some(ns)` for `-n NS`; `None` for all namespaces (the default, and `-A`).
    pub namespace: Option<String>,
    /// The kubeconfig user name of the context (never its credentials).
    pub user: String,
    /// The namespace the kubeconfig context names (in-cluster: the service account's): offered
    /// by the namespace picker when the user may not list namespaces.
    pub home_namespace: Option<String>,
}

impl std::fmt::Debug for Target {
    // kube::Client is not Debug; and a Target must never print more than names anyway.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target")
            .field("context", &self.context)
            .field("cluster_url", &self.cluster_url)
            .field("namespace", &self.namespace)
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

/// One context of the kubeconfig, for the UI's context picker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContextInfo {
    pub name: String,
    pub cluster: String,
    pub namespace: Option<String>,
    /// This is the kubeconfig's `current-context`.
    pub current: bool,
}

/// Why we could not get a working client. Every variant's message is one line and says what to
/// do; none carries a credential.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("kubeconfig {path}: file not found")]
    KubeconfigMissing { path: String },
    #[error("kubeconfig {path}: cannot read: {detail}")]
    KubeconfigUnreadable { path: String, detail: String },
    #[error("kubeconfig {path}: invalid YAML{detail}")]
    KubeconfigYaml { path: String, detail: String },
    #[error("kubeconfig {path}: {detail}")]
    KubeconfigInvalid { path: String, detail: String },
    #[error(
        "no kubeconfig found ({searched}) and not running inside a cluster ({detail}); pass --kubeconfig PATH or try --demo"
    )]
    NoConfig { searched: String, detail: String },
    #[error("kubeconfig {source_name} has no current-context; pass --context NAME (available: {available})")]
    NoCurrentContext { source_name: String, available: String },
    #[error("context \"{context}\" not found in {source_name} (available: {available})")]
    UnknownContext { context: String, source_name: String, available: String },
    #[error("context \"{context}\" refers to cluster \"{cluster}\", which is not in {source_name}")]
    UnknownCluster { context: String, cluster: String, source_name: String },
    #[error("cluster \"{cluster}\" of context \"{context}\" has no server URL in {source_name}")]
    NoServer { context: String, cluster: String, source_name: String },
    #[error("context \"{context}\" in {source_name}: {detail}")]
    Config { context: String, source_name: String, detail: String },
    #[error("cannot reach {url}: {detail} — is the cluster up? (context {context})")]
    Unreachable { url: String, detail: String, context: String },
    #[error("cannot reach {url}: no answer within {secs}s — is the cluster up? (context {context})")]
    Timeout { url: String, secs: u64, context: String },
    #[error("{url} rejected our credentials (401): {detail} — log in again or fix the user of context {context}")]
    Unauthorized { url: String, detail: String, context: String },
    #[error("{url}: {code} {detail} (context {context})")]
    Api { url: String, code: u16, detail: String, context: String },
    #[error("namespace \"{namespace}\" not found (context {context}); omit -n to watch all namespaces")]
    NamespaceNotFound { namespace: String, context: String },
}

/// Where a kubeconfig came from, for messages.
#[derive(Clone, Debug)]
enum Source {
    /// One or more files, merged in this order.
    Files(Vec<PathBuf>),
    /// Text handed to us (the embedded simulator's kubeconfig).
    Inline(String),
}

impl Source {
    fn name(&self) -> String {
        match self {
            Source::Files(paths) => paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(":"),
            Source::Inline(name) => name.clone(),
        }
    }
}

/// The kubeconfig files to read, in kubectl's order of precedence, or `None` when there are
/// none (then the in-cluster config is tried). The second value describes what was searched.
pub fn kubeconfig_paths(args: &ClusterArgs) -> Result<(Option<Vec<PathBuf>>, String), ClientError> {
    if let Some(path) = &args.kubeconfig {
        // An explicit --kubeconfig must exist (kubectl: "stat PATH: no such file").
        if !path.exists() {
            return Err(ClientError::KubeconfigMissing { path: path.display().to_string() });
        }
        return Ok((Some(vec![path.clone()]), path.display().to_string()));
    }
    if let Some(value) = std::env::var_os("KUBECONFIG") {
        let listed: Vec<PathBuf> = std::env::split_paths(&value).filter(|p| !p.as_os_str().is_empty()).collect();
        if !listed.is_empty() {
            // client-go skips files of $KUBECONFIG that do not exist (clientcmd loader.go,
            // `ClientConfigLoadingRules.Load`) and fails only when none is usable.
            let existing: Vec<PathBuf> = listed.iter().filter(|p| p.exists()).cloned().collect();
            let searched =
                format!("$KUBECONFIG={}", listed.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(":"));
            return Ok((if existing.is_empty() { None } else { Some(existing) }, searched));
        }
    }
    match home_kubeconfig() {
        Some(path) if path.exists() => {
            let searched = path.display().to_string();
            Ok((Some(vec![path]), searched))
        }
        Some(path) => Ok((None, format!("{} does not exist", path.display()))),
        None => Ok((None, "no home directory".to_string())),
    }
}

fn home_kubeconfig() -> Option<PathBuf> {
    directories::BaseDirs::new().map(|d| d.home_dir().join(".kube").join("config"))
}

/// Read one file, mapping kube's errors to ours (with the file name in front).
fn read_file(path: &Path) -> Result<Kubeconfig, ClientError> {
    let shown = path.display().to_string();
    Kubeconfig::read_from(path).map_err(|e| match e {
        KubeconfigError::ReadConfig(io, _) if io.kind() == std::io::ErrorKind::NotFound => {
            ClientError::KubeconfigMissing { path: shown }
        }
        KubeconfigError::ReadConfig(io, _) => {
            ClientError::KubeconfigUnreadable { path: shown, detail: one_line(&io.to_string()) }
        }
        KubeconfigError::Parse(inner) => {
            ClientError::KubeconfigYaml { path: shown, detail: yaml_detail(&inner.to_string()) }
        }
        other => ClientError::KubeconfigInvalid { path: shown, detail: one_line(&other.to_string()) },
    })
}

/// Read and merge the files (first file to set a value wins, as kubectl does).
pub fn load_files(paths: &[PathBuf]) -> Result<Kubeconfig, ClientError> {
    let mut merged = Kubeconfig::default();
    for path in paths {
        let next = read_file(path)?;
        merged = merged.merge(next).map_err(|e| ClientError::KubeconfigInvalid {
            path: path.display().to_string(),
            detail: format!("cannot merge with the files before it: {}", one_line(&e.to_string())),
        })?;
    }
    Ok(merged)
}

/// The contexts of the kubeconfig that `args` selects, for the UI's context picker.
pub fn list_contexts(args: &ClusterArgs) -> Result<Vec<ContextInfo>, ClientError> {
    let (paths, searched) = kubeconfig_paths(args)?;
    let Some(paths) = paths else {
        return Err(ClientError::NoConfig { searched, detail: "no contexts to list".into() });
    };
    Ok(contexts_of(&load_files(&paths)?))
}

/// The contexts of a parsed kubeconfig, in file order.
pub fn contexts_of(kubeconfig: &Kubeconfig) -> Vec<ContextInfo> {
    kubeconfig
        .contexts
        .iter()
        .map(|named| ContextInfo {
            name: named.name.clone(),
            cluster: named.context.as_ref().map(|c| c.cluster.clone()).unwrap_or_default(),
            namespace: named.context.as_ref().and_then(|c| c.namespace.clone()),
            current: kubeconfig.current_context.as_deref() == Some(named.name.as_str()),
        })
        .collect()
}

/// Connect to the cluster that `args` selects and check that it answers.
pub async fn connect(args: &ClusterArgs) -> Result<Target, ClientError> {
    let (paths, searched) = kubeconfig_paths(args)?;
    match paths {
        Some(paths) => {
            let kubeconfig = load_files(&paths)?;
            connect_kubeconfig(kubeconfig, Source::Files(paths), args).await
        }
        None => connect_in_cluster(args, searched).await,
    }
}

/// Connect through a kubeconfig given as text (the embedded simulator's), with the same
/// checks and messages as a file. `name` is what messages call it.
pub async fn connect_yaml(yaml: &str, name: &str, args: &ClusterArgs) -> Result<Target, ClientError> {
    let kubeconfig = Kubeconfig::from_yaml(yaml).map_err(|e| match e {
        KubeconfigError::Parse(inner) => {
            ClientError::KubeconfigYaml { path: name.to_string(), detail: yaml_detail(&inner.to_string()) }
        }
        other => ClientError::KubeconfigInvalid { path: name.to_string(), detail: one_line(&other.to_string()) },
    })?;
    connect_kubeconfig(kubeconfig, Source::Inline(name.to_string()), args).await
}

/// Connect through a kubeconfig already read (by [`load_files`], say), with the same checks and
/// messages as [`connect`]. `name` is what messages call it.
pub async fn connect_parsed(kubeconfig: Kubeconfig, name: &str, args: &ClusterArgs) -> Result<Target, ClientError> {
    connect_kubeconfig(kubeconfig, Source::Inline(name.to_string()), args).await
}

async fn connect_in_cluster(args: &ClusterArgs, searched: String) -> Result<Target, ClientError> {
    let config =
        kube::Config::incluster().map_err(|e| ClientError::NoConfig { searched, detail: one_line(&e.to_string()) })?;
    if args.context.is_some() {
        // --context names a kubeconfig context; there is no kubeconfig here.
        return Err(ClientError::Config {
            context: args.context.clone().unwrap_or_default(),
            source_name: "the in-cluster config".into(),
            detail: "--context needs a kubeconfig; none was found".into(),
        });
    }
    let home = Some(config.default_namespace.clone()).filter(|ns| !ns.is_empty());
    finish(config, "in-cluster".into(), "serviceaccount".into(), home, args).await
}

async fn connect_kubeconfig(kubeconfig: Kubeconfig, source: Source, args: &ClusterArgs) -> Result<Target, ClientError> {
    let source_name = source.name();
    let available = || {
        let names: Vec<&str> = kubeconfig.contexts.iter().map(|c| c.name.as_str()).collect();
        if names.is_empty() { "none".to_string() } else { names.join(", ") }
    };
    // Check the names ourselves first: kube's errors ("failed to load current context: x") do
    // not say which file or what the choices are.
    let context_name = match (&args.context, &kubeconfig.current_context) {
        (Some(name), _) => name.clone(),
        (None, Some(name)) if !name.is_empty() => name.clone(),
        _ => return Err(ClientError::NoCurrentContext { source_name, available: available() }),
    };
    let Some(context) = kubeconfig.contexts.iter().find(|c| c.name == context_name).and_then(|c| c.context.clone())
    else {
        return Err(ClientError::UnknownContext { context: context_name, source_name, available: available() });
    };
    let Some(cluster) = kubeconfig.clusters.iter().find(|c| c.name == context.cluster).and_then(|c| c.cluster.clone())
    else {
        return Err(ClientError::UnknownCluster { context: context_name, cluster: context.cluster, source_name });
    };
    if cluster.server.as_deref().is_none_or(str::is_empty) {
        return Err(ClientError::NoServer { context: context_name, cluster: context.cluster, source_name });
    }
    let options = KubeConfigOptions { context: Some(context_name.clone()), cluster: None, user: None };
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &options).await.map_err(|e| ClientError::Config {
        context: context_name.clone(),
        source_name: source_name.clone(),
        detail: config_error_detail(&e),
    })?;
    let user = context.user.clone().unwrap_or_default();
    let home = context.namespace.clone().filter(|ns| !ns.is_empty());
    finish(config, context_name, user, home, args).await
}

/// Build the client, probe `/version`, and check the namespace of `-n`.
async fn finish(
    config: kube::Config,
    context: String,
    user: String,
    home_namespace: Option<String>,
    args: &ClusterArgs,
) -> Result<Target, ClientError> {
    let url = config.cluster_url.to_string();
    let url = url.trim_end_matches('/').to_string();
    let client = kube::Client::try_from(config).map_err(|e| ClientError::Config {
        context: context.clone(),
        source_name: url.clone(),
        detail: error_chain(&e),
    })?;
    let target = Target { client, context, cluster_url: url, namespace: args.namespace.clone(), user, home_namespace };
    probe(&target).await?;
    if let Some(ns) = &target.namespace {
        check_namespace(&target, ns).await?;
    }
    tracing::info!(context = %target.context, url = %target.cluster_url, namespace = ?target.namespace, "connected");
    Ok(target)
}

/// `GET /version` with a deadline: the cheapest request every API server answers, and the one
/// that tells "unreachable" from "unauthorized" before the watches start.
async fn probe(target: &Target) -> Result<(), ClientError> {
    match tokio::time::timeout(PROBE_TIMEOUT, target.client.apiserver_version()).await {
        Err(_) => Err(ClientError::Timeout {
            url: target.cluster_url.clone(),
            secs: PROBE_TIMEOUT.as_secs(),
            context: target.context.clone(),
        }),
        Ok(Ok(_version)) => Ok(()),
        Ok(Err(e)) => Err(request_error(target, e)),
    }
}

/// A namespace given with `-n` must exist; a 403 on reading it is fine (RBAC often allows
/// pods in a namespace but not `get namespaces`), the watches will tell if it matters.
pub async fn check_namespace(target: &Target, ns: &str) -> Result<(), ClientError> {
    let api: kube::Api<k8s_openapi::api::core::v1::Namespace> = kube::Api::all(target.client.clone());
    match tokio::time::timeout(PROBE_TIMEOUT, api.get_opt(ns)).await {
        Ok(Ok(Some(_))) => Ok(()),
        Ok(Ok(None)) => {
            Err(ClientError::NamespaceNotFound { namespace: ns.to_string(), context: target.context.clone() })
        }
        Ok(Err(kube::Error::Api(status))) if status.code == 403 || status.code == 401 => Ok(()),
        Ok(Err(e)) => Err(request_error(target, e)),
        Err(_) => Err(ClientError::Timeout {
            url: target.cluster_url.clone(),
            secs: PROBE_TIMEOUT.as_secs(),
            context: target.context.clone(),
        }),
    }
}

/// Turn a kube error of the probe into the one-line message for it.
fn request_error(target: &Target, e: kube::Error) -> ClientError {
    let url = target.cluster_url.clone();
    let context = target.context.clone();
    match e {
        kube::Error::Api(status) if status.code == 401 => {
            ClientError::Unauthorized { url, detail: status_text(&status), context }
        }
        kube::Error::Api(status) => ClientError::Api { url, code: status.code, detail: status_text(&status), context },
        other => ClientError::Unreachable { url, detail: root_cause(&other), context },
    }
}

fn status_text(status: &kube::core::Status) -> String {
    let text = if status.message.is_empty() { status.reason.clone() } else { status.message.clone() };
    one_line(&text)
}

/// What a `KubeconfigError` means, in one line.
fn config_error_detail(e: &KubeconfigError) -> String {
    error_chain(e)
}

/// The innermost cause of an error, which for network failures is the useful part
/// ("Connection refused (os error 111)", "invalid peer certificate: UnknownIssuer").
pub fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut last: &(dyn std::error::Error + 'static) = e;
    while let Some(next) = last.source() {
        last = next;
    }
    let text = one_line(&last.to_string());
    // Rust's io::Error says "Connection refused (os error 111)"; the errno helps nobody.
    match text.find(" (os error ") {
        Some(at) => text[..at].to_lowercase(),
        None => text,
    }
}

/// An error and its sources joined with ": ", skipping repeats (thiserror messages often
/// include their source's text already).
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = one_line(&e.to_string());
    let mut cur = e.source();
    while let Some(next) = cur {
        let text = one_line(&next.to_string());
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        cur = next.source();
    }
    out
}

/// The YAML parser's message without its source excerpt: " at line 3, column 11: expected …".
/// The excerpt quotes the file, which may hold a token, so it is never shown.
fn yaml_detail(text: &str) -> String {
    let first = text.lines().next().unwrap_or("");
    let first = first.split(" --> ").next().unwrap_or(first).trim();
    let first = first.strip_prefix("error: ").unwrap_or(first);
    // serde-saphyr: "line 3 column 11: expected string scalar".
    if let Some(rest) = first.strip_prefix("line ")
        && let Some((pos, msg)) = rest.split_once(": ")
        && let Some((line, col)) = pos.split_once(" column ")
    {
        return format!(" at line {line}, column {col}: {}", one_line(msg));
    }
    if first.is_empty() { String::new() } else { format!(": {}", one_line(first)) }
}

/// Collapse a possibly multi-line message into one line, safe for a terminal: server messages
/// quote what others wrote (object names, webhook texts), so control and bidi characters become
/// visible escapes (`text::clean`). Every error text that reaches the screen or stderr passes here.
pub fn one_line(text: &str) -> String {
    crate::text::clean_owned(text.split_whitespace().collect::<Vec<_>>().join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWO_CONTEXTS: &str = r#"
apiVersion: v1
kind: Config
current-context: a
clusters:
- name: c1
  cluster: {server: "http://127.0.0.1:1"}
- name: c2
  cluster: {}
contexts:
- name: a
  context: {cluster: c1, user: u, namespace: kube-system}
- name: b
  context: {cluster: c2, user: u}
- name: c
  context: {cluster: nowhere, user: u}
users:
- name: u
  user: {token: secret-token-value}
"#;

    fn args(context: Option<&str>) -> ClusterArgs {
        ClusterArgs { context: context.map(str::to_string), ..ClusterArgs::default() }
    }

    #[test]
    fn contexts_list_marks_the_current_one() {
        let kc = Kubeconfig::from_yaml(TWO_CONTEXTS).expect("valid yaml");
        let list = contexts_of(&kc);
        assert_eq!(list.len(), 3);
        assert_eq!(
            list[0],
            ContextInfo {
                name: "a".into(),
                cluster: "c1".into(),
                namespace: Some("kube-system".into()),
                current: true
            }
        );
        assert!(!list[1].current);
    }

    #[tokio::test]
    async fn unknown_context_lists_the_available_ones() {
        let err = connect_yaml(TWO_CONTEXTS, "/x", &args(Some("foo"))).await.expect_err("must fail");
        assert_eq!(err.to_string(), "context \"foo\" not found in /x (available: a, b, c)");
    }

    #[tokio::test]
    async fn cluster_without_server_is_named() {
        let err = connect_yaml(TWO_CONTEXTS, "/x", &args(Some("b"))).await.expect_err("must fail");
        assert_eq!(err.to_string(), "cluster \"c2\" of context \"b\" has no server URL in /x");
    }

    #[tokio::test]
    async fn context_with_missing_cluster_is_named() {
        let err = connect_yaml(TWO_CONTEXTS, "/x", &args(Some("c"))).await.expect_err("must fail");
        assert!(err.to_string().contains("cluster \"nowhere\""), "{err}");
    }

    #[tokio::test]
    async fn unreachable_server_fails_fast_without_the_token() {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let err = connect_yaml(TWO_CONTEXTS, "/x", &args(None)).await.expect_err("must fail");
        let text = err.to_string();
        assert!(text.starts_with("cannot reach http://127.0.0.1:1: "), "{text}");
        assert!(text.ends_with("— is the cluster up? (context a)"), "{text}");
        assert!(!text.contains("secret-token-value"));
        assert!(!text.contains('\n'));
    }

    #[test]
    fn yaml_errors_keep_the_position_but_not_the_excerpt() {
        let err = Kubeconfig::from_yaml("users:\n- name: u\n  user: {token: abc\n").expect_err("bad yaml");
        let KubeconfigError::Parse(inner) = err else { panic!("not a parse error: {err}") };
        let detail = yaml_detail(&inner.to_string());
        assert!(detail.starts_with(" at line "), "{detail}");
        assert!(!detail.contains("abc"), "{detail}");
    }

    #[test]
    fn root_cause_drops_the_errno() {
        let io = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        let text = root_cause(&io);
        assert!(!text.contains("os error"), "{text}");
    }
}
