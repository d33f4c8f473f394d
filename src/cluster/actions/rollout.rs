//! The rollout rules (status, stall detection, history, undo) live in [`crate::fleet::rollout`],
//! beside the index they read. This path re-exports them until `app` and `ui` import them from
//! there.

pub use crate::fleet::rollout::*;
