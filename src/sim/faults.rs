//! Faults injected into the simulator's HTTP layer, for tests and `daemonscope sim` (through
//! `POST /debug/faults/…`, see `sim::api::control`): drop every open watch now, answer the next
//! watches with 410 Gone, a burst of 5xx/429 responses, added latency per request, the watch
//! bookmark period, a freeze (a network partition as clients see it: connections are accepted,
//! requests are read, nothing is answered and open watches fall silent until the thaw) and a
//! restart (every connection drops and new ones are closed at once for a downtime). Shared as
//! `Arc<Faults>`; every setter takes `&self` and acts on the next request, never on a request
//! already answered.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::watch;

/// The fault switches. Cheap to read on every request (atomics; one mutex for the burst).
#[derive(Debug)]
pub struct Faults {
    drop_gen: watch::Sender<u64>,
    gone: AtomicU32,
    burst: Mutex<Option<Burst>>,
    latency_ms: AtomicU64,
    bookmark_ms: AtomicU64,
    /// A validating admission webhook that does not declare `sideEffects: None`: the API
    /// server then refuses every dry run that would reach it.
    dry_run_webhook: Mutex<Option<String>>,
    frozen: watch::Sender<bool>,
    restart_gen: watch::Sender<u64>,
    down_until: Mutex<Option<Instant>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Burst {
    remaining: u32,
    code: u16,
    retry_after: u32,
}

/// The default period of BOOKMARK events on watches that asked for them. The real server sends
/// one about every minute; we send them more often so that a watch resumed after a compaction
/// rarely needs a re-list, and so tests see them without long waits.
pub const DEFAULT_BOOKMARK_PERIOD: Duration = Duration::from_secs(5);

impl Default for Faults {
    fn default() -> Self {
        Faults {
            drop_gen: watch::Sender::new(0),
            gone: AtomicU32::new(0),
            burst: Mutex::new(None),
            latency_ms: AtomicU64::new(0),
            bookmark_ms: AtomicU64::new(DEFAULT_BOOKMARK_PERIOD.as_millis() as u64),
            dry_run_webhook: Mutex::new(None),
            frozen: watch::Sender::new(false),
            restart_gen: watch::Sender::new(0),
            down_until: Mutex::new(None),
        }
    }
}

impl Faults {
    pub fn new() -> Faults {
        Faults::default()
    }

    /// Close every watch connection open now (clients see the stream end and re-watch).
    pub fn drop_watches(&self) {
        self.drop_gen.send_modify(|g| *g += 1);
    }

    /// A receiver that changes when [`Faults::drop_watches`] is called (watches select on it).
    pub fn drop_signal(&self) -> watch::Receiver<u64> {
        self.drop_gen.subscribe()
    }

    /// The next `n` watch requests get an ERROR event with a 410 Expired Status, as when
    /// their resourceVersion is older than the retained history.
    pub fn force_gone(&self, n: u32) {
        self.gone.store(n, Ordering::SeqCst);
    }

    /// Consume one forced 410; true when this watch must get it.
    pub fn take_gone(&self) -> bool {
        self.gone.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok()
    }

    /// The next `n` requests are answered with `code` (500, 503, 429 …) and a Status;
    /// 429 and 503 carry `Retry-After: retry_after_secs`.
    pub fn burst(&self, n: u32, code: u16, retry_after_secs: u32) {
        let mut g = self.burst.lock().unwrap_or_else(|e| e.into_inner());
        *g = (n > 0).then_some(Burst { remaining: n, code, retry_after: retry_after_secs });
    }

    /// Consume one response of the burst: (code, retry-after seconds).
    pub fn take_burst(&self) -> Option<(u16, u32)> {
        let mut g = self.burst.lock().unwrap_or_else(|e| e.into_inner());
        let b = g.as_mut()?;
        let out = (b.code, b.retry_after);
        b.remaining -= 1;
        if b.remaining == 0 {
            *g = None;
        }
        Some(out)
    }

    /// Requests still to be failed by the current burst.
    pub fn burst_remaining(&self) -> u32 {
        self.burst.lock().unwrap_or_else(|e| e.into_inner()).map_or(0, |b| b.remaining)
    }

    /// Delay every request by `d` before it is handled.
    pub fn set_latency(&self, d: Duration) {
        self.latency_ms.store(d.as_millis() as u64, Ordering::Relaxed);
    }

    pub fn latency(&self) -> Duration {
        Duration::from_millis(self.latency_ms.load(Ordering::Relaxed))
    }

    /// How often watches that allow bookmarks get one (applies to watches started afterwards).
    pub fn set_bookmark_period(&self, d: Duration) {
        self.bookmark_ms.store(d.as_millis().max(1) as u64, Ordering::Relaxed);
    }

