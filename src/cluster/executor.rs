//! The one effect executor: everything the UI asks of a cluster — watches, log streams,
//! namespace listing, reads that plan an action, and the actions themselves — is carried out
//! here, never in `app`.
//!
//! It owns one [`ClusterSession`] per connected scope (a kubeconfig context and a namespace
//! scope): its client, its watch tasks and their fleet channel, its log stream, its mutation
//! gateway and its running tasks. Every [`Command`] that touches a cluster names the session it
//! was planned for. A command for a session that is no longer current (the user switched
//! context or namespace meanwhile) is **refused**: it is never sent anywhere, the user gets a
//! [`Report::Refused`], and a refused mutation leaves an audit line. Every result comes back as a
//! [`Report`] tagged with its session, so the app can drop what belongs to an old one.
//!
//! A switch connects first (the old session stays live meanwhile), then makes the new session
//! current and closes the old one: its watches, log stream and running tasks are cancelled.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use k8s_openapi::api::core::v1::Namespace;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::access::{self, Answer, Question};
use super::actions::{
    ActionError, Actions, ActionsOptions, AuditEntry, AuditLog, DryRunOutcome, Outcome, Plan, RollOptions, RollPlan,
    RollTarget, TaskEvent, roll_nodes, run_batch,
};
use super::client::{self, ClientError, ContextInfo, Target};
use super::logs::{LogSession, spawn_log_session};
use crate::cli::ClusterArgs;
use crate::fleet::FleetEvent;
use crate::inspect::{Fetched, ObjectRef};
use crate::logs::{LogMsg, LogOptions, LogTarget, PodRef};

/// Capacity of a session's fleet event channel: bounded so a burst back-pressures the watch
/// tasks instead of growing memory; the loop drains it in batches.
pub const FLEET_CHANNEL: usize = 16_384;
/// At most this many fleet events per [`Report::Fleet`], so a 150k-pod initial list cannot make
/// the keyboard wait for seconds.
pub const MAX_FLEET_BATCH: usize = 50_000;
/// Messages a log session may queue; each holds up to `batch_lines` lines.
pub const LOG_CHANNEL: usize = 64;
/// Log lines per [`Report::Logs`], at most.
pub const LINES_PER_WAKE: usize = 4_000;
/// Dry runs per confirmation of a batch, at most: enough to meet a webhook or quota refusal,
/// few enough not to load the server before the user has said yes.
pub const MAX_DRY_RUNS: usize = 20;

/// One connected scope. Ids only grow, so an old id never names a new session.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId(pub u64);

impl SessionId {
    /// No session yet (an app before its first connection).
    pub const NONE: SessionId = SessionId(0);
}

impl std::fmt::Display for SessionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "session {}", self.0)
    }
}

/// What the UI shows about a session (names only, never credentials).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SessionInfo {
    pub id: SessionId,
    pub context: String,
    /// `None`: all namespaces.
    pub namespace: Option<String>,
    /// The API server URL.
    pub server: String,
    /// The kubeconfig user name.
    pub user: String,
    /// The namespace the context names in the kubeconfig, if any.
    pub home_namespace: Option<String>,
}

/// A namespaced object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjName {
    pub namespace: String,
    pub name: String,
}

impl std::fmt::Display for ObjName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

/// What the app asks for.
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    /// Read the kubeconfig's contexts (a local file) for the context picker.
    ListContexts,
    /// Connect to `context` keeping the namespace scope; on success the new session becomes
    /// current and the old one is closed.
    Connect { context: String, namespace: Option<String> },
    /// The same cluster in another namespace scope: a new session on the same client.
    Rescope { session: SessionId, namespace: Option<String> },
    /// Work bound to the session it was planned on.
    Work { session: SessionId, work: Work },
}

