//! The update-strategy form and its validation live in [`crate::fleet::strategy`]; the patch a
//! valid strategy becomes is [`super::plan::update_strategy`]. This path re-exports the form
//! until `app` and `ui` import it from there.

pub use crate::fleet::strategy::*;
