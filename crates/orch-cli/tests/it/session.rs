//! `orch session …` against a real process-backend session started by the library, as the
//! engine will start them.

use orch_core::{TaskId, exit_code};
use orch_session::{CommandSpec, ProcessBackend, SessionBackend, SpawnSpec};

use crate::support::{initialised, ok, orch};

#[test]
fn list_logs_kill_a_live_session() {
    let repo = initialised();
    let orch_dir = repo.path().join(".orch");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let backend = ProcessBackend::new(orch_dir.join("sessions"));
    let spec = SpawnSpec::new(
        repo.path(),
        CommandSpec::new(["sh", "-c", "echo hello from the agent; sleep 60"]),
        orch_dir.join("logs/TASK-DB-001/1.log"),
    )
    .with_task(TaskId::new("TASK-DB-001").unwrap());
    let handle = runtime.block_on(backend.spawn(&spec)).unwrap();

    let listed: serde_json::Value =
        serde_json::from_str(&ok(repo.path(), &["session", "list", "--json"]).stdout).unwrap();
    assert_eq!(listed[0]["task"], "TASK-DB-001");
    assert_eq!(listed[0]["status"]["state"], "running", "{listed}");
    let table = ok(repo.path(), &["session", "list"]).stdout;
    assert!(
        table.contains(&handle.name) && table.contains("running"),
        "{table}"
    );

    // logs by task id; the first line arrives once the shell has started
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let logs = ok(repo.path(), &["session", "logs", "TASK-DB-001"]).stdout;
        if logs.contains("hello from the agent") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no output in the log: {logs:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }

    let attach = orch(repo.path(), &["session", "attach", &handle.name]);
    assert_eq!(attach.code, exit_code::INVALID_INPUT);
    assert!(attach.stderr.contains("logs"), "{}", attach.stderr);

    let killed = ok(
        repo.path(),
        &["session", "kill", &handle.id.to_string()[..8]],
    );
    assert!(killed.stdout.contains("killed"), "{}", killed.stdout);
    let status = runtime.block_on(backend.status(&handle)).unwrap();
    assert!(!status.is_running(), "{status:?}");
    let pgid = handle.pid.unwrap();
    assert!(
        !std::path::Path::new(&format!("/proc/{pgid}")).exists()
            || std::fs::read_to_string(format!("/proc/{pgid}/stat"))
                .unwrap_or_default()
                .contains(") Z"),
        "the agent's process is gone"
    );
}

#[test]
fn unknown_session_is_not_found() {
    let repo = initialised();
    let run = orch(repo.path(), &["session", "logs", "nope-1234"]);
    assert_eq!(run.code, exit_code::NOT_FOUND, "{}", run.transcript());
    assert!(run.stderr.contains("orch session list"), "{}", run.stderr);
    let run = ok(repo.path(), &["session", "list"]);
    assert!(run.stdout.contains("No sessions"), "{}", run.stdout);
}
