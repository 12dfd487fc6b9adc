//! `orch run`: the conductor on this repository, with live progress, Ctrl-C handling and a
//! final report, or in the background with `--detach`; and the hidden `orch replay-agent`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use orch_core::exit_code;
use orch_engine::{Conductor, EngineError, EngineOptions, RunOutcome, RunReport};

use crate::cli::{ReplayAgentArgs, RunArgs};
use crate::cmd::progress::{Renderer, clock};
use crate::cmd::{dashboard, stop};
use crate::error::{CliError, CliResult, chain};
use crate::output::{Table, print_json};
use crate::repo::RepoPaths;

impl From<EngineError> for CliError {
    fn from(err: EngineError) -> CliError {
        match err {
            EngineError::Store(e) => e.into(),
            EngineError::NoPlan => CliError::new(exit_code::NOT_INITIALIZED, chain(&err))
                .with_hint("`orch plan PRD.md` turns a PRD into a plan"),
            EngineError::Config { .. } | EngineError::Escalation(_) | EngineError::Agent(_) => {
                CliError::new(exit_code::INVALID_INPUT, chain(&err))
            }
            EngineError::Plan(_) => CliError::new(exit_code::INVALID_INPUT, chain(&err)),
            EngineError::Preflight { problem, fix } => {
                CliError::new(exit_code::NOT_READY, problem).with_hint(fix)
            }
            EngineError::LeaseLost => CliError::new(exit_code::LEASE_HELD, chain(&err)),
            _ => CliError::new(exit_code::FAILURE, chain(&err)),
        }
    }
}

pub fn run(repo: &RepoPaths, args: &RunArgs) -> CliResult {
    if args.detach {
        return detach(repo, args);
    }
    repo.require_initialized()?;
    let mut config = repo.config()?;
    if let Some(p) = args.parallel {
        if p == 0 {
            return Err(CliError::new(
                exit_code::USAGE,
                "--parallel must be at least 1",
            ));
        }
        config.run.parallel = p;
    }
    if let Some(agent) = &args.agent {
        config.run.agent.clone_from(agent);
    }
    if let Some(backend) = &args.backend {
        if !["auto", "tmux", "process"].contains(&backend.as_str()) {
            return Err(CliError::new(
                exit_code::USAGE,
                format!("--backend `{backend}`: expected auto, tmux or process"),
            ));
        }
        config.run.backend.clone_from(backend);
    }
    if args.no_gate {
        config.run.quality_gate = false;
    }
    let renderer = Arc::new(Renderer::new());
    let mut options = EngineOptions::from_config(&repo.root, config)?;
    options.wait_for_answers = !args.no_wait;
    options.max_cost = args.max_cost;
    // The PRD `orch plan` kept, for the excerpts in every instruction; and the layout.
    let stored = repo.orch_dir().join(crate::cmd::prd::STORED_PRD);
    options.prd = std::fs::read(&stored)
        .ok()
        .and_then(|bytes| orch_ai::Prd::from_bytes(&bytes).ok());
    options.repo_map = Some(repo.map());
    options.progress = Arc::clone(&renderer) as Arc<dyn orch_engine::Progress>;
    options.without_console_notifier()?;
    let dashboard = if args.dashboard {
        let (dashboard, line) = dashboard::beside_run(&repo.orch_dir(), args.dashboard_port)?;
        eprintln!("{line}");
        Some(dashboard)
    } else {
        None
    };
    let report = drive(options, &renderer, |runtime| {
        if let Some(dashboard) = dashboard {
            dashboard::spawn(runtime, dashboard);
        }
    })?;
    finish(&report, args.json)
}

/// Runs a conductor on a fresh runtime with Ctrl-C wired to its stop handle. `beside` runs
/// on the same runtime while the run goes (the demo's auto-answering "human").
pub fn drive(
    options: EngineOptions,
    renderer: &Arc<Renderer>,
    beside: impl FnOnce(&tokio::runtime::Runtime),
) -> CliResult<RunReport> {
    // This run's log file (`.orch/logs/run-TIME.trace.log`), open until the run is over.
    let _run_log = crate::logging::RunLog::start(&options.orch_dir.join("logs"));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::io("the async runtime", e))?;
    beside(&runtime);
    let result = runtime.block_on(async {
        let conductor = Conductor::open(options)?;
        let stop = conductor.stop_handle();
        let progress = Arc::clone(renderer);
        // Ctrl-C, SIGTERM (a service manager, `kill`) and SIGHUP (a closed terminal) all stop
        // the run the same way: gracefully first, at once the second time.
        tokio::spawn(async move {
            use tokio::signal::unix::{SignalKind, signal};
            let (Ok(mut term), Ok(mut hup)) = (
                signal(SignalKind::terminate()),
                signal(SignalKind::hangup()),
            ) else {
                return;
            };
            loop {
                let name = tokio::select! {
                    r = tokio::signal::ctrl_c() => {
                        if r.is_err() {
                            return;
                        }
                        "Ctrl-C"
                    }
                    _ = term.recv() => "SIGTERM",
                    _ = hup.recv() => "SIGHUP",
                };
                match stop.escalate() {
                    orch_engine::StopLevel::Graceful => progress.say(&format!(
                        "{name}: finishing running tasks (no new ones); again stops them now"
                    )),
                    _ => progress.say(&format!("{name}: stopping running sessions now")),
                }
            }
        });
        conductor.run().await
    });
    renderer.finish();
    // The run log's last word (stderr gets the report or the error from the caller).
    match &result {
        Ok(report) => tracing::debug!(outcome = report.outcome.as_str(), "run finished"),
        Err(e) => tracing::debug!(error = %e, "run failed"),
    }
    // Workers finished with the run; the runtime goes with its idle timers.
    runtime.shutdown_timeout(std::time::Duration::from_secs(2));
    Ok(result?)
}

