//! Property: the conflicts predicted in memory are exactly the paths `git merge` leaves
//! unmerged for the same two branches.

use std::collections::{BTreeMap, BTreeSet};

use orch_testutils::TempRepo;
use proptest::prelude::*;

use crate::support::manager;

const FILES: usize = 5;
const LINES: usize = 6;

#[derive(Debug, Clone)]
enum Edit {
    /// Set line `1` of file `0` to value `2`.
    Modify(usize, usize, u8),
    /// Append a line with value `1` to file `0`.
    Append(usize, u8),
    /// Delete file `0`.
    Delete(usize),
    /// Add new file `n<0>` with content `1`.
    Add(u8, u8),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        4 => (0..FILES, 0..LINES, 0..3u8).prop_map(|(f, l, v)| Edit::Modify(f, l, v)),
        1 => (0..FILES, 0..3u8).prop_map(|(f, v)| Edit::Append(f, v)),
        1 => (0..FILES).prop_map(Edit::Delete),
        1 => (0..3u8, 0..2u8).prop_map(|(n, c)| Edit::Add(n, c)),
    ]
}

type Tree = BTreeMap<String, Vec<String>>;

fn base_tree() -> Tree {
    (0..FILES)
        .map(|f| {
            let lines = (0..LINES)
                .map(|l| format!("file {f} line {l} of the base"))
                .collect();
            (format!("f{f}.txt"), lines)
        })
        .collect()
}

fn apply(edits: &[Edit]) -> Tree {
    let mut tree = base_tree();
    for e in edits {
        match *e {
            Edit::Modify(f, l, v) => {
                if let Some(lines) = tree.get_mut(&format!("f{f}.txt"))
                    && l < lines.len()
                {
                    lines[l] = format!("changed to {v}");
                }
            }
            Edit::Append(f, v) => {
                if let Some(lines) = tree.get_mut(&format!("f{f}.txt")) {
                    lines.push(format!("appended {v}"));
                }
            }
            Edit::Delete(f) => {
                tree.remove(&format!("f{f}.txt"));
            }
            Edit::Add(n, c) => {
                tree.insert(format!("n{n}.txt"), vec![format!("new file content {c}")]);
            }
        }
    }
    tree
}

/// Replaces the working tree's files with `tree` and commits on a new branch `name` from
/// `main`.
fn commit_branch(repo: &TempRepo, name: &str, tree: &Tree) {
    repo.git(&["checkout", "-q", "-b", name, "main"]);
    for f in (0..FILES)
        .map(|f| format!("f{f}.txt"))
        .chain((0..3).map(|n| format!("n{n}.txt")))
    {
        let _ = std::fs::remove_file(repo.path().join(&f));
    }
    for (path, lines) in tree {
        repo.write(path, &format!("{}\n", lines.join("\n")));
    }
    repo.commit_all(name);
}

fn git_merge_conflicts(repo: &TempRepo) -> BTreeSet<String> {
    repo.git(&["checkout", "-q", "ours"]);
    let merge = repo
        .git_command(&["merge", "--no-commit", "--no-ff", "-q", "theirs"])
        .output()
        .unwrap();
    let unmerged = repo.git(&["diff", "--name-only", "--diff-filter=U"]);
    if repo.path().join(".git/MERGE_HEAD").exists() {
        repo.git(&["merge", "--abort"]);
    }
    let set: BTreeSet<String> = unmerged.lines().map(str::to_owned).collect();
    assert_eq!(
        merge.status.success(),
        set.is_empty(),
        "exit status agrees with the index"
    );
    set
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn predicted_conflicts_equal_git_merge(
        ours in proptest::collection::vec(edit(), 0..7),
        theirs in proptest::collection::vec(edit(), 0..7),
    ) {
        let repo = TempRepo::new();
        commit_branch(&repo, "base-files", &base_tree());
        repo.git(&["checkout", "-q", "main"]);
        repo.git(&["merge", "-q", "--ff-only", "base-files"]);
        commit_branch(&repo, "ours", &apply(&ours));
        commit_branch(&repo, "theirs", &apply(&theirs));
        repo.git(&["checkout", "-q", "main"]);

        let mgr = manager(&repo);
        let predicted: BTreeSet<String> = mgr
            .predict_conflicts("ours", "theirs")
            .unwrap()
            .conflicts
            .into_iter()
            .map(|c| c.path)
            .collect();
        let before = repo.git(&["for-each-ref", "--format=%(refname) %(objectname)"]);
        let actual = git_merge_conflicts(&repo);
        prop_assert_eq!(predicted, actual);
        prop_assert_eq!(repo.git(&["for-each-ref", "--format=%(refname) %(objectname)"]), before);
    }
}

#[test]
fn a_known_conflict_is_found_by_both() {
    let repo = TempRepo::new();
    commit_branch(&repo, "base-files", &base_tree());
    repo.git(&["checkout", "-q", "main"]);
    repo.git(&["merge", "-q", "--ff-only", "base-files"]);
    commit_branch(
        &repo,
        "ours",
        &apply(&[Edit::Modify(1, 2, 0), Edit::Delete(3)]),
    );
    commit_branch(
        &repo,
        "theirs",
        &apply(&[Edit::Modify(1, 2, 1), Edit::Modify(3, 0, 0)]),
    );
    let predicted: BTreeSet<String> = manager(&repo)
        .predict_conflicts("ours", "theirs")
        .unwrap()
        .paths()
        .into_iter()
        .map(str::to_owned)
        .collect();
    let expected: BTreeSet<String> = ["f1.txt", "f3.txt"].map(str::to_owned).into();
    assert_eq!(predicted, expected);
    assert_eq!(git_merge_conflicts(&repo), expected);
}
