//! (placeholder) Themes.
