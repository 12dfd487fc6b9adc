//! `orch`: the thin command-line front of the orch crates. It parses arguments, calls the
//! libraries, prints tables or JSON, and maps errors to the documented exit codes
//! ([`orch_core::exit_code`]).

mod cli;
mod cmd;
mod error;
mod output;
mod repo;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command, PlanCommand, TaskCommand};
use crate::error::CliResult;
use crate::repo::RepoPaths;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            err.report();
            ExitCode::from(u8::try_from(err.code).unwrap_or(1))
        }
    }
}

fn run(cli: Cli) -> CliResult {
    let start = match &cli.repo {
        Some(dir) => dir.clone(),
        None => std::env::current_dir().map_err(|e| error::CliError::io("current directory", e))?,
    };
    if let Command::Doctor(flag) = &cli.command {
        // Works anywhere: outside a repository it checks the machine only.
        return cmd::doctor::run(RepoPaths::discover(&start).ok().as_ref(), flag.json);
    }
    let repo = RepoPaths::discover(&start)?;
    match cli.command {
        Command::Init => cmd::init::run(&repo),
        Command::Plan(PlanCommand::Import(args)) => cmd::plan::import(&repo, &args),
        Command::Plan(PlanCommand::Show(flag)) => cmd::plan::show(&repo, flag.json),
        Command::Status(args) => cmd::status::run(&repo, &args),
        Command::Graph(args) => cmd::graph::run(&repo, &args),
        Command::Task(TaskCommand::Show { id, json }) => cmd::task::show(&repo, &id, json),
        Command::Task(TaskCommand::SetStatus { id, status, reason }) => {
            cmd::task::set_status(&repo, &id, &status, &reason)
        }
        Command::Session(command) => cmd::session::run(&repo, &command),
        Command::Msg(command) => cmd::msg::run(&repo, &command),
        Command::Worktree(command) => cmd::worktree::run(&repo, &command),
        Command::Doctor(_) => unreachable!("handled before the repository is required"),
    }
}
