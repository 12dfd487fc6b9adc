//! What `orch session list|logs|attach|kill` call, on a repository's `.orch/`.

use std::time::Duration;

use orch_core::TaskId;
use orch_session::{
    BackendKind, SessionError, SessionStatus, Sessions, attempt_log_path, wait_until_done,
};

use crate::support::{Env, GRACE, Kind};

fn sessions(env: &Env) -> Sessions {
    Sessions::open(env.orch_dir())
        .with_tmux_socket(&env.socket)
        .unwrap()
        .with_kill_grace(GRACE)
}

async fn list_find_logs_attach_kill(env: Env) {
    let mut spec = env.spec(
        "TASK-C-001",
        &["sh", "-c", "echo first; sleep 0.5; echo second"],
    );
    spec.log_path = attempt_log_path(&env.orch_dir(), &TaskId::new("TASK-C-001").unwrap(), 1);
    let short = env.backend.spawn(&spec).await.unwrap();
    let long = env
        .backend
        .spawn(&env.spec("TASK-C-002", &["sleep", "30"]))
        .await
        .unwrap();
    let s = sessions(&env);

    let list = s.list().await.unwrap();
    assert_eq!(list.len(), 2);
    assert!(list.iter().all(|i| i.status == SessionStatus::Running));
    let json = serde_json::to_value(&list).unwrap();
    assert_eq!(json[1]["task"], "TASK-C-002");
    assert_eq!(json[1]["status"]["state"], "running");
    assert_eq!(
        json[1]["backend"],
        match env.kind {
            Kind::Tmux => "tmux",
            Kind::Process => "process",
        }
    );

    // Found by id, id prefix, name and task.
    let id = long.id.to_string();
    for q in [id.as_str(), &id[..8], long.name.as_str(), "TASK-C-002"] {
        assert_eq!(s.find(q).await.unwrap().handle.id, long.id, "{q}");
    }
    assert!(matches!(
        s.find("TASK-NOPE-1").await,
        Err(SessionError::NotFound { .. })
    ));

    let attach = s.attach_command("TASK-C-002").await.unwrap();
    assert_eq!(attach.is_some(), env.kind == Kind::Tmux);
    assert_eq!(list[1].attach, attach);

    // Logs, followed to the end of the session.
    let mut out = Vec::new();
    s.write_logs(&short.id.to_string(), &mut out, true)
        .await
        .unwrap();
    assert_eq!(String::from_utf8(out).unwrap(), "first\nsecond\n");
    assert_eq!(s.log_path("TASK-C-001").await.unwrap(), spec.log_path);

    let killed = s.kill(&long.name).await.unwrap();
    assert_eq!(killed.status, SessionStatus::Killed);
    assert_eq!(
        killed.handle.backend,
        match env.kind {
            Kind::Tmux => BackendKind::Tmux,
            Kind::Process => BackendKind::Process,
        }
    );

    // Both ended; cleaning up forgets them, and a task's log is still found by attempt.
    wait_until_done(env.backend.as_ref(), &short, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(s.cleanup_finished().await.unwrap(), 2);
    assert!(s.list().await.unwrap().is_empty());
    assert_eq!(s.log_path("TASK-C-001").await.unwrap(), spec.log_path);
    let mut out = Vec::new();
    s.write_logs("TASK-C-001", &mut out, true).await.unwrap();
    assert_eq!(String::from_utf8(out).unwrap(), "first\nsecond\n");
}

async fn ambiguous_prefixes_are_refused(env: Env) {
    // Two sessions whose ids share a prefix.
    let mut a = env.spec("TASK-Z-001", &["sleep", "30"]);
    let mut b = env.spec("TASK-Z-002", &["sleep", "30"]);
    a.id = "abcd0000-0000-4000-8000-000000000001".parse().unwrap();
    b.id = "abcd0000-0000-4000-8000-000000000002".parse().unwrap();
    let ha = env.backend.spawn(&a).await.unwrap();
    let hb = env.backend.spawn(&b).await.unwrap();
    let s = sessions(&env);
    assert!(matches!(
        s.find("abcd").await,
        Err(SessionError::Ambiguous { count: 2, .. })
    ));
    assert_eq!(
        s.find("abcd0000-0000-4000-8000-000000000002")
            .await
            .unwrap()
            .handle
            .id,
        b.id
    );
    env.backend.cleanup(&ha).await.unwrap();
    env.backend.cleanup(&hb).await.unwrap();
}

crate::both_backends!(list_find_logs_attach_kill, ambiguous_prefixes_are_refused);
