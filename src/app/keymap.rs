//! The one key table, for every layer: (layer, action, default keys, description, help
//! section, when it applies, footer label). Key routing (`app::update`), every footer and the
//! `?` help screen read this table, so they cannot disagree. `[keys]` in config.toml overrides
//! the keys of an action by its name: `restart_pod = "x"` for the matrix, `"logs.follow" = "F"`
//! (or a `[keys.logs]` table with `follow = "F"`) for a layer. A binding whose action is
//! *mutating* (it leads to a request that changes the cluster) is removed by `--readonly`; that
//! one rule replaces every per-dialog read-only check.
//!
//! Note on DESIGN.md's keymap: it lists both `h j k l` for moving and `l` for logs. `l` is
//! logs here; move right is the Right arrow (rebind `move_right` in config.toml to taste).

use std::collections::HashMap;
use std::fmt;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::config::KeySpec;

macro_rules! actions {
    ($($v:ident => $n:literal),* $(,)?) => {
        /// Everything a key can ask for, in any layer.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Action { $($v),* }
        impl Action {
            pub const ALL: &'static [Action] = &[$(Action::$v),*];
            /// The name used in config.toml's `[keys]` (layer actions are `layer.action`).
            pub fn name(self) -> &'static str { match self { $(Action::$v => $n),* } }
            pub fn parse(s: &str) -> Option<Action> {
                match s { $($n => Some(Action::$v),)* _ => None }
            }
        }
    };
}

actions! {
    // The matrix.
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
    Describe => "describe",
    Yaml => "yaml",
    CommandMode => "command",
    RestartPod => "restart_pod",
    RestartFailing => "restart_failing",
    RolloutRestart => "rollout_restart",
    RolloutStatus => "rollout_status",
    History => "history",
    Strategy => "strategy",
    RollNext => "roll_next",
    UnlockWrites => "unlock_writes",
    ContextPicker => "context_picker",
    NamespacePicker => "namespace_picker",
    NextTheme => "next_theme",
    Help => "help",
    Quit => "quit",
    Close => "close",
    // The help screen.
    HelpClose => "help.close",
    HelpDown => "help.down",
    HelpUp => "help.up",
    HelpPageDown => "help.page_down",
    HelpPageUp => "help.page_up",
    HelpTop => "help.top",
    // One-line prompts (the filter, the log search).
    PromptAccept => "prompt.accept",
    PromptCancel => "prompt.cancel",
    PromptErase => "prompt.erase",
    // Context and namespace pickers.
    PickerSelect => "picker.select",
    PickerCancel => "picker.cancel",
    PickerUp => "picker.up",
    PickerDown => "picker.down",
    PickerPageUp => "picker.page_up",
    PickerPageDown => "picker.page_down",
    // The confirmation of a request.
    ConfirmYes => "confirm.yes",
    ConfirmNo => "confirm.no",
    ConfirmDown => "confirm.down",
    ConfirmUp => "confirm.up",
    // Waiting for a read that plans an action.
    PendingCancel => "pending.cancel",
    // Rollout history.
    HistoryUp => "history.up",
    HistoryDown => "history.down",
    HistoryUndo => "history.undo",
    HistoryClose => "history.close",
    // The update-strategy form.
    StrategyNext => "strategy.next_field",
    StrategyPrev => "strategy.prev_field",
    StrategyToggle => "strategy.toggle_type",
    StrategySubmit => "strategy.submit",
    StrategyCancel => "strategy.cancel",
    // The OnDelete roll prompt.
    RollThisNode => "roll.this_node",
    RollSubmit => "roll.submit",
    RollCancel => "roll.cancel",
    // The log pane.
    LogsClose => "logs.close",
    LogsSearch => "logs.search",
    LogsNext => "logs.next",
    LogsPrev => "logs.prev",
    LogsFilter => "logs.filter",
    LogsFollow => "logs.follow",
    LogsUp => "logs.up",
    LogsDown => "logs.down",
    LogsPageUp => "logs.page_up",
    LogsPageDown => "logs.page_down",
    LogsHalfUp => "logs.half_up",
    LogsHalfDown => "logs.half_down",
    LogsTop => "logs.top",
    LogsLeft => "logs.left",
    LogsRight => "logs.right",
    LogsWrap => "logs.wrap",
    LogsTime => "logs.time",
    LogsPrevious => "logs.previous",
    LogsContainer => "logs.container",
    LogsSave => "logs.save",
    LogsClear => "logs.clear",
    LogsLayout => "logs.layout",
    LogsFocus => "logs.focus",
    // The detail panel, while it has the keys.
    DetailFocus => "detail.focus",
    DetailDown => "detail.down",
    DetailUp => "detail.up",
    DetailPageDown => "detail.page_down",
    DetailPageUp => "detail.page_up",
    DetailLabels => "detail.labels",
    // The describe / YAML pane.
    InspectClose => "inspect.close",
    InspectCycle => "inspect.next_object",
    InspectMode => "inspect.switch_mode",
    InspectSearch => "inspect.search",
    InspectNext => "inspect.next",
    InspectPrev => "inspect.prev",
    InspectUp => "inspect.up",
    InspectDown => "inspect.down",
    InspectPageUp => "inspect.page_up",
    InspectPageDown => "inspect.page_down",
    InspectTop => "inspect.top",
    InspectBottom => "inspect.bottom",
    // The log pane's container picker.
    ContainersUp => "containers.up",
    ContainersDown => "containers.down",
    ContainersTop => "containers.top",
    ContainersBottom => "containers.bottom",
    ContainersSelect => "containers.select",
    ContainersCancel => "containers.cancel",
}

