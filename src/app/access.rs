//! What the user may do where the cursor is, known before a key is pressed: the server's
//! answers to "may I delete pods / patch DaemonSets in this namespace?" (asked once per
//! namespace and session through `SelfSubjectAccessReview`), and the protected-context rule
//! (a context matching `protected_contexts` starts read-only until its name is typed).
//! A forbidden action is not offered: its key says why instead of opening a confirmation.

use std::collections::HashMap;

use super::keymap::Action;
use super::msg::{Effect, Level, SessionId, Work};
use super::state::App;
use crate::cluster::access::{Answer, Question};

/// What the actions need from RBAC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    DeletePods,
    PatchDaemonSets,
}

impl Need {
    /// The action's need, if it leads to a write.
    pub fn of(action: Action) -> Option<Need> {
        match action {
            Action::RestartPod | Action::RestartFailing | Action::RollNext => Some(Need::DeletePods),
            Action::RolloutRestart | Action::Strategy | Action::HistoryUndo => Some(Need::PatchDaemonSets),
            _ => None,
        }
    }

    fn index(self) -> usize {
        match self {
            Need::DeletePods => 0,
            Need::PatchDaemonSets => 1,
        }
    }
}

/// The answers of one session, per namespace.
#[derive(Clone, Debug, Default)]
pub struct Access {
    session: SessionId,
    /// `None` while asked; then the answers in `cluster::access::action_writes` order.
    by_ns: HashMap<String, Option<Vec<(Question, Answer)>>>,
    /// The user typed the name of this session's protected context.
    pub unlocked: bool,
}

impl Access {
    fn for_session(&mut self, session: SessionId) -> &mut Access {
        if self.session != session {
            *self = Access { session, ..Access::default() };
        }
        self
    }
}

/// Whether writes are locked because the context is protected and not unlocked.
pub fn locked(app: &App) -> bool {
    app.config.is_protected(&app.context) && !(app.access.session == app.session && app.access.unlocked)
}

/// Whether writes are on for a protected context (the header warns).
pub fn unlocked_protected(app: &App) -> bool {
    app.config.is_protected(&app.context) && !locked(app)
}

/// Why `action` on an object in `namespace` is not available, if it is not.
pub fn denied_in(app: &App, action: Action, namespace: &str) -> Option<String> {
    let need = Need::of(action)?;
    if app.readonly {
        return None; // the keymap already removed it, and says so
    }
    if locked(app) {
        let unlock = app.keymap.first_key(Action::UnlockWrites);
        return Some(format!(
            "context {} is protected (config protected_contexts): writes are off; {unlock} turns them on after you type its name",
            app.context
        ));
    }
    if app.access.session != app.session {
        return None;
    }
    let answers = app.access.by_ns.get(namespace)?.as_ref()?;
    let (q, a) = answers.get(need.index())?;
    match a {
        Answer::Denied(reason) => {
            let why = if reason.is_empty() { String::new() } else { format!(" ({reason})") };
            Some(format!("forbidden by RBAC: you may not {}{why}; `{}` says no", q.describe(), q.kubectl()))
        }
        Answer::Allowed | Answer::Unknown(_) => None,
    }
}

/// Why `action` is not available where the cursor is, if it is not.
pub fn denied(app: &App, action: Action) -> Option<String> {
    denied_in(app, action, &cursor_namespace(app)?)
}

/// The namespace of the DaemonSet under the cursor.
fn cursor_namespace(app: &App) -> Option<String> {
    app.cursor_ds().and_then(|d| app.index.ds(d)).map(|d| d.namespace.to_string())
}

/// Refuse `action` with a notice when it is not available; true when refused.
pub fn refuse(app: &mut App, action: Action) -> bool {
    match denied(app, action) {
        Some(why) => {
            let what = app.keymap.description(action);
            app.notify(format!("{what} is not available: {why}"), Level::Warn);
            true
        }
        None => false,
    }
}

/// After every update: ask about the cursor's namespace once per session (never in
/// `--readonly`, which sends no POST at all, and never on a locked protected context).
pub fn after_update(app: &mut App) -> Vec<Effect> {
    if app.readonly || app.session == SessionId::NONE || locked(app) {
        return Vec::new();
    }
    let Some(ns) = cursor_namespace(app) else { return Vec::new() };
    let session = app.session;
    let access = app.access.for_session(session);
    if access.by_ns.contains_key(&ns) {
        return Vec::new();
    }
    access.by_ns.insert(ns.clone(), None);
    vec![Effect::work(session, Work::CheckAccess { namespace: Some(ns) })]
}

/// The server's answers for `namespace`.
pub fn on_report(app: &mut App, session: SessionId, namespace: Option<String>, answers: Vec<(Question, Answer)>) {
    let Some(ns) = namespace else { return };
    for (q, a) in &answers {
        if let Answer::Unknown(e) = a {
            tracing::info!(question = %q.describe(), error = %e, "access review failed; the server decides at send");
        }
    }
    app.access.for_session(session).by_ns.insert(ns, Some(answers));
    app.dirty = true;
}

/// The protected context's name was typed: writes on for this session.
pub fn unlock(app: &mut App) {
    let session = app.session;
    app.access.for_session(session).unlocked = true;
    let text = format!("writes are ON for context {} in this session (protected context)", app.context);
    app.notify(text, Level::Warn);
}

/// What the matrix cannot say because RBAC hides it, one short notice each (the header's
/// stream part gives the server's message and the permission that would fix it):
/// - nodes forbidden: rows come from the pods' node names, a cell without a pod is unknown
///   (`?`), never missing or not eligible;
/// - revisions forbidden: no pod is called outdated.
pub fn rbac_gaps(app: &App) -> Vec<&'static str> {
    use crate::fleet::model::StreamKind;
    let mut gaps = Vec::new();
    if app.index.denied(StreamKind::Nodes) {
        gaps.push("nodes forbidden: rows from pods, ? unknown");
    }
    if app.index.denied(StreamKind::Revisions) {
        gaps.push("revisions forbidden: outdated unknown");
    }
    gaps
}
