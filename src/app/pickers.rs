//! The context picker (`c`) and the namespace picker (`n`), and the [`Session`] that carries
//! out their choices: it owns the fleet event channel, the watch tasks and their
//! [`CancellationToken`], the client, and the state file.
//!
//! Two halves, as everywhere in `app`: the picker layer and its keys are pure state changed by
//! `update` ([`on_key`], [`on_msg`]); the network work (reading the kubeconfig's contexts,
//! listing namespaces, connecting to another context) runs in spawned tasks started by the
//! [`Session`], whose results come back to the event loop and into `update` as
//! [`Msg::Picker`]. The UI never awaits the network.
//!
//! A switch replaces the whole data source at once: the old watches are cancelled (their
//! channel is dropped with them, so no event of the old context can reach the new index), a
//! new `fleet::Index` starts empty, and the header shows the new streams as Syncing until each
//! has listed. A failed connect changes nothing but a notice: the old view stays live.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use k8s_openapi::api::core::v1::Namespace;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tui_textarea::TextArea;

use super::msg::{Effect, Level, Msg};
use super::persist::{State, Store};
use super::state::{App, Cursor, Layer};
use super::update::update;
use crate::cli::ClusterArgs;
use crate::cluster::client::{self, ClientError, ContextInfo, Target};
use crate::fleet::{FleetEvent, Index};
use crate::theme::Slot;

/// Which picker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PickerKind {
    Context,
    Namespace,
}

/// What an entry of a picker selects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Choice {
    Context(String),
    AllNamespaces,
    Namespace(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PickerItem {
    pub label: String,
    /// Shown dimmed after the label (a context's cluster and namespace).
    pub detail: String,
    /// The context or namespace in use now.
    pub current: bool,
    pub choice: Choice,
}

/// An open picker: the entries, the type-to-filter line and the selection.
pub struct Picker {
    pub kind: PickerKind,
    pub items: Vec<PickerItem>,
    /// Waiting for the entries (namespaces come from the API).
    pub loading: bool,
    /// Why the entries could not be listed. For namespaces the typed text is then offered as
    /// a namespace name (RBAC often forbids listing namespaces but allows reading one).
    pub error: Option<String>,
    pub query: TextArea<'static>,
    /// Index into [`Picker::visible`].
    pub selected: usize,
}

impl Picker {
    fn new(app: &App, kind: PickerKind) -> Picker {
        let mut query = TextArea::default();
        query.set_placeholder_text("type to filter");
        let theme = app.theme();
        query.set_style(theme.style(Slot::Prompt));
        query.set_cursor_line_style(theme.style(Slot::Prompt));
        query.set_placeholder_style(theme.style(Slot::DetailKey));
        Picker { kind, items: Vec::new(), loading: true, error: None, query, selected: 0 }
    }

    pub fn query_text(&self) -> String {
        self.query.lines().first().cloned().unwrap_or_default()
    }

    /// The entries matching the typed text (case-insensitive substring), in list order; for a
    /// namespace picker whose list failed, the typed name comes first.
    pub fn visible(&self) -> Vec<PickerItem> {
        let q = self.query_text();
        let needle = q.trim().to_lowercase();
        let mut out: Vec<PickerItem> = self
            .items
            .iter()
            .filter(|i| needle.is_empty() || i.label.to_lowercase().contains(&needle))
            .cloned()
            .collect();
        if self.kind == PickerKind::Namespace && self.error.is_some() && !q.trim().is_empty() {
            let name = q.trim().to_string();
            if !out.iter().any(|i| i.choice == Choice::Namespace(name.clone())) {
                out.insert(
                    0,
                    PickerItem {
                        label: name.clone(),
                        detail: "typed".into(),
                        current: false,
                        choice: Choice::Namespace(name),
                    },
                );
            }
        }
        out
    }

    fn clamp(&mut self) {
        self.selected = self.selected.min(self.visible().len().saturating_sub(1));
    }
}

/// Results of the pickers' background work, fed to `update`.
#[derive(Debug)]
pub enum PickerMsg {
    /// Open a picker, empty and loading (the entries follow).
    Open(PickerKind),
    Contexts(Result<Vec<ContextInfo>, String>),
    Namespaces(Result<Vec<String>, String>),
    /// The new watches run: reset the index and show the new scope.
    Switched {
        context: String,
        namespace: Option<String>,
        warning: Option<String>,
    },
    /// The switch failed; the old view stays.
    SwitchFailed(String),
}

/// What a picker asks the [`Session`] to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PickerEffect {
    SwitchContext(String),
    SwitchNamespace(Option<String>),
}

