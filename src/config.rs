//! `config.toml` and the directories daemonscope reads and writes.
//!
//! Owns: the settings a user can change without a flag (theme, key overrides, restart
//! threshold, frame-rate cap, group-by labels, log-pane settings) and where they live
//! (`directories::ProjectDirs` "dev", "daemonscope", "daemonscope": config, themes, state, logs).
//! A missing file is the defaults; a broken file is an error that names the file and the
//! problem, so the user can fix it (we never silently ignore a typo'd setting).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Environment variables that move the directories (tests, containers, read-only homes).
pub const ENV_CONFIG_DIR: &str = "DAEMONSCOPE_CONFIG_DIR";
pub const ENV_STATE_DIR: &str = "DAEMONSCOPE_STATE_DIR";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path} is not valid config.toml: {message} (fix the file or move it away to use the defaults)")]
    Parse { path: PathBuf, message: String },
}

/// Where things live on disk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Paths {
    /// `config.toml` and `themes/` live here.
    pub config_dir: PathBuf,
    /// Saved log buffers, audit log.
    pub state_dir: PathBuf,
    /// The tracing log file.
    pub log_dir: PathBuf,
}

impl Paths {
    /// The platform directories (XDG on Linux), moved by `DAEMONSCOPE_CONFIG_DIR` /
    /// `DAEMONSCOPE_STATE_DIR` when set. `None` when no home directory can be found.
    pub fn discover() -> Option<Paths> {
        let env_dir = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty()).map(PathBuf::from);
        let dirs = directories::ProjectDirs::from("dev", "daemonscope", "daemonscope");
        let config_dir = env_dir(ENV_CONFIG_DIR).or_else(|| dirs.as_ref().map(|d| d.config_dir().to_path_buf()))?;
        // `state_dir` exists only on Linux; elsewhere the local data dir is the usual place.
        let state_dir = env_dir(ENV_STATE_DIR)
            .or_else(|| dirs.as_ref().map(|d| d.state_dir().unwrap_or_else(|| d.data_local_dir()).to_path_buf()))?;
        let log_dir = state_dir.join("logs");
        Some(Paths { config_dir, state_dir, log_dir })
    }

    pub fn config_file(&self) -> PathBuf {
        self.config_dir.join("config.toml")
    }

    /// User themes: `<config dir>/themes/*.toml`.
    pub fn themes_dir(&self) -> PathBuf {
        self.config_dir.join("themes")
    }
}

/// One key or several for an action in `[keys]`: `restart_pod = "d"` or `quit = ["q", "ctrl-q"]`;
/// or a table of a layer's actions: `[keys.logs]` with `follow = "F"` (the same as
/// `"logs.follow" = "F"` under `[keys]`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum KeySpec {
    One(String),
    Many(Vec<String>),
    Table(BTreeMap<String, KeySpec>),
}

impl KeySpec {
    /// The keys of a plain entry; a table has none of its own (see [`KeySpec::flatten`]).
    pub fn keys(&self) -> Vec<&str> {
        match self {
            KeySpec::One(k) => vec![k.as_str()],
            KeySpec::Many(ks) => ks.iter().map(String::as_str).collect(),
            KeySpec::Table(_) => Vec::new(),
        }
    }

    /// `[keys]` as (dotted action name, keys) pairs: tables become `table.action` names.
    pub fn flatten(entries: &BTreeMap<String, KeySpec>) -> Vec<(String, Vec<String>)> {
        let mut out = Vec::new();
        for (name, spec) in entries {
            match spec {
                KeySpec::Table(inner) => {
                    for (sub, keys) in KeySpec::flatten(inner) {
                        out.push((format!("{name}.{sub}"), keys));
                    }
                }
                plain => out.push((name.clone(), plain.keys().into_iter().map(str::to_string).collect())),
            }
        }
        out
    }
}

/// Settings of the log panes. The log pane reads them, but they are declared here with every
/// other setting so that config.toml has one schema and an unknown key is caught in one place.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// Lines to fetch when a pane opens (`tailLines`).
    pub tail_lines: i64,
    /// Only lines newer than this many seconds (`sinceSeconds`); none: no limit.
    pub since_seconds: Option<i64>,
    /// Ring buffer size per pane, in lines.
    pub buffer_lines: usize,
    /// Concurrent streams for a DaemonSet-wide tail.
    pub max_streams: usize,
    /// "split" or "full".
    pub layout: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            tail_lines: 200,
            since_seconds: None,
            buffer_lines: 20_000,
            max_streams: 32,
            layout: "split".into(),
        }
    }
}