/// Work for one session.
#[derive(Clone, Debug, PartialEq)]
pub enum Work {
    ListNamespaces,
    /// Stream `target` (replacing this session's log stream); lines come back tagged `stream`.
    OpenLogs {
        stream: u64,
        target: LogTarget,
        options: LogOptions,
    },
    /// A DaemonSet tail follows the rows shown: its pod set changed.
    UpdateLogPods {
        stream: u64,
        pods: Vec<PodRef>,
    },
    CloseLogs {
        stream: u64,
    },
    /// Execute one confirmed plan; `dry_run`: send `dryRun=All` first (again).
    Execute {
        plan: Plan,
        dry_run: bool,
    },
    /// Ask the server what these plans would do (`dryRun=All`, nothing changes): the answer
    /// is shown in the confirmation before the user can send.
    DryRun {
        id: u64,
        plans: Vec<Plan>,
    },
    /// May the user delete pods and patch DaemonSets in `namespace` (None: everywhere)?
    CheckAccess {
        namespace: Option<String>,
    },
    /// Read what `kubectl rollout undo --to-revision` needs and build the plan.
    PlanUndo {
        daemonset: ObjName,
        revision: i64,
    },
    /// Read the DaemonSet's pods and revisions and choose the nodes to roll.
    PlanRoll {
        daemonset: ObjName,
        target: RollTarget,
        /// Nodes never picked by themselves, with why (NotReady, cordoned), from the index.
        avoid: std::collections::BTreeMap<String, String>,
    },
    /// A paced, cancellable batch restarting failing pods (each looked at again first).
    Batch {
        id: u64,
        task: String,
        plans: Vec<Plan>,
        pace: Duration,
        dry_run: bool,
    },
    /// A confirmed node-by-node roll.
    Roll {
        id: u64,
        plan: RollPlan,
        dry_run: bool,
    },
    /// Cancel the running batch or roll `id`.
    Cancel {
        id: u64,
    },
    /// GET one object (and, with `events`, the events about it) for the describe / YAML pane;
    /// a read, so `--readonly` allows it.
    Inspect {
        id: u64,
        object: ObjectRef,
        events: bool,
    },
}

impl Work {
    /// Whether this work sends (or prepares) a change to the cluster: refusing it is audited.
    pub fn is_mutation(&self) -> bool {
        matches!(self, Work::Execute { .. } | Work::Batch { .. } | Work::Roll { .. })
    }

    pub fn describe(&self) -> String {
        match self {
            Work::ListNamespaces => "list namespaces".into(),
            Work::OpenLogs { target, .. } => format!("logs of {}", target.describe()),
            Work::UpdateLogPods { .. } => "follow the shown pods".into(),
            Work::CloseLogs { .. } => "close the log stream".into(),
            Work::Execute { plan, .. } => plan.summary(),
            Work::DryRun { plans, .. } => match plans.as_slice() {
                [one] => format!("dry run of {}", one.summary()),
                many => format!("dry run of {} requests", many.len()),
            },
            Work::CheckAccess { namespace: Some(ns) } => format!("check permissions in {ns}"),
            Work::CheckAccess { namespace: None } => "check permissions".into(),
            Work::PlanUndo { daemonset, revision } => format!("plan undo of {daemonset} to revision {revision}"),
            Work::PlanRoll { daemonset, .. } => format!("plan node-by-node roll of {daemonset}"),
            Work::Batch { task, .. } => task.clone(),
            Work::Roll { plan, .. } => format!("roll {}/{}", plan.namespace, plan.daemonset),
            Work::Cancel { .. } => "cancel the running task".into(),
            Work::Inspect { object, .. } => format!("read {object}"),
        }
    }
}

/// What comes back, always tagged with the session it belongs to (except the kubeconfig read).
#[derive(Debug)]
pub enum Report {
    /// Fleet events of a session, in order, as one batch.
    Fleet {
        session: SessionId,
        events: Vec<FleetEvent>,
    },
    /// Every watch task of the session has ended.
    FleetClosed {
        session: SessionId,
    },
    /// Messages of a log stream, with the number of lines they hold.
    Logs {
        session: SessionId,
        stream: u64,
        msgs: Vec<LogMsg>,
        lines: usize,
    },
    /// A finite log read (the previous container's log) is complete.
    LogsEnded {
        session: SessionId,
        stream: u64,
    },
    Contexts(Result<Vec<ContextInfo>, String>),
    Namespaces {
        session: SessionId,
        result: Result<Vec<String>, String>,
    },
    /// A new session is current (after [`Command::Connect`] or [`Command::Rescope`]).
    Connected {
        info: SessionInfo,
        warning: Option<String>,
    },
    /// The switch failed; the current session stays.
    ConnectFailed {
        error: String,
    },
    Done {
        session: SessionId,
        result: Result<Outcome, ActionError>,
    },
    /// The answer to [`Work::DryRun`] `id`: the first plan the server would not accept, or
    /// accepted.
    DryRun {
        session: SessionId,
        id: u64,
        outcome: DryRunOutcome,
    },
    /// The answers to [`Work::CheckAccess`], in the order of `access::action_writes`.
    Access {
        session: SessionId,
        namespace: Option<String>,
        answers: Vec<(Question, Answer)>,
    },
    UndoPlanned {
        session: SessionId,
        result: Result<Plan, ActionError>,
    },
    RollPlanned {
        session: SessionId,
        result: Result<RollPlan, ActionError>,
    },
    Task {
        session: SessionId,
        id: u64,
        event: TaskEvent,
    },
    /// The answer to [`Work::Inspect`] `id`: the object, or the server's reason it was not given.
    Inspected {
        session: SessionId,
        id: u64,
        result: Result<Fetched, String>,
    },
    /// Work planned on a session that is not the current one (or has no connection): not sent.
    Refused {
        session: SessionId,
        what: String,
        why: String,
    },
}

