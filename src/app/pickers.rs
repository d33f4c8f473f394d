//! The context picker (`c`) and the namespace picker (`n`), as layers. Pure: the picker and its
//! keys change `App`; reading the kubeconfig's contexts, listing namespaces and connecting to
//! another context are [`Command`]s for the cluster executor, whose answers come back as
//! reports that `update` hands to [`contexts`], [`namespaces`] and [`switched`].
//!
//! A switch replaces the whole picture at once: the executor connects first (the old session
//! stays live meanwhile), then the app resets the index and shows the new session as syncing.
//! A failed connect changes nothing but a notice.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use tui_textarea::TextArea;

use super::keymap::Action;
use super::msg::{Command, Effect, Level, SessionId, SessionInfo, Work};
use super::state::{App, Cursor, Layer};
use crate::cluster::client::ContextInfo;
use crate::fleet::Index;
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

fn picker_mut(app: &mut App, kind: PickerKind) -> Option<&mut Picker> {
    app.layers.iter_mut().rev().find_map(|l| match l {
        Layer::Picker(p) if p.kind == kind => Some(p.as_mut()),
        _ => None,
    })
}

/// Open a picker, empty and loading, and ask for its entries.
pub fn open(app: &mut App, kind: PickerKind) -> Vec<Effect> {
    // One picker at a time: a second `c` while one is open replaces it.
    app.remove_layers(|l| matches!(l, Layer::Picker(_)));
    let picker = Picker::new(app, kind);
    app.layers.push(Layer::Picker(Box::new(picker)));
    app.dirty = true;
    match kind {
        PickerKind::Context => vec![Effect::Cluster(Command::ListContexts)],
        PickerKind::Namespace => vec![Effect::work(app.session, Work::ListNamespaces)],
    }
}

/// Fill the context picker.
pub fn contexts(app: &mut App, result: Result<Vec<ContextInfo>, String>) {
    let current = app.context.clone();
    let remembered = app.remembered_context.clone();
    let Some(p) = picker_mut(app, PickerKind::Context) else { return };
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
            // The last session's context first (Enter goes back to it), else the one in use.
            let visible = p.visible();
            let remembered = remembered.as_deref();
            p.selected = visible
                .iter()
                .position(|i| matches!(&i.choice, Choice::Context(c) if Some(c.as_str()) == remembered))
                .or_else(|| visible.iter().position(|i| i.current))
                .unwrap_or(0);
        }
        Err(e) => p.error = Some(e),
    }
    app.dirty = true;
}

/// Fill the namespace picker.
pub fn namespaces(app: &mut App, result: Result<Vec<String>, String>) {
    let current = app.namespace.clone();
    let home = app.home_namespace.clone();
    let Some(p) = picker_mut(app, PickerKind::Namespace) else { return };
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
            // The scope in use stays pickable even when the list is forbidden, and so does the
            // namespace the kubeconfig context names (a namespace-scoped user's own).
            if let Some(ns) = &current {
                items.push(PickerItem {
                    label: ns.clone(),
                    detail: String::new(),
                    current: true,
                    choice: Choice::Namespace(ns.clone()),
                });
            }
            if let Some(home) = home.filter(|h| current.as_ref() != Some(h)) {
                items.push(PickerItem {
                    label: home.clone(),
                    detail: "the context's namespace".into(),
                    current: false,
                    choice: Choice::Namespace(home),
                });
            }
        }
    }
    p.items = items;
    p.selected = p.visible().iter().position(|i| i.current).unwrap_or(0);
    app.dirty = true;
}

