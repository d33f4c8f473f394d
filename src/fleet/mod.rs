//! The fleet index and the pure rules it is built on. Nothing in `fleet` does I/O or sees a
//! Kubernetes object: it receives projections ([`model`]) and answers questions about cells.

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

pub use index::Index;
pub use model::FleetEvent;
pub use state::CellState;