/// The kubeconfig a session connects through, to switch contexts.
#[derive(Clone, Debug)]
pub enum KubeSource {
    /// The user's kubeconfig, as the CLI selected it (`--kubeconfig`, `$KUBECONFIG`, …).
    Args(ClusterArgs),
    /// A kubeconfig given as text (the `--demo` simulator's): held in memory only.
    Yaml { yaml: String, name: String, args: ClusterArgs },
}

impl KubeSource {
    pub fn contexts(&self) -> Result<Vec<ContextInfo>, ClientError> {
        match self {
            KubeSource::Args(args) => client::list_contexts(args),
            KubeSource::Yaml { yaml, name, .. } => {
                kube::config::Kubeconfig::from_yaml(yaml).map(|kc| client::contexts_of(&kc)).map_err(|e| {
                    ClientError::KubeconfigInvalid { path: name.clone(), detail: client::one_line(&e.to_string()) }
                })
            }
        }
    }

    pub async fn connect(&self, context: &str, namespace: Option<String>) -> Result<Target, ClientError> {
        match self {
            KubeSource::Args(args) => {
                let args = ClusterArgs { context: Some(context.to_string()), namespace, ..args.clone() };
                client::connect(&args).await
            }
            KubeSource::Yaml { yaml, name, args } => {
                let args = ClusterArgs { context: Some(context.to_string()), namespace, ..args.clone() };
                client::connect_yaml(yaml, name, &args).await
            }
        }
    }

    /// Connect to `context` keeping the namespace scope; a namespace the other cluster does
    /// not have falls back to all namespaces, with a warning.
    pub async fn connect_keeping_scope(
        &self,
        context: &str,
        namespace: Option<String>,
    ) -> Result<(Target, Option<String>), ClientError> {
        match self.connect(context, namespace).await {
            Err(ClientError::NamespaceNotFound { namespace, .. }) => {
                let target = self.connect(context, None).await?;
                Ok((
                    target,
                    Some(format!("namespace {namespace} does not exist in context {context}: showing all namespaces")),
                ))
            }
            other => other.map(|t| (t, None)),
        }
    }
}

/// How the executor sends mutations.
#[derive(Clone, Debug, Default)]
pub struct ExecutorOptions {
    /// `None`: the context picker has nothing to switch with (in-cluster config, tests).
    pub source: Option<KubeSource>,
    pub readonly: bool,
    /// Where audit lines go (`<state dir>/audit.jsonl`); `None`: there is no private state
    /// directory, and every mutation is refused with a message saying so.
    pub audit_path: Option<PathBuf>,
}

impl ExecutorOptions {
    /// Where audit lines go. Without a private state directory there is none (never a shared
    /// temp dir): mutations are then refused before anything is sent (see `Executor::work`).
    fn audit_path(&self) -> PathBuf {
        self.audit_path.clone().unwrap_or_default()
    }
}

/// Everything that talks to one scope of one cluster. Dropping it cancels all of it.
struct ClusterSession {
    info: SessionInfo,
    /// `None`: a session fed by someone else's channel (tests, benchmarks): nothing can be sent.
    client: Option<kube::Client>,
    gateway: Option<Actions>,
    fleet: Option<mpsc::Receiver<FleetEvent>>,
    cancel: CancellationToken,
    watches: Vec<JoinHandle<()>>,
    logs: Option<LogStream>,
    tasks: HashMap<u64, CancellationToken>,
}

