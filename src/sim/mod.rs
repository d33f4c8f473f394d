//! The embedded simulated Kubernetes cluster: an HTTP server on loopback that speaks the real
//! API wire format (so `kube` and `kubectl` both work against it), with controllers on a
//! simulated clock that give it life. It is the demo, the test fixture and the benchmark load.
//!
//! Layout: `store` (objects, resourceVersions, watch history), `api` (HTTP routes, auth, TLS,
//! Status errors, faults), `controllers` (DaemonSet controller, kubelet, node lifecycle),
//! `scenario` (seeded, settled starting states from `assets/scenarios`), `logs` (deterministic
//! container logs), `replay` (a recorded cluster served as it was recorded), `quota`
//! (ResourceQuota status and admission for the pod count).

pub mod api;
pub mod clock;
pub mod controllers;
pub mod faults;
pub mod logs;
pub mod quota;
pub mod replay;
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
    /// Serve this recording (`kubectl get -o json` output: a file or a directory of them)
    /// instead of a scenario. The controllers stay off unless `replay_live`.
    pub replay: Option<PathBuf>,
    /// Let the controllers and the clock take over from the recorded state.
    pub replay_live: bool,
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
            replay: None,
            replay_live: false,
        }
    }
}

use std::sync::Arc;

use anyhow::Context;
use tokio_util::sync::CancellationToken;

pub use api::RequestStats;

/// Watch events kept for resuming watches (older resourceVersions get 410 Gone).
pub const HISTORY_CAP: usize = 50_000;

/// The scenario name that starts an empty cluster (no scenario file is loaded).
pub const EMPTY_SCENARIO: &str = "empty";

/// The kubeconfig contexts the simulator writes, one per user in [`api::rbac::USERS`]:
/// the admin (current), a cluster-wide viewer, a namespace-scoped viewer that cannot read
/// nodes, and an operator that may delete pods but not patch DaemonSets.
pub const CONTEXT: &str = "daemonscope-sim";
pub const READONLY_CONTEXT: &str = "daemonscope-sim-readonly";
pub const NS_VIEW_CONTEXT: &str = "daemonscope-sim-ns-view";
pub const OPERATOR_CONTEXT: &str = "daemonscope-sim-operator";

/// Extra knobs for tests and embedders beyond [`SimOptions`].
#[derive(Clone)]
pub struct StartConfig {
    /// Run the controllers (DaemonSet controller, kubelet, node lifecycle). Off: the cluster
    /// changes only through API requests and the store.
    pub controllers: bool,
    /// Serve this store instead of a new one (the scenario, if any, is populated into it).
    pub store: Option<Arc<Store>>,
}

impl Default for StartConfig {
    fn default() -> Self {
        StartConfig { controllers: true, store: None }
    }
}

/// A running simulator. Dropping it stops it too (without waiting).
pub struct SimHandle {
    pub addr: SocketAddr,
    /// `http://127.0.0.1:PORT` or `https://…` with `--tls`.
    pub url: String,
    pub token: String,
    pub readonly_token: String,
    /// One token per [`api::rbac::USERS`] entry (the first two are `token` and `readonly_token`).
    pub tokens: Vec<String>,
    /// The CA that signed the server certificate (with TLS).
    pub ca_pem: Option<String>,
    pub store: Arc<Store>,
    pub clock: Arc<Clock>,
    pub faults: Arc<Faults>,
    state: Arc<api::ApiState>,
    shutdown: CancellationToken,
    server: Option<tokio::task::JoinHandle<()>>,
    controllers: Option<tokio::task::JoinHandle<()>>,
}

/// Start a simulator as `opts` says (scenario `empty`: no scenario is loaded).
pub async fn start(opts: SimOptions) -> anyhow::Result<SimHandle> {
    start_with(opts, StartConfig::default()).await
}

