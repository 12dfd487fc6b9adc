//! Logs (issue #21): `tracing` lines on stderr only, chosen by `-v`/`-q` or `RUST_LOG`, a log
//! file per run under `.orch/logs/`; and the generated completions and man page.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::first_run::repo_with;
use crate::support::{ok, with_example_plan};

/// `orch args…` in `dir` with `RUST_LOG` as given (removed for `None`), killed after `limit`.
fn orch_logged(
    dir: &Path,
    args: &[&str],
    rust_log: Option<&str>,
    limit: Duration,
) -> (i32, String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_orch"));
    command
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(filter) = rust_log {
        command.env("RUST_LOG", filter);
    }
    crate::support::wait_within(command.spawn().unwrap(), args, limit)
}

/// The lines of `text` that a `tracing` layer wrote at `level` for a target starting with
/// `target` (`" INFO orch_engine::conductor: …"`, with or without a time before).
fn log_lines<'a>(text: &'a str, level: &str, target: &str) -> Vec<&'a str> {
    text.lines()
        .filter(|line| {
            let mut words = line.split_whitespace();
            words.any(|w| w == level) && words.any(|w| w.starts_with(target) && w.ends_with(':'))
        })
        .collect()
}

/// The run logs (`*.trace.log`) in the repository's `.orch/logs/`, oldest first.
fn trace_logs(repo: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(repo.join(".orch/logs")) else {
        return Vec::new();
    };
    let mut logs: Vec<(std::time::SystemTime, PathBuf)> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".trace.log"))
        .map(|p| (std::fs::metadata(&p).unwrap().modified().unwrap(), p))
        .collect();
    // Oldest first (two runs in one second are `run-T.trace.log`, `run-T-1.trace.log`).
    logs.sort();
    logs.into_iter().map(|(_, p)| p).collect()
}

const ONE_TASK: &str = "name = \"p\"\n[[epic]]\nid = \"E\"\nname = \"Epic\"\n[[task]]\nid = \"TASK-E-001\"\ntitle = \"Do it\"\nepic = \"E\"\n";

/// A tiny run: an agent that changes nothing, so the task fails at once and a question is
/// asked; with `sandbox = "none"`, whose warning the engine logs when the run starts.
const TINY_RUN: &str = "[run]\nagent = \"custom\"\nagent_command = [\"true\"]\nmax_retries = 0\nbackend = \"process\"\nquality_gate = false\nsandbox = \"none\"\n";

#[test]
fn verbose_logs_go_to_stderr_and_json_stays_one_document() {
    let repo = with_example_plan();
    let (code, stdout, stderr) = orch_logged(
        repo.path(),
        &["-v", "status", "--json"],
        None,
        Duration::from_secs(30),
    );
    assert_eq!(code, 0, "{stderr}");
    let doc: serde_json::Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("stdout is not one JSON document ({e}):\n{stdout}"));
    assert!(doc.is_object(), "{stdout}");
    assert!(
        !log_lines(&stderr, "INFO", "orch").is_empty(),
        "-v shows info lines on stderr:\n{stderr}"
    );
    assert!(!stdout.contains("INFO"), "{stdout}");
    // Not a run: no log file.
    assert!(trace_logs(repo.path()).is_empty());

    // Without -v: nothing but the document, and stderr quiet.
    let (code, stdout, stderr) = orch_logged(
        repo.path(),
        &["status", "--json"],
        None,
        Duration::from_secs(30),
    );
    assert_eq!(code, 0, "{stderr}");
    serde_json::from_str::<serde_json::Value>(&stdout).unwrap();
    assert_eq!(stderr, "");
    // -v after the command works too; with -q it is a usage error.
    let (code, stdout, _) = orch_logged(
        repo.path(),
        &["status", "--json", "-vv"],
        None,
        Duration::from_secs(30),
    );
    assert_eq!(code, 0);
    serde_json::from_str::<serde_json::Value>(&stdout).unwrap();
    let (code, _, stderr) = orch_logged(
        repo.path(),
        &["-v", "-q", "status"],
        None,
        Duration::from_secs(30),
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("cannot be used with"), "{stderr}");
}

