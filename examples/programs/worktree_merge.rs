//! orch-worktree alone: two tasks in their own worktrees from one integration branch, a
//! conflict predicted before it happens (without touching any checkout), and the merges.
//!
//! `cargo run -p orch-examples --bin worktree-merge`

use orch_worktree::{EpicId, Naming, RemoveOptions, RepoConfig, TaskBase, TaskId, WorktreeManager};

fn git(dir: &std::path::Path, args: &[&str]) -> Result<(), Box<dyn std::error::Error>> {
    let ok = std::process::Command::new("git")
        .current_dir(dir)
        .args([
            "-c",
            "user.name=example",
            "-c",
            "user.email=example@example.invalid",
        ])
        .args(args)
        .status()?
        .success();
    if ok {
        Ok(())
    } else {
        Err(format!("git {args:?} failed").into())
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let repo = dir.path();
    git(repo, &["init", "-q", "-b", "main"])?;
    std::fs::write(repo.join("config.toml"), "port = 8080\n")?;
    git(repo, &["add", "-A"])?;
    git(repo, &["commit", "-qm", "initial"])?;

    // Branches named this program's way: agent/<task> from feature/<epic>.
    let manager = WorktreeManager::open(repo, &RepoConfig::default())?
        .with_naming(Naming::new("agent/", "feature/")?);
    let epic = EpicId::new("CFG")?;
    let tip = manager.ensure_epic_branch(&epic)?.tip;
    let base = TaskBase::pinned(epic.clone(), tip);

    // Two tasks change the same line, each in its own worktree.
    let (port, tls) = (TaskId::new("CFG-1")?, TaskId::new("CFG-2")?);
    for (task, text) in [
        (&port, "port = 9090\n"),
        (&tls, "port = 8443\ntls = true\n"),
    ] {
        let wt = manager.create(task, &base)?;
        println!("{task}: {} on {}", wt.path.display(), wt.branch);
        std::fs::write(wt.path.join("config.toml"), text)?;
        manager.commit_pending(task, &format!("{task}: change the port"))?;
    }

    // Predicted in memory before anything is merged.
    let report = manager.predict_task_conflicts(&tls)?;
    println!(
        "CFG-2 against feature/CFG before CFG-1 merged: clean = {}",
        report.is_clean()
    );
    manager.merge_task(&port, &epic)?;
    let report = manager.predict_task_conflicts(&tls)?;
    println!(
        "after CFG-1 merged: clean = {} ({} conflicting file(s): {:?})",
        report.is_clean(),
        report.conflicts.len(),
        report
            .conflicts
            .iter()
            .map(|c| c.path.as_str())
            .collect::<Vec<_>>()
    );

    for task in [&port, &tls] {
        manager.remove(task, &RemoveOptions::new().delete_branch(true).force(true))?;
    }
    println!("worktrees left: {}", manager.list()?.len());
    Ok(())
}