/// Prints the final report and maps the outcome to the exit code.
pub fn finish(report: &RunReport, json: bool) -> CliResult {
    if json {
        print_json(report)?;
    } else {
        print_report(report);
    }
    let result = outcome_result(report);
    result.map_err(|e| e.after_json_document(json))
}

fn outcome_result(report: &RunReport) -> CliResult {
    match report.outcome {
        RunOutcome::Completed => Ok(()),
        RunOutcome::Interrupted => Err(CliError::new(
            exit_code::INTERRUPTED,
            "interrupted; `orch run` continues where this run stopped",
        )),
        RunOutcome::Aborted => Err(CliError::new(
            exit_code::RUN_INCOMPLETE,
            "the run was aborted by a decision",
        )),
        RunOutcome::Incomplete if !report.pending_merges.is_empty() => Err(CliError::new(
            exit_code::RUN_INCOMPLETE,
            format!(
                "every task is done, but not every epic is merged into the base branch: {}",
                report.pending_merges.join("; ")
            ),
        )
        .with_hint(
            "commit or stash what is in the way (or merge the epic branch yourself), then `orch run` again",
        )),
        RunOutcome::Incomplete => {
            let err = CliError::new(
                exit_code::RUN_INCOMPLETE,
                format!(
                    "{} of {} tasks completed; the rest failed, were skipped, or wait for an answer",
                    report.completed(),
                    report.tasks.len()
                ),
            );
            Err(if !report.awaiting_review.is_empty() && report.open_questions.is_empty() {
                err.with_hint(format!(
                    "{} wait for your review: `orch review show TASK`, then approve or reject, and `orch run` again",
                    report.awaiting_review.join(", ")
                ))
            } else if report.open_questions.is_empty() {
                err.with_hint("`orch status` shows each task; `orch task show TASK` its attempts")
            } else {
                err.with_hint(format!(
                    "answer {} with `orch msg answer`, then `orch run` again",
                    report.open_questions.join(", ")
                ))
            })
        }
    }
}

fn print_report(report: &RunReport) {
    let mut table = Table::new(["TASK", "STATUS", "ATTEMPTS", "QUALITY", "BUSY", "TITLE"]);
    for t in &report.tasks {
        table.row(vec![
            t.task.to_string(),
            t.status.to_string(),
            t.attempts.to_string(),
            t.quality.map_or_else(|| "-".into(), |q| format!("{q:.2}")),
            clock(t.busy),
            crate::output::truncate(&t.title, 48),
        ]);
    }
    println!("{}", table.render());
    println!(
        "{}: {}/{} tasks completed in {} with {} sessions at once",
        report.outcome.as_str(),
        report.completed(),
        report.tasks.len(),
        clock(report.makespan),
        report.parallel
    );
    if let Some(ratio) = report.speedup_claim() {
        println!(
            "one task at a time, the same work takes {}: {ratio:.1}x faster",
            clock(report.serial),
        );
    }
    if let Some(q) = report.mean_quality() {
        println!("mean quality score of merged tasks: {q:.2}");
    }
    if let Some(cost) = report.cost_usd.filter(|c| *c > 0.0) {
        println!("agent cost of this run: ${cost:.4}");
    }
    if let Some(spend) = report.budget.run.filter(|s| s.limit_usd.is_some()) {
        println!("spent by the plan's agents: {}", spend.describe());
    }
    for scope in &report.budget.reached {
        println!("budget reached: {scope} (no new attempts of it until the limit is raised)");
    }
    if !report.awaiting_review.is_empty() {
        println!(
            "waiting for your review: {} (`orch review list`)",
            report.awaiting_review.join(", ")
        );
    }
}

