//! The command-line contract (DESIGN.md "CLI contract").

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// What `--version` prints after the name: the crate version, the git commit it was built from
/// ("unknown" outside a checkout) and the Kubernetes API version of the k8s-openapi types it was
/// built against (both from build.rs).
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    "\ncommit ",
    env!("DAEMONSCOPE_GIT_COMMIT"),
    "\nbuilt against Kubernetes API ",
    env!("DAEMONSCOPE_K8S_API"),
    " (k8s-openapi ",
    env!("DAEMONSCOPE_K8S_OPENAPI"),
    ")",
);

/// The top-level command: the UI, or one of the subcommands.
///
/// Flags belong to the commands they mean something to, so each `--help` lists only those: the
/// cluster flags and `--demo` are read by the UI, `snapshot` and `check` (before or after the
/// subcommand's name), `--theme` and `--ascii` by the UI and `snapshot`, `--readonly` by the UI
/// only, and `sim` takes only its own flags. `--log-level` applies everywhere.
#[derive(Parser, Debug, Clone)]
#[command(
    name = "daemonscope",
    version = VERSION,
    long_version = VERSION,
    about = "A live node x DaemonSet matrix for Kubernetes fleets",
    long_about = "daemonscope watches Nodes, DaemonSets, ControllerRevisions and DaemonSet pods and shows, \
                  for every node and every DaemonSet, whether the pod that should run there does."
)]
pub struct Cli {
    #[command(flatten)]
    pub cluster: ClusterArgs,

    /// Start the embedded simulated cluster on loopback and connect to it (SCENARIO: small, mixed, large;
    /// a directory or .json file of `kubectl get -o json` output replays that recording).
    #[arg(long, value_name = "SCENARIO|DIR", num_args = 0..=1, default_missing_value = "mixed")]
    pub demo: Option<String>,

    /// Never send a mutating request; mutating keys are removed.
    #[arg(long)]
    pub readonly: bool,

    /// Theme name (default, light, high-contrast, colorblind, mono, or one from the config dir).
    #[arg(long)]
    pub theme: Option<String>,

    /// ASCII glyphs only.
    #[arg(long)]
    pub ascii: bool,

