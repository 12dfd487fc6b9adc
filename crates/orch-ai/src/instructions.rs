//! The instruction file an agent reads: everything it needs to do one task well and nothing
//! it has to guess, including how orch will check the result.

use std::fmt::Write as _;

use orch_core::{Plan, Task, TaskId};

use crate::prd::{Prd, SectionRole};
use crate::repo_map::RepoMap;
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
    /// The target repository's layout and tools, for the map and the conventions.
    pub repo: Option<&'a RepoMap>,
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

/// The markdown instructions for `task`: the task-specific part first (what to build, the
/// PRD around it, what it builds on and what builds on it, where in the repository, the
/// project's conventions, concrete acceptance criteria), then how orch verifies it and the
/// few rules that always hold.
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
    if let Some(feedback) = cx.feedback.as_deref().filter(|f| !f.trim().is_empty()) {
        let _ = writeln!(
            out,
            "## Feedback from the previous attempt\n\n{}\n",
            feedback.trim()
        );
    }
    let _ = writeln!(
        out,
        "## Your task\n\n{}\n",
        if task.description.is_empty() {
            &task.title
        } else {
            &task.description
        }
    );
    if let Some(epic) = epic {
        let _ = write!(out, "Part of **{}**", epic.name);
        // A goal the planner made up from the epic's items says nothing new, and a section
        // introduction is quoted with the PRD below.
        let generated = epic.goal.starts_with(&format!("{}: ", epic.name));
        let quoted_below = cx
            .prd
            .is_some_and(|p| p.sections.iter().any(|s| s.intro == epic.goal));
        if !epic.goal.is_empty() && !generated && !quoted_below {
            let _ = write!(out, ": {}", epic.goal.trim_end_matches('.'));
        }
        let _ = writeln!(out, ".\n");
    }
    if let Some(prd) = cx.prd {
        prd_context(&mut out, prd, task);
    }
    builds_on(&mut out, plan, task, cx);
    built_on_by(&mut out, plan, task);
    where_to_work(&mut out, task, cx);
    let _ = writeln!(out, "## Acceptance criteria\n");
    for line in &task.acceptance {
        let _ = writeln!(out, "- [ ] {line}");
    }
    out.push('\n');
    verification(&mut out, task, cx);
    let _ = writeln!(out, "## Rules\n");
    for rule in [
        "Do this task only; note anything else you notice in your final message.",
        "Work only in this directory; its `.git` is a repository of your own (commit, branch, reset as you like). Everything outside it is read-only or hidden.",
        "Commit your work with a clear message when you are done; uncommitted changes are committed for you.",
        "Never commit secrets, keys or tokens.",
        "If the PRD is ambiguous on something this task needs, or you are blocked, say so plainly in your final message (start it with `BLOCKED:`): orch escalates it to a person with your question instead of guessing.",
    ] {
        let _ = writeln!(out, "- {rule}");
    }
    out
}

