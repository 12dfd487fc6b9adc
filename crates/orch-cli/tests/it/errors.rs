//! Bad input: a specific message, a documented exit code, and nothing changed.

use orch_core::exit_code;

use crate::support::{initialised, ok, orch, with_example_plan, write_plan};

fn assert_store_untouched(repo: &orch_testutils::TempRepo, before: &str) {
    assert_eq!(ok(repo.path(), &["status", "--json"]).stdout, before);
}

#[test]
fn malformed_plans() {
    let repo = initialised();
    let cases: &[(&str, &str)] = &[
        ("syntax.toml", "name = \"x\"\n[[task]\n"),
        ("syntax.json", "{\"name\": \"x\", \"task\": [}"),
        (
            "unknown-dep.toml",
            "name = \"x\"\n[[epic]]\nid = \"E\"\nname = \"e\"\n[[task]]\nid = \"TASK-E-001\"\ntitle = \"a\"\nepic = \"E\"\ndepends_on = [\"TASK-E-999\"]\n",
        ),
        (
            "cycle.toml",
            "name = \"x\"\n[[epic]]\nid = \"E\"\nname = \"e\"\n[[task]]\nid = \"A\"\ntitle = \"a\"\nepic = \"E\"\ndepends_on = [\"B\"]\n[[task]]\nid = \"B\"\ntitle = \"b\"\nepic = \"E\"\ndepends_on = [\"C\"]\n[[task]]\nid = \"C\"\ntitle = \"c\"\nepic = \"E\"\ndepends_on = [\"A\"]\n",
        ),
        (
            "unsafe-id.toml",
            "name = \"x\"\n[[epic]]\nid = \"E\"\nname = \"e\"\n[[task]]\nid = \"../../etc/passwd\"\ntitle = \"a\"\nepic = \"E\"\n",
        ),
        ("empty.toml", "name = \"x\"\n"),
        ("unknown-key.toml", "name = \"x\"\nowner = \"me\"\n"),
    ];
    let mut transcript = String::new();
    for (name, text) in cases {
        let path = write_plan(&repo, name, text);
        let run = orch(repo.path(), &["plan", "import", path.to_str().unwrap()]);
        assert_eq!(
            run.code,
            exit_code::INVALID_INPUT,
            "{name}: {}",
            run.transcript()
        );
        let stderr = run
            .stderr
            .replace(&repo.temp_dir().display().to_string(), "[TMP]");
        transcript.push_str(&format!("## {name}\n{stderr}\n"));
        let plan = orch(repo.path(), &["plan", "show"]);
        assert_eq!(
            plan.code,
            exit_code::NOT_INITIALIZED,
            "{name} left a partial plan"
        );
    }
    insta::assert_snapshot!(transcript);
}

#[test]
fn missing_file_and_unknown_extension() {
    let repo = initialised();
    let run = orch(repo.path(), &["plan", "import", "/nonexistent/plan.toml"]);
    assert_eq!(run.code, exit_code::NOT_FOUND, "{}", run.transcript());
    let path = write_plan(&repo, "plan.yaml", "name: x\n");
    let run = orch(repo.path(), &["plan", "import", path.to_str().unwrap()]);
    assert_eq!(run.code, exit_code::INVALID_INPUT);
    assert!(run.stderr.contains("--format"), "{}", run.stderr);
}

#[test]
fn illegal_transition_changes_nothing() {
    let repo = with_example_plan();
    let before = ok(repo.path(), &["status", "--json"]).stdout;
    let run = orch(
        repo.path(),
        &["task", "set-status", "TASK-DB-002", "completed"],
    );
    assert_eq!(run.code, exit_code::ILLEGAL_TRANSITION);
    insta::assert_snapshot!(run.transcript());
    assert_store_untouched(&repo, &before);

    let run = orch(repo.path(), &["task", "set-status", "TASK-DB-001", "done"]);
    assert_eq!(run.code, exit_code::INVALID_INPUT);
    assert!(
        run.stderr.contains("unknown task status `done`"),
        "{}",
        run.stderr
    );
    let run = orch(repo.path(), &["task", "show", "TASK-NOPE-001"]);
    assert_eq!(run.code, exit_code::NOT_FOUND);
    assert_store_untouched(&repo, &before);
}

#[test]
fn commands_before_init_or_import() {
    let repo = orch_testutils::TempRepo::new();
    let run = orch(repo.path(), &["status"]);
    assert_eq!(run.code, exit_code::NOT_INITIALIZED);
    insta::assert_snapshot!("not_initialised", run.transcript());
    assert!(
        !repo.path().join(".orch").exists(),
        "a read command creates nothing"
    );

    ok(repo.path(), &["init"]);
    let run = orch(repo.path(), &["status"]);
    assert_eq!(run.code, exit_code::NOT_INITIALIZED);
    insta::assert_snapshot!("no_plan", run.transcript());
}
