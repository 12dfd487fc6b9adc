use std::sync::Mutex;

use orch_core::Clock;
use time::{Duration, OffsetDateTime};

/// A clock that only moves when told to.
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<OffsetDateTime>,
}

impl ManualClock {
    /// Starts at 2026-01-01T00:00:00Z.
    pub fn new() -> ManualClock {
        ManualClock::at(OffsetDateTime::from_unix_timestamp(1_767_225_600).expect("valid time"))
    }

    /// Starts at `start`.
    pub fn at(start: OffsetDateTime) -> ManualClock {
        ManualClock {
            now: Mutex::new(start),
        }
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock().unwrap_or_else(|e| e.into_inner());
        *now += by;
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        ManualClock::new()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        *self.now.lock().unwrap_or_else(|e| e.into_inner())
    }
}
