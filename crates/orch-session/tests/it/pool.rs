//! The session pool with the fake Claude Code, on both backends.

use std::sync::Arc;
use std::time::Duration;

use orch_core::TaskId;
use orch_session::{
    AgentEvent, AgentOutcome, AgentRequest, CustomCommand, ExitStatus, PoolConfig, SessionEnd,
    SessionEvent,
};
use orch_testutils::{FAKE_SCENARIO_ENV, FakeScenario, FakeStep, TempRepo};

use crate::both_backends;
use crate::support::{Env, alive, eventually, fake_claude, group_members, read_pid};

both_backends!(
    fake_claude_edits_and_commits,
    verdicts_of_the_fake,
    wall_clock_timeout_leaves_no_process,
    idle_timeout_catches_a_permission_prompt,
    at_most_n_at_once,
    kill_through_the_pool,
    retry_resumes_the_agent_session,
);

fn quick() -> PoolConfig {
    PoolConfig {
        timeout: Duration::from_secs(20),
        idle_timeout: Some(Duration::from_secs(10)),
        poll_interval: Duration::from_millis(50),
        ..PoolConfig::default()
    }
}

fn request(env: &Env, task: &str, scenario: &FakeScenario) -> AgentRequest {
    let mut req = AgentRequest::new(
        TaskId::new(task).unwrap(),
        env.prompt("Do the task.\n"),
        env.work(),
    );
    req.env.push((FAKE_SCENARIO_ENV.into(), scenario.to_json()));
    req
}

async fn fake_claude_edits_and_commits(env: Env) {
    let repo = TempRepo::new();
    let pool = env.pool(quick());
    let mut events = pool.subscribe();
    let mut req = request(
        &env,
        "TASK-P-001",
        &FakeScenario::preset("edit_and_commit").unwrap(),
    );
    req.cwd = repo.path().to_owned();
    req.permission_mode = Some("acceptEdits".into());
    let session = pool
        .start(fake_claude(), req, env.log("TASK-P-001"))
        .await
        .unwrap();
    let id = session.id();
    let report = session.wait().await.unwrap();

    assert_eq!(report.outcome, AgentOutcome::Succeeded);
    assert_eq!(
        report.end,
        SessionEnd::Exited {
            exit: ExitStatus::Code(0)
        }
    );
    assert_eq!(
        repo.git(&["log", "--format=%s", "-1"]),
        "fake agent: add src/fake.txt"
    );
    // The orch session id is Claude's session id on a first attempt.
    assert_eq!(report.usage.agent_session_id, Some(id.to_string()));
    assert_eq!(report.usage.cost_usd, Some(0.0123));
    assert_eq!(report.usage.num_turns, Some(3));
    assert!(report.usage.tokens.unwrap().output_tokens > 0);
    assert!(
        report
            .events
            .iter()
            .any(|e| matches!(e, AgentEvent::ToolUse { name, .. } if name == "Write"))
    );
    assert!(
        matches!(&report.events[0], AgentEvent::Init { cwd: Some(cwd), .. } if cwd.ends_with("repo"))
    );

    // Events: Started first, Exited last, Output in between.
    let mut seen = Vec::new();
    while let Some(e) = events.try_recv() {
        seen.push(e);
    }
    assert!(matches!(
        seen.first(),
        Some(SessionEvent::Started { adopted: false, .. })
    ));
    assert!(matches!(
        seen.last(),
        Some(SessionEvent::Exited {
            outcome: AgentOutcome::Succeeded,
            ..
        })
    ));
    assert!(seen.iter().any(|e| matches!(
        e,
        SessionEvent::Output {
            event: AgentEvent::Result(_),
            ..
        }
    )));
    // Finished sessions are cleaned up; the log stays.
    assert!(pool.backend().list().await.unwrap().is_empty());
    assert!(env.log("TASK-P-001").exists());
    assert_eq!(pool.available_slots(), 3);
}

