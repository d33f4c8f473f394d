//! The embedded simulated Kubernetes cluster: an HTTP server on loopback that speaks the real
//! API wire format (so `kube` and `kubectl` both work against it), with controllers on a
//! simulated clock that give it life. It is the demo, the test fixture and the benchmark load.
//!
//! Layout: `store` (objects, resourceVersions, watch history), `api` (HTTP routes, auth, TLS,
//! Status errors, faults), `controllers` (DaemonSet controller, kubelet, node lifecycle),
//! `scenario` (seeded, settled starting states from `assets/scenarios`), `logs` (deterministic
//! container logs).

pub mod api;
pub mod clock;
pub mod controllers;
pub mod faults;
pub mod logs;
pub mod scenario;
pub mod store;

use std::net::SocketAddr;
use std::path::PathBuf;

pub use clock::Clock;
pub use faults::Faults;
pub use store::{Kind, Object, Store};

/// How to start a simulator.
#[derive(Clone, Debug)]
pub struct SimOptions {
    pub listen: SocketAddr,
    /// A scenario name (embedded) or a path to a scenario TOML file.
    pub scenario: String,
    pub seed: u64,
    pub tls: bool,
    pub frozen: bool,
    /// Background churn, events per second (None: the scenario's own).
    pub churn: Option<f64>,
    pub kubeconfig_out: Option<PathBuf>,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            scenario: "mixed".into(),
            seed: 1,
            tls: false,
            frozen: false,
            churn: None,
            kubeconfig_out: None,
        }
    }
}
