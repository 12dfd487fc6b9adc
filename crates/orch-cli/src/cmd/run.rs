//! `orch run`: the conductor on this repository, with live progress, Ctrl-C handling and a
//! final report; and the hidden `orch replay-agent`.

use std::sync::Arc;

use orch_core::exit_code;
use orch_engine::{Conductor, EngineError, EngineOptions, RunOutcome, RunReport};

use crate::cli::{ReplayAgentArgs, RunArgs};
use crate::cmd::dashboard;
use crate::cmd::progress::{Renderer, clock};
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
            Err(if report.open_questions.is_empty() {
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
        println!("agent cost: ${cost:.4}");
    }
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
