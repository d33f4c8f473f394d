//! daemonscope: a live node × DaemonSet matrix for Kubernetes fleets.
//!
//! Data flows one way (see DESIGN.md): watch streams (`cluster::watch`) → projections
//! (`cluster::project`) → the fleet index (`fleet`) → a pure view (`ui`) → the terminal; keys →
//! actions (`app`) → requests (`cluster::actions`), whose effects come back through the watches.

#![forbid(unsafe_code)]

pub mod app;
pub mod cli;
pub mod cluster;
pub mod config;
pub mod fleet;
pub mod headless;
pub mod logs;
pub mod logview;
pub mod run;
pub mod sim;
pub mod theme;
pub mod ui;
