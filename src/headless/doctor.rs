//! `daemonscope doctor`: what a person on a bastion host needs before the UI can help them,
//! checked in the order it goes wrong — the kubeconfig, the context, the server, the RBAC of the
//! four watched resources, the terminal, the state directory — one line per check with `ok`,
//! `warn`, `fail` (or `skip` when an earlier failure makes a check meaningless) and, when it is
//! not `ok`, what to do about it.
//!
//! Exit code 1 when a required check fails, 0 otherwise (warnings do not fail). Every line goes
//! through `text::clean` on its way out: server answers and kubeconfig names are not ours. No
//! credential is ever printed: lines name files, contexts, clusters, users and URLs only.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::time::Instant;

use kube::config::Kubeconfig;

use crate::cli::ClusterArgs;
use crate::cluster::client::{self, ClientError, PROBE_TIMEOUT, Target};
use crate::config::Paths;

/// What a check found.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Status {
    Ok,
    /// Works, but something will bite (a kubeconfig others can read, no UTF-8 locale).
    Warn,
    /// A required check failed: the exit code is 1.
    Fail,
    /// Not checked, because an earlier check failed.
    Skip,
}

impl Status {
    fn label(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warn => "warn",
            Status::Fail => "fail",
            Status::Skip => "skip",
        }
    }
}

/// One line of the report.
#[derive(Clone, Debug)]
pub struct Finding {
    pub status: Status,
    /// Which check: "kubeconfig", "context", "server", "namespace", "rbac", "terminal",
    /// "colours", "glyphs", "state dir".
    pub check: &'static str,
    pub text: String,
    /// What to do about it (none for `ok`).
    pub fix: Option<String>,
}

impl Finding {
    fn ok(check: &'static str, text: impl Into<String>) -> Finding {
        Finding { status: Status::Ok, check, text: text.into(), fix: None }
    }

    fn with(status: Status, check: &'static str, text: impl Into<String>, fix: impl Into<String>) -> Finding {
        Finding { status, check, text: text.into(), fix: Some(fix.into()) }
    }

    fn skip(check: &'static str, why: &str) -> Finding {
        Finding { status: Status::Skip, check, text: format!("not checked: {why}"), fix: None }
    }

    /// The printed line: `STATUS  CHECK       TEXT; fix: FIX`, cleaned for the terminal.
    pub fn line(&self) -> String {
        let mut line = format!("{:<4}  {:<10}  {}", self.status.label(), self.check, client::one_line(&self.text));
        if let Some(fix) = &self.fix {
            line.push_str("; fix: ");
            line.push_str(&client::one_line(fix));
        }
        line
    }
}

/// Where the kubeconfig comes from: the user's (flags, `$KUBECONFIG`, `~/.kube/config`, the
/// in-cluster service account), or the embedded demo cluster's.
pub enum Source<'a> {
    Args(&'a ClusterArgs),
    Demo { yaml: &'a str, args: &'a ClusterArgs },
}

/// Run every check, print one line each and a summary; exit code 1 when a check failed.
pub async fn doctor(source: Source<'_>, out: &mut dyn Write) -> std::io::Result<i32> {
    let mut findings = Vec::new();
    let target = cluster_checks(&source, &mut findings).await;
    match &target {
        Some(target) => findings.extend(rbac_checks(target).await),
        None => findings.push(Finding::skip("rbac", "no connection to the server")),
    }
    findings.extend(terminal_checks(&Env::from_process()));
    findings.extend(state_dir_checks(Paths::discover().as_ref()));
    for f in &findings {
        writeln!(out, "{}", f.line())?;
    }
    let count = |s: Status| findings.iter().filter(|f| f.status == s).count();
    let failed = count(Status::Fail);
    writeln!(
        out,
        "{} ok, {} warning{}, {} failed{}",
        count(Status::Ok),
        count(Status::Warn),
        if count(Status::Warn) == 1 { "" } else { "s" },
        failed,
        match count(Status::Skip) {
            0 => String::new(),
            n => format!(", {n} not checked"),
        }
    )?;
    out.flush()?;
    Ok(if failed > 0 { crate::run::EXIT_PROBLEMS } else { crate::run::EXIT_OK })
}

