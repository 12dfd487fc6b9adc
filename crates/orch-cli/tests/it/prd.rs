//! `orch plan PRD.md` and `orch questions PRD.md`.

use orch_core::exit_code;
use orch_testutils::{MockHttpServer, MockResponse};

use crate::support::{initialised, ok, orch, write_plan};

const PRD: &str = "# PRD: Notes\n\n## Goals\n- Notes can be written and read in the browser.\n\n## Non-goals\n- Sharing.\n\n\
## Backend\n- Notes schema with migrations.\n- REST API: `GET /notes`, `POST /notes`; depends on the notes schema.\n\n\
## Frontend\n- Notes page listing notes; needs `GET /notes`.\n\n## QA\n- Unit tests for notes validation.\n";

#[test]
fn plan_a_prd_shows_reasons_and_stores_it() {
    let repo = initialised();
    let prd = write_plan(&repo, "notes.md", PRD);
    let run = ok(repo.path(), &["plan", prd.to_str().unwrap()]);
    insta::assert_snapshot!(
        run.transcript()
            .replace(&prd.display().to_string(), "[PRD]")
    );
    let status: serde_json::Value =
        serde_json::from_str(&ok(repo.path(), &["status", "--json"]).stdout).unwrap();
    assert_eq!(status["tasks"].as_array().unwrap().len(), 4, "{status}");
    assert!(
        repo.path().join(".orch/prd.md").is_file(),
        "the PRD is kept for task instructions"
    );
    // Planning the same PRD again changes nothing.
    let again = ok(repo.path(), &["plan", prd.to_str().unwrap()]);
    assert!(again.stdout.contains("already stored"), "{}", again.stdout);
}