/// The PRD around the requirement: its section, the requirement itself, the rules and
/// goals that touch it, what is out of scope, and the open questions near it.
fn prd_context(out: &mut String, prd: &Prd, task: &Task) {
    let mine = tokens(&format!("{} {}", task.title, task.description));
    let touches = |text: &str| tokens(text).intersection(&mine).count() >= 2;
    let own = prd.sections.iter().find_map(|s| {
        s.items
            .iter()
            .find(|r| r.text == task.description)
            .map(|r| (s, r))
    });
    let _ = writeln!(out, "## From the PRD\n");
    match own {
        Some((section, req)) => {
            let parent = section
                .parent
                .as_deref()
                .map(|p| format!("{p} › "))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "Section **{parent}{}** (line {} of the PRD{}):\n",
                section.heading,
                req.line,
                req.label
                    .as_deref()
                    .map(|l| format!(", requirement {l}"))
                    .unwrap_or_default()
            );
            if !section.intro.is_empty() {
                let _ = writeln!(out, "{}\n", section.intro);
            }
            let _ = writeln!(out, "> {}\n", req.text);
            let siblings: Vec<&str> = section.texts().filter(|t| *t != req.text).take(6).collect();
            if !siblings.is_empty() {
                let _ = writeln!(
                    out,
                    "Other requirements of this section (other tasks do them):\n"
                );
                for s in siblings {
                    let _ = writeln!(out, "- {}", crate::text::title_of(s));
                }
                out.push('\n');
            }
        }
        None => {
            if let Some(excerpt) = prd_excerpt(prd, task) {
                let _ = writeln!(out, "{excerpt}\n");
            }
        }
    }
    let constraints: Vec<&str> = prd
        .items_with_role(SectionRole::Constraints)
        .into_iter()
        .collect();
    if !constraints.is_empty() {
        let _ = writeln!(out, "Rules the PRD sets for all work:\n");
        for c in constraints.iter().take(8) {
            let _ = writeln!(out, "- {c}");
        }
        out.push('\n');
    }
    let goals: Vec<&str> = prd
        .items_with_role(SectionRole::Goals)
        .into_iter()
        .filter(|g| touches(g))
        .collect();
    if !goals.is_empty() {
        let _ = writeln!(out, "Goals this serves:\n");
        for g in goals.iter().take(5) {
            let _ = writeln!(out, "- {g}");
        }
        out.push('\n');
    }
    let nfr: Vec<(&str, &str)> = prd
        .work_sections()
        .filter(|s| crate::roles::is_nfr_heading(&s.heading))
        .flat_map(|s| s.texts().map(move |t| (s.heading.as_str(), t)))
        .filter(|(_, t)| *t != task.description && touches(t))
        .collect();
    if !nfr.is_empty() {
        let _ = writeln!(out, "Non-functional requirements that constrain it:\n");
        for (_, t) in nfr.iter().take(5) {
            let _ = writeln!(out, "- {t}");
        }
        out.push('\n');
    }
    let non_goals = prd.items_with_role(SectionRole::NonGoals);
    if !non_goals.is_empty() {
        let _ = writeln!(out, "Out of scope for the whole product (do not build):\n");
        for n in non_goals.iter().take(8) {
            let _ = writeln!(out, "- {n}");
        }
        out.push('\n');
    }
    let questions: Vec<&str> = prd
        .items_with_role(SectionRole::OpenQuestions)
        .into_iter()
        .filter(|q| touches(q))
        .collect();
    if !questions.is_empty() {
        let _ = writeln!(
            out,
            "Open questions in the PRD near this task (if your work depends on the answer, ask instead of choosing):\n"
        );
        for q in questions.iter().take(5) {
            let _ = writeln!(out, "- {q}");
        }
        out.push('\n');
    }
}

/// What each dependency delivered and why this task needs it.
fn builds_on(out: &mut String, plan: &Plan, task: &Task, cx: &InstructionContext<'_>) {
    if task.depends_on.is_empty() {
        return;
    }
    let _ = writeln!(out, "## What this builds on (done before you start)\n");
    for dep in &task.depends_on {
        let planned = plan.task(dep);
        let title = planned.map_or("", |t| t.title.as_str());
        let _ = write!(out, "- **{dep}** {title}");
        match cx.delivered.iter().find(|d| &d.task == dep) {
            Some(d) => {
                let _ = write!(out, ": {}", d.summary);
            }
            None => {
                if let Some(files) = planned.map(|t| &t.files).filter(|f| !f.is_empty()) {
                    let _ = write!(out, " (planned in `{}`)", files.join("`, `"));
                }
            }
        }
        out.push('\n');
        // What it was asked to build is what this task may use.
        if let Some(t) = planned.filter(|t| t.description.len() > t.title.len() + 2) {
            let text: String = t.description.chars().take(400).collect();
            let _ = writeln!(out, "  - It was asked to build: {}", text.trim());
        }
    }
    let _ = writeln!(
        out,
        "\nUse what these delivered; do not re-implement or change their behaviour. If something you need from them is missing, say so.\n"
    );
}

