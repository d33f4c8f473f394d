//! The embedded simulator started for a test: it fails the test, with the whole error chain,
//! when it cannot start. [`SimCluster`] adds a sandbox holding the simulator's kubeconfig, for
//! tests that run the built binary or kubectl against it.

use std::path::PathBuf;
use std::process::Command;

use daemonscope::sim::{self, SimHandle, SimOptions, StartConfig};

use super::sandbox::Sandbox;

/// `scenario` on a frozen clock: the cluster changes only through requests (and the test).
pub fn frozen(scenario: &str) -> SimOptions {
    SimOptions { scenario: scenario.into(), frozen: true, ..SimOptions::default() }
}

/// No controllers: the cluster changes only through API requests and the store.
pub fn without_controllers() -> StartConfig {
    StartConfig { controllers: false, ..StartConfig::default() }
}

/// Start a simulator with its controllers.
pub async fn start(opts: SimOptions) -> SimHandle {
    start_with(opts, StartConfig::default()).await
}

pub async fn start_with(opts: SimOptions, cfg: StartConfig) -> SimHandle {
    let scenario = opts.scenario.clone();
    sim::start_with(opts, cfg).await.unwrap_or_else(|e| panic!("starting the simulator (scenario {scenario}): {e:#}"))
}

/// A simulator and the sandbox that holds its kubeconfig (both contexts: full and read-only).
pub struct SimCluster {
    pub sim: SimHandle,
    pub kubeconfig: PathBuf,
    pub sandbox: Sandbox,
}

impl SimCluster {
    /// A simulator with its controllers, in a new sandbox.
    pub async fn start(opts: SimOptions) -> SimCluster {
        SimCluster::start_in(Sandbox::new(), opts, StartConfig::default()).await
    }

    /// The kubeconfig is `opts.kubeconfig_out`, by default `kubeconfig` in the sandbox: the
    /// simulator writes it once it accepts requests.
    pub async fn start_in(sandbox: Sandbox, mut opts: SimOptions, cfg: StartConfig) -> SimCluster {
        let kubeconfig = opts.kubeconfig_out.get_or_insert_with(|| sandbox.path("kubeconfig")).clone();
        let sim = start_with(opts, cfg).await;
        assert!(kubeconfig.is_file(), "the simulator wrote no kubeconfig at {}", kubeconfig.display());
        SimCluster { sim, kubeconfig, sandbox }
    }

    /// The built binary in the sandbox, given the simulator's kubeconfig.
    pub fn daemonscope(&self) -> Command {
        let mut cmd = self.sandbox.daemonscope();
        cmd.arg("--kubeconfig").arg(&self.kubeconfig);
        cmd
    }

    /// The real kubectl in the sandbox, given the simulator's kubeconfig.
    pub fn kubectl(&self) -> Command {
        self.sandbox.kubectl(&self.kubeconfig)
    }
}

/// One kubeconfig (JSON, which is YAML) with a context per simulator, each with its own
/// cluster and its own user `<name>-admin`, current context the first; with `dead`, also a
/// context `dead` whose server nobody listens on (port 1 on loopback: refused at once).
pub fn multi_cluster_kubeconfig(clusters: &[(&str, &SimHandle)], dead: bool) -> String {
    let parse = |h: &SimHandle| -> serde_json::Value {
        serde_json::from_str(&h.kubeconfig_yaml()).expect("the simulator's kubeconfig is JSON")
    };
    let mut cs = Vec::new();
    let mut users = Vec::new();
    let mut contexts = Vec::new();
    for (name, h) in clusters {
        let k = parse(h);
        let user = format!("{name}-admin");
        cs.push(serde_json::json!({ "name": name, "cluster": k["clusters"][0]["cluster"] }));
        users.push(serde_json::json!({ "name": user, "user": k["users"][0]["user"] }));
        contexts.push(serde_json::json!({ "name": name, "context": { "cluster": name, "user": user } }));
    }
    if dead && let Some((first, _)) = clusters.first() {
        cs.push(serde_json::json!({ "name": "dead", "cluster": { "server": "http://127.0.0.1:1" } }));
        contexts.push(
            serde_json::json!({ "name": "dead", "context": { "cluster": "dead", "user": format!("{first}-admin") } }),
        );
    }
    serde_json::json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": cs,
        "users": users,
        "contexts": contexts,
        "current-context": clusters.first().map(|(n, _)| *n).unwrap_or_default(),
    })
    .to_string()
}
