//! The sample PRDs in `../shared/fixtures/prd/`: each gets a sensible plan, bad ones a clear
//! refusal.

use orch_ai::{EdgeKind, Prd, PrdError, Strategy, plan_heuristic};
use orch_testutils::shared_fixtures_or_skip;

fn load(name: &str) -> Option<Vec<u8>> {
    let dir = shared_fixtures_or_skip("prd")?;
    Some(std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}")))
}

fn edge<'a>(outcome: &'a orch_ai::PlanOutcome, task: &str, dep: &str) -> Option<&'a orch_ai::Edge> {
    outcome
        .edges
        .iter()
        .find(|e| e.task.as_str() == task && e.depends_on.as_str() == dep)
}

/// Whether `task` waits for `dep`, directly or not.
fn reaches(outcome: &orch_ai::PlanOutcome, task: &str, dep: &str) -> bool {
    let mut stack = vec![task.to_owned()];
    let mut seen = std::collections::HashSet::new();
    while let Some(t) = stack.pop() {
        if t == dep {
            return true;
        }
        if seen.insert(t.clone()) {
            stack.extend(
                outcome
                    .edges
                    .iter()
                    .filter(|e| e.task.as_str() == t)
                    .map(|e| e.depends_on.as_str().to_owned()),
            );
        }
    }
    false
}

#[test]
fn auth_system_splits_by_role_with_reasoned_dependencies() {
    let Some(bytes) = load("auth-system.md") else {
        return;
    };
    let prd = Prd::from_bytes(&bytes).unwrap();
    let outcome = plan_heuristic(&prd, Strategy::Auto);
    assert_eq!(
        outcome.strategy,
        Strategy::Generic,
        "{}",
        outcome.strategy_reason
    );
    let epics: Vec<&str> = outcome.plan.epics.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(epics, ["Backend", "Frontend", "DevOps", "QA"]);
    assert_eq!(outcome.plan.tasks.len(), 14);
    outcome.plan.validate().unwrap();
    let title = |id: &str| {
        outcome
            .plan
            .tasks
            .iter()
            .find(|t| t.id.as_str() == id)
            .unwrap()
            .title
            .clone()
    };
    assert!(
        title("TASK-BE-005").starts_with("JWT"),
        "{}",
        title("TASK-BE-005")
    );
    // "JWT issuing …; depends on the user schema."
    let jwt = edge(&outcome, "TASK-BE-005", "TASK-BE-003").expect("JWT depends on the schema");
    assert_eq!(jwt.kind, EdgeKind::Explicit);
    // "Session-aware header …; needs `GET /me`." → the REST API task that lists `GET /me`.
    assert_eq!(
        edge(&outcome, "TASK-FE-002", "TASK-BE-001").unwrap().kind,
        EdgeKind::Explicit
    );
    // CI after the build exists (the Dockerfile task).
    assert!(edge(&outcome, "TASK-OPS-002", "TASK-OPS-001").is_some());
    // The end-to-end test waits for the finished system: the UI and, through it, the API.
    assert!(edge(&outcome, "TASK-QA-002", "TASK-FE-001").is_some());
    assert!(reaches(&outcome, "TASK-QA-002", "TASK-BE-001"));
    // Unit tests of hashing come after hashing.
    assert!(edge(&outcome, "TASK-QA-001", "TASK-BE-002").is_some());
    for t in &outcome.plan.tasks {
        assert!(!t.acceptance.is_empty() && !t.files.is_empty(), "{t:?}");
    }
    assert!(outcome.edges.iter().all(|e| !e.reason.is_empty()));
}

#[test]
fn trading_bot_splits_by_layer() {
    let Some(bytes) = load("trading-bot.md") else {
        return;
    };
    let prd = Prd::from_bytes(&bytes).unwrap();
    let outcome = plan_heuristic(&prd, Strategy::Auto);
    assert_eq!(
        outcome.strategy,
        Strategy::Layer,
        "{}",
        outcome.strategy_reason
    );
    let codes: Vec<&str> = outcome.plan.tasks.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(codes[0], "TASK-L0-001");
    assert_eq!(outcome.plan.epics.len(), 3);
    assert_eq!(outcome.plan.tasks.len(), 9);
    // "Stop-loss and take-profit management; depends on the order router."
    let stop = outcome
        .plan
        .tasks
        .iter()
        .find(|t| t.title.starts_with("Stop-loss"))
        .unwrap();
    let router = outcome
        .plan
        .tasks
        .iter()
        .find(|t| t.title.starts_with("Order router"))
        .unwrap();
    assert!(stop.depends_on.contains(&router.id));
    // The constraint "every order passes the risk check" reaches the order router's criteria.
    assert!(
        router.acceptance.iter().any(|a| a.contains("risk check")),
        "{:?}",
        router.acceptance
    );
    outcome.plan.validate().unwrap();
}

