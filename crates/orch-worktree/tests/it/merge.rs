//! Conflict prediction and merges.

use orch_testutils::TempRepo;
use orch_worktree::{ConflictKind, MergeError, MergeKind, TaskBase};

use crate::support::*;

/// A repository with an epic and two tasks edited as given; returns the manager.
fn two_tasks(a: &[(&str, &str)], b: &[(&str, &str)]) -> (TempRepo, orch_worktree::WorktreeManager) {
    let repo = TempRepo::new();
    repo.write("shared.txt", "1\n2\n3\n4\n5\n6\n7\n8\n");
    repo.write("other.txt", "other\n");
    repo.commit_all("base");
    let mgr = manager(&repo);
    mgr.ensure_epic_branch(&epic("E")).unwrap();
    for (id, edits) in [("T-A", a), ("T-B", b)] {
        let wt = mgr
            .create(&task(id), &TaskBase::EpicTip(epic("E")))
            .unwrap();
        for (path, content) in edits {
            if content.is_empty() {
                std::fs::remove_file(wt.path.join(path)).unwrap();
            } else {
                std::fs::write(wt.path.join(path), content).unwrap();
            }
        }
        mgr.commit_pending(&task(id), "edit").unwrap();
    }
    (repo, mgr)
}

fn snapshot(repo: &TempRepo) -> String {
    format!(
        "{}|{}",
        repo.git(&["for-each-ref", "--format=%(refname) %(objectname)"]),
        repo.git(&["status", "--porcelain"])
    )
}

#[test]
fn predicts_conflicts_in_memory() {
    let (repo, mgr) = two_tasks(
        &[
            ("shared.txt", "1\nA\n3\n4\n5\n6\n7\n8\n"),
            ("other.txt", ""),
        ],
        &[
            ("shared.txt", "1\nB\n3\n4\n5\n6\n7\n8\n"),
            ("other.txt", "changed\n"),
            ("new.txt", "b\n"),
        ],
    );
    let before = snapshot(&repo);
    let report = mgr.predict_conflicts("T-A", "T-B").unwrap();
    assert_eq!(report.ours, "orch/task/T-A");
    assert_eq!(report.theirs, "orch/task/T-B");
    assert_eq!(report.kind, MergeKind::MergeCommit);
    let got: Vec<(&str, ConflictKind)> = report
        .conflicts
        .iter()
        .map(|c| (c.path.as_str(), c.kind))
        .collect();
    assert_eq!(
        got,
        [
            ("other.txt", ConflictKind::DeletedByUs),
            ("shared.txt", ConflictKind::BothModified)
        ]
    );
    assert_eq!(
        report.merge_base.as_deref(),
        Some(rev(&repo, "orch/epic/E").as_str())
    );
    assert_eq!(snapshot(&repo), before, "no ref, index or checkout touched");

    // Names: epic id, branch, SHA.
    let vs_epic = mgr.predict_conflicts("E", "T-A").unwrap();
    assert_eq!(vs_epic.ours, "orch/epic/E");
    assert_eq!(vs_epic.kind, MergeKind::FastForward);
    assert!(vs_epic.is_clean());
    let sha = rev(&repo, "orch/task/T-B");
    let by_sha = mgr.predict_conflicts("orch/task/T-A", &sha).unwrap();
    assert_eq!(by_sha.paths(), ["other.txt", "shared.txt"]);
    assert!(mgr.predict_conflicts("T-A", "no-such-thing").is_err());

    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["conflicts"][1]["kind"], "both_modified");
}

#[test]
fn merges_fast_forward_then_merge_commit_then_refuses_conflicts() {
    let (repo, mgr) = two_tasks(
        &[("shared.txt", "1\nA\n3\n4\n5\n6\n7\n8\n")],
        &[("shared.txt", "1\n2\n3\n4\n5\n6\n7\nB\n"), ("b.txt", "b\n")],
    );
    let epic_before = rev(&repo, "orch/epic/E");
    let ff = mgr.merge_task(&task("T-A"), &epic("E")).unwrap();
    assert_eq!(ff.kind, MergeKind::FastForward);
    assert_eq!(ff.old_target_sha, epic_before);
    assert_eq!(rev(&repo, "orch/epic/E"), rev(&repo, "orch/task/T-A"));
    assert_eq!(ff.updated_checkout, None);

    let mc = mgr.merge_task(&task("T-B"), &epic("E")).unwrap();
    assert_eq!(mc.kind, MergeKind::MergeCommit);
    assert_eq!(rev(&repo, "orch/epic/E"), mc.new_target_sha);
    assert_eq!(
        repo.git(&["show", "orch/epic/E:shared.txt"]),
        "1\nA\n3\n4\n5\n6\n7\nB"
    );
    assert_eq!(
        repo.git(&["log", "-1", "--format=%P|%s", "orch/epic/E"]),
        format!(
            "{} {}|Merge orch/task/T-B into orch/epic/E",
            rev(&repo, "orch/task/T-A"),
            rev(&repo, "orch/task/T-B")
        )
    );
    let again = mgr.merge_task(&task("T-B"), &epic("E")).unwrap();
    assert_eq!(again.kind, MergeKind::UpToDate);

    // A third task from the old base conflicts: refused, nothing moves.
    let wt = mgr
        .create(&task("T-C"), &TaskBase::pinned(epic("E"), epic_before))
        .unwrap();
    std::fs::write(wt.path.join("shared.txt"), "1\nC\n3\n4\n5\n6\n7\n8\n").unwrap();
    mgr.commit_pending(&task("T-C"), "c").unwrap();
    let before = snapshot(&repo);
    let err = mgr.merge_task(&task("T-C"), &epic("E")).unwrap_err();
    assert!(
        matches!(&err, MergeError::Conflicts { paths, .. } if paths == &["shared.txt"]),
        "{err}"
    );
    assert_eq!(snapshot(&repo), before);
    assert!(!mgr.predict_task_conflicts(&task("T-C")).unwrap().is_clean());
    // Every object and ref orch wrote is sound.
    repo.git(&["fsck", "--no-progress", "--no-dangling", "--strict"]);
}

