//! Themes: styles named by meaning ("cursor", "state.missing", "header") and the glyph sets,
//! as data. The shipped themes are `themes/*.toml`, embedded with `include_str!`; user themes
//! are `*.toml` files in `<config dir>/themes` (same format; a user theme with a built-in's name
//! replaces it). Widgets ask for a [`Slot`], never for a colour.
//!
//! Format:
//! ```toml
//! name = "default"
//! [slots]
//! header = { fg = "white", bg = "blue", bold = true }
//! "state.missing" = { fg = "light-red", bold = true }
//! [glyphs]          # one terminal column each
//! missing = "✗"
//! [ascii]           # the same keys, ASCII only (`--ascii`)
//! missing = "X"
//! ```
//! Colours: ratatui's names (`red`, `light-red`, `dark-gray`, `reset` …), `#rrggbb`, or a
//! 256-colour index (`"214"`). Every slot and every glyph must be defined: a theme that forgets
//! one is rejected with its name, so a half-finished theme never renders blank cells.

use std::collections::BTreeMap;
use std::path::Path;
use std::str::FromStr;

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;
use unicode_width::UnicodeWidthStr;

use crate::fleet::CellState;

macro_rules! slots {
    ($($v:ident => $n:literal),* $(,)?) => {
        /// A style named by what it is for.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Slot { $($v),* }
        impl Slot {
            pub const ALL: &'static [Slot] = &[$(Slot::$v),*];
            pub fn name(self) -> &'static str { match self { $(Slot::$v => $n),* } }
        }
    };
}

slots! {
    Header => "header",
    HeaderDim => "header.dim",
    Title => "title",
    Border => "border",
    Footer => "footer",
    FooterKey => "footer.key",
    Legend => "legend",
    ColumnHeader => "column.header",
    ColumnHeaderCursor => "column.header.cursor",
    RowLabel => "row.label",
    RowLabelCursor => "row.label.cursor",
    NodeNotReady => "node.not-ready",
    NodeCordoned => "node.cordoned",
    NodeTainted => "node.tainted",
    GroupHeader => "group.header",
    Cursor => "cursor",
    Totals => "totals",
    TotalsShort => "totals.short",
    Restarts => "restarts",
    DetailTitle => "detail.title",
    DetailKey => "detail.key",
    DetailValue => "detail.value",
    Help => "help",
    HelpKey => "help.key",
    Prompt => "prompt",
    Notice => "notice",
    Error => "error",
    StreamLive => "stream.live",
    StreamReconnecting => "stream.reconnecting",
    StreamFailed => "stream.failed",
    StateMissing => "state.missing",
    StateFailing => "state.failing",
    StateTerminating => "state.terminating",
    StatePending => "state.pending",
    StateNotReady => "state.not-ready",
    StateOutdated => "state.outdated",
    StateReady => "state.ready",
    StateMisscheduled => "state.misscheduled",
    StateNotEligible => "state.not-eligible",
    StateUnknown => "state.unknown",
}

impl Slot {
    pub fn for_state(s: CellState) -> Slot {
        match s {
            CellState::Missing => Slot::StateMissing,
            CellState::Failing => Slot::StateFailing,
            CellState::Terminating => Slot::StateTerminating,
            CellState::Pending => Slot::StatePending,
            CellState::NotReady => Slot::StateNotReady,
            CellState::Outdated => Slot::StateOutdated,
            CellState::Ready => Slot::StateReady,
            CellState::Misscheduled => Slot::StateMisscheduled,
            CellState::NotEligible => Slot::StateNotEligible,
            CellState::Unknown => Slot::StateUnknown,
        }
    }
}

/// Glyphs other than the cell states.
pub const EXTRA_GLYPHS: &[&str] = &["restarts", "node-not-ready", "node-unknown", "node-cordoned", "node-tainted"];

/// One glyph set: a one-column string per cell state and per marker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Glyphs {
    pub states: [String; CellState::COUNT],
    pub restarts: String,
    pub node_not_ready: String,
    pub node_unknown: String,
    pub node_cordoned: String,
    pub node_tainted: String,
}

impl Glyphs {
    pub fn state(&self, s: CellState) -> &str {
        &self.states[s.idx()]
    }