/// Start with extra knobs (see [`StartConfig`]).
pub async fn start_with(opts: SimOptions, cfg: StartConfig) -> anyhow::Result<SimHandle> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    if !opts.listen.ip().is_loopback() {
        anyhow::bail!(
            "refusing to listen on {}: the simulator serves only loopback addresses (127.0.0.1 or ::1), use --listen 127.0.0.1:PORT",
            opts.listen
        );
    }
    let clock = Arc::new(Clock::new(opts.frozen));
    let store = cfg.store.clone().unwrap_or_else(|| Store::new(HISTORY_CAP));
    let mut version = None;
    let scenario = if let Some(path) = &opts.replay {
        // Read and check the whole recording before the store sees any of it.
        // The errors name the file and the object already.
        let rec = replay::load(path)?;
        version = rec.version.clone();
        replay::insert(&store, rec)?;
        Arc::new(scenario::Scenario { name: EMPTY_SCENARIO.into(), behaviours_from_pods: true, ..Default::default() })
    } else if opts.scenario == EMPTY_SCENARIO {
        Arc::new(scenario::Scenario { name: EMPTY_SCENARIO.into(), ..Default::default() })
    } else {
        let sc = scenario::load(&opts.scenario).with_context(|| format!("loading scenario {}", opts.scenario))?;
        controllers::populate::populate(&store, clock.start(), &sc, opts.seed)
            .with_context(|| format!("populating scenario {}", opts.scenario))?;
        sc
    };
    // The scenario's setup is not history a client could resume from.
    store.compact();
    let shutdown = CancellationToken::new();
    // A recording is served as recorded: its statuses are the real controllers' own.
    let run_controllers = cfg.controllers && (opts.replay.is_none() || opts.replay_live);
    let controllers = run_controllers.then(|| {
        controllers::spawn(
            store.clone(),
            clock.clone(),
            scenario.clone(),
            opts.seed,
            opts.churn,
            shutdown.child_token(),
        )
    });

    let listener = tokio::net::TcpListener::bind(opts.listen)
        .await
        .with_context(|| format!("binding the simulator to {}", opts.listen))?;
    let addr = listener.local_addr().context("reading the simulator's address")?;
    let tls = if opts.tls {
        Some(api::tls::generate().context("generating the simulator's TLS certificates")?)
    } else {
        None
    };
    let host = match addr {
        SocketAddr::V4(a) => a.ip().to_string(),
        SocketAddr::V6(a) => format!("[{}]", a.ip()),
    };
    let url = format!("{}://{host}:{}", if tls.is_some() { "https" } else { "http" }, addr.port());
    let faults = Arc::new(Faults::new());
    let state = Arc::new(api::ApiState {
        store: store.clone(),
        clock: clock.clone(),
        faults: faults.clone(),
        tokens: api::rbac::USERS.iter().map(|_| random_token()).collect(),
        stats: api::Stats::default(),
        shutdown: shutdown.clone(),
        version,
    });
    let ca_pem = tls.as_ref().map(|t| t.ca_pem.clone());
    let server = tokio::spawn(api::serve(listener, state.clone(), tls.map(|t| t.acceptor)));
    let handle = SimHandle {
        addr,
        url,
        token: state.tokens[api::rbac::ADMIN].clone(),
        readonly_token: state.tokens[api::rbac::READONLY].clone(),
        tokens: state.tokens.clone(),
        ca_pem,
        store,
        clock,
        faults,
        state,
        shutdown,
        server: Some(server),
        controllers,
    };
    // The listener is bound and the accept loop runs: clients may connect from now on.
    if let Some(path) = &opts.kubeconfig_out {
        handle.write_kubeconfig(path)?;
    }
    Ok(handle)
}

impl SimHandle {
    /// A kubeconfig (JSON, which is valid YAML) with a context per simulator user:
    /// `daemonscope-sim` (full token, current), `daemonscope-sim-readonly` and the narrower ones.
    pub fn kubeconfig_yaml(&self) -> String {
        self.kubeconfig_with_ca(self.ca_pem.as_deref())
    }

