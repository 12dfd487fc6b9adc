//! The regression for the article's worst incident: an escalation loop that wrote 200
//! decision logs in three hours. Tasks that always fail are driven through 10,000 simulated
//! minutes by an engine that reports a failure every minute no matter what it was told; the
//! escalator must keep messages, notifications and decision logs within the policy.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use orch_core::{Clock, TaskId};
use orch_escalation::{
    Decision, DecisionLog, EscalationPolicy, Escalator, ExpiryAction, FailureContext, FailureKind,
    Notifier, NotifierSet, NotifyConfig, NotifyError, NotifyReport, Outcome, PmMessage, RateLimit,
    Resolution, RuleAdvisor,
};
use orch_testutils::ManualClock;
use time::OffsetDateTime;

const MINUTES: u32 = 10_000;

/// Counts deliveries.
#[derive(Clone, Default)]
struct Counting(Arc<AtomicU64>);

impl Notifier for Counting {
    fn name(&self) -> &str {
        "counting"
    }
    async fn notify(&self, _msg: &PmMessage) -> Result<(), NotifyError> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

#[derive(Default)]
struct Tally {
    messages: u64,
    messages_per_task: BTreeMap<TaskId, u64>,
    logs: Vec<DecisionLog>,
    notification_times: Vec<OffsetDateTime>,
    max_open: usize,
}

impl Tally {
    fn log(&mut self, log: Option<DecisionLog>) {
        self.logs.extend(log);
    }

    fn logs_per_task(&self) -> BTreeMap<TaskId, u64> {
        let mut out = BTreeMap::new();
        for log in &self.logs {
            *out.entry(log.task.clone()).or_default() += 1;
        }
        out
    }
}

/// The most events within any window of `limit` ending at an event.
fn densest_window(times: &[OffsetDateTime], limit: RateLimit) -> usize {
    let window = time::Duration::minutes(i64::from(limit.window_minutes));
    (0..times.len())
        .map(|i| {
            times[..=i]
                .iter()
                .filter(|t| times[i] - **t < window)
                .count()
        })
        .max()
        .unwrap_or(0)
}

struct Sim {
    escalator: Escalator,
    clock: Arc<ManualClock>,
    notifiers: NotifierSet,
    advisor: RuleAdvisor,
    tally: Tally,
}

impl Sim {
    fn new(policy: EscalationPolicy, counter: &Counting) -> Sim {
        let clock = Arc::new(ManualClock::new());
        Sim {
            escalator: Escalator::new(policy, clock.clone()).unwrap(),
            clock,
            notifiers: NotifierSet::new(Duration::from_secs(1)).with(counter.clone()),
            advisor: RuleAdvisor::new(),
            tally: Tally::default(),
        }
    }

    async fn handle(&mut self, outcome: Outcome) {
        self.tally.log(outcome.log);
        if let Decision::Escalate { message, notify } = outcome.decision {
            self.tally.messages += 1;
            *self
                .tally
                .messages_per_task
                .entry(message.task.clone())
                .or_default() += 1;
            let report = if notify {
                self.tally.notification_times.push(self.clock_now());
                self.notifiers.notify_all(&message).await
            } else {
                NotifyReport::default()
            };
            self.escalator
                .record_notification(&message.id, &report)
                .unwrap();
        }
        self.tally.max_open = self.tally.max_open.max(self.escalator.open_messages());
    }

    fn clock_now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    fn resolved(&mut self, resolutions: Vec<Resolution>) {
        for r in resolutions {
            self.tally.log(r.log);
        }
    }

