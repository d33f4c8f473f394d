//! The application: one [`App`] owned by the event loop, the messages that change it
//! ([`Msg`]), the effects it asks for ([`Effect`]), the pure [`update`] function, the keymap,
//! the cached matrix order ([`view`]) and the event loop with its terminal guard.
//!
//! Data flow (DESIGN.md): input / fleet events / ticks → `Msg` → `update(&mut App)` →
//! `Vec<Effect>` carried out by the loop → results back as `Msg`; `ui::render(&App)` draws.

pub mod actions;
pub mod event_loop;
pub mod keymap;
pub mod logs;
pub mod msg;
pub mod persist;
pub mod pickers;
pub mod state;
pub mod update;
pub mod view;

pub use event_loop::{Exit, TerminalGuard, UiOptions, restore_terminal, run_loop, run_ui};
pub use keymap::{Action, Keymap};
pub use msg::{Effect, Level, Msg, Target};
pub use state::{App, AppOptions, Cursor, FilterPrompt, Layer, Notice};
pub use update::update;
