//! The one keymap: a table of (action, default keys, description, section, when it applies).
//! Key handling, the footer and the `?` help screen all read this table, so they cannot
//! disagree. `[keys]` in config.toml overrides the keys of an action by its name
//! (`restart_pod = "x"`); `--readonly` removes the mutating actions entirely.
//!
//! Note on DESIGN.md's keymap: it lists both `h j k l` for moving and `l` for logs. `l` is
//! logs here (issue 6 relies on it); move right is the Right arrow (rebind `move_right` in
//! config.toml to taste).

use std::collections::HashMap;
use std::fmt;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::config::KeySpec;

macro_rules! actions {
    ($($v:ident => $n:literal),* $(,)?) => {
        /// Everything a key can ask for.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Action { $($v),* }
        impl Action {
            pub const ALL: &'static [Action] = &[$(Action::$v),*];
            /// The name used in config.toml's `[keys]`.
            pub fn name(self) -> &'static str { match self { $(Action::$v => $n),* } }
            pub fn parse(s: &str) -> Option<Action> {
                match s { $($n => Some(Action::$v),)* _ => None }
            }
        }
    };
}

actions! {
    MoveUp => "move_up",
    MoveDown => "move_down",
    MoveLeft => "move_left",
    MoveRight => "move_right",
    PageUp => "page_up",
    PageDown => "page_down",
    Home => "home",
    End => "end",
    ToggleDetail => "toggle_detail",
    Filter => "filter",
    ToggleProblems => "toggle_problems",
    NextProblem => "next_problem",
    PrevProblem => "prev_problem",
    CycleSort => "cycle_sort",
    GroupBy => "group_by",
    Logs => "logs",
    LogsDaemonSet => "logs_daemonset",
    RestartPod => "restart_pod",
    RestartFailing => "restart_failing",
    RolloutRestart => "rollout_restart",
    RolloutStatus => "rollout_status",
    History => "history",
    Strategy => "strategy",
    RollNext => "roll_next",
    ContextPicker => "context_picker",
    NamespacePicker => "namespace_picker",
    NextTheme => "next_theme",
    Help => "help",
    Quit => "quit",
    Close => "close",
}

impl Action {
    /// Actions that change the cluster; `--readonly` removes them from the keymap.
    pub fn is_mutating(self) -> bool {
        matches!(self, Action::RestartPod | Action::RestartFailing | Action::RolloutRestart | Action::RollNext)
    }
}

/// Help-screen sections, in display order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Section {
    Move,
    Find,
    Inspect,
    Act,
    App,
}

impl Section {
    pub fn title(self) -> &'static str {
        match self {
            Section::Move => "Move",
            Section::Find => "Find",
            Section::Inspect => "Inspect",
            Section::Act => "Act on the cluster",
            Section::App => "Application",
        }
    }
}

/// When a binding means something (the footer shows only those that apply now).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Applies {
    Always,
    /// The cursor cell holds a pod.
    WithPod,
    /// There is a cursor column (a DaemonSet).
    WithColumn,
    /// A panel or overlay is open.
    WithLayer,
}

/// One key: a code and the Ctrl/Alt modifiers. Shift is folded into the character
/// (`L`, `?`), because terminals report it inconsistently for printable keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct KeyCombo {
    pub code: KeyCode,
    pub ctrl: bool,
    pub alt: bool,
}

impl KeyCombo {
    pub fn from_event(ev: &KeyEvent) -> KeyCombo {
        let code = match ev.code {
            // Some terminals report Shift+Tab as BackTab, others as Tab+SHIFT.
            KeyCode::Tab if ev.modifiers.contains(KeyModifiers::SHIFT) => KeyCode::BackTab,
            c => c,
        };
        KeyCombo {
            code,
            ctrl: ev.modifiers.contains(KeyModifiers::CONTROL),
            alt: ev.modifiers.contains(KeyModifiers::ALT),
        }
    }

