//! Nothing outlives a session: a `setsid`/`nohup` child of the agent dies with it, in the
//! bubblewrap sandbox (its PID namespace) and without one (its environment marker). Inside
//! the sandbox the host is read-only and hidden directories are empty. Output floods are
//! bounded: the log keeps its limit, lines are cut.

use std::sync::Arc;
use std::time::Duration;

use orch_core::TaskId;
use orch_session::{
    AgentOutcome, AgentRequest, BwrapProbe, CustomCommand, PoolConfig, Sandbox, probe_bwrap,
};

use crate::both_backends;
use crate::support::*;

/// bubblewrap, or (outside CI) a skip with a notice.
pub fn bwrap_or_skip() -> Option<Sandbox> {
    match probe_bwrap() {
        BwrapProbe::Works(program) => Some(Sandbox::bwrap(program)),
        BwrapProbe::Unavailable(why) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI is set but bubblewrap does not work: {why}"
            );
            eprintln!("notice: skipping the sandboxed case: {why}");
            None
        }
    }
}

/// An agent that starts a detached writer (its own session, ignoring hangups) and exits.
const ESCAPE: &str = "setsid sh -c 'while true; do echo tick >> escaped.txt; sleep 0.05; done' </dev/null >/dev/null 2>&1 & nohup sh -c 'sleep 1000' >/dev/null 2>&1 & sleep 0.3; echo started";

async fn run(env: &Env, config: PoolConfig, script: &str) -> orch_session::SessionReport {
    let pool = env.pool(config);
    let agent = Arc::new(CustomCommand::new(["sh", "-c", script]).unwrap());
    let request = AgentRequest::new(
        TaskId::new("TASK-S-001").unwrap(),
        env.prompt("go"),
        env.work(),
    );
    pool.start(agent, request, env.log("TASK-S-001"))
        .await
        .unwrap()
        .wait()
        .await
        .unwrap()
}

/// Whether `escaped.txt` keeps growing after the session ended.
async fn still_written(env: &Env) -> bool {
    let file = env.work().join("escaped.txt");
    let size = || std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
    let before = size();
    tokio::time::sleep(Duration::from_millis(400)).await;
    size() != before
}

async fn detached_children_die_with_the_session_without_a_sandbox(env: Env) {
    let report = run(&env, PoolConfig::default(), ESCAPE).await;
    assert_eq!(report.outcome, AgentOutcome::Succeeded);
    assert!(
        std::fs::metadata(env.work().join("escaped.txt")).is_ok(),
        "the escape never ran"
    );
    assert!(
        !still_written(&env).await,
        "a setsid child outlived the session"
    );
}

async fn detached_children_die_with_the_session_in_the_sandbox(env: Env) {
    let Some(sandbox) = bwrap_or_skip() else {
        return;
    };
    // `env -u` drops the marker: only the PID namespace can catch this one.
    let script = format!(
        "exec env -u ORCH_SESSION_ID sh -c \"{}\"",
        ESCAPE.replace('"', "\\\"")
    );
    let config = PoolConfig {
        sandbox: Some(sandbox),
        ..PoolConfig::default()
    };
    let report = run(&env, config, &script).await;
    assert_eq!(
        report.outcome,
        AgentOutcome::Succeeded,
        "{:?}",
        report.events
    );
    assert!(
        env.work().join("escaped.txt").exists(),
        "the escape never ran"
    );
    assert!(
        !still_written(&env).await,
        "a setsid child outlived the sandboxed session"
    );
}

async fn the_sandbox_is_read_only_outside_the_workspace_and_hides_what_it_must(env: Env) {
    let Some(sandbox) = bwrap_or_skip() else {
        return;
    };
    let secret_dir = env.dir.path().join("secret");
    std::fs::create_dir_all(&secret_dir).unwrap();
    std::fs::write(secret_dir.join("key"), "s3cret").unwrap();
    // A file the host already has (under /tmp: the sandbox's /tmp is private, so the
    // agent's write lands there, not here), and a path outside /tmp (read-only).
    let host_file = env.dir.path().join("outside.txt");
    std::fs::write(&host_file, "host\n").unwrap();
    let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
    let outside = std::path::PathBuf::from(home).join(format!(
        ".orch-sandbox-probe-{}",
        uuid::Uuid::new_v4().simple()
    ));
    let script = format!(
        "echo mine > inside.txt; echo x > {host_file} 2>/dev/null; (echo x > {outside}) 2>/dev/null && echo WROTE-OUTSIDE; cat {key} 2>/dev/null && echo READ-SECRET; cat {prompt} >/dev/null && echo PROMPT-OK; true",
        host_file = host_file.display(),
        outside = outside.display(),
        key = secret_dir.join("key").display(),
        prompt = env.dir.path().join("prompt.md").display(),
    );
    let config = PoolConfig {
        sandbox: Some(sandbox.hide(&secret_dir)),
        ..PoolConfig::default()
    };
    let report = run(&env, config, &script).await;
    assert_eq!(report.outcome, AgentOutcome::Succeeded);
    let log = std::fs::read_to_string(env.log("TASK-S-001")).unwrap();
    assert_eq!(
        std::fs::read_to_string(env.work().join("inside.txt")).unwrap(),
        "mine\n"
    );
    assert!(!outside.exists() && !log.contains("WROTE-OUTSIDE"), "{log}");
    assert_eq!(std::fs::read_to_string(&host_file).unwrap(), "host\n");
    assert!(
        !log.contains("s3cret") && !log.contains("READ-SECRET"),
        "{log}"
    );
    assert!(
        log.contains("PROMPT-OK"),
        "the instruction file stays readable: {log}"
    );
}

async fn a_flood_of_output_is_bounded(env: Env) {
    let config = PoolConfig {
        log_limit: Some(200_000),
        ..PoolConfig::default()
    };
    // 5 MB on one line, then 100,000 short lines.
    let script = "head -c 5000000 /dev/zero | tr '\\0' x; echo; i=0; while [ $i -lt 20000 ]; do echo line $i; i=$((i+1)); done; echo done";
    let report = run(&env, config, script).await;
    assert_eq!(report.outcome, AgentOutcome::Succeeded);
    let size = std::fs::metadata(env.log("TASK-S-001")).unwrap().len();
    assert!(size < 200_000 + 200, "the log grew to {size} bytes");
    let log = std::fs::read_to_string(env.log("TASK-S-001")).unwrap();
    assert!(
        log.contains("[orch: the log reached its limit of 200000 bytes;"),
        "{}",
        &log[log.len() - 200..]
    );
    assert!(
        report.events.len() <= 256 + 8,
        "{} events kept",
        report.events.len()
    );
}

both_backends!(
    detached_children_die_with_the_session_without_a_sandbox,
    detached_children_die_with_the_session_in_the_sandbox,
    the_sandbox_is_read_only_outside_the_workspace_and_hides_what_it_must,
    a_flood_of_output_is_bounded,
);
