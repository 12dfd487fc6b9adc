//! The SessionBackend contract, for both backends.

use std::time::{Duration, Instant};

use orch_session::{BackendKind, CommandSpec, ExitStatus, SessionStatus, Stdin, wait_until_done};

use crate::both_backends;
use crate::support::{Env, GRACE, Kind, alive, eventually, group_members, read_pid};

both_backends!(
    output_and_exit_status_are_recorded,
    environment_directory_and_stdin,
    arguments_reach_the_program_verbatim,
    kill_stops_the_whole_group,
    kill_escalates_to_sigkill,
    killed_from_outside_is_gone,
    list_and_cleanup,
    attach_command,
    missing_program_and_bad_specs,
);

async fn output_and_exit_status_are_recorded(env: Env) {
    let spec = env.spec(
        "TASK-A-001",
        &["sh", "-c", "echo out; echo err >&2; exit 3"],
    );
    let handle = env.backend.spawn(&spec).await.unwrap();
    assert_eq!(handle.name, spec.session_name());
    assert!(handle.name.starts_with("TASK-A-001-"));
    assert_eq!(
        handle.backend,
        match env.kind {
            Kind::Tmux => BackendKind::Tmux,
            Kind::Process => BackendKind::Process,
        }
    );
    let status = wait_until_done(env.backend.as_ref(), &handle, Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(
        status,
        SessionStatus::Exited {
            exit: ExitStatus::Code(3)
        }
    );
    assert_eq!(
        std::fs::read_to_string(&handle.log_path).unwrap(),
        "out\nerr\n"
    );
    // A second run of the same task appends to its own log; this one appends.
    let again = env.backend.spawn(&spec_with_id(&spec)).await.unwrap();
    wait_until_done(env.backend.as_ref(), &again, Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(
        std::fs::read_to_string(&handle.log_path).unwrap(),
        "out\nerr\nout\nerr\n"
    );
}

fn spec_with_id(spec: &orch_session::SpawnSpec) -> orch_session::SpawnSpec {
    let mut s = spec.clone();
    s.id = orch_session::SessionId::random();
    s
}

async fn environment_directory_and_stdin(env: Env) {
    let input = env.dir.path().join("stdin.txt");
    std::fs::write(&input, "from stdin\n").unwrap();
    let mut spec = env.spec("TASK-A-002", &["sh", "-c", "pwd; echo \"$FOO\"; cat"]);
    spec.command = spec
        .command
        .env("FOO", "a b'c $HOME")
        .stdin(Stdin::File(input));
    let handle = env.backend.spawn(&spec).await.unwrap();
    let status = wait_until_done(env.backend.as_ref(), &handle, Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(
        status,
        SessionStatus::Exited {
            exit: ExitStatus::Code(0)
        }
    );
    let log = std::fs::read_to_string(&handle.log_path).unwrap();
    let work = env.work().canonicalize().unwrap();
    assert_eq!(
        log,
        format!("{}\na b'c $HOME\nfrom stdin\n", work.display())
    );
}

async fn arguments_reach_the_program_verbatim(env: Env) {
    let nasty = [
        "$(touch pwned)",
        "`touch pwned2`",
        "a; touch pwned3",
        "it's \"q\"",
        "*",
        "\\n",
    ];
    let mut argv = vec!["printf", "%s\\n"];
    argv.extend(nasty);
    let handle = env
        .backend
        .spawn(&env.spec("TASK-A-003", &argv))
        .await
        .unwrap();
    wait_until_done(env.backend.as_ref(), &handle, Duration::from_secs(10))
        .await
        .unwrap();
    let log = std::fs::read_to_string(&handle.log_path).unwrap();
    assert_eq!(log.lines().collect::<Vec<_>>(), nasty);
    for f in ["pwned", "pwned2", "pwned3"] {
        assert!(!env.work().join(f).exists(), "{f} was created: injection");
    }
}

async fn kill_stops_the_whole_group(env: Env) {
    let fake = orch_testutils::fake_agent_path();
    let scenario = orch_testutils::FakeScenario::new()
        .step(orch_testutils::FakeStep::SpawnChild("child.pid".into()))
        .step(orch_testutils::FakeStep::Hang);
    let mut spec = env.spec(
        "TASK-K-001",
        &[
            fake.to_str().unwrap(),
            "-p",
            "--output-format",
            "stream-json",
            "--verbose",
        ],
    );
    spec.command = spec
        .command
        .env(orch_testutils::FAKE_SCENARIO_ENV, scenario.to_json());
    let handle = env.backend.spawn(&spec).await.unwrap();
    let child = read_pid(&env.work().join("child.pid")).await;
    let pgid = handle.pid.expect("a process group");
    assert!(
        group_members(pgid).contains(&child),
        "the child runs in the session's group"
    );
    assert_eq!(
        env.backend.status(&handle).await.unwrap(),
        SessionStatus::Running
    );

    let started = Instant::now();
    env.backend.kill(&handle).await.unwrap();
    // The fake dies of SIGINT: no escalation needed.
    assert!(started.elapsed() < GRACE, "took {:?}", started.elapsed());
    assert!(
        eventually(Duration::from_secs(2), || group_members(pgid).is_empty()).await,
        "left behind: {:?}",
        group_members(pgid)
    );
    assert!(!alive(child));
    assert_eq!(
        env.backend.status(&handle).await.unwrap(),
        SessionStatus::Killed
    );
    // Killing again is fine.
    env.backend.kill(&handle).await.unwrap();
}

async fn kill_escalates_to_sigkill(env: Env) {
    let spec = env.spec(
        "TASK-K-002",
        &["sh", "-c", "trap '' INT TERM; echo ready; sleep 30"],
    );
    let handle = env.backend.spawn(&spec).await.unwrap();
    assert!(
        eventually(Duration::from_secs(5), || std::fs::read_to_string(
            &handle.log_path
        )
        .is_ok_and(|l| l.contains("ready")))
        .await
    );
    let pgid = handle.pid.unwrap();
    let started = Instant::now();
    env.backend.kill(&handle).await.unwrap();
    let took = started.elapsed();
    assert!(
        took >= GRACE * 2,
        "SIGINT and SIGTERM each get the grace period: {took:?}"
    );
    assert!(took < GRACE * 2 + Duration::from_secs(3), "{took:?}");
    assert!(eventually(Duration::from_secs(2), || group_members(pgid).is_empty()).await);
    assert_eq!(
        env.backend.status(&handle).await.unwrap(),
        SessionStatus::Killed
    );
}

async fn killed_from_outside_is_gone(env: Env) {
    let handle = env
        .backend
        .spawn(&env.spec("TASK-K-003", &["sleep", "30"]))
        .await
        .unwrap();
    let pgid = handle.pid.unwrap();
    // tmux reports the pane's pid as soon as it forks; the child becomes a group leader
    // (setsid) a moment later. Killing the group before that would miss it.
    assert!(eventually(Duration::from_secs(5), || !group_members(pgid).is_empty()).await);
    let _ = std::process::Command::new("kill")
        .args(["-KILL", "--", &format!("-{pgid}")])
        .status();
    let status = wait_until_done(env.backend.as_ref(), &handle, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(status, SessionStatus::Gone);
}

async fn list_and_cleanup(env: Env) {
    let running = env
        .backend
        .spawn(&env.spec("TASK-L-001", &["sleep", "30"]))
        .await
        .unwrap();
    let done = env
        .backend
        .spawn(&env.spec("TASK-L-002", &["true"]))
        .await
        .unwrap();
    wait_until_done(env.backend.as_ref(), &done, Duration::from_secs(10))
        .await
        .unwrap();

    // Another repository on the same tmux server (or machine) is not listed.
    let other_dir = tempfile::tempdir().unwrap();
    let other: std::sync::Arc<dyn orch_session::SessionBackend> = match env.kind {
        Kind::Tmux => std::sync::Arc::new(
            orch_session::TmuxBackend::new(other_dir.path())
                .with_socket(&env.socket)
                .unwrap(),
        ),
        Kind::Process => std::sync::Arc::new(orch_session::ProcessBackend::new(other_dir.path())),
    };
    let mut foreign = env.spec("TASK-L-003", &["sleep", "30"]);
    foreign.log_path = other_dir.path().join("x.log");
    let foreign = other.spawn(&foreign).await.unwrap();

    let listed: Vec<String> = env
        .backend
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|h| h.name)
        .collect();
    assert_eq!(listed, [running.name.clone(), done.name.clone()]);

    env.backend.cleanup(&done).await.unwrap();
    env.backend.cleanup(&running).await.unwrap();
    assert!(env.backend.list().await.unwrap().is_empty());
    assert!(group_members(running.pid.unwrap()).is_empty());
    // Logs stay.
    assert!(done.log_path.exists());
    // Only the session's own files are gone from the sessions directory.
    let left: Vec<_> = std::fs::read_dir(env.state_dir())
        .unwrap()
        .flatten()
        .collect();
    assert!(left.is_empty(), "{left:?}");
    other.kill(&foreign).await.unwrap();
    other.cleanup(&foreign).await.unwrap();
}

async fn attach_command(env: Env) {
    let handle = env
        .backend
        .spawn(&env.spec("TASK-T-001", &["sleep", "30"]))
        .await
        .unwrap();
    let attach = env.backend.attach_command(&handle);
    match env.kind {
        Kind::Tmux => {
            let attach = attach.unwrap();
            assert_eq!(
                attach,
                [
                    "tmux",
                    "-L",
                    env.socket.as_str(),
                    "attach-session",
                    "-t",
                    &format!("={}", handle.name)
                ]
            );
            // The session carries its id as a user option.
            let out = std::process::Command::new("tmux")
                .args([
                    "-L",
                    &env.socket,
                    "show-options",
                    "-v",
                    "-t",
                    &format!("={}:", handle.name),
                    "@orch_id",
                ])
                .output()
                .unwrap();
            assert_eq!(
                String::from_utf8_lossy(&out.stdout).trim(),
                handle.id.to_string()
            );
        }
        Kind::Process => assert_eq!(attach, None),
    }
    env.backend.cleanup(&handle).await.unwrap();
}

async fn missing_program_and_bad_specs(env: Env) {
    let handle = env
        .backend
        .spawn(&env.spec("TASK-M-001", &["/nonexistent/agent"]))
        .await
        .unwrap();
    let status = wait_until_done(env.backend.as_ref(), &handle, Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(
        status,
        SessionStatus::Exited {
            exit: ExitStatus::Code(127)
        }
    );

    let mut spec = env.spec("TASK-M-002", &["true"]);
    spec.cwd = env.dir.path().join("missing");
    assert!(env.backend.spawn(&spec).await.is_err());
    let mut spec = env.spec("TASK-M-003", &["true"]);
    spec.command = CommandSpec::new(["true"]).env("BAD NAME", "x");
    assert!(env.backend.spawn(&spec).await.is_err());
    let spec = env.spec("TASK-M-004", &[]);
    assert!(env.backend.spawn(&spec).await.is_err());
    // Nothing half-registered is left.
    assert_eq!(env.backend.list().await.unwrap().len(), 1);
}

/// Dropping the process backend kills the groups of the sessions it started; dropping a
/// tmux backend leaves its sessions running (that is what tmux is for).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_a_backend() {
    for kind in [Kind::Process, Kind::Tmux] {
        let Some(env) = Env::new(kind) else { continue };
        let backend = env.open_backend();
        let handle = backend
            .spawn(&env.spec("TASK-D-001", &["sh", "-c", "sleep 30; true"]))
            .await
            .unwrap();
        let pgid = handle.pid.unwrap();
        assert!(!group_members(pgid).is_empty());
        drop(backend);
        let bound = match kind {
            Kind::Process => Duration::from_secs(2),
            Kind::Tmux => Duration::from_millis(300),
        };
        let emptied = eventually(bound, || group_members(pgid).is_empty()).await;
        match kind {
            Kind::Process => assert!(emptied, "left behind: {:?}", group_members(pgid)),
            Kind::Tmux => {
                assert!(!emptied, "a tmux session must outlive its backend");
                env.open_backend().kill(&handle).await.unwrap();
                assert!(group_members(pgid).is_empty());
            }
        }
    }
}