    /// Parse `q`, `L`, `?`, `ctrl-c`, `alt-x`, `enter`, `esc`, `pgdn`, `f5`, `space` ….
    pub fn parse(spec: &str) -> Result<KeyCombo, String> {
        let mut ctrl = false;
        let mut alt = false;
        let mut rest = spec.trim();
        loop {
            let lower = rest.to_ascii_lowercase();
            if rest.chars().count() > 2 && (lower.starts_with("ctrl-") || lower.starts_with("ctrl+")) {
                ctrl = true;
                rest = &rest[5..];
            } else if rest.chars().count() > 2 && (lower.starts_with("alt-") || lower.starts_with("alt+")) {
                alt = true;
                rest = &rest[4..];
            } else {
                break;
            }
        }
        let mut chars = rest.chars();
        let code = match (chars.next(), chars.next()) {
            (Some(c), None) => KeyCode::Char(if ctrl { c.to_ascii_lowercase() } else { c }),
            _ => match rest.to_ascii_lowercase().as_str() {
                "enter" | "return" => KeyCode::Enter,
                "esc" | "escape" => KeyCode::Esc,
                "up" => KeyCode::Up,
                "down" => KeyCode::Down,
                "left" => KeyCode::Left,
                "right" => KeyCode::Right,
                "pgup" | "pageup" => KeyCode::PageUp,
                "pgdn" | "pgdown" | "pagedown" => KeyCode::PageDown,
                "home" => KeyCode::Home,
                "end" => KeyCode::End,
                "tab" => KeyCode::Tab,
                "backtab" | "shift-tab" => KeyCode::BackTab,
                "space" => KeyCode::Char(' '),
                "backspace" => KeyCode::Backspace,
                "delete" | "del" => KeyCode::Delete,
                "insert" | "ins" => KeyCode::Insert,
                f if f.len() >= 2 && f.starts_with('f') => match f[1..].parse::<u8>() {
                    Ok(n) if (1..=24).contains(&n) => KeyCode::F(n),
                    _ => return Err(format!("unknown key {spec:?}")),
                },
                _ => return Err(format!("unknown key {spec:?} (examples: q, L, ctrl-c, enter, esc, pgdn, f5)")),
            },
        };
        Ok(KeyCombo { code, ctrl, alt })
    }
}

impl fmt::Display for KeyCombo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ctrl {
            f.write_str("Ctrl-")?;
        }
        if self.alt {
            f.write_str("Alt-")?;
        }
        match self.code {
            KeyCode::Char(' ') => f.write_str("Space"),
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::Enter => f.write_str("Enter"),
            KeyCode::Esc => f.write_str("Esc"),
            KeyCode::Up => f.write_str("Up"),
            KeyCode::Down => f.write_str("Down"),
            KeyCode::Left => f.write_str("Left"),
            KeyCode::Right => f.write_str("Right"),
            KeyCode::PageUp => f.write_str("PgUp"),
            KeyCode::PageDown => f.write_str("PgDn"),
            KeyCode::Home => f.write_str("Home"),
            KeyCode::End => f.write_str("End"),
            KeyCode::Tab => f.write_str("Tab"),
            KeyCode::BackTab => f.write_str("Shift-Tab"),
            KeyCode::Backspace => f.write_str("Backspace"),
            KeyCode::Delete => f.write_str("Del"),
            KeyCode::Insert => f.write_str("Ins"),
            KeyCode::F(n) => write!(f, "F{n}"),
            other => write!(f, "{other:?}"),
        }
    }
}

/// One row of the table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Binding {
    pub action: Action,
    pub keys: Vec<KeyCombo>,
    pub description: &'static str,
    pub section: Section,
    pub applies: Applies,
    /// A short label for the footer; `None` keeps it out of the footer (still in help).
    pub footer: Option<&'static str>,
}

/// One default row: action, keys, description, section, applies, footer label.
type DefaultRow = (Action, &'static [&'static str], &'static str, Section, Applies, Option<&'static str>);