impl PickerEffect {
    pub fn describe(&self) -> String {
        match self {
            PickerEffect::SwitchContext(c) => format!("switch to context {c}"),
            PickerEffect::SwitchNamespace(Some(ns)) => format!("switch to namespace {ns}"),
            PickerEffect::SwitchNamespace(None) => "switch to all namespaces".into(),
        }
    }
}

fn picker_mut(app: &mut App, kind: PickerKind) -> Option<&mut Picker> {
    app.layers.iter_mut().rev().find_map(|l| match l {
        Layer::Picker(p) if p.kind == kind => Some(p.as_mut()),
        _ => None,
    })
}

/// Apply a picker message.
pub fn on_msg(app: &mut App, msg: PickerMsg) -> Vec<Effect> {
    match msg {
        PickerMsg::Open(kind) => {
            // One picker at a time: a second `c` while one is open replaces it.
            app.layers.retain(|l| !matches!(l, Layer::Picker(_)));
            let picker = Picker::new(app, kind);
            app.layers.push(Layer::Picker(Box::new(picker)));
        }
        PickerMsg::Contexts(result) => {
            let current = app.context.clone();
            let Some(p) = picker_mut(app, PickerKind::Context) else { return Vec::new() };
            p.loading = false;
            match result {
                Ok(contexts) => {
                    p.items = contexts
                        .into_iter()
                        .map(|c| PickerItem {
                            detail: match &c.namespace {
                                Some(ns) => format!("cluster {} · namespace {ns}", c.cluster),
                                None => format!("cluster {}", c.cluster),
                            },
                            // The one we show is "current"; the kubeconfig's own current-context
                            // may differ after a switch (we never write the kubeconfig).
                            current: c.name == current,
                            choice: Choice::Context(c.name.clone()),
                            label: c.name,
                        })
                        .collect();
                    p.selected = p.visible().iter().position(|i| i.current).unwrap_or(0);
                }
                Err(e) => p.error = Some(e),
            }
        }
        PickerMsg::Namespaces(result) => {
            let current = app.namespace.clone();
            let Some(p) = picker_mut(app, PickerKind::Namespace) else { return Vec::new() };
            p.loading = false;
            let mut items = vec![PickerItem {
                label: "all namespaces".into(),
                detail: String::new(),
                current: current.is_none(),
                choice: Choice::AllNamespaces,
            }];
            match result {
                Ok(mut names) => {
                    names.sort();
                    items.extend(names.into_iter().map(|n| PickerItem {
                        current: current.as_deref() == Some(n.as_str()),
                        detail: String::new(),
                        choice: Choice::Namespace(n.clone()),
                        label: n,
                    }));
                }
                Err(e) => {
                    p.error = Some(e);
                    // The scope in use stays pickable even when the list is forbidden.
                    if let Some(ns) = current {
                        items.push(PickerItem {
                            label: ns.clone(),
                            detail: String::new(),
                            current: true,
                            choice: Choice::Namespace(ns),
                        });
                    }
                }
            }
            p.items = items;
            p.selected = p.visible().iter().position(|i| i.current).unwrap_or(0);
        }
        PickerMsg::Switched { context, namespace, warning } => {
            app.index = Index::new();
            app.cursor = Cursor::default();
            app.context = context;
            app.namespace = namespace;
            app.refresh_view();
            let scope = app.namespace.as_deref().map_or("all namespaces".to_string(), |ns| format!("namespace {ns}"));
            match warning {
                Some(w) => app.notify(w, Level::Warn),
                None => app.notify(format!("context {}, {scope}: syncing", app.context), Level::Info),
            }
        }
        PickerMsg::SwitchFailed(e) => app.notify(e, Level::Error),
    }
    app.dirty = true;
    Vec::new()
}