impl Action {
    /// Actions that lead to a request changing the cluster; `--readonly` removes their bindings.
    /// (`S` and `H` only open a form or a list; what they could send is behind `strategy.submit`
    /// and `history.undo`, and every send behind `confirm.yes`.)
    pub fn is_mutating(self) -> bool {
        matches!(
            self,
            Action::RestartPod
                | Action::RestartFailing
                | Action::RolloutRestart
                | Action::RollNext
                | Action::UnlockWrites
                | Action::HistoryUndo
                | Action::StrategySubmit
                | Action::RollThisNode
                | Action::RollSubmit
                | Action::ConfirmYes
        )
    }
}

/// Which layer a binding belongs to: the layer on top of the stack picks its table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Ctx {
    Matrix,
    Help,
    Prompt,
    Picker,
    Confirm,
    Pending,
    History,
    Strategy,
    Roll,
    Logs,
    Containers,
    Detail,
    Inspect,
}

impl Ctx {
    pub const ALL: &'static [Ctx] = &[
        Ctx::Matrix,
        Ctx::Help,
        Ctx::Prompt,
        Ctx::Picker,
        Ctx::Confirm,
        Ctx::Pending,
        Ctx::History,
        Ctx::Strategy,
        Ctx::Roll,
        Ctx::Logs,
        Ctx::Containers,
        Ctx::Detail,
        Ctx::Inspect,
    ];

    /// The help-screen heading of a layer's table (the matrix has its own sections).
    pub fn title(self) -> &'static str {
        match self {
            Ctx::Matrix => "Matrix",
            Ctx::Help => "Help screen",
            Ctx::Prompt => "Prompts (filter, searches, : commands)",
            Ctx::Picker => "Context and namespace pickers (type to filter)",
            Ctx::Confirm => "Confirmation of a request",
            Ctx::Pending => "Waiting for a read",
            Ctx::History => "Rollout history (H)",
            Ctx::Strategy => "Update strategy form (S)",
            Ctx::Roll => "Node-by-node roll (N)",
            Ctx::Logs => "Log pane (l on a cell, L on a column)",
            Ctx::Containers => "Container picker (c in the log pane)",
            Ctx::Detail => "Detail panel (Enter; Tab gives it the keys, other keys still reach the matrix)",
            Ctx::Inspect => "Describe / YAML pane (the cursor's pod, node, DaemonSet)",
        }
    }
}

/// Help-screen sections of the matrix table, in display order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Section {
    Move,
    Find,
    Inspect,
    Act,
    App,
    /// A layer's table (the heading is the layer's).
    Layer,
}

