//! Running one `orch` command for a tool, and turning what it printed into a tool result.
//!
//! Every tool is the CLI command of the same name run as a child process of this very
//! binary, so the MCP server and the CLI cannot disagree, and a crash, a hang or a flood of
//! output in one command cannot take the server down: the child has its own process group
//! (killed whole when it overruns its time limit or the request is cancelled), no standard
//! input, and only the first few MiB of what it prints are kept.

use std::ffi::OsString;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use orch_core::exit_code;
use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncReadExt as _};

/// At most this much of a command's standard output is kept.
pub const STDOUT_LIMIT: usize = 4 * 1024 * 1024;
/// At most this much of the end of a log is kept, for its last lines.
pub const TAIL_LIMIT: usize = 256 * 1024;

/// What a command left behind.
#[derive(Debug)]
pub struct Finished {
    /// Its exit code; `None` when a signal ended it or it overran its time limit.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    /// Some of the output was dropped (past [`STDOUT_LIMIT`], or before the kept tail).
    pub truncated: bool,
    /// It overran its time limit and was killed.
    pub timed_out: bool,
}

/// Kills the child's whole process group unless disarmed: on a time-out, and when the
/// request's future is dropped (the client cancelled it) while the command still runs.
struct GroupGuard(Option<Pid>);

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if let Some(group) = self.0.take() {
            let _ = killpg(group, Signal::SIGKILL);
        }
    }
}

/// Which part of standard output is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// The first [`STDOUT_LIMIT`] bytes: a document.
    Head,
    /// The last [`TAIL_LIMIT`] bytes: the end of a log.
    Tail,
}

/// Runs `orch -C ROOT ARGS…` and collects its output, killing it after `limit`.
pub async fn run(
    exe: &Path,
    root: &Path,
    args: &[OsString],
    keep: Keep,
    limit: Duration,
) -> Finished {
    let mut command = tokio::process::Command::new(exe);
    command
        .arg("-C")
        .arg(root)
        .args(args)
        .current_dir(root)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e) => {
            return Finished {
                code: Some(exit_code::FAILURE),
                stdout: String::new(),
                stderr: format!("error: cannot start {}: {e}\n", exe.display()),
                truncated: false,
                timed_out: false,
            };
        }
    };
    // The group id is the child's pid, reserved until the child is reaped below.
    let mut guard = GroupGuard(
        child
            .id()
            .and_then(|id| i32::try_from(id).ok())
            .map(Pid::from_raw),
    );
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let collect = async {
        let (out, err) = tokio::join!(read_bounded(stdout, keep), read_bounded(stderr, Keep::Head));
        (out, err, child.wait().await)
    };
    match tokio::time::timeout(limit, collect).await {
        Ok(((stdout, truncated), (stderr, _), status)) => {
            guard.0 = None;
            Finished {
                code: status.ok().and_then(|s| s.code()),
                stdout: lossy(stdout),
                stderr: lossy(stderr),
                truncated,
                timed_out: false,
            }
        }
        Err(_) => {
            drop(guard);
            let _ = child.wait().await;
            Finished {
                code: None,
                stdout: String::new(),
                stderr: String::new(),
                truncated: false,
                timed_out: true,
            }
        }
    }
}

/// Reads `reader` to its end, keeping a bounded part (and draining the rest, so that the
/// child never blocks on a full pipe). Returns whether anything was dropped.
async fn read_bounded(reader: Option<impl AsyncRead + Unpin>, keep: Keep) -> (Vec<u8>, bool) {
    let limit = match keep {
        Keep::Head => STDOUT_LIMIT,
        Keep::Tail => TAIL_LIMIT,
    };
    let mut kept = Vec::new();
    let mut truncated = false;
    let Some(mut reader) = reader else {
        return (kept, truncated);
    };
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        match reader.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) if keep == Keep::Tail => {
                kept.extend_from_slice(&chunk[..n]);
                if kept.len() > limit {
                    kept.drain(..kept.len() - limit);
                    truncated = true;
                }
            }
            Ok(n) => {
                let room = limit - kept.len();
                if n > room {
                    truncated = true;
                }
                kept.extend_from_slice(&chunk[..n.min(room)]);
            }
        }
    }
    (kept, truncated)
}