/// A new session is current: reset everything that belonged to the old one.
pub fn switched(app: &mut App, info: SessionInfo, warning: Option<String>) {
    if info.id == app.session {
        // Told twice (the loop attaches a shell a caller already attached): nothing changes.
        return;
    }
    let first = app.session == SessionId::NONE;
    let old_context = std::mem::replace(&mut app.context, crate::text::clean_owned(info.context.clone()));
    app.session = info.id;
    app.namespace = info.namespace.map(crate::text::clean_owned);
    app.home_namespace = info.home_namespace.map(crate::text::clean_owned);
    app.server = crate::text::clean_owned(info.server);
    app.user = crate::text::clean_owned(info.user);
    app.fleet_closed = false;
    if first {
        // The first session of a run: nothing on screen belongs to another one.
        app.relayout();
        return;
    }
    app.index = Index::new();
    app.cursor = Cursor::default();
    // Whatever was planned or streamed on the old session is gone with it.
    let dropped_dialog = app.remove_layers(|l| matches!(l, Layer::Dialog(_)));
    app.remove_layers(|l| matches!(l, Layer::Status(_) | Layer::Logs(_) | Layer::Containers(_) | Layer::Inspect(_)));
    let dropped_task = app.task.take();
    app.refresh_view();
    app.relayout();
    let scope = app.namespace.as_deref().map_or("all namespaces".to_string(), |ns| format!("namespace {ns}"));
    let mut level = if warning.is_some() { Level::Warn } else { Level::Info };
    let mut text = match warning {
        Some(w) => w,
        None => format!("context {}, {scope}: syncing", app.context),
    };
    if dropped_dialog {
        text.push_str(&format!("; the dialog planned on context {old_context} was closed, nothing sent"));
        level = Level::Warn;
    }
    if let Some(t) = dropped_task {
        text.push_str(&format!("; {} on context {old_context} was cancelled", t.label));
        level = Level::Warn;
    }
    app.notify(text, level);
}

/// A bound key while a picker is on top.
pub fn picker_action(app: &mut App, action: Action) -> Vec<Effect> {
    let Some(Layer::Picker(p)) = app.layers.last_mut() else { return Vec::new() };
    app.dirty = true;
    match action {
        Action::PickerCancel => {
            app.layers.pop();
        }
        Action::PickerSelect => {
            let Some(item) = p.visible().into_iter().nth(p.selected) else { return Vec::new() };
            app.layers.pop();
            let unchanged = match &item.choice {
                Choice::Context(c) => *c == app.context,
                Choice::AllNamespaces => app.namespace.is_none(),
                Choice::Namespace(ns) => app.namespace.as_deref() == Some(ns.as_str()),
            };
            if unchanged {
                app.notify("already showing that", Level::Info);
                return Vec::new();
            }
            let command = match item.choice {
                Choice::Context(context) => {
                    app.notify(format!("connecting to context {context}…"), Level::Info);
                    Command::Connect { context, namespace: app.namespace.clone() }
                }
                Choice::AllNamespaces => Command::Rescope { session: app.session, namespace: None },
                Choice::Namespace(ns) => Command::Rescope { session: app.session, namespace: Some(ns) },
            };
            return vec![Effect::Cluster(command)];
        }
        Action::PickerUp => p.selected = p.selected.saturating_sub(1),
        Action::PickerDown => p.selected += 1,
        Action::PickerPageUp => p.selected = p.selected.saturating_sub(10),
        Action::PickerPageDown => p.selected += 10,
        _ => {}
    }
    if let Some(Layer::Picker(p)) = app.layers.last_mut() {
        p.clamp();
    }
    Vec::new()
}