impl Section {
    pub fn title(self) -> &'static str {
        match self {
            Section::Move => "Move",
            Section::Find => "Find",
            Section::Inspect => "Inspect",
            Section::Act => "Act on the cluster",
            Section::App => "Application",
            Section::Layer => "",
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
    /// Something Esc can close or clear (a panel, a filter).
    WithLayer,
    /// The log pane is in the split layout.
    InSplit,
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
    pub ctx: Ctx,
    pub action: Action,
    pub keys: Vec<KeyCombo>,
    pub description: &'static str,
    pub section: Section,
    pub applies: Applies,
    /// A short label for the footer; `None` keeps it out of the footer (still in help).
    pub footer: Option<&'static str>,
}

/// One default row: layer, action, keys, description, section, applies, footer label.
type DefaultRow = (Ctx, Action, &'static [&'static str], &'static str, Section, Applies, Option<&'static str>);

use Applies::{Always, InSplit, WithColumn, WithLayer, WithPod};
use Section::{Act, App, Find, Inspect, Layer, Move};

/// The default table (DESIGN.md "Default keymap", plus every layer's keys).
#[rustfmt::skip]
const DEFAULTS: &[DefaultRow] = &[
    (Ctx::Matrix, Action::MoveUp, &["up", "k"], "cursor up", Move, Always, None),
    (Ctx::Matrix, Action::MoveDown, &["down", "j"], "cursor down", Move, Always, None),
    (Ctx::Matrix, Action::MoveLeft, &["left", "h"], "cursor left (previous DaemonSet)", Move, Always, None),
    (Ctx::Matrix, Action::MoveRight, &["right"], "cursor right (next DaemonSet)", Move, Always, None),
    (Ctx::Matrix, Action::PageUp, &["pgup"], "page up", Move, Always, None),
    (Ctx::Matrix, Action::PageDown, &["pgdn"], "page down", Move, Always, None),
    (Ctx::Matrix, Action::Home, &["home"], "first row", Move, Always, None),
    (Ctx::Matrix, Action::End, &["end"], "last row", Move, Always, None),
    (Ctx::Matrix, Action::ToggleDetail, &["enter"], "detail panel on/off", Inspect, Always, Some("detail")),
    (Ctx::Matrix, Action::Filter, &["/"], "filter rows and columns (Esc clears)", Find, Always, Some("filter")),
    (Ctx::Matrix, Action::ToggleProblems, &["p"], "problems only on/off", Find, Always, Some("problems")),
    (Ctx::Matrix, Action::NextProblem, &["]"], "next problem cell (most severe first)", Find, Always, Some("next")),
    (Ctx::Matrix, Action::PrevProblem, &["["], "previous problem cell (most severe first)", Find, Always, None),
    (Ctx::Matrix, Action::CycleSort, &["o"], "cycle sort: name, problems (most severe first), age", Find, Always, Some("sort")),
    (Ctx::Matrix, Action::GroupBy, &["g"], "group rows by a node label", Find, Always, Some("group")),
    (Ctx::Matrix, Action::Logs, &["l"], "logs of the cursor pod", Inspect, WithPod, Some("logs")),
    (Ctx::Matrix, Action::LogsDaemonSet, &["L"], "logs of the whole DaemonSet (column)", Inspect, WithColumn, None),
    (Ctx::Matrix, Action::Describe, &["v"], "describe the cursor's pod, node, DaemonSet (Tab cycles)", Inspect, Always, Some("describe")),
    (Ctx::Matrix, Action::Yaml, &["Y"], "YAML of the cursor's pod, node, DaemonSet (as kubectl get -o yaml)", Inspect, Always, None),
    (Ctx::Matrix, Action::RestartPod, &["d"], "restart the cursor pod (delete it)", Act, WithPod, Some("restart")),
    (Ctx::Matrix, Action::RestartFailing, &["D"], "restart all failing pods of the cursor DaemonSet (paced)", Act, WithColumn, None),
    (Ctx::Matrix, Action::RolloutRestart, &["R"], "rollout restart the cursor DaemonSet", Act, WithColumn, None),
    (Ctx::Matrix, Action::RolloutStatus, &["r"], "rollout status of the cursor DaemonSet", Inspect, WithColumn, None),
    (Ctx::Matrix, Action::History, &["H"], "rollout history (and undo)", Act, WithColumn, None),
    (Ctx::Matrix, Action::Strategy, &["S"], "update strategy", Act, WithColumn, None),
    (Ctx::Matrix, Action::RollNext, &["N"], "roll the next outdated node (OnDelete)", Act, WithColumn, None),
    (Ctx::Matrix, Action::UnlockWrites, &["W"], "turn writes on for a protected context (type its name)", Act, Always, None),
    (Ctx::Matrix, Action::ContextPicker, &["c"], "switch kubeconfig context", App, Always, None),
    (Ctx::Matrix, Action::NamespacePicker, &["n"], "switch namespace scope", App, Always, None),
    (Ctx::Matrix, Action::NextTheme, &["t"], "next theme", App, Always, None),
    (Ctx::Matrix, Action::CommandMode, &[":"], "command: ctx [NAME], ns [NAME|-A], ds NAME, q", App, Always, None),
    (Ctx::Matrix, Action::Help, &["?"], "help (this screen) and the recent messages with their times", App, Always, Some("help")),
    (Ctx::Matrix, Action::Quit, &["q", "ctrl-c"], "quit", App, Always, Some("quit")),
    (Ctx::Matrix, Action::Close, &["esc"], "close the topmost panel, then clear the filter", App, WithLayer, Some("close")),

    (Ctx::Help, Action::HelpClose, &["esc", "?", "q"], "close help", Layer, Always, Some("close")),
    (Ctx::Help, Action::HelpDown, &["down", "j"], "scroll down", Layer, Always, Some("scroll")),
    (Ctx::Help, Action::HelpUp, &["up", "k"], "scroll up", Layer, Always, None),
    (Ctx::Help, Action::HelpPageDown, &["pgdn", "space"], "page down", Layer, Always, None),
    (Ctx::Help, Action::HelpPageUp, &["pgup"], "page up", Layer, Always, None),
    (Ctx::Help, Action::HelpTop, &["home"], "top", Layer, Always, None),

    (Ctx::Prompt, Action::PromptAccept, &["enter"], "keep the text and close the prompt", Layer, Always, Some("keep")),
    (Ctx::Prompt, Action::PromptCancel, &["esc"], "clear the text and close the prompt", Layer, Always, Some("clear")),
    (Ctx::Prompt, Action::PromptErase, &["ctrl-u"], "erase the text, keep the prompt open", Layer, Always, Some("erase")),

    (Ctx::Picker, Action::PickerSelect, &["enter"], "switch to the selected entry", Layer, Always, Some("switch")),
    (Ctx::Picker, Action::PickerCancel, &["esc"], "cancel", Layer, Always, Some("cancel")),
    (Ctx::Picker, Action::PickerUp, &["up", "ctrl-p"], "previous entry", Layer, Always, Some("choose")),
    (Ctx::Picker, Action::PickerDown, &["down", "ctrl-n"], "next entry", Layer, Always, None),
    (Ctx::Picker, Action::PickerPageUp, &["pgup"], "ten entries up", Layer, Always, None),
    (Ctx::Picker, Action::PickerPageDown, &["pgdn"], "ten entries down", Layer, Always, None),

    (Ctx::Confirm, Action::ConfirmYes, &["y"], "send exactly what is shown", Layer, Always, Some("send")),
    (Ctx::Confirm, Action::ConfirmNo, &["n", "esc", "q"], "cancel: nothing is sent", Layer, Always, Some("cancel")),
    (Ctx::Confirm, Action::ConfirmDown, &["down", "j", "pgdn"], "scroll the requests down", Layer, Always, Some("scroll")),
    (Ctx::Confirm, Action::ConfirmUp, &["up", "k", "pgup"], "scroll the requests up", Layer, Always, None),

    (Ctx::Pending, Action::PendingCancel, &["esc"], "stop waiting (nothing is sent)", Layer, Always, Some("cancel")),

    (Ctx::History, Action::HistoryUp, &["up", "k"], "previous revision", Layer, Always, Some("select")),
    (Ctx::History, Action::HistoryDown, &["down", "j"], "next revision", Layer, Always, None),
    (Ctx::History, Action::HistoryUndo, &["u"], "undo to the selected revision (asks first)", Layer, Always, Some("undo")),
    (Ctx::History, Action::HistoryClose, &["esc", "q", "H"], "close", Layer, Always, Some("close")),

    (Ctx::Strategy, Action::StrategyNext, &["tab", "down"], "next field", Layer, Always, Some("next field")),
    (Ctx::Strategy, Action::StrategyPrev, &["backtab", "up"], "previous field", Layer, Always, None),
    (Ctx::Strategy, Action::StrategyToggle, &["space", "left", "right"], "switch the type (on the type field)", Layer, Always, Some("type")),
    (Ctx::Strategy, Action::StrategySubmit, &["enter"], "review the patch (asks first)", Layer, Always, Some("review")),
    (Ctx::Strategy, Action::StrategyCancel, &["esc"], "cancel", Layer, Always, Some("cancel")),

    (Ctx::Roll, Action::RollThisNode, &["t"], "roll the cursor node (asks first)", Layer, Always, Some("this node")),
    (Ctx::Roll, Action::RollSubmit, &["enter"], "roll the next N outdated nodes (asks first)", Layer, Always, Some("next N")),
    (Ctx::Roll, Action::RollCancel, &["esc"], "cancel", Layer, Always, Some("cancel")),

    (Ctx::Logs, Action::LogsClose, &["esc", "q"], "close the log pane", Layer, Always, Some("close")),
    (Ctx::Logs, Action::LogsSearch, &["/"], "search (smart case); Enter keeps it", Layer, Always, Some("search")),
    (Ctx::Logs, Action::LogsNext, &["n"], "next match", Layer, Always, Some("next")),
    (Ctx::Logs, Action::LogsPrev, &["N"], "previous match", Layer, Always, None),
    (Ctx::Logs, Action::LogsFilter, &["f"], "filter: only matching lines, on/off", Layer, Always, Some("filter")),
    (Ctx::Logs, Action::LogsFollow, &["G", "end"], "follow new lines (scrolling up pauses)", Layer, Always, Some("follow")),
    (Ctx::Logs, Action::LogsUp, &["up", "k"], "scroll up", Layer, Always, None),
    (Ctx::Logs, Action::LogsDown, &["down", "j"], "scroll down", Layer, Always, None),
    (Ctx::Logs, Action::LogsPageUp, &["pgup", "ctrl-b"], "page up", Layer, Always, None),
    (Ctx::Logs, Action::LogsPageDown, &["pgdn", "ctrl-f"], "page down", Layer, Always, None),
    (Ctx::Logs, Action::LogsHalfUp, &["ctrl-u"], "half a page up", Layer, Always, None),
    (Ctx::Logs, Action::LogsHalfDown, &["ctrl-d"], "half a page down", Layer, Always, None),
    (Ctx::Logs, Action::LogsTop, &["g", "home"], "oldest line", Layer, Always, None),
    (Ctx::Logs, Action::LogsLeft, &["left", "h"], "scroll left (without wrap)", Layer, Always, None),
    (Ctx::Logs, Action::LogsRight, &["right", "l"], "scroll right (without wrap)", Layer, Always, None),
    (Ctx::Logs, Action::LogsWrap, &["w"], "wrap long lines on/off", Layer, Always, Some("wrap")),
    (Ctx::Logs, Action::LogsTime, &["t"], "timestamps on/off", Layer, Always, Some("time")),
    (Ctx::Logs, Action::LogsPrevious, &["p"], "previous container's logs on/off", Layer, Always, Some("prev")),
    (Ctx::Logs, Action::LogsContainer, &["c"], "choose the container (init containers too)", Layer, Always, Some("container")),
    (Ctx::Logs, Action::LogsSave, &["s"], "save the buffer to the state directory", Layer, Always, Some("save")),
    (Ctx::Logs, Action::LogsClear, &["x"], "clear the buffer", Layer, Always, None),
    (Ctx::Logs, Action::LogsLayout, &["z"], "split / full screen", Layer, Always, Some("layout")),
    (Ctx::Logs, Action::LogsFocus, &["tab"], "keys to the matrix / back to the pane (split)", Layer, InSplit, Some("focus")),

    (Ctx::Inspect, Action::InspectClose, &["esc", "q"], "close the pane", Layer, Always, Some("close")),
    (Ctx::Inspect, Action::InspectCycle, &["tab"], "next object: pod, node, DaemonSet", Layer, Always, Some("next object")),
    (Ctx::Inspect, Action::InspectMode, &["m"], "switch describe / YAML", Layer, Always, Some("describe/yaml")),
    (Ctx::Inspect, Action::InspectSearch, &["/"], "search (case-insensitive); Enter searches", Layer, Always, Some("search")),
    (Ctx::Inspect, Action::InspectNext, &["n"], "next match", Layer, Always, Some("next")),
    (Ctx::Inspect, Action::InspectPrev, &["N"], "previous match", Layer, Always, None),
    (Ctx::Inspect, Action::InspectUp, &["up", "k"], "scroll up", Layer, Always, Some("scroll")),
    (Ctx::Inspect, Action::InspectDown, &["down", "j"], "scroll down", Layer, Always, None),
    (Ctx::Inspect, Action::InspectPageUp, &["pgup", "ctrl-b"], "page up", Layer, Always, None),
    (Ctx::Inspect, Action::InspectPageDown, &["pgdn", "ctrl-f", "space"], "page down", Layer, Always, None),
    (Ctx::Inspect, Action::InspectTop, &["home", "g"], "top", Layer, Always, None),
    (Ctx::Inspect, Action::InspectBottom, &["end", "G"], "bottom", Layer, Always, None),

    (Ctx::Containers, Action::ContainersUp, &["up", "k"], "previous container", Layer, Always, Some("choose")),
    (Ctx::Containers, Action::ContainersDown, &["down", "j"], "next container", Layer, Always, None),
    (Ctx::Containers, Action::ContainersTop, &["home"], "first container", Layer, Always, None),
    (Ctx::Containers, Action::ContainersBottom, &["end"], "last container", Layer, Always, None),
    (Ctx::Containers, Action::ContainersSelect, &["enter"], "stream the selected container", Layer, Always, Some("stream it")),
    (Ctx::Containers, Action::ContainersCancel, &["esc"], "cancel", Layer, Always, Some("cancel")),

    (Ctx::Detail, Action::DetailFocus, &["tab"], "keys to the detail panel / back to the matrix", Layer, Always, Some("matrix")),
    (Ctx::Detail, Action::DetailDown, &["down", "j"], "scroll down", Layer, Always, Some("scroll")),
    (Ctx::Detail, Action::DetailUp, &["up", "k"], "scroll up", Layer, Always, None),
    (Ctx::Detail, Action::DetailPageDown, &["pgdn", "space"], "page down", Layer, Always, None),
    (Ctx::Detail, Action::DetailPageUp, &["pgup"], "page up", Layer, Always, None),
    (Ctx::Detail, Action::DetailLabels, &["f"], "fold / unfold the node's labels", Layer, Always, Some("labels")),
];