    /// One simulated minute: expiries, held escalations, then every task fails once.
    async fn minute(&mut self, failures: impl IntoIterator<Item = FailureContext>) {
        self.clock.advance(time::Duration::minutes(1));
        let expired = self.escalator.expire_due();
        self.resolved(expired);
        for outcome in self.escalator.release_held(&self.advisor).await {
            self.handle(outcome).await;
        }
        for failure in failures {
            let outcome = self.escalator.on_failure(failure, &self.advisor).await;
            self.handle(outcome).await;
        }
    }
}

fn quiet_notify() -> NotifyConfig {
    NotifyConfig {
        console: false,
        ..NotifyConfig::default()
    }
}

#[tokio::test]
async fn one_task_failing_forever_stays_within_the_default_bounds() {
    let policy = EscalationPolicy {
        notify: quiet_notify(),
        ..EscalationPolicy::default()
    };
    // The documented defaults this test pins.
    assert_eq!(policy.max_retries, 2);
    assert_eq!(policy.breaker_threshold, 3);
    assert_eq!(policy.max_escalations_per_task, 5);
    assert_eq!(policy.expire_after_minutes, 1440);
    let counter = Counting::default();
    let mut sim = Sim::new(policy.clone(), &counter);
    let task = TaskId::new("TASK-BA-001").unwrap();
    for minute in 1..=MINUTES {
        // The same failure, with incidental details (durations, paths, ids) that change.
        let failure = FailureContext::new(
            task.clone(),
            FailureKind::TestsFailing,
            format!(
                "test api::login failed after {minute} ms at /tmp/wt-{minute}/src/api.rs:{minute} (run 0x{minute:x})"
            ),
        );
        sim.minute([failure]).await;
    }

    // Minutes 1 and 2: retries. Minute 3: the breaker trips (3 identical failures) and the
    // first message opens. Every 1440 minutes it expires unanswered (skip) and, since the
    // engine keeps reporting failures, the next one opens, until the fifth: after that the
    // task's escalations are used up.
    assert_eq!(sim.tally.messages, 5, "max_escalations_per_task");
    assert_eq!(
        counter.0.load(Ordering::SeqCst),
        5,
        "one notification per message"
    );
    assert_eq!(sim.tally.notification_times.len(), 5);
    // 2 retries + 5 escalations + 5 expiries + 1 "escalations used up" = 13 entries, not
    // one per failure (10,000) and far below the per-task bound.
    let kinds: Vec<&str> = sim.tally.logs.iter().map(|l| l.decision.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "retry", "retry", "escalate", "expire", "escalate", "expire", "escalate", "expire",
            "escalate", "expire", "escalate", "expire", "suppress"
        ]
    );
    assert!(sim.tally.logs.len() as u64 <= policy.max_decision_logs_per_task());
    let start = ManualClock::new().now();
    let minute_of = |l: &DecisionLog| (l.at - start).whole_minutes();
    let at: Vec<i64> = sim.tally.logs.iter().map(minute_of).collect();
    assert_eq!(
        at,
        [
            1, 2, 3, 1443, 1443, 2883, 2883, 4323, 4323, 5763, 5763, 7203, 7203
        ]
    );
    let state = sim.escalator.state();
    assert_eq!(state.totals.failures, u64::from(MINUTES));
    assert_eq!(state.totals.escalations, 5);
    assert_eq!(state.totals.expired, 5);
    assert_eq!(sim.escalator.open_messages(), 0);
    let record = sim.escalator.task(&task).unwrap();
    assert!(record.exhausted);
    assert_eq!(record.escalations, 5);
    // Every message was a repeated failure with "skip" recommended.
    assert!(
        sim.escalator
            .messages()
            .all(|m| m.kind == FailureKind::RepeatedFailure)
    );
}

#[tokio::test]
async fn many_tasks_failing_forever_stay_within_every_bound() {
    const TASKS: usize = 20;
    let policy = EscalationPolicy {
        max_retries: 2,
        backoff_initial_seconds: 60,
        backoff_factor: 2.0,
        backoff_max_seconds: 600,
        breaker_threshold: 3,
        max_escalations_per_task: 5,
        max_open_messages: 3,
        notification_limit: RateLimit {
            max: 4,
            window_minutes: 60,
        },
        decision_log_limit: RateLimit {
            max: 20,
            window_minutes: 60,
        },
        expire_after_minutes: 60,
        // The worst case: expiry applies the recommendation, which here means retrying.
        on_expiry: ExpiryAction::Recommended,
        notify: quiet_notify(),
        ..EscalationPolicy::default()
    };
    let counter = Counting::default();
    let mut sim = Sim::new(policy.clone(), &counter);
    let tasks: Vec<TaskId> = (1..=TASKS)
        .map(|i| TaskId::new(format!("TASK-LOOP-{i:03}")).unwrap())
        .collect();
    for minute in 1..=MINUTES {
        // Alternating kinds: the breaker never trips, so every cycle uses all its retries.
        let kind = if minute % 2 == 0 {
            FailureKind::TestsFailing
        } else {
            FailureKind::AgentCrashed
        };
        let failures: Vec<FailureContext> = tasks
            .iter()
            .map(|t| FailureContext::new(t.clone(), kind, format!("failure at minute {minute}")))
            .collect();
        sim.minute(failures).await;
        assert!(sim.escalator.open_messages() <= 3, "minute {minute}");
    }

    let tally = &sim.tally;
    // Messages: every task reaches its limit of 5, never more.
    assert_eq!(tally.messages, (TASKS * 5) as u64);
    assert!(tally.messages_per_task.values().all(|n| *n == 5));
    assert_eq!(sim.escalator.state().totals.escalations, (TASKS * 5) as u64);
    // Open messages: never more than 3 at once.
    assert_eq!(tally.max_open, 3);
    // Notifications: never more than 4 in any 60 minutes; the rest wait in `orch msg list`.
    let sent = counter.0.load(Ordering::SeqCst);
    assert_eq!(sent, tally.notification_times.len() as u64);
    assert!(densest_window(&tally.notification_times, policy.notification_limit) <= 4);
    assert!(sent <= tally.messages);
    // Decision logs: never more than 20 in any 60 minutes, and within the per-task bound.
    let log_times: Vec<OffsetDateTime> = tally.logs.iter().map(|l| l.at).collect();
    assert!(log_times.windows(2).all(|w| w[0] <= w[1]));
    assert_eq!(densest_window(&log_times, policy.decision_log_limit), 20);
    let per_task = tally.logs_per_task();
    assert!(
        per_task
            .values()
            .all(|n| *n <= policy.max_decision_logs_per_task()),
        "{per_task:?}"
    );
    assert_eq!(
        sim.escalator.state().totals.decision_logs,
        tally.logs.len() as u64
    );
    // The end state: all done, nothing open, nothing held, every task exhausted.
    assert_eq!(sim.escalator.open_messages(), 0);
    assert_eq!(sim.escalator.held(), 0);
    assert!(
        tasks
            .iter()
            .all(|t| sim.escalator.task(t).unwrap().exhausted)
    );
    assert_eq!(
        sim.escalator.state().totals.failures,
        u64::from(MINUTES) * TASKS as u64
    );
}