    /// Log level for the log file in the state dir (error, warn, info, debug, trace).
    #[arg(long, default_value = "info", global = true)]
    pub log_level: String,

    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Which cluster to talk to.
#[derive(Args, Debug, Clone, Default)]
pub struct ClusterArgs {
    /// Path to a kubeconfig file (default: $KUBECONFIG or ~/.kube/config, then in-cluster config).
    #[arg(long, value_name = "PATH")]
    pub kubeconfig: Option<PathBuf>,
    /// kubeconfig context to use (default: the current context).
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
    /// Only this namespace's DaemonSets (default: all namespaces).
    #[arg(short = 'n', long, value_name = "NAMESPACE", conflicts_with = "all_namespaces")]
    pub namespace: Option<String>,
    /// All namespaces (the default).
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,
}

impl ClusterArgs {
    /// These flags (given after a subcommand's name) over `outer` (given before it): each flag
    /// given here wins; `-n` and `-A` are one choice, taken from here when either is given here.
    pub fn over(&self, outer: &ClusterArgs) -> ClusterArgs {
        let scope_here = self.namespace.is_some() || self.all_namespaces;
        let scope = if scope_here { self } else { outer };
        ClusterArgs {
            kubeconfig: self.kubeconfig.clone().or_else(|| outer.kubeconfig.clone()),
            context: self.context.clone().or_else(|| outer.context.clone()),
            namespace: scope.namespace.clone(),
            all_namespaces: scope.all_namespaces,
        }
    }
}

/// Where `snapshot` and `check` read the fleet from: a cluster, or the embedded simulator.
#[derive(Args, Debug, Clone, Default)]
pub struct SourceArgs {
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Start the embedded simulated cluster on loopback and read it (SCENARIO: small, mixed, large;
    /// a directory or .json file of `kubectl get -o json` output replays that recording).
    #[arg(long, value_name = "SCENARIO|DIR", num_args = 0..=1, default_missing_value = "mixed")]
    pub demo: Option<String>,
}

/// How `snapshot` draws the matrix.
#[derive(Args, Debug, Clone, Default)]
pub struct LookArgs {
    /// Theme name, for its glyphs (default, light, high-contrast, colorblind, mono, or one from the config dir).
    #[arg(long)]
    pub theme: Option<String>,
    /// ASCII glyphs only.
    #[arg(long)]
    pub ascii: bool,
}

#[derive(Subcommand, Debug, Clone)]
pub enum Command {
    /// Run the simulated Kubernetes API server standalone.
    Sim(SimArgs),
    /// Sync once, print the matrix, exit.
    Snapshot {
        #[command(flatten)]
        args: SnapshotArgs,
        #[command(flatten)]
        look: LookArgs,
        #[command(flatten)]
        source: SourceArgs,
    },
    /// Write what daemonscope reads from the cluster (Nodes, DaemonSets, their ControllerRevisions
    /// and pods, Events about them, Namespaces; never Secrets or ConfigMaps) into DIR as
    /// `kubectl get -o json` Lists, to replay with `--demo DIR` or `sim --replay DIR`.
    Record {
        /// Directory to write nodes.json, daemonsets.json, controllerrevisions.json, pods.json,
        /// events.json, namespaces.json and version.json into (created when missing; those files are replaced).
        #[arg(value_name = "DIR")]
        dir: PathBuf,
        /// Remove annotations and environment variable values, so the recording can be shared.
        #[arg(long)]
        strip: bool,
        #[command(flatten)]
        source: SourceArgs,
    },
    /// Check what daemonscope needs on this host: kubeconfig, context, server and its version,
    /// RBAC, terminal, state directory. One line per check with a fix; exit 1 when one fails.
    Doctor {
        #[command(flatten)]
        source: SourceArgs,
    },
    /// Exit 0 when every DaemonSet is healthy and current wherever it should run, 1 on problems, 2 on error.
    Check {
        #[command(flatten)]
        args: CheckArgs,
        #[command(flatten)]
        source: SourceArgs,
    },
}

#[derive(Args, Debug, Clone)]
pub struct SimArgs {
    /// Address to listen on (loopback only; port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
    /// Scenario name (assets/scenarios/NAME.toml, embedded) or a path to a scenario file.
    #[arg(long, default_value = "mixed")]
    pub scenario: String,
    /// Seed for the scenario's random choices.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Write a kubeconfig for this simulator here once it accepts requests.
    #[arg(long, value_name = "PATH")]
    pub kubeconfig_out: Option<PathBuf>,
    /// Serve a recorded cluster instead of a scenario: a `kubectl get ... -o json` file, or a
    /// directory of them (every *.json except version.json and expected*.json). Objects are
    /// served as recorded, with the controllers off.
    #[arg(long, value_name = "DIR|FILE", conflicts_with_all = ["seed", "churn"])]
    pub replay: Option<PathBuf>,
    /// With --replay: let the simulator's controllers and clock take over from the recorded state.
    #[arg(long, requires = "replay")]
    pub replay_live: bool,
    /// Serve HTTPS with a self-signed CA (carried in the kubeconfig).
    #[arg(long)]
    pub tls: bool,
    /// Stop the simulated clock: the cluster changes only through API requests.
    #[arg(long)]
    pub frozen: bool,
    /// Background churn in events per second (overrides the scenario's).
    #[arg(long)]
    pub churn: Option<f64>,
    /// Delay every API request by MS milliseconds (more faults at run time: POST /debug/faults/…
    /// with the kubeconfig's full token; GET /debug/faults lists them).
    #[arg(long, value_name = "MS")]
    pub fault_latency_ms: Option<u64>,
    /// Send watch BOOKMARKs every MS milliseconds (default 5000; a real API server sends one a minute).
    #[arg(long, value_name = "MS", value_parser = clap::value_parser!(u64).range(1..))]
    pub fault_bookmark_period_ms: Option<u64>,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum, Default)]
pub enum OutputFormat {
    #[default]
    Table,
    Wide,
    Json,
}

#[derive(Args, Debug, Clone)]
pub struct SnapshotArgs {
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
    /// Only rows and columns with problems (table/wide), only problem cells (json).
    #[arg(long)]
    pub problems: bool,
    /// Give up syncing after this many seconds.
    #[arg(long, default_value_t = 60)]
    pub timeout: u64,
}

#[derive(Args, Debug, Clone)]
pub struct CheckArgs {
    /// Ignore this DaemonSet (NAME or NAMESPACE/NAME); repeatable.
    #[arg(long = "ignore-ds", value_name = "DAEMONSET")]
    pub ignore_ds: Vec<String>,
    /// Ignore nodes with this label (KEY or KEY=VALUE); repeatable.
    #[arg(long = "ignore-node-label", value_name = "LABEL")]
    pub ignore_node_label: Vec<String>,
    /// Do not count pods younger than this many seconds as problems (they may still be starting).
    #[arg(long, default_value_t = 0, value_name = "SECONDS")]
    pub grace: u64,
    /// Cell states that fail the check, comma-separated: missing, failing, pending, not-ready,
    /// misscheduled, terminating, outdated [default: missing,failing,pending,not-ready,misscheduled].
    #[arg(long = "fail-on", value_name = "STATES", value_delimiter = ',', value_parser = crate::headless::check::parse_fail_state)]
    pub fail_on: Vec<crate::fleet::CellState>,
    /// Also fail on cells outdated for longer than this (e.g. 90m, 6h, 2d, 1h30m): a rollout
    /// that stalls, or an OnDelete DaemonSet whose pods nobody deleted.
    #[arg(long = "max-outdated-age", value_name = "DURATION", value_parser = crate::headless::check::parse_duration)]
    pub max_outdated_age: Option<u64>,
    /// Give up syncing after this many seconds.
    #[arg(long, default_value_t = 60)]
    pub timeout: u64,
}

impl Cli {
    /// Parse, turning clap's errors into its usual output (exit 2 for usage errors).
    pub fn parse_args() -> Cli {
        Cli::parse()
    }

    /// The source a subcommand reads: its own cluster flags and `--demo` over the top-level ones.
    pub fn source(&self, sub: &SourceArgs) -> SourceArgs {
        SourceArgs { cluster: sub.cluster.over(&self.cluster), demo: sub.demo.clone().or_else(|| self.demo.clone()) }
    }

    /// The look a subcommand draws with: its own `--theme`/`--ascii` over the top-level ones.
    pub fn look(&self, sub: &LookArgs) -> LookArgs {
        LookArgs { theme: sub.theme.clone().or_else(|| self.theme.clone()), ascii: sub.ascii || self.ascii }
    }
}
