//! (placeholder) config.toml and paths.