/// Which check an error of [`client::connect`] belongs to.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Stage {
    Kubeconfig,
    Context,
    Server,
    Namespace,
}

fn stage(e: &ClientError) -> Stage {
    match e {
        ClientError::KubeconfigMissing { .. }
        | ClientError::KubeconfigUnreadable { .. }
        | ClientError::KubeconfigYaml { .. }
        | ClientError::KubeconfigInvalid { .. }
        | ClientError::NoConfig { .. } => Stage::Kubeconfig,
        ClientError::NoCurrentContext { .. }
        | ClientError::UnknownContext { .. }
        | ClientError::UnknownCluster { .. }
        | ClientError::NoServer { .. }
        | ClientError::Config { .. } => Stage::Context,
        ClientError::Unreachable { .. }
        | ClientError::Timeout { .. }
        | ClientError::Unauthorized { .. }
        | ClientError::Api { .. } => Stage::Server,
        ClientError::NamespaceNotFound { .. } => Stage::Namespace,
    }
}

/// What to do about an error of the client, in one sentence.
fn fix_for(e: &ClientError) -> String {
    match e {
        ClientError::KubeconfigMissing { .. } => {
            "check the path, or drop --kubeconfig to use $KUBECONFIG or ~/.kube/config".into()
        }
        ClientError::KubeconfigUnreadable { .. } => {
            "make the file readable by you (and by nobody else: chmod 600 FILE)".into()
        }
        ClientError::KubeconfigYaml { .. } | ClientError::KubeconfigInvalid { .. } => {
            "repair the file at the place named, or pass --kubeconfig PATH to a good one".into()
        }
        ClientError::NoConfig { .. } => {
            "copy your kubeconfig to ~/.kube/config, set KUBECONFIG, or pass --kubeconfig PATH (--demo needs none)"
                .into()
        }
        ClientError::NoCurrentContext { .. } => {
            "pass --context NAME, or set one with `kubectl config use-context NAME`".into()
        }
        ClientError::UnknownContext { .. } => "pass --context with one of the available names".into(),
        ClientError::UnknownCluster { .. } | ClientError::NoServer { .. } => {
            "add the cluster and its server URL to the kubeconfig, or pick another context with --context".into()
        }
        ClientError::Config { .. } => {
            "fix the context's user or cluster entry (certificate data, exec plugin on PATH), or log in again".into()
        }
        ClientError::Unreachable { .. } | ClientError::Timeout { .. } => {
            "check the VPN, proxy and firewall between this host and the server, and that the URL is right".into()
        }
        ClientError::Unauthorized { .. } => {
            "log in again (a fresh token or exec credential), or fix the user of the context".into()
        }
        ClientError::Api { .. } => "check that the URL points at a Kubernetes API server".into(),
        ClientError::NamespaceNotFound { .. } => "check the name with -n, or omit -n to watch all namespaces".into(),
    }
}

fn failed(check: &'static str, e: &ClientError) -> Finding {
    Finding::with(Status::Fail, check, e.to_string(), fix_for(e))
}

