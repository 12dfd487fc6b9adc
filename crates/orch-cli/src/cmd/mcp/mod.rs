//! `orch mcp`: an MCP server on stdin/stdout, so that Claude Code (or any MCP client) can
//! plan, run, follow and steer orch in this project: answer its questions, skip tasks,
//! review work, stop a run.
//!
//! The server is a thin layer over the CLI: each tool and resource runs the matching `orch`
//! command of this same binary in the project (see [`exec`]), after checking its input
//! against the tool's schema (see [`tools`]). The CLI's JSON and exit codes are the answers;
//! its errors come back as `{"error": {exit_code, kind, message, hint}}` results. Nothing
//! but the protocol is written to stdout.

mod exec;
mod resources;
mod tools;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, Implementation, JsonObject,
    ListResourceTemplatesResult, ListResourcesResult, ListToolsResult, PaginatedRequestParams,
    ReadResourceRequestParams, ReadResourceResponse, ReadResourceResult, ServerCapabilities,
    ServerConfig,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler, ServiceExt as _};
use serde_json::{Value, json};

use crate::error::{CliError, CliResult};
use crate::repo::RepoPaths;
use exec::{Finished, Keep};
use tools::{Call, Output, Spec};

/// Lines of the latest session log `task_show` returns.
const LOG_LINES: usize = 60;

/// Serves MCP on stdin/stdout until the client closes stdin. `start` is where orch was
/// started (`-C`); its repository's root is the project every tool runs in. Outside a
/// repository the server still starts, and its tools answer with the error.
pub fn serve(start: &Path) -> CliResult {
    let root = match RepoPaths::discover(start) {
        Ok(repo) => repo.root,
        Err(_) => start.canonicalize().unwrap_or_else(|_| start.to_owned()),
    };
    let exe = std::env::current_exe().map_err(|e| CliError::io("the orch executable", e))?;
    let server = OrchServer {
        inner: Arc::new(Inner {
            exe,
            root,
            tools: tools::all(),
        }),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| CliError::io("the async runtime", e))?;
    let result = runtime.block_on(async move {
        let running = server
            .serve(rmcp::transport::stdio_pipes())
            .await
            .map_err(|e| CliError::new(orch_core::exit_code::FAILURE, format!("MCP: {e}")))?;
        running
            .waiting()
            .await
            .map_err(|e| CliError::new(orch_core::exit_code::FAILURE, format!("MCP: {e}")))?;
        Ok(())
    });
    // A read of stdin may still be pending on a blocking thread: do not wait for it.
    runtime.shutdown_timeout(Duration::from_millis(500));
    result
}

#[derive(Debug, Clone)]
struct OrchServer {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// This binary, run for every tool.
    exe: PathBuf,
    /// The project: `-C` of every command, and the boundary of paths given to tools.
    root: PathBuf,
    tools: Vec<Spec>,
}

impl OrchServer {
    async fn run(&self, call: &Call, keep: Keep, limit: Duration) -> Finished {
        exec::run(&self.inner.exe, &self.inner.root, &call.args, keep, limit).await
    }

    async fn call(&self, spec: &Spec, args: &JsonObject) -> CallToolResult {
        let calls = match tools::check(spec, args)
            .and_then(|input| tools::commands(spec, &input, &self.inner.root))
        {
            Ok(calls) => calls,
            Err(invalid) => return CallToolResult::structured_error(invalid.doc()),
        };
        let Some((first, rest)) = calls.split_first() else {
            return CallToolResult::structured_error(exec::error_doc(
                None,
                "failure",
                "nothing to run",
                None,
            ));
        };
        let finished = self.run(first, Keep::Head, spec.timeout).await;
        let mut result = match answer(first, &finished, spec.timeout) {
            Ok(value) => value,
            Err(doc) => return CallToolResult::structured_error(doc),
        };
        // `task_show`'s second command: the end of the task's latest session log.
        for log in rest {
            let finished = self.run(log, Keep::Tail, spec.timeout).await;
            match answer(log, &finished, spec.timeout) {
                Ok(_) => {
                    result["log_tail"] = json!(exec::tail(
                        &orch_core::sanitize_terminal(&finished.stdout),
                        LOG_LINES
                    ));
                }
                Err(doc) => {
                    result["log_tail"] = Value::Null;
                    result["log_note"] = doc["error"]["message"].clone();
                }
            }
        }
        CallToolResult::structured(result)
    }

    /// The plan as `orch plan show --json` prints it, or its error document.
    async fn plan_json(&self) -> Result<(Value, String), Value> {
        let call = Call {
            args: ["plan", "show", "--json"].iter().map(Into::into).collect(),
            output: Output::Json("plan"),
            ok_codes: &[orch_core::exit_code::OK],
        };
        let finished = self.run(&call, Keep::Head, READ_LIMIT).await;
        answer(&call, &finished, READ_LIMIT).map(|plan| (plan, finished.stdout))
    }
}

