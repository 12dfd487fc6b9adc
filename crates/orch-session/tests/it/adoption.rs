//! Adoption after an orchestrator restart: the orchestrator's handles go away while a
//! session runs; a new backend on the same sessions directory lists it, and a pool adopts
//! it and reads its exit status when it ends.

use std::sync::Arc;
use std::time::Duration;

use orch_core::TaskId;
use orch_session::{
    AgentEvent, AgentOutcome, AgentRequest, ExitStatus, PoolConfig, SessionEnd, SessionEvent,
    SessionPool, SessionStatus, wait_until_done,
};
use orch_testutils::{FAKE_SCENARIO_ENV, FakeScenario};

use crate::support::{Env, Kind, fake_claude};

fn slow_success() -> FakeScenario {
    FakeScenario::new()
        .text("before the restart")
        .sleep_ms(800)
        .text("after the restart")
}

/// Starts the slow fake through a first pool, then "crashes" that orchestrator: the pool,
/// its supervisor and the handles are gone (for the process backend the backend is leaked
/// rather than dropped, as a crash would not run its destructor).
async fn start_then_lose_it(env: &Env) -> orch_session::SessionHandle {
    let first_backend = env.open_backend();
    let pool = SessionPool::new(Arc::clone(&first_backend), PoolConfig::default());
    let mut req = AgentRequest::new(
        TaskId::new("TASK-AD-001").unwrap(),
        env.prompt("x"),
        env.work(),
    );
    req.env
        .push((FAKE_SCENARIO_ENV.into(), slow_success().to_json()));
    // Start through the backend directly with the adapter's command, as the pool would,
    // so no supervisor of the first orchestrator outlives it.
    let agent = fake_claude();
    let spec = orch_session::SpawnSpec::new(
        req.cwd.clone(),
        orch_session::CommandSpec::new(["true"]),
        env.log("TASK-AD-001"),
    )
    .with_task(req.task.clone());
    req.session_id = Some(spec.id.to_string());
    let spec = orch_session::SpawnSpec {
        command: orch_session::Agent::command(agent.as_ref(), &req).unwrap(),
        ..spec
    };
    let handle = first_backend.spawn(&spec).await.unwrap();
    let log = handle.log_path.clone();
    assert!(
        crate::support::eventually(Duration::from_secs(5), || std::fs::read_to_string(&log)
            .is_ok_and(|l| l.contains("before the restart")))
        .await
    );
    let name = handle.name.clone();
    drop(pool);
    drop(handle);
    match env.kind {
        Kind::Tmux => drop(first_backend),
        Kind::Process => std::mem::forget(first_backend),
    }
    // Found again by name only.
    let backend = env.open_backend();
    let listed = backend.list().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].name, name);
    assert_eq!(
        backend.status(&listed[0]).await.unwrap(),
        SessionStatus::Running
    );
    listed.into_iter().next().unwrap()
}

async fn adopt_and_finish(env: Env) {
    let handle = start_then_lose_it(&env).await;
    let backend = env.open_backend();
    let pool = SessionPool::new(backend, PoolConfig::default());
    let mut events = pool.subscribe();
    let report = pool
        .adopt(fake_claude(), handle.clone())
        .unwrap()
        .wait()
        .await
        .unwrap();
    assert_eq!(
        report.end,
        SessionEnd::Exited {
            exit: ExitStatus::Code(0)
        }
    );
    assert_eq!(report.outcome, AgentOutcome::Succeeded);
    // The verdict used the whole log, including what was said before the adoption…
    assert!(
        report
            .events
            .iter()
            .any(|e| matches!(e, AgentEvent::Text { text } if text == "before the restart"))
    );
    assert_eq!(report.usage.agent_session_id, Some(handle.id.to_string()));
    // …but only new output was published.
    let mut texts = Vec::new();
    let mut adopted = false;
    while let Some(e) = events.try_recv() {
        match e {
            SessionEvent::Output {
                event: AgentEvent::Text { text },
                ..
            } => texts.push(text),
            SessionEvent::Started { adopted: a, .. } => adopted = a,
            _ => {}
        }
    }
    assert!(adopted);
    assert_eq!(texts, ["after the restart"]);
}

async fn ended_while_nobody_watched(env: Env) {
    let handle = start_then_lose_it(&env).await;
    let backend = env.open_backend();
    // Nobody supervises it; its status is still recorded once it ends.
    let status = wait_until_done(backend.as_ref(), &handle, Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(
        status,
        SessionStatus::Exited {
            exit: ExitStatus::Code(0)
        }
    );
    let listed = backend.list().await.unwrap();
    assert_eq!(listed.len(), 1, "an unreported end stays listed");
    let pool = SessionPool::new(backend, PoolConfig::default());
    let report = pool
        .adopt(fake_claude(), listed[0].clone())
        .unwrap()
        .wait()
        .await
        .unwrap();
    assert_eq!(report.outcome, AgentOutcome::Succeeded);
    assert!(pool.backend().list().await.unwrap().is_empty());
}

crate::both_backends!(adopt_and_finish, ended_while_nobody_watched);
