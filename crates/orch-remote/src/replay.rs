//! A short memory of requests already acted on, so a captured request is not acted on twice.
//!
//! A valid signature proves who sent a request, not that it is new: anyone who captures one
//! (a proxy log, a misrouted retry) can send it again, and it still verifies. Slack and Discord
//! sign a timestamp, which bounds how long a capture stays usable to the verification window;
//! LINE signs none. Within that time, this cache remembers each request's id (Slack's
//! signature, Discord's interaction id, LINE's `webhookEventId`) and tells the handler whether
//! it is the first time; the second delivery is refused rather than answering an escalation
//! twice.
//!
//! Memory is bounded: entries expire after `ttl` and at most `max` are kept, the oldest dropped
//! first. The `ttl` should cover the signature window (a replay older than the window is
//! already refused as stale), and `max` the requests expected within it; past `max`, the
//! oldest ids are forgotten early and could be replayed until their timestamp goes stale.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Remembers request ids (Slack signature, Discord interaction id, LINE webhookEventId) for
/// `ttl`; bounded to `max` entries (oldest dropped first).
pub struct ReplayCache {
    ttl: Duration,
    max: usize,
    inner: Mutex<Seen>,
}

/// The ids seen, indexed both ways: by id to answer, by age to expire and evict.
#[derive(Debug, Default)]
struct Seen {
    /// id -> when it was recorded, and a sequence number breaking ties between equal instants.
    by_key: HashMap<String, (Instant, u64)>,
    /// (when, sequence) -> id, oldest first. Always the same entries as `by_key`.
    by_age: BTreeMap<(Instant, u64), String>,
    next_seq: u64,
}

impl ReplayCache {
    /// A cache remembering each id for `ttl`, holding at most `max` ids (at least one).
    pub fn new(ttl: Duration, max: usize) -> ReplayCache {
        ReplayCache {
            ttl,
            max: max.max(1),
            inner: Mutex::new(Seen::default()),
        }
    }

    /// True the first time `key` is seen within the ttl (and records it); false for a replay.
    ///
    /// A replay does not extend the time the key is remembered: the ttl runs from the first
    /// delivery, which is the one whose timestamp was checked.
    pub fn first_time(&self, key: &str, now: Instant) -> bool {
        // Nothing below panics while the maps disagree, so a lock poisoned by another thread
        // still guards consistent data.
        let mut seen = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        // `by_age` is ordered by record time, so this leaves only live entries, whatever
        // order the callers' instants arrive in.
        seen.expire(now, self.ttl);
        if seen.by_key.contains_key(key) {
            return false;
        }
        while seen.by_key.len() >= self.max {
            if !seen.evict_oldest() {
                break;
            }
        }
        let seq = seen.next_seq;
        seen.next_seq = seq.wrapping_add(1);
        seen.by_age.insert((now, seq), key.to_owned());
        seen.by_key.insert(key.to_owned(), (now, seq));
        true
    }
}

impl Seen {
    /// Forgets the entries recorded `ttl` or more before `now`, oldest first.
    fn expire(&mut self, now: Instant, ttl: Duration) {
        while let Some((&(at, _), _)) = self.by_age.first_key_value() {
            if now.saturating_duration_since(at) < ttl {
                break;
            }
            self.evict_oldest();
        }
    }

    /// Forgets the oldest entry; false when there was none.
    fn evict_oldest(&mut self) -> bool {
        match self.by_age.pop_first() {
            Some((_, key)) => {
                self.by_key.remove(&key);
                true
            }
            None => false,
        }
    }
}