/// A set of key changes on top of the default table, chosen by `keymap = "…"` in config.toml;
/// `[keys]` overrides apply after it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Preset {
    #[default]
    Default,
    /// k9s' habits: `d` describes, `y` shows the YAML, `Ctrl-D` deletes (restarts) the pod,
    /// `:` is the command prompt, Esc goes back. A dialog's own keys come first, so `y` still
    /// confirms inside a confirmation.
    K9s,
}

impl Preset {
    /// `keymap` in config.toml; `Err` names the choices.
    pub fn parse(s: &str) -> Result<Preset, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "" | "default" | "daemonscope" => Ok(Preset::Default),
            "k9s" => Ok(Preset::K9s),
            other => Err(format!("keymap = {other:?}: no such preset (choose \"default\" or \"k9s\")")),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Preset::Default => "default",
            Preset::K9s => "k9s",
        }
    }

    /// The preset's key changes, as `[keys]` entries.
    fn overrides(self) -> Vec<(String, Vec<String>)> {
        let one = |a: &str, k: &str| (a.to_string(), vec![k.to_string()]);
        match self {
            Preset::Default => Vec::new(),
            Preset::K9s => vec![one("describe", "d"), one("yaml", "y"), one("restart_pod", "ctrl-d")],
        }
    }
}