async fn verdicts_of_the_fake(env: Env) {
    let pool = env.pool(quick());
    let cases = [
        (
            FakeScenario::preset("api_error").unwrap(),
            None,
            AgentOutcome::ApiError {
                message: Some("API Error: 529 overloaded".into()),
            },
            ExitStatus::Code(0),
        ),
        (
            FakeScenario::preset("crash").unwrap(),
            None,
            AgentOutcome::Crashed {
                exit: Some(ExitStatus::Code(1)),
            },
            ExitStatus::Code(1),
        ),
        (
            FakeScenario::preset("max_turns").unwrap(),
            Some(2),
            AgentOutcome::Failed {
                subtype: "error_max_turns".into(),
                message: Some(String::new()),
            },
            ExitStatus::Code(1),
        ),
        (
            FakeScenario::new()
                .text("hm")
                .fail("error_during_execution"),
            None,
            AgentOutcome::Failed {
                subtype: "error_during_execution".into(),
                message: Some(String::new()),
            },
            ExitStatus::Code(1),
        ),
    ];
    let mut running = Vec::new();
    for (i, (scenario, max_turns, _, _)) in cases.iter().enumerate() {
        let task = format!("TASK-V-00{i}");
        let mut req = request(&env, &task, scenario);
        req.max_turns = *max_turns;
        running.push(
            pool.start(fake_claude(), req, env.log(&task))
                .await
                .unwrap(),
        );
    }
    for (session, (_, _, outcome, exit)) in running.into_iter().zip(cases) {
        let report = session.wait().await.unwrap();
        assert_eq!(report.outcome, outcome, "{:?}", report.events);
        assert_eq!(report.end, SessionEnd::Exited { exit });
    }
}

async fn wall_clock_timeout_leaves_no_process(env: Env) {
    let pool = env.pool(PoolConfig {
        timeout: Duration::from_millis(700),
        ..quick()
    });
    let mut events = pool.subscribe();
    let scenario = FakeScenario::new()
        .text("working")
        .step(FakeStep::SpawnChild("child.pid".into()))
        .step(FakeStep::Hang);
    let session = pool
        .start(
            fake_claude(),
            request(&env, "TASK-W-001", &scenario),
            env.log("TASK-W-001"),
        )
        .await
        .unwrap();
    let pgid = session.handle().pid.unwrap();
    let child = read_pid(&env.work().join("child.pid")).await;
    assert!(alive(child));
    let report = session.wait().await.unwrap();
    assert_eq!(report.end, SessionEnd::TimedOut);
    assert_eq!(report.outcome, AgentOutcome::TimedOut { idle: false });
    assert!(report.duration_ms >= 700, "{}", report.duration_ms);
    assert!(
        eventually(Duration::from_secs(2), || group_members(pgid).is_empty()).await,
        "left behind: {:?}",
        group_members(pgid)
    );
    assert!(!alive(child), "the agent's child survived the timeout");
    let mut timed_out = false;
    while let Some(e) = events.try_recv() {
        timed_out |= matches!(e, SessionEvent::TimedOut { .. });
    }
    assert!(timed_out);
}

async fn idle_timeout_catches_a_permission_prompt(env: Env) {
    let pool = env.pool(PoolConfig {
        idle_timeout: Some(Duration::from_millis(500)),
        ..quick()
    });
    let mut events = pool.subscribe();
    let session = pool
        .start(
            fake_claude(),
            request(
                &env,
                "TASK-I-001",
                &FakeScenario::preset("permission_prompt").unwrap(),
            ),
            env.log("TASK-I-001"),
        )
        .await
        .unwrap();
    let pgid = session.handle().pid.unwrap();
    let report = session.wait().await.unwrap();
    assert_eq!(report.end, SessionEnd::IdleTimedOut);
    assert_eq!(report.outcome, AgentOutcome::TimedOut { idle: true });
    // The prompt (no newline) is in the events as plain output.
    assert!(report.events.iter().any(
        |e| matches!(e, AgentEvent::Output { line } if line.contains("Allow Bash(rm -rf build)?"))
    ), "{:?}", report.events);
    assert!(eventually(Duration::from_secs(2), || group_members(pgid).is_empty()).await);
    let mut idle = false;
    while let Some(e) = events.try_recv() {
        idle |= matches!(e, SessionEvent::Idle { idle_ms, .. } if idle_ms >= 500);
    }
    assert!(idle);
}

