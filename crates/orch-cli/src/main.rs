//! `orch`: the thin command-line front of the orch crates. It parses arguments, calls the
//! libraries, prints tables or JSON, and maps errors to the documented exit codes
//! ([`orch_core::exit_code`]).

mod cli;
mod cmd;
mod error;
mod logging;
mod output;
mod repo;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command, PlanCommand, TaskCommand};
use crate::error::CliResult;
use crate::repo::RepoPaths;

/// Lets `orch status | head` end quietly, as other Unix tools do, instead of panicking on
/// a closed pipe.
#[allow(unsafe_code)]
fn restore_default_sigpipe() {
    use nix::sys::signal::{SigHandler, Signal, signal};
    // SAFETY: runs first thing in `main`, before any other thread exists, and installs the
    // default disposition, which runs no Rust code.
    let _ = unsafe { signal(Signal::SIGPIPE, SigHandler::SigDfl) };
}

fn main() -> ExitCode {
    restore_default_sigpipe();
    // Decided from the raw arguments, so that even a command line clap refuses gets its
    // error as JSON when the caller asked for JSON.
    let json = wants_json(std::env::args_os().skip(1));
    let result = match Cli::try_parse() {
        Ok(cli) => {
            logging::init(logging::Verbosity {
                verbose: cli.verbose,
                quiet: cli.quiet,
            });
            run(cli)
        }
        // `orch verify` exits 2 only to block a Claude Code hook: a wrong command line must
        // not read as a failed verification.
        Err(err) if err.use_stderr() && verifying(std::env::args_os().skip(1)) => {
            if !json {
                let _ = err.print();
                return ExitCode::from(orch_core::exit_code::INVALID_INPUT as u8);
            }
            Err(
                error::CliError::new(orch_core::exit_code::INVALID_INPUT, err.kind().to_string())
                    .with_hint(err.render().to_string().trim().to_owned()),
            )
        }
        Err(err) if json && err.use_stderr() => Err(error::CliError::new(
            orch_core::exit_code::USAGE,
            err.kind().to_string(),
        )
        .with_hint(err.render().to_string().trim().to_owned())),
        Err(err) => err.exit(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            if json {
                err.report_json();
            } else {
                err.report();
            }
            ExitCode::from(u8::try_from(err.code).unwrap_or(1))
        }
    }
}

/// Whether the command is `verify` (after the global `-C DIR`, `-v`, `-q`).
fn verifying(args: impl Iterator<Item = std::ffi::OsString>) -> bool {
    let mut args = args.map(|a| a.to_string_lossy().into_owned());
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-C" | "--repo" => {
                args.next();
            }
            a if a.starts_with("--repo=") || (a.starts_with("-C") && a.len() > 2) => {}
            "--verbose" | "--quiet" => {}
            a if a.len() > 1
                && a.starts_with('-')
                && a[1..].bytes().all(|b| b == b'v' || b == b'q') => {}
            a => return a == "verify",
        }
    }
    false
}

/// Whether the command line asks for JSON (`--json`, `--format json`, `--format=json`),
/// looking only before a `--`.
fn wants_json(args: impl Iterator<Item = std::ffi::OsString>) -> bool {
    let args: Vec<String> = args
        .map(|a| a.to_string_lossy().into_owned())
        .take_while(|a| a != "--")
        .collect();
    args.iter().enumerate().any(|(i, a)| {
        a == "--json"
            || a == "--format=json"
            || (a == "--format" && args.get(i + 1).is_some_and(|v| v == "json"))
    })
}

