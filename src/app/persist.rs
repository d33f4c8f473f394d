//! Remembered UI state: `<state dir>/state.toml` holds the last context and namespace and the
//! UI settings a user changes with keys (sort, grouping, theme, problems-only). It is loaded at
//! start and written whenever one of them changes, atomically (a temporary file in the same
//! directory, then `rename`), so a crash mid-write leaves the old file or the new one, never
//! half of one.
//!
//! The file holds names only — never a token, a certificate, a server URL or anything else from
//! the kubeconfig's users. A missing file is "nothing remembered"; an unreadable or corrupt one
//! is a warning and the defaults (it is rewritten on the next change), never a failure.
//!
//! Precedence at start (applied by `run.rs` and [`apply_settings`]):
//! - context: `--context` > the kubeconfig's `current-context`, as kubectl and the headless
//!   commands do: the UI never starts somewhere else than `kubectl` would act. The remembered
//!   context is only where the context picker's selection starts;
//! - namespace: `-n NS` > `-A` (all namespaces) > the remembered namespace, when it was
//!   remembered with the context we start on > all namespaces;
//! - theme: `--theme` > `NO_COLOR` > the remembered theme > `config.toml`'s `theme`;
//! - sort, grouping, problems-only: the remembered value > the built-in default.
//!
//! With `--demo` the context and namespace are neither applied nor overwritten (the demo's
//! contexts do not exist in the user's kubeconfig); the UI settings are.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::msg::Level;
use super::state::{App, Notice};
use super::view::SortBy;
use crate::cli::ClusterArgs;
use crate::cluster::client::ContextInfo;
use crate::fleet::model::Secs;

/// The file name inside the state dir.
pub const STATE_FILE: &str = "state.toml";

/// What is remembered. Every field is optional: absent means "nothing remembered".
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct State {
    /// Last kubeconfig context (a name, never credentials).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    /// Last namespace scope; absent means all namespaces (the default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// `name`, `problems` or `age`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sort: Option<String>,
    /// The node label rows are grouped by; absent: not grouped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub theme: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problems_only: Option<bool>,
}

impl State {
    /// The settings of a running app. `keep_target` is the state whose context and namespace
    /// are kept instead of the app's (`--demo`: the demo's context is not remembered).
    pub fn of(app: &App, keep_target: Option<&State>) -> State {
        let (context, namespace) = match keep_target {
            Some(kept) => (kept.context.clone(), kept.namespace.clone()),
            None => ((!app.context.is_empty()).then(|| app.context.clone()), app.namespace.clone()),
        };
        State {
            context,
            namespace,
            sort: Some(sort_name(app.sort).to_string()),
            group: app.group_label().map(str::to_string),
            theme: Some(app.theme().name.clone()),
            problems_only: Some(app.problems_only),
        }
    }
}

pub fn sort_name(s: SortBy) -> &'static str {
    match s {
        SortBy::Name => "name",
        SortBy::Problems => "problems",
        SortBy::Age => "age",
    }
}

pub fn sort_from_name(s: &str) -> Option<SortBy> {
    match s {
        "name" => Some(SortBy::Name),
        "problems" => Some(SortBy::Problems),
        "age" => Some(SortBy::Age),
        _ => None,
    }
}

/// Where the state lives, and the last state written there (to write only on change).
#[derive(Clone, Debug)]
pub struct Store {
    pub path: PathBuf,
    last: Option<State>,
}

impl Store {
    pub fn new(path: PathBuf) -> Store {
        Store { path, last: None }
    }

    /// `<state_dir>/state.toml`.
    pub fn in_dir(state_dir: &Path) -> Store {
        Store::new(state_dir.join(STATE_FILE))
    }

    /// Read the file. Returns the state (defaults when missing or broken) and a warning for a
    /// file that exists but cannot be used.
    pub fn load(&mut self) -> (State, Option<String>) {
        let (state, warning) = load(&self.path);
        self.last = Some(state.clone());
        (state, warning)
    }

    /// Write `state` if it differs from what was last loaded or written. Errors are returned
    /// as one line for a notice; the next change tries again.
    pub fn save_if_changed(&mut self, state: &State) -> Result<bool, String> {
        if self.last.as_ref() == Some(state) {
            return Ok(false);
        }
        // Remember it even when the write fails: one failing disk is one notice, not one per
        // key press. The next different state is tried again.
        self.last = Some(state.clone());
        save(&self.path, state).map(|()| true)
    }
}

