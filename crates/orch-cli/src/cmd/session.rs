//! `orch session list|logs|attach|kill`

use orch_core::exit_code;
use orch_session::{SessionError, SessionInfo, SessionStatus, Sessions};

use crate::cli::SessionCommand;
use crate::error::{CliError, CliResult, chain};
use crate::output::{Table, print_json};
use crate::repo::RepoPaths;

impl From<SessionError> for CliError {
    fn from(err: SessionError) -> CliError {
        let code = match &err {
            SessionError::NotFound { .. } => exit_code::NOT_FOUND,
            SessionError::Ambiguous { .. } => exit_code::INVALID_INPUT,
            _ => exit_code::FAILURE,
        };
        let mut cli = CliError::new(code, chain(&err));
        if matches!(err, SessionError::NotFound { .. }) {
            cli = cli.with_hint("`orch session list` shows the sessions of this repository");
        }
        cli
    }
}

pub fn run(repo: &RepoPaths, command: &SessionCommand) -> CliResult {
    repo.require_initialized()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::io("tokio runtime", e))?;
    let sessions = Sessions::open(repo.orch_dir());
    runtime.block_on(async {
        match command {
            SessionCommand::List { json } => list(&sessions, *json).await,
            SessionCommand::Logs { query, follow } => {
                let mut stdout = crate::output::SanitizingWriter::new(std::io::stdout());
                sessions.write_logs(query, &mut stdout, *follow).await?;
                Ok(())
            }
            SessionCommand::Attach { query } => attach(&sessions, query).await,
            SessionCommand::Kill { query } => {
                let info = sessions.kill(query).await?;
                match &info.handle.task {
                    Some(task) => println!(
                        "killed {} ({task}): {}",
                        info.handle.name,
                        status_text(&info.status)
                    ),
                    None => println!("killed {}: {}", info.handle.name, status_text(&info.status)),
                }
                Ok(())
            }
        }
    })
}

fn status_text(status: &SessionStatus) -> String {
    match status {
        SessionStatus::Running => "running".into(),
        SessionStatus::Exited { exit } => format!("exited ({exit})"),
        SessionStatus::Killed => "killed".into(),
        SessionStatus::Gone => "gone (no process, no exit status)".into(),
        #[allow(unreachable_patterns)]
        other => format!("{other:?}").to_lowercase(),
    }
}

async fn list(sessions: &Sessions, json: bool) -> CliResult {
    let list: Vec<SessionInfo> = sessions.list().await?;
    if json {
        return print_json(&list);
    }
    if list.is_empty() {
        println!("No sessions recorded in this repository.");
        return Ok(());
    }
    let mut table = Table::new(["SESSION", "TASK", "BACKEND", "STATUS", "PROGRAM", "LOG"]);
    for info in &list {
        table.row(vec![
            info.handle.name.clone(),
            info.handle
                .task
                .as_ref()
                .map_or_else(|| "-".to_owned(), ToString::to_string),
            info.handle.backend.to_string(),
            status_text(&info.status),
            info.handle.program.clone(),
            info.handle.log_path.display().to_string(),
        ]);
    }
    print!("{}", table.render());
    Ok(())
}

async fn attach(sessions: &Sessions, query: &str) -> CliResult {
    let Some(argv) = sessions.attach_command(query).await? else {
        return Err(CliError::new(
            exit_code::INVALID_INPUT,
            format!("session `{query}` runs as a plain process; there is no terminal to attach to"),
        )
        .with_hint(format!(
            "follow its output with `orch session logs {query} --follow`"
        )));
    };
    let (program, args) = argv.split_first().ok_or_else(|| {
        CliError::new(
            exit_code::FAILURE,
            "the backend gave an empty attach command",
        )
    })?;
    // Hand the terminal to tmux; orch's exit code is tmux's.
    let status = std::process::Command::new(program)
        .args(args)
        .status()
        .map_err(|e| CliError::io(format!("cannot run {program}"), e))?;
    if status.success() {
        Ok(())
    } else {
        Err(CliError::new(
            exit_code::FAILURE,
            format!("`{}` exited with {status}", argv.join(" ")),
        ))
    }
}
