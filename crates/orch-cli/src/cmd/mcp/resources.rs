//! The resources: `orch://plan` (the stored plan, JSON) and
//! `orch://task/{task}/instructions` (the instruction file a task's next agent will read,
//! markdown). Like the tools, each is read by running the matching `orch` command.

use orch_core::{TaskId, exit_code};
use rmcp::ErrorData as McpError;
use rmcp::model::{Resource, ResourceContents, ResourceTemplate};
use serde_json::Value;

/// The plan's URI.
pub const PLAN_URI: &str = "orch://plan";
/// The template of a task's instructions.
pub const INSTRUCTIONS_TEMPLATE: &str = "orch://task/{task}/instructions";

/// What a resource URI asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Wanted {
    Plan,
    Instructions(TaskId),
}

/// Parses a URI of one of orch's resources; anything else is refused as not found.
pub fn parse(uri: &str) -> Result<Wanted, McpError> {
    if uri == PLAN_URI {
        return Ok(Wanted::Plan);
    }
    let task = uri
        .strip_prefix("orch://task/")
        .and_then(|rest| rest.strip_suffix("/instructions"))
        .ok_or_else(|| {
            McpError::resource_not_found(
                format!("no resource {uri}: orch has {PLAN_URI} and {INSTRUCTIONS_TEMPLATE}"),
                None,
            )
        })?;
    TaskId::new(task)
        .map(Wanted::Instructions)
        .map_err(|e| McpError::invalid_params(format!("{uri}: {e}"), None))
}

pub fn plan_resource() -> Resource {
    Resource::new(PLAN_URI, "plan")
        .with_title("The plan")
        .with_description(
            "The stored plan: epics, tasks, dependencies with reasons, scopes, statuses.",
        )
        .with_mime_type("application/json")
}

pub fn instructions_resource(task: &str, title: &str) -> Resource {
    Resource::new(
        format!("orch://task/{task}/instructions"),
        format!("{task} instructions"),
    )
    .with_title(format!("{task}: {}", orch_core::sanitize_line(title)))
    .with_description("The instruction file the task's next agent will read.")
    .with_mime_type("text/markdown")
}

pub fn instructions_template() -> ResourceTemplate {
    ResourceTemplate::new(INSTRUCTIONS_TEMPLATE, "task instructions")
        .with_title("Task instructions")
        .with_description(
            "The instruction file a task's next agent will read: PRD excerpt, what its \
             dependencies delivered, where to work, acceptance criteria, the quality bar.",
        )
        .with_mime_type("text/markdown")
}

/// `(id, title)` of every task of a plan as `orch plan show --json` prints it.
pub fn tasks_of(plan: &Value) -> Vec<(String, String)> {
    // Plan files (and so `--json`) call the list `task`, as in TOML's `[[task]]`.
    plan.get("task")
        .or_else(|| plan.get("tasks"))
        .and_then(Value::as_array)
        .map(|tasks| {
            tasks
                .iter()
                .filter_map(|t| {
                    let id = t.get("id")?.as_str()?;
                    TaskId::new(id).ok()?;
                    let title = t.get("title").and_then(Value::as_str).unwrap_or("");
                    Some((id.to_owned(), title.to_owned()))
                })
                .collect()
        })
        .unwrap_or_default()
}

pub fn text(uri: &str, mime: &str, text: String) -> ResourceContents {
    ResourceContents::text(text, uri).with_mime_type(mime)
}

/// A failed read as a protocol error: not found when the command said so, else internal,
/// with orch's error document as its data.
pub fn read_error(doc: Value) -> McpError {
    let message = doc["error"]["message"]
        .as_str()
        .unwrap_or("the resource could not be read")
        .to_owned();
    if doc["error"]["exit_code"] == exit_code::NOT_FOUND {
        McpError::resource_not_found(message, Some(doc))
    } else {
        McpError::internal_error(message, Some(doc))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_orchs_uris_are_resources() {
        assert_eq!(parse("orch://plan").unwrap(), Wanted::Plan);
        assert_eq!(
            parse("orch://task/TASK-A-001/instructions").unwrap(),
            Wanted::Instructions(TaskId::new("TASK-A-001").unwrap())
        );
        assert!(parse("orch://task/../instructions").is_err());
        assert!(parse("orch://task/a/b/instructions").is_err());
        assert!(parse("file:///etc/passwd").is_err());
        assert!(parse("orch://plan/").is_err());
    }
}