/// Read `path`: missing → defaults, silently; unreadable or not valid → defaults and a warning.
pub fn load(path: &Path) -> (State, Option<String>) {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return (State::default(), None),
        Err(e) => {
            return (State::default(), Some(format!("cannot read {}: {e}; using defaults", path.display())));
        }
    };
    match toml::from_str::<State>(&text) {
        Ok(state) => (state, None),
        Err(e) => {
            let detail = crate::cluster::client::one_line(e.message());
            (
                State::default(),
                Some(format!(
                    "{} is not valid ({detail}); using defaults, it is rewritten on the next change",
                    path.display()
                )),
            )
        }
    }
}

/// Write `state` to `path` atomically: a temporary file next to it, flushed, then renamed.
pub fn save(path: &Path, state: &State) -> Result<(), String> {
    let fail =
        |what: &str, e: &dyn std::fmt::Display| format!("cannot save UI state to {}: {what}: {e}", path.display());
    let body = toml::to_string(state).map_err(|e| fail("encoding", &e))?;
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| fail("creating the directory", &e))?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| STATE_FILE.into());
    // The pid keeps two daemonscope processes from writing the same temporary file.
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let write = || -> std::io::Result<()> {
        let _ = std::fs::remove_file(&tmp);
        let mut f = crate::config::create_private(&tmp)?;
        f.write_all(b"# Remembered by daemonscope (last context/namespace and UI settings); safe to delete.\n")?;
        f.write_all(body.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        fail("writing", &e)
    })
}

/// The cluster flags to start with: the remembered namespace fills in when no flag names one
/// and it was remembered with the context we start on (see the module doc for the order).
/// `contexts` are the kubeconfig's.
pub fn start_args(args: &ClusterArgs, remembered: &State, contexts: &[ContextInfo]) -> ClusterArgs {
    let mut out = args.clone();
    let starting = args.context.clone().or_else(|| contexts.iter().find(|c| c.current).map(|c| c.name.clone()));
    let same_context = match (&remembered.context, &starting) {
        (Some(r), Some(s)) => r == s,
        // Nothing remembered about the context: the namespace was remembered without one.
        (None, _) => true,
        (Some(_), None) => false,
    };
    if args.namespace.is_none() && !args.all_namespaces && same_context {
        out.namespace = remembered.namespace.clone();
    }
    out
}

