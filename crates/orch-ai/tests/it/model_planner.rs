//! The model planner against a scripted model: valid plans are taken, bad ones repaired once
//! or replaced by the heuristic plan, never stored invalid.

use orch_ai::{
    DecisionLog, LogLimits, ModelError, PlanSource, Prd, ScriptedModel, Strategy, plan_prd,
};
use serde_json::json;

const PRD: &str = "# Notes app\n## Backend\n- Notes schema with migrations\n- REST API for notes\n## Frontend\n- Notes page\n";

fn good_plan() -> serde_json::Value {
    json!({
        "strategy": "generic",
        "strategy_reason": "the PRD names roles",
        "epics": [{"id": "backend", "name": "Backend", "goal": "store and serve notes"},
                  {"id": "frontend", "name": "Frontend", "goal": "show notes"}],
        "tasks": [
            {"id": "TASK-BE-001", "title": "Notes schema", "epic": "backend", "category": "database",
             "acceptance": ["migration applies"], "files": ["migrations/**"], "estimate_minutes": 30},
            {"id": "TASK-BE-002", "title": "Notes API", "epic": "backend", "category": "api",
             "depends_on": [{"id": "TASK-BE-001", "reason": "the API reads the notes table"}],
             "acceptance": ["GET /notes returns notes"], "files": ["src/api/**"]},
            {"id": "TASK-FE-001", "title": "Notes page", "epic": "frontend", "category": "frontend",
             "depends_on": ["TASK-BE-002"], "acceptance": ["the page lists notes"], "files": ["web/**"]}
        ]
    })
}

fn prd() -> Prd {
    Prd::parse(PRD).unwrap()
}

#[tokio::test]
async fn a_valid_plan_is_taken_with_its_reasons() {
    let model = ScriptedModel::new([format!("Here is the plan:\n```json\n{}\n```", good_plan())]);
    let outcome = plan_prd(&prd(), Strategy::Auto, Some(&model), None).await;
    assert!(
        matches!(
            outcome.source,
            PlanSource::Model {
                repaired: false,
                ..
            }
        ),
        "{:?}",
        outcome.source
    );
    assert_eq!(outcome.strategy, Strategy::Generic);
    assert_eq!(outcome.strategy_reason, "the PRD names roles");
    assert_eq!(outcome.plan.tasks.len(), 3);
    assert!(
        outcome
            .edges
            .iter()
            .any(|e| e.reason == "the API reads the notes table")
    );
    let sent = &model.requests()[0];
    assert!(
        sent.prompt.contains("Notes schema with migrations"),
        "the PRD goes to the model"
    );
    assert!(
        sent.prompt.contains("acceptance"),
        "the schema goes to the model"
    );
}

async fn repaired_after(first: String, expect_in_repair: &str) {
    let model = ScriptedModel::new([first, good_plan().to_string()]);
    let outcome = plan_prd(&prd(), Strategy::Auto, Some(&model), None).await;
    assert!(
        matches!(outcome.source, PlanSource::Model { repaired: true, .. }),
        "{:?}",
        outcome.source
    );
    let requests = model.requests();
    assert_eq!(requests.len(), 2);
    assert!(
        requests[1].prompt.contains(expect_in_repair),
        "repair prompt lacks `{expect_in_repair}`:\n{}",
        requests[1].prompt
    );
    outcome.plan.validate().unwrap();
}

#[tokio::test]
async fn invalid_json_is_repaired() {
    repaired_after(
        "{\"strategy\": \"generic\", \"epics\": [".into(),
        "not valid JSON",
    )
    .await;
}

#[tokio::test]
async fn a_cycle_is_repaired() {
    let mut plan = good_plan();
    plan["tasks"][0]["depends_on"] = json!(["TASK-FE-001"]);
    repaired_after(plan.to_string(), "cycle").await;
}

#[tokio::test]
async fn an_unknown_dependency_is_repaired() {
    let mut plan = good_plan();
    plan["tasks"][2]["depends_on"] = json!(["TASK-XX-999"]);
    repaired_after(plan.to_string(), "unknown task `TASK-XX-999`").await;
}

#[tokio::test]
async fn an_unsafe_id_is_repaired() {
    let mut plan = good_plan();
    plan["tasks"][0]["id"] = json!("../../etc/passwd");
    repaired_after(plan.to_string(), "tasks[0]").await;
}

