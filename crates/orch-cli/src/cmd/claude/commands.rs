//! orch's slash commands: `/orch-plan`, `/orch-status`, … in a project (flat files
//! `.claude/commands/orch-<name>.md`: Claude Code's documentation says a subfolder only
//! labels a command, so `orch/plan.md` would be a bare `/plan`, colliding with built-in
//! commands), `/orch:plan`, … in the plugin (namespaced by its name). Each has YAML frontmatter (`description`, `argument-hint`,
//! `allowed-tools`) and a body that tells Claude which tools of the orch MCP server to call
//! with `$ARGUMENTS`. `allowed-tools` pre-approves only what the user asked for by typing
//! the command; a question orch asks a human is never answered without the user's choice,
//! and a review is never approved or rejected on Claude's own.

/// One slash command: its file name (without `.md`) and text.
pub struct SlashCommand {
    pub name: &'static str,
    pub description: &'static str,
    pub argument_hint: &'static str,
    /// Tools of the orch server (bare names) or full permission rules (`Bash(…)`).
    pub allowed: &'static [&'static str],
    pub body: &'static str,
}

impl SlashCommand {
    /// The file's text: frontmatter values as double-quoted YAML scalars (JSON strings are
    /// valid ones), then the body. `tools`: how Claude Code names the orch server's tools
    /// (`mcp__orch__` in a project, `mcp__plugin_orch_orch__` in the plugin).
    /// `invoke`: how the other commands are typed (`/orch-` in a project, `/orch:` in the
    /// plugin), for the body's references to them.
    pub fn text(&self, tools: &str, invoke: &str) -> String {
        let quote = |s: &str| serde_json::to_string(s).expect("a string serialises");
        let allowed: Vec<String> = self
            .allowed
            .iter()
            .map(|t| {
                if t.contains('(') {
                    (*t).to_owned()
                } else {
                    format!("{tools}{t}")
                }
            })
            .collect();
        format!(
            "---\ndescription: {}\nargument-hint: {}\nallowed-tools: {}\n---\n\n{}",
            quote(self.description),
            quote(self.argument_hint),
            quote(&allowed.join(", ")),
            self.body.replace("/orch:", invoke)
        )
    }
}

pub const COMMANDS: [SlashCommand; 6] = [
    SlashCommand {
        name: "plan",
        description: "Plan a PRD into epics and tasks with dependencies (orch)",
        argument_hint: "<PRD.md> [--strategy auto|layer|phase|function]",
        allowed: &["plan_prd", "plan_show", "graph"],
        body: "Plan this PRD with orch: $ARGUMENTS

1. Call the `plan_prd` tool of the `orch` MCP server with the PRD and options given above.
   If no PRD was given, ask the user which one to plan; do not guess.
2. Show the result with `plan_show` and `graph`: the epics, each task with its dependencies
   and the reason for each, the waves and the critical path.
3. List what orch reported as unclear (open questions, requirements without acceptance
   criteria) and ask the user how to resolve it.

Do not start a run; that is `/orch:run`.
",
    },
    SlashCommand {
        name: "status",
        description: "Show orch's progress: wave, task counts, running and failed tasks, open questions",
        argument_hint: "[task-id]",
        allowed: &["status", "task_show", "msg_list", "worktree_list"],
        body: "Show the state of the orch plan. $ARGUMENTS

- If a task id is given above, call `task_show` for it and summarise its status, attempts,
  last failure with its findings, and its worktree.
- Otherwise call `status` and summarise the current wave, the counts per status, the tasks
  running now, the tasks that failed or were escalated and why; then call `msg_list` for
  questions waiting for a human.

Report what orch says, briefly; do not speculate and do not change anything.
",
    },
    SlashCommand {
        name: "run",
        description: "Start an orch run: each ready task in its own worktree with an agent, verified by the quality gate",
        argument_hint: "[--parallel N] [--agent NAME]",
        allowed: &["run_start", "status"],
        body:
            "Start running the orch plan: call `run_start` of the `orch` MCP server with the options
given here, if any: $ARGUMENTS

Then call `status` once and report which tasks started. Do not stop the run (`run_stop`)
unless the user asks. Questions orch raises while it runs are answered with `/orch:answer`.
",
    },
    SlashCommand {
        name: "answer",
        description: "Answer a question orch asks a human: show its options, then apply the option the user chooses",
        argument_hint: "[PM-id]",
        allowed: &["msg_list", "msg_show"],
        body: "Help the user answer a question from orch. $ARGUMENTS

1. If a message id is given above, call `msg_show` for it. Otherwise call `msg_list`; when
   several questions wait, ask the user which one to answer.
2. Show the question, its context and every option with its letter, pros and cons, as orch
   gives them.
3. Ask the user which option to choose, and whether to add a note. Never choose an option
   yourself, and do not recommend one unless the user asks.
4. Only after the user has chosen, call `msg_answer` with the message id, the chosen letter
   and the note, and report what orch replied.
",
    },
    SlashCommand {
        name: "review",
        description: "Review finished orch tasks waiting for approval, then approve or reject them as the user decides",
        argument_hint: "[task-id]",
        allowed: &["review_list", "review_show"],
        body: "Review work orch finished and holds for a human. $ARGUMENTS

1. If a task id is given above, call `review_show` for it; otherwise call `review_list` and
   ask the user which task to review.
2. Summarise the change (files, what it does), its quality report and any findings.
3. Ask the user to approve or reject. Never decide yourself: only after the user's answer,
   call `review_approve`, or `review_reject` with the user's reason, and report the result.
",
    },
    SlashCommand {
        name: "verify",
        description: "Run orch's quality gate and integrity checks on the current changes, and fix what they find",
        argument_hint: "[--base REF] [--only DIMS]",
        allowed: &["Bash(orch verify *)"],
        body: "Run `orch verify $ARGUMENTS` with the Bash tool, in the repository.

- Exit code 0: the changes pass; report its one-line summary.
- Exit code 2: the changes fail. The findings are on stderr (dimension, file:line,
  message). Fix each one in the code, then run `orch verify` again until it passes.
  Never weaken, skip or delete tests, add suppressions (`noqa`, `type: ignore`,
  `#[allow]`, `eslint-disable`, …) or change lint, type or test settings to get there:
  orch reports those as findings too.
- Any other exit code: orch could not check (not a git repository, an unknown base);
  report its error.
",
    },
];
