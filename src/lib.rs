//! daemonscope: a live node × DaemonSet matrix for Kubernetes fleets.
//!
//! Data flows one way (see DESIGN.md): watch streams (`cluster::watch`) → projections
//! (`cluster::project`) → the fleet index (`fleet`) → plain UI state (`app`, changed only by
//! `app::update`) → a pure view (`ui`) → the terminal; keys → effects → the cluster executor
//! (`cluster::executor`, one session per connected context) → requests, whose results come back
//! as messages and whose effects come back through the watches.
//!
//! Dependencies run one way: `fleet` ← `cluster` ← `app` ← `ui` (`tests/architecture.rs`
//! checks it). `logs` holds the plain log types shared by the log streams (`cluster::logs`) and
//! the log pane (`logview`), so neither imports the other.

#![forbid(unsafe_code)]

pub mod app;
pub mod cli;
pub mod cluster;
pub mod config;
pub mod fleet;
pub mod headless;
pub mod inspect;
pub mod logs;
pub mod logview;
pub mod run;
pub mod shell;
pub mod sim;
pub mod text;
pub mod theme;
pub mod ui;
