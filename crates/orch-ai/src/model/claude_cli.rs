//! Claude Code as a model: `claude -p --output-format json`, prompt on stdin, one JSON result
//! object on stdout. The process runs in its own process group and is killed, group and all,
//! when the timeout passes.

use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{BoxFuture, LanguageModel, ModelError, ModelReply, ModelRequest};

/// Runs the `claude` CLI (or a compatible program) in print mode.
#[derive(Debug, Clone)]
pub struct ClaudeCliClient {
    program: String,
    model: Option<String>,
    timeout: Duration,
}

impl ClaudeCliClient {
    /// `program` is usually `claude`; tests pass a script that prints the same JSON.
    pub fn new(program: String, model: Option<String>, timeout: Duration) -> Self {
        ClaudeCliClient {
            program,
            model,
            timeout,
        }
    }

    async fn run(&self, request: &ModelRequest) -> Result<ModelReply, ModelError> {
        let mut command = tokio::process::Command::new(&self.program);
        command.args(["-p", "--output-format", "json"]);
        if let Some(model) = &self.model {
            command.args(["--model", model]);
        }
        command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        let mut child = command.spawn().map_err(|e| ModelError::Cli {
            message: format!(
                "cannot start `{}`: {e} (is Claude Code installed? see `orch doctor`)",
                self.program
            ),
        })?;
        let pid = child.id();
        let prompt = format!("{}\n\n{}", request.system, request.prompt);
        let mut stdin = child.stdin.take().expect("piped");
        let mut stdout = child.stdout.take().expect("piped");
        let mut stderr = child.stderr.take().expect("piped");
        let work = async {
            // Write and read at once so a large prompt cannot deadlock on a full pipe.
            let write = async {
                let _ = stdin.write_all(prompt.as_bytes()).await;
                drop(stdin);
            };
            let mut out = Vec::new();
            let mut err = Vec::new();
            let (_, _, _) = tokio::join!(
                write,
                stdout.read_to_end(&mut out),
                stderr.read_to_end(&mut err)
            );
            let status = child.wait().await;
            (status, out, err)
        };
        let (status, out, err) = match tokio::time::timeout(self.timeout, work).await {
            Ok(done) => done,
            Err(_) => {
                if let Some(pid) = pid {
                    kill_group(pid);
                }
                return Err(ModelError::Timeout {
                    provider: "claude-cli",
                    seconds: self.timeout.as_secs().max(1),
                });
            }
        };
        let status = status.map_err(|e| ModelError::Cli {
            message: format!("waiting for `{}`: {e}", self.program),
        })?;
        let stdout = String::from_utf8_lossy(&out);
        let result = stdout
            .lines()
            .rev()
            .filter_map(|line| serde_json::from_str::<Value>(line.trim()).ok())
            .find(|v| v.get("type").and_then(Value::as_str) == Some("result"));
        let Some(result) = result else {
            let stderr = String::from_utf8_lossy(&err);
            return Err(ModelError::Cli {
                message: format!(
                    "`{}` exited with {status} without a JSON result: {}",
                    self.program,
                    stderr.trim().lines().last().unwrap_or("(no output)")
                ),
            });
        };
        let text = result
            .get("result")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        if result.get("is_error").and_then(Value::as_bool) == Some(true) {
            return Err(ModelError::Cli {
                message: format!("claude reported an error: {text}"),
            });
        }
        let model = result
            .get("modelUsage")
            .and_then(Value::as_object)
            .and_then(|m| m.keys().next().cloned())
            .or_else(|| self.model.clone())
            .unwrap_or_else(|| "claude".into());
        Ok(ModelReply {
            text,
            model,
            input_tokens: result
                .pointer("/usage/input_tokens")
                .and_then(Value::as_u64),
            output_tokens: result
                .pointer("/usage/output_tokens")
                .and_then(Value::as_u64),
            cost_usd: result.get("total_cost_usd").and_then(Value::as_f64),
            attempts: 1,
        })
    }
}

fn kill_group(pid: u32) {
    use nix::sys::signal::{Signal, killpg};
    use nix::unistd::Pid;
    if let Ok(raw) = i32::try_from(pid) {
        let _ = killpg(Pid::from_raw(raw), Signal::SIGKILL);
    }
}

impl LanguageModel for ClaudeCliClient {
    fn describe(&self) -> String {
        format!("claude-cli/{}", self.model.as_deref().unwrap_or("default"))
    }

    fn complete<'a>(
        &'a self,
        request: &'a ModelRequest,
    ) -> BoxFuture<'a, Result<ModelReply, ModelError>> {
        Box::pin(self.run(request))
    }
}
