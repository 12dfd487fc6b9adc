//! The instruction file an agent reads: everything it needs to do one task well and nothing
//! it has to guess, including how orch will check the result.

use std::fmt::Write as _;

use orch_core::{Plan, Task, TaskId};

use crate::prd::Prd;
use crate::text::tokens;

/// What a finished dependency delivered, for the tasks that build on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivered {
    /// The dependency.
    pub task: TaskId,
    /// Its title.
    pub title: String,
    /// What it changed, e.g. its commit subject and files.
    pub summary: String,
}

/// Everything that goes into one instruction file beyond the plan itself.
#[derive(Debug, Clone, Default)]
pub struct InstructionContext<'a> {
    /// The PRD, for the relevant excerpt.
    pub prd: Option<&'a Prd>,
    /// What each dependency delivered.
    pub delivered: Vec<Delivered>,
    /// The quality gate as lines, e.g. "tests: all pass, coverage ≥ 80%".
    pub gate: Vec<String>,
    /// The attempt number (1 for the first).
    pub attempt: u32,
    /// Feedback from the failed previous attempt: the quality report and the failure.
    pub feedback: Option<String>,
    /// What happens to changes outside the task's files, as configured.
    pub out_of_scope: OutOfScope,
}

/// What orch does with changes outside a task's file scope (`[run] out_of_scope`); the
/// instructions say exactly this, so the agent is never told a softer rule than the one
/// applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OutOfScope {
    /// The attempt fails and is retried with the list of files as feedback (the default).
    #[default]
    Fails,
    /// The change is reported to the reviewer; the attempt is not failed for it.
    Reported,
}

/// The markdown instructions for `task`.
pub fn write_instructions(plan: &Plan, task: &Task, cx: &InstructionContext<'_>) -> String {
    let mut out = String::new();
    let epic = plan.epics.iter().find(|e| e.id == task.epic);
    let _ = writeln!(out, "# {}: {}\n", task.id, task.title);
    if cx.attempt > 1 {
        let _ = writeln!(
            out,
            "> Attempt {}. The previous attempt did not pass verification; see **Feedback** first.\n",
            cx.attempt
        );
    }
    if let Some(epic) = epic {
        let _ = writeln!(out, "## Epic: {}\n", epic.name);
        if !epic.goal.is_empty() {
            let _ = writeln!(out, "{}\n", epic.goal);
        }
    }
    if let Some(feedback) = cx.feedback.as_deref().filter(|f| !f.trim().is_empty()) {
        let _ = writeln!(
            out,
            "## Feedback from the previous attempt\n\n{}\n",
            feedback.trim()
        );
    }
    let _ = writeln!(
        out,
        "## Task\n\n{}\n",
        if task.description.is_empty() {
            &task.title
        } else {
            &task.description
        }
    );
    let _ = writeln!(out, "## Acceptance criteria\n");
    for line in &task.acceptance {
        let _ = writeln!(out, "- [ ] {line}");
    }
    out.push('\n');
    if !task.files.is_empty() {
        let _ = writeln!(out, "## Files in scope\n");
        for f in &task.files {
            let _ = writeln!(out, "- `{f}`");
        }
        let rule = match cx.out_of_scope {
            OutOfScope::Fails => {
                "Changing any file outside these paths fails the attempt: it is not merged, and it is retried with the list of those files. Other tasks own them."
            }
            OutOfScope::Reported => {
                "Changes outside these paths are reported to the reviewer; keep them to what the task needs."
            }
        };
        let _ = writeln!(out, "\n{rule}\n");
    }
    if !task.depends_on.is_empty() {
        let _ = writeln!(out, "## Already done (your dependencies)\n");
        for dep in &task.depends_on {
            match cx.delivered.iter().find(|d| &d.task == dep) {
                Some(d) => {
                    let _ = writeln!(out, "- **{}** {}: {}", d.task, d.title, d.summary);
                }
                None => {
                    let title = plan.task(dep).map_or("", |t| t.title.as_str());
                    let _ = writeln!(out, "- **{dep}** {title}");
                }
            }
        }
        out.push('\n');
    }
    if let Some(excerpt) = cx.prd.and_then(|prd| prd_excerpt(prd, task)) {
        let _ = writeln!(out, "## From the PRD\n\n{excerpt}\n");
    }
    let _ = writeln!(out, "## How your work is verified\n");
    let _ = writeln!(
        out,
        "orch does not take your word for it. When you finish, it commits every file you left in this directory (files git ignores, and build output such as `__pycache__` or `target/`, never count) and judges that commit, exported clean, not this directory:\n"
    );
    let _ = writeln!(
        out,
        "- something relevant changed (no change means the task failed);"
    );
    let _ = writeln!(
        out,
        "- the tests that existed before you started run as they were, beside yours: changing them does not change what you are measured by;"
    );
    let _ = writeln!(
        out,
        "- deleting, emptying or skipping tests, assertions that cannot fail, new suppressions (`noqa`, `type: ignore`, `nosec`, `#[allow(...)]`, `eslint-disable`, ...) and relaxed lint, type-check or test settings fail the task{};",
        if task.allow.is_empty() {
            String::new()
        } else {
            format!(" (this task may: {})", task.allow.join(", "))
        }
    );
    let _ = writeln!(
        out,
        "- nothing outside this directory was touched: the main repository's branches, hooks and git config, and orch's own files, are off limits (changing them fails the task at once);"
    );
    if cx.gate.is_empty() {
        let _ = writeln!(
            out,
            "- the project's quality gate passes (syntax, types, lint, security, tests, docs)."
        );
    } else {
        for g in &cx.gate {
            let _ = writeln!(out, "- {g}");
        }
    }
    let _ = writeln!(out, "\n## Rules\n");
    for rule in [
        "Stay in scope: do this task only; note anything else you notice in your final message.",
        "Work only in this directory; its `.git` is a repository of your own (commit, branch, reset as you like). Everything outside it is read-only or hidden.",
        "Commit your work with a clear message when you are done; uncommitted changes are committed for you.",
        "Add or update tests for what you change, and run them before you finish.",
        "Never commit secrets, keys or tokens.",
        "If you are blocked, say so plainly in your final message instead of guessing.",
    ] {
        let _ = writeln!(out, "- {rule}");
    }
    out
}