/// The tasks that will build on this one: the interface they expect must hold.
fn built_on_by(out: &mut String, plan: &Plan, task: &Task) {
    let later: Vec<&Task> = plan
        .tasks
        .iter()
        .filter(|t| t.depends_on.contains(&task.id))
        .collect();
    if later.is_empty() {
        return;
    }
    let _ = writeln!(out, "## What will build on this\n");
    for t in later.iter().take(8) {
        let _ = writeln!(out, "- **{}** {}", t.id, t.title);
    }
    if later.len() > 8 {
        let _ = writeln!(out, "- and {} more", later.len() - 8);
    }
    let _ = writeln!(
        out,
        "\nKeep the names and behaviour they will rely on clear and documented.\n"
    );
}

/// The files in scope, what already exists there, and the project's conventions.
fn where_to_work(out: &mut String, task: &Task, cx: &InstructionContext<'_>) {
    let _ = writeln!(out, "## Where to work\n");
    if task.files.is_empty() {
        let _ = writeln!(
            out,
            "No file scope was planned: keep changes to what this task needs.\n"
        );
    } else {
        let _ = writeln!(out, "Files in scope:\n");
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
    let Some(repo) = cx.repo else {
        return;
    };
    let existing: Vec<&str> = repo
        .modules
        .iter()
        .filter(|m| {
            task.files
                .iter()
                .any(|f| orch_core::scopes_overlap(f, &m.path))
        })
        .map(|m| m.path.as_str())
        .take(12)
        .collect();
    if !existing.is_empty() {
        let _ = writeln!(
            out,
            "Already there (read before changing): `{}`\n",
            existing.join("`, `")
        );
    }
    let _ = writeln!(out, "The repository: {}\n", repo.summary());
    let c = &repo.conventions;
    let mut lines = Vec::new();
    if let Some(t) = &c.test_framework {
        lines.push(format!(
            "tests with `{t}`{}",
            if c.tests_next_to_code {
                ", next to the code they test"
            } else {
                repo.test_root
                    .as_deref()
                    .map_or("", |_| ", in the test directory")
            }
        ));
    }
    if !c.linters.is_empty() {
        lines.push(format!("lint with `{}`", c.linters.join("`, `")));
    }
    if !c.type_checkers.is_empty() {
        lines.push(format!(
            "type-check with `{}`",
            c.type_checkers.join("`, `")
        ));
    }
    if !c.formatters.is_empty() {
        lines.push(format!("format with `{}`", c.formatters.join("`, `")));
    }
    if !lines.is_empty() {
        let _ = writeln!(
            out,
            "Conventions of this project: {}. Follow the style of the code around you.\n",
            lines.join("; ")
        );
    }
}

/// How orch judges the result, briefly.
fn verification(out: &mut String, task: &Task, cx: &InstructionContext<'_>) {
    let _ = writeln!(out, "## How your work is verified\n");
    let _ = writeln!(
        out,
        "orch commits what you leave in this directory (ignored files and build output never count) and judges that commit, exported clean:\n"
    );
    let _ = writeln!(out, "- something relevant changed;");
    let _ = writeln!(
        out,
        "- the tests that existed before you run as they were, beside yours; deleting, emptying or skipping tests, assertions that cannot fail, new suppressions and relaxed lint, type or test settings fail the task{};",
        if task.allow.is_empty() {
            String::new()
        } else {
            format!(" (this task may: {})", task.allow.join(", "))
        }
    );
    let _ = writeln!(
        out,
        "- nothing outside this directory was touched (the main repository's branches, hooks and git config, and orch's own files, are off limits);"
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
    out.push('\n');
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
                    format!(
                        "Section **{}**:\n\n{}\n\n> {item}",
                        section.heading, section.intro
                    ),
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
                review: None,
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
