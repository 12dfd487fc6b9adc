//! Creating epic branches and task worktrees.

use std::os::unix::fs::PermissionsExt;

use orch_core::RepoConfig;
use orch_testutils::TempRepo;
use orch_worktree::{TaskBase, WorktreeError, WorktreeManager};

use crate::support::*;

#[test]
fn creates_branch_worktree_and_records_base() {
    let repo = TempRepo::new();
    repo.write("src/lib.rs", "pub fn f() {}\n");
    let base = repo.commit_all("lib");
    let mgr = manager(&repo);
    let wt = mgr
        .create(
            &task("TASK-A-001"),
            &TaskBase::pinned(epic("A"), base.clone()),
        )
        .unwrap();

    assert_eq!(wt.path, mgr.worktree_root().join("TASK-A-001"));
    assert_eq!(
        wt.path,
        repo.path()
            .canonicalize()
            .unwrap()
            .join(".worktrees/TASK-A-001")
    );
    assert_eq!(wt.branch, "orch/task/TASK-A-001");
    assert_eq!(wt.base_sha, base);
    assert_eq!(wt.head_sha, base);
    assert!(!wt.reused && !wt.branch_reused);
    assert_eq!(wt.files_checked_out, 2);
    assert_eq!(
        std::fs::read_to_string(wt.path.join("src/lib.rs")).unwrap(),
        "pub fn f() {}\n"
    );
    assert_healthy(&repo, &wt.path, "orch/task/TASK-A-001");

    // The base is recorded durably, in git configuration.
    assert_eq!(
        repo.git(&["config", "branch.orch/task/TASK-A-001.orchbase"]),
        base
    );
    assert_eq!(
        repo.git(&["config", "branch.orch/task/TASK-A-001.orchepic"]),
        "A"
    );
    // The root is excluded in .git/info/exclude, not in .gitignore.
    let exclude = std::fs::read_to_string(repo.path().join(".git/info/exclude")).unwrap();
    assert!(exclude.lines().any(|l| l == "/.worktrees/"), "{exclude}");
    assert!(!repo.path().join(".gitignore").exists());
    assert_eq!(repo.git(&["status", "--porcelain"]), "");
    // The main checkout did not move.
    assert_eq!(repo.git(&["rev-parse", "--abbrev-ref", "HEAD"]), "main");

    // Excluding twice adds one line only.
    mgr.create(&task("TASK-A-002"), &TaskBase::BaseBranch)
        .unwrap();
    let exclude = std::fs::read_to_string(repo.path().join(".git/info/exclude")).unwrap();
    assert_eq!(exclude.matches("/.worktrees/").count(), 1);
}

#[test]
fn epic_branch_from_base_branch() {
    let repo = TempRepo::new();
    let main = rev(&repo, "main");
    let mgr = manager(&repo);
    let e = mgr.ensure_epic_branch(&epic("API")).unwrap();
    assert!(e.created);
    assert_eq!(e.branch, "orch/epic/API");
    assert_eq!(e.tip, main);
    assert_eq!(e.base_branch.as_deref(), Some("main"));
    assert_eq!(rev(&repo, "orch/epic/API"), main);
    // The second call finds it, even after main moved on.
    repo.write("x", "x");
    repo.commit_all("x");
    let again = mgr.ensure_epic_branch(&epic("API")).unwrap();
    assert!(!again.created);
    assert_eq!(again.tip, main);

    // A task from the epic tip starts there.
    let wt = mgr
        .create(&task("TASK-API-001"), &TaskBase::EpicTip(epic("API")))
        .unwrap();
    assert_eq!(wt.base_sha, main);
    assert_eq!(wt.epic, Some(epic("API")));
    assert!(!wt.path.join("x").exists());
}

