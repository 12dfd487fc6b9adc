//! orch-session alone: three commands through a bounded session pool, one of them over its
//! time limit (killed with its whole process group), each logged to its own file.
//!
//! `cargo run -p orch-examples --bin session-pool`

use std::sync::Arc;
use std::time::Duration;

use orch_session::{CommandSpec, PoolConfig, ProcessBackend, SessionPool, SessionRequest};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let backend = Arc::new(ProcessBackend::new(dir.path().join("sessions")));
    // Two at a time; each may run 10 s unless its request says otherwise.
    let pool = SessionPool::new(
        backend,
        PoolConfig {
            max_sessions: 2,
            timeout: Duration::from_secs(10),
            ..PoolConfig::default()
        },
    );
    let commands = [
        (
            "count",
            vec!["sh", "-c", "for i in 1 2 3; do echo $i; done"],
            None,
        ),
        ("date", vec!["date", "-u"], None),
        // A child in the background too: the timeout kills the whole group.
        (
            "stuck",
            vec!["sh", "-c", "sleep 60 & sleep 60"],
            Some(Duration::from_millis(500)),
        ),
    ];
    tokio::runtime::Runtime::new()?.block_on(async {
        let mut running = Vec::new();
        for (label, argv, limit) in commands {
            let mut request = SessionRequest::new(
                CommandSpec::new(argv),
                dir.path(),
                dir.path().join(format!("logs/{label}.log")),
            )
            .label(label);
            if let Some(limit) = limit {
                request = request.timeout(limit);
            }
            running.push((label, pool.run(request).await?));
        }
        for (label, session) in running {
            let report = session.wait().await?;
            let log = std::fs::read_to_string(&report.handle.log_path).unwrap_or_default();
            println!(
                "{label}: {:?} after {} ms; log: {:?}",
                report.end,
                report.duration_ms,
                log.trim()
            );
        }
        Ok::<(), Box<dyn std::error::Error>>(())
    })
}