/// The default table (DESIGN.md "Default keymap").
const DEFAULTS: &[DefaultRow] = &[
    (Action::MoveUp, &["up", "k"], "cursor up", Section::Move, Applies::Always, None),
    (Action::MoveDown, &["down", "j"], "cursor down", Section::Move, Applies::Always, None),
    (Action::MoveLeft, &["left", "h"], "cursor left (previous DaemonSet)", Section::Move, Applies::Always, None),
    (Action::MoveRight, &["right"], "cursor right (next DaemonSet)", Section::Move, Applies::Always, None),
    (Action::PageUp, &["pgup"], "page up", Section::Move, Applies::Always, None),
    (Action::PageDown, &["pgdn"], "page down", Section::Move, Applies::Always, None),
    (Action::Home, &["home"], "first row", Section::Move, Applies::Always, None),
    (Action::End, &["end"], "last row", Section::Move, Applies::Always, None),
    (Action::ToggleDetail, &["enter"], "detail panel on/off", Section::Inspect, Applies::Always, Some("detail")),
    (Action::Filter, &["/"], "filter rows and columns", Section::Find, Applies::Always, Some("filter")),
    (Action::ToggleProblems, &["p"], "problems only on/off", Section::Find, Applies::Always, Some("problems")),
    (Action::NextProblem, &["]"], "next problem cell", Section::Find, Applies::Always, Some("next")),
    (Action::PrevProblem, &["["], "previous problem cell", Section::Find, Applies::Always, None),
    (Action::CycleSort, &["o"], "cycle sort: name, problems, age", Section::Find, Applies::Always, Some("sort")),
    (Action::GroupBy, &["g"], "group rows by a node label", Section::Find, Applies::Always, Some("group")),
    (Action::Logs, &["l"], "logs of the cursor pod", Section::Inspect, Applies::WithPod, Some("logs")),
    (
        Action::LogsDaemonSet,
        &["L"],
        "logs of the whole DaemonSet (column)",
        Section::Inspect,
        Applies::WithColumn,
        None,
    ),
    (Action::RestartPod, &["d"], "restart the cursor pod (delete it)", Section::Act, Applies::WithPod, Some("restart")),
    (
        Action::RestartFailing,
        &["D"],
        "restart all failing pods of the cursor DaemonSet (paced)",
        Section::Act,
        Applies::WithColumn,
        None,
    ),
    (Action::RolloutRestart, &["R"], "rollout restart the cursor DaemonSet", Section::Act, Applies::WithColumn, None),
    (
        Action::RolloutStatus,
        &["r"],
        "rollout status of the cursor DaemonSet",
        Section::Inspect,
        Applies::WithColumn,
        None,
    ),
    (Action::History, &["H"], "rollout history and undo", Section::Act, Applies::WithColumn, None),
    (Action::Strategy, &["S"], "update strategy", Section::Act, Applies::WithColumn, None),
    (Action::RollNext, &["N"], "roll the next outdated node (OnDelete)", Section::Act, Applies::WithColumn, None),
    (Action::ContextPicker, &["c"], "switch kubeconfig context", Section::App, Applies::Always, None),
    (Action::NamespacePicker, &["n"], "switch namespace scope", Section::App, Applies::Always, None),
    (Action::NextTheme, &["t"], "next theme", Section::App, Applies::Always, None),
    (Action::Help, &["?"], "help (this screen)", Section::App, Applies::Always, Some("help")),
    (Action::Quit, &["q", "ctrl-c"], "quit", Section::App, Applies::Always, Some("quit")),
    (Action::Close, &["esc"], "close the topmost panel", Section::App, Applies::WithLayer, Some("close")),
];

/// The effective keymap of this run.
#[derive(Clone, Debug)]
pub struct Keymap {
    pub bindings: Vec<Binding>,
    lookup: HashMap<KeyCombo, Action>,
}

impl Keymap {
    /// Defaults, then config overrides, then readonly removal. Returns the keymap and
    /// warnings about overrides it could not apply (shown to the user, never fatal).
    ///
    /// An override replaces all keys of its action; a key it takes is removed from whatever
    /// action had it before, so one key never means two things. Ctrl-C always quits, whatever
    /// the config says, so a bad config can never trap anyone in raw mode.
    pub fn build(overrides: &std::collections::BTreeMap<String, KeySpec>, readonly: bool) -> (Keymap, Vec<String>) {
        let mut warnings = Vec::new();
        let mut bindings: Vec<Binding> = DEFAULTS
            .iter()
            .map(|(action, keys, description, section, applies, footer)| Binding {
                action: *action,
                // The default table is tested to parse (`default_keys_parse`).
                keys: keys.iter().filter_map(|k| KeyCombo::parse(k).ok()).collect(),
                description,
                section: *section,
                applies: *applies,
                footer: *footer,
            })
            .collect();
        for (name, spec) in overrides {
            let Some(action) = Action::parse(name) else {
                warnings.push(format!("[keys] {name}: no such action"));
                continue;
            };
            let mut keys = Vec::new();
            for k in spec.keys() {
                match KeyCombo::parse(k) {
                    Ok(c) => keys.push(c),
                    Err(e) => warnings.push(format!("[keys] {name}: {e}")),
                }
            }
            if keys.is_empty() {
                continue;
            }
            for b in bindings.iter_mut().filter(|b| b.action != action) {
                b.keys.retain(|k| !keys.contains(k));
            }
            if let Some(b) = bindings.iter_mut().find(|b| b.action == action) {
                b.keys = keys;
            }
        }
        let ctrl_c = KeyCombo { code: KeyCode::Char('c'), ctrl: true, alt: false };
        for b in bindings.iter_mut() {
            if b.action == Action::Quit {
                if !b.keys.contains(&ctrl_c) {
                    b.keys.push(ctrl_c);
                }
            } else {
                b.keys.retain(|k| *k != ctrl_c);
            }
        }
        if readonly {
            bindings.retain(|b| !b.action.is_mutating());
        }
        let mut lookup = HashMap::new();
        for b in &bindings {
            for k in &b.keys {
                lookup.insert(*k, b.action);
            }
        }
        (Keymap { bindings, lookup }, warnings)
    }

