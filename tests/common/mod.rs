//! The harness shared by the integration tests: a scratch home for the built binary and for
//! kubectl ([`sandbox`]), the embedded simulator started for a test ([`sim`]), objects to create
//! in it ([`objects`]), and the real binary driven in a detached tmux session ([`tmux`]).
//!
//! Every test binary compiles this module on its own (`mod common;`) and uses only part of it,
//! so what one binary leaves unused is not dead code.

#[allow(dead_code)]
pub mod objects;
#[allow(dead_code)]
pub mod rig;
#[allow(dead_code)]
pub mod sandbox;
#[allow(dead_code)]
pub mod sim;
#[allow(dead_code)]
pub mod tmux;
#[allow(dead_code)]
pub mod ui;
