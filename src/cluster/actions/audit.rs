//! The audit log: one JSON object per line for every action the gateway was asked to execute,
//! appended to a file in the state dir. An `intent` line (with the exact request body) is
//! written *before* anything is sent, so a hang, a crash or a dropped SSH session still leaves a
//! trace; a `result` line with the same `id` follows (ok, refused, error with the server's
//! message). The directory is created private (0700) and the file 0600: it names objects and
//! holds request bodies.
//!
//! Each append opens the file in append mode and writes one line with a single `write_all`, so
//! lines from concurrent tasks never interleave within a line on POSIX filesystems.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// One line of the audit log.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AuditEntry {
    /// "intent" (before the request) or "result" (after it); one action's two lines share `id`.
    pub phase: String,
    pub id: String,
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
    /// "ok", "refused: read-only", or "error: <message>"; empty on an intent line.
    pub result: String,
    /// The API server the request goes to.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub server: String,
    /// The revision an undo goes back to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision: Option<i64>,
    /// The exact request body (intent lines).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<serde_json::Value>,
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
            && !dir.exists()
        {
            std::fs::create_dir_all(dir)?;
            crate::config::private_dir(dir)?;
        }
        let mut line = serde_json::to_vec(entry).map_err(std::io::Error::other)?;
        line.push(b'\n');
        let mut f = crate::config::private_file(&self.path)?;
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

    /// Record that `intent` (already appended) awaits its result: if the process ends first
    /// (SIGHUP from a dropped SSH session, SIGTERM, a panic), [`interrupt_all`] writes its
    /// `interrupted` result line. `progress` is how far it got ("1 of 3 sent" for a batch).
    pub fn begin(&self, intent: &AuditEntry, progress: &str) {
        let mut all = in_flight();
        all.retain(|(p, e)| !(p == &self.path && e.id == intent.id));
        all.push((self.path.clone(), AuditEntry { result: progress.to_string(), body: None, ..intent.clone() }));
    }

    /// How far the action `id` got, for its `interrupted` line.
    pub fn progress(&self, id: &str, progress: &str) {
        if let Some((_, e)) = in_flight().iter_mut().find(|(p, e)| p == &self.path && e.id == id) {
            e.result = progress.to_string();
        }
    }

    /// [`interrupt_all`] for this log's actions only.
    pub fn interrupt(&self, why: &str) -> usize {
        interrupt_where(why, |p| p == self.path)
    }

    /// The action `id` has its result line: nothing left to interrupt.
    pub fn end(&self, id: &str) {
        in_flight().retain(|(p, e)| !(p == &self.path && e.id == id));
    }
}

/// Actions whose intent is written and whose result is not, process-wide: (log, intent with
/// its progress in `result`).
fn in_flight() -> std::sync::MutexGuard<'static, Vec<(PathBuf, AuditEntry)>> {
    static IN_FLIGHT: std::sync::Mutex<Vec<(PathBuf, AuditEntry)>> = std::sync::Mutex::new(Vec::new());
    IN_FLIGHT.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The process is ending (`why`: "SIGHUP", "a panic" …) with actions in flight: write each an
/// `interrupted` result line naming how far it got, so the audit never ends on a bare intent.
/// Returns how many lines were written.
pub fn interrupt_all(why: &str) -> usize {
    interrupt_where(why, |_| true)
}

fn interrupt_where(why: &str, mut which: impl FnMut(&Path) -> bool) -> usize {
    let pending: Vec<(PathBuf, AuditEntry)> = {
        let mut all = in_flight();
        let (mine, rest) = std::mem::take(&mut *all).into_iter().partition(|(p, _)| which(p));
        *all = rest;
        mine
    };
    let mut written = 0;
    for (path, e) in pending {
        let progress = if e.result.is_empty() { String::new() } else { format!(" after {}", e.result) };
        let line = AuditEntry {
            phase: "result".into(),
            time: super::plan::rfc3339(jiff::Timestamp::now()),
            result: format!("interrupted: {why}{progress}; the server's answer was not seen"),
            ..e
        };
        match AuditLog::new(&path).append(&line) {
            Ok(()) => written += 1,
            Err(err) => tracing::warn!(path = %path.display(), error = %err, "audit log write failed"),
        }
    }
    written
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
            ..AuditEntry::default()
        };
        log.append(&e("restart pod")).unwrap();
        log.append(&e("rollout restart")).unwrap();
        let all = log.read_all().unwrap();
        assert_eq!(all, vec![e("restart pod"), e("rollout restart")]);
        let text = std::fs::read_to_string(log.path()).unwrap();
        assert_eq!(text.lines().count(), 2);
    }

    #[test]
    fn an_action_still_in_flight_at_exit_gets_an_interrupted_line_naming_its_progress() {
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::new(dir.path().join("audit.jsonl"));
        let intent = |id: &str| AuditEntry {
            phase: "intent".into(),
            id: id.into(),
            verb: "batch".into(),
            ..AuditEntry::default()
        };
        for id in ["done", "hung"] {
            log.append(&intent(id)).unwrap();
            log.begin(&intent(id), "");
        }
        log.progress("hung", "1 of 3 sent");
        log.end("done");
        assert_eq!(log.interrupt("SIGHUP"), 1);
        assert_eq!(log.interrupt("SIGHUP"), 0, "written once");
        let all = log.read_all().unwrap();
        let last = all.last().unwrap();
        assert_eq!((last.phase.as_str(), last.id.as_str()), ("result", "hung"));
        assert_eq!(last.result, "interrupted: SIGHUP after 1 of 3 sent; the server's answer was not seen");
    }

    #[cfg(unix)]
    #[test]
    fn the_log_is_private_to_its_owner() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::new(dir.path().join("state/audit.jsonl"));
        log.append(&AuditEntry { verb: "x".into(), ..AuditEntry::default() }).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(log.path()), 0o600);
        assert_eq!(mode(&dir.path().join("state")), 0o700);
    }
}
