//! The application as plain state: one [`App`], the messages that change it ([`Msg`]), the
//! effects it asks for ([`Effect`]), the one writer [`update`], the key table for every layer,
//! the layout, the cached matrix order ([`view`]). The event loop that drives it, draws it and
//! hands its effects to the cluster executor is `crate::shell`.
//!
//! Data flow (DESIGN.md): input / cluster reports / ticks → `Msg` → `update(&mut App)` →
//! `Vec<Effect>` → the cluster executor (`cluster::executor`) → reports back as `Msg`;
//! `ui::render(&App)` draws. Nothing here talks to a cluster or spawns a task.

pub mod access;
pub mod actions;
pub mod clock;
pub mod command;
pub mod inspect;
pub mod keymap;
pub mod layout;
pub mod logs;
pub mod msg;
pub mod persist;
pub mod pickers;
pub mod state;
pub mod update;
pub mod view;

pub use keymap::{Action, Ctx, Keymap};
pub use msg::{Effect, Level, Msg, Target};
pub use state::{App, AppOptions, Cursor, DetailPane, FilterPrompt, Layer, Notice};
pub use update::update;