#[tokio::test]
async fn missing_acceptance_is_repaired() {
    let mut plan = good_plan();
    plan["tasks"][1]["acceptance"] = json!([]);
    repaired_after(plan.to_string(), "no acceptance criteria").await;
}

#[tokio::test]
async fn twice_invalid_falls_back_to_the_heuristic_plan_and_says_so() {
    let mut bad = good_plan();
    bad["tasks"][2]["depends_on"] = json!(["TASK-XX-999"]);
    let model = ScriptedModel::new([bad.to_string(), bad.to_string(), good_plan().to_string()]);
    let dir = tempfile::tempdir().unwrap();
    let log = DecisionLog::new(dir.path().join("ai_decisions"), LogLimits::default());
    let outcome = plan_prd(&prd(), Strategy::Auto, Some(&model), Some(&log)).await;
    match &outcome.source {
        PlanSource::Fallback { errors, .. } => {
            assert!(
                errors
                    .iter()
                    .any(|e| e.starts_with("round 2:") && e.contains("TASK-XX-999")),
                "{errors:?}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(model.requests().len(), 2, "exactly one repair round");
    outcome.plan.validate().unwrap();
    assert_eq!(outcome.plan.tasks[0].id.as_str(), "TASK-BE-001");
    // Both rejected answers are in the decision log, with the reasons.
    let logs: Vec<String> = std::fs::read_dir(log.dir())
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    assert_eq!(logs.len(), 2, "{logs:?}");
    assert!(
        logs.iter()
            .all(|l| l.contains("rejected") && l.contains("TASK-XX-999"))
    );
    // The same run again makes the same decisions: nothing new is written.
    let again = ScriptedModel::new([bad.to_string(), bad.to_string()]);
    plan_prd(&prd(), Strategy::Auto, Some(&again), Some(&log)).await;
    assert_eq!(
        std::fs::read_dir(log.dir()).unwrap().count(),
        2,
        "identical decisions are logged once"
    );
}

#[tokio::test]
async fn a_failing_model_falls_back() {
    let model = ScriptedModel::new(Vec::<String>::new());
    model.push_error(ModelError::Timeout {
        provider: "anthropic",
        seconds: 120,
    });
    let outcome = plan_prd(&prd(), Strategy::Generic, Some(&model), None).await;
    match &outcome.source {
        PlanSource::Fallback { errors, .. } => assert!(
            errors[0].contains("did not answer within 120 s"),
            "{errors:?}"
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        model.requests().len(),
        1,
        "a failed request is not repaired"
    );
}

#[tokio::test]
async fn a_requested_strategy_is_enforced() {
    let model = ScriptedModel::new([good_plan().to_string(), good_plan().to_string()]);
    let outcome = plan_prd(&prd(), Strategy::Phase, Some(&model), None).await;
    match &outcome.source {
        PlanSource::Fallback { errors, .. } => {
            assert!(errors.iter().any(|e| e.contains("must be `phase`")))
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(outcome.strategy, Strategy::Phase);
}

/// A larger PRD, for the coverage checks: nine requirements.
const NINE: &str = "# Shop\n## Catalogue\n- Product schema with migrations\n- Product search by name\n- Product detail page\n## Orders\n- Shopping cart per session\n- Checkout with card payments\n- Order confirmation email\n## Admin\n- Inventory import from CSV\n- Sales report per month\n- Refunds by support staff\n";

fn partial_plan(extra_title: &str, files: &[&str]) -> String {
    json!({
        "strategy": "function",
        "strategy_reason": "areas",
        "epics": [{"id": "catalogue", "name": "Catalogue", "goal": "products"}],
        "tasks": [
            {"id": "TASK-C-001", "title": format!("Product schema{extra_title}"), "description": "Product schema with migrations",
             "epic": "catalogue", "category": "database", "acceptance": ["applies"], "files": files},
            {"id": "TASK-C-002", "title": "Product search", "description": "Product search by name",
             "epic": "catalogue", "category": "backend", "acceptance": ["finds"], "files": ["src/search*"]},
            {"id": "TASK-C-003", "title": "Product detail page", "description": "Product detail page",
             "epic": "catalogue", "category": "frontend", "acceptance": ["shows"], "files": ["web/detail*"]}
        ]
    })
    .to_string()
}

fn options<'a>(model: &'a ScriptedModel, repo: &'a orch_ai::RepoMap) -> orch_ai::PlanOptions<'a> {
    orch_ai::PlanOptions {
        strategy: Strategy::Auto,
        repo,
        model: Some(model),
        log: None,
        budget: std::time::Duration::from_secs(30),
    }
}

#[tokio::test]
async fn a_plan_that_skips_requirements_is_repaired_then_refused_with_the_misses() {
    let prd = Prd::parse(NINE).unwrap();
    let model = ScriptedModel::new([
        partial_plan("", &["migrations/**"]),
        partial_plan("", &["migrations/**"]),
    ]);
    let repo = orch_ai::RepoMap::empty();
    let outcome = orch_ai::plan_with(&prd, &options(&model, &repo)).await;
    let PlanSource::Fallback { errors, .. } = &outcome.source else {
        panic!("{:?}", outcome.source);
    };
    assert!(
        errors
            .iter()
            .any(|e| e.contains("6 of the PRD's requirements have no task")),
        "{errors:?}"
    );
    assert!(
        errors
            .iter()
            .any(|e| e.contains("Refunds by support staff")),
        "{errors:?}"
    );
    // The repair round was told which ones.
    let repair = &model.requests()[1].prompt;
    assert!(repair.contains("Shopping cart per session"), "{repair}");
    // The first prompt lists every requirement.
    assert!(
        model.requests()[0]
            .prompt
            .contains("The requirements (9 of them)")
    );
    // What is used instead covers them all.
    assert!(orch_ai::uncovered_requirements(&prd, &outcome.plan.tasks).is_empty());
}

#[tokio::test]
async fn scopes_outside_the_repository_and_escape_codes_do_not_pass() {
    let prd = Prd::parse(PRD).unwrap();
    let mut evil = good_plan();
    evil["tasks"][0]["files"] = json!(["../../../etc/passwd"]);
    let model = ScriptedModel::new([evil.to_string(), evil.to_string()]);
    let repo = orch_ai::RepoMap::empty();
    let outcome = orch_ai::plan_with(&prd, &options(&model, &repo)).await;
    let PlanSource::Fallback { errors, .. } = &outcome.source else {
        panic!("{:?}", outcome.source);
    };
    assert!(
        errors.iter().any(|e| e.contains("outside the repository")),
        "{errors:?}"
    );

    let mut loud = good_plan();
    loud["tasks"][0]["title"] = json!("Notes schema\u{1b}[2J\u{1b}]0;owned\u{7}");
    loud["epics"][0]["name"] = json!("Back\u{1b}[31mend");
    let model = ScriptedModel::new([loud.to_string()]);
    let outcome = orch_ai::plan_with(&prd, &options(&model, &repo)).await;
    assert!(
        matches!(outcome.source, PlanSource::Model { .. }),
        "{:?}",
        outcome.source
    );
    let title = &outcome.plan.tasks[0].title;
    assert!(
        !title.contains('\u{1b}') && title.starts_with("Notes schema"),
        "{title:?}"
    );
    assert!(!outcome.plan.epics[0].name.contains('\u{1b}'));
}

/// A model that never answers.
struct Hung;

impl orch_ai::LanguageModel for Hung {
    fn describe(&self) -> String {
        "test/hung".into()
    }

    fn complete<'a>(
        &'a self,
        _request: &'a orch_ai::ModelRequest,
    ) -> orch_ai::BoxFuture<'a, Result<orch_ai::ModelReply, ModelError>> {
        Box::pin(std::future::pending())
    }
}

#[tokio::test(start_paused = true)]
async fn a_hung_model_is_bounded_by_the_planning_limit() {
    let prd = Prd::parse(PRD).unwrap();
    let repo = orch_ai::RepoMap::empty();
    let started = tokio::time::Instant::now();
    let outcome = orch_ai::plan_with(
        &prd,
        &orch_ai::PlanOptions {
            strategy: Strategy::Auto,
            repo: &repo,
            model: Some(&Hung),
            log: None,
            budget: std::time::Duration::from_secs(120),
        },
    )
    .await;
    assert_eq!(started.elapsed().as_secs(), 120);
    let PlanSource::Fallback { errors, .. } = &outcome.source else {
        panic!("{:?}", outcome.source);
    };
    assert!(errors[0].contains("planning limit of 120 s"), "{errors:?}");
    assert!(!outcome.plan.tasks.is_empty(), "the offline plan is used");
}
