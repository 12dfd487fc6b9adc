//! `orch completions SHELL` (clap_complete) and `orch man` (clap_mangen): generated from the
//! same definitions as the parser, so they never drift from it.

use std::io::Write as _;

use clap::CommandFactory as _;
use orch_core::exit_code;

use crate::cli::{Cli, CompletionsArgs, ManArgs};
use crate::error::{CliError, CliResult};

/// Prints the completion script for the shell.
pub fn completions(args: &CompletionsArgs) -> CliResult {
    let mut command = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut command, "orch", &mut out);
    write_stdout(&out)
}

/// Prints the top-level man page, or writes every command's page into `--dir`.
pub fn man(args: &ManArgs) -> CliResult {
    // As `generate_to` does for the pages it writes: no `help` command to refer to.
    let command = Cli::command().disable_help_subcommand(true);
    match &args.dir {
        None => {
            let mut out = Vec::new();
            clap_mangen::Man::new(command)
                .render(&mut out)
                .map_err(|e| CliError::io("the man page", e))?;
            write_stdout(&out)
        }
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|e| CliError::io(dir.display(), e))?;
            let pages = 1 + visible_subcommands(&command);
            clap_mangen::generate_to(command, dir).map_err(|e| CliError::io(dir.display(), e))?;
            println!(
                "wrote {pages} man pages to {} (orch.1, orch-run.1, …); `man orch` finds them when that directory is in the man path",
                dir.display()
            );
            Ok(())
        }
    }
}

/// How many pages `clap_mangen::generate_to` writes below the top one: every command that is
/// not hidden, at any depth.
fn visible_subcommands(command: &clap::Command) -> usize {
    command
        .get_subcommands()
        .filter(|sub| !sub.is_hide_set() && sub.get_name() != "help")
        .map(|sub| 1 + visible_subcommands(sub))
        .sum()
}

fn write_stdout(bytes: &[u8]) -> CliResult {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(bytes)
        .and_then(|()| stdout.flush())
        .map_err(|e| CliError::new(exit_code::FAILURE, format!("cannot write to stdout: {e}")))
}
