//! A per-user rate limit, so one chat account cannot drive orch faster than a person would.
//!
//! Remote commands start, stop and answer work that costs money and reviewer time. A user
//! who is allowed to act (a leaked phone, a script on a compromised account, a stuck retry
//! loop) should still not be able to issue hundreds of commands a minute. Each user gets a
//! token bucket: it holds up to `burst` tokens, refills at `per_minute` tokens a minute, and
//! each allowed request takes one; a refused request takes none.
//!
//! The bucket is kept as a single instant per user (the generic cell rate algorithm): the
//! time at which the user's bucket will be full again. This is exact integer arithmetic on
//! [`Duration`], and a user whose bucket is full carries no state at all, so idle users are
//! simply forgotten. Memory is bounded: at most [`MAX_USERS`] users are tracked; when that many
//! are all active at once, a user not yet tracked is refused until some bucket refills, rather
//! than evicting (and so refilling) someone else's.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// The most users tracked at once.
pub const MAX_USERS: usize = 10_000;

/// Per-user token bucket: `per_minute` requests a minute, bursts up to `burst`.
pub struct RateLimiter {
    per_minute: u32,
    burst: u32,
    /// The time one token takes to refill (`60 s / per_minute`); `None` when nothing refills.
    interval: Option<Duration>,
    /// How far ahead of now a bucket's full time may be and still hold a token:
    /// `interval * (burst - 1)`.
    tolerance: Duration,
    max_users: usize,
    /// user -> the instant at which their bucket is full again (always after the time it was
    /// last updated; users whose bucket is full are removed).
    full_at: Mutex<HashMap<String, Instant>>,
}

impl RateLimiter {
    /// `per_minute` requests a minute, bursts up to `burst`.
    ///
    /// A `burst` of 0 is taken as 1 (a bucket must hold a token for anything to pass);
    /// a `per_minute` of 0 refuses everything.
    pub fn new(per_minute: u32, burst: u32) -> RateLimiter {
        RateLimiter::with_max_users(per_minute, burst, MAX_USERS)
    }

    fn with_max_users(per_minute: u32, burst: u32, max_users: usize) -> RateLimiter {
        let burst = burst.max(1);
        let interval = (per_minute > 0).then(|| Duration::from_secs(60) / per_minute);
        let tolerance = interval
            .map(|i| i.checked_mul(burst - 1).unwrap_or(Duration::MAX))
            .unwrap_or_default();
        RateLimiter {
            per_minute,
            burst,
            interval,
            tolerance,
            max_users: max_users.max(1),
            full_at: Mutex::new(HashMap::new()),
        }
    }

    /// Whether `user` (e.g. "slack:U123") may act now (and takes a token).
    pub fn allow(&self, user: &str, now: Instant) -> bool {
        let Some(interval) = self.interval else {
            return false;
        };
        // Every update below is a single insert, so a lock poisoned by another thread's panic
        // still guards consistent data.
        let mut full_at = self.full_at.lock().unwrap_or_else(PoisonError::into_inner);
        let current = match full_at.get(user) {
            // A bucket full in the past is full now.
            Some(&at) if at > now => at,
            _ => now,
        };
        // The bucket holds a token unless its full time is more than `burst - 1` intervals
        // ahead. A clock that lags another caller's reads as "now" for this purpose.
        if current.saturating_duration_since(now) > self.tolerance {
            return false;
        }
        let Some(next) = current.checked_add(interval) else {
            return false;
        };
        if !full_at.contains_key(user) && full_at.len() >= self.max_users {
            full_at.retain(|_, at| *at > now);
            if full_at.len() >= self.max_users {
                return false;
            }
        }
        full_at.insert(user.to_owned(), next);
        true
    }
}

