//! `orch stop`: ends the run in progress the way Ctrl-C in its terminal would, for a run
//! started with `orch run --detach` (or in another terminal, or by an MCP client) that has no
//! terminal to press Ctrl-C in.
//!
//! The run is found through the single-runner lease, never through a pid file or a process
//! name: only a lease with a fresh heartbeat, taken on this host by a process that still
//! exists, is signalled. A stale lease, or one from another host, names a pid that may now be
//! anything, so it is never signalled.

use std::path::Path;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use orch_core::exit_code;
use orch_store::{LeaseInfo, Store};
use serde::Serialize;

use crate::cli::StopArgs;
use crate::cmd::open_store;
use crate::error::{CliError, CliResult};
use crate::output::print_json;
use crate::repo::RepoPaths;

/// Who holds the runner lease, as far as this host can tell.
#[derive(Debug)]
pub enum Runner {
    /// Nobody: no lease, a stale one, or one whose process on this host is gone.
    Idle,
    /// A live run on this host.
    Here(LeaseInfo),
    /// A lease with a fresh heartbeat from another host (alive as far as anyone here knows).
    Elsewhere(LeaseInfo),
}

/// Reads the lease and decides whether its holder is alive. `stale` is the configured
/// `[store] lease_stale_seconds`, the age after which a runner counts as dead.
pub fn runner(store: &Store, stale: Duration) -> CliResult<Runner> {
    let Some(lease) = store.lease()? else {
        return Ok(Runner::Idle);
    };
    let age = time::OffsetDateTime::now_utc() - lease.heartbeat_at;
    let age = Duration::try_from(age).unwrap_or(Duration::ZERO);
    if age >= stale {
        return Ok(Runner::Idle);
    }
    if lease.host != orch_store::host_name() {
        return Ok(Runner::Elsewhere(lease));
    }
    Ok(if process_alive(lease.pid) {
        Runner::Here(lease)
    } else {
        Runner::Idle
    })
}

/// The error for "a run already holds the lease" (exit 9), naming it.
pub fn lease_held(lease: &LeaseInfo) -> CliError {
    CliError::new(
        exit_code::LEASE_HELD,
        format!(
            "a run is already in progress: {} (pid {} on {})",
            lease.owner, lease.pid, lease.host
        ),
    )
    .with_hint("`orch status` shows its progress; `orch stop` stops it")
}

/// Whether `pid` names a process that exists and is not a zombie.
pub fn process_alive(pid: u32) -> bool {
    let Ok(raw) = i32::try_from(pid) else {
        return false;
    };
    if raw <= 1 || pid == std::process::id() {
        return false;
    }
    let proc_dir = Path::new("/proc");
    if proc_dir.join("self").exists() {
        // `/proc/PID/stat` is `PID (name) STATE …`; the name may hold spaces and parens.
        return std::fs::read_to_string(proc_dir.join(pid.to_string()).join("stat"))
            .ok()
            .and_then(|stat| {
                let state = stat.rsplit_once(')')?.1.trim_start().chars().next()?;
                Some(state != 'Z' && state != 'X')
            })
            .unwrap_or(false);
    }
    // Signal 0 checks for existence without sending anything; EPERM means it exists.
    matches!(
        kill(Pid::from_raw(raw), None),
        Ok(()) | Err(nix::errno::Errno::EPERM)
    )
}

/// What `orch stop --json` prints.
#[derive(Debug, Serialize)]
struct Stopped<'a> {
    /// Whether the run ended (released the lease) within the wait.
    stopped: bool,
    /// Whether running sessions were stopped at once (`--now`).
    now: bool,
    pid: u32,
    owner: &'a str,
    host: &'a str,
    waited_ms: u64,
}

pub fn run(repo: &RepoPaths, args: &StopArgs) -> CliResult {
    let store = open_store(repo)?;
    let config = repo.config()?;
    let stale = Duration::from_secs(config.store.lease_stale_seconds);
    let lease = match runner(&store, stale)? {
        Runner::Here(lease) => lease,
        Runner::Elsewhere(lease) => {
            return Err(CliError::new(
                exit_code::LEASE_HELD,
                format!(
                    "the run in progress ({}, pid {}) is on host {}, not this one",
                    lease.owner, lease.pid, lease.host
                ),
            )
            .with_hint("run `orch stop` on that host"));
        }
        Runner::Idle => return Err(not_running()),
    };
    let pid = Pid::from_raw(i32::try_from(lease.pid).map_err(|_| not_running())?);
    terminate(pid)?;
    // A run stops gracefully on the first SIGTERM and at once on the second. Signals that
    // arrive together may be merged into one, so the second waits until the first is seen.
    let mut last_signal = Instant::now();
    let mut signals = 1;
    let grace = Duration::from_secs(u64::from(config.run.stop_grace_seconds));
    // Long enough for running tasks to finish within the grace period as configured by
    // default; past a minute the caller is told the run is still finishing.
    let limit = if args.now {
        Duration::from_secs(20)
    } else {
        (grace + Duration::from_secs(15)).min(Duration::from_secs(60))
    };
    let started = Instant::now();
    let mut stopped = false;
    while started.elapsed() < limit {
        let holder = store.lease()?;
        if holder.is_none_or(|h| h.owner != lease.owner) || !process_alive(lease.pid) {
            stopped = true;
            break;
        }
        // With --now, SIGTERM again until the run is gone: a repeat only keeps it at "now".
        if args.now
            && last_signal.elapsed() >= Duration::from_millis(if signals == 1 { 300 } else { 2000 })
        {
            if kill(pid, Signal::SIGTERM) == Err(nix::errno::Errno::ESRCH) {
                stopped = true;
                break;
            }
            signals += 1;
            last_signal = Instant::now();
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    if stopped {
        // The lease goes back just before the run prints its report and exits.
        let exit_by = Instant::now() + Duration::from_secs(5);
        while process_alive(lease.pid) && Instant::now() < exit_by {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    let waited_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    if args.json {
        return print_json(&Stopped {
            stopped,
            now: args.now,
            pid: lease.pid,
            owner: &lease.owner,
            host: &lease.host,
            waited_ms,
        });
    }
    if stopped {
        println!("stopped orch run {} (pid {})", lease.owner, lease.pid);
    } else {
        println!(
            "asked orch run {} (pid {}) to stop; it is still finishing its running tasks \
             (for up to {} s); `orch stop --now` stops them at once",
            lease.owner,
            lease.pid,
            grace.as_secs()
        );
    }
    Ok(())
}

fn not_running() -> CliError {
    CliError::new(exit_code::NOT_FOUND, "no run is in progress")
        .with_hint("`orch run --detach` starts one in the background")
}

fn terminate(pid: Pid) -> CliResult {
    kill(pid, Signal::SIGTERM).map_err(|errno| match errno {
        nix::errno::Errno::ESRCH => not_running(),
        other => CliError::new(
            exit_code::FAILURE,
            format!("cannot signal the run (pid {pid}): {other}"),
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::process_alive;

    #[test]
    fn only_other_live_processes_count_as_alive() {
        // orch never signals itself or init.
        assert!(!process_alive(std::process::id()));
        assert!(!process_alive(1));
        assert!(!process_alive(0));
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        assert!(process_alive(child.id()));
        child.kill().unwrap();
        // Killed but not reaped: a zombie is not alive.
        std::thread::sleep(std::time::Duration::from_millis(200));
        assert!(!process_alive(child.id()));
        child.wait().unwrap();
    }
}