    pub fn action_for(&self, ev: &KeyEvent) -> Option<Action> {
        self.lookup.get(&KeyCombo::from_event(ev)).copied()
    }

    pub fn binding(&self, action: Action) -> Option<&Binding> {
        self.bindings.iter().find(|b| b.action == action)
    }

    /// The keys of an action as shown to the user ("q/Ctrl-C"); empty when unbound.
    pub fn keys_text(&self, action: Action) -> String {
        self.binding(action).map(|b| keys_text(&b.keys)).unwrap_or_default()
    }
}

pub fn keys_text(keys: &[KeyCombo]) -> String {
    keys.iter().map(ToString::to_string).collect::<Vec<_>>().join("/")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn key(c: char) -> KeyEvent {
        KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
    }

    #[test]
    fn default_keys_parse() {
        for (action, keys, ..) in DEFAULTS {
            for k in *keys {
                assert!(KeyCombo::parse(k).is_ok(), "{action:?}: {k}");
            }
        }
        assert_eq!(DEFAULTS.len(), Action::ALL.len(), "every action has a default row");
    }

    #[test]
    fn default_keymap_has_no_key_bound_twice() {
        let (km, warnings) = Keymap::build(&BTreeMap::new(), false);
        assert!(warnings.is_empty());
        let total: usize = km.bindings.iter().map(|b| b.keys.len()).sum();
        assert_eq!(total, km.lookup.len());
    }

    #[test]
    fn config_override_moves_key_and_frees_it_elsewhere() {
        let mut o = BTreeMap::new();
        o.insert("restart_pod".to_string(), KeySpec::One("x".into()));
        o.insert("next_theme".to_string(), KeySpec::One("p".into()));
        let (km, _) = Keymap::build(&o, false);
        assert_eq!(km.action_for(&key('x')), Some(Action::RestartPod));
        assert_eq!(km.action_for(&key('d')), None);
        assert_eq!(km.action_for(&key('p')), Some(Action::NextTheme));
        assert!(km.binding(Action::ToggleProblems).is_some_and(|b| b.keys.is_empty()));
    }

    #[test]
    fn readonly_removes_mutating_actions() {
        let (km, _) = Keymap::build(&BTreeMap::new(), true);
        assert_eq!(km.action_for(&key('d')), None);
        assert_eq!(km.action_for(&key('R')), None);
        assert!(km.binding(Action::RestartPod).is_none());
        assert_eq!(km.action_for(&key('r')), Some(Action::RolloutStatus));
    }

    #[test]
    fn ctrl_c_always_quits() {
        let mut o = BTreeMap::new();
        o.insert("quit".to_string(), KeySpec::One("Q".into()));
        o.insert("filter".to_string(), KeySpec::One("ctrl-c".into()));
        let (km, _) = Keymap::build(&o, false);
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(km.action_for(&ctrl_c), Some(Action::Quit));
    }

    #[test]
    fn shifted_letters_match_without_caring_about_the_shift_flag() {
        let (km, _) = Keymap::build(&BTreeMap::new(), false);
        let shifted = KeyEvent::new(KeyCode::Char('L'), KeyModifiers::SHIFT);
        assert_eq!(km.action_for(&shifted), Some(Action::LogsDaemonSet));
    }

    #[test]
    fn unknown_action_or_key_is_a_warning() {
        let mut o = BTreeMap::new();
        o.insert("explode".to_string(), KeySpec::One("x".into()));
        o.insert("quit".to_string(), KeySpec::One("hyper-q".into()));
        let (_, warnings) = Keymap::build(&o, false);
        assert_eq!(warnings.len(), 2, "{warnings:?}");
    }
}