/// Apply the remembered UI settings to a new app. `theme_fixed`: `--theme` or `NO_COLOR`
/// chose the theme, which then wins over the remembered one. Returns warnings for values that
/// no longer apply (a theme file removed since, an unknown sort).
pub fn apply_settings(app: &mut App, state: &State, theme_fixed: bool) -> Vec<String> {
    let mut warnings = Vec::new();
    app.remembered_context = state.context.clone();
    if let Some(s) = &state.sort {
        match sort_from_name(s) {
            Some(sort) => app.sort = sort,
            None => warnings.push(format!("state.toml: unknown sort {s:?} ignored")),
        }
    }
    if let Some(label) = &state.group {
        // A label no longer in config.toml's group_labels is dropped quietly: the user removed it.
        app.group = app.config.group_labels.iter().position(|l| l == label);
    }
    if let Some(p) = state.problems_only {
        app.problems_only = p;
    }
    if !theme_fixed && let Some(name) = &state.theme {
        match app.themes.position(name) {
            Some(i) => app.theme = i,
            None => warnings.push(format!("state.toml: theme {name:?} no longer exists; using the configured one")),
        }
    }
    app.refresh_view();
    app.dirty = true;
    if !warnings.is_empty() {
        // Joined to the start-up notice, which gets its expiry at the first tick.
        let text = match app.notice.take() {
            Some(n) if n.until == Secs::MAX => format!("{}; {}", n.text, warnings.join("; ")),
            _ => warnings.join("; "),
        };
        app.notice = Some(Notice { text, level: Level::Warn, until: Secs::MAX });
    }
    warnings
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("sub").join(STATE_FILE);
        let state = State {
            context: Some("prod".into()),
            namespace: Some("kube-system".into()),
            sort: Some("problems".into()),
            group: Some("topology.kubernetes.io/zone".into()),
            theme: Some("light".into()),
            problems_only: Some(true),
        };
        save(&path, &state).expect("save");
        assert_eq!(load(&path), (state, None));
        // No temporary file is left behind.
        let names: Vec<_> = std::fs::read_dir(path.parent().expect("dir")).expect("ls").flatten().collect();
        assert_eq!(names.len(), 1);
    }

    #[test]
    fn missing_file_is_defaults_without_warning() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(load(&dir.path().join(STATE_FILE)), (State::default(), None));
    }

    #[test]
    fn corrupt_file_is_defaults_with_a_warning() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(STATE_FILE);
        for text in ["context = [", "sort = 3", "colour = \"red\"", "\u{0}\u{1}garbage"] {
            std::fs::write(&path, text).expect("write");
            let (state, warning) = load(&path);
            assert_eq!(state, State::default(), "{text:?}");
            let warning = warning.expect("a warning");
            assert!(warning.contains("state.toml") && warning.contains("defaults"), "{warning}");
            assert!(!warning.contains('\n'), "one line: {warning}");
        }
    }

    #[test]
    fn store_writes_only_on_change() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = Store::in_dir(dir.path());
        let (state, warning) = store.load();
        assert_eq!((state.clone(), warning), (State::default(), None));
        assert_eq!(store.save_if_changed(&state), Ok(false), "unchanged: nothing written");
        assert!(!store.path.exists());
        let changed = State { sort: Some("age".into()), ..state };
        assert_eq!(store.save_if_changed(&changed), Ok(true));
        assert_eq!(store.save_if_changed(&changed), Ok(false));
        assert_eq!(load(&store.path).0, changed);
    }

    fn ctx(name: &str) -> ContextInfo {
        ContextInfo { name: name.into(), cluster: "c".into(), namespace: None, current: false }
    }

    #[test]
    fn the_kubeconfig_current_context_wins_and_the_remembered_namespace_needs_its_context() {
        let remembered =
            State { context: Some("prod".into()), namespace: Some("kube-system".into()), ..State::default() };
        let current = ContextInfo { current: true, ..ctx("dev") };
        // Like kubectl: the current context, not the remembered one; its namespace was not
        // remembered with "dev", so all namespaces.
        let args = start_args(&ClusterArgs::default(), &remembered, &[current.clone(), ctx("prod")]);
        assert_eq!((args.context.as_deref(), args.namespace.as_deref()), (None, None));
        // Started on the remembered context (it is current, or named by --context): its namespace.
        let on_prod = ClusterArgs { context: Some("prod".into()), ..ClusterArgs::default() };
        let args = start_args(&on_prod, &remembered, &[current.clone(), ctx("prod")]);
        assert_eq!((args.context.as_deref(), args.namespace.as_deref()), (Some("prod"), Some("kube-system")));
        let prod_current = ContextInfo { current: true, ..ctx("prod") };
        let args = start_args(&ClusterArgs::default(), &remembered, &[ctx("dev"), prod_current]);
        assert_eq!(args.namespace.as_deref(), Some("kube-system"));

        let flags =
            ClusterArgs { context: Some("prod".into()), namespace: Some("web".into()), ..ClusterArgs::default() };
        assert_eq!(start_args(&flags, &remembered, std::slice::from_ref(&current)).namespace.as_deref(), Some("web"));
        let all = ClusterArgs { all_namespaces: true, context: Some("prod".into()), ..ClusterArgs::default() };
        assert_eq!(start_args(&all, &remembered, &[current]).namespace, None, "-A beats the remembered namespace");
    }

    #[test]
    fn settings_are_applied_to_a_new_app() {
        use crate::app::AppOptions;
        use crate::fleet::Index;
        let mut app = App::new(Index::new(), AppOptions::default());
        let label = app.config.group_labels.first().cloned().expect("a default group label");
        let light = app.themes.position("light").expect("light theme");
        let state = State {
            sort: Some("problems".into()),
            group: Some(label.clone()),
            theme: Some("light".into()),
            problems_only: Some(true),
            ..State::default()
        };
        assert!(apply_settings(&mut app, &state, false).is_empty());
        assert_eq!(
            (app.sort, app.group_label(), app.theme, app.problems_only),
            (SortBy::Problems, Some(label.as_str()), light, true)
        );
        assert_eq!(State::of(&app, None), State { context: None, ..state.clone() });

        let mut fixed = App::new(Index::new(), AppOptions::default());
        let before = fixed.theme;
        apply_settings(&mut fixed, &state, true);
        assert_eq!(fixed.theme, before, "--theme / NO_COLOR beat the remembered theme");

        let mut bad = App::new(Index::new(), AppOptions::default());
        let warnings = apply_settings(
            &mut bad,
            &State { theme: Some("gone".into()), sort: Some("x".into()), ..State::default() },
            false,
        );
        assert_eq!(warnings.len(), 2);
        assert!(bad.notice.as_ref().is_some_and(|n| n.text.contains("gone")));
    }

    #[test]
    fn sort_names_round_trip() {
        for s in [SortBy::Name, SortBy::Problems, SortBy::Age] {
            assert_eq!(sort_from_name(sort_name(s)), Some(s));
        }
    }
}
