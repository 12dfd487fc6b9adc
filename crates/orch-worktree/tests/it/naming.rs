//! Configurable naming: a manager with its own branch prefixes and worktree directory
//! names creates, lists, merges, prunes and guards by them, and never makes `orch/…` refs.

use orch_core::RepoConfig;
use orch_testutils::TempRepo;
use orch_worktree::{
    MergeKind, Naming, PruneAction, PruneOptions, PruneReason, RemoveOptions, TaskBase,
    WorktreeManager,
};

use crate::support::*;

fn custom() -> Naming {
    Naming::new("agents/", "features/")
        .unwrap()
        .with_dir_prefix("wt-")
        .unwrap()
}

/// Every ref and every config key of the repository that mentions `orch/`.
fn orch_traces(repo: &TempRepo) -> Vec<String> {
    let refs = repo.git(&["for-each-ref", "--format=%(refname)"]);
    let config = repo.git(&["config", "--local", "--list"]);
    refs.lines()
        .chain(config.lines())
        .filter(|l| l.contains("orch/"))
        .map(str::to_owned)
        .collect()
}

#[test]
fn a_custom_naming_creates_lists_merges_and_prunes_by_its_names() {
    let repo = TempRepo::new();
    let mgr = WorktreeManager::open(repo.path(), &RepoConfig::default())
        .unwrap()
        .with_naming(custom());
    assert_eq!(mgr.naming(), &custom());

    // Create: branches and directories by the naming.
    let e = mgr.ensure_epic_branch(&epic("API")).unwrap();
    assert_eq!(e.branch, "features/API");
    let one = mgr
        .create(&task("T-1"), &TaskBase::EpicTip(epic("API")))
        .unwrap();
    let two = mgr
        .create(&task("T-2"), &TaskBase::EpicTip(epic("API")))
        .unwrap();
    assert_eq!(one.branch, "agents/T-1");
    assert!(
        one.path.ends_with(".worktrees/wt-T-1"),
        "{}",
        one.path.display()
    );
    assert_eq!(one.path, mgr.worktree_path(&task("T-1")));
    assert!(repo.path().join(".git/worktrees/wt-T-1").is_dir());
    assert_healthy(&repo, &one.path, "agents/T-1");
    assert_eq!(
        repo.git(&["config", "branch.agents/T-1.orchepic"]),
        "API",
        "the base and epic are recorded on the task branch"
    );

    // List and get.
    std::fs::write(one.path.join("one.txt"), "one\n").unwrap();
    std::fs::write(two.path.join("two.txt"), "two\n").unwrap();
    mgr.commit_pending(&task("T-1"), "One").unwrap().unwrap();
    mgr.commit_pending(&task("T-2"), "Two").unwrap().unwrap();
    let list = mgr.list().unwrap();
    assert_eq!(
        list.iter()
            .map(|w| (w.task.as_str(), w.branch.as_str()))
            .collect::<Vec<_>>(),
        [("T-1", "agents/T-1"), ("T-2", "agents/T-2")]
    );
    assert_eq!(list[0].compared_to.as_deref(), Some("features/API"));
    assert_eq!(list[0].ahead, Some(1));

    // Conflict prediction and merges resolve task and epic ids by the naming.
    let report = mgr.predict_conflicts("API", "T-1").unwrap();
    assert!(report.is_clean());
    assert_eq!(report.ours, "features/API");
    assert_eq!(report.theirs, "agents/T-1");
    assert!(mgr.predict_task_conflicts(&task("T-2")).unwrap().is_clean());
    let merged = mgr.merge_task(&task("T-1"), &epic("API")).unwrap();
    assert_eq!(merged.kind, MergeKind::FastForward);
    assert_eq!(rev(&repo, "features/API"), rev(&repo, "agents/T-1"));
    let merged = mgr.merge_task(&task("T-2"), &epic("API")).unwrap();
    assert_eq!(merged.kind, MergeKind::MergeCommit);
    assert_eq!(
        (merged.source.as_str(), merged.target.as_str()),
        ("agents/T-2", "features/API")
    );
    assert_eq!(
        mgr.task_tip(&task("T-2")).unwrap(),
        rev(&repo, "agents/T-2")
    );
    mgr.merge_epic(&epic("API")).unwrap();
    assert_eq!(rev(&repo, "main"), rev(&repo, "features/API"));
    assert_eq!(repo.git(&["show", "main:two.txt"]), "two");

    // Remove and prune: a directory of the naming that git does not know goes, one of
    // another layout stays, and so do other namings' worktrees.
    mgr.remove(&task("T-1"), &RemoveOptions::new().delete_branch(true))
        .unwrap();
    assert!(repo.git(&["branch", "--list", "agents/T-1"]).is_empty());
    let root = mgr.worktree_root().to_owned();
    std::fs::create_dir_all(root.join("wt-T-9/src")).unwrap();
    std::fs::create_dir_all(root.join("T-9/src")).unwrap();
    let report = mgr
        .prune(&PruneOptions::new().plan_tasks([task("T-1")]))
        .unwrap();
    let mut seen: Vec<(String, PruneReason, PruneAction)> = report
        .entries
        .iter()
        .map(|e| {
            (
                e.path.file_name().unwrap().to_string_lossy().into_owned(),
                e.reason,
                e.action,
            )
        })
        .collect();
    seen.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        seen,
        [
            (
                "wt-T-2".to_owned(),
                PruneReason::NotInPlan,
                PruneAction::Removed
            ),
            (
                "wt-T-9".to_owned(),
                PruneReason::Unregistered,
                PruneAction::Removed
            ),
        ]
    );
    assert!(
        root.join("T-9/src").is_dir(),
        "another layout's directory stays"
    );
    assert!(mgr.list().unwrap().is_empty());
    assert!(
        !repo.git(&["branch", "--list", "agents/T-2"]).is_empty(),
        "prune keeps task branches"
    );

    assert_eq!(orch_traces(&repo), Vec::<String>::new());
}

