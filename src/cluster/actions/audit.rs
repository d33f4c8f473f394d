//! The audit log: one JSON object per line for every action the gateway was asked to execute
//! (sent, refused in read-only mode, or failed), appended to a file in the state dir.
//!
//! Each append opens the file in append mode and writes one line with a single `write_all`, so
//! lines from concurrent tasks never interleave within a line on POSIX filesystems.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// One line of the audit log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// RFC 3339, UTC.
    pub time: String,
    pub context: String,
    pub user: String,
    /// "restart pod", "rollout restart", …
    pub verb: String,
    /// "daemonset kube-system/fluentd"
    pub object: String,
    /// The HTTP request ("PATCH /apis/apps/v1/…").
    pub request: String,
    /// "ok", "refused: read-only", or "error: <message>".
    pub result: String,
}

/// Where audit lines go.
#[derive(Clone, Debug)]
pub struct AuditLog {
    path: PathBuf,
}

impl AuditLog {
    /// The log at `path` (usually `<state dir>/audit.jsonl`); the file is created on first append.
    pub fn new(path: impl Into<PathBuf>) -> AuditLog {
        AuditLog { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Append one entry.
    pub fn append(&self, entry: &AuditEntry) -> std::io::Result<()> {
        if let Some(dir) = self.path.parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir)?;
        }
        let mut line = serde_json::to_vec(entry).map_err(std::io::Error::other)?;
        line.push(b'\n');
        let mut f = std::fs::OpenOptions::new().create(true).append(true).open(&self.path)?;
        f.write_all(&line)
    }

    /// Read every entry back (for tests and an audit view); malformed lines are skipped.
    pub fn read_all(&self) -> std::io::Result<Vec<AuditEntry>> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        Ok(text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appended_entries_read_back_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::new(dir.path().join("state/audit.jsonl"));
        assert!(log.read_all().unwrap().is_empty());
        let e = |verb: &str| AuditEntry {
            time: "2024-01-01T00:00:00Z".into(),
            context: "demo".into(),
            user: "alice".into(),
            verb: verb.into(),
            object: "pod ns/p".into(),
            request: "DELETE /api/v1/namespaces/ns/pods/p".into(),
            result: "ok".into(),
        };
        log.append(&e("restart pod")).unwrap();
        log.append(&e("rollout restart")).unwrap();
        let all = log.read_all().unwrap();
        assert_eq!(all, vec![e("restart pod"), e("rollout restart")]);
        let text = std::fs::read_to_string(log.path()).unwrap();
        assert_eq!(text.lines().count(), 2);
    }
}