    fn from_map(map: &BTreeMap<String, String>, table: &str, ascii: bool) -> Result<Glyphs, ThemeError> {
        let get = |k: &str| -> Result<String, ThemeError> {
            let g = map.get(k).ok_or_else(|| ThemeError::Missing(format!("[{table}] {k}")))?;
            // The ASCII ellipsis marks cut names; as a glyph it would read as a cell.
            let is_cut_mark = ascii && g.chars().eq(std::iter::once(crate::text::ellipsis(true)));
            if g.width() != 1 || g.chars().any(char::is_control) || (ascii && !g.is_ascii()) || is_cut_mark {
                return Err(ThemeError::BadGlyph { key: format!("[{table}] {k}"), glyph: g.clone() });
            }
            Ok(g.clone())
        };
        let mut states: [String; CellState::COUNT] = Default::default();
        for s in CellState::ALL {
            states[s.idx()] = match get(s.name()) {
                // A theme written before cells could be unknown (nodes forbidden) still loads.
                Err(ThemeError::Missing(_)) if s == CellState::Unknown => "?".to_string(),
                other => other?,
            };
        }
        Ok(Glyphs {
            states,
            restarts: get("restarts")?,
            node_not_ready: get("node-not-ready")?,
            node_unknown: get("node-unknown")?,
            node_cordoned: get("node-cordoned")?,
            node_tainted: get("node-tainted")?,
        })
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ThemeError {
    #[error("not valid theme TOML: {0}")]
    Toml(String),
    #[error("{0} is not defined")]
    Missing(String),
    #[error("{key} = {glyph:?} must be exactly one terminal column (and ASCII in [ascii], not the cut mark *)")]
    BadGlyph { key: String, glyph: String },
    #[error("slot {slot}: unknown colour {colour:?} (use a name like light-red, #rrggbb or 0-255)")]
    BadColour { slot: String, colour: String },
    #[error("unknown slot {0:?} (known: header, cursor, state.missing …; see themes/default.toml)")]
    UnknownSlot(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StyleSpec {
    fg: Option<String>,
    bg: Option<String>,
    #[serde(default)]
    bold: bool,
    #[serde(default)]
    dim: bool,
    #[serde(default)]
    italic: bool,
    #[serde(default)]
    underline: bool,
    #[serde(default)]
    reversed: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ThemeFile {
    name: String,
    #[serde(default)]
    description: String,
    slots: BTreeMap<String, StyleSpec>,
    glyphs: BTreeMap<String, String>,
    ascii: BTreeMap<String, String>,
}

/// A parsed theme.
#[derive(Clone, Debug, PartialEq)]
pub struct Theme {
    pub name: String,
    pub description: String,
    styles: Vec<Style>,
    pub glyphs: Glyphs,
    pub ascii: Glyphs,
}

fn parse_colour(slot: &str, s: &str) -> Result<Color, ThemeError> {
    Color::from_str(s).map_err(|_| ThemeError::BadColour { slot: slot.to_string(), colour: s.to_string() })
}

impl Theme {
    pub fn parse(text: &str) -> Result<Theme, ThemeError> {
        let file: ThemeFile = toml::from_str(text).map_err(|e| ThemeError::Toml(e.to_string()))?;
        if let Some(unknown) = file.slots.keys().find(|k| !Slot::ALL.iter().any(|s| s.name() == k.as_str())) {
            return Err(ThemeError::UnknownSlot(unknown.clone()));
        }
        let mut styles = Vec::with_capacity(Slot::ALL.len());
        // A theme written before cells could be unknown (nodes forbidden) still loads.
        let unknown_default = StyleSpec {
            fg: Some("yellow".into()),
            bg: None,
            bold: false,
            dim: false,
            italic: false,
            underline: false,
            reversed: false,
        };
        for slot in Slot::ALL {
            let spec = match file.slots.get(slot.name()) {
                Some(spec) => spec,
                None if *slot == Slot::StateUnknown => &unknown_default,
                None => return Err(ThemeError::Missing(format!("[slots] {}", slot.name()))),
            };
            let mut st = Style::default();
            if let Some(fg) = &spec.fg {
                st = st.fg(parse_colour(slot.name(), fg)?);
            }
            if let Some(bg) = &spec.bg {
                st = st.bg(parse_colour(slot.name(), bg)?);
            }
            for (on, m) in [
                (spec.bold, Modifier::BOLD),
                (spec.dim, Modifier::DIM),
                (spec.italic, Modifier::ITALIC),
                (spec.underline, Modifier::UNDERLINED),
                (spec.reversed, Modifier::REVERSED),
            ] {
                if on {
                    st = st.add_modifier(m);
                }
            }
            styles.push(st);
        }
        Ok(Theme {
            name: file.name,
            description: file.description,
            styles,
            glyphs: Glyphs::from_map(&file.glyphs, "glyphs", false)?,
            ascii: Glyphs::from_map(&file.ascii, "ascii", true)?,
        })
    }

    pub fn style(&self, slot: Slot) -> Style {
        // `styles` has one entry per `Slot::ALL`, in declaration order (built in `parse`), so
        // the discriminant is the index: O(1) per cell drawn.
        self.styles.get(slot as usize).copied().unwrap_or_default()
    }

    pub fn state_style(&self, s: CellState) -> Style {
        self.style(Slot::for_state(s))
    }

    /// The glyph set to draw with.
    pub fn glyph_set(&self, ascii: bool) -> &Glyphs {
        if ascii { &self.ascii } else { &self.glyphs }
    }
}

/// The shipped themes, in the order `t` cycles them.
pub const BUILTIN: &[(&str, &str)] = &[
    ("default", include_str!("../themes/default.toml")),
    ("light", include_str!("../themes/light.toml")),
    ("high-contrast", include_str!("../themes/high-contrast.toml")),
    ("colorblind", include_str!("../themes/colorblind.toml")),
    ("mono", include_str!("../themes/mono.toml")),
];

/// All themes available to this run: built-ins, then user themes.
#[derive(Clone, Debug)]
pub struct ThemeSet {
    pub themes: Vec<Theme>,
}

impl ThemeSet {
    /// The built-in themes only.
    pub fn builtin() -> ThemeSet {
        // The shipped files are tested to parse (tests::every_shipped_theme_parses…); a broken
        // one is skipped rather than taking the program down.
        ThemeSet { themes: BUILTIN.iter().filter_map(|(_, text)| Theme::parse(text).ok()).collect() }
    }

    /// Built-ins plus `dir/*.toml`. Returns warnings for user themes that failed to load, so the
    /// UI can show them instead of failing to start.
    pub fn load(user_dir: Option<&Path>) -> (ThemeSet, Vec<String>) {
        let mut set = ThemeSet::builtin();
        let mut warnings = Vec::new();
        let Some(dir) = user_dir else { return (set, warnings) };
        let Ok(entries) = std::fs::read_dir(dir) else { return (set, warnings) };
        let mut files: Vec<_> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        files.sort();
        for path in files {
            match std::fs::read_to_string(&path)
                .map_err(|e| e.to_string())
                .and_then(|t| Theme::parse(&t).map_err(|e| e.to_string()))
            {
                Ok(theme) => match set.themes.iter_mut().find(|t| t.name == theme.name) {
                    Some(existing) => *existing = theme,
                    None => set.themes.push(theme),
                },
                Err(e) => warnings.push(format!("theme {}: {e}", path.display())),
            }
        }
        (set, warnings)
    }

    pub fn position(&self, name: &str) -> Option<usize> {
        self.themes.iter().position(|t| t.name == name)
    }

    pub fn get(&self, i: usize) -> &Theme {
        // `builtin()` always holds the shipped themes, so the set is never empty in practice;
        // the fallback keeps this total anyway.
        self.themes.get(i).or_else(|| self.themes.first()).unwrap_or_else(|| fallback())
    }

    pub fn len(&self) -> usize {
        self.themes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.themes.is_empty()
    }
}

fn fallback() -> &'static Theme {
    static MONO: std::sync::OnceLock<Theme> = std::sync::OnceLock::new();
    MONO.get_or_init(|| {
        Theme::parse(include_str!("../themes/mono.toml"))
            .unwrap_or_else(|e| panic!("shipped mono theme must parse: {e}"))
    })
}

/// Which theme to start with: `--theme` beats config; `NO_COLOR` (any non-empty value, see
/// no-color.org) picks `mono` when neither names one.
pub fn choose(set: &ThemeSet, flag: Option<&str>, config: Option<&str>, no_color: bool) -> Result<usize, String> {
    let wanted = flag.or(config).or(if no_color { Some("mono") } else { None });
    match wanted {
        None => Ok(set.position("default").unwrap_or(0)),
        Some(name) => set.position(name).ok_or_else(|| {
            let names: Vec<&str> = set.themes.iter().map(|t| t.name.as_str()).collect();
            format!("unknown theme {name:?}; available: {}", names.join(", "))
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_theme_parses_and_defines_every_slot_and_glyph() {
        for (name, text) in BUILTIN {
            let theme = Theme::parse(text).unwrap_or_else(|e| panic!("theme {name}: {e}"));
            assert_eq!(&theme.name, name, "file name and `name` agree");
        }
        assert_eq!(ThemeSet::builtin().len(), BUILTIN.len());
    }

    #[test]
    fn state_glyphs_are_distinct_in_each_set() {
        for (name, text) in BUILTIN {
            let theme = Theme::parse(text).unwrap_or_else(|e| panic!("theme {name}: {e}"));
            for set in [&theme.glyphs, &theme.ascii] {
                let mut g: Vec<&String> = set.states.iter().collect();
                g.sort();
                g.dedup();
                assert_eq!(g.len(), CellState::COUNT, "theme {name}: every state needs its own glyph");
            }
        }
    }

    #[test]
    fn a_theme_from_before_unknown_cells_still_loads() {
        let old: String = BUILTIN[0]
            .1
            .lines()
            .filter(|l| !l.starts_with("\"unknown\"") && !l.starts_with("\"state.unknown\""))
            .collect::<Vec<_>>()
            .join("\n");
        assert!(!old.contains("\"unknown\" ="), "the old theme has no unknown glyph");
        let theme = Theme::parse(&old).expect("an older theme loads");
        assert_eq!(theme.glyphs.state(CellState::Unknown), "?");
        assert_eq!(theme.ascii.state(CellState::Unknown), "?");
        assert_eq!(theme.style(Slot::StateUnknown).fg, Some(Color::Yellow));
    }

    #[test]
    fn the_ascii_cut_mark_is_no_glyph() {
        let text = BUILTIN[0].1.replacen("\"not-ready\" = \"~\"", "\"not-ready\" = \"*\"", 1);
        assert_ne!(text, BUILTIN[0].1, "the default theme's ASCII not-ready glyph is ~");
        let err = Theme::parse(&text).expect_err("* is the ASCII cut mark");
        assert!(matches!(err, ThemeError::BadGlyph { ref key, .. } if key == "[ascii] not-ready"), "{err:?}");
    }

    #[test]
    fn theme_missing_a_slot_is_rejected_with_its_name() {
        let text: String =
            BUILTIN[0].1.lines().filter(|l| !l.starts_with("\"state.pending\"")).map(|l| format!("{l}\n")).collect();
        let err = Theme::parse(&text).expect_err("must fail");
        assert_eq!(err, ThemeError::Missing("[slots] state.pending".into()));
    }

    #[test]
    fn no_color_picks_mono_unless_a_theme_is_named() {
        let set = ThemeSet::builtin();
        assert_eq!(set.get(choose(&set, None, None, true).expect("mono")).name, "mono");
        assert_eq!(set.get(choose(&set, Some("light"), None, true).expect("light")).name, "light");
        assert!(choose(&set, Some("nope"), None, false).is_err());
    }

    #[test]
    fn user_theme_overrides_builtin_of_same_name() {
        let dir = tempfile::tempdir().expect("tempdir");
        let text = BUILTIN[0].1.replace("description = ", "description = \"mine\" #");
        std::fs::write(dir.path().join("default.toml"), text).expect("write");
        std::fs::write(dir.path().join("broken.toml"), "name = 1").expect("write");
        let (set, warnings) = ThemeSet::load(Some(dir.path()));
        assert_eq!(set.len(), BUILTIN.len());
        assert_eq!(set.get(0).description, "mine");
        assert_eq!(warnings.len(), 1, "{warnings:?}");
    }
}
