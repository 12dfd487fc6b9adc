//! The clock seam: code that needs "now" takes a [`Clock`] so tests can control time.

use std::fmt::Debug;

use time::OffsetDateTime;

/// A source of the current time.
pub trait Clock: Send + Sync + Debug {
    /// The current time in UTC.
    fn now(&self) -> OffsetDateTime;

    /// The current time as milliseconds since the Unix epoch.
    fn now_millis(&self) -> i64 {
        let now = self.now();
        now.unix_timestamp() * 1000 + i64::from(now.millisecond())
    }
}

/// The real wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}
