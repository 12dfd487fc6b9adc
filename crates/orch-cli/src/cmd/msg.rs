//! `orch msg list|show|answer`: the human side of escalation.

use orch_core::{SystemClock, exit_code};
use orch_escalation::{
    LifecycleError, ListFilter, PmMessage, StoredPmMessage, answer_stored_by, decode_stored,
    find_message, list_messages,
};
use orch_store::{Store, StoreError};

use crate::cli::MsgCommand;
use crate::cmd::open_store;
use crate::error::{CliError, CliResult, chain};
use crate::output::print_json;
use crate::repo::RepoPaths;

impl From<LifecycleError> for CliError {
    fn from(err: LifecycleError) -> CliError {
        let code = match &err {
            LifecycleError::UnknownMessage { .. } => exit_code::NOT_FOUND,
            LifecycleError::InvalidId { .. } | LifecycleError::UnknownOption { .. } => {
                exit_code::INVALID_INPUT
            }
            _ => exit_code::ILLEGAL_TRANSITION,
        };
        let cli = CliError::new(code, chain(&err));
        if matches!(err, LifecycleError::UnknownMessage { .. }) {
            cli.with_hint("`orch msg list --all` shows every message")
        } else {
            cli
        }
    }
}

/// The stored messages, decoded, each with the document it was read from.
fn load(store: &Store) -> CliResult<Vec<StoredPmMessage>> {
    store
        .messages()?
        .iter()
        .map(|row| {
            decode_stored(&row.id, &row.json).map_err(|e| {
                CliError::from(StoreError::Corrupt {
                    what: "PM message",
                    message: chain(&e),
                })
            })
        })
        .collect()
}

pub fn run(repo: &RepoPaths, command: &MsgCommand) -> CliResult {
    let mut store = open_store(repo)?;
    let loaded = load(&store)?;
    let messages: Vec<PmMessage> = loaded.iter().map(|m| m.message.clone()).collect();
    match command {
        MsgCommand::List { json, all } => {
            let filter = if *all {
                ListFilter::All
            } else {
                ListFilter::Pending
            };
            let rows = list_messages(&messages, filter);
            if *json {
                return print_json(&rows);
            }
            if rows.is_empty() {
                println!("No {}PM messages.", if *all { "" } else { "pending " });
            }
            for row in rows {
                println!("{}", crate::output::sanitize(&row.to_string()));
            }
            Ok(())
        }
        MsgCommand::Show { id, json } => {
            let message = find_message(&messages, id)?;
            if *json {
                print_json(message)
            } else {
                print!("{}", crate::output::sanitize(&message.render_text()));
                Ok(())
            }
        }
        MsgCommand::Answer { id, option, note } => {
            let now = orch_core::Clock::now(&SystemClock);
            let answer = answer_stored_by(&loaded, id, option, note.as_deref(), Some("cli"), now)?;
            let answered = &answer.answered;
            store.update_message_if(
                answered.message.id.as_str(),
                &answer.expected,
                &answered.message.task,
                answered.message.state.name(),
                &answer.document,
            )?;
            println!(
                "{}: answered {} for {}; the runner will apply it: {}",
                answered.message.id,
                option.to_ascii_uppercase(),
                answered.message.task,
                answered.action
            );
            Ok(())
        }
    }
}