impl fmt::Debug for ReplayCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The ids themselves are left out: they are noise in a log, and a Slack id is a
        // signature.
        let remembered = self
            .inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .by_key
            .len();
        f.debug_struct("ReplayCache")
            .field("ttl", &self.ttl)
            .field("max", &self.max)
            .field("remembered", &remembered)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    const TTL: Duration = Duration::from_secs(300);

    fn len(cache: &ReplayCache) -> usize {
        let seen = cache.inner.lock().unwrap();
        assert_eq!(
            seen.by_key.len(),
            seen.by_age.len(),
            "the two indexes agree"
        );
        seen.by_key.len()
    }

    #[test]
    fn first_delivery_passes_and_a_replay_does_not() {
        let cache = ReplayCache::new(TTL, 100);
        let t0 = Instant::now();
        assert!(cache.first_time("a", t0));
        assert!(!cache.first_time("a", t0));
        assert!(!cache.first_time("a", t0 + Duration::from_secs(1)));
        assert!(cache.first_time("b", t0));
        assert!(!cache.first_time("b", t0));
    }

    #[test]
    fn keys_are_exact() {
        let cache = ReplayCache::new(TTL, 100);
        let t0 = Instant::now();
        assert!(cache.first_time("evt-1", t0));
        assert!(cache.first_time("EVT-1", t0));
        assert!(cache.first_time("evt-1 ", t0));
        assert!(cache.first_time("", t0));
        assert!(!cache.first_time("", t0));
    }

    #[test]
    fn a_key_is_forgotten_after_the_ttl() {
        let cache = ReplayCache::new(TTL, 100);
        let t0 = Instant::now();
        assert!(cache.first_time("a", t0));
        assert!(!cache.first_time("a", t0 + TTL - Duration::from_nanos(1)));
        assert!(cache.first_time("a", t0 + TTL));
        // ...and remembered again from then on.
        assert!(!cache.first_time("a", t0 + TTL + Duration::from_secs(1)));
    }

    #[test]
    fn a_replay_does_not_extend_the_memory() {
        let cache = ReplayCache::new(TTL, 100);
        let t0 = Instant::now();
        assert!(cache.first_time("a", t0));
        assert!(!cache.first_time("a", t0 + TTL / 2));
        assert!(cache.first_time("a", t0 + TTL));
    }

    #[test]
    fn expired_entries_are_dropped() {
        let cache = ReplayCache::new(TTL, 100);
        let t0 = Instant::now();
        for i in 0..50 {
            assert!(cache.first_time(&format!("k{i}"), t0));
        }
        assert_eq!(len(&cache), 50);
        assert!(cache.first_time("late", t0 + TTL));
        assert_eq!(len(&cache), 1);
    }

    #[test]
    fn the_oldest_is_dropped_first_when_full() {
        let cache = ReplayCache::new(TTL, 3);
        let t0 = Instant::now();
        for (i, key) in ["a", "b", "c"].into_iter().enumerate() {
            assert!(cache.first_time(key, t0 + Duration::from_secs(i as u64)));
        }
        assert!(cache.first_time("d", t0 + Duration::from_secs(3)));
        assert_eq!(len(&cache), 3);
        // "a" was the oldest: forgotten. The others are still remembered.
        assert!(!cache.first_time("b", t0 + Duration::from_secs(4)));
        assert!(!cache.first_time("c", t0 + Duration::from_secs(4)));
        assert!(!cache.first_time("d", t0 + Duration::from_secs(4)));
        assert!(cache.first_time("a", t0 + Duration::from_secs(4)));
        assert_eq!(len(&cache), 3);
    }

    #[test]
    fn equal_instants_keep_insertion_order() {
        let cache = ReplayCache::new(TTL, 2);
        let t0 = Instant::now();
        assert!(cache.first_time("a", t0));
        assert!(cache.first_time("b", t0));
        assert!(cache.first_time("c", t0));
        assert_eq!(len(&cache), 2);
        assert!(!cache.first_time("b", t0));
        assert!(!cache.first_time("c", t0));
        assert!(cache.first_time("a", t0));
    }

    #[test]
    fn memory_stays_bounded_under_a_flood() {
        let cache = ReplayCache::new(TTL, 1_000);
        let t0 = Instant::now();
        for i in 0..20_000u64 {
            assert!(cache.first_time(&i.to_string(), t0 + Duration::from_millis(i)));
        }
        assert_eq!(len(&cache), 1_000);
        assert!(!cache.first_time("19999", t0 + Duration::from_secs(20)));
    }

    #[test]
    fn zero_max_still_remembers_the_latest() {
        let cache = ReplayCache::new(TTL, 0);
        let t0 = Instant::now();
        assert!(cache.first_time("a", t0));
        assert!(!cache.first_time("a", t0));
        assert!(cache.first_time("b", t0));
        assert!(cache.first_time("a", t0));
    }

    #[test]
    fn a_lagging_clock_cannot_resurrect_or_keep_an_expired_key() {
        // Two handlers read the clock, then race for the lock: the second to lock may carry
        // the older instant. Instants before an entry's record time count as zero age.
        let cache = ReplayCache::new(TTL, 100);
        let t0 = Instant::now();
        assert!(cache.first_time("a", t0 + Duration::from_secs(10)));
        assert!(!cache.first_time("a", t0));
        // An entry recorded with a lagging instant expires by that instant, even though it
        // was recorded after a newer one.
        let cache = ReplayCache::new(TTL, 100);
        assert!(cache.first_time("live", t0 + Duration::from_secs(10)));
        assert!(cache.first_time("old", t0));
        assert!(cache.first_time("old", t0 + TTL + Duration::from_secs(1)));
        assert!(!cache.first_time("live", t0 + TTL + Duration::from_secs(1)));
        assert_eq!(len(&cache), 2);
    }

    #[test]
    fn shared_across_threads_exactly_one_first_time() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<ReplayCache>();
        let cache = Arc::new(ReplayCache::new(TTL, 10_000));
        let t0 = Instant::now();
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let cache = Arc::clone(&cache);
                std::thread::spawn(move || {
                    (0..500)
                        .filter(|i| cache.first_time(&format!("id-{i}"), t0))
                        .count()
                })
            })
            .collect();
        let firsts: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
        assert_eq!(firsts, 500);
    }

    #[test]
    fn debug_shows_sizes_not_ids() {
        let cache = ReplayCache::new(TTL, 10);
        assert!(cache.first_time("v0=secretish", Instant::now()));
        let shown = format!("{cache:?}");
        assert!(shown.contains("remembered: 1"), "{shown}");
        assert!(!shown.contains("secretish"), "{shown}");
    }
}