#[test]
fn parallel_writer_matches_libgit2_checkout() {
    let repo = TempRepo::new();
    repo.write("a/b/c/deep.txt", "deep\n");
    repo.write("dir with space/ファイル.txt", "こんにちは\n");
    repo.write("empty", "");
    repo.write("run.sh", "#!/bin/sh\necho hi\n");
    repo.write(".gitignore", "target/\n");
    repo.write(".github/workflows/ci.yml", "on: push\n");
    for i in 0..300 {
        repo.write(&format!("many/f{i}.txt"), &format!("{i}\n"));
    }
    std::fs::set_permissions(
        repo.path().join("run.sh"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    std::os::unix::fs::symlink("a/b/c/deep.txt", repo.path().join("link")).unwrap();
    repo.commit_all("tree");

    let fast = manager(&repo);
    let slow = manager(&repo).with_parallel_checkout(false);
    let a = fast.create(&task("FAST"), &TaskBase::BaseBranch).unwrap();
    let b = slow.create(&task("SLOW"), &TaskBase::BaseBranch).unwrap();
    assert_eq!(a.files_checked_out, 308);
    assert_eq!(b.files_checked_out, 308);
    assert!(a.parallel_checkout && !b.parallel_checkout);
    assert_healthy(&repo, &a.path, "orch/task/FAST");
    assert_healthy(&repo, &b.path, "orch/task/SLOW");
    assert_eq!(
        git_in(&repo, &a.path, &["ls-files", "-s"]),
        git_in(&repo, &b.path, &["ls-files", "-s"])
    );
    for wt in [&a.path, &b.path] {
        let mode = std::fs::metadata(wt.join("run.sh"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o111, 0o111, "executable bit");
        assert_eq!(
            std::fs::read_link(wt.join("link")).unwrap(),
            std::path::Path::new("a/b/c/deep.txt")
        );
        assert_eq!(
            std::fs::read_to_string(wt.join("dir with space/ファイル.txt")).unwrap(),
            "こんにちは\n"
        );
        // The index stat data is right: a modification is seen, a touch is not a change.
        std::fs::write(wt.join("many/f1.txt"), "changed\n").unwrap();
        assert_eq!(
            git_in(&repo, wt, &["status", "--porcelain"]),
            "M many/f1.txt"
        );
    }
}

#[test]
fn attributes_use_libgit2_checkout_with_filters() {
    let repo = TempRepo::new();
    repo.write(".gitattributes", "*.txt eol=crlf\n");
    repo.write("a.txt", "one\ntwo\n");
    repo.commit_all("attrs");
    let mgr = manager(&repo);
    let wt = mgr.create(&task("T-1"), &TaskBase::BaseBranch).unwrap();
    assert!(
        !wt.parallel_checkout,
        "a filter applies: libgit2 checks out"
    );
    assert_eq!(
        std::fs::read(wt.path.join("a.txt")).unwrap(),
        b"one\r\ntwo\r\n"
    );
    assert_healthy(&repo, &wt.path, "orch/task/T-1");
}

#[test]
fn create_again_returns_the_existing_worktree() {
    let repo = TempRepo::new();
    let mgr = manager(&repo);
    let first = create_pinned(&mgr, &repo, "T-1");
    std::fs::write(first.path.join("work.txt"), "in progress").unwrap();
    let again = create_pinned(&mgr, &repo, "T-1");
    assert!(again.reused);
    assert_eq!(again.base_sha, first.base_sha);
    assert!(again.path.join("work.txt").exists(), "work is kept");

    // Unpinned: reused whatever the epic tip is now.
    repo.write("new", "n");
    let moved = repo.commit_all("moved");
    let unpinned = mgr
        .create(&task("T-1"), &TaskBase::EpicTip(epic("E")))
        .unwrap();
    assert!(unpinned.reused);
    // Pinned to another base: refused, nothing changed.
    let err = mgr
        .create(&task("T-1"), &TaskBase::pinned(epic("E"), moved.clone()))
        .unwrap_err();
    assert!(
        matches!(&err, WorktreeError::BaseMismatch { recorded, requested, .. }
            if *recorded == first.base_sha && *requested == moved),
        "{err}"
    );
    assert!(first.path.join("work.txt").exists());
}

#[test]
fn existing_branch_is_reused_only_at_the_base() {
    let repo = TempRepo::new();
    let base = rev(&repo, "main");
    repo.git(&["branch", "orch/task/T-1", &base]);
    let mgr = manager(&repo);
    let wt = mgr
        .create(&task("T-1"), &TaskBase::pinned(epic("E"), base.clone()))
        .unwrap();
    assert!(wt.branch_reused && !wt.reused);
    assert_healthy(&repo, &wt.path, "orch/task/T-1");

    // A branch with other commits is refused and nothing is created.
    repo.write("other", "o");
    let other = repo.commit_all("other");
    repo.git(&["branch", "orch/task/T-2", &other]);
    let err = mgr
        .create(&task("T-2"), &TaskBase::pinned(epic("E"), base.clone()))
        .unwrap_err();
    assert!(
        matches!(&err, WorktreeError::BranchDiverged { tip, base: b, recorded: None, .. }
            if *tip == other && *b == base),
        "{err}"
    );
    assert!(!mgr.worktree_path(&task("T-2")).exists());
    assert_eq!(rev(&repo, "orch/task/T-2"), other, "branch untouched");
    assert!(!repo.git(&["worktree", "list"]).contains("T-2"));
}

#[test]
fn branch_checked_out_elsewhere_is_refused() {
    let repo = TempRepo::new();
    let base = rev(&repo, "main");
    let elsewhere = repo.temp_dir().join("elsewhere");
    repo.git(&[
        "worktree",
        "add",
        "-q",
        "-b",
        "orch/task/T-1",
        elsewhere.to_str().unwrap(),
        &base,
    ]);
    let mgr = manager(&repo);
    let err = mgr
        .create(&task("T-1"), &TaskBase::pinned(epic("E"), base))
        .unwrap_err();
    assert!(
        matches!(&err, WorktreeError::BranchCheckedOut { branch, path }
            if branch == "orch/task/T-1" && *path == elsewhere.canonicalize().unwrap()),
        "{err}"
    );
    // The branch checked out in the main worktree, too.
    repo.git(&["branch", "orch/task/T-2"]);
    repo.git(&["checkout", "-q", "orch/task/T-2"]);
    let err = mgr
        .create(
            &task("T-2"),
            &TaskBase::pinned(epic("E"), rev(&repo, "HEAD")),
        )
        .unwrap_err();
    assert!(
        matches!(err, WorktreeError::BranchCheckedOut { .. }),
        "{err}"
    );
}

#[test]
fn occupied_path_is_refused_but_an_empty_directory_is_used() {
    let repo = TempRepo::new();
    let mgr = manager(&repo);
    let path = mgr.worktree_path(&task("T-1"));
    std::fs::create_dir_all(&path).unwrap();
    std::fs::write(path.join("notes.txt"), "mine").unwrap();
    let err = mgr.create(&task("T-1"), &TaskBase::BaseBranch).unwrap_err();
    assert!(matches!(&err, WorktreeError::PathOccupied { .. }), "{err}");
    assert_eq!(
        std::fs::read_to_string(path.join("notes.txt")).unwrap(),
        "mine"
    );
    assert!(
        repo.git(&["branch", "--list", "orch/task/T-1"]).is_empty(),
        "no branch left behind"
    );

    let empty = mgr.worktree_path(&task("T-2"));
    std::fs::create_dir_all(&empty).unwrap();
    let wt = mgr.create(&task("T-2"), &TaskBase::BaseBranch).unwrap();
    assert_healthy(&repo, &wt.path, "orch/task/T-2");
}

#[test]
fn vanished_directory_is_recreated() {
    let repo = TempRepo::new();
    let mgr = manager(&repo);
    let wt = create_pinned(&mgr, &repo, "T-1");
    std::fs::remove_dir_all(&wt.path).unwrap();
    let again = create_pinned(&mgr, &repo, "T-1");
    assert!(!again.reused && again.branch_reused);
    assert_healthy(&repo, &again.path, "orch/task/T-1");
}

#[test]
fn copies_configured_untracked_files() {
    let repo = TempRepo::new();
    repo.write(".gitignore", ".env\n");
    repo.write("config/app.toml", "tracked = true\n");
    repo.commit_all("config");
    repo.write(".env", "SECRET=1\n");
    repo.write("config/local.toml", "local = true\n");
    repo.write("sub/.env", "SUB=1\n");
    let config = RepoConfig {
        copy_untracked: vec![".env".into(), "config/*.toml".into()],
        ..RepoConfig::default()
    };
    let mgr = manager_with(&repo, config);
    let wt = mgr.create(&task("T-1"), &TaskBase::BaseBranch).unwrap();
    assert_eq!(wt.copied, vec![".env", "config/local.toml"]);
    assert_eq!(
        std::fs::read_to_string(wt.path.join(".env")).unwrap(),
        "SECRET=1\n"
    );
    assert!(!wt.path.join("sub/.env").exists(), "root-anchored pattern");
    // Copied files are not the task's changes and are never committed.
    let info = mgr.get(&task("T-1")).unwrap();
    assert_eq!(info.state, orch_worktree::WorktreeState::Clean);
    assert!(info.changes.is_empty(), "{:?}", info.changes);
    assert_eq!(mgr.commit_pending(&task("T-1"), "nothing").unwrap(), None);

    let any_depth = manager_with(
        &repo,
        RepoConfig {
            copy_untracked: vec!["**/.env".into()],
            ..RepoConfig::default()
        },
    );
    let wt = any_depth
        .create(&task("T-2"), &TaskBase::BaseBranch)
        .unwrap();
    assert_eq!(wt.copied, vec![".env", "sub/.env"]);
}

#[test]
fn root_outside_the_repository_with_spaces_and_non_ascii() {
    let repo = TempRepo::new();
    let root = repo.temp_dir().join("wt root é");
    let config = RepoConfig {
        worktree_root: root.clone(),
        ..RepoConfig::default()
    };
    let mgr = manager_with(&repo, config);
    let wt = mgr.create(&task("T-1"), &TaskBase::BaseBranch).unwrap();
    assert_eq!(wt.path, root.canonicalize().unwrap().join("T-1"));
    assert_healthy(&repo, &wt.path, "orch/task/T-1");
    let exclude =
        std::fs::read_to_string(repo.path().join(".git/info/exclude")).unwrap_or_default();
    assert!(
        !exclude.contains("wt root"),
        "an outside root is not excluded: {exclude}"
    );
}

#[test]
fn open_from_inside_a_worktree_finds_the_main_repository() {
    let repo = TempRepo::new();
    let mgr = manager(&repo);
    let wt = create_pinned(&mgr, &repo, "T-1");
    let inner = WorktreeManager::open(&wt.path, &RepoConfig::default())
        .unwrap()
        .with_naming(orch_naming());
    assert_eq!(inner.repo_root(), repo.path().canonicalize().unwrap());
    assert_eq!(inner.worktree_root(), mgr.worktree_root());
    assert_eq!(inner.list().unwrap().len(), 1);
}

#[test]
fn an_interrupted_creation_is_started_again() {
    let repo = TempRepo::new();
    for i in 0..20 {
        repo.write(&format!("f{i}"), "x\n");
    }
    repo.commit_all("files");
    let mgr = manager(&repo);
    let wt = create_pinned(&mgr, &repo, "T-1");
    // Simulate a crash in the middle of the checkout: marker left, files half written.
    let admin = repo.path().join(".git/worktrees/T-1");
    std::fs::write(admin.join("locked"), "initializing\n").unwrap();
    for i in 0..10 {
        std::fs::remove_file(wt.path.join(format!("f{i}"))).unwrap();
    }
    let again = create_pinned(&mgr, &repo, "T-1");
    assert!(!again.reused, "a partial checkout is not reused");
    assert_healthy(&repo, &again.path, "orch/task/T-1");
    assert!(again.path.join("f0").exists());
    assert!(!admin.join("locked").exists());
}

/// Killed before libgit2 wrote the registration's `gitdir` (found when a run was killed
/// mid-way): an empty `gitdir`, the "initializing" lock and an empty directory. The next
/// creation starts again instead of taking `.git/worktrees` for the worktree.
#[test]
fn a_creation_killed_before_its_registration_was_written_is_started_again() {
    let repo = TempRepo::new();
    let mgr = manager(&repo);
    let wt = create_pinned(&mgr, &repo, "T-1");
    let admin = repo.path().join(".git/worktrees/T-1");
    std::fs::remove_dir_all(&wt.path).unwrap();
    std::fs::create_dir(&wt.path).unwrap();
    for entry in std::fs::read_dir(&admin).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            std::fs::remove_dir_all(&p).unwrap();
        } else {
            std::fs::remove_file(&p).unwrap();
        }
    }
    std::fs::write(admin.join("commondir"), "../..\n").unwrap();
    std::fs::write(admin.join("gitdir"), "").unwrap();
    std::fs::write(admin.join("locked"), "initializing\n").unwrap();
    let again = create_pinned(&mgr, &repo, "T-1");
    assert_healthy(&repo, &again.path, "orch/task/T-1");
    assert!(repo.path().join(".git/worktrees").is_dir());
    assert!(!admin.join("locked").exists());
}

/// Killed right after the registration's lock file was created, before anything was
/// written: an admin directory holding only an empty `locked`, and no worktree directory.
#[test]
fn a_creation_killed_right_after_its_lock_file_is_started_again() {
    let repo = TempRepo::new();
    let mgr = manager(&repo);
    let wt = create_pinned(&mgr, &repo, "T-1");
    let admin = repo.path().join(".git/worktrees/T-1");
    std::fs::remove_dir_all(&wt.path).unwrap();
    std::fs::remove_dir_all(&admin).unwrap();
    std::fs::create_dir_all(&admin).unwrap();
    std::fs::write(admin.join("locked"), "").unwrap();
    let again = create_pinned(&mgr, &repo, "T-1");
    assert_healthy(&repo, &again.path, "orch/task/T-1");
    assert!(!admin.join("locked").exists());
}
