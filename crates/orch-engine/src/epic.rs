//! A finished epic: its branch goes into the base branch (merge), stays for a human
//! (leave), or becomes a pull request (`gh`, when installed).

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use orch_core::{EpicId, Plan};

use crate::options::{EngineOptions, EpicCompletion};
use crate::worker::Shared;

/// Longest a `git push` or `gh pr create` may take.
const PR_TIMEOUT: Duration = Duration::from_secs(120);

pub(crate) struct EpicOutcome {
    pub summary: String,
    pub target: String,
    pub merged_sha: Option<String>,
    /// The merge was refused (a dirty or busy checkout, a conflicting commit): the epic is
    /// not finished; why, and what to do.
    pub refused: Option<String>,
}

pub(crate) async fn finish(
    shared: &Shared,
    options: &EngineOptions,
    epic: &EpicId,
    plan: &Plan,
) -> EpicOutcome {
    let worktrees = Arc::clone(&shared.worktrees);
    let branch = worktrees.naming().epic_branch(epic);
    let target = worktrees
        .base_branch()
        .unwrap_or_else(|_| "the base branch".into());
    let leave = |summary: String| EpicOutcome {
        summary,
        target: target.clone(),
        merged_sha: None,
        refused: None,
    };
    match options.epic_completion {
        EpicCompletion::Leave => leave(format!(
            "{branch} is complete; left for review (on_epic_complete = \"leave\")"
        )),
        EpicCompletion::Merge => {
            let _turn = shared.merge_queue.lock().await;
            let e = epic.clone();
            let merged = tokio::task::spawn_blocking(move || worktrees.merge_epic(&e))
                .await
                .expect("merging does not panic");
            if let Ok(outcome) = &merged {
                shared
                    .guard
                    .accept_refs(&[branch.clone(), outcome.target.clone()]);
            }
            match merged {
                Ok(outcome) => EpicOutcome {
                    summary: format!(
                        "{branch} merged into {} ({})",
                        outcome.target,
                        outcome
                            .new_target_sha
                            .get(..10)
                            .unwrap_or(&outcome.new_target_sha)
                    ),
                    target: outcome.target,
                    merged_sha: Some(outcome.new_target_sha),
                    refused: None,
                },
                Err(e) => EpicOutcome {
                    summary: format!("{branch} is complete but was not merged into {target}: {e}"),
                    target: target.clone(),
                    merged_sha: None,
                    refused: Some(format!(
                        "{e}; orch retries the merge by itself (`orch run` again after a stop)"
                    )),
                },
            }
        }
        EpicCompletion::PullRequest => {
            let name = plan
                .epics
                .iter()
                .find(|x| &x.id == epic)
                .map_or_else(|| epic.to_string(), |x| x.name.clone());
            let root = options.repo_root.clone();
            let (b, t) = (branch.clone(), target.clone());
            let opened =
                tokio::task::spawn_blocking(move || open_pull_request(&root, &b, &t, &name))
                    .await
                    .expect("gh does not panic");
            match opened {
                Ok(url) => leave(format!("{branch}: pull request opened: {url}")),
                Err(problem) => leave(format!("{branch} is complete; no pull request: {problem}")),
            }
        }
    }
}

fn open_pull_request(
    root: &std::path::Path,
    branch: &str,
    base: &str,
    title: &str,
) -> Result<String, String> {
    if orch_quality::find_program("gh").is_none() {
        return Err("`gh` is not installed".into());
    }
    run(root, "git", &["push", "--set-upstream", "origin", branch])?;
    let body = format!(
        "Every task of this epic passed orch's quality gate and was merged into `{branch}`."
    );
    run(
        root,
        "gh",
        &[
            "pr", "create", "--head", branch, "--base", base, "--title", title, "--body", &body,
        ],
    )
    .map(|out| out.trim().to_owned())
}

/// Runs a command with a time limit; its stdout, or its stderr as the error.
fn run(root: &std::path::Path, program: &str, args: &[&str]) -> Result<String, String> {
    let mut child = Command::new(program)
        .args(args)
        .current_dir(root)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    let deadline = std::time::Instant::now() + PR_TIMEOUT;
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if std::time::Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "{program} did not finish within {} s",
                    PR_TIMEOUT.as_secs()
                ));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(100)),
            Err(e) => return Err(e.to_string()),
        }
    }
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "{program} {}: {}",
            args.first().unwrap_or(&""),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}
