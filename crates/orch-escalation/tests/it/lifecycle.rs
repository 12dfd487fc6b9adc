//! Property: no sequence of failures, answers, notifications, expiries and withdrawals drives
//! a message through an illegal state change or the escalator past one of its bounds.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use orch_core::{Clock, TaskId};
use orch_escalation::{
    Decision, DecisionLog, EscalationPolicy, Escalator, ExhaustedAction, ExpiryAction,
    FailureContext, FailureKind, MessageId, MessageState, NotifierOutcome, NotifyConfig,
    NotifyReport, PmMessage, RateLimit, RuleAdvisor, answer_message,
};
use orch_testutils::ManualClock;
use proptest::prelude::*;
use time::OffsetDateTime;

#[derive(Debug, Clone)]
enum Op {
    Fail {
        task: usize,
        kind: usize,
        variant: u8,
    },
    Advance {
        minutes: u32,
    },
    Notify {
        msg: usize,
        delivered: bool,
    },
    Acknowledge {
        msg: usize,
    },
    Answer {
        msg: usize,
        option: char,
        elsewhere: bool,
    },
    Apply {
        msg: usize,
    },
    Withdraw {
        msg: usize,
    },
    Expire,
    Release,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0..4usize, 0..FailureKind::ALL.len(), 0..3u8)
            .prop_map(|(task, kind, variant)| Op::Fail { task, kind, variant }),
        2 => (0..150u32).prop_map(|minutes| Op::Advance { minutes }),
        2 => (any::<usize>(), any::<bool>()).prop_map(|(msg, delivered)| Op::Notify { msg, delivered }),
        1 => any::<usize>().prop_map(|msg| Op::Acknowledge { msg }),
        3 => (any::<usize>(), prop::char::range('A', 'F'), any::<bool>())
            .prop_map(|(msg, option, elsewhere)| Op::Answer { msg, option, elsewhere }),
        1 => any::<usize>().prop_map(|msg| Op::Apply { msg }),
        1 => any::<usize>().prop_map(|msg| Op::Withdraw { msg }),
        1 => Just(Op::Expire),
        1 => Just(Op::Release),
    ]
}

fn policy() -> impl Strategy<Value = EscalationPolicy> {
    (
        (0..3u32, 2..4u32, 1..4u32, 1..3u32),
        (1..3u32, 1..8u32, prop::sample::select(vec![0u64, 30, 120])),
        (0..3usize, any::<bool>()),
    )
        .prop_map(
            |((retries, breaker, escalations, open), (notes, logs, expire), (on_expiry, abort))| {
                EscalationPolicy {
                    max_retries: retries,
                    breaker_threshold: breaker,
                    max_escalations_per_task: escalations,
                    max_open_messages: open,
                    notification_limit: RateLimit {
                        max: notes,
                        window_minutes: 30,
                    },
                    decision_log_limit: RateLimit {
                        max: logs,
                        window_minutes: 30,
                    },
                    expire_after_minutes: expire,
                    on_expiry: [
                        ExpiryAction::Skip,
                        ExpiryAction::Recommended,
                        ExpiryAction::AbortRun,
                    ][on_expiry],
                    on_exhausted: if abort {
                        ExhaustedAction::AbortRun
                    } else {
                        ExhaustedAction::Skip
                    },
                    notify: NotifyConfig {
                        console: false,
                        ..NotifyConfig::default()
                    },
                    ..EscalationPolicy::default()
                }
            },
        )
}

struct Run {
    policy: EscalationPolicy,
    clock: Arc<ManualClock>,
    escalator: Escalator,
    notifications: Vec<OffsetDateTime>,
    logs: Vec<DecisionLog>,
}

fn pick(escalator: &Escalator, index: usize) -> Option<MessageId> {
    let ids: Vec<MessageId> = escalator.messages().map(|m| m.id.clone()).collect();
    (!ids.is_empty()).then(|| ids[index % ids.len()].clone())
}

fn within(times: &[OffsetDateTime], limit: RateLimit) -> bool {
    let window = time::Duration::minutes(i64::from(limit.window_minutes));
    (0..times.len()).all(|i| {
        times[..=i]
            .iter()
            .filter(|t| times[i] - **t < window)
            .count()
            <= limit.max as usize
    })
}