/// `orch run --detach`: the same run in the background, for callers without a terminal to
/// keep open (an MCP client, a script). The run is this binary again, without `--detach`, in
/// a process group of its own (so the caller's Ctrl-C or exit does not reach it) with its
/// output in `.orch/logs/run-TIME.log`. It is reported started once it holds the runner
/// lease, so that a caller's next `orch status` or `orch stop` already sees it.
fn detach(repo: &RepoPaths, args: &RunArgs) -> CliResult {
    use std::os::unix::process::CommandExt as _;

    let store = crate::cmd::open_store(repo)?;
    let stale = Duration::from_secs(repo.config()?.store.lease_stale_seconds);
    if let stop::Runner::Here(lease) | stop::Runner::Elsewhere(lease) = stop::runner(&store, stale)?
    {
        return Err(stop::lease_held(&lease));
    }
    let exe = std::env::current_exe().map_err(|e| CliError::io("the orch executable", e))?;
    let logs = repo.orch_dir().join("logs");
    let (log, file) = crate::logging::create_stamped(&logs, "log")
        .map_err(|e| CliError::io(logs.display(), e))?;
    let err_file = file
        .try_clone()
        .map_err(|e| CliError::io(log.display(), e))?;
    let mut child = std::process::Command::new(exe)
        .arg("-C")
        .arg(&repo.root)
        .args(detached_args(std::env::args_os().skip(1)))
        .current_dir(&repo.root)
        .env(crate::logging::DETACHED_LOG_ENV, &log)
        .stdin(std::process::Stdio::null())
        .stdout(file)
        .stderr(err_file)
        .process_group(0)
        .spawn()
        .map_err(|e| CliError::io("cannot start orch run", e))?;
    let pid = child.id();
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        if let Some(status) = child
            .try_wait()
            .map_err(|e| CliError::io("waiting for orch run", e))?
        {
            return exited_at_once(
                pid,
                &log,
                status.code().unwrap_or(exit_code::FAILURE),
                args.json,
            );
        }
        if store.lease()?.is_some_and(|l| l.pid == pid) || Instant::now() >= deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    if args.json {
        return print_json(&serde_json::json!({ "pid": pid, "log": log, "running": true }));
    }
    println!("started orch run (pid {pid}), log: {}", log.display());
    println!("`orch status` shows its progress; `orch stop` stops it");
    Ok(())
}

/// The command line of the detached run: this one without `--detach`, `--json` (they are
/// about what this process prints) and `-C` (given again as the repository root).
fn detached_args(args: impl Iterator<Item = std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    let mut out = Vec::new();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        match arg.to_str() {
            Some("--") => {
                out.push(arg);
                out.extend(args);
                break;
            }
            Some("--detach" | "--json") => {}
            Some("-C" | "--repo") => {
                args.next();
            }
            Some(s) if s.starts_with("--repo=") || s.starts_with("-C") => {}
            _ => out.push(arg),
        }
    }
    out
}

/// The detached run ended before it was reported started: its log's end goes to stderr,
/// and its own error (the `error:`/`hint:` lines it wrote) and exit code become this one's.
fn exited_at_once(pid: u32, log: &std::path::Path, code: i32, json: bool) -> CliResult {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let tail = &lines[lines.len().saturating_sub(20)..];
    if code == exit_code::OK {
        if json {
            return print_json(
                &serde_json::json!({ "pid": pid, "log": log, "running": false, "exit_code": 0 }),
            );
        }
        println!(
            "orch run (pid {pid}) finished at once, log: {}",
            log.display()
        );
        for line in tail {
            println!("  {}", crate::output::sanitize(line));
        }
        return Ok(());
    }
    eprintln!(
        "orch run (pid {pid}) exited at once; the end of {}:",
        log.display()
    );
    for line in tail {
        eprintln!("  {}", crate::output::sanitize(line));
    }
    let find = |prefix: &str| {
        tail.iter()
            .rev()
            .find_map(|l| l.strip_prefix(prefix))
            .map(|s| crate::output::sanitize(s.trim()))
    };
    let message =
        find("error: ").unwrap_or_else(|| format!("orch run exited at once with code {code}"));
    let hint = find("hint: ").unwrap_or_else(|| format!("its log: {}", log.display()));
    Err(CliError::new(code, message).with_hint(hint))
}

pub fn replay_agent(args: &ReplayAgentArgs) -> CliResult {
    let cwd = std::env::current_dir().map_err(|e| CliError::io("current directory", e))?;
    let mut out = std::io::stdout().lock();
    let code = orch_engine::run_replay_agent(&args.script, &args.session_id, &cwd, &mut out);
    if code == 0 {
        Ok(())
    } else {
        Err(CliError::new(code, "the replay agent failed"))
    }
}

#[cfg(test)]
mod tests {
    use super::detached_args;

    fn detached(args: &[&str]) -> Vec<String> {
        detached_args(args.iter().map(std::ffi::OsString::from))
            .into_iter()
            .map(|a| a.into_string().unwrap())
            .collect()
    }

    #[test]
    fn the_detached_run_gets_the_same_flags_without_detach_json_and_repo() {
        assert_eq!(
            detached(&[
                "-C",
                "x",
                "run",
                "--detach",
                "-p",
                "2",
                "--json",
                "--no-gate"
            ]),
            ["run", "-p", "2", "--no-gate"]
        );
        assert_eq!(
            detached(&[
                "--repo=x", "run", "-Cy", "--repo", "z", "--detach", "--agent", "codex"
            ]),
            ["run", "--agent", "codex"]
        );
    }
}
