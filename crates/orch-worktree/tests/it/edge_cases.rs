//! Edge cases that must get a clear, typed answer and leave the repository intact.

use std::path::PathBuf;

use orch_core::{RepoConfig, TaskId};
use orch_testutils::TempRepo;
use orch_worktree::{RemoveOptions, TaskBase, WorktreeError, WorktreeManager, WorktreeState};

use crate::support::*;

#[test]
fn repository_with_no_commits() {
    let repo = TempRepo::empty();
    let mgr = manager(&repo);
    let err = mgr.create(&task("T-1"), &TaskBase::BaseBranch).unwrap_err();
    assert!(
        matches!(&err, WorktreeError::NoCommits { branch } if branch == "main"),
        "{err}"
    );
    let err = mgr.ensure_epic_branch(&epic("E")).unwrap_err();
    assert!(matches!(&err, WorktreeError::NoCommits { .. }), "{err}");
    assert!(mgr.list().unwrap().is_empty());
    assert!(!mgr.worktree_path(&task("T-1")).exists());
}

#[test]
fn detached_head() {
    let repo = TempRepo::new();
    let head = rev(&repo, "HEAD");
    repo.git(&["checkout", "-q", "--detach"]);
    let mgr = manager(&repo);
    let err = mgr.ensure_epic_branch(&epic("E")).unwrap_err();
    assert!(
        matches!(&err, WorktreeError::DetachedHead { head: h } if *h == head),
        "{err}"
    );
    assert!(err.to_string().contains("repo.base_branch"), "{err}");
    // A pinned base needs no branch.
    let wt = mgr
        .create(&task("T-1"), &TaskBase::pinned(epic("E"), head.clone()))
        .unwrap();
    assert_healthy(&repo, &wt.path, "orch/task/T-1");
    // With a configured base branch, epics work.
    let configured = manager_with(
        &repo,
        RepoConfig {
            base_branch: Some("main".into()),
            ..RepoConfig::default()
        },
    );
    assert_eq!(configured.ensure_epic_branch(&epic("E")).unwrap().tip, head);
}

#[test]
fn bare_repository_and_no_repository() {
    let repo = TempRepo::new();
    let bare = repo.temp_dir().join("bare.git");
    repo.git(&[
        "clone",
        "-q",
        "--bare",
        repo.path().to_str().unwrap(),
        bare.to_str().unwrap(),
    ]);
    let err = WorktreeManager::open(&bare, &RepoConfig::default()).unwrap_err();
    assert!(matches!(err, WorktreeError::BareRepository { .. }), "{err}");

    let plain = tempfile::tempdir().unwrap();
    let err = WorktreeManager::open(plain.path(), &RepoConfig::default()).unwrap_err();
    assert!(matches!(err, WorktreeError::NotARepository { .. }), "{err}");
}

#[test]
fn unusable_roots_and_globs() {
    let repo = TempRepo::new();
    for root in [".", "..", ".git/worktrees-here", "sub/../."] {
        let err = WorktreeManager::open(
            repo.path(),
            &RepoConfig {
                worktree_root: PathBuf::from(root),
                ..RepoConfig::default()
            },
        )
        .unwrap_err();
        assert!(
            matches!(err, WorktreeError::InvalidRoot { .. }),
            "{root}: {err}"
        );
    }
    let err = WorktreeManager::open(
        repo.path(),
        &RepoConfig {
            copy_untracked: vec!["../secrets".into()],
            ..RepoConfig::default()
        },
    )
    .unwrap_err();
    assert!(matches!(err, WorktreeError::InvalidGlob { .. }), "{err}");
}

#[test]
fn task_ids_cannot_escape_the_root() {
    for bad in ["../escape", "a/b", "..", "/abs", "x\0y"] {
        assert!(TaskId::new(bad).is_err(), "{bad:?}");
    }
    // A symbolic link planted in the root does not lead the worktree elsewhere.
    let repo = TempRepo::new();
    let mgr = manager(&repo);
    let outside = repo.temp_dir().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::create_dir_all(mgr.worktree_root()).unwrap();
    std::os::unix::fs::symlink(&outside, mgr.worktree_path(&task("T-1"))).unwrap();
    let err = mgr.create(&task("T-1"), &TaskBase::BaseBranch).unwrap_err();
    assert!(matches!(err, WorktreeError::OutsideRoot { .. }), "{err}");
    assert_eq!(
        std::fs::read_dir(&outside).unwrap().count(),
        0,
        "nothing written outside"
    );
    // A root that is itself a symbolic link is resolved once and used consistently.
    let real = repo.temp_dir().join("real-root");
    std::fs::create_dir_all(&real).unwrap();
    let link = repo.temp_dir().join("link-root");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let via_link = manager_with(
        &repo,
        RepoConfig {
            worktree_root: link,
            ..RepoConfig::default()
        },
    );
    let wt = via_link
        .create(&task("T-2"), &TaskBase::BaseBranch)
        .unwrap();
    assert!(wt.path.starts_with(real.canonicalize().unwrap()));
    assert_eq!(via_link.list().unwrap().len(), 1);
}