#[test]
fn the_default_naming_is_neutral() {
    let repo = TempRepo::new();
    let mgr = WorktreeManager::open(repo.path(), &RepoConfig::default()).unwrap();
    assert_eq!(mgr.naming(), &Naming::default());
    let wt = mgr
        .create(&task("T-1"), &TaskBase::EpicTip(epic("E")))
        .unwrap();
    assert_eq!(wt.branch, "wt/task/T-1");
    assert!(wt.path.ends_with(".worktrees/T-1"));
    assert_eq!(rev(&repo, "wt/epic/E"), rev(&repo, "main"));
    assert_eq!(orch_traces(&repo), Vec::<String>::new());
}

#[test]
fn managers_of_different_namings_leave_each_other_alone() {
    let repo = TempRepo::new();
    let orch = manager(&repo);
    let other = WorktreeManager::open(repo.path(), &RepoConfig::default())
        .unwrap()
        .with_naming(custom());
    let theirs = create_pinned(&orch, &repo, "T-1");
    other.create(&task("T-1"), &TaskBase::BaseBranch).unwrap();

    assert_eq!(orch.list().unwrap()[0].branch, "orch/task/T-1");
    assert_eq!(other.list().unwrap()[0].branch, "agents/T-1");
    assert_eq!(orch.list().unwrap().len(), 1);
    assert_eq!(other.list().unwrap().len(), 1);

    // Pruning with an empty plan removes only the manager's own worktree.
    let report = other.prune(&PruneOptions::new().plan_tasks([])).unwrap();
    assert_eq!(report.removed(), 1);
    assert!(theirs.path.join(".git").exists());
    assert_eq!(orch.list().unwrap().len(), 1);
}

#[test]
fn the_guard_follows_the_naming() {
    let repo = TempRepo::new();
    let mgr = WorktreeManager::open(repo.path(), &RepoConfig::default())
        .unwrap()
        .with_naming(custom());
    let wt = mgr.create(&task("T-1"), &TaskBase::BaseBranch).unwrap();
    let quarantine = repo.temp_dir().join("quarantine");
    let guard = mgr.repo_guard(Vec::new(), quarantine, false).unwrap();

    // The manager's task branch moving is the owner's business…
    std::fs::write(wt.path.join("a.txt"), "a\n").unwrap();
    mgr.commit_pending(&task("T-1"), "A").unwrap().unwrap();
    assert_eq!(guard.check(), Vec::new());

    // …a branch under orch's prefix is not this manager's: it is a violation, deleted.
    let head = rev(&repo, "main");
    repo.git(&["branch", "orch/task/T-1", &head]);
    let violations = guard.check();
    assert_eq!(violations.len(), 1, "{violations:?}");
    assert!(
        violations[0]
            .what
            .contains("refs/heads/orch/task/T-1 was created"),
        "{violations:?}"
    );
    assert!(repo.git(&["branch", "--list", "orch/task/T-1"]).is_empty());
}