/// The kubeconfig, the context, the server and the namespace of `-n`: a line each, and the
/// connected target when the server answered.
async fn cluster_checks(source: &Source<'_>, findings: &mut Vec<Finding>) -> Option<Target> {
    let (args, loaded) = match source {
        Source::Demo { yaml, args } => {
            let name = "the demo cluster's kubeconfig".to_string();
            match Kubeconfig::from_yaml(yaml) {
                Ok(kc) => {
                    findings.push(Finding::ok("kubeconfig", format!("{name}: {}", contexts_text(&kc))));
                    (*args, Some((kc, name)))
                }
                Err(e) => {
                    let e = ClientError::KubeconfigInvalid { path: name, detail: client::one_line(&e.to_string()) };
                    findings.push(failed("kubeconfig", &e));
                    return skip_after(Stage::Kubeconfig, findings);
                }
            }
        }
        Source::Args(args) => match load(args, findings) {
            Ok(loaded) => (*args, loaded),
            Err(()) => return skip_after(Stage::Kubeconfig, findings),
        },
    };
    // The namespace is checked on its own line, after the server.
    let unscoped = ClusterArgs { namespace: None, all_namespaces: true, ..args.clone() };
    let context = match (&args.context, &loaded) {
        (Some(name), _) => Some(name.clone()),
        (None, Some((kc, _))) => kc.current_context.clone().filter(|c| !c.is_empty()),
        (None, None) => None,
    };
    let connected = match loaded {
        Some((kc, name)) => client::connect_parsed(kc, &name, &unscoped).await,
        None => client::connect(&unscoped).await,
    };
    let mut target = match connected {
        Ok(target) => target,
        Err(e) => {
            let stage = stage(&e);
            if stage == Stage::Server {
                // The context resolved (the request went out), so say which one it was.
                findings.push(Finding::ok("context", context_text(context.as_deref(), None)));
            }
            let check = match stage {
                Stage::Kubeconfig => "kubeconfig",
                Stage::Context => "context",
                Stage::Server => "server",
                Stage::Namespace => "namespace",
            };
            findings.push(failed(check, &e));
            return skip_after(stage, findings);
        }
    };
    findings.push(Finding::ok("context", context_text(context.as_deref(), Some(&target))));
    findings.push(server_version(&target).await);
    if let Some(ns) = &args.namespace {
        match client::check_namespace(&target, ns).await {
            Ok(()) => findings.push(Finding::ok("namespace", format!("{ns} (only its DaemonSets and pods)"))),
            Err(e) => {
                findings.push(failed("namespace", &e));
                return None;
            }
        }
        target.namespace = Some(ns.clone());
    }
    Some(target)
}

/// `skip` lines for the cluster checks after the one that failed; never a target.
fn skip_after(stage: Stage, findings: &mut Vec<Finding>) -> Option<Target> {
    if stage == Stage::Kubeconfig {
        findings.push(Finding::skip("context", "no usable kubeconfig"));
    }
    if matches!(stage, Stage::Kubeconfig | Stage::Context) {
        findings.push(Finding::skip("server", "no usable context"));
    }
    None
}

/// Find and read the kubeconfig files as kubectl would (pushing the kubeconfig line); `None`
/// when there are none and the in-cluster service account is next, `Err` when the check failed.
fn load(args: &ClusterArgs, findings: &mut Vec<Finding>) -> Result<Option<(Kubeconfig, String)>, ()> {
    let (paths, searched) = match client::kubeconfig_paths(args) {
        Ok(found) => found,
        Err(e) => {
            findings.push(failed("kubeconfig", &e));
            return Err(());
        }
    };
    let Some(paths) = paths else {
        // client-go's in-cluster config needs both variables; connecting says the rest.
        let in_cluster = ["KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT"]
            .iter()
            .all(|v| std::env::var_os(v).is_some_and(|s| !s.is_empty()));
        if !in_cluster {
            let e = ClientError::NoConfig { searched, detail: "KUBERNETES_SERVICE_HOST is not set".into() };
            findings.push(failed("kubeconfig", &e));
            return Err(());
        }
        findings.push(Finding::ok("kubeconfig", format!("none ({searched}); using the in-cluster service account")));
        return Ok(None);
    };
    let kubeconfig = match client::load_files(&paths) {
        Ok(kc) => kc,
        Err(e) => {
            findings.push(failed("kubeconfig", &e));
            return Err(());
        }
    };
    let name = paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(":");
    let text = format!("{name}: {}", contexts_text(&kubeconfig));
    // A kubeconfig holds credentials: on a shared bastion, others must not read it.
    let open: Vec<String> = paths.iter().filter_map(|p| readable_by_others(p)).collect();
    if open.is_empty() {
        findings.push(Finding::ok("kubeconfig", text));
    } else {
        findings.push(Finding::with(
            Status::Warn,
            "kubeconfig",
            format!("{text}; readable by other users: {}", open.join(", ")),
            "chmod 600 the file (it holds credentials)",
        ));
    }
    Ok(Some((kubeconfig, name)))
}

/// "3 contexts".
fn contexts_text(kubeconfig: &Kubeconfig) -> String {
    let n = kubeconfig.contexts.len();
    format!("{n} context{}", if n == 1 { "" } else { "s" })
}