/// The effective key table of this run.
#[derive(Clone, Debug)]
pub struct Keymap {
    /// The preset the table started from (the help names it).
    pub preset: Preset,
    pub bindings: Vec<Binding>,
    lookup: HashMap<(Ctx, KeyCombo), Action>,
    /// Keys of the bindings `--readonly` removed, so a press can say why nothing happens.
    removed: HashMap<(Ctx, KeyCombo), Action>,
}

impl Keymap {
    /// Defaults, then config overrides, then read-only removal. Returns the keymap and
    /// warnings about overrides it could not apply (shown to the user, never fatal).
    ///
    /// An override replaces all keys of its action; a key it takes is removed from whatever
    /// other action of the same layer had it, so one key never means two things in a layer.
    /// Ctrl-C always quits, whatever the config says, so a bad config can never trap anyone
    /// in raw mode.
    pub fn build(overrides: &std::collections::BTreeMap<String, KeySpec>, readonly: bool) -> (Keymap, Vec<String>) {
        Keymap::build_with(Preset::Default, overrides, readonly)
    }

    /// [`Keymap::build`] starting from `preset`'s changes to the defaults.
    pub fn build_with(
        preset: Preset,
        overrides: &std::collections::BTreeMap<String, KeySpec>,
        readonly: bool,
    ) -> (Keymap, Vec<String>) {
        let mut warnings = Vec::new();
        let mut bindings: Vec<Binding> = DEFAULTS
            .iter()
            .map(|(ctx, action, keys, description, section, applies, footer)| Binding {
                ctx: *ctx,
                action: *action,
                // The default table is tested to parse (`default_keys_parse`).
                keys: keys.iter().filter_map(|k| KeyCombo::parse(k).ok()).collect(),
                description,
                section: *section,
                applies: *applies,
                footer: *footer,
            })
            .collect();
        for (name, specs) in preset.overrides().into_iter().chain(KeySpec::flatten(overrides)) {
            let Some(action) = Action::parse(&name) else {
                warnings.push(format!("[keys] {name}: no such action"));
                continue;
            };
            let mut keys = Vec::new();
            for k in &specs {
                match KeyCombo::parse(k) {
                    Ok(c) => keys.push(c),
                    Err(e) => warnings.push(format!("[keys] {name}: {e}")),
                }
            }
            if keys.is_empty() {
                continue;
            }
            let Some(ctx) = bindings.iter().find(|b| b.action == action).map(|b| b.ctx) else { continue };
            for b in bindings.iter_mut().filter(|b| b.ctx == ctx && b.action != action) {
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
        let mut removed = HashMap::new();
        if readonly {
            for b in bindings.iter().filter(|b| b.action.is_mutating()) {
                for k in &b.keys {
                    removed.insert((b.ctx, *k), b.action);
                }
            }
            bindings.retain(|b| !b.action.is_mutating());
        }
        let mut lookup = HashMap::new();
        for b in &bindings {
            for k in &b.keys {
                lookup.insert((b.ctx, *k), b.action);
            }
        }
        (Keymap { preset, bindings, lookup, removed }, warnings)
    }

    /// The action of a key in a layer's table.
    pub fn lookup(&self, ctx: Ctx, ev: &KeyEvent) -> Option<Action> {
        self.lookup.get(&(ctx, KeyCombo::from_event(ev))).copied()
    }

    /// The action of a key in the matrix table.
    pub fn action_for(&self, ev: &KeyEvent) -> Option<Action> {
        self.lookup(Ctx::Matrix, ev)
    }

    /// The action `--readonly` removed from this key of a layer, if any.
    pub fn removed(&self, ctx: Ctx, ev: &KeyEvent) -> Option<Action> {
        self.removed.get(&(ctx, KeyCombo::from_event(ev))).copied()
    }

    /// What an action does, from the default table (also for removed bindings).
    pub fn description(&self, action: Action) -> &'static str {
        DEFAULTS.iter().find(|r| r.1 == action).map(|r| r.3).unwrap_or("this key")
    }

    pub fn binding(&self, action: Action) -> Option<&Binding> {
        self.bindings.iter().find(|b| b.action == action)
    }

    /// The bindings of one layer, in table order.
    pub fn table(&self, ctx: Ctx) -> impl Iterator<Item = &Binding> {
        self.bindings.iter().filter(move |b| b.ctx == ctx)
    }

    /// The keys of an action as shown to the user ("q/Ctrl-C"); empty when unbound (or
    /// removed by `--readonly`).
    pub fn keys_text(&self, action: Action) -> String {
        self.binding(action).map(|b| keys_text(&b.keys)).unwrap_or_default()
    }

    /// The first key of an action ("Esc"), for short hints; empty when unbound.
    pub fn first_key(&self, action: Action) -> String {
        self.binding(action).map(|b| keys_text(&b.keys[..b.keys.len().min(1)])).unwrap_or_default()
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
        for (_, action, keys, ..) in DEFAULTS {
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
        assert_eq!(total, km.lookup.len(), "a key is bound twice within one layer");
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

#[cfg(test)]
mod preset_tests {
    use super::*;
    use std::collections::BTreeMap;

    fn ev(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, modifiers)
    }

    #[test]
    fn k9s_preset_describes_on_d_yaml_on_y_and_deletes_on_ctrl_d() {
        let (km, warnings) = Keymap::build_with(Preset::K9s, &BTreeMap::new(), false);
        assert!(warnings.is_empty(), "{warnings:?}");
        let none = KeyModifiers::NONE;
        assert_eq!(km.action_for(&ev(KeyCode::Char('d'), none)), Some(Action::Describe));
        assert_eq!(km.action_for(&ev(KeyCode::Char('y'), none)), Some(Action::Yaml));
        assert_eq!(km.action_for(&ev(KeyCode::Char('d'), KeyModifiers::CONTROL)), Some(Action::RestartPod));
        assert_eq!(km.action_for(&ev(KeyCode::Char(':'), none)), Some(Action::CommandMode));
        assert_eq!(km.lookup(Ctx::Confirm, &ev(KeyCode::Char('y'), none)), Some(Action::ConfirmYes));
        assert_eq!(km.action_for(&ev(KeyCode::Char('v'), none)), None, "v moved to d");
    }

    #[test]
    fn config_keys_apply_after_the_preset() {
        let mut o = BTreeMap::new();
        o.insert("describe".to_string(), KeySpec::One("D".into()));
        let (km, _) = Keymap::build_with(Preset::K9s, &o, false);
        assert_eq!(km.action_for(&KeyEvent::new(KeyCode::Char('D'), KeyModifiers::NONE)), Some(Action::Describe));
        assert_eq!(km.action_for(&KeyEvent::new(KeyCode::Char('d'), KeyModifiers::NONE)), None);
    }

    #[test]
    fn unknown_preset_is_an_error_naming_the_choices() {
        assert_eq!(Preset::parse("K9S"), Ok(Preset::K9s));
        assert!(Preset::parse("vim").is_err_and(|e| e.contains("k9s")));
    }
}

#[cfg(test)]
mod layer_tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn a_layer_key_is_rebound_in_its_own_table_only() {
        let mut o = BTreeMap::new();
        let mut logs = BTreeMap::new();
        logs.insert("follow".to_string(), KeySpec::One("F".into()));
        o.insert("logs".to_string(), KeySpec::Table(logs));
        o.insert("logs.wrap".to_string(), KeySpec::One("W".into()));
        let (km, warnings) = Keymap::build(&o, false);
        assert!(warnings.is_empty(), "{warnings:?}");
        let f = KeyEvent::new(KeyCode::Char('F'), KeyModifiers::NONE);
        let g = KeyEvent::new(KeyCode::Char('G'), KeyModifiers::NONE);
        assert_eq!(km.lookup(Ctx::Logs, &f), Some(Action::LogsFollow));
        assert_eq!(km.lookup(Ctx::Logs, &g), None, "the old key is gone");
        let w = KeyEvent::new(KeyCode::Char('W'), KeyModifiers::NONE);
        assert_eq!(km.lookup(Ctx::Logs, &w), Some(Action::LogsWrap));
        assert_eq!(km.lookup(Ctx::Matrix, &f), None, "other layers are untouched");
    }

    #[test]
    fn readonly_removes_every_mutating_binding_in_every_layer() {
        let (km, _) = Keymap::build(&BTreeMap::new(), true);
        assert!(km.bindings.iter().all(|b| !b.action.is_mutating()));
        let y = KeyEvent::new(KeyCode::Char('y'), KeyModifiers::NONE);
        assert_eq!(km.lookup(Ctx::Confirm, &y), None);
        let u = KeyEvent::new(KeyCode::Char('u'), KeyModifiers::NONE);
        assert_eq!(km.lookup(Ctx::History, &u), None, "history stays readable, undo is gone");
        assert!(km.binding(Action::HistoryDown).is_some());
        let v = KeyEvent::new(KeyCode::Char('v'), KeyModifiers::NONE);
        assert_eq!(km.action_for(&v), Some(Action::Describe), "describe and YAML are reads");
    }

    #[test]
    fn enter_does_not_confirm() {
        let (km, _) = Keymap::build(&BTreeMap::new(), false);
        let enter = KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE);
        assert_eq!(km.lookup(Ctx::Confirm, &enter), None, "Enter is the detail key: type-ahead must not send");
    }
}
