//! The `Advisor` seam: who proposes the options of a PM message. The default is
//! [`RuleAdvisor`], offline and deterministic; a model-backed advisor is adapted to this
//! trait by the engine.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::failure::{FailureContext, FailureKind};
use crate::message::{Action, DecisionOption};

/// Proposes the options for a failure. The escalator keys them `A`, `B`, … and makes sure
/// exactly one is recommended (see [`crate::normalize_options`]); an advisor that returns
/// nothing gets the [`RuleAdvisor`]'s options instead.
pub trait Advisor: Send + Sync {
    /// The options for this failure, the recommended one marked.
    fn options(&self, failure: &FailureContext)
    -> impl Future<Output = Vec<DecisionOption>> + Send;
}

/// A boxed future, for the object-safe [`DynAdvisor`] and [`crate::DynNotifier`].
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The object-safe form of [`Advisor`], implemented for every advisor, so an engine can
/// hold `Arc<dyn DynAdvisor>` and choose the advisor at run time. `dyn DynAdvisor` is an
/// [`Advisor`] itself.
pub trait DynAdvisor: Send + Sync {
    /// [`Advisor::options`], boxed.
    fn options_boxed<'a>(
        &'a self,
        failure: &'a FailureContext,
    ) -> BoxFuture<'a, Vec<DecisionOption>>;
}

impl<A: Advisor> DynAdvisor for A {
    fn options_boxed<'a>(
        &'a self,
        failure: &'a FailureContext,
    ) -> BoxFuture<'a, Vec<DecisionOption>> {
        Box::pin(self.options(failure))
    }
}

impl Advisor for dyn DynAdvisor {
    async fn options(&self, failure: &FailureContext) -> Vec<DecisionOption> {
        self.options_boxed(failure).await
    }
}

impl<A: Advisor + ?Sized> Advisor for Arc<A> {
    fn options(
        &self,
        failure: &FailureContext,
    ) -> impl Future<Output = Vec<DecisionOption>> + Send {
        (**self).options(failure)
    }
}

/// The default advisor: fixed rules per failure kind, no network, no model.
///
/// | failure | recommended |
/// |---|---|
/// | quality ≥ [`RuleAdvisor::accept_quality`] and only coverage short | accept as is |
/// | other quality shortfall, failing tests | retry with the report as instructions |
/// | agent crashed | retry |
/// | agent API error | retry later |
/// | timeout | split the task |
/// | idle (permission prompt) | retry without permission prompts |
/// | merge conflict | retry on a fresh worktree from the current tip |
/// | claimed done, changed nothing | retry with "make the changes" |
/// | repeated identical failure | another agent when the agent itself failed (crash, API, idle, timeout), else skip |
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RuleAdvisor {
    /// Overall quality at or above which a coverage-only shortfall is worth accepting
    /// (default 0.95).
    pub accept_quality: f64,
}

impl Default for RuleAdvisor {
    fn default() -> Self {
        RuleAdvisor {
            accept_quality: 0.95,
        }
    }
}

impl Advisor for RuleAdvisor {
    async fn options(&self, failure: &FailureContext) -> Vec<DecisionOption> {
        self.advise(failure)
    }
}

fn retry(instructions: impl Into<String>) -> Action {
    Action::RetryWithInstructions {
        instructions: instructions.into(),
        fresh_worktree: false,
        non_interactive: false,
    }
}

fn another_agent(instructions: impl Into<String>) -> Action {
    Action::RetryWithAgent {
        agent: None,
        instructions: instructions.into(),
    }
}

fn skip() -> DecisionOption {
    DecisionOption::new("Skip the task", Action::Skip)
        .pro("Frees the run to finish everything else")
        .con("Tasks that depend on it are blocked")
}

fn abort() -> DecisionOption {
    DecisionOption::new("Abort the run", Action::AbortRun)
        .pro("Stops spending time and tokens until the cause is fixed")
        .con("Every running task stops")
}

fn accept() -> DecisionOption {
    DecisionOption::new("Accept as is", Action::Accept)
        .pro("The work is merged now")
        .con("The failed check is not fixed")
}

