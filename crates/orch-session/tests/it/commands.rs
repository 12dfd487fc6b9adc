//! Plain commands through the pool, on both backends: no task, no prompt file, no agent.

use std::time::Duration;

use orch_session::{
    AgentEvent, AgentOutcome, CommandSpec, ExitStatus, PoolConfig, SessionEnd, SessionEvent,
    SessionRequest,
};

use crate::both_backends;
use crate::support::{Env, alive, eventually, group_members, read_pid};

both_backends!(
    three_commands_one_timed_out_with_its_group,
    a_slow_subscriber_counts_what_it_missed,
);

fn sh(env: &Env, name: &str, script: &str) -> SessionRequest {
    SessionRequest::new(
        CommandSpec::new(["sh", "-c", script]).env("GREETING", "hello"),
        env.work(),
        env.log(name),
    )
}

async fn three_commands_one_timed_out_with_its_group(env: Env) {
    let pool = env.pool(PoolConfig {
        max_sessions: 3,
        timeout: Duration::from_secs(20),
        idle_timeout: None,
        poll_interval: Duration::from_millis(50),
        ..PoolConfig::default()
    });
    let mut events = pool.subscribe();

    let ok = pool
        .run(sh(&env, "ok", "echo \"$GREETING\"; echo err >&2"))
        .await
        .unwrap();
    let failing = pool
        .run(sh(&env, "failing", "echo bad; exit 3").label("check"))
        .await
        .unwrap();
    // A background child in the same process group, then a wait past the limit.
    let slow = pool
        .run(
            sh(&env, "slow", "sleep 60 & echo $! > bg.pid; sleep 60")
                .label("slow")
                .timeout(Duration::from_millis(700)),
        )
        .await
        .unwrap();
    assert!(ok.handle().name.starts_with("sh-"), "{}", ok.handle().name);
    assert!(failing.handle().name.starts_with("check-"));
    assert_eq!(ok.handle().task, None);
    let pgid = slow.handle().pid.unwrap();
    let child = read_pid(&env.work().join("bg.pid")).await;
    assert!(alive(child));

    let report = ok.wait().await.unwrap();
    assert_eq!(
        report.end,
        SessionEnd::Exited {
            exit: ExitStatus::Code(0)
        }
    );
    assert_eq!(report.outcome, AgentOutcome::Succeeded);
    assert_eq!(
        std::fs::read_to_string(&report.handle.log_path).unwrap(),
        "hello\nerr\n"
    );
    assert!(report.events.contains(&AgentEvent::Output {
        line: "hello".into()
    }));
    assert_eq!(report.usage, Default::default());

    let report = failing.wait().await.unwrap();
    assert_eq!(
        report.end,
        SessionEnd::Exited {
            exit: ExitStatus::Code(3)
        }
    );
    assert_eq!(
        report.outcome,
        AgentOutcome::Failed {
            subtype: "exit_code_3".into(),
            message: None
        }
    );

    let report = slow.wait().await.unwrap();
    assert_eq!(report.end, SessionEnd::TimedOut);
    assert_eq!(report.outcome, AgentOutcome::TimedOut { idle: false });
    assert!(report.duration_ms >= 700, "{}", report.duration_ms);
    assert!(
        report.duration_ms < 15_000,
        "the session's own limit applies, not the pool's: {}",
        report.duration_ms
    );
    assert!(
        eventually(Duration::from_secs(3), || group_members(pgid).is_empty()).await,
        "left behind: {:?}",
        group_members(pgid)
    );
    assert!(!alive(child), "the background child survived the timeout");
    assert!(pool.active().is_empty());

    let (mut started, mut exited, mut timed_out) = (0, 0, 0);
    while let Some(e) = events.try_recv() {
        match e {
            SessionEvent::Started { task, .. } => {
                assert_eq!(task, None);
                started += 1;
            }
            SessionEvent::Exited { task, .. } => {
                assert_eq!(task, None);
                exited += 1;
            }
            SessionEvent::TimedOut { task, .. } => {
                assert_eq!(task, None);
                timed_out += 1;
            }
            _ => {}
        }
    }
    assert_eq!((started, exited, timed_out), (3, 3, 1));
    assert_eq!(events.missed(), 0);
}

async fn a_slow_subscriber_counts_what_it_missed(env: Env) {
    let pool = env.pool(PoolConfig {
        event_capacity: 4,
        timeout: Duration::from_secs(20),
        ..PoolConfig::default()
    });
    let mut events = pool.subscribe();
    let report = pool
        .run(sh(
            &env,
            "many",
            "for i in 1 2 3 4 5 6 7 8 9 10; do echo line $i; done",
        ))
        .await
        .unwrap()
        .wait()
        .await
        .unwrap();
    assert_eq!(report.outcome, AgentOutcome::Succeeded);
    let mut seen = Vec::new();
    while let Some(e) = events.try_recv() {
        seen.push(e);
    }
    assert!(events.missed() > 0, "{seen:?}");
    assert_eq!(seen.len(), 4);
    assert!(matches!(seen.last(), Some(SessionEvent::Exited { .. })));
}