const READ_LIMIT: Duration = Duration::from_secs(30);

/// The tool's answer from what its command printed, or the error document.
fn answer(call: &Call, finished: &Finished, limit: Duration) -> Result<Value, Value> {
    let command = call
        .args
        .iter()
        .map(|a| a.to_string_lossy())
        .take_while(|a| !a.starts_with('-'))
        .take(2)
        .collect::<Vec<_>>()
        .join(" ");
    let ok = !finished.timed_out && finished.code.is_some_and(|c| call.ok_codes.contains(&c));
    if !ok {
        return Err(exec::failure(finished, &command, limit));
    }
    let text = || {
        let mut doc = json!({
            "text": orch_core::sanitize_terminal(finished.stdout.trim_end()).into_owned()
        });
        if finished.truncated {
            doc["truncated"] = json!(true);
            doc["note"] = json!(format!(
                "the output was cut at {} MiB",
                exec::STDOUT_LIMIT / (1024 * 1024)
            ));
        }
        doc
    };
    Ok(match call.output {
        Output::Text => text(),
        Output::Json(key) => match serde_json::from_str::<Value>(&finished.stdout) {
            Ok(Value::Object(map)) => Value::Object(map),
            Ok(other) => json!({ key: other }),
            Err(_) => text(),
        },
    })
}

fn instructions(root: &Path, tools: &[Spec]) -> String {
    let destructive: Vec<&str> = tools
        .iter()
        .filter(|t| t.effect == tools::Effect::Destructive)
        .map(|t| t.name)
        .collect();
    format!(
        "orch runs many AI coding agents on one codebase without chaos. A PRD becomes a plan of \
         epics and tasks with dependencies (plan_prd, plan_show, graph). A run (run_start) \
         works on each ready task in its own git worktree with an agent, verifies the result \
         with orch's own quality gate (quality), and merges it through a queue, optionally \
         after a human review (review_list, review_show). A task that keeps failing becomes a \
         PM message: a question for a human with lettered options (msg_list, msg_show). \
         Follow progress with status and task_show (attempts, why the gate failed, the agent's \
         log). Resources: orch://plan and orch://task/{{task}}/instructions.\n\
         Every tool runs the matching `orch` command in the project {}; a failure comes back \
         as {{\"error\": {{exit_code, kind, message, hint}}}}.\n\
         DESTRUCTIVE tools, to call only when the user asked for that decision: {}.",
        root.display(),
        destructive.join(", ")
    )
}

impl ServerHandler for OrchServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_resources()
                .build(),
        )
        .with_server_info(Implementation::new("orch", env!("CARGO_PKG_VERSION")).with_title("orch"))
        .with_instructions(instructions(&self.inner.root, &self.inner.tools))
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        Ok(ListToolsResult::with_all_items(
            self.inner.tools.iter().map(Spec::tool).collect(),
        ))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let Some(spec) = self
            .inner
            .tools
            .iter()
            .find(|t| t.name == request.name.as_ref())
        else {
            return Err(McpError::invalid_params(
                format!("unknown tool `{}`", request.name.escape_debug()),
                None,
            ));
        };
        let args = request.arguments.unwrap_or_default();
        Ok(self.call(spec, &args).await.into())
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, McpError> {
        let mut list = vec![resources::plan_resource()];
        // Without a plan (or a project) only the plan is listed; reading it says why.
        if let Ok((plan, _)) = self.plan_json().await {
            list.extend(
                resources::tasks_of(&plan)
                    .iter()
                    .map(|(id, title)| resources::instructions_resource(id, title)),
            );
        }
        Ok(ListResourcesResult::with_all_items(list))
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, McpError> {
        Ok(ListResourceTemplatesResult::with_all_items(vec![
            resources::instructions_template(),
        ]))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, McpError> {
        let uri = request.uri;
        let contents = match resources::parse(&uri)? {
            resources::Wanted::Plan => {
                let (plan, text) = self.plan_json().await.map_err(resources::read_error)?;
                if plan.get("truncated").is_some() {
                    return Err(McpError::internal_error(
                        format!(
                            "the plan is larger than {} MiB; use the status and task_show tools",
                            exec::STDOUT_LIMIT / (1024 * 1024)
                        ),
                        None,
                    ));
                }
                resources::text(&uri, "application/json", text)
            }
            resources::Wanted::Instructions(task) => {
                let call = Call {
                    args: ["task", "show", task.as_str(), "--instructions"]
                        .iter()
                        .map(Into::into)
                        .collect(),
                    output: Output::Text,
                    ok_codes: &[orch_core::exit_code::OK],
                };
                let limit = Duration::from_secs(60);
                let finished = self.run(&call, Keep::Head, limit).await;
                answer(&call, &finished, limit).map_err(resources::read_error)?;
                resources::text(&uri, "text/markdown", finished.stdout)
            }
        };
        Ok(ReadResourceResult::new(vec![contents]).into())
    }
}
