//! Conversions from k8s-openapi scheduling fields to `fleet::schedule` types, shared by the
//! projections (`cluster::project`) and the simulator's DaemonSet controller.
//! (Owned by the sim-controllers helper.)
