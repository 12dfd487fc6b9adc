//! Process groups: signals to a whole group, whether a group still has members, and a
//! process's start time (to tell a live session from a reused pid).

use std::time::Duration;

use nix::errno::Errno;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

/// Sends `signal` to every process of group `pgid`. A group that is already empty is not
/// an error.
pub(crate) fn signal_group(pgid: u32, signal: Signal) {
    let Ok(raw) = i32::try_from(pgid) else { return };
    if raw <= 1 {
        // Never signal group 0 (our own) or 1.
        return;
    }
    match killpg(Pid::from_raw(raw), signal) {
        Ok(()) | Err(Errno::ESRCH) => {}
        Err(e) => tracing::warn!(pgid, ?signal, error = %e, "cannot signal process group"),
    }
}

/// Whether process group `pgid` has a member that is not a zombie.
pub(crate) fn group_alive(pgid: u32) -> bool {
    let Ok(raw) = i32::try_from(pgid) else {
        return false;
    };
    if raw <= 1 {
        return false;
    }
    match killpg(Pid::from_raw(raw), None) {
        Err(Errno::ESRCH) => false,
        // EPERM: someone else's group with our number; treat as alive but not ours.
        Err(_) => true,
        Ok(()) => {
            // Zombies count for kill(2); look closer where /proc exists.
            group_members(pgid).is_none_or(|members| !members.is_empty())
        }
    }
}

/// Non-zombie members of a process group, from `/proc` (Linux); `None` without `/proc`.
pub(crate) fn group_members(pgid: u32) -> Option<Vec<u32>> {
    let entries = std::fs::read_dir("/proc").ok()?;
    let mut members = Vec::new();
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        if let Some(stat) = read_stat(pid)
            && stat.pgrp == pgid
            && stat.state != 'Z'
            && stat.state != 'X'
        {
            members.push(pid);
        }
    }
    Some(members)
}

/// Whether process `pid` runs (and is not a zombie), and started at `start_ticks` when that
/// is known.
pub(crate) fn process_alive(pid: u32, start_ticks: Option<u64>) -> bool {
    match read_stat(pid) {
        Some(stat) => {
            stat.state != 'Z' && stat.state != 'X' && start_ticks.is_none_or(|t| t == stat.start)
        }
        None => {
            // No /proc entry: either gone, or a system without /proc.
            if std::path::Path::new("/proc/self/stat").exists() {
                false
            } else {
                let Ok(raw) = i32::try_from(pid) else {
                    return false;
                };
                nix::sys::signal::kill(Pid::from_raw(raw), None).is_ok()
            }
        }
    }
}

/// The start time of `pid` in clock ticks since boot (Linux only).
pub(crate) fn start_ticks(pid: u32) -> Option<u64> {
    read_stat(pid).map(|s| s.start)
}

struct Stat {
    state: char,
    pgrp: u32,
    start: u64,
}

fn read_stat(pid: u32) -> Option<Stat> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may contain spaces: split after the last `)`.
    let rest = &text[text.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // rest starts at field 3 (state); pgrp is field 5, starttime field 22.
    Some(Stat {
        state: fields.first()?.chars().next()?,
        pgrp: fields.get(2)?.parse().ok()?,
        start: fields.get(19)?.parse().ok()?,
    })
}