/// A key while a picker is on top.
pub fn on_key(app: &mut App, key: KeyEvent) -> Vec<Effect> {
    let Some(Layer::Picker(p)) = app.layers.last_mut() else { return Vec::new() };
    app.dirty = true;
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    match key.code {
        KeyCode::Esc => {
            app.layers.pop();
        }
        KeyCode::Enter => {
            let Some(item) = p.visible().into_iter().nth(p.selected) else { return Vec::new() };
            app.layers.pop();
            let effect = match item.choice {
                Choice::Context(name) => PickerEffect::SwitchContext(name),
                Choice::AllNamespaces => PickerEffect::SwitchNamespace(None),
                Choice::Namespace(ns) => PickerEffect::SwitchNamespace(Some(ns)),
            };
            let unchanged = match &effect {
                PickerEffect::SwitchContext(c) => *c == app.context,
                PickerEffect::SwitchNamespace(ns) => *ns == app.namespace,
            };
            if unchanged {
                app.notify("already showing that", Level::Info);
                return Vec::new();
            }
            if let PickerEffect::SwitchContext(c) = &effect {
                app.notify(format!("connecting to context {c}…"), Level::Info);
            }
            return vec![Effect::Picker(effect)];
        }
        KeyCode::Up => p.selected = p.selected.saturating_sub(1),
        KeyCode::Char('p') if ctrl => p.selected = p.selected.saturating_sub(1),
        KeyCode::Down => p.selected += 1,
        KeyCode::Char('n') if ctrl => p.selected += 1,
        KeyCode::PageUp => p.selected = p.selected.saturating_sub(10),
        KeyCode::PageDown => p.selected += 10,
        // One line only: tui-textarea would insert a newline on Ctrl-M / Ctrl-J.
        KeyCode::Char('m' | 'j') if ctrl => {}
        _ => {
            let before = p.query_text();
            p.query.input(key);
            if p.query_text() != before {
                p.selected = 0;
            }
        }
    }
    if let Some(Layer::Picker(p)) = app.layers.last_mut() {
        p.clamp();
    }
    Vec::new()
}

/// The kubeconfig a session connects through, to switch contexts.
#[derive(Clone)]
pub enum KubeSource {
    /// The user's kubeconfig, as the CLI selected it (`--kubeconfig`, `$KUBECONFIG`, …).
    Args(ClusterArgs),
    /// A kubeconfig given as text (the `--demo` simulator's): held in memory only.
    Yaml { yaml: String, name: String, args: ClusterArgs },
}

impl KubeSource {
    fn contexts(&self) -> Result<Vec<ContextInfo>, ClientError> {
        match self {
            KubeSource::Args(args) => client::list_contexts(args),
            KubeSource::Yaml { yaml, name, .. } => {
                kube::config::Kubeconfig::from_yaml(yaml).map(|kc| client::contexts_of(&kc)).map_err(|e| {
                    ClientError::KubeconfigInvalid { path: name.clone(), detail: client::one_line(&e.to_string()) }
                })
            }
        }
    }