impl fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tracked = self
            .full_at
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len();
        f.debug_struct("RateLimiter")
            .field("per_minute", &self.per_minute)
            .field("burst", &self.burst)
            .field("max_users", &self.max_users)
            .field("tracked_users", &tracked)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    const SEC: Duration = Duration::from_secs(1);

    fn tracked(limiter: &RateLimiter) -> usize {
        limiter.full_at.lock().unwrap().len()
    }

    /// How many of `n` requests at the same instant pass.
    fn passes(limiter: &RateLimiter, user: &str, at: Instant, n: usize) -> usize {
        (0..n).filter(|_| limiter.allow(user, at)).count()
    }

    #[test]
    fn a_burst_passes_then_stops() {
        let limiter = RateLimiter::new(6, 3);
        let t0 = Instant::now();
        assert_eq!(passes(&limiter, "slack:U1", t0, 10), 3);
    }

    #[test]
    fn tokens_refill_at_the_rate() {
        // 6 a minute: one token every 10 s.
        let limiter = RateLimiter::new(6, 3);
        let t0 = Instant::now();
        assert_eq!(passes(&limiter, "u", t0, 3), 3);
        assert!(!limiter.allow("u", t0 + 9 * SEC));
        assert!(limiter.allow("u", t0 + 10 * SEC));
        assert!(!limiter.allow("u", t0 + 10 * SEC));
        // 25 s later, two more tokens have refilled (not three: one was 5 s short).
        assert_eq!(passes(&limiter, "u", t0 + 35 * SEC, 5), 2);
    }

    #[test]
    fn the_bucket_never_holds_more_than_the_burst() {
        let limiter = RateLimiter::new(60, 5);
        let t0 = Instant::now();
        assert!(limiter.allow("u", t0));
        // An hour idle refills to 5, not to 3600.
        assert_eq!(passes(&limiter, "u", t0 + 3600 * SEC, 100), 5);
    }

    #[test]
    fn a_steady_rate_at_the_limit_always_passes() {
        let limiter = RateLimiter::new(30, 1);
        let t0 = Instant::now();
        for i in 0..100u32 {
            assert!(limiter.allow("u", t0 + 2 * SEC * i), "request {i}");
        }
        assert!(!limiter.allow("u", t0 + 2 * SEC * 99 + SEC));
    }

    #[test]
    fn refused_requests_take_no_token() {
        let limiter = RateLimiter::new(6, 1);
        let t0 = Instant::now();
        assert!(limiter.allow("u", t0));
        for s in 1..10 {
            assert!(!limiter.allow("u", t0 + s * SEC));
        }
        assert!(limiter.allow("u", t0 + 10 * SEC));
    }

    #[test]
    fn users_are_independent() {
        let limiter = RateLimiter::new(6, 2);
        let t0 = Instant::now();
        assert_eq!(passes(&limiter, "slack:U1", t0, 5), 2);
        assert_eq!(passes(&limiter, "discord:U1", t0, 5), 2);
        assert_eq!(passes(&limiter, "slack:U2", t0, 5), 2);
    }

    #[test]
    fn idle_users_are_forgotten() {
        let limiter = RateLimiter::with_max_users(60, 2, 3);
        let t0 = Instant::now();
        for user in ["a", "b", "c"] {
            assert!(limiter.allow(user, t0));
        }
        assert_eq!(tracked(&limiter), 3);
        // After a second all three buckets are full again, so they make room.
        assert!(limiter.allow("d", t0 + SEC));
        assert_eq!(tracked(&limiter), 1);
    }

    #[test]
    fn when_full_of_active_users_a_new_user_is_refused_and_no_one_is_refilled() {
        let limiter = RateLimiter::with_max_users(6, 1, 3);
        let t0 = Instant::now();
        for user in ["a", "b", "c"] {
            assert!(limiter.allow(user, t0));
        }
        assert!(!limiter.allow("d", t0 + SEC));
        // The tracked users keep their (empty) buckets.
        for user in ["a", "b", "c"] {
            assert!(!limiter.allow(user, t0 + SEC));
        }
        // Once a bucket refills, there is room again.
        assert!(limiter.allow("d", t0 + 10 * SEC));
        assert!(tracked(&limiter) <= 3);
    }

    #[test]
    fn memory_stays_bounded_under_a_flood_of_users() {
        let limiter = RateLimiter::new(1, 1);
        let t0 = Instant::now();
        let allowed = (0..(MAX_USERS + 500))
            .filter(|i| limiter.allow(&format!("slack:U{i}"), t0))
            .count();
        assert_eq!(allowed, MAX_USERS);
        assert_eq!(tracked(&limiter), MAX_USERS);
    }

    #[test]
    fn zero_per_minute_refuses_everything() {
        let limiter = RateLimiter::new(0, 10);
        assert!(!limiter.allow("u", Instant::now()));
        assert_eq!(tracked(&limiter), 0);
    }

    #[test]
    fn zero_burst_still_lets_one_through() {
        let limiter = RateLimiter::new(6, 0);
        let t0 = Instant::now();
        assert_eq!(passes(&limiter, "u", t0, 3), 1);
        assert!(limiter.allow("u", t0 + 10 * SEC));
    }

    #[test]
    fn extreme_settings_do_not_overflow() {
        let limiter = RateLimiter::new(1, u32::MAX);
        let t0 = Instant::now();
        assert_eq!(passes(&limiter, "u", t0, 1000), 1000);
        let limiter = RateLimiter::new(u32::MAX, 1);
        assert!(limiter.allow("u", t0));
    }

    #[test]
    fn a_lagging_clock_is_read_as_now() {
        // Two handlers read the clock, then race for the lock: the later to lock may hold
        // the earlier instant. It must neither panic nor gain a token.
        let limiter = RateLimiter::new(6, 1);
        let t0 = Instant::now();
        assert!(limiter.allow("u", t0 + SEC));
        assert!(!limiter.allow("u", t0));
    }

    #[test]
    fn shared_across_threads_the_burst_is_exact() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<RateLimiter>();
        let limiter = Arc::new(RateLimiter::new(60, 50));
        let t0 = Instant::now();
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let limiter = Arc::clone(&limiter);
                std::thread::spawn(move || (0..100).filter(|_| limiter.allow("u", t0)).count())
            })
            .collect();
        let allowed: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
        assert_eq!(allowed, 50);
    }

    #[test]
    fn debug_shows_settings_not_users() {
        let limiter = RateLimiter::new(6, 2);
        assert!(limiter.allow("slack:U123", Instant::now()));
        let shown = format!("{limiter:?}");
        assert!(shown.contains("per_minute: 6"), "{shown}");
        assert!(shown.contains("tracked_users: 1"), "{shown}");
        assert!(!shown.contains("U123"), "{shown}");
    }
}
