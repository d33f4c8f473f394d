//! Scenarios: seeded, deterministic starting states kept as data in `assets/scenarios/*.toml`
//! (embedded), created settled (the statuses they describe exist at time zero).
//! (CONTRACT STUB — the sim-controllers helper implements it; keep these signatures.)

use std::sync::Arc;

use super::{Clock, Store};

/// A parsed scenario.
#[derive(Clone, Debug, Default)]
pub struct Scenario {
    pub name: String,
    /// Background churn in events per second.
    pub churn_per_sec: f64,
}

/// Load an embedded scenario by name (`small`, `mixed`, `large`) or a TOML file by path.
pub fn load(name_or_path: &str) -> anyhow::Result<Arc<Scenario>> {
    anyhow::bail!("scenario {name_or_path}: not implemented yet")
}

/// Create the scenario's objects in the store, settled at `clock.start()`.
pub fn populate(_store: &Store, _clock: &Clock, _scenario: &Scenario, _seed: u64) -> anyhow::Result<()> {
    anyhow::bail!("not implemented yet")
}
