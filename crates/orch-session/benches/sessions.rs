//! Session benchmarks (plain `main`, std `Instant`):
//!
//! 1. Spawn-to-exit latency of a no-op agent (`true`) through each backend (spawn, then poll
//!    `status` until it is no longer running), against raw `tmux new-session -d` plus
//!    polling `has-session` until the session is gone, in the same run: medians and ratios.
//! 2. 50 sessions (`sleep 0.2` each) through a pool of 8: total time minus the agents' own
//!    time (the ideal, ceil(50/8) * 0.2 s), per session.
//!
//! Run: `cargo bench -p orch-session --bench sessions`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use orch_core::TaskId;
use orch_session::{
    AgentOutcome, AgentRequest, CommandSpec, CustomCommand, PoolConfig, ProcessBackend,
    SessionBackend, SessionPool, SpawnSpec, TmuxBackend, tmux_available, wait_until_done,
};

const ROUNDS: usize = 30;
const WARMUP: usize = 3;
const POOL_SESSIONS: usize = 50;
const POOL_SIZE: usize = 8;
const AGENT_SECONDS: f64 = 0.2;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn tmux(socket: &str, args: &[&str]) -> std::process::Output {
    std::process::Command::new("tmux")
        .args(["-L", socket, "-f", "/dev/null"])
        .args(args)
        .env("SHELL", "/bin/sh")
        .env_remove("TMUX")
        .output()
        .expect("run tmux")
}