fn run(cli: Cli) -> CliResult {
    let start = match &cli.repo {
        Some(dir) => dir.clone(),
        None => std::env::current_dir().map_err(|e| error::CliError::io("current directory", e))?,
    };
    match &cli.command {
        // Anywhere, without a repository.
        Command::Completions(args) => return cmd::completions::completions(args),
        Command::Man(args) => return cmd::completions::man(args),
        _ => {}
    }
    if let Command::Doctor(flag) = &cli.command {
        // Works anywhere: outside a repository it checks the machine only.
        return cmd::doctor::run(RepoPaths::discover(&start).ok().as_ref(), flag.json);
    }
    match &cli.command {
        Command::Demo(args) => return cmd::demo::run(args),
        Command::ReplayAgent(args) => return cmd::run::replay_agent(args),
        _ => {}
    }
    if let Command::Mcp = &cli.command {
        // Serves even outside an initialised project: its tools then answer with the error.
        return cmd::mcp::serve(&start);
    }
    if let Command::Quality(args) = &cli.command {
        // Any directory: a task worktree, a project that never ran `orch init`.
        return cmd::quality::run(&start, args);
    }
    if let Command::Verify(args) = &cli.command {
        // The working tree it runs in (or the hook input's cwd), initialised or not.
        return cmd::verify::run(&start, cli.repo.is_some(), args);
    }
    match &cli.command {
        // Planning a PRD dry, and asking about it, work outside a repository too.
        Command::Plan(args) if args.command.is_none() && args.dry_run => {
            return cmd::prd::plan(RepoPaths::discover(&start).ok().as_ref(), args);
        }
        Command::Questions(args) => {
            return cmd::prd::questions(RepoPaths::discover(&start).ok().as_ref(), args);
        }
        _ => {}
    }
    let repo = RepoPaths::discover(&start)?;
    tracing::info!(
        "orch {} in the repository {}",
        env!("CARGO_PKG_VERSION"),
        repo.root.display()
    );
    match cli.command {
        Command::Init(args) => cmd::init::run(&repo, &args),
        Command::Plan(args) => match args.command {
            Some(PlanCommand::Import(import)) => cmd::plan::import(&repo, &import),
            Some(PlanCommand::Show(flag)) => cmd::plan::show(&repo, flag.json),
            None => cmd::prd::plan(Some(&repo), &args),
        },
        Command::Questions(_) => unreachable!("handled above"),
        Command::Status(args) => cmd::status::run(&repo, &args),
        Command::Graph(args) => cmd::graph::run(&repo, &args),
        Command::Task(TaskCommand::Show {
            id,
            instructions: true,
            ..
        }) => cmd::task::instructions(&repo, &id),
        Command::Task(TaskCommand::Show { id, json, .. }) => cmd::task::show(&repo, &id, json),
        Command::Task(TaskCommand::SetStatus { id, status, reason }) => {
            cmd::task::set_status(&repo, &id, &status, &reason)
        }
        Command::Session(command) => cmd::session::run(&repo, &command),
        Command::Msg(command) => cmd::msg::run(&repo, &command),
        Command::Worktree(command) => cmd::worktree::run(&repo, &command),
        Command::Review(command) => cmd::review::run(&repo, &command),
        Command::Pause => cmd::remote::control(&repo, orch_store::ControlAction::Pause),
        Command::Resume => cmd::remote::control(&repo, orch_store::ControlAction::Resume),
        Command::Remote(crate::cli::RemoteCommand::Serve(args)) => cmd::remote::serve(&repo, &args),
        Command::Run(args) => cmd::run::run(&repo, &args),
        Command::Stop(args) => cmd::stop::run(&repo, &args),
        Command::Dashboard(args) => cmd::dashboard::run(&repo, &args),
        Command::Doctor(_)
        | Command::Quality(_)
        | Command::Verify(_)
        | Command::Demo(_)
        | Command::ReplayAgent(_)
        | Command::Completions(_)
        | Command::Man(_)
        | Command::Mcp => {
            unreachable!("handled before the repository is required")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::wants_json;

    fn json(args: &[&str]) -> bool {
        wants_json(args.iter().map(std::ffi::OsString::from))
    }

    #[test]
    fn verify_is_seen_after_the_global_flags() {
        let verifying = |args: &[&str]| super::verifying(args.iter().map(std::ffi::OsString::from));
        assert!(verifying(&["verify"]));
        assert!(verifying(&["-C", "x", "-vv", "verify"]));
        assert!(verifying(&["-q", "--verbose", "verify"]));
        assert!(!verifying(&["-v", "status"]));
        assert!(!verifying(&["-x", "verify"]));
    }

    #[test]
    fn json_is_seen_wherever_it_is_asked_for() {
        assert!(json(&["status", "--json"]));
        assert!(json(&["graph", "--format", "json"]));
        assert!(json(&["graph", "--format=json"]));
        assert!(!json(&["graph", "--format", "dot"]));
        assert!(!json(&["status"]));
        assert!(!json(&["msg", "answer", "PM-1", "A", "--", "--json"]));
    }
}
