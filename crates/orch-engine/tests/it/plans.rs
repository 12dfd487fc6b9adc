//! Whole runs: the shared sample PRDs planned offline and run to the end with an agent that
//! writes one file per task; every task merged exactly once, every epic merged into main,
//! nothing left behind.

use orch_core::TaskStatus;
use orch_engine::RunOutcome;
use orch_testutils::shared_fixtures_or_skip;

use crate::support::*;

fn run_prd(name: &str) {
    let Some(dir) = shared_fixtures_or_skip("prd") else {
        return;
    };
    let text = std::fs::read_to_string(dir.join(name)).unwrap();
    let prd = orch_ai::Prd::parse(&text).unwrap();
    let mut plan = orch_ai::plan_heuristic(&prd, orch_ai::Strategy::Auto).plan;
    for task in &mut plan.tasks {
        let file = format!("work/{}.txt", task.id);
        task.description = format!(
            "{} {}",
            orch_testutils::FAKE_SCENARIO_MARKER,
            writes(&file).to_json()
        );
        task.files.push(file);
    }
    let repo = repo_with(&plan);
    let mut options = options(repo.path(), 0);
    options.parallel = 4;
    let report = run(options);

    assert_eq!(
        report.outcome,
        RunOutcome::Completed,
        "{name}: {:?}",
        statuses(&repo)
    );
    for task in &plan.tasks {
        assert_eq!(status(&repo, task.id.as_str()), TaskStatus::Completed);
        let tried = attempts(&repo, task.id.as_str());
        assert_eq!(tried.len(), 1, "{}: ran more than once", task.id);
        assert_eq!(tried[0].result.as_deref(), Some("passed"));
        // Its work is on main: every epic was merged.
        let on_main = repo.git(&["show", &format!("main:work/{}.txt", task.id)]);
        assert!(on_main.contains("written for"), "{}", task.id);
    }
    // Dependencies ran first: a task started only after each dependency's attempt ended.
    for task in &plan.tasks {
        let started = attempts(&repo, task.id.as_str())[0].started_at;
        for dep in &task.depends_on {
            let ended = attempts(&repo, dep.as_str())[0].ended_at.unwrap();
            assert!(
                ended <= started,
                "{} started before {dep} finished",
                task.id
            );
        }
    }
    assert_clean(&repo);
}

#[test]
fn auth_system_prd_runs_to_the_end() {
    run_prd("auth-system.md");
}

#[test]
fn trading_bot_prd_runs_to_the_end() {
    run_prd("trading-bot.md");
}

#[test]
fn mvp_phases_prd_runs_to_the_end() {
    run_prd("mvp-phases.md");
}
