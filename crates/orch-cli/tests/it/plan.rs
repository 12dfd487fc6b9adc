use orch_core::exit_code;

use crate::support::{example_plan, initialised, ok, orch, with_example_plan, write_plan};

#[test]
fn import_then_show() {
    let repo = initialised();
    let run = ok(
        repo.path(),
        &["plan", "import", example_plan().to_str().unwrap()],
    );
    insta::assert_snapshot!(run.transcript());
    insta::assert_snapshot!(ok(repo.path(), &["plan", "show"]).transcript());
}

#[test]
fn reimport_is_a_no_op() {
    let repo = with_example_plan();
    let before = ok(repo.path(), &["status", "--json"]).stdout;
    let run = ok(
        repo.path(),
        &["plan", "import", example_plan().to_str().unwrap()],
    );
    assert!(run.stdout.contains("unchanged"), "{}", run.stdout);
    assert_eq!(ok(repo.path(), &["status", "--json"]).stdout, before);
}

#[test]
fn json_plan_round_trips_through_the_store() {
    let repo = with_example_plan();
    let json = ok(repo.path(), &["plan", "show", "--json"]).stdout;
    let plan: orch_core::Plan = serde_json::from_str(&json).unwrap();
    let original = orch_core::Plan::parse(
        &std::fs::read_to_string(example_plan()).unwrap(),
        orch_core::PlanFormat::Toml,
    )
    .unwrap();
    assert_eq!(plan.content_fingerprint(), original.content_fingerprint());
    // importing the JSON form is the same plan: unchanged
    let path = write_plan(&repo, "again.json", &json);
    let run = ok(repo.path(), &["plan", "import", path.to_str().unwrap()]);
    assert!(run.stdout.contains("unchanged"), "{}", run.stdout);
}

#[test]
fn a_different_plan_is_refused_then_replaced_before_start() {
    let repo = with_example_plan();
    let other = write_plan(
        &repo,
        "other.toml",
        "name = \"other\"\n[[epic]]\nid = \"X\"\nname = \"x\"\n[[task]]\nid = \"TASK-X-001\"\ntitle = \"x\"\nepic = \"X\"\n",
    );
    let run = orch(repo.path(), &["plan", "import", other.to_str().unwrap()]);
    assert_eq!(run.code, exit_code::CONFLICT, "{}", run.transcript());
    insta::assert_snapshot!(run.transcript());
    ok(
        repo.path(),
        &["plan", "import", "--replace", other.to_str().unwrap()],
    );
    let status = ok(repo.path(), &["status", "--json"]).stdout;
    assert!(status.contains("TASK-X-001") && !status.contains("TASK-DB-001"));

    // once a task has started, even --replace is refused
    ok(
        repo.path(),
        &["task", "set-status", "TASK-X-001", "running"],
    );
    let run = orch(
        repo.path(),
        &[
            "plan",
            "import",
            "--replace",
            example_plan().to_str().unwrap(),
        ],
    );
    assert_eq!(run.code, exit_code::CONFLICT, "{}", run.transcript());
}