/// Typing while a picker is on top: the filter line.
pub fn picker_input(app: &mut App, key: KeyEvent) {
    let Some(Layer::Picker(p)) = app.layers.last_mut() else { return };
    // One line only: tui-textarea would insert a newline on Ctrl-M / Ctrl-J.
    if key.modifiers.contains(KeyModifiers::CONTROL) && matches!(key.code, KeyCode::Char('m' | 'j')) {
        return;
    }
    let before = p.query_text();
    p.query.input(key);
    if p.query_text() != before {
        p.selected = 0;
    }
    p.clamp();
    app.dirty = true;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::{AppOptions, Msg, update};

    fn app() -> App {
        let mut app = App::new(Index::new(), AppOptions { context: "a".into(), ..AppOptions::default() });
        switched(&mut app, SessionInfo { id: SessionId(1), context: "a".into(), ..SessionInfo::default() }, None);
        app
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
        assert_eq!(open(&mut app, PickerKind::Context), vec![Effect::Cluster(Command::ListContexts)]);
        contexts(&mut app, Ok(vec![ctx("a", true), ctx("prod-eu", false), ctx("prod-us", false)]));
        for c in "us".chars() {
            press(&mut app, KeyCode::Char(c));
        }
        let Some(Layer::Picker(p)) = app.top_layer() else { panic!("picker open") };
        assert_eq!(p.visible().iter().map(|i| i.label.as_str()).collect::<Vec<_>>(), ["prod-us"]);
        let effects = press(&mut app, KeyCode::Enter);
        assert_eq!(effects, vec![Effect::Cluster(Command::Connect { context: "prod-us".into(), namespace: None })]);
        assert!(app.layers.is_empty(), "the picker closes");
    }

    #[test]
    fn picking_the_current_context_does_nothing() {
        let mut app = app();
        open(&mut app, PickerKind::Context);
        contexts(&mut app, Ok(vec![ctx("b", false), ctx("a", true)]));
        let Some(Layer::Picker(p)) = app.top_layer() else { panic!("picker open") };
        assert_eq!(p.selected, 1, "the selection starts on the current context");
        assert!(press(&mut app, KeyCode::Enter).is_empty());
    }

    #[test]
    fn forbidden_namespace_list_lets_the_user_type_one() {
        let mut app = app();
        let fx = open(&mut app, PickerKind::Namespace);
        assert_eq!(fx, vec![Effect::work(SessionId(1), Work::ListNamespaces)], "listed on the current session");
        namespaces(&mut app, Err("listing namespaces is forbidden (403)".into()));
        for c in "team-a".chars() {
            press(&mut app, KeyCode::Char(c));
        }
        let effects = press(&mut app, KeyCode::Enter);
        let want = Command::Rescope { session: SessionId(1), namespace: Some("team-a".into()) };
        assert_eq!(effects, vec![Effect::Cluster(want)]);
    }

    #[test]
    fn forbidden_namespace_list_offers_the_contexts_own_namespace() {
        // A namespace-scoped user on all namespaces (the scope kept from the last context): the
        // kubeconfig context's namespace is one Down and Enter away, not typed from memory.
        let mut app = app();
        app.home_namespace = Some("monitoring".into());
        open(&mut app, PickerKind::Namespace);
        namespaces(&mut app, Err("listing namespaces is forbidden (403)".into()));
        press(&mut app, KeyCode::Down);
        let effects = press(&mut app, KeyCode::Enter);
        let want = Command::Rescope { session: SessionId(1), namespace: Some("monitoring".into()) };
        assert_eq!(effects, vec![Effect::Cluster(want)]);
    }

    #[test]
    fn namespace_list_starts_with_all_namespaces() {
        let mut app = app();
        open(&mut app, PickerKind::Namespace);
        namespaces(&mut app, Ok(vec!["kube-system".into(), "default".into()]));
        let Some(Layer::Picker(p)) = app.top_layer() else { panic!("picker open") };
        let labels: Vec<_> = p.visible().into_iter().map(|i| i.label).collect();
        assert_eq!(labels, ["all namespaces", "default", "kube-system"]);
        press(&mut app, KeyCode::Down);
        press(&mut app, KeyCode::Down);
        let effects = press(&mut app, KeyCode::Enter);
        let want = Command::Rescope { session: SessionId(1), namespace: Some("kube-system".into()) };
        assert_eq!(effects, vec![Effect::Cluster(want)]);
    }

    #[test]
    fn a_switch_resets_the_index_and_scope_and_drops_what_the_old_session_planned() {
        let mut app = app();
        crate::app::actions::open_status(&mut app, crate::app::Target { namespace: "x".into(), name: "y".into() });
        let info = SessionInfo {
            id: SessionId(2),
            context: "b".into(),
            namespace: Some("ns".into()),
            ..SessionInfo::default()
        };
        switched(&mut app, info, None);
        assert_eq!((app.context.as_str(), app.namespace.as_deref(), app.session), ("b", Some("ns"), SessionId(2)));
        assert!(!app.index.synced());
        assert!(app.layers.is_empty(), "views of the old session are closed");
    }

    #[test]
    fn esc_closes_without_effect() {
        let mut app = app();
        open(&mut app, PickerKind::Context);
        assert!(press(&mut app, KeyCode::Esc).is_empty());
        assert!(app.layers.is_empty());
    }
}