#[test]
fn quiet_hides_warnings() {
    let repo = with_example_plan();
    // A session file that cannot be read: the session registry warns and skips it.
    let sessions = repo.path().join(".orch/sessions");
    std::fs::create_dir_all(&sessions).unwrap();
    std::fs::write(sessions.join("broken.json"), "{ not json").unwrap();

    let (code, stdout, stderr) = orch_logged(
        repo.path(),
        &["session", "list", "--json"],
        None,
        Duration::from_secs(30),
    );
    assert_eq!(code, 0, "{stderr}");
    serde_json::from_str::<serde_json::Value>(&stdout).unwrap();
    assert!(
        !log_lines(&stderr, "WARN", "orch_session").is_empty(),
        "warnings show by default:\n{stderr}"
    );

    let (code, stdout, stderr) = orch_logged(
        repo.path(),
        &["-q", "session", "list", "--json"],
        None,
        Duration::from_secs(30),
    );
    assert_eq!(code, 0, "{stderr}");
    serde_json::from_str::<serde_json::Value>(&stdout).unwrap();
    assert_eq!(stderr, "", "-q hides warnings");

    // RUST_LOG wins over -q.
    let (_, _, stderr) = orch_logged(
        repo.path(),
        &["-q", "session", "list"],
        Some("orch_session=warn"),
        Duration::from_secs(30),
    );
    assert!(
        !log_lines(&stderr, "WARN", "orch_session").is_empty(),
        "{stderr}"
    );
}

#[test]
fn a_run_logs_the_engine_on_stderr_with_rust_log_and_leaves_a_log_file() {
    let repo = repo_with(TINY_RUN, ONE_TASK);
    let (code, _, stderr) = orch_logged(
        repo.path(),
        &["run", "--no-wait"],
        Some("orch_engine=debug"),
        Duration::from_secs(120),
    );
    // The agent changed nothing: a question waits, the run is incomplete.
    assert_eq!(code, 12, "{stderr}");
    let engine: Vec<&str> = ["WARN", "INFO", "DEBUG"]
        .iter()
        .flat_map(|level| log_lines(&stderr, level, "orch_engine"))
        .collect();
    assert!(
        engine
            .iter()
            .any(|l| l.contains("INFO") || l.contains("DEBUG")),
        "RUST_LOG=orch_engine=debug shows the engine's lines below warn:\n{stderr}"
    );
    // Only the engine: RUST_LOG decides alone.
    assert!(
        log_lines(&stderr, "DEBUG", "orch_session").is_empty(),
        "{stderr}"
    );

    // The run's log file: the engine's lines, and other orch crates at debug.
    let logs = trace_logs(repo.path());
    assert_eq!(logs.len(), 1, "{logs:?}");
    let name = logs[0].file_name().unwrap().to_str().unwrap().to_owned();
    assert!(
        name.starts_with("run-") && name.ends_with("Z.trace.log"),
        "{name}"
    );
    let text = std::fs::read_to_string(&logs[0]).unwrap();
    assert!(
        !log_lines(&text, "WARN", "orch_engine").is_empty(),
        "the sandbox warning:\n{text}"
    );
    assert!(
        !log_lines(&text, "DEBUG", "orch_session").is_empty(),
        "session lines at debug:\n{text}"
    );
    assert!(!text.contains('\u{1b}'), "no colours in the file");

    // Without RUST_LOG or -v, stderr shows the engine's warning but not its notes; -q hides
    // the warning too, and each run has its own file.
    let (_, _, stderr) = orch_logged(
        repo.path(),
        &["run", "--no-wait"],
        None,
        Duration::from_secs(120),
    );
    assert!(
        !log_lines(&stderr, "WARN", "orch_engine").is_empty(),
        "{stderr}"
    );
    assert!(log_lines(&stderr, "INFO", "orch").is_empty(), "{stderr}");
    let (_, _, stderr) = orch_logged(
        repo.path(),
        &["-q", "run", "--no-wait"],
        None,
        Duration::from_secs(120),
    );
    assert!(
        log_lines(&stderr, "WARN", "orch_engine").is_empty(),
        "{stderr}"
    );
    // -q quiets stderr, not the file.
    let logs = trace_logs(repo.path());
    assert_eq!(logs.len(), 3, "{logs:?}");
    let last = std::fs::read_to_string(logs.last().unwrap()).unwrap();
    assert!(
        !log_lines(&last, "WARN", "orch_engine").is_empty(),
        "{last}"
    );
}