    async fn connect(&self, context: &str, namespace: Option<String>) -> Result<Target, ClientError> {
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
    async fn connect_keeping_scope(
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

/// How `run_ui` sets up a [`Session`] (from the CLI glue).
#[derive(Clone, Default)]
pub struct SessionOptions {
    /// `None`: no kubeconfig to switch contexts with (in-cluster config).
    pub source: Option<KubeSource>,
    /// `None`: no state dir; nothing is remembered.
    pub store: Option<Store>,
    /// What was loaded from the state file at start.
    pub remembered: State,
    /// `--demo`: keep the remembered context/namespace instead of saving the demo's.
    pub keep_remembered_target: bool,
    /// Warnings from choosing the start context/namespace and loading the state file.
    pub warnings: Vec<String>,
}

/// Background results, tagged with the request they answer.
enum Done {
    Connected { seq: u64, result: Result<(Target, Option<String>), String> },
    Namespaces { seq: u64, result: Result<Vec<String>, String> },
}

/// Result of a background task for the event loop, opaque to it.
pub struct SessionResult(Done);

/// Where the background results arrive (see [`Session::results`]).
pub struct Results(mpsc::UnboundedReceiver<Done>);

impl Results {
    /// The next background result; pending forever when there is none.
    pub async fn next(&mut self) -> SessionResult {
        match self.0.recv().await {
            Some(done) => SessionResult(done),
            // The session holds a sender for as long as the loop runs; never spin if not.
            None => std::future::pending().await,
        }
    }
}

/// The event loop's data source: the fleet channel, the watch tasks feeding it, the client
/// and kubeconfig to switch with, and the state file. Dropping it cancels the watches.
pub struct Session {
    fleet: mpsc::Receiver<FleetEvent>,
    client: Option<kube::Client>,
    source: Option<KubeSource>,
    cancel: CancellationToken,
    handles: Vec<JoinHandle<()>>,
    tasks: Vec<JoinHandle<()>>,
    done_tx: mpsc::UnboundedSender<Done>,
    /// Taken by the event loop ([`Session::results`]), which waits on it beside the fleet.
    done_rx: Option<mpsc::UnboundedReceiver<Done>>,
    /// Requests are numbered; a result of an older request than the last is dropped (the user
    /// picked again while the first was still connecting).
    seq: u64,
    rewired: bool,
    store: Option<Store>,
    keep_target: Option<State>,
}

impl From<mpsc::Receiver<FleetEvent>> for Session {
    /// A session fed by someone else's channel (tests, benchmarks): no switching, no state file.
    fn from(fleet: mpsc::Receiver<FleetEvent>) -> Session {
        let (done_tx, done_rx) = mpsc::unbounded_channel();
        Session {
            fleet,
            client: None,
            source: None,
            cancel: CancellationToken::new(),
            handles: Vec::new(),
            tasks: Vec::new(),
            done_tx,
            done_rx: Some(done_rx),
            seq: 0,
            rewired: false,
            store: None,
            keep_target: None,
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.cancel.cancel();
        for h in self.handles.drain(..).chain(self.tasks.drain(..)) {
            h.abort();
        }
    }
}

impl Session {
    /// Start the watches of `client` in `namespace` and own them.
    pub fn start(client: kube::Client, namespace: Option<String>, opts: SessionOptions) -> Session {
        let (tx, rx) = mpsc::channel(super::event_loop::FLEET_CHANNEL);
        let mut s = Session::from(rx);
        s.handles = crate::cluster::watch::spawn_watches(client.clone(), namespace, tx, s.cancel.clone());
        s.client = Some(client);
        s.source = opts.source;
        s.store = opts.store;
        s.keep_target = opts.keep_remembered_target.then_some(opts.remembered);
        s
    }

    /// Build a session and let a caller (tests) drive it with its own client: watches as
    /// [`Session::start`], switching through `source`, optionally remembering to `store`.
    pub fn with_source(
        client: kube::Client,
        namespace: Option<String>,
        source: KubeSource,
        store: Option<Store>,
    ) -> Session {
        Session::start(client, namespace, SessionOptions { source: Some(source), store, ..SessionOptions::default() })
    }

    pub async fn recv(&mut self) -> Option<FleetEvent> {
        self.fleet.recv().await
    }

    pub fn try_recv(&mut self) -> Result<FleetEvent, mpsc::error::TryRecvError> {
        self.fleet.try_recv()
    }

    /// The receiving end of the background results, for the loop to wait on beside
    /// [`Session::recv`] (two borrows of one session could not be awaited together).
    pub fn results(&mut self) -> Results {
        let rx = self.done_rx.take().unwrap_or_else(|| {
            // Taken twice: hand out a fresh pair so nothing panics; old senders go nowhere.
            let (tx, rx) = mpsc::unbounded_channel();
            self.done_tx = tx;
            rx
        });
        Results(rx)
    }

    /// Whether the fleet channel was replaced since the last call (the loop re-opens it).
    pub fn take_rewired(&mut self) -> bool {
        std::mem::take(&mut self.rewired)
    }

    /// Carry out a picker effect (`Effect::PickContext`, `PickNamespace`, `Picker(_)`).
    pub fn on_effect(&mut self, app: &mut App, effect: Effect) {
        match effect {
            Effect::PickContext => {
                let Some(source) = &self.source else {
                    feed(
                        app,
                        Msg::Notice {
                            text: "no kubeconfig (in-cluster config): there are no other contexts to pick".into(),
                            level: Level::Warn,
                        },
                    );
                    return;
                };
                // A local file (or the demo's text): read here, it takes microseconds.
                let result = source.contexts().map_err(|e| client::one_line(&e.to_string()));
                feed(app, Msg::Picker(PickerMsg::Open(PickerKind::Context)));
                feed(app, Msg::Picker(PickerMsg::Contexts(result)));
            }
            Effect::PickNamespace => {
                let Some(client) = self.client.clone() else {
                    feed(
                        app,
                        Msg::Notice { text: "no cluster connection to list namespaces".into(), level: Level::Warn },
                    );
                    return;
                };
                feed(app, Msg::Picker(PickerMsg::Open(PickerKind::Namespace)));
                self.seq += 1;
                let seq = self.seq;
                let tx = self.done_tx.clone();
                self.spawn(async move {
                    let result = list_namespaces(client).await;
                    let _ = tx.send(Done::Namespaces { seq, result });
                });
            }
            Effect::Picker(PickerEffect::SwitchNamespace(ns)) => {
                let Some(client) = self.client.clone() else { return };
                self.rewire(client, ns.clone());
                feed(
                    app,
                    Msg::Picker(PickerMsg::Switched { context: app.context.clone(), namespace: ns, warning: None }),
                );
            }
            Effect::Picker(PickerEffect::SwitchContext(context)) => {
                let Some(source) = self.source.clone() else { return };
                self.seq += 1;
                let seq = self.seq;
                let tx = self.done_tx.clone();
                let namespace = app.namespace.clone();
                self.spawn(async move {
                    let result = source.connect_keeping_scope(&context, namespace).await.map_err(|e| {
                        format!("cannot switch to context {context}: {}", client::one_line(&e.to_string()))
                    });
                    let _ = tx.send(Done::Connected { seq, result });
                });
            }
            other => feed(
                app,
                Msg::Notice { text: format!("{}: not a picker effect", other.describe()), level: Level::Warn },
            ),
        }
    }

    /// Apply a background result.
    pub fn apply_result(&mut self, app: &mut App, result: SessionResult) -> Vec<Effect> {
        match result.0 {
            Done::Namespaces { seq, result } if seq == self.seq => {
                update(app, Msg::Picker(PickerMsg::Namespaces(result)))
            }
            Done::Connected { seq, result } if seq == self.seq => match result {
                Ok((target, warning)) => {
                    tracing::info!(context = %target.context, namespace = ?target.namespace, "switched context");
                    self.rewire(target.client.clone(), target.namespace.clone());
                    // Log panes opened from now on stream from the new cluster.
                    app.logs.set_client(target.client.clone());
                    // Mutations too: an action confirmed after the switch must reach the
                    // cluster on screen, never the old one.
                    // A dialog prepared for the old cluster's objects must not be confirmed
                    // against the new one; a task already running keeps its own target.
                    app.act.dialog = None;
                    app.act.status = None;
                    if let Some(gw) = &app.act.gateway {
                        app.act.gateway =
                            Some(gw.retarget(target.client.clone(), target.context.clone(), target.user.clone()));
                    }
                    update(
                        app,
                        Msg::Picker(PickerMsg::Switched {
                            context: target.context,
                            namespace: target.namespace,
                            warning,
                        }),
                    )
                }
                Err(e) => {
                    tracing::warn!(error = %e, "context switch failed");
                    update(app, Msg::Picker(PickerMsg::SwitchFailed(e)))
                }
            },
            // An answer to an older request: the user has moved on.
            Done::Namespaces { .. } | Done::Connected { .. } => Vec::new(),
        }
    }

    /// Write the remembered state if it changed (called by the loop after every message).
    pub fn remember(&mut self, app: &mut App) {
        let Some(store) = &mut self.store else { return };
        let state = State::of(app, self.keep_target.as_ref());
        if let Err(e) = store.save_if_changed(&state) {
            tracing::warn!(error = %e, "saving UI state");
            app.notify(e, Level::Warn);
        }
    }

    /// Tear down the watches and start new ones on a fresh channel.
    fn rewire(&mut self, client: kube::Client, namespace: Option<String>) {
        self.cancel.cancel();
        for h in self.handles.drain(..) {
            h.abort();
        }
        self.cancel = CancellationToken::new();
        let (tx, rx) = mpsc::channel(super::event_loop::FLEET_CHANNEL);
        // Dropping the old receiver drops every event of the old scope still queued.
        self.fleet = rx;
        self.handles = crate::cluster::watch::spawn_watches(client.clone(), namespace, tx, self.cancel.clone());
        self.client = Some(client);
        self.rewired = true;
    }

    fn spawn(&mut self, fut: impl std::future::Future<Output = ()> + Send + 'static) {
        self.tasks.retain(|t| !t.is_finished());
        self.tasks.push(tokio::spawn(fut));
    }
}

/// Feed a message whose handling never asks for effects (notices, picker updates).
fn feed(app: &mut App, msg: Msg) {
    let effects = update(app, msg);
    debug_assert!(effects.is_empty(), "picker messages ask for no effects");
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::AppOptions;

    fn app() -> App {
        App::new(Index::new(), AppOptions { context: "a".into(), ..AppOptions::default() })
    }

    fn press(app: &mut App, code: KeyCode) -> Vec<Effect> {
        update(app, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)))
    }

    fn ctx(name: &str, current: bool) -> ContextInfo {
        ContextInfo { name: name.into(), cluster: format!("{name}-cluster"), namespace: None, current }
    }

    #[test]
    fn typing_filters_contexts_and_enter_asks_for_the_switch() {
        let mut app = app();
        on_msg(&mut app, PickerMsg::Open(PickerKind::Context));
        on_msg(&mut app, PickerMsg::Contexts(Ok(vec![ctx("a", true), ctx("prod-eu", false), ctx("prod-us", false)])));
        for c in "us".chars() {
            press(&mut app, KeyCode::Char(c));
        }
        let Some(Layer::Picker(p)) = app.top_layer() else { panic!("picker open") };
        assert_eq!(p.visible().iter().map(|i| i.label.as_str()).collect::<Vec<_>>(), ["prod-us"]);
        let effects = press(&mut app, KeyCode::Enter);
        assert_eq!(effects, vec![Effect::Picker(PickerEffect::SwitchContext("prod-us".into()))]);
        assert!(app.layers.is_empty(), "the picker closes");
    }

    #[test]
    fn picking_the_current_context_does_nothing() {
        let mut app = app();
        on_msg(&mut app, PickerMsg::Open(PickerKind::Context));
        on_msg(&mut app, PickerMsg::Contexts(Ok(vec![ctx("b", false), ctx("a", true)])));
        let Some(Layer::Picker(p)) = app.top_layer() else { panic!("picker open") };
        assert_eq!(p.selected, 1, "the selection starts on the current context");
        assert!(press(&mut app, KeyCode::Enter).is_empty());
    }

    #[test]
    fn forbidden_namespace_list_lets_the_user_type_one() {
        let mut app = app();
        on_msg(&mut app, PickerMsg::Open(PickerKind::Namespace));
        on_msg(&mut app, PickerMsg::Namespaces(Err("listing namespaces is forbidden (403)".into())));
        for c in "team-a".chars() {
            press(&mut app, KeyCode::Char(c));
        }
        let effects = press(&mut app, KeyCode::Enter);
        assert_eq!(effects, vec![Effect::Picker(PickerEffect::SwitchNamespace(Some("team-a".into())))]);
    }

    #[test]
    fn namespace_list_starts_with_all_namespaces() {
        let mut app = app();
        on_msg(&mut app, PickerMsg::Open(PickerKind::Namespace));
        on_msg(&mut app, PickerMsg::Namespaces(Ok(vec!["kube-system".into(), "default".into()])));
        let Some(Layer::Picker(p)) = app.top_layer() else { panic!("picker open") };
        let labels: Vec<_> = p.visible().into_iter().map(|i| i.label).collect();
        assert_eq!(labels, ["all namespaces", "default", "kube-system"]);
        press(&mut app, KeyCode::Down);
        press(&mut app, KeyCode::Down);
        let effects = press(&mut app, KeyCode::Enter);
        assert_eq!(effects, vec![Effect::Picker(PickerEffect::SwitchNamespace(Some("kube-system".into())))]);
    }

    #[test]
    fn switched_resets_the_index_and_scope_and_a_failure_keeps_them() {
        let mut app = app();
        on_msg(&mut app, PickerMsg::SwitchFailed("cannot switch to context b: refused".into()));
        assert_eq!(app.context, "a");
        assert!(app.notice.as_ref().is_some_and(|n| n.level == Level::Error && n.text.contains("refused")));
        on_msg(&mut app, PickerMsg::Switched { context: "b".into(), namespace: Some("ns".into()), warning: None });
        assert_eq!((app.context.as_str(), app.namespace.as_deref()), ("b", Some("ns")));
        assert!(!app.index.synced());
    }

    #[test]
    fn esc_closes_without_effect() {
        let mut app = app();
        on_msg(&mut app, PickerMsg::Open(PickerKind::Context));
        assert!(press(&mut app, KeyCode::Esc).is_empty());
        assert!(app.layers.is_empty());
    }
}