/// `config.toml`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Theme name (built-in or a file in `<config dir>/themes`); `--theme` wins.
    pub theme: Option<String>,
    /// ASCII glyphs only (like `--ascii`).
    pub ascii: bool,
    /// Restart counts at or above this are marked in the matrix.
    pub restart_threshold: u32,
    /// The key preset: "default" (daemonscope's keys) or "k9s" (`d` describe, `y` YAML,
    /// `Ctrl-D` delete); `[keys]` applies on top of it.
    pub keymap: String,
    /// At most this many frames per second (1..=120).
    pub fps: u32,
    /// Node labels that `g` cycles through to group rows.
    pub group_labels: Vec<String>,
    /// Key overrides: action name (snake_case, as in the help screen) → key(s).
    pub keys: BTreeMap<String, KeySpec>,
    pub logs: LogConfig,
    /// Context name patterns (`*` matches any run of characters, e.g. `prod-*`) that start
    /// read-only: writes need the context's name typed first, for this session only.
    pub protected_contexts: Vec<String>,
    /// A confirmation that restarts more pods than this asks for the object's name to be
    /// typed instead of `y` (as does any confirmation on a protected context).
    pub confirm_by_name_above: usize,
    /// The most pods one `D` batch restarts; the rest wait for another `D`.
    pub batch_cap: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            theme: None,
            ascii: false,
            restart_threshold: 5,
            keymap: "default".into(),
            fps: 30,
            group_labels: vec![
                "pool".into(),
                "topology.kubernetes.io/zone".into(),
                "node.kubernetes.io/instance-type".into(),
            ],
            keys: BTreeMap::new(),
            logs: LogConfig::default(),
            protected_contexts: Vec::new(),
            confirm_by_name_above: 10,
            batch_cap: 50,
        }
    }
}

impl Config {
    /// Whether `context` matches one of [`Config::protected_contexts`].
    pub fn is_protected(&self, context: &str) -> bool {
        self.protected_contexts.iter().any(|p| glob_match(p, context))
    }

    /// Parse config text; `origin` names the file in errors.
    pub fn parse(text: &str, origin: &Path) -> Result<Config, ConfigError> {
        let mut cfg: Config = toml::from_str(text)
            .map_err(|e| ConfigError::Parse { path: origin.to_path_buf(), message: e.to_string() })?;
        cfg.fps = cfg.fps.clamp(1, 120);
        Ok(cfg)
    }

    /// Read `path`; a missing file gives the defaults.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Config::parse(&text, path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Config::default()),
            Err(source) => Err(ConfigError::Read { path: path.to_path_buf(), source }),
        }
    }

    /// The config of the discovered [`Paths`], or the defaults when there is no home.
    pub fn load_default() -> Result<(Config, Option<Paths>), ConfigError> {
        match Paths::discover() {
            Some(paths) => Ok((Config::load(&paths.config_file())?, Some(paths))),
            None => Ok((Config::default(), None)),
        }
    }
}

/// Make `dir` readable by its owner only (0700). The state directory holds the audit log,
/// saved log buffers and the remembered context: nobody else on a shared bastion reads them.
pub fn private_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// Open `path` for appending, created 0600 if new (and made 0600 if it was wider).
pub fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    let mut o = std::fs::OpenOptions::new();
    o.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        o.mode(0o600);
        let f = o.open(path)?;
        if f.metadata()?.permissions().mode() & 0o077 != 0 {
            f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        }
        Ok(f)
    }
    #[cfg(not(unix))]
    o.open(path)
}

/// Create `path` new (never overwriting), 0600, for writing.
pub fn create_private(path: &Path) -> std::io::Result<std::fs::File> {
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    o.open(path)
}

/// Create `dir` (and its parents) if needed, and make `dir` itself private.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    private_dir(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_gives_defaults() {
        assert_eq!(Config::parse("", Path::new("c.toml")).ok(), Some(Config::default()));
    }

    #[test]
    fn keys_accept_one_or_many() {
        let cfg = Config::parse(
            "restart_threshold = 3\n[keys]\nrestart_pod = \"x\"\nquit = [\"q\", \"ctrl-q\"]\n",
            Path::new("c.toml"),
        )
        .expect("valid config");
        assert_eq!(cfg.restart_threshold, 3);
        assert_eq!(cfg.keys["restart_pod"].keys(), vec!["x"]);
        assert_eq!(cfg.keys["quit"].keys(), vec!["q", "ctrl-q"]);
    }

    #[test]
    fn unknown_setting_is_an_error_naming_the_file() {
        let err = Config::parse("restart_treshold = 3", Path::new("/x/config.toml")).expect_err("typo rejected");
        assert!(err.to_string().contains("/x/config.toml"), "{err}");
    }

    #[test]
    fn missing_file_is_defaults() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(Config::load(&dir.path().join("none.toml")).ok(), Some(Config::default()));
    }
}

/// `*` matches any run of characters (also none); everything else matches itself.
fn glob_match(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || text.len() < first.len() + last.len() || !text.ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for mid in &parts[1..parts.len() - 1] {
        match rest.find(mid) {
            Some(at) => rest = &rest[at + mid.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod glob_tests {
    use super::glob_match;

    #[test]
    fn star_matches_any_run() {
        assert!(glob_match("prod-*", "prod-eu-1"));
        assert!(glob_match("prod-*", "prod-"));
        assert!(!glob_match("prod-*", "staging-prod-1"));
        assert!(glob_match("*-prod", "eu-prod"));
        assert!(glob_match("*prod*", "eks-prod-blue"));
        assert!(glob_match("a*b*c", "a-b-c"));
        assert!(!glob_match("a*b*c", "a-c-b"));
        assert!(!glob_match("ab*ba", "aba"), "prefix and suffix may not overlap");
        assert!(glob_match("exact", "exact"));
        assert!(!glob_match("exact", "exactly"));
    }
}
