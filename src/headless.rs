//! (placeholder) snapshot and check.
