//! The instruction file of one task attempt, as a run writes it: the plan, what its
//! dependencies delivered (from the store), the quality bar and the scope rule as
//! configured, the stored PRD and the repository map. `orch task show --instructions` prints
//! the same text before anything runs.

use orch_core::{Plan, Task};
use orch_store::Store;

use crate::options::EngineOptions;

/// The markdown an agent reads for `task`'s attempt number `attempt`.
pub fn task_instructions(
    plan: &Plan,
    task: &Task,
    store: &Store,
    options: &EngineOptions,
    attempt: u32,
    feedback: Option<String>,
) -> String {
    let delivered = task
        .depends_on
        .iter()
        .filter_map(|dep| {
            let t = plan.task(dep)?;
            let files = store
                .attempts(Some(dep))
                .ok()?
                .into_iter()
                .rev()
                .find(|a| a.result.as_deref() == Some("passed"))
                .map(|a| a.changed_files)
                .unwrap_or_default();
            Some(orch_ai::Delivered {
                task: dep.clone(),
                title: t.title.clone(),
                summary: if files.is_empty() {
                    "merged into the epic branch".into()
                } else {
                    format!("changed {}", files.join(", "))
                },
            })
        })
        .collect();
    let q = &options.config.quality;
    let gate = if options.gate.is_some() {
        vec![
            format!(
                "overall quality score at least {:.2} over the 8 dimensions",
                q.threshold
            ),
            "no syntax or type errors, no high-severity security findings".into(),
            format!(
                "all tests pass; line coverage at least {:.0}% where measured",
                q.coverage_threshold
            ),
            format!("public items documented ({:.0}%)", q.docs_threshold * 100.0),
        ]
    } else {
        vec!["the change is committed in this worktree (the quality gate is off)".into()]
    };
    orch_ai::write_instructions(
        plan,
        task,
        &orch_ai::InstructionContext {
            prd: options.prd.as_ref(),
            delivered,
            gate,
            attempt,
            feedback,
            out_of_scope: if options.fail_out_of_scope {
                orch_ai::OutOfScope::Fails
            } else {
                orch_ai::OutOfScope::Reported
            },
            repo: options.repo_map.as_ref(),
        },
    )
}