struct LogStream {
    id: u64,
    session: LogSession,
    rx: mpsc::Receiver<LogMsg>,
}

impl Drop for ClusterSession {
    fn drop(&mut self) {
        self.cancel.cancel();
        for t in self.tasks.values() {
            t.cancel();
        }
        for h in self.watches.drain(..) {
            h.abort();
        }
    }
}

/// A connect that finished, for [`Executor::next`] to install.
struct Connected {
    seq: u64,
    result: Result<(Target, Option<String>), String>,
}

/// The executor. Owned by the event loop beside `App` (never inside it).
pub struct Executor {
    sessions: HashMap<SessionId, ClusterSession>,
    current: Option<SessionId>,
    /// Names of sessions already closed, for refusal messages and audit lines.
    closed: HashMap<SessionId, SessionInfo>,
    next_id: u64,
    options: ExecutorOptions,
    tx: mpsc::UnboundedSender<Report>,
    rx: mpsc::UnboundedReceiver<Report>,
    connect_tx: mpsc::UnboundedSender<Connected>,
    connect_rx: mpsc::UnboundedReceiver<Connected>,
    /// Connects are numbered; the result of an older one than the last is dropped.
    connect_seq: u64,
    background: Vec<JoinHandle<()>>,
}

impl Drop for Executor {
    fn drop(&mut self) {
        for h in self.background.drain(..) {
            h.abort();
        }
    }
}

/// What woke [`Executor::next`].
enum Wake {
    Fleet(Option<FleetEvent>),
    Log(Option<LogMsg>),
    Report(Report),
    Connected(Connected),
}

impl Executor {
    fn empty(options: ExecutorOptions) -> Executor {
        let (tx, rx) = mpsc::unbounded_channel();
        let (connect_tx, connect_rx) = mpsc::unbounded_channel();
        Executor {
            sessions: HashMap::new(),
            current: None,
            closed: HashMap::new(),
            next_id: 0,
            options,
            tx,
            rx,
            connect_tx,
            connect_rx,
            connect_seq: 0,
            background: Vec::new(),
        }
    }

    /// An executor whose first session watches `target` (already connected).
    pub fn start(target: Target, options: ExecutorOptions) -> Executor {
        let mut ex = Executor::empty(options);
        let id = ex.install(target);
        ex.current = Some(id);
        ex
    }

    /// An executor whose one session is fed by someone else's channel (tests, benchmarks):
    /// no client, so every cluster command is refused with a plain message.
    pub fn detached(fleet: mpsc::Receiver<FleetEvent>) -> Executor {
        let mut ex = Executor::empty(ExecutorOptions::default());
        ex.next_id += 1;
        let id = SessionId(ex.next_id);
        let session = ClusterSession {
            info: SessionInfo { id, ..SessionInfo::default() },
            client: None,
            gateway: None,
            fleet: Some(fleet),
            cancel: CancellationToken::new(),
            watches: Vec::new(),
            logs: None,
            tasks: HashMap::new(),
        };
        ex.sessions.insert(id, session);
        ex.current = Some(id);
        ex
    }

    /// The current session, if any.
    pub fn current(&self) -> Option<&SessionInfo> {
        self.current.and_then(|id| self.sessions.get(&id)).map(|s| &s.info)
    }

    /// Start the watches of `target` as a new session (not yet current).
    fn install(&mut self, target: Target) -> SessionId {
        self.next_id += 1;
        let id = SessionId(self.next_id);
        let (tx, rx) = mpsc::channel(FLEET_CHANNEL);
        let cancel = CancellationToken::new();
        let watches = super::watch::spawn_watches(target.client.clone(), target.namespace.clone(), tx, cancel.clone());
        let gateway = Actions::new(
            target.client.clone(),
            ActionsOptions {
                readonly: self.options.readonly,
                context: target.context.clone(),
                user: target.user.clone(),
                audit_path: self.options.audit_path(),
                dry_run_first: true,
            },
        )
        .with_server(target.cluster_url.clone());
        let info = SessionInfo {
            id,
            context: target.context.clone(),
            namespace: target.namespace.clone(),
            server: target.cluster_url.clone(),
            user: target.user.clone(),
            home_namespace: target.home_namespace.clone(),
        };
        tracing::info!(%id, context = %info.context, namespace = ?info.namespace, "cluster session started");
        self.sessions.insert(
            id,
            ClusterSession {
                info,
                client: Some(target.client),
                gateway: Some(gateway),
                fleet: Some(rx),
                cancel,
                watches,
                logs: None,
                tasks: HashMap::new(),
            },
        );
        id
    }