    /// The kubeconfig with another CA (tests prove a wrong CA is refused).
    pub fn kubeconfig_with_ca(&self, ca_pem: Option<&str>) -> String {
        use base64::Engine;
        let mut cluster = serde_json::json!({ "server": self.url });
        if let Some(ca) = ca_pem {
            cluster["certificate-authority-data"] =
                serde_json::json!(base64::engine::general_purpose::STANDARD.encode(ca.as_bytes()));
        }
        let users: Vec<_> = api::rbac::USERS
            .iter()
            .zip(&self.tokens)
            .map(|(u, t)| serde_json::json!({ "name": u.context, "user": { "token": t } }))
            .collect();
        let contexts: Vec<_> = api::rbac::USERS
            .iter()
            .map(|u| {
                serde_json::json!({
                    "name": u.context,
                    "context": { "cluster": CONTEXT, "user": u.context, "namespace": u.namespace },
                })
            })
            .collect();
        let cfg = serde_json::json!({
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{ "name": CONTEXT, "cluster": cluster }],
            "users": users,
            "contexts": contexts,
            "current-context": CONTEXT,
            "preferences": {},
        });
        serde_json::to_string_pretty(&cfg).unwrap_or_default()
    }

    /// Write the kubeconfig (mode 0600: it holds tokens).
    pub fn write_kubeconfig(&self, path: &std::path::Path) -> anyhow::Result<()> {
        use std::io::Write;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(path).with_context(|| format!("writing the kubeconfig {}", path.display()))?;
        f.write_all(self.kubeconfig_yaml().as_bytes())
            .with_context(|| format!("writing the kubeconfig {}", path.display()))?;
        Ok(())
    }

    /// A client for one of the simulator's contexts (its user's token and rules).
    pub async fn context_client(&self, context: &str) -> anyhow::Result<kube::Client> {
        self.client_for(context, &self.kubeconfig_yaml()).await
    }

    async fn client_for(&self, context: &str, kubeconfig: &str) -> anyhow::Result<kube::Client> {
        let kc = kube::config::Kubeconfig::from_yaml(kubeconfig).context("parsing the generated kubeconfig")?;
        let opts = kube::config::KubeConfigOptions { context: Some(context.to_string()), ..Default::default() };
        let config = kube::Config::from_custom_kubeconfig(kc, &opts).await.context("building a kube config")?;
        kube::Client::try_from(config).context("building a kube client")
    }

    /// A `kube::Client` with the full token, built through kube's own kubeconfig loading.
    pub async fn client(&self) -> anyhow::Result<kube::Client> {
        self.client_for(CONTEXT, &self.kubeconfig_yaml()).await
    }

    /// A client with the read-only token (403 on every mutating verb).
    pub async fn readonly_client(&self) -> anyhow::Result<kube::Client> {
        self.client_for(READONLY_CONTEXT, &self.kubeconfig_yaml()).await
    }

    /// A client that trusts `ca_pem` instead of the simulator's CA.
    pub async fn client_with_ca(&self, ca_pem: &str) -> anyhow::Result<kube::Client> {
        self.client_for(CONTEXT, &self.kubeconfig_with_ca(Some(ca_pem))).await
    }

    /// Requests served so far, by verb and by kind of verb.
    pub fn stats(&self) -> RequestStats {
        self.state.stats.snapshot()
    }

    /// Stop controllers and the server, closing open watches and log follows.
    pub async fn shutdown(mut self) {
        self.shutdown.cancel();
        let server = self.server.take();
        let controllers = self.controllers.take();
        for h in [server, controllers].into_iter().flatten() {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(10), h).await;
        }
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// 128 random bits as hex, from the OS (falling back to the std hasher's random keys).
fn random_token() -> String {
    use std::io::Read;
    let mut buf = [0u8; 16];
    let from_os = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut buf)).is_ok();
    if !from_os {
        use std::hash::{BuildHasher, Hasher};
        for chunk in buf.chunks_mut(8) {
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_u128(
                std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0),
            );
            chunk.copy_from_slice(&h.finish().to_le_bytes()[..chunk.len()]);
        }
    }
    buf.iter().map(|b| format!("{b:02x}")).collect()
}