    pub fn bookmark_period(&self) -> Duration {
        Duration::from_millis(self.bookmark_ms.load(Ordering::Relaxed))
    }

    /// Install (Some) or remove (None) an admission webhook named `name` whose side effects
    /// are unknown: dry-run writes are refused as the API server refuses them
    /// (`admission webhook "<name>" does not support dry run`, 400); real writes pass.
    pub fn set_dry_run_webhook(&self, name: Option<&str>) {
        *self.dry_run_webhook.lock().unwrap_or_else(|e| e.into_inner()) = name.map(str::to_string);
    }

    pub fn dry_run_webhook(&self) -> Option<String> {
        self.dry_run_webhook.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Freeze (true) or thaw (false). Frozen: requests wait unanswered and open watches send
    /// nothing (no events, no bookmarks); on the thaw both go on where they were.
    pub fn set_frozen(&self, frozen: bool) {
        self.frozen.send_replace(frozen);
    }

    pub fn is_frozen(&self) -> bool {
        *self.frozen.borrow()
    }

    /// A receiver of the frozen flag (open watches select on it to fall silent at once).
    pub fn freeze_signal(&self) -> watch::Receiver<bool> {
        self.frozen.subscribe()
    }

    /// Return once the simulator is not frozen (at once when it is not).
    pub async fn thawed(&self) {
        let mut rx = self.frozen.subscribe();
        // Err: the sender is gone with the simulator; nothing will ever answer anyway.
        let _ = rx.wait_for(|f| !*f).await;
    }

    /// A restart of the API server: every open connection drops now (watches, requests in
    /// flight), and connections made in the next `downtime` are closed at once.
    pub fn restart(&self, downtime: Duration) {
        *self.down_until.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now() + downtime);
        self.restart_gen.send_modify(|g| *g += 1);
        self.drop_watches();
    }

    /// True while a restart's downtime lasts.
    pub fn is_down(&self) -> bool {
        self.down_until.lock().unwrap_or_else(|e| e.into_inner()).is_some_and(|t| Instant::now() < t)
    }

    /// A receiver that changes at every [`Faults::restart`] (connections select on it).
    pub fn restart_signal(&self) -> watch::Receiver<u64> {
        self.restart_gen.subscribe()
    }

    /// The switches as JSON, for `GET /debug/faults`.
    pub fn describe(&self) -> serde_json::Value {
        serde_json::json!({
            "frozen": self.is_frozen(),
            "down": self.is_down(),
            "latencyMs": self.latency().as_millis() as u64,
            "bookmarkPeriodMs": self.bookmark_period().as_millis() as u64,
            "goneWatches": self.gone.load(Ordering::SeqCst),
            "burstRemaining": self.burst_remaining(),
            "dryRunWebhook": self.dry_run_webhook(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_is_consumed_one_response_at_a_time() {
        let f = Faults::new();
        f.burst(2, 503, 1);
        assert_eq!(f.take_burst(), Some((503, 1)));
        assert_eq!(f.burst_remaining(), 1);
        assert_eq!(f.take_burst(), Some((503, 1)));
        assert_eq!(f.take_burst(), None);
    }

    #[test]
    fn forced_gone_applies_to_the_next_n_watches_only() {
        let f = Faults::new();
        f.force_gone(1);
        assert!(f.take_gone());
        assert!(!f.take_gone());
    }

    #[tokio::test]
    async fn a_freeze_holds_until_the_thaw() {
        let f = std::sync::Arc::new(Faults::new());
        f.thawed().await;
        f.set_frozen(true);
        let g = f.clone();
        let waiter = tokio::spawn(async move { g.thawed().await });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiter.is_finished(), "a frozen simulator answers nothing");
        f.set_frozen(false);
        assert!(tokio::time::timeout(Duration::from_secs(5), waiter).await.is_ok());
    }

    #[test]
    fn a_restart_drops_watches_and_is_down_for_its_downtime() {
        let f = Faults::new();
        let mut drops = f.drop_signal();
        let mut restarts = f.restart_signal();
        f.restart(Duration::from_secs(60));
        assert!(f.is_down());
        assert!(drops.has_changed().unwrap_or(false) && restarts.has_changed().unwrap_or(false));
        let _ = (drops.borrow_and_update(), restarts.borrow_and_update());
        f.restart(Duration::ZERO);
        assert!(!f.is_down());
    }

    #[test]
    fn drop_watches_changes_the_signal() {
        let f = Faults::new();
        let mut rx = f.drop_signal();
        f.drop_watches();
        assert!(rx.has_changed().unwrap_or(false));
        let _ = rx.borrow_and_update();
    }
}