/// The PRD lines that share the most words with the task, with the section heading.
fn prd_excerpt(prd: &Prd, task: &Task) -> Option<String> {
    let mine = tokens(&format!("{} {}", task.title, task.description));
    let mut best: Option<(usize, String)> = None;
    for section in &prd.sections {
        for item in section.texts() {
            let score = tokens(item).intersection(&mine).count();
            if score >= 2 && best.as_ref().is_none_or(|(s, _)| score > *s) {
                best = Some((
                    score,
                    format!("### {}\n\n{}\n- {item}", section.heading, section.intro),
                ));
            }
        }
    }
    best.map(|(_, text)| text.replace("\n\n\n", "\n\n"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use orch_core::{Epic, EpicId};

    fn plan() -> Plan {
        let epic = EpicId::new("E").unwrap();
        let mut task = Task::new(TaskId::new("TASK-E-001").unwrap(), "Add it", epic.clone());
        task.files = vec!["src/a/**".into()];
        Plan {
            version: 1,
            name: "p".into(),
            strategy: None,
            epics: vec![Epic {
                id: epic,
                name: "Epic".into(),
                goal: String::new(),
                strategy: None,
            }],
            tasks: vec![task],
        }
    }

    #[test]
    fn the_scope_rule_is_the_configured_one() {
        let plan = plan();
        let task = &plan.tasks[0];
        let fails = write_instructions(&plan, task, &InstructionContext::default());
        assert!(fails.contains("fails the attempt"), "{fails}");
        assert!(!fails.contains("reported to the reviewer"), "{fails}");
        let reported = write_instructions(
            &plan,
            task,
            &InstructionContext {
                out_of_scope: OutOfScope::Reported,
                ..InstructionContext::default()
            },
        );
        assert!(reported.contains("reported to the reviewer"), "{reported}");
        assert!(!reported.contains("fails the attempt"), "{reported}");
    }
}