#[test]
fn merge_refuses_uncommitted_task_work() {
    let (_repo, mgr) = two_tasks(&[("a.txt", "a\n")], &[]);
    let wt = mgr.get(&task("T-A")).unwrap();
    std::fs::write(wt.path.join("late.txt"), "late").unwrap();
    let err = mgr.merge_task(&task("T-A"), &epic("E")).unwrap_err();
    assert!(
        matches!(&err, MergeError::SourceDirty { files, .. } if files == &["late.txt"]),
        "{err}"
    );
}

#[test]
fn epic_into_checked_out_base_updates_a_clean_checkout_only() {
    let (repo, mgr) = two_tasks(&[("a.txt", "a\n")], &[("shared.txt", "changed\n")]);
    mgr.merge_task(&task("T-A"), &epic("E")).unwrap();
    mgr.merge_task(&task("T-B"), &epic("E")).unwrap();
    let main_before = rev(&repo, "main");

    // Dirty tracked file in the main checkout: refused, nothing changes.
    repo.write("other.txt", "local edit\n");
    let before = snapshot(&repo);
    let err = mgr.merge_epic(&epic("E")).unwrap_err();
    assert!(
        matches!(&err, MergeError::CheckoutDirty { files, .. } if files == &["other.txt"]),
        "{err}"
    );
    assert_eq!(snapshot(&repo), before);
    repo.git(&["checkout", "--", "other.txt"]);

    // An untracked file where the merge would write: refused too.
    repo.write("a.txt", "mine, untracked\n");
    let err = mgr.merge_epic(&epic("E")).unwrap_err();
    assert!(
        matches!(&err, MergeError::CheckoutDirty { files, .. } if files == &["a.txt"]),
        "{err}"
    );
    assert_eq!(rev(&repo, "main"), main_before);
    assert_eq!(
        std::fs::read_to_string(repo.path().join("a.txt")).unwrap(),
        "mine, untracked\n"
    );
    std::fs::remove_file(repo.path().join("a.txt")).unwrap();

    // Clean (an unrelated untracked file is fine): main moves and its checkout follows.
    repo.write("notes.txt", "untracked, unrelated\n");
    let out = mgr.merge_epic(&epic("E")).unwrap();
    assert_eq!(out.kind, MergeKind::FastForward);
    assert_eq!(out.target, "main");
    assert_eq!(out.updated_checkout.as_deref(), Some(mgr.repo_root()));
    assert_eq!(rev(&repo, "main"), rev(&repo, "orch/epic/E"));
    assert_eq!(repo.git(&["status", "--porcelain"]), "?? notes.txt");
    assert_eq!(
        std::fs::read_to_string(repo.path().join("a.txt")).unwrap(),
        "a\n"
    );
    assert_eq!(
        std::fs::read_to_string(repo.path().join("shared.txt")).unwrap(),
        "changed\n"
    );
}

#[test]
fn epic_into_base_with_a_merge_commit_in_memory() {
    let (repo, mgr) = two_tasks(&[("a.txt", "a\n")], &[]);
    mgr.merge_task(&task("T-A"), &epic("E")).unwrap();
    // main moved on meanwhile; and is not checked out (HEAD elsewhere).
    repo.write("main.txt", "m\n");
    repo.commit_all("main work");
    repo.git(&["checkout", "-q", "--detach"]);
    let out = mgr.merge_branches("E", "main").unwrap();
    assert_eq!(out.kind, MergeKind::MergeCommit);
    assert_eq!(out.updated_checkout, None);
    assert_eq!(repo.git(&["show", "main:a.txt"]), "a");
    assert_eq!(repo.git(&["show", "main:main.txt"]), "m");
}

#[test]
fn unrelated_histories_are_refused() {
    let repo = TempRepo::new();
    repo.git(&["checkout", "-q", "--orphan", "island"]);
    repo.write("island.txt", "i\n");
    repo.commit_all("island");
    repo.git(&["checkout", "-q", "main"]);
    let mgr = manager(&repo);
    let err = mgr.merge_branches("island", "main").unwrap_err();
    assert!(matches!(err, MergeError::Unrelated { .. }), "{err}");
    let report = mgr.predict_conflicts("main", "island").unwrap();
    assert_eq!(report.merge_base, None);
    assert!(report.is_clean());
}

#[test]
fn a_checkout_in_the_middle_of_a_merge_is_not_moved() {
    let (repo, mgr) = two_tasks(&[("a.txt", "a\n")], &[]);
    mgr.merge_task(&task("T-A"), &epic("E")).unwrap();
    // A conflicting merge left in progress in the main checkout.
    repo.git(&["checkout", "-q", "-b", "side"]);
    repo.write("shared.txt", "side\n");
    repo.commit_all("side");
    repo.git(&["checkout", "-q", "main"]);
    repo.write("shared.txt", "main\n");
    repo.commit_all("main");
    assert!(
        !repo
            .git_command(&["merge", "-q", "side"])
            .status()
            .unwrap()
            .success()
    );
    repo.git(&["checkout", "--theirs", "shared.txt"]);
    repo.git(&["add", "shared.txt"]);
    let before = rev(&repo, "main");
    let err = mgr.merge_epic(&epic("E")).unwrap_err();
    assert!(
        matches!(&err, MergeError::CheckoutBusy { operation, .. } if operation == "merge"),
        "{err}"
    );
    assert_eq!(rev(&repo, "main"), before);
}