/// "PATH (mode 0644)" when group or others may read `path`.
fn readable_by_others(path: &Path) -> Option<String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o777;
        (mode & 0o044 != 0).then(|| format!("{} (mode {mode:04o})", path.display()))
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

/// The context line: its name, server and user (never the user's credentials).
fn context_text(name: Option<&str>, target: Option<&Target>) -> String {
    match target {
        Some(t) if t.user.is_empty() => format!("{} (server {})", t.context, t.cluster_url),
        Some(t) => format!("{} (server {}, user {})", t.context, t.cluster_url, t.user),
        None => name.unwrap_or("in-cluster").to_string(),
    }
}

/// `GET /version`: the server's Kubernetes version and how long the round trip took.
async fn server_version(target: &Target) -> Finding {
    let start = Instant::now();
    let answer = tokio::time::timeout(PROBE_TIMEOUT, target.client.apiserver_version()).await;
    let ms = start.elapsed().as_millis();
    match answer {
        Ok(Ok(info)) => Finding::ok(
            "server",
            format!(
                "{}: Kubernetes {} ({}), answered in {ms} ms",
                target.cluster_url,
                client::one_line(&info.git_version),
                client::one_line(&info.platform),
            ),
        ),
        Ok(Err(e)) => Finding::with(
            Status::Fail,
            "server",
            format!("{}: GET /version failed: {}", target.cluster_url, client::error_chain(&e)),
            "check that the URL points at a Kubernetes API server",
        ),
        Err(_) => Finding::with(
            Status::Fail,
            "server",
            format!("{}: no answer to GET /version within {}s", target.cluster_url, PROBE_TIMEOUT.as_secs()),
            "check the VPN, proxy and firewall between this host and the server",
        ),
    }
}

/// The RBAC lines, asked of the server with `SelfSubjectAccessReview`s (what `kubectl auth can-i`
/// sends), so the answers hold for whatever identity the kubeconfig gives. Required: list and
/// watch of the four watched kinds (a `fail` without them). Informational (`warn` when denied):
/// reading pod logs, and the two mutations the actions send.
async fn rbac_checks(target: &Target) -> Vec<Finding> {
    use crate::cluster::access::{self, Answer, Question};
    let ns = target.namespace.as_deref();
    let reads = access::fleet_reads(ns);
    let logs = vec![Question::new("get", "", "pods", ns).subresource("log")];
    let writes = access::action_writes(ns);
    let all: Vec<Question> = reads.iter().chain(&logs).chain(&writes).cloned().collect();
    let answers = access::ask_all(&target.client, &all).await;
    let answer_of = |q: &Question| all.iter().position(|a| a == q).map(|i| answers[i].clone());
    let mut out = Vec::new();
    // One line per kind for the reads: "list, watch pods in all namespaces".
    let mut kinds: Vec<&Question> = Vec::new();
    for q in &reads {
        if !kinds.iter().any(|k| k.resource == q.resource) {
            kinds.push(q);
        }
    }
    for kind in kinds {
        let questions: Vec<&Question> = reads.iter().filter(|q| q.resource == kind.resource).collect();
        let verbs: Vec<&str> = questions.iter().map(|q| q.verb).collect();
        let what = format!("{} {}", verbs.join(", "), without_verb(kind));
        let answered: Vec<(&Question, Answer)> =
            questions.iter().map(|q| (*q, answer_of(q).unwrap_or(Answer::Unknown(String::new())))).collect();
        out.push(rbac_line(&what, &answered, Status::Fail, "the matrix needs it"));
    }
    for (q, why) in logs.iter().map(|q| (q, "log panes will not open")).chain(writes.iter().map(|q| {
        (
            q,
            match q.resource {
                "pods" => "restarting pods will be refused by the server; fine for read-only use",
                _ => "rollout actions will be refused by the server; fine for read-only use",
            },
        )
    })) {
        let answer = answer_of(q).unwrap_or(Answer::Unknown(String::new()));
        out.push(rbac_line(&q.describe(), &[(q, answer)], Status::Warn, why));
    }
    out
}

/// "pods in all namespaces" of "list pods in all namespaces".
fn without_verb(q: &crate::cluster::access::Question) -> String {
    let text = q.describe();
    text.strip_prefix(q.verb).map(|rest| rest.trim_start().to_string()).unwrap_or(text)
}