impl RuleAdvisor {
    /// The default rules.
    pub fn new() -> RuleAdvisor {
        RuleAdvisor::default()
    }

    /// The options for a failure, synchronously (this advisor never waits on anything).
    pub fn advise(&self, failure: &FailureContext) -> Vec<DecisionOption> {
        let feedback = feedback_for(failure);
        match failure.kind {
            FailureKind::QualityBelowThreshold => self.quality(failure, feedback),
            FailureKind::TestsFailing => vec![
                DecisionOption::new(
                    "Retry with the failing tests as instructions",
                    retry(feedback.clone()),
                )
                .pro("The agent sees exactly which tests fail")
                .con("Costs another attempt")
                .recommended(),
                DecisionOption::new("Retry with another agent", another_agent(feedback))
                    .pro("A different agent may get past what this one cannot")
                    .con("Starts without this agent's context"),
                DecisionOption::new(
                    "Split the task",
                    Action::SplitTask {
                        hint: "Separate the failing behaviour into its own task.".into(),
                    },
                )
                .pro("Smaller steps are easier to get right")
                .con("Needs replanning"),
                skip(),
            ],
            FailureKind::AgentCrashed => vec![
                DecisionOption::new("Retry", retry(feedback.clone()))
                    .pro("Crashes are often transient")
                    .con("May crash again the same way")
                    .recommended(),
                DecisionOption::new("Retry with another agent", another_agent(feedback))
                    .pro("Avoids a problem specific to this agent")
                    .con("Starts without this agent's context"),
                skip(),
            ],
            FailureKind::AgentApiError => vec![
                DecisionOption::new("Retry later", retry(feedback.clone()))
                    .pro("Rate limits and overloads pass")
                    .con("Will fail again if the key or quota is the problem")
                    .recommended(),
                DecisionOption::new("Retry with another agent", another_agent(feedback))
                    .pro("Uses another provider")
                    .con("Starts without this agent's context"),
                abort().con("Right choice only if the API key or quota is exhausted"),
            ],
            FailureKind::Timeout => vec![
                DecisionOption::new(
                    "Split the task",
                    Action::SplitTask {
                        hint: "The task did not fit in one session; split it into smaller steps."
                            .into(),
                    },
                )
                .pro("Each part fits in a session")
                .con("Needs replanning")
                .recommended(),
                DecisionOption::new(
                    "Retry with instructions to work in smaller steps",
                    retry(feedback.clone()),
                )
                .pro("Keeps the plan as it is")
                .con("May run out of time again"),
                DecisionOption::new("Retry with another agent", another_agent(feedback))
                    .pro("A faster agent may finish in time")
                    .con("Starts without this agent's context"),
                skip(),
            ],
            FailureKind::Idle => vec![
                DecisionOption::new(
                    "Retry without permission prompts",
                    Action::RetryWithInstructions {
                        instructions: feedback.clone(),
                        fresh_worktree: false,
                        non_interactive: true,
                    },
                )
                .pro("The agent can no longer stall on a prompt nobody sees")
                .con("Edits inside the task worktree are pre-approved")
                .recommended(),
                DecisionOption::new("Retry as before", retry(feedback))
                    .pro("Keeps the current permission settings")
                    .con("Likely stalls at the same prompt"),
                skip(),
            ],
            FailureKind::MergeConflict => vec![
                DecisionOption::new(
                    "Retry on a fresh worktree from the current tip",
                    Action::RetryWithInstructions {
                        instructions: feedback,
                        fresh_worktree: true,
                        non_interactive: false,
                    },
                )
                .pro("The work is redone on top of what is already merged")
                .con("The previous attempt's changes are discarded")
                .recommended(),
                DecisionOption::new(
                    "Split the task",
                    Action::SplitTask {
                        hint: "Separate the parts that touch files other tasks also change.".into(),
                    },
                )
                .pro("Less overlap with other tasks")
                .con("Needs replanning"),
                skip(),
            ],
            FailureKind::OutOfScope => vec![
                DecisionOption::new("Retry within the task's files", retry(feedback.clone()))
                    .pro("Keeps parallel tasks from colliding")
                    .con("Costs another attempt")
                    .recommended(),
                DecisionOption::new("Accept the wider change", Action::Accept)
                    .pro("Right if the extra files belong to the task after all")
                    .con("Other tasks touching those files may conflict"),
                skip(),
            ],
            // The engine asks about budgets with amounts of its own (Escalator::ask); this is
            // what an advisor offers without them.
            FailureKind::BudgetReached => vec![
                DecisionOption::new("Stop the run here", Action::StopRun)
                    .pro("Spends nothing more; `orch run` goes on later")
                    .con("Nothing new starts until the limit is raised in orch.toml")
                    .recommended(),
                skip(),
                DecisionOption::new("Abort the run", Action::AbortRun)
                    .pro("Ends everything at once")
                    .con("The task is cancelled"),
            ],
            FailureKind::Tampering => vec![
                DecisionOption::new(
                    "Retry on a fresh worktree",
                    Action::RetryWithInstructions {
                        instructions: feedback.clone(),
                        fresh_worktree: true,
                        non_interactive: false,
                    },
                )
                .pro("Nothing of the tampered attempt is kept")
                .con("The agent may try the same again")
                .recommended(),
                DecisionOption::new("Retry with another agent", another_agent(feedback))
                    .pro("Another agent may not do the same")
                    .con("Starts without this agent's context"),
                skip(),
                abort().pro("Stops every agent until you have looked at what happened"),
            ],
            FailureKind::TestIntegrity => vec![
                DecisionOption::new("Retry with the tests kept intact", retry(feedback.clone()))
                    .pro("The work is measured by the tests as they were")
                    .con("Costs another attempt")
                    .recommended(),
                DecisionOption::new("Accept the test changes", Action::Accept)
                    .pro("Right if the task really had to change those tests")
                    .con("The weakened tests are merged"),
                skip(),
            ],
            FailureKind::NoChanges => vec![
                DecisionOption::new("Retry and make the changes", retry(feedback))
                    .pro("The agent is told that nothing was changed")
                    .con("Costs another attempt")
                    .recommended(),
                DecisionOption::new("Accept as already done", Action::Accept)
                    .pro("Right if the work was already in the code base")
                    .con("Nothing verifies that it was"),
                skip(),
            ],
            FailureKind::RepeatedFailure => {
                let agent_trouble = matches!(
                    failure.cause,
                    Some(
                        FailureKind::AgentCrashed
                            | FailureKind::AgentApiError
                            | FailureKind::Idle
                            | FailureKind::Timeout
                    )
                );
                let mut other = DecisionOption::new(
                    "Retry with another agent",
                    another_agent(feedback.clone()),
                )
                .pro("The same agent has failed the same way every time")
                .con("Starts without this agent's context");
                let mut skip_it = skip().pro("Stops spending attempts on a failure that repeats");
                if agent_trouble {
                    other = other.recommended();
                } else {
                    skip_it = skip_it.recommended();
                }
                vec![
                    skip_it,
                    other,
                    DecisionOption::new("Retry with my instructions", retry(feedback))
                        .pro("Your note can give the missing piece")
                        .con("Without new information it fails again"),
                    DecisionOption::new(
                        "Split the task",
                        Action::SplitTask {
                            hint: "The task keeps failing the same way; split it.".into(),
                        },
                    )
                    .pro("Smaller steps may avoid the failure")
                    .con("Needs replanning"),
                    abort(),
                ]
            }
        }
    }