    /// Make `id` current and close every other session.
    fn make_current(&mut self, id: SessionId) {
        self.current = Some(id);
        let old: Vec<SessionId> = self.sessions.keys().copied().filter(|k| *k != id).collect();
        for k in old {
            if let Some(s) = self.sessions.remove(&k) {
                tracing::info!(session = %k, context = %s.info.context, "cluster session closed");
                self.closed.insert(k, s.info.clone());
            }
        }
    }

    fn spawn(&mut self, fut: impl std::future::Future<Output = ()> + Send + 'static) {
        self.background.retain(|h| !h.is_finished());
        self.background.push(tokio::spawn(fut));
    }

    fn name_of(&self, id: SessionId) -> String {
        self.sessions
            .get(&id)
            .map(|s| &s.info)
            .or_else(|| self.closed.get(&id))
            .map(|i| if i.context.is_empty() { id.to_string() } else { format!("context {}", i.context) })
            .unwrap_or_else(|| id.to_string())
    }

    /// Carry out one command. Never blocks: network work runs on tasks and answers through
    /// [`Executor::next`].
    pub fn run(&mut self, command: Command) {
        match command {
            Command::ListContexts => {
                let result = match &self.options.source {
                    // A local file (or the demo's text): read here, it takes microseconds.
                    Some(source) => source.contexts().map_err(|e| client::one_line(&e.to_string())),
                    None => Err("no kubeconfig (in-cluster config): there are no other contexts to pick".into()),
                };
                let _ = self.tx.send(Report::Contexts(result));
            }
            Command::Connect { context, namespace } => {
                let Some(source) = self.options.source.clone() else {
                    let error = "no kubeconfig to switch contexts with".to_string();
                    let _ = self.tx.send(Report::ConnectFailed { error });
                    return;
                };
                self.connect_seq += 1;
                let seq = self.connect_seq;
                let tx = self.connect_tx.clone();
                self.spawn(async move {
                    let result = source.connect_keeping_scope(&context, namespace).await.map_err(|e| {
                        format!("cannot switch to context {context}: {}", client::one_line(&e.to_string()))
                    });
                    let _ = tx.send(Connected { seq, result });
                });
            }
            Command::Rescope { session, namespace } => {
                if let Err(why) = self.check(session) {
                    let what = "switch namespace".to_string();
                    let _ = self.tx.send(Report::Refused { session, what, why });
                    return;
                }
                let Some(s) = self.sessions.get(&session) else { return };
                let Some(client) = s.client.clone() else {
                    let why = "no cluster connection in this run".to_string();
                    let _ = self.tx.send(Report::Refused { session, what: "switch namespace".into(), why });
                    return;
                };
                let target = Target {
                    client,
                    context: s.info.context.clone(),
                    cluster_url: s.info.server.clone(),
                    namespace,
                    user: s.info.user.clone(),
                    home_namespace: s.info.home_namespace.clone(),
                };
                // A newer connect in flight must not replace this scope afterwards.
                self.connect_seq += 1;
                let id = self.install(target);
                self.make_current(id);
                if let Some(info) = self.current().cloned() {
                    let _ = self.tx.send(Report::Connected { info, warning: None });
                }
            }
            Command::Work { session, work } => self.work(session, work),
        }
    }

    /// `Ok` when `session` is the current one.
    fn check(&self, session: SessionId) -> Result<(), String> {
        match self.current {
            Some(cur) if cur == session => Ok(()),
            Some(cur) => Err(format!(
                "it was planned on {}, but the screen now shows {}; nothing was sent",
                self.name_of(session),
                self.name_of(cur)
            )),
            None => Err("there is no cluster session".into()),
        }
    }