/// One RBAC line: `ok` when every verb is allowed; `denied` (with `status`) naming the verbs
/// denied; `warn` when the server could not answer.
fn rbac_line(
    what: &str,
    answered: &[(&crate::cluster::access::Question, crate::cluster::access::Answer)],
    status: Status,
    why: &str,
) -> Finding {
    use crate::cluster::access::Answer;
    let denied: Vec<_> = answered.iter().filter(|(_, a)| matches!(a, Answer::Denied(_))).collect();
    let unknown: Vec<_> = answered.iter().filter(|(_, a)| matches!(a, Answer::Unknown(_))).collect();
    if let Some((q, Answer::Unknown(e))) = unknown.first() {
        return Finding::with(
            Status::Warn,
            "rbac",
            format!("{what}: the server did not answer the access review: {e}"),
            format!("ask it yourself: {}", q.kubectl()),
        );
    }
    if denied.is_empty() {
        return Finding::ok("rbac", what.to_string());
    }
    let verbs: Vec<&str> = denied.iter().map(|(q, _)| q.verb).collect();
    let reasons: Vec<String> = denied
        .iter()
        .filter_map(|(_, a)| match a {
            Answer::Denied(r) if !r.is_empty() => Some(r.clone()),
            _ => None,
        })
        .collect();
    let reason = if reasons.is_empty() { String::new() } else { format!(" ({})", reasons.join("; ")) };
    // Reading one namespace instead of all is a way out for the reads only.
    let scoped_hint =
        if status == Status::Fail && denied.iter().any(|(q, _)| q.namespace.is_none() && q.resource != "nodes") {
            ", or pass -n NAMESPACE to watch one namespace you may read"
        } else {
            ""
        };
    Finding::with(
        status,
        "rbac",
        format!("{what}: {} denied{reason} ({why})", verbs.join(" and ")),
        format!("ask your cluster admin for it{scoped_hint}; check with `{}`", denied[0].0.kubectl()),
    )
}

/// The parts of the environment the terminal checks read, so that they can be checked for any.
#[derive(Clone, Debug, Default)]
pub struct Env {
    /// Whether stdout is a terminal, and its size when it is.
    pub tty: Option<(u16, u16)>,
    pub term: Option<String>,
    pub colorterm: Option<String>,
    pub no_color: bool,
    /// The effective `LC_CTYPE`: `LC_ALL`, else `LC_CTYPE`, else `LANG`.
    pub locale: Option<String>,
}

impl Env {
    pub fn from_process() -> Env {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let tty = std::io::stdout().is_terminal().then(|| crossterm::terminal::size().unwrap_or((0, 0)));
        Env {
            tty,
            term: var("TERM"),
            colorterm: var("COLORTERM"),
            no_color: var("NO_COLOR").is_some(),
            locale: var("LC_ALL").or_else(|| var("LC_CTYPE")).or_else(|| var("LANG")),
        }
    }
}