    fn quality(&self, failure: &FailureContext, feedback: String) -> Vec<DecisionOption> {
        let near_pass = failure
            .quality
            .as_ref()
            .is_some_and(|q| q.overall >= self.accept_quality && q.only_coverage_short());
        let fix = DecisionOption::new(
            "Retry with the quality report as instructions",
            retry(feedback.clone()),
        )
        .pro("Fixes what the gate found")
        .con("Costs another attempt");
        if near_pass {
            vec![
                DecisionOption::new("Accept as is", Action::Accept)
                    .pro("Quality is high; only coverage is short of its target")
                    .pro("The work is merged now")
                    .con("Coverage stays below its target")
                    .recommended(),
                DecisionOption::new(
                    "Retry to add tests",
                    retry(format!(
                        "{feedback}\nOnly coverage is short: add tests for the uncovered code; change nothing else."
                    )),
                )
                .pro("Reaches the coverage target")
                .con("Costs an attempt for a small gain"),
                skip(),
            ]
        } else {
            vec![
                fix.recommended(),
                DecisionOption::new("Retry with another agent", another_agent(feedback))
                    .pro("A different agent may do better")
                    .con("Starts without this agent's context"),
                accept(),
                skip(),
            ]
        }
    }
}

/// Characters of findings a feedback carries at most.
const FEEDBACK_FINDINGS_CHARS: usize = 6_000;