    /// Refuse `work`: a report for the user and, for a mutation, an audit line naming the
    /// session it was planned on.
    fn refuse(&self, session: SessionId, work: &Work, why: String) {
        let what = work.describe();
        tracing::warn!(%session, %what, %why, "refused");
        if work.is_mutation()
            && let Some(audit_path) = &self.options.audit_path
        {
            let info = self.sessions.get(&session).map(|s| &s.info).or_else(|| self.closed.get(&session));
            let (verb, object, request) = match work {
                Work::Execute { plan: p, .. } => (p.verb.name().to_string(), p.object.to_string(), p.request_line()),
                Work::Batch { plans, .. } => (
                    "batch".to_string(),
                    what.clone(),
                    plans.iter().map(Plan::request_line).collect::<Vec<_>>().join("; "),
                ),
                _ => ("roll".to_string(), what.clone(), String::new()),
            };
            let entry = AuditEntry {
                phase: "result".into(),
                server: info.map(|i| i.server.clone()).unwrap_or_default(),
                time: super::actions::plan::rfc3339(jiff::Timestamp::now()),
                context: info.map(|i| i.context.clone()).unwrap_or_default(),
                user: info.map(|i| i.user.clone()).unwrap_or_default(),
                verb,
                object,
                request,
                result: format!("refused: {why}"),
                ..AuditEntry::default()
            };
            if let Err(e) = AuditLog::new(audit_path).append(&entry) {
                tracing::warn!(error = %e, "audit log not written");
            }
        }
        let _ = self.tx.send(Report::Refused { session, what, why });
    }

    fn work(&mut self, session: SessionId, work: Work) {
        if let Err(why) = self.check(session) {
            // Closing or cancelling what belongs to a closed session is already done.
            if !matches!(work, Work::CloseLogs { .. } | Work::UpdateLogPods { .. } | Work::Cancel { .. }) {
                self.refuse(session, &work, why);
            }
            return;
        }
        let tx = self.tx.clone();
        let Some(s) = self.sessions.get_mut(&session) else { return };
        match work {
            Work::CloseLogs { stream } => {
                if s.logs.as_ref().is_some_and(|l| l.id == stream) {
                    s.logs = None;
                }
                return;
            }
            Work::UpdateLogPods { stream, pods } => {
                if let Some(l) = s.logs.as_ref().filter(|l| l.id == stream) {
                    l.session.update_pods(pods);
                }
                return;
            }
            Work::Cancel { id } => {
                if let Some(t) = s.tasks.remove(&id) {
                    t.cancel();
                }
                return;
            }
            _ => {}
        }
        s.tasks.retain(|_, t| !t.is_cancelled());
        if let Work::DryRun { id, .. } = &work
            && self.options.audit_path.is_none()
        {
            // Nothing could be sent after it: do not load the server with a question.
            let outcome =
                DryRunOutcome::Unknown("no private state directory for the audit log: nothing can be sent".into());
            let _ = self.tx.send(Report::DryRun { session, id: *id, outcome });
            return;
        }
        if work.is_mutation() && self.options.audit_path.is_none() {
            let why = "there is no private state directory for the audit log (set DAEMONSCOPE_STATE_DIR or HOME); nothing was sent".to_string();
            let what = work.describe();
            let _ = self.tx.send(Report::Refused { session, what, why });
            return;
        }
        let Some(s) = self.sessions.get_mut(&session) else { return };
        let (Some(client), Some(gw)) = (s.client.clone(), s.gateway.clone()) else {
            let why = "no cluster connection in this run".to_string();
            match work {
                // Questions, not requests: answered "unknown" rather than refused.
                Work::DryRun { id, .. } => {
                    let _ = self.tx.send(Report::DryRun { session, id, outcome: DryRunOutcome::Unknown(why) });
                }
                Work::CheckAccess { .. } => {}
                work => self.refuse(session, &work, why),
            }
            return;
        };
        let send = move |r: Report| {
            // The loop may have quit meanwhile; then nobody wants the answer.
            let _ = tx.send(r);
        };
        match work {
            Work::ListNamespaces => {
                self.spawn(async move { send(Report::Namespaces { session, result: list_namespaces(client).await }) })
            }
            Work::OpenLogs { stream, target, options } => {
                let (ltx, rx) = mpsc::channel(LOG_CHANNEL);
                let log = spawn_log_session(client, target, options, ltx, CancellationToken::new());
                s.logs = Some(LogStream { id: stream, session: log, rx });
            }
            Work::Execute { plan, dry_run } => {
                let gw = if dry_run { gw } else { gw.without_dry_run() };
                self.spawn(async move { send(Report::Done { session, result: gw.execute(&plan).await }) });
            }
            Work::DryRun { id, plans } => self.spawn(async move {
                let mut outcome = DryRunOutcome::Accepted;
                // A batch is dry-run pod by pod; the first answer that is not "accepted" is
                // the one the user must read.
                for p in plans.iter().take(MAX_DRY_RUNS) {
                    outcome = gw.dry_run(p).await;
                    if outcome != DryRunOutcome::Accepted {
                        break;
                    }
                }
                send(Report::DryRun { session, id, outcome })
            }),
            Work::CheckAccess { namespace } => self.spawn(async move {
                let questions = access::action_writes(namespace.as_deref());
                let answers = access::ask_all(&client, &questions).await;
                send(Report::Access { session, namespace, answers: questions.into_iter().zip(answers).collect() })
            }),
            Work::PlanUndo { daemonset, revision } => self.spawn(async move {
                let result = gw.plan_undo(&daemonset.namespace, &daemonset.name, Some(revision)).await;
                send(Report::UndoPlanned { session, result })
            }),
            Work::PlanRoll { daemonset, target, avoid } => self.spawn(async move {
                let result = gw.plan_roll_avoiding(&daemonset.namespace, &daemonset.name, target, &avoid).await;
                send(Report::RollPlanned { session, result })
            }),
            Work::Batch { id, task, plans, pace, dry_run } => {
                let gw = if dry_run { gw } else { gw.without_dry_run() };
                let cancel = CancellationToken::new();
                s.tasks.insert(id, cancel.clone());
                self.spawn(async move {
                    let report = |event| send(Report::Task { session, id, event });
                    run_batch(&gw, &task, plans, pace, report, cancel.clone(), true).await;
                    cancel.cancel();
                });
            }
            Work::Roll { id, plan, dry_run } => {
                let gw = if dry_run { gw } else { gw.without_dry_run() };
                let cancel = CancellationToken::new();
                s.tasks.insert(id, cancel.clone());
                self.spawn(async move {
                    let report = |event| send(Report::Task { session, id, event });
                    roll_nodes(&gw, &plan, RollOptions::default(), report, cancel.clone()).await;
                    cancel.cancel();
                });
            }
            Work::Inspect { id, object, events } => self.spawn(async move {
                send(Report::Inspected { session, id, result: inspect(client, object, events).await })
            }),
            Work::CloseLogs { .. } | Work::UpdateLogPods { .. } | Work::Cancel { .. } => {}
        }
    }

