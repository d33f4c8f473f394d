//! The fleet index and the pure rules it is built on. Nothing in `fleet` does I/O or sees a
//! Kubernetes object: it receives projections ([`model`]) and answers questions about cells.
//! The one exception is [`rollout::undo_patch`], which compares a DaemonSet's template with a
//! revision's `data` as JSON values the caller fetched, because that is what kubectl compares.
//!
//! The rules: should-run ([`schedule`]), cell states ([`state`]), which node a daemon pod is for
//! ([`target_node`]), rollout status, history and undo ([`rollout`]) and the update-strategy form
//! ([`strategy`]). `fleet` imports nothing else of this crate, so the cluster code, the
//! simulator and the UI can all share these rules.

pub mod events;
pub mod index;
pub mod intern;
pub mod model;
mod pods;
pub mod rollout;
pub mod schedule;
pub mod state;
pub mod strategy;
pub mod summary;
pub mod synth;
pub mod target_node;
pub mod why;

pub use index::Index;
pub use model::FleetEvent;
pub use state::{CellState, Severity};
