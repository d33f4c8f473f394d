//! (placeholder: owned by the helper that builds it)