/// The feedback handed to an automatic retry (and used as the instructions of the retry
/// options): what failed, the kind-specific advice, the quality summary and the last log
/// lines.
pub fn feedback_for(failure: &FailureContext) -> String {
    let mut out = format!(
        "The previous attempt failed: {}.\n",
        failure.root_kind().describe()
    );
    if !failure.message.trim().is_empty() {
        out.push_str(&format!(
            "Error: {}\n",
            crate::message::truncate(failure.message.trim(), 1500)
        ));
    }
    let advice = match failure.root_kind() {
        FailureKind::QualityBelowThreshold => {
            "Fix the findings of the quality report below before anything else."
        }
        FailureKind::TestsFailing => "Make the failing tests pass without weakening them.",
        FailureKind::AgentCrashed => "The session ended without a result; finish the task.",
        FailureKind::AgentApiError => "The model API failed; continue where the work stopped.",
        FailureKind::Timeout => {
            "The session ran out of time. Work in small steps and commit progress early."
        }
        FailureKind::Idle => {
            "The session stalled, most likely on an interactive permission prompt that nobody \
             could answer. Do not ask for confirmation; work only inside the task worktree."
        }
        FailureKind::MergeConflict => {
            "The branch conflicted with work merged meanwhile. Start from the current tip of \
             the epic branch and keep changes minimal in shared files."
        }
        FailureKind::NoChanges => {
            "You reported the task as done but no file changed. Make the changes the task asks for."
        }
        FailureKind::OutOfScope => {
            "You changed files outside the files this task owns (listed in the instructions). \
             Other tasks work on those in parallel: undo those changes and stay within scope."
        }
        FailureKind::RepeatedFailure => "The same failure repeated; try a different approach.",
        FailureKind::BudgetReached => "",
        FailureKind::Tampering => {
            "You changed something outside your workspace that orch protects (the main \
             repository's branches, hooks or git config, or orch's own files). That is never \
             allowed; the attempt was discarded. Work only in your workspace."
        }
        FailureKind::TestIntegrity => {
            "You weakened the tests the task is measured by (deleted, emptied or skipped \
             tests, assertions that cannot fail, new suppressions, relaxed tool settings). \
             Keep every existing test as it is and make the code pass them."
        }
    };
    out.push_str(advice);
    out.push('\n');
    if let Some(q) = &failure.quality {
        out.push_str(&format!("Quality: {}\n", q.line()));
        if !q.findings.is_empty() {
            out.push_str("Findings to fix:\n");
            let mut budget = FEEDBACK_FINDINGS_CHARS;
            for (shown, finding) in q.findings.iter().enumerate() {
                let line = crate::message::truncate(finding, 300);
                if line.len() > budget {
                    out.push_str(&format!("  … and {} more\n", q.findings.len() - shown));
                    break;
                }
                budget -= line.len();
                out.push_str("  - ");
                out.push_str(&line);
                out.push('\n');
            }
        }
    }
    let tail = &failure.log_tail[failure.log_tail.len().saturating_sub(10)..];
    if !tail.is_empty() {
        out.push_str("Last log lines:\n");
        for line in tail {
            out.push_str("  ");
            out.push_str(&crate::message::truncate(line, 300));
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::failure::QualitySummary;
    use orch_core::TaskId;

    fn ctx(kind: FailureKind) -> FailureContext {
        FailureContext::new(TaskId::new("TASK-A-001").unwrap(), kind, "it broke")
    }

    fn recommended(options: &[DecisionOption]) -> &DecisionOption {
        let rec: Vec<_> = options.iter().filter(|o| o.recommended).collect();
        assert_eq!(rec.len(), 1, "exactly one recommended: {options:#?}");
        rec[0]
    }

    #[test]
    fn every_kind_has_options_with_one_recommendation() {
        for kind in FailureKind::ALL {
            let options = RuleAdvisor::new().advise(&ctx(kind));
            assert!(options.len() >= 3, "{kind:?}");
            recommended(&options);
            assert!(
                options
                    .iter()
                    .all(|o| !o.pros.is_empty() && !o.cons.is_empty())
            );
        }
    }

    #[test]
    fn near_pass_quality_recommends_accepting() {
        let f = ctx(FailureKind::QualityBelowThreshold).with_quality(QualitySummary {
            overall: 0.96,
            threshold: 0.8,
            failing: vec!["coverage".into()],
            coverage: Some(0.78),
            coverage_target: Some(0.8),
            findings: Vec::new(),
        });
        let options = RuleAdvisor::new().advise(&f);
        assert_eq!(recommended(&options).action, Action::Accept);
        let f = ctx(FailureKind::QualityBelowThreshold).with_quality(QualitySummary {
            overall: 0.9,
            threshold: 0.95,
            failing: vec!["coverage".into()],
            ..QualitySummary::default()
        });
        assert!(
            recommended(&RuleAdvisor::new().advise(&f))
                .action
                .is_retry()
        );
    }

    #[test]
    fn kind_specific_recommendations() {
        let a = RuleAdvisor::new();
        let idle = a.advise(&ctx(FailureKind::Idle));
        assert!(matches!(
            recommended(&idle).action,
            Action::RetryWithInstructions {
                non_interactive: true,
                ..
            }
        ));
        let conflict = a.advise(&ctx(FailureKind::MergeConflict));
        assert!(matches!(
            recommended(&conflict).action,
            Action::RetryWithInstructions {
                fresh_worktree: true,
                ..
            }
        ));
        let timeout = a.advise(&ctx(FailureKind::Timeout));
        assert!(matches!(
            recommended(&timeout).action,
            Action::SplitTask { .. }
        ));

        let mut repeated = ctx(FailureKind::RepeatedFailure);
        repeated.cause = Some(FailureKind::TestsFailing);
        assert_eq!(recommended(&a.advise(&repeated)).action, Action::Skip);
        repeated.cause = Some(FailureKind::AgentCrashed);
        assert!(matches!(
            recommended(&a.advise(&repeated)).action,
            Action::RetryWithAgent { .. }
        ));
    }

    #[tokio::test]
    async fn advisors_work_behind_dyn_and_arc() {
        let dynamic: Arc<dyn DynAdvisor> = Arc::new(RuleAdvisor::new());
        let options = dynamic.options(&ctx(FailureKind::Timeout)).await;
        assert_eq!(
            options,
            RuleAdvisor::new().advise(&ctx(FailureKind::Timeout))
        );

        let clock: Arc<dyn orch_core::Clock> = Arc::new(orch_core::SystemClock);
        let policy = crate::EscalationPolicy {
            max_retries: 0,
            ..crate::EscalationPolicy::default()
        };
        let mut escalator = crate::Escalator::new(policy, clock).unwrap();
        fn assert_send<T: Send>(t: T) -> T {
            t
        }
        let outcome =
            assert_send(escalator.on_failure(ctx(FailureKind::Idle), dynamic.as_ref())).await;
        assert_eq!(outcome.decision.name(), "escalate");
    }

    #[test]
    fn feedback_carries_context() {
        let f = ctx(FailureKind::Idle).with_log_tail(["Allow edit to src/lib.rs? (y/n)"]);
        let text = feedback_for(&f);
        assert!(text.contains("permission prompt"), "{text}");
        assert!(text.contains("Allow edit"), "{text}");
        assert!(
            text.starts_with("The previous attempt failed: agent idle"),
            "{text}"
        );
    }
}