    /// The next report. `log_lines`: how many log lines the caller may still apply before its
    /// next frame; with 0 the log stream is not read (it slows down and counts what it drops).
    /// Pending forever when nothing will ever come (no session, no task).
    pub async fn next(&mut self, log_lines: usize) -> Report {
        loop {
            let wake = {
                let Executor { sessions, current, rx, connect_rx, .. } = self;
                let session = current.and_then(|id| sessions.get_mut(&id));
                let (fleet, logs) = match session {
                    Some(s) => {
                        (s.fleet.as_mut(), if log_lines > 0 { s.logs.as_mut().map(|l| &mut l.rx) } else { None })
                    }
                    None => (None, None),
                };
                tokio::select! {
                    // Results first: they are few and a user is waiting for them.
                    biased;
                    Some(r) = rx.recv() => Wake::Report(r),
                    Some(c) = connect_rx.recv() => Wake::Connected(c),
                    ev = recv_opt(fleet) => Wake::Fleet(ev),
                    msg = recv_opt(logs) => Wake::Log(msg),
                }
            };
            let Some(cur) = self.current else {
                if let Wake::Report(r) = wake {
                    return r;
                }
                if let Wake::Connected(c) = wake
                    && let Some(r) = self.connected(c)
                {
                    return r;
                }
                continue;
            };
            match wake {
                Wake::Report(r) => return r,
                Wake::Connected(c) => {
                    if let Some(r) = self.connected(c) {
                        return r;
                    }
                }
                Wake::Fleet(Some(first)) => {
                    let mut events = vec![first];
                    if let Some(rx) = self.sessions.get_mut(&cur).and_then(|s| s.fleet.as_mut()) {
                        while events.len() < MAX_FLEET_BATCH {
                            match rx.try_recv() {
                                Ok(ev) => events.push(ev),
                                Err(_) => break,
                            }
                        }
                    }
                    return Report::Fleet { session: cur, events };
                }
                Wake::Fleet(None) => {
                    if let Some(s) = self.sessions.get_mut(&cur) {
                        s.fleet = None;
                    }
                    return Report::FleetClosed { session: cur };
                }
                Wake::Log(first) => {
                    let Some(s) = self.sessions.get_mut(&cur) else { continue };
                    let Some(log) = s.logs.as_mut() else { continue };
                    let stream = log.id;
                    let Some(first) = first else {
                        // A finite read ended; the pane keeps what it got.
                        s.logs = None;
                        return Report::LogsEnded { session: cur, stream };
                    };
                    let budget = log_lines.min(LINES_PER_WAKE);
                    let mut lines = msg_lines(&first);
                    let mut msgs = vec![first];
                    while lines < budget {
                        match log.rx.try_recv() {
                            Ok(m) => {
                                lines += msg_lines(&m);
                                msgs.push(m);
                            }
                            Err(_) => break,
                        }
                    }
                    return Report::Logs { session: cur, stream, msgs, lines };
                }
            }
        }
    }