fn lossy(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// `{"error": {exit_code, kind, message, hint}}`, the one shape of every tool error.
pub fn error_doc(
    code: Option<i32>,
    kind: &str,
    message: impl Into<String>,
    hint: Option<String>,
) -> Value {
    json!({
        "error": {
            "exit_code": code,
            "kind": kind,
            "message": message.into(),
            "hint": hint,
        }
    })
}

/// The error kind of an exit code: its documented name in lower case (`not_found`).
pub fn kind_of(code: i32) -> String {
    exit_code::name(code).to_ascii_lowercase()
}

/// The error a failed command reported: the `{"error": …}` document commands print on
/// stdout under `--json`, else its `error:` and `hint:` lines on stderr.
pub fn failure(finished: &Finished, command: &str, limit: Duration) -> Value {
    if finished.timed_out {
        return error_doc(
            None,
            "timeout",
            format!(
                "`orch {command}` did not finish within {} s and was stopped",
                limit.as_secs()
            ),
            Some("`orch status` shows what state it left".to_owned()),
        );
    }
    let Some(code) = finished.code else {
        return error_doc(
            None,
            "failure",
            format!("`orch {command}` was ended by a signal"),
            None,
        );
    };
    if let Ok(doc) = serde_json::from_str::<Value>(&finished.stdout)
        && let Some(error) = doc.get("error").and_then(Value::as_object)
    {
        let text = |key: &str| error.get(key).and_then(Value::as_str).map(str::to_owned);
        return error_doc(
            Some(code),
            &kind_of(code),
            text("message").unwrap_or_default(),
            text("hint"),
        );
    }
    let (message, hint) = stderr_error(&finished.stderr);
    let mut doc = error_doc(
        Some(code),
        &kind_of(code),
        message.unwrap_or_else(|| format!("`orch {command}` failed with exit code {code}")),
        hint,
    );
    // A command that printed its document before failing (a run's report): keep it.
    if let Ok(document) = serde_json::from_str::<Value>(&finished.stdout) {
        doc["document"] = document;
    }
    doc
}

/// The message (with its continuation lines) after `error: ` and the text after `hint: `.
fn stderr_error(stderr: &str) -> (Option<String>, Option<String>) {
    let mut message: Option<String> = None;
    let mut hint: Option<String> = None;
    for line in stderr.lines() {
        if let Some(rest) = line.strip_prefix("error: ") {
            message = Some(rest.to_owned());
            hint = None;
        } else if let Some(rest) = line.strip_prefix("hint: ") {
            hint = Some(rest.to_owned());
        } else if let Some(text) = hint.as_mut().or(message.as_mut())
            && !line.trim().is_empty()
        {
            text.push('\n');
            text.push_str(line);
        }
    }
    let clean = |s: String| orch_core::sanitize_terminal(s.trim()).into_owned();
    (message.map(clean), hint.map(clean))
}

/// The last `n` lines of `text`.
pub fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finished(code: i32, stdout: &str, stderr: &str) -> Finished {
        Finished {
            code: Some(code),
            stdout: stdout.to_owned(),
            stderr: stderr.to_owned(),
            truncated: false,
            timed_out: false,
        }
    }

    #[test]
    fn errors_are_read_from_json_or_from_stderr() {
        let limit = Duration::from_secs(1);
        let json_error = r#"{"error": {"code": 7, "kind": "NOT_FOUND", "message": "no task X",
            "hint": "see status"}}"#;
        let doc = failure(&finished(7, json_error, ""), "task show", limit);
        assert_eq!(doc["error"]["kind"], "not_found");
        assert_eq!(doc["error"]["exit_code"], 7);
        assert_eq!(doc["error"]["message"], "no task X");
        assert_eq!(doc["error"]["hint"], "see status");

        let doc = failure(
            &finished(
                6,
                "",
                "error: PM message PM-0001 is decided;\n  it cannot change\nhint: ask again\n",
            ),
            "msg answer",
            limit,
        );
        assert_eq!(doc["error"]["kind"], "illegal_transition");
        assert_eq!(
            doc["error"]["message"],
            "PM message PM-0001 is decided;\n  it cannot change"
        );
        assert_eq!(doc["error"]["hint"], "ask again");

        let doc = failure(
            &finished(12, "{\"outcome\": \"incomplete\"}", ""),
            "run",
            limit,
        );
        assert_eq!(doc["error"]["kind"], "run_incomplete");
        assert_eq!(doc["document"]["outcome"], "incomplete");
    }

    /// A stand-in for `orch`: drops `-C ROOT` and runs its next argument with `sh -c`.
    fn fake_orch(dir: &Path) -> std::path::PathBuf {
        use std::os::unix::fs::PermissionsExt as _;
        let path = dir.join("fake-orch");
        std::fs::write(&path, "#!/bin/sh\nshift 2\nexec /bin/sh -c \"$1\"\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    #[tokio::test]
    async fn output_is_bounded_and_overruns_are_killed_with_their_group() {
        let dir = tempfile::tempdir().unwrap();
        let exe = fake_orch(dir.path());
        let big = run(
            &exe,
            dir.path(),
            &["head -c 5000000 /dev/zero; echo done >&2".into()],
            Keep::Head,
            Duration::from_secs(20),
        )
        .await;
        assert_eq!(big.code, Some(0), "{big:?}");
        assert!(big.truncated);
        assert_eq!(big.stdout.len(), STDOUT_LIMIT);
        assert_eq!(big.stderr, "done\n");

        let started = std::time::Instant::now();
        // The background sleep keeps the pipes open: only killing the group ends it.
        let slow = run(
            &exe,
            dir.path(),
            &["sleep 30 & sleep 30".into()],
            Keep::Head,
            Duration::from_millis(300),
        )
        .await;
        assert!(slow.timed_out);
        assert!(started.elapsed() < Duration::from_secs(10));

        let log = run(
            &exe,
            dir.path(),
            &["seq 1 200000".into()],
            Keep::Tail,
            Duration::from_secs(20),
        )
        .await;
        assert!(log.truncated);
        assert!(log.stdout.ends_with("199999\n200000\n"));
        assert_eq!(tail(&log.stdout, 2), "199999\n200000");
    }
}
