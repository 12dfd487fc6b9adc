use crate::support::{ok, orch};
use orch_testutils::TempRepo;

#[test]
fn init_creates_everything_and_is_idempotent() {
    let repo = TempRepo::new();
    let first = ok(repo.path(), &["init"]);
    insta::assert_snapshot!(first.transcript());
    assert!(repo.path().join(".orch/orch.toml").is_file());
    assert!(repo.path().join(".orch/state.db").is_file());
    let exclude = std::fs::read_to_string(repo.path().join(".git/info/exclude")).unwrap();
    assert!(
        exclude.contains("/.orch/") && exclude.contains("/.worktrees/"),
        "{exclude}"
    );
    assert!(
        !repo.path().join(".gitignore").exists(),
        "never touch the user's .gitignore"
    );
    // orch's files never show up as untracked changes
    assert_eq!(repo.git(&["status", "--porcelain"]), "");

    let second = ok(repo.path(), &["init"]);
    insta::assert_snapshot!(second.transcript());
    let again = std::fs::read_to_string(repo.path().join(".git/info/exclude")).unwrap();
    assert_eq!(exclude, again, "exclude entries are not duplicated");
}

#[test]
fn init_from_a_subdirectory_uses_the_repository_root() {
    let repo = TempRepo::new();
    repo.write("src/deep/file.txt", "x");
    ok(&repo.path().join("src/deep"), &["init"]);
    assert!(repo.path().join(".orch/state.db").is_file());
    assert!(!repo.path().join("src/deep/.orch").exists());
}

#[test]
fn init_outside_a_repository_fails_with_advice() {
    let dir = tempfile::tempdir().unwrap();
    let run = orch(dir.path(), &["init"]);
    assert_eq!(run.code, orch_core::exit_code::NOT_A_REPOSITORY);
    assert!(
        run.stderr.contains("not inside a git repository"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("git init"), "{}", run.stderr);
    assert!(!dir.path().join(".orch").exists(), "nothing is created");
}

#[test]
fn init_refuses_a_broken_config() {
    let repo = TempRepo::new();
    ok(repo.path(), &["init"]);
    std::fs::write(repo.path().join(".orch/orch.toml"), "[run]\nparalel = 4\n").unwrap();
    let run = orch(repo.path(), &["init"]);
    assert_eq!(run.code, orch_core::exit_code::INVALID_INPUT);
    assert!(run.stderr.contains("paralel"), "{}", run.stderr);
}