/// `tmux new-session -d 'true'`, then poll `has-session` with the same backoff as
/// `wait_until_done` (1 ms doubling to 50 ms) until it is gone.
async fn raw_tmux_round(socket: &str, i: usize) -> Duration {
    let name = format!("raw-{i}");
    let started = Instant::now();
    let out = tmux(socket, &["new-session", "-d", "-s", &name, "true"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut step = Duration::from_millis(1);
    let target = format!("={name}");
    loop {
        let alive = tokio::process::Command::new("tmux")
            .args(["-L", socket, "has-session", "-t", &target])
            .stderr(std::process::Stdio::null())
            .status()
            .await
            .expect("run tmux")
            .success();
        if !alive {
            return started.elapsed();
        }
        tokio::time::sleep(step).await;
        step = (step * 2).min(Duration::from_millis(50));
    }
}

async fn backend_round(backend: &dyn SessionBackend, dir: &std::path::Path, i: usize) -> Duration {
    let spec = SpawnSpec::new(
        dir,
        CommandSpec::new(["true"]),
        dir.join(format!("logs/{i}.log")),
    )
    .with_task(TaskId::new(format!("BENCH-{i}")).unwrap());
    let started = Instant::now();
    let handle = backend.spawn(&spec).await.expect("spawn");
    let status = wait_until_done(backend, &handle, Duration::from_secs(10))
        .await
        .expect("status");
    let took = started.elapsed();
    assert!(!status.is_running(), "did not end: {status:?}");
    backend.cleanup(&handle).await.expect("cleanup");
    took
}

async fn pool_run(backend: Arc<dyn SessionBackend>, dir: &std::path::Path) -> Duration {
    let pool = SessionPool::new(
        backend,
        PoolConfig {
            max_sessions: POOL_SIZE,
            timeout: Duration::from_secs(60),
            ..PoolConfig::default()
        },
    );
    let agent = Arc::new(CustomCommand::new(["sleep", "0.2"]).unwrap());
    let prompt = dir.join("prompt.md");
    std::fs::write(&prompt, "x").unwrap();
    let started = Instant::now();
    let mut joins = Vec::new();
    for i in 0..POOL_SESSIONS {
        let pool = pool.clone();
        let agent = agent.clone();
        let req = AgentRequest::new(TaskId::new(format!("POOL-{i}")).unwrap(), &prompt, dir);
        let log = dir.join(format!("pool-logs/{i}.log"));
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
        let report = j.await.unwrap();
        assert_eq!(report.outcome, AgentOutcome::Succeeded);
    }
    started.elapsed()
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let tmux_ok = tmux_available();
        let tag = &uuid::Uuid::new_v4().simple().to_string()[..8];
        let raw_socket = format!("orch-bench-raw-{tag}");
        let our_socket = format!("orch-bench-{tag}");
        let process: Arc<dyn SessionBackend> =
            Arc::new(ProcessBackend::new(dir.path().join("sessions-process")));
        let tmux_backend: Option<Arc<dyn SessionBackend>> = tmux_ok.then(|| {
            Arc::new(
                TmuxBackend::new(dir.path().join("sessions-tmux"))
                    .with_socket(&our_socket)
                    .unwrap(),
            ) as Arc<dyn SessionBackend>
        });

        println!("spawn-to-exit latency of `true`, {ROUNDS} rounds each (after {WARMUP} warm-up), interleaved:");
        let (mut raw, mut ours_tmux, mut ours_proc) = (Vec::new(), Vec::new(), Vec::new());
        for i in 0..ROUNDS + WARMUP {
            let keep = i >= WARMUP;
            if tmux_ok {
                let r = raw_tmux_round(&raw_socket, i).await;
                let t = backend_round(tmux_backend.as_deref().unwrap(), dir.path(), i).await;
                if keep {
                    raw.push(r);
                    ours_tmux.push(t);
                }
            }
            let p = backend_round(process.as_ref(), dir.path(), 1000 + i).await;
            if keep {
                ours_proc.push(p);
            }
        }
        let proc_median = median(ours_proc);
        if tmux_ok {
            let raw_median = median(raw);
            let tmux_median = median(ours_tmux);
            println!("  raw tmux new-session -d + has-session poll: median {:7.2} ms", ms(raw_median));
            println!(
                "  TmuxBackend spawn + status poll:            median {:7.2} ms  (ratio to raw tmux {:.2})",
                ms(tmux_median),
                tmux_median.as_secs_f64() / raw_median.as_secs_f64()
            );
            println!(
                "  ProcessBackend spawn + status poll:         median {:7.2} ms  (ratio to raw tmux {:.2})",
                ms(proc_median),
                proc_median.as_secs_f64() / raw_median.as_secs_f64()
            );
        } else {
            println!("  notice: tmux is not installed; tmux figures skipped");
            println!("  ProcessBackend spawn + status poll:         median {:7.2} ms", ms(proc_median));
        }

        #[allow(clippy::cast_precision_loss)]
        let ideal = Duration::from_secs_f64(
            POOL_SESSIONS.div_ceil(POOL_SIZE) as f64 * AGENT_SECONDS,
        );
        println!(
            "\n{POOL_SESSIONS} sessions of `sleep 0.2` through a pool of {POOL_SIZE} (ideal {:.2} s):",
            ideal.as_secs_f64()
        );
        let mut runs: Vec<(&str, Arc<dyn SessionBackend>)> = vec![("process", process.clone())];
        if let Some(t) = &tmux_backend {
            runs.push(("tmux", t.clone()));
        }
        for (name, backend) in runs {
            let total = pool_run(backend, dir.path()).await;
            let overhead = total.saturating_sub(ideal);
            #[allow(clippy::cast_precision_loss)]
            let per = ms(overhead) / POOL_SESSIONS as f64;
            println!(
                "  {name:7}: total {:.3} s, overhead {:.3} s, {per:.2} ms per session",
                total.as_secs_f64(),
                overhead.as_secs_f64()
            );
        }
        if tmux_ok {
            use std::os::unix::fs::MetadataExt;
            let uid = std::fs::metadata("/proc/self").map(|m| m.uid()).ok();
            let base = std::env::var("TMUX_TMPDIR").unwrap_or_else(|_| "/tmp".into());
            for socket in [&raw_socket, &our_socket] {
                let _ = tmux(socket, &["kill-server"]);
                if let Some(uid) = uid {
                    let _ = std::fs::remove_file(format!("{base}/tmux-{uid}/{socket}"));
                }
            }
        }
    });
}
