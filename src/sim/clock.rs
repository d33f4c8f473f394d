//! The simulated clock. Starts at the wall-clock time the simulator starts (so ages look right
//! in the UI) and advances with real time unless frozen (`--frozen`), in which case the cluster
//! changes only through API requests.

use std::sync::Mutex;
use std::time::Instant;

use jiff::Timestamp;

pub struct Clock {
    inner: Mutex<ClockInner>,
}

struct ClockInner {
    base: Timestamp,
    started: Instant,
    /// Simulated seconds added by `advance` (tests step a frozen clock).
    offset_ms: i64,
    frozen_at: Option<Instant>,
}

impl Clock {
    pub fn new(frozen: bool) -> Clock {
        let now = Instant::now();
        // Whole seconds: Kubernetes timestamps on the wire have second precision.
        let base = Timestamp::from_second(Timestamp::now().as_second()).unwrap_or(Timestamp::UNIX_EPOCH);
        Clock { inner: Mutex::new(ClockInner { base, started: now, offset_ms: 0, frozen_at: frozen.then_some(now) }) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ClockInner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The time the simulation started (scenario time zero).
    pub fn start(&self) -> Timestamp {
        self.lock().base
    }

    pub fn now(&self) -> Timestamp {
        let g = self.lock();
        let real = g.frozen_at.unwrap_or_else(Instant::now).duration_since(g.started);
        let ms = real.as_millis() as i64 + g.offset_ms;
        g.base.checked_add(jiff::SignedDuration::from_millis(ms)).unwrap_or(g.base)
    }

    /// Milliseconds since scenario time zero.
    pub fn elapsed_ms(&self) -> i64 {
        self.now().as_millisecond() - self.start().as_millisecond()
    }

    pub fn now_time(&self) -> k8s_openapi::apimachinery::pkg::apis::meta::v1::Time {
        k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
            Timestamp::from_second(self.now().as_second()).unwrap_or(self.start()),
        )
    }

    pub fn is_frozen(&self) -> bool {
        self.lock().frozen_at.is_some()
    }

    /// Move simulated time forward (works frozen or not).
    pub fn advance(&self, ms: i64) {
        self.lock().offset_ms += ms;
    }
}
