//! Everything that talks to an API server: the client from kubeconfig (`client`), the watch
//! streams (`watch`, decoding into `wire` types), projections into `fleet::model` (`project`),
//! mutations (`actions`, the only place that sends one) and log streams (`logs`).

pub mod access;
pub mod actions;
pub mod client;
pub mod executor;
pub mod logs;
pub mod project;
pub mod sched;
pub mod watch;
pub mod wire;