/// Terminal size and colours (when stdout is a terminal), and whether the locale can show the
/// matrix's glyphs.
pub fn terminal_checks(env: &Env) -> Vec<Finding> {
    use crate::app::layout::{MIN_HEIGHT, MIN_WIDTH};
    let mut out = Vec::new();
    match env.tty {
        None => {
            out.push(Finding::skip("terminal", "stdout is not a terminal (run doctor in the terminal you will use)"));
        }
        Some((w, h)) if w < MIN_WIDTH || h < MIN_HEIGHT => out.push(Finding::with(
            Status::Warn,
            "terminal",
            format!("{w}x{h}: smaller than the {MIN_WIDTH}x{MIN_HEIGHT} the matrix needs"),
            "enlarge the window (or use `daemonscope snapshot`)",
        )),
        Some((w, h)) => {
            out.push(Finding::ok("terminal", format!("{w}x{h} (the matrix needs {MIN_WIDTH}x{MIN_HEIGHT})")))
        }
    }
    if env.tty.is_some() {
        let term = env.term.as_deref().unwrap_or("");
        let colorterm = env.colorterm.as_deref().map(|c| format!(", COLORTERM={c}")).unwrap_or_default();
        if env.no_color {
            out.push(Finding::ok("colours", "NO_COLOR is set: the mono theme, no colour"));
        } else if term.is_empty() || term == "dumb" {
            out.push(Finding::with(
                Status::Warn,
                "colours",
                format!(
                    "TERM={}: a terminal without colours or cursor movement",
                    if term.is_empty() { "(unset)" } else { term }
                ),
                "set TERM to your terminal's type (xterm-256color usually), or use `daemonscope snapshot`",
            ));
        } else {
            out.push(Finding::ok(
                "colours",
                format!("TERM={term}{colorterm}: the shipped themes need the 16 ANSI colours only"),
            ));
        }
    }
    let utf8 = env.locale.as_deref().is_some_and(|l| {
        let l = l.to_ascii_lowercase();
        l.contains("utf-8") || l.contains("utf8")
    });
    if utf8 {
        out.push(Finding::ok("glyphs", format!("locale {}: UTF-8 glyphs", env.locale.as_deref().unwrap_or(""))));
    } else {
        out.push(Finding::with(
            Status::Warn,
            "glyphs",
            format!(
                "locale {} is not UTF-8: the matrix's glyphs may show as garbage",
                env.locale.as_deref().unwrap_or("(unset)")
            ),
            "pass --ascii, or export LANG=C.UTF-8",
        ));
    }
    out
}

/// The state directory (audit log, saved logs, remembered context, the log file): it must exist,
/// be writable, belong to the user and be private (0700), or the UI refuses every mutation.
pub fn state_dir_checks(paths: Option<&Paths>) -> Vec<Finding> {
    const CHECK: &str = "state dir";
    let Some(paths) = paths else {
        return vec![Finding::with(
            Status::Fail,
            CHECK,
            "no home directory to keep state in",
            format!("export {}=DIR (a directory only you can read)", crate::config::ENV_STATE_DIR),
        )];
    };
    let dir = &paths.state_dir;
    let shown = dir.display();
    let fix_dir = || format!("export {}=DIR to use another directory", crate::config::ENV_STATE_DIR);
    // daemonscope creates it (0700) on every start, so a missing one is a failure to create it.
    if let Err(e) = crate::config::create_private_dir(dir) {
        return vec![Finding::with(
            Status::Fail,
            CHECK,
            format!("{shown}: cannot create it or make it private: {}", client::root_cause(&e)),
            format!("fix the permissions of its parent, or {}", fix_dir()),
        )];
    }
    let probe = dir.join(format!(".doctor-{}", std::process::id()));
    let written = crate::config::create_private(&probe).and_then(|mut f| f.write_all(b"daemonscope doctor\n"));
    let probe_meta = std::fs::metadata(&probe);
    let _ = std::fs::remove_file(&probe);
    if let Err(e) = written {
        return vec![Finding::with(
            Status::Fail,
            CHECK,
            format!("{shown}: not writable: {}", client::root_cause(&e)),
            format!("make it writable by you, or {}", fix_dir()),
        )];
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let meta = match std::fs::metadata(dir) {
            Ok(m) => m,
            Err(e) => {
                return vec![Finding::with(
                    Status::Fail,
                    CHECK,
                    format!("{shown}: {}", client::root_cause(&e)),
                    fix_dir(),
                )];
            }
        };
        // The file just written is ours: its owner is the uid this process runs as.
        if let Ok(mine) = probe_meta
            && mine.uid() != meta.uid()
        {
            return vec![Finding::with(
                Status::Fail,
                CHECK,
                format!("{shown}: owned by uid {}, not by you (uid {})", meta.uid(), mine.uid()),
                fix_dir(),
            )];
        }
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return vec![Finding::with(
                Status::Fail,
                CHECK,
                format!("{shown}: mode {mode:04o}, others can read the audit log and saved logs"),
                format!("chmod 700 {shown}"),
            )];
        }
        vec![Finding::ok(CHECK, format!("{shown}: private ({mode:04o}), writable"))]
    }
    #[cfg(not(unix))]
    {
        let _ = probe_meta;
        vec![Finding::ok(CHECK, format!("{shown}: writable"))]
    }
}