async fn at_most_n_at_once(env: Env) {
    let pool = env.pool(PoolConfig {
        max_sessions: 2,
        ..quick()
    });
    let mut events = pool.subscribe();
    let agent = Arc::new(CustomCommand::new(["sleep", "0.3"]).unwrap());
    let mut joins = Vec::new();
    for i in 0..5 {
        let pool = pool.clone();
        let agent = agent.clone();
        let req = AgentRequest::new(
            TaskId::new(format!("TASK-N-00{i}")).unwrap(),
            env.prompt("x"),
            env.work(),
        );
        let log = env.log(&format!("TASK-N-00{i}"));
        joins.push(tokio::spawn(async move {
            pool.start(agent, req, log)
                .await
                .unwrap()
                .wait()
                .await
                .unwrap()
        }));
    }
    for j in joins {
        assert_eq!(j.await.unwrap().outcome, AgentOutcome::Succeeded);
    }
    let (mut now, mut max, mut started) = (0i32, 0i32, 0);
    while let Some(e) = events.try_recv() {
        match e {
            SessionEvent::Started { .. } => {
                now += 1;
                started += 1;
                max = max.max(now);
            }
            SessionEvent::Exited { .. } => now -= 1,
            _ => {}
        }
    }
    assert_eq!(started, 5);
    assert_eq!(max, 2);
}

async fn kill_through_the_pool(env: Env) {
    let pool = env.pool(quick());
    let session = pool
        .start(
            fake_claude(),
            request(&env, "TASK-X-001", &FakeScenario::preset("hang").unwrap()),
            env.log("TASK-X-001"),
        )
        .await
        .unwrap();
    // Wait for the agent to say something, then stop it.
    let log = env.log("TASK-X-001");
    assert!(
        eventually(Duration::from_secs(5), || std::fs::read_to_string(&log)
            .is_ok_and(|l| l.contains("Thinking")))
        .await
    );
    assert_eq!(pool.active().len(), 1);
    assert!(pool.kill(session.id()));
    let report = session.wait().await.unwrap();
    assert_eq!(report.end, SessionEnd::Killed);
    assert_eq!(report.outcome, AgentOutcome::Killed);
    assert!(pool.active().is_empty());
    assert!(!pool.kill(report.handle.id));
}

async fn retry_resumes_the_agent_session(env: Env) {
    let pool = env.pool(quick());
    let scenario = FakeScenario::preset("success").unwrap().record("args.json");
    let mut req = request(&env, "TASK-R-001", &scenario);
    req.resume = Some("4e6d95f2-0000-4000-8000-000000000001".into());
    req.model = Some("claude-test".into());
    let report = pool
        .start(fake_claude(), req, env.log("TASK-R-001"))
        .await
        .unwrap()
        .wait()
        .await
        .unwrap();
    assert_eq!(report.outcome, AgentOutcome::Succeeded);
    assert_eq!(
        report.usage.agent_session_id.as_deref(),
        Some("4e6d95f2-0000-4000-8000-000000000001")
    );
    let recorded: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(env.work().join("args.json")).unwrap())
            .unwrap();
    let argv: Vec<&str> = recorded["argv"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert!(
        argv.windows(2)
            .any(|w| w == ["--resume", "4e6d95f2-0000-4000-8000-000000000001"])
    );
    assert!(!argv.contains(&"--session-id"));
    assert!(argv.windows(2).any(|w| w == ["--model", "claude-test"]));
    // The instruction file arrived on standard input.
    assert_eq!(recorded["prompt"], "Do the task.\n");
}
