//! What must hold before any task starts, checked once: otherwise every task would burn its
//! attempts on the same problem and be escalated one by one. Each check fails with what is
//! wrong and how to fix it.

use std::path::Path;

use orch_session::{Agent, AgentRequest};
use orch_worktree::{WorktreeError, WorktreeManager};

use crate::EngineError;

fn fail(problem: impl Into<String>, fix: impl Into<String>) -> EngineError {
    EngineError::Preflight {
        problem: problem.into(),
        fix: fix.into(),
    }
}

/// The worktree manager for the run, with the base branch pinned: the branch configured in
/// `[repo] base_branch`, else the one checked out now. Epics merge into it even if someone
/// checks out another branch during the run.
pub(crate) fn open_worktrees(
    root: &Path,
    config: &orch_core::RepoConfig,
) -> Result<WorktreeManager, EngineError> {
    let manager = crate::open_worktree_manager(root, config).map_err(|e| match e {
        WorktreeError::NotARepository { path, .. } => fail(
            format!("{} is not inside a git repository", path.display()),
            "run orch in a git repository (`git init`, then commit something)",
        ),
        WorktreeError::InvalidRoot { root, reason } => fail(
            format!("[repo] worktree_root {} cannot be used: {reason}", root.display()),
            "set [repo] worktree_root to a directory outside the repository's .git, e.g. \".worktrees\"",
        ),
        WorktreeError::BareRepository { path } => fail(
            format!("{} is a bare repository", path.display()),
            "run orch in a repository with a working tree",
        ),
        other => EngineError::Worktree(other),
    })?;
    let base = manager.base_branch().map_err(|e| match e {
        WorktreeError::DetachedHead { head } => fail(
            format!("HEAD is detached (at {}) and no base branch is configured", &head[..head.len().min(10)]),
            "check out the branch the work should go into (`git switch main`), or set [repo] base_branch",
        ),
        other => EngineError::Worktree(other),
    })?;
    if let Err(e) = manager.branch_tip(&base) {
        return Err(match e {
            WorktreeError::NoCommits { .. } => fail(
                format!("the repository has no commits yet (branch `{base}` is unborn)"),
                "make a first commit (`git commit --allow-empty -m init`)",
            ),
            WorktreeError::BranchNotFound { .. } => fail(
                format!("the base branch `{base}` does not exist"),
                "create it, or set [repo] base_branch to an existing branch",
            ),
            other => EngineError::Worktree(other),
        });
    }
    let mut pinned = config.clone();
    pinned.base_branch = Some(base);
    Ok(crate::open_worktree_manager(root, &pinned)?)
}

/// git and the agent's program are there.
pub(crate) fn check_programs(agent: &dyn Agent, root: &Path) -> Result<(), EngineError> {
    if orch_quality::find_program("git").is_none() {
        return Err(fail(
            "git is not on PATH",
            "install git (`apt-get install git`); agents and orch both need it",
        ));
    }
    // Adapters check that the prompt file exists: a throwaway one asks for the command.
    let prompt = std::env::temp_dir().join(format!("orch-preflight-{}.md", std::process::id()));
    let _ = std::fs::write(&prompt, "preflight");
    let probe = AgentRequest::new(
        orch_core::TaskId::new("TASK-PREFLIGHT-001").expect("a valid id"),
        &prompt,
        root,
    );
    let command = agent.command(&probe);
    let _ = std::fs::remove_file(&prompt);
    let Ok(command) = command else {
        // The adapter refuses this request for its own reasons; the real one may be fine.
        return Ok(());
    };
    let Some(program) = command.argv.first() else {
        return Err(fail(
            "the agent command is empty",
            "set [run] agent, or [run] agent_command for the custom agent",
        ));
    };
    if orch_quality::find_program(program).is_none() {
        let hint = match agent.name() {
            "claude" => {
                "install Claude Code (`npm install -g @anthropic-ai/claude-code`)".to_owned()
            }
            "codex" => "install the Codex CLI (`npm install -g @openai/codex`)".to_owned(),
            "gemini" => "install the Gemini CLI (`npm install -g @google/gemini-cli`)".to_owned(),
            "aider" => "install aider (`python3 -m pip install aider-chat`)".to_owned(),
            _ => "fix [run] agent_command".to_owned(),
        };
        return Err(fail(
            format!(
                "the agent program `{program}` ({} agent) is not installed or not on PATH",
                agent.name()
            ),
            format!("{hint}, or choose another agent with --agent / [run] agent"),
        ));
    }
    Ok(())
}
