//! A scratch home directory with daemonscope's config and state directories in it, and the
//! commands that run the built binary or the real kubectl inside it: neither the developer's
//! `~/.kube/config`, their daemonscope settings and logs, nor an in-cluster config is seen.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The binary under test, built by cargo for the integration tests.
pub const BIN: &str = env!("CARGO_BIN_EXE_daemonscope");

/// Removed from the environment of every command run in a sandbox.
const LEAKY_VARS: [&str; 4] = ["KUBECONFIG", "KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT", "RUST_BACKTRACE"];

/// A temporary directory used as HOME; removed when dropped.
pub struct Sandbox {
    dir: tempfile::TempDir,
}

impl Sandbox {
    pub fn new() -> Sandbox {
        Sandbox { dir: tempfile::tempdir().expect("a temporary directory for the sandbox") }
    }

    /// The sandbox itself, HOME for what runs in it.
    pub fn home(&self) -> &Path {
        self.dir.path()
    }

    /// A path inside the sandbox (not created).
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Write `text` to `name` inside the sandbox, creating the directories on the way.
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path(name);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
        }
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        path
    }

    /// `DAEMONSCOPE_CONFIG_DIR` of the binary run in the sandbox.
    pub fn config_dir(&self) -> PathBuf {
        self.path("config")
    }

    /// `DAEMONSCOPE_STATE_DIR` (and `XDG_STATE_HOME`) of the binary run in the sandbox.
    pub fn state_dir(&self) -> PathBuf {
        self.path("state")
    }

    /// The variables that keep the binary inside the sandbox.
    pub fn env(&self) -> [(&'static str, PathBuf); 4] {
        [
            ("HOME", self.home().to_path_buf()),
            ("XDG_STATE_HOME", self.state_dir()),
            ("DAEMONSCOPE_STATE_DIR", self.state_dir()),
            ("DAEMONSCOPE_CONFIG_DIR", self.config_dir()),
        ]
    }

    /// The built binary, its environment pointed into the sandbox, stdin closed.
    pub fn daemonscope(&self) -> Command {
        self.binary(BIN)
    }

    /// A built binary of this crate (`CARGO_BIN_EXE_…`), as [`Sandbox::daemonscope`] runs the main one.
    pub fn binary(&self, program: &str) -> Command {
        let mut cmd = Command::new(program);
        cmd.envs(self.env()).stdin(Stdio::null());
        for var in LEAKY_VARS {
            cmd.env_remove(var);
        }
        cmd
    }

    /// Run the built binary with `args` to completion.
    pub fn run(&self, args: &[&str]) -> Output {
        self.daemonscope().args(args).output().expect("run daemonscope")
    }

    /// The real kubectl with `kubeconfig`, its HOME and cache in the sandbox, stdin closed.
    pub fn kubectl(&self, kubeconfig: &Path) -> Command {
        let mut cmd = Command::new(kubectl_path());
        cmd.arg("--kubeconfig").arg(kubeconfig).arg("--cache-dir").arg(self.path("kube-cache"));
        cmd.env("HOME", self.home()).stdin(Stdio::null());
        for var in LEAKY_VARS {
            cmd.env_remove(var);
        }
        cmd
    }
}

/// The real kubectl on PATH. A missing kubectl fails the test (it is never skipped).
pub fn kubectl_path() -> PathBuf {
    std::env::var_os("PATH")
        .and_then(|paths| std::env::split_paths(&paths).map(|d| d.join("kubectl")).find(|p| p.is_file()))
        .unwrap_or_else(|| {
            panic!(
                "kubectl was not found on PATH: this test drives the real kubectl binary and is never skipped; \
                 install it (e.g. `apt-get install kubectl` or from https://kubernetes.io/docs/tasks/tools/) \
                 and re-run (.ci/run checks for it)"
            )
        })
}