impl Run {
    /// Applies one operation; returns whether it was refused with an error.
    fn apply(&mut self, op: &Op) -> Result<bool, TestCaseError> {
        let advise = |f: &FailureContext| RuleAdvisor::new().advise(f);
        let mut refused = false;
        match op {
            Op::Fail {
                task,
                kind,
                variant,
            } => {
                let failure = FailureContext::new(
                    TaskId::new(format!("TASK-P-{task:03}")).unwrap(),
                    FailureKind::ALL[*kind],
                    format!(
                        "failure variant {} at {}",
                        ["a", "b", "c"][*variant as usize],
                        self.clock.now()
                    ),
                );
                let outcome = self.escalator.on_failure_with(failure, advise);
                if let Decision::Retry { attempt, .. } = &outcome.decision {
                    prop_assert!(*attempt >= 1 && *attempt <= self.policy.max_retries);
                }
                self.record(outcome.decision, outcome.log);
            }
            Op::Advance { minutes } => self
                .clock
                .advance(time::Duration::minutes(i64::from(*minutes))),
            Op::Notify { msg, delivered } => {
                if let Some(id) = pick(&self.escalator, *msg) {
                    let report = NotifyReport {
                        outcomes: vec![NotifierOutcome {
                            notifier: "test".into(),
                            result: if *delivered {
                                Ok(())
                            } else {
                                Err(orch_escalation::NotifyError::Panicked {
                                    notifier: "test".into(),
                                })
                            },
                            elapsed: Duration::ZERO,
                        }],
                    };
                    refused = self.escalator.record_notification(&id, &report).is_err();
                }
            }
            Op::Acknowledge { msg } => {
                if let Some(id) = pick(&self.escalator, *msg) {
                    refused = self.escalator.acknowledge(&id).is_err();
                }
            }
            Op::Answer {
                msg,
                option,
                elsewhere,
            } => {
                if let Some(id) = pick(&self.escalator, *msg) {
                    let result = if *elsewhere {
                        let message = self.escalator.message(&id).unwrap().clone();
                        match answer_message(
                            &message,
                            &option.to_string(),
                            Some("note"),
                            self.clock.now(),
                        ) {
                            Ok(answered) => self.escalator.record_answer(&answered.message),
                            Err(e) => Err(e),
                        }
                    } else {
                        self.escalator.answer(&id, &option.to_string(), None)
                    };
                    match result {
                        Ok(resolution) => self.logs.extend(resolution.log),
                        Err(_) => refused = true,
                    }
                }
            }
            Op::Apply { msg } => {
                if let Some(id) = pick(&self.escalator, *msg) {
                    refused = self.escalator.mark_applied(&id).is_err();
                }
            }
            Op::Withdraw { msg } => {
                if let Some(id) = pick(&self.escalator, *msg) {
                    match self.escalator.withdraw(&id, "test") {
                        Ok((_, log)) => self.logs.extend(log),
                        Err(_) => refused = true,
                    }
                }
            }
            Op::Expire => {
                let now = self.clock.now();
                for r in self.escalator.expire_due() {
                    prop_assert!(r.message.expires_at.is_some_and(|at| at <= now));
                    self.logs.extend(r.log);
                }
            }
            Op::Release => {
                for outcome in self.escalator.release_held_with(advise) {
                    let escalated = matches!(outcome.decision, Decision::Escalate { .. });
                    prop_assert!(escalated, "release only escalates");
                    self.record(outcome.decision, outcome.log);
                }
            }
        }
        Ok(refused)
    }

    fn record(&mut self, decision: Decision, log: Option<DecisionLog>) {
        self.logs.extend(log);
        if let Decision::Escalate { notify: true, .. } = decision {
            self.notifications.push(self.clock.now());
        }
    }

    fn check(
        &self,
        before: &BTreeMap<MessageId, PmMessage>,
        refused: bool,
    ) -> Result<(), TestCaseError> {
        let after: BTreeMap<MessageId, PmMessage> = self
            .escalator
            .messages()
            .map(|m| (m.id.clone(), m.clone()))
            .collect();
        for (id, old) in before {
            let new = &after[id];
            if refused {
                prop_assert_eq!(new, old, "a refused operation changed {}", id);
            }
            if new.state != old.state {
                prop_assert!(
                    old.state.can_become(&new.state),
                    "illegal {} -> {} for {}",
                    old.state.name(),
                    new.state.name(),
                    id
                );
            }
        }
        for (id, m) in &after {
            if !before.contains_key(id) {
                prop_assert_eq!(&m.state, &MessageState::Open);
            }
            prop_assert_eq!(m.options.iter().filter(|o| o.recommended).count(), 1);
            for (i, o) in m.options.iter().enumerate() {
                prop_assert_eq!(o.key.letter(), char::from(b'A' + i as u8));
            }
        }
        // Per task: messages, pending messages, logs.
        let mut per_task: BTreeMap<&TaskId, (u32, u32)> = BTreeMap::new();
        for m in after.values() {
            let entry = per_task.entry(&m.task).or_default();
            entry.0 += 1;
            if m.is_pending() {
                entry.1 += 1;
                let record = self.escalator.task(&m.task).unwrap();
                prop_assert_eq!(record.pending.as_ref(), Some(&m.id));
            }
        }
        for (task, (messages, pending)) in per_task {
            prop_assert!(
                messages <= self.policy.max_escalations_per_task,
                "{} has {} messages",
                task,
                messages
            );
            prop_assert!(pending <= 1);
        }
        let pending = after.values().filter(|m| m.is_pending()).count();
        prop_assert!(pending <= self.policy.max_open_messages as usize);
        prop_assert!(within(&self.notifications, self.policy.notification_limit));
        let log_times: Vec<OffsetDateTime> = self.logs.iter().map(|l| l.at).collect();
        prop_assert!(within(&log_times, self.policy.decision_log_limit));
        let mut logs_per_task: BTreeMap<&TaskId, u64> = BTreeMap::new();
        for log in &self.logs {
            *logs_per_task.entry(&log.task).or_default() += 1;
        }
        for (task, n) in logs_per_task {
            prop_assert!(
                n <= self.policy.max_decision_logs_per_task(),
                "{} has {} log entries",
                task,
                n
            );
        }
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn no_sequence_breaks_the_lifecycle_or_a_bound(
        policy in policy(),
        ops in prop::collection::vec(op(), 1..80),
    ) {
        let clock = Arc::new(ManualClock::new());
        let escalator = Escalator::new(policy.clone(), clock.clone()).unwrap();
        let mut run = Run { policy, clock, escalator, notifications: Vec::new(), logs: Vec::new() };
        for op in &ops {
            let before: BTreeMap<MessageId, PmMessage> =
                run.escalator.messages().map(|m| (m.id.clone(), m.clone())).collect();
            let refused = run.apply(op)?;
            run.check(&before, refused)?;
        }
        // The state survives a JSON round trip (the engine persists it).
        let json = serde_json::to_string(run.escalator.state()).unwrap();
        let back: orch_escalation::EscalatorState = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(&back, run.escalator.state());
    }
}