#[test]
fn mvp_phases_are_gated() {
    let Some(bytes) = load("mvp-phases.md") else {
        return;
    };
    let prd = Prd::from_bytes(&bytes).unwrap();
    let outcome = plan_heuristic(&prd, Strategy::Auto);
    assert_eq!(
        outcome.strategy,
        Strategy::Phase,
        "{}",
        outcome.strategy_reason
    );
    let graph = outcome.plan.validate().unwrap();
    // Three phases, each strictly after the previous one.
    let wave_of = |prefix: &str| -> Vec<u32> {
        outcome
            .plan
            .tasks
            .iter()
            .filter(|t| t.id.as_str().starts_with(prefix))
            .map(|t| graph.wave(graph.index_of(&t.id).unwrap()))
            .collect()
    };
    let p1 = wave_of("TASK-P1-");
    let p2 = wave_of("TASK-P2-");
    let p3 = wave_of("TASK-P3-");
    assert!(p1.iter().max() < p2.iter().min(), "{p1:?} {p2:?}");
    assert!(p2.iter().max() < p3.iter().min(), "{p2:?} {p3:?}");
    assert!(
        outcome
            .edges
            .iter()
            .any(|e| e.kind == EdgeKind::PhaseGate && e.reason.contains("Phase 2"))
    );
}

#[test]
fn every_strategy_gives_a_valid_plan_for_every_sample() {
    for name in ["auth-system.md", "trading-bot.md", "mvp-phases.md"] {
        let Some(bytes) = load(name) else { return };
        let prd = Prd::from_bytes(&bytes).unwrap();
        for strategy in [
            Strategy::Layer,
            Strategy::Phase,
            Strategy::Function,
            Strategy::Generic,
        ] {
            let outcome = plan_heuristic(&prd, strategy);
            assert_eq!(outcome.strategy, strategy);
            outcome
                .plan
                .validate()
                .unwrap_or_else(|e| panic!("{name} / {strategy}: {e}"));
            let total: usize = prd.work_sections().map(|s| s.items.len()).sum();
            assert_eq!(
                outcome.plan.tasks.len(),
                total,
                "{name} / {strategy}: every requirement becomes one task"
            );
        }
    }
}

#[test]
fn empty_and_binary_are_refused() {
    let Some(empty) = load("empty.md") else {
        return;
    };
    assert_eq!(Prd::from_bytes(&empty), Err(PrdError::Empty));
    let Some(binary) = load("binary.md") else {
        return;
    };
    let err = Prd::from_bytes(&binary).unwrap_err();
    assert!(matches!(err, PrdError::Binary { .. }), "{err:?}");
    assert!(err.to_string().contains("not text"));
}

#[test]
fn same_input_same_plan() {
    let Some(bytes) = load("auth-system.md") else {
        return;
    };
    let prd = Prd::from_bytes(&bytes).unwrap();
    let a = plan_heuristic(&prd, Strategy::Auto);
    let b = plan_heuristic(&prd, Strategy::Auto);
    assert_eq!(a.plan, b.plan);
}

/// Written here, not in `../shared`: the shape of many real PRDs, where each product area
/// has a `### Requirements` list and every item repeats the same acceptance boilerplate.
const AREAS_WITH_BOILERPLATE: &str = "# PRD: Shop\n\n\
## Billing\n\nInvoices and payments for shop owners.\n\n### Requirements\n\
- Schema for billing records with migrations.\n  - Errors are shown next to the field that caused them.\n\
- REST API: `GET /billing` with validation.\n  - Errors are shown next to the field that caused them.\n\n\
## Search\n\nFinding products fast.\n\n### Requirements\n\
- Search API: `GET /search` over product names; depends on the search schema.\n  - Errors are shown next to the field that caused them.\n\
- Search page with filters; needs `GET /search`.\n  - Errors are shown next to the field that caused them.\n\
- Unit tests for search ranking.\n  - Errors are shown next to the field that caused them.\n\
- Documentation of the search filters.\n  - Errors are shown next to the field that caused them.\n";

#[test]
fn areas_name_their_epics_and_boilerplate_links_nothing() {
    let prd = Prd::parse(AREAS_WITH_BOILERPLATE).unwrap();
    let outcome = plan_heuristic(&prd, Strategy::Auto);
    let names: Vec<&str> = outcome.plan.epics.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(
        names,
        ["Billing", "Search"],
        "a `### Requirements` list belongs to its area"
    );
    assert_eq!(
        outcome.plan.epics[0].goal,
        "Invoices and payments for shop owners."
    );
    let epic_of = |id: &orch_core::TaskId| {
        outcome
            .plan
            .tasks
            .iter()
            .find(|t| &t.id == id)
            .unwrap()
            .epic
            .clone()
    };
    for e in &outcome.edges {
        assert_eq!(
            epic_of(&e.task),
            epic_of(&e.depends_on),
            "the shared acceptance sentence must not link areas: {e:?}"
        );
        assert!(
            !e.reason.contains("errors"),
            "boilerplate is not a reason: {}",
            e.reason
        );
    }
    // "depends on the search schema": there is no search schema, so no guess at the billing one.
    assert!(
        outcome
            .edges
            .iter()
            .all(|e| e.kind != EdgeKind::Explicit || !e.reason.contains("schema")),
        "{:#?}",
        outcome.edges
    );
}