/// Stops a process group: SIGINT, then SIGTERM, then SIGKILL, waiting up to `grace` after
/// each of the first two for the group to empty. `reap` is called while waiting so a parent
/// can collect its child (zombies keep a group alive for `kill(2)`). Returns the signal
/// that emptied the group.
pub(crate) async fn stop_group(
    pgid: u32,
    grace: Duration,
    mut reap: impl FnMut(),
) -> Option<Signal> {
    for signal in [Signal::SIGINT, Signal::SIGTERM, Signal::SIGKILL] {
        reap();
        if !group_alive(pgid) {
            return None;
        }
        signal_group(pgid, signal);
        let wait = if signal == Signal::SIGKILL {
            // SIGKILL cannot be caught; this bound only covers the kernel's work.
            Duration::from_secs(5)
        } else {
            grace
        };
        let deadline = tokio::time::Instant::now() + wait;
        let mut step = Duration::from_millis(2);
        loop {
            reap();
            if !group_alive(pgid) {
                return Some(signal);
            }
            if tokio::time::Instant::now() >= deadline {
                break;
            }
            tokio::time::sleep(step).await;
            step = (step * 2).min(Duration::from_millis(50));
        }
    }
    tracing::warn!(pgid, "process group still has members after SIGKILL");
    Some(Signal::SIGKILL)
}

/// Kills every process that carries `ORCH_SESSION_ID=<session>` in its environment: what an
/// agent started with `setsid` or `nohup` left behind its own process group. Outside a
/// sandbox this is how nothing outlives a session; inside one the PID namespace already
/// did it. Returns how many were killed. A few rounds, so a process forking while it is
/// being killed is caught too.
pub(crate) fn kill_marked(session: &str) -> usize {
    let marker = format!("ORCH_SESSION_ID={session}");
    let me = std::process::id();
    let mut killed = 0;
    for _ in 0..3 {
        let Ok(entries) = std::fs::read_dir("/proc") else {
            return killed;
        };
        let mut found = 0;
        for entry in entries.flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|s| s.parse::<u32>().ok())
            else {
                continue;
            };
            if pid == me {
                continue;
            }
            let Ok(environ) = std::fs::read(entry.path().join("environ")) else {
                continue;
            };
            let marked = environ
                .split(|b| *b == 0)
                .any(|var| var == marker.as_bytes());
            if marked
                && let Ok(raw) = i32::try_from(pid)
                && nix::sys::signal::kill(Pid::from_raw(raw), Signal::SIGKILL).is_ok()
            {
                found += 1;
            }
        }
        killed += found;
        if found == 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    killed
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::CommandExt;

    #[test]
    fn own_stat_is_readable() {
        let me = std::process::id();
        if read_stat(me).is_none() {
            return; // no /proc here
        }
        assert!(process_alive(me, start_ticks(me)));
        assert!(!process_alive(me, Some(start_ticks(me).unwrap() + 1)));
    }

    #[tokio::test]
    async fn stop_group_escalates_past_ignored_signals() {
        let mut child = std::process::Command::new("sh")
            .args(["-c", "trap '' INT TERM; sleep 30 & wait"])
            .process_group(0)
            .spawn()
            .unwrap();
        let pgid = child.id();
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(group_alive(pgid));
        let started = std::time::Instant::now();
        let by = stop_group(pgid, Duration::from_millis(100), || {
            let _ = child.try_wait();
        })
        .await;
        assert_eq!(by, Some(Signal::SIGKILL));
        assert!(started.elapsed() >= Duration::from_millis(200));
        assert!(!group_alive(pgid));
    }

    #[tokio::test]
    async fn stop_group_interrupt_suffices() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .process_group(0)
            .spawn()
            .unwrap();
        let pgid = child.id();
        let by = stop_group(pgid, Duration::from_secs(2), || {
            let _ = child.try_wait();
        })
        .await;
        // A process started in the background by a shell without job control ignores
        // SIGINT, and so does everything it starts: then SIGTERM is what stops it.
        let expected = if sigint_ignored_here() {
            Signal::SIGTERM
        } else {
            Signal::SIGINT
        };
        assert_eq!(by, Some(expected));
    }

    /// Whether this process ignores SIGINT (its children inherit that through `exec`).
    fn sigint_ignored_here() -> bool {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("SigIgn:"))
            .and_then(|mask| u64::from_str_radix(mask.trim(), 16).ok())
            .is_some_and(|mask| mask & (1 << (Signal::SIGINT as i32 - 1)) != 0)
    }
}