#[test]
fn submodules_are_left_uninitialised_and_do_not_break_anything() {
    let repo = TempRepo::new();
    let sub = TempRepo::new();
    sub.write("lib.txt", "sub\n");
    sub.commit_all("sub");
    repo.git(&[
        "-c",
        "protocol.file.allow=always",
        "submodule",
        "add",
        "-q",
        sub.path().to_str().unwrap(),
        "vendor/sub",
    ]);
    repo.commit_all("add submodule");
    let mgr = manager(&repo);
    let wt = mgr.create(&task("T-1"), &TaskBase::BaseBranch).unwrap();
    assert_eq!(wt.submodules, vec!["vendor/sub"]);
    assert!(wt.path.join("vendor/sub").is_dir());
    assert_healthy(&repo, &wt.path, "orch/task/T-1");
    let info = mgr.get(&task("T-1")).unwrap();
    assert_eq!(info.state, WorktreeState::Clean);
    std::fs::write(wt.path.join("top.txt"), "x").unwrap();
    mgr.commit_pending(&task("T-1"), "top").unwrap().unwrap();
    assert_eq!(
        git_in(
            &repo,
            &wt.path,
            &["show", "--name-only", "--format=", "HEAD"]
        ),
        "top.txt"
    );
    // The submodule can be initialised in the worktree, and removal still works.
    git_in(
        &repo,
        &wt.path,
        &[
            "-c",
            "protocol.file.allow=always",
            "submodule",
            "update",
            "-q",
            "--init",
        ],
    );
    assert!(wt.path.join("vendor/sub/lib.txt").exists());
    assert_eq!(mgr.get(&task("T-1")).unwrap().state, WorktreeState::Clean);
    mgr.remove(&task("T-1"), &RemoveOptions::new()).unwrap();
    assert!(!wt.path.exists());
}

#[test]
fn paths_with_spaces_and_non_ascii_characters() {
    let origin = TempRepo::new();
    origin.write("dir with space/ファイル.txt", "一\n二\n");
    origin.write("naïve café.md", "x\n");
    origin.commit_all("unicode");
    // A repository whose own path has spaces and non-ASCII characters.
    let clone = origin.temp_dir().join("my repo ü");
    origin.git(&[
        "clone",
        "-q",
        origin.path().to_str().unwrap(),
        clone.to_str().unwrap(),
    ]);
    let mgr = WorktreeManager::open(
        &clone,
        &RepoConfig {
            worktree_root: PathBuf::from("work trees ñ"),
            ..RepoConfig::default()
        },
    )
    .unwrap()
    .with_naming(orch_naming());
    let t = task("T-1");
    let wt = mgr.create(&t, &TaskBase::BaseBranch).unwrap();
    assert!(wt.path.ends_with("my repo ü/work trees ñ/T-1"));
    assert_healthy(&origin, &wt.path, "orch/task/T-1");
    let exclude = std::fs::read_to_string(clone.join(".git/info/exclude")).unwrap();
    assert!(exclude.contains("/work trees ñ/"), "{exclude}");
    assert_eq!(git_in(&origin, &clone, &["status", "--porcelain"]), "");

    std::fs::write(wt.path.join("dir with space/ファイル.txt"), "一\n三\n四\n").unwrap();
    std::fs::write(wt.path.join("新しい file.txt"), "new\n").unwrap();
    let info = mgr.get(&t).unwrap();
    let changes: Vec<(&str, usize, usize)> = info
        .changes
        .iter()
        .map(|c| (c.path.as_str(), c.insertions, c.deletions))
        .collect();
    assert_eq!(
        changes,
        [
            ("dir with space/ファイル.txt", 2, 1),
            ("新しい file.txt", 1, 0)
        ]
    );
    let commit = mgr.commit_pending(&t, "unicode edits").unwrap().unwrap();
    assert_eq!(commit.files.len(), 2);
    let merged = mgr.merge_branches("T-1", "main").unwrap();
    assert_eq!(merged.kind, orch_worktree::MergeKind::FastForward);
    assert_eq!(
        std::fs::read_to_string(clone.join("新しい file.txt")).unwrap(),
        "new\n",
        "the clean main checkout was updated"
    );
    mgr.remove(&t, &RemoveOptions::new().delete_branch(true))
        .unwrap();
    assert!(mgr.list().unwrap().is_empty());
}