    /// Install a finished connect if it is the latest one asked for.
    fn connected(&mut self, c: Connected) -> Option<Report> {
        if c.seq != self.connect_seq {
            // The user picked again (or switched namespace) meanwhile.
            return None;
        }
        match c.result {
            Ok((target, warning)) => {
                let id = self.install(target);
                self.make_current(id);
                let info = self.current().cloned()?;
                Some(Report::Connected { info, warning })
            }
            Err(error) => {
                tracing::warn!(%error, "context switch failed");
                Some(Report::ConnectFailed { error })
            }
        }
    }
}

async fn recv_opt<T>(rx: Option<&mut mpsc::Receiver<T>>) -> Option<T> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

fn msg_lines(m: &LogMsg) -> usize {
    match m {
        LogMsg::Lines { lines, .. } => lines.len(),
        _ => 0,
    }
}

/// The namespaces' names, or why not (403 → "type one").
async fn list_namespaces(client: kube::Client) -> Result<Vec<String>, String> {
    let api: kube::Api<Namespace> = kube::Api::all(client);
    let params = kube::api::ListParams::default();
    match tokio::time::timeout(client::PROBE_TIMEOUT, api.list(&params)).await {
        Ok(Ok(list)) => Ok(list.items.into_iter().filter_map(|n| n.metadata.name).collect()),
        Ok(Err(kube::Error::Api(status))) if status.code == 403 => {
            Err("listing namespaces is forbidden (403): type a namespace name".into())
        }
        Ok(Err(e)) => Err(format!("cannot list namespaces: {}; type a namespace name", client::root_cause(&e))),
        Err(_) => {
            Err(format!("listing namespaces took over {}s; type a namespace name", client::PROBE_TIMEOUT.as_secs()))
        }
    }
}

/// GET `object` as raw JSON (and the events about it): the server's message on a refusal.
async fn inspect(client: kube::Client, object: ObjectRef, events: bool) -> Result<Fetched, String> {
    let get = |path: String| {
        let client = client.clone();
        async move {
            let req = http::Request::get(path)
                .header(http::header::ACCEPT, "application/json")
                .body(Vec::new())
                .map_err(|e| e.to_string())?;
            match tokio::time::timeout(client::PROBE_TIMEOUT, client.request::<serde_json::Value>(req)).await {
                Ok(Ok(v)) => Ok(v),
                Ok(Err(kube::Error::Api(status))) => Err(format!("{} ({})", status.message, status.code)),
                Ok(Err(e)) => Err(client::root_cause(&e)),
                Err(_) => Err(format!("no answer within {}s", client::PROBE_TIMEOUT.as_secs())),
            }
        }
    };
    let object_json = get(object.path()).await.map_err(|e| format!("get {object}: {e}"))?;
    let events = if events {
        get(object.events_path())
            .await
            .map(|list| list.get("items").and_then(serde_json::Value::as_array).cloned().unwrap_or_default())
    } else {
        Ok(Vec::new())
    };
    Ok(Fetched { object: object_json, events })
}
