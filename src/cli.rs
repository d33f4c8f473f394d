//! The command-line contract (DESIGN.md "CLI contract").

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Parser, Debug, Clone)]
#[command(
    name = "daemonscope",
    version,
    about = "A live node x DaemonSet matrix for Kubernetes fleets",
    long_about = "daemonscope watches Nodes, DaemonSets, ControllerRevisions and DaemonSet pods and shows, \
                  for every node and every DaemonSet, whether the pod that should run there does."
)]
pub struct Cli {
    #[command(flatten)]
    pub cluster: ClusterArgs,

    /// Start the embedded simulated cluster on loopback and connect to it (SCENARIO: small, mixed, large).
    #[arg(long, value_name = "SCENARIO", num_args = 0..=1, default_missing_value = "mixed", global = true)]
    pub demo: Option<String>,

    /// Never send a mutating request; mutating keys are removed.
    #[arg(long, global = true)]
    pub readonly: bool,

    /// Theme name (default, light, high-contrast, colorblind, mono, or one from the config dir).
    #[arg(long, global = true)]
    pub theme: Option<String>,

    /// ASCII glyphs only.
    #[arg(long, global = true)]
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
    #[arg(long, global = true, value_name = "PATH")]
    pub kubeconfig: Option<PathBuf>,
    /// kubeconfig context to use (default: the current context).
    #[arg(long, global = true, value_name = "NAME")]
    pub context: Option<String>,
    /// Only this namespace's DaemonSets (default: all namespaces).
    #[arg(short = 'n', long, global = true, value_name = "NAMESPACE", conflicts_with = "all_namespaces")]
    pub namespace: Option<String>,
    /// All namespaces (the default).
    #[arg(short = 'A', long, global = true)]
    pub all_namespaces: bool,
}

#[derive(Subcommand, Debug, Clone)]
pub enum Command {
    /// Run the simulated Kubernetes API server standalone.
    Sim(SimArgs),
    /// Sync once, print the matrix, exit.
    Snapshot(SnapshotArgs),
    /// Exit 0 when every DaemonSet is healthy and current wherever it should run, 1 on problems, 2 on error.
    Check(CheckArgs),
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
    /// Serve HTTPS with a self-signed CA (carried in the kubeconfig).
    #[arg(long)]
    pub tls: bool,
    /// Stop the simulated clock: the cluster changes only through API requests.
    #[arg(long)]
    pub frozen: bool,
    /// Background churn in events per second (overrides the scenario's).
    #[arg(long)]
    pub churn: Option<f64>,
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
    /// Give up syncing after this many seconds.
    #[arg(long, default_value_t = 60)]
    pub timeout: u64,
}

impl Cli {
    /// Parse, turning clap's errors into its usual output (exit 2 for usage errors).
    pub fn parse_args() -> Cli {
        Cli::parse()
    }
}