#[test]
fn dry_run_stores_nothing_and_works_outside_a_repository() {
    let dir = tempfile::tempdir().unwrap();
    let prd = dir.path().join("notes.md");
    std::fs::write(&prd, PRD).unwrap();
    let out = dir.path().join("plan.toml");
    let run = ok(
        dir.path(),
        &[
            "plan",
            "--dry-run",
            "--strategy",
            "layer",
            "--out",
            out.to_str().unwrap(),
            prd.to_str().unwrap(),
        ],
    );
    assert!(
        run.stdout.contains("Strategy: layer (chosen explicitly"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("Dry run: nothing stored."));
    let plan = orch_core::Plan::parse(
        &std::fs::read_to_string(&out).unwrap(),
        orch_core::PlanFormat::Toml,
    )
    .unwrap();
    assert_eq!(plan.tasks.len(), 4);
    assert!(!dir.path().join(".orch").exists());
    // Storing needs a repository.
    let run = orch(dir.path(), &["plan", prd.to_str().unwrap()]);
    assert_eq!(
        run.code,
        exit_code::NOT_A_REPOSITORY,
        "{}",
        run.transcript()
    );
}

#[test]
fn bad_prds_are_refused_and_change_nothing() {
    let repo = initialised();
    for (name, bytes, expect) in [
        ("empty.md", &b"  \n\n"[..], "the PRD is empty"),
        ("binary.md", &b"\x00\x01PK\x03\x04"[..], "not text"),
        (
            "prose.md",
            &b"# Title\n\nOnly prose, nothing to plan.\n"[..],
            "no requirements",
        ),
    ] {
        let path = repo.temp_dir().join(name);
        std::fs::write(&path, bytes).unwrap();
        let run = orch(repo.path(), &["plan", path.to_str().unwrap()]);
        assert_eq!(run.code, exit_code::INVALID_INPUT, "{}", run.transcript());
        assert!(run.stderr.contains(expect), "{}", run.stderr);
    }
    let run = orch(repo.path(), &["status"]);
    assert_eq!(
        run.code,
        exit_code::NOT_INITIALIZED,
        "no plan was stored: {}",
        run.transcript()
    );
    assert!(!repo.path().join(".orch/prd.md").exists());
}

#[test]
fn a_model_provider_without_its_key_is_an_error_not_a_fallback() {
    let repo = initialised();
    std::fs::write(
        repo.path().join(".orch/orch.toml"),
        "[ai]\nprovider = \"anthropic\"\napi_key_env = \"ORCH_TEST_KEY_THAT_IS_NEVER_SET\"\n",
    )
    .unwrap();
    let prd = write_plan(&repo, "notes.md", PRD);
    let run = orch(repo.path(), &["plan", prd.to_str().unwrap()]);
    assert_eq!(run.code, exit_code::INVALID_INPUT, "{}", run.transcript());
    assert!(
        run.stderr.contains("set ORCH_TEST_KEY_THAT_IS_NEVER_SET"),
        "{}",
        run.stderr
    );
    assert_eq!(
        orch(repo.path(), &["status"]).code,
        exit_code::NOT_INITIALIZED
    );
}

#[test]
fn an_openai_compatible_server_plans_through_the_cli() {
    let plan = serde_json::json!({
        "strategy": "function", "strategy_reason": "one product area",
        "epics": [{"id": "notes", "name": "Notes", "goal": "notes work"}],
        "tasks": [
            {"id": "TASK-N-001", "title": "Schema", "description": "Notes schema with migrations",
             "epic": "notes", "category": "database", "acceptance": ["migrates"]},
            {"id": "TASK-N-002", "title": "API", "description": "REST API: GET /notes, POST /notes",
             "epic": "notes", "category": "api", "acceptance": ["serves"],
             "depends_on": [{"id": "TASK-N-001", "reason": "reads the table"}]},
            {"id": "TASK-N-003", "title": "Notes page listing notes", "epic": "notes", "category": "frontend",
             "acceptance": ["lists"], "depends_on": ["TASK-N-002"]},
            {"id": "TASK-N-004", "title": "Unit tests for notes validation", "epic": "notes", "category": "testing",
             "acceptance": ["pass"], "depends_on": ["TASK-N-002"]}
        ]
    });
    let reply = serde_json::json!({
        "id": "c1", "object": "chat.completion", "model": "qwen2.5-coder",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": plan.to_string()}, "finish_reason": "stop"}]
    });
    let server = MockHttpServer::start();
    server.push(MockResponse::json(200, reply.to_string()));
    let repo = initialised();
    let prd = write_plan(&repo, "notes.md", PRD);
    let base = format!("{}/v1", server.url());
    let run = ok(
        repo.path(),
        &[
            "plan",
            "--provider",
            "openai",
            "--model",
            "qwen2.5-coder",
            "--base-url",
            &base,
            prd.to_str().unwrap(),
        ],
    );
    assert!(
        run.stdout.contains("Planner: openai/qwen2.5-coder"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("TASK-N-002 → TASK-N-001: reads the table"),
        "{}",
        run.stdout
    );
    assert_eq!(server.requests()[0].path, "/v1/chat/completions");
    // The decision is logged under .orch/logs/ai_decisions/.
    let logs = std::fs::read_dir(repo.path().join(".orch/logs/ai_decisions"))
        .unwrap()
        .count();
    assert_eq!(logs, 1);
}

#[test]
fn questions_name_the_gaps() {
    let dir = tempfile::tempdir().unwrap();
    let prd = dir.path().join("vague.md");
    std::fs::write(
        &prd,
        "# Bot\n## Features\n- Make it fast\n- Keep the last 500 in memory\n",
    )
    .unwrap();
    let run = ok(dir.path(), &["questions", "--json", prd.to_str().unwrap()]);
    let questions: Vec<serde_json::Value> = serde_json::from_str(&run.stdout).unwrap();
    let topics: Vec<&str> = questions
        .iter()
        .map(|q| q["topic"].as_str().unwrap())
        .collect();
    assert_eq!(topics, ["success_criteria", "non_goals", "scope", "units"]);
}