#[test]
fn a_detached_runs_trace_log_is_named_after_its_output_log() {
    let repo = repo_with(TINY_RUN, ONE_TASK);
    let (code, stdout, stderr) = orch_logged(
        repo.path(),
        &["run", "--detach", "--no-wait", "--json"],
        None,
        Duration::from_secs(60),
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let started: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let output = PathBuf::from(started["log"].as_str().unwrap());
    let stem = output.file_name().unwrap().to_str().unwrap();
    let twin = output.with_file_name(stem.replace(".log", ".trace.log"));
    // The run's last line in its trace log says how it ended.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let text = std::fs::read_to_string(&twin).unwrap_or_default();
        if text.contains("run finished") || text.contains("run failed") {
            assert!(
                !log_lines(&text, "DEBUG", "orch_session").is_empty(),
                "{text}"
            );
            break;
        }
        if Instant::now() > deadline {
            // Never leave the run behind.
            orch_logged(
                repo.path(),
                &["stop", "--now"],
                None,
                Duration::from_secs(30),
            );
            panic!("{} never says the run ended:\n{text}", twin.display());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(trace_logs(repo.path()), [twin]);
    // The output log has what the run printed, the engine's warning among it.
    let printed = std::fs::read_to_string(&output).unwrap();
    assert!(
        !log_lines(&printed, "WARN", "orch_engine").is_empty(),
        "{printed}"
    );
}

#[test]
fn completion_scripts_for_bash_and_zsh() {
    let dir = tempfile::tempdir().unwrap();
    let bash = ok(dir.path(), &["completions", "bash"]).stdout;
    assert!(bash.contains("_orch()"), "{bash}");
    assert!(bash.contains("complete -F _orch"), "{bash}");
    for sub in ["run", "status", "plan", "completions", "man"] {
        assert!(
            bash.contains(sub),
            "{sub} missing from the bash completions"
        );
    }
    let zsh = ok(dir.path(), &["completions", "zsh"]).stdout;
    assert!(zsh.starts_with("#compdef orch"), "{zsh}");
    for shell in ["fish", "elvish", "powershell"] {
        assert!(!ok(dir.path(), &["completions", shell]).stdout.is_empty());
    }
    let bad = crate::support::orch(dir.path(), &["completions", "tcsh"]);
    assert_eq!(bad.code, 2, "{}", bad.transcript());
}

#[test]
fn the_man_page_is_printed_or_written_per_command() {
    let dir = tempfile::tempdir().unwrap();
    let page = ok(dir.path(), &["man"]).stdout;
    // roff: a string definition for quotes, then the title line.
    assert!(page.starts_with('.'), "{page}");
    assert!(
        page.lines().take(5).any(|l| l.starts_with(".TH orch 1")),
        "{page}"
    );
    for sub in ["run", "status", "plan", "completions", "dashboard"] {
        assert!(page.contains(sub), "{sub} missing from the man page");
    }
    assert!(page.contains("verbose"), "the global flags are documented");

    let out = dir.path().join("man/man1");
    let said = ok(dir.path(), &["man", "--dir", out.to_str().unwrap()]).stdout;
    assert!(said.starts_with("wrote "), "{said}");
    for file in ["orch.1", "orch-run.1", "orch-status.1", "orch-task-show.1"] {
        let text =
            std::fs::read_to_string(out.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert!(text.contains("\n.TH "), "{file}");
    }
    assert!(!out.join("orch-replay-agent.1").exists());
    assert!(!out.join("orch-help.1").exists());
    assert!(
        !page.contains("orch\\-help(1)"),
        "no page is referred to that is not written"
    );
}
