//! A fake Claude Code: the `orch-fake-agent` binary speaks Claude Code's stream-json (the
//! shapes of the real captures in `../shared/fixtures/claude-code/`), accepts the flags
//! orch's Claude adapter passes (`-p`, `--output-format`, `--verbose`, `--session-id`,
//! `--resume`, `--model`, `--max-turns`, `--permission-mode`, `--append-system-prompt`;
//! unknown flags are ignored) and follows a [`FakeScenario`].
//!
//! The scenario comes from, in this order: the file named by `ORCH_FAKE_SCENARIO_FILE`; the
//! JSON (or preset name, see [`FakeScenario::preset`]) in `ORCH_FAKE_SCENARIO`; a line
//! `orch-fake-scenario: <json or preset>` in the prompt (so a task's instruction file can
//! carry it); otherwise the `success` preset.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// Environment variable holding a scenario (JSON or a preset name).
pub const FAKE_SCENARIO_ENV: &str = "ORCH_FAKE_SCENARIO";
/// Environment variable naming a scenario file (JSON).
pub const FAKE_SCENARIO_FILE_ENV: &str = "ORCH_FAKE_SCENARIO_FILE";
/// Marker of a scenario line inside the prompt.
pub const FAKE_SCENARIO_MARKER: &str = "orch-fake-scenario:";

/// One thing the fake agent does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FakeStep {
    /// An assistant message with a text block.
    Text(String),
    /// A tool call (`tool_use` block) and its `tool_result`; one turn.
    Tool {
        /// Tool name (`Bash`, `Read`, …).
        name: String,
        /// Tool input.
        #[serde(default)]
        input: Value,
        /// The result text.
        #[serde(default)]
        output: String,
    },
    /// Creates or replaces a file (relative to the working directory), shown as a `Write`
    /// tool call; one turn.
    Write {
        /// Path relative to the working directory.
        path: String,
        /// New content.
        content: String,
    },
    /// Appends to a file, shown as an `Edit` tool call; one turn.
    Append {
        /// Path relative to the working directory.
        path: String,
        /// Text to append.
        content: String,
    },
    /// `git add -A && git commit -m <message>`, shown as a `Bash` tool call; one turn.
    Commit(String),
    /// Sleeps this many milliseconds.
    SleepMs(u64),
    /// Prints a line on stderr.
    Stderr(String),
    /// Starts `sleep 1000` as a child (in the agent's process group) and writes its pid to
    /// this file (relative to the working directory or absolute): for tests that check a
    /// kill leaves nothing behind.
    SpawnChild(String),
    /// Prints a plain-text permission prompt (no newline) and waits forever.
    PermissionPrompt(String),
    /// Waits forever, silently.
    Hang,
    /// Exits now with this code, without a `result` line.
    Crash(i32),
}

/// The final `result` line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FakeResult {
    /// `success`, `error_max_turns`, `error_during_execution`, …
    pub subtype: String,
    /// `is_error` (true with `subtype: success` is an API error).
    pub is_error: bool,
    /// The `result` text.
    pub text: String,
    /// The process exit code.
    pub exit_code: i32,
    /// `total_cost_usd`.
    pub cost_usd: f64,
}

impl Default for FakeResult {
    fn default() -> Self {
        FakeResult {
            subtype: "success".into(),
            is_error: false,
            text: "Done.".into(),
            exit_code: 0,
            cost_usd: 0.0123,
        }
    }
}

/// What the fake agent does, step by step, and how it ends.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct FakeScenario {
    /// The steps, in order.
    pub steps: Vec<FakeStep>,
    /// The final line (default: success, exit 0).
    pub result: FakeResult,
    /// If set, the agent writes `{argv, cwd, prompt}` as JSON to this file (relative to the
    /// working directory or absolute) before anything else.
    pub record: Option<String>,
}

impl FakeScenario {
    /// A scenario with no step that succeeds.
    pub fn new() -> FakeScenario {
        FakeScenario::default()
    }

    /// Named scenarios: `success`, `edit_and_commit`, `hang`, `permission_prompt`, `crash`,
    /// `api_error` (exit 0 with `is_error: true`), `max_turns` (ends with
    /// `error_max_turns`), `slow` (two seconds of output, one line every 100 ms).
    pub fn preset(name: &str) -> Option<FakeScenario> {
        let s = FakeScenario::new();
        Some(match name {
            "success" => s.text("Looking at the task.").text("All done."),
            "edit_and_commit" => s
                .write("src/fake.txt", "written by the fake agent\n")
                .commit("fake agent: add src/fake.txt"),
            "hang" => s.text("Thinking...").step(FakeStep::Hang),
            "permission_prompt" => {
                s.text("I need to run a command.")
                    .step(FakeStep::PermissionPrompt(
                        "Allow Bash(rm -rf build)? [y/N] ".into(),
                    ))
            }
            "crash" => s.text("Starting.").step(FakeStep::Crash(1)),
            "api_error" => s.api_error("API Error: 529 overloaded"),
            "max_turns" => (0..50).fold(s, |s, i| {
                s.tool("Bash", json!({"command": format!("echo {i}")}), "ok")
            }),
            "slow" => (0..20).fold(s, |s, i| s.text(&format!("step {i}")).sleep_ms(100)),
            _ => return None,
        })
    }

    /// Adds a step.
    pub fn step(mut self, step: FakeStep) -> FakeScenario {
        self.steps.push(step);
        self
    }

    /// Adds assistant text.
    pub fn text(self, text: &str) -> FakeScenario {
        self.step(FakeStep::Text(text.into()))
    }

    /// Adds a tool call and its result.
    pub fn tool(self, name: &str, input: Value, output: &str) -> FakeScenario {
        self.step(FakeStep::Tool {
            name: name.into(),
            input,
            output: output.into(),
        })
    }

    /// Adds a file write.
    pub fn write(self, path: &str, content: &str) -> FakeScenario {
        self.step(FakeStep::Write {
            path: path.into(),
            content: content.into(),
        })
    }

    /// Adds a commit of everything.
    pub fn commit(self, message: &str) -> FakeScenario {
        self.step(FakeStep::Commit(message.into()))
    }

    /// Adds a sleep.
    pub fn sleep_ms(self, ms: u64) -> FakeScenario {
        self.step(FakeStep::SleepMs(ms))
    }

    /// Ends with `subtype: success`, `is_error: true`, exit code 0: an API error.
    pub fn api_error(mut self, message: &str) -> FakeScenario {
        self.result = FakeResult {
            subtype: "success".into(),
            is_error: true,
            text: message.into(),
            exit_code: 0,
            cost_usd: 0.0,
        };
        self
    }

    /// Ends with this result subtype (`error_max_turns`, `error_during_execution`, …),
    /// `is_error: true`, exit code 1.
    pub fn fail(mut self, subtype: &str) -> FakeScenario {
        self.result = FakeResult {
            subtype: subtype.into(),
            is_error: true,
            text: String::new(),
            exit_code: 1,
            ..FakeResult::default()
        };
        self
    }

    /// Records the invocation into `path`.
    pub fn record(mut self, path: &str) -> FakeScenario {
        self.record = Some(path.into());
        self
    }

    /// The scenario as one line of JSON (for [`FAKE_SCENARIO_ENV`] or a prompt line).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("scenarios serialize")
    }

    fn parse(text: &str) -> Result<FakeScenario, String> {
        let text = text.trim();
        if text.starts_with('{') {
            serde_json::from_str(text).map_err(|e| format!("bad scenario JSON: {e}"))
        } else {
            FakeScenario::preset(text).ok_or_else(|| format!("unknown scenario preset {text:?}"))
        }
    }
}

/// The path of the `orch-fake-agent` binary in the cargo target directory of the running
/// test, benchmark or example; builds it once (`cargo build -p orch-testutils --bin
/// orch-fake-agent`, same profile) when it is missing or older than its sources.
pub fn fake_agent_path() -> PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let exe = std::env::current_exe().expect("current exe");
        // target/<profile>/deps/<test> or target/<profile>/<bin> or …/examples/<x>
        let mut profile_dir = exe.parent().expect("exe dir").to_path_buf();
        if matches!(
            profile_dir.file_name().and_then(|n| n.to_str()),
            Some("deps" | "examples")
        ) {
            profile_dir.pop();
        }
        let binary = profile_dir.join("orch-fake-agent");
        if binary_is_fresh(&binary) {
            return binary;
        }
        let profile = profile_dir
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("debug")
            .to_owned();
        let target_dir = profile_dir.parent().expect("target dir");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
            .args([
                "build",
                "-q",
                "-p",
                "orch-testutils",
                "--bin",
                "orch-fake-agent",
            ])
            .arg("--target-dir")
            .arg(target_dir);
        match profile.as_str() {
            "debug" => {}
            "release" => {
                cmd.arg("--release");
            }
            other => {
                cmd.args(["--profile", other]);
            }
        }
        let status = cmd.status().expect("run cargo build for orch-fake-agent");
        assert!(status.success(), "building orch-fake-agent failed");
        assert!(binary.exists(), "{} missing after build", binary.display());
        binary
    })
    .clone()
}

fn binary_is_fresh(binary: &Path) -> bool {
    let Ok(built) = binary.metadata().and_then(|m| m.modified()) else {
        return false;
    };
    let src = Path::new(env!("CARGO_MANIFEST_DIR"));
    [
        src.join("src/fake_agent.rs"),
        src.join("src/bin/orch-fake-agent.rs"),
    ]
    .iter()
    // Sources that cannot be read (an artifact compiled in another checkout sharing this
    // target directory) cannot make an existing binary stale.
    .all(|f| {
        f.metadata()
            .and_then(|m| m.modified())
            .map_or(true, |m| m <= built)
    })
}

/// Parsed command line of the fake agent (Claude Code's flags).
#[derive(Debug, Default)]
struct Args {
    print: bool,
    verbose: bool,
    output_format: String,
    session_id: Option<String>,
    resume: Option<String>,
    model: Option<String>,
    max_turns: Option<u32>,
    permission_mode: Option<String>,
    prompt: Option<String>,
}

fn parse_args(argv: &[String]) -> Result<Args, String> {
    const WITH_VALUE: &[&str] = &[
        "--output-format",
        "--input-format",
        "--session-id",
        "--resume",
        "-r",
        "--model",
        "--max-turns",
        "--permission-mode",
        "--append-system-prompt",
        "--system-prompt",
        "--allowedTools",
        "--allowed-tools",
        "--disallowedTools",
        "--disallowed-tools",
        "--mcp-config",
        "--settings",
        "--add-dir",
        "--fallback-model",
        "--max-budget-usd",
    ];
    let mut args = Args {
        output_format: "text".into(),
        ..Args::default()
    };
    let mut it = argv.iter().skip(1);
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_owned())),
            _ => (arg.as_str(), None),
        };
        if WITH_VALUE.contains(&flag) {
            let value = match inline {
                Some(v) => v,
                None => it
                    .next()
                    .cloned()
                    .ok_or_else(|| format!("error: option '{flag}' argument missing"))?,
            };
            match flag {
                "--output-format" => args.output_format = value,
                "--session-id" => args.session_id = Some(value),
                "--resume" | "-r" => args.resume = Some(value),
                "--model" => args.model = Some(value),
                "--max-turns" => {
                    args.max_turns =
                        Some(value.parse().map_err(|_| {
                            format!("error: --max-turns {value:?} is not a number")
                        })?);
                }
                "--permission-mode" => args.permission_mode = Some(value),
                _ => {}
            }
        } else if flag == "-p" || flag == "--print" {
            args.print = true;
        } else if flag == "--verbose" {
            args.verbose = true;
        } else if flag.starts_with('-') && flag.len() > 1 {
            // Unknown flags are ignored, as the brief of the fake says.
        } else {
            args.prompt = Some(arg.clone());
        }
    }
    Ok(args)
}

/// Runs the fake agent with `argv` (including the program name); returns the exit code.
/// Writes stream-json to stdout. Used by the `orch-fake-agent` binary.
pub fn run_fake_agent(argv: &[String]) -> i32 {
    if argv.iter().skip(1).any(|a| a == "--help" || a == "-h") {
        // What orch probes for: the flags of a current Claude Code.
        println!("Usage: claude [options] [prompt]\n");
        for flag in [
            "-p, --print",
            "--output-format <format>",
            "--verbose",
            "--session-id <uuid>",
            "-r, --resume [value]",
            "--model <model>",
            "--max-turns <turns>",
            "--permission-mode <mode>",
            "--append-system-prompt <prompt>",
            "--allowedTools, --allowed-tools <tools...>",
            "--disallowedTools, --disallowed-tools <tools...>",
            "--max-budget-usd <amount>",
        ] {
            println!("  {flag}");
        }
        return 0;
    }
    let args = match parse_args(argv) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return 1;
        }
    };
    if args.print && args.output_format == "stream-json" && !args.verbose {
        eprintln!("Error: When using --print, --output-format=stream-json requires --verbose");
        return 1;
    }
    let prompt = match &args.prompt {
        Some(p) => p.clone(),
        None => {
            let mut text = String::new();
            let _ = std::io::stdin().read_to_string(&mut text);
            text
        }
    };
    let scenario = match load_scenario(&prompt) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("orch-fake-agent: {e}");
            return 2;
        }
    };
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    if let Some(record) = &scenario.record {
        let data = json!({ "argv": argv, "cwd": cwd, "prompt": prompt });
        let _ = std::fs::write(cwd.join(record), data.to_string());
    }
    let mut agent = Fake::new(args, cwd);
    agent.run(&scenario)
}

fn load_scenario(prompt: &str) -> Result<FakeScenario, String> {
    if let Some(path) = std::env::var_os(FAKE_SCENARIO_FILE_ENV) {
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read {}: {e}", PathBuf::from(&path).display()))?;
        return FakeScenario::parse(&text);
    }
    if let Ok(text) = std::env::var(FAKE_SCENARIO_ENV)
        && !text.trim().is_empty()
    {
        return FakeScenario::parse(&text);
    }
    if let Some(line) = prompt
        .lines()
        .find_map(|l| l.trim().split_once(FAKE_SCENARIO_MARKER).map(|(_, r)| r))
    {
        return FakeScenario::parse(line.trim().trim_end_matches("-->").trim());
    }
    Ok(FakeScenario::preset("success").expect("preset exists"))
}

/// A JSON object whose keys keep their order (Claude Code prints `type` first; serde_json's
/// map sorts keys without its `preserve_order` feature).
enum J {
    Obj(Vec<(&'static str, J)>),
    Arr(Vec<J>),
    Val(Value),
}

fn v(value: impl Into<Value>) -> J {
    J::Val(value.into())
}

impl J {
    fn render(&self, out: &mut String) {
        match self {
            J::Val(value) => out.push_str(&value.to_string()),
            J::Obj(fields) => {
                out.push('{');
                for (i, (key, value)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&Value::from(*key).to_string());
                    out.push(':');
                    value.render(out);
                }
                out.push('}');
            }
            J::Arr(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.render(out);
                }
                out.push(']');
            }
        }
    }

    /// `[self]`.
    fn array(self) -> J {
        J::Arr(vec![self])
    }

    fn line(&self) -> String {
        let mut out = String::new();
        self.render(&mut out);
        out
    }
}

struct Fake {
    args: Args,
    cwd: PathBuf,
    session_id: String,
    model: String,
    started: Instant,
    turns: u32,
    messages: u32,
}

impl Fake {
    fn new(args: Args, cwd: PathBuf) -> Fake {
        let session_id = args
            .resume
            .clone()
            .or_else(|| args.session_id.clone())
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let model = args
            .model
            .clone()
            .unwrap_or_else(|| "claude-fake-4-5".into());
        Fake {
            args,
            cwd,
            session_id,
            model,
            started: Instant::now(),
            turns: 0,
            messages: 0,
        }
    }

    fn stream(&self) -> bool {
        self.args.output_format == "stream-json"
    }

    fn emit(&self, line: &J) {
        if !self.stream() {
            return;
        }
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{}", line.line());
        let _ = out.flush();
    }

    fn assistant(&mut self, content: J) {
        self.messages += 1;
        let usage = J::Obj(vec![
            ("input_tokens", v(10)),
            ("cache_creation_input_tokens", v(100)),
            ("cache_read_input_tokens", v(200)),
            (
                "cache_creation",
                J::Obj(vec![
                    ("ephemeral_5m_input_tokens", v(100)),
                    ("ephemeral_1h_input_tokens", v(0)),
                ]),
            ),
            ("output_tokens", v(5)),
            ("service_tier", v("standard")),
        ]);
        let message = J::Obj(vec![
            ("type", v("assistant")),
            (
                "message",
                J::Obj(vec![
                    ("model", v(self.model.clone())),
                    ("id", v(format!("msg_fake_{:04}", self.messages))),
                    ("type", v("message")),
                    ("role", v("assistant")),
                    ("content", content),
                    ("stop_reason", v(Value::Null)),
                    ("stop_sequence", v(Value::Null)),
                    ("usage", usage),
                    ("context_management", v(Value::Null)),
                ]),
            ),
            ("parent_tool_use_id", v(Value::Null)),
            ("session_id", v(self.session_id.clone())),
            ("uuid", v(uuid::Uuid::new_v4().to_string())),
        ]);
        self.emit(&message);
    }

    /// A tool call and its result; false when the turn limit stops the run first.
    fn tool(&mut self, name: &str, input: Value, output: &str, is_error: bool) -> bool {
        if self.args.max_turns.is_some_and(|max| self.turns >= max) {
            return false;
        }
        self.turns += 1;
        let id = format!("toolu_fake_{:04}", self.turns);
        self.assistant(
            J::Obj(vec![
                ("type", v("tool_use")),
                ("id", v(id.clone())),
                ("name", v(name)),
                ("input", v(input)),
            ])
            .array(),
        );
        let result_block = J::Obj(vec![
            ("tool_use_id", v(id)),
            ("type", v("tool_result")),
            ("content", v(output)),
            ("is_error", v(is_error)),
        ]);
        self.emit(&J::Obj(vec![
            ("type", v("user")),
            (
                "message",
                J::Obj(vec![("role", v("user")), ("content", result_block.array())]),
            ),
            ("parent_tool_use_id", v(Value::Null)),
            ("session_id", v(self.session_id.clone())),
            ("uuid", v(uuid::Uuid::new_v4().to_string())),
            (
                "tool_use_result",
                J::Obj(vec![
                    ("stdout", v(output)),
                    ("stderr", v("")),
                    ("interrupted", v(false)),
                    ("isImage", v(false)),
                ]),
            ),
        ]));
        true
    }

    fn result(&self, result: &FakeResult) -> i32 {
        let duration = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let n = u64::from(self.messages.max(1));
        let line = J::Obj(vec![
            ("type", v("result")),
            ("subtype", v(result.subtype.clone())),
            ("is_error", v(result.is_error)),
            ("duration_ms", v(duration)),
            ("duration_api_ms", v(duration)),
            ("num_turns", v(self.turns + 1)),
            ("result", v(result.text.clone())),
            ("session_id", v(self.session_id.clone())),
            ("total_cost_usd", v(result.cost_usd)),
            (
                "usage",
                J::Obj(vec![
                    ("input_tokens", v(10 * n)),
                    ("cache_creation_input_tokens", v(100)),
                    ("cache_read_input_tokens", v(200 * n)),
                    ("output_tokens", v(5 * n)),
                    (
                        "server_tool_use",
                        J::Obj(vec![
                            ("web_search_requests", v(0)),
                            ("web_fetch_requests", v(0)),
                        ]),
                    ),
                    ("service_tier", v("standard")),
                    (
                        "cache_creation",
                        J::Obj(vec![
                            ("ephemeral_1h_input_tokens", v(0)),
                            ("ephemeral_5m_input_tokens", v(100)),
                        ]),
                    ),
                ]),
            ),
            ("modelUsage", J::Obj(vec![])),
            ("permission_denials", v(json!([]))),
            ("uuid", v(uuid::Uuid::new_v4().to_string())),
        ]);
        if self.stream() {
            self.emit(&line);
        } else if self.args.output_format == "json" {
            println!("{}", line.line());
        } else {
            println!("{}", result.text);
        }
        result.exit_code
    }

    fn run(&mut self, scenario: &FakeScenario) -> i32 {
        let tools = [
            "Task",
            "Bash",
            "Glob",
            "Grep",
            "Read",
            "Edit",
            "Write",
            "TodoWrite",
        ];
        self.emit(&J::Obj(vec![
            ("type", v("system")),
            ("subtype", v("init")),
            ("cwd", v(self.cwd.to_string_lossy().into_owned())),
            ("session_id", v(self.session_id.clone())),
            ("tools", v(json!(tools))),
            ("mcp_servers", v(json!([]))),
            ("model", v(self.model.clone())),
            (
                "permissionMode",
                v(self.args.permission_mode.as_deref().unwrap_or("default")),
            ),
            ("slash_commands", v(json!(["compact", "context", "cost"]))),
            ("apiKeySource", v("none")),
            ("claude_code_version", v("2.1.7")),
            ("output_style", v("default")),
            ("agents", v(json!(["general-purpose"]))),
            ("skills", v(json!([]))),
            ("plugins", v(json!([]))),
            ("uuid", v(uuid::Uuid::new_v4().to_string())),
        ]));
        for step in &scenario.steps {
            let within_limit = match step {
                FakeStep::Text(text) => {
                    self.assistant(
                        J::Obj(vec![("type", v("text")), ("text", v(text.clone()))]).array(),
                    );
                    true
                }
                FakeStep::Tool {
                    name,
                    input,
                    output,
                } => self.tool(name, input.clone(), output, false),
                FakeStep::Write { path, content } => {
                    let full = self.cwd.join(path);
                    let outcome = full
                        .parent()
                        .map_or(Ok(()), std::fs::create_dir_all)
                        .and_then(|()| std::fs::write(&full, content));
                    let (text, err) = match outcome {
                        Ok(()) => (
                            format!("File created successfully at: {}", full.display()),
                            false,
                        ),
                        Err(e) => (format!("Error: {e}"), true),
                    };
                    self.tool(
                        "Write",
                        json!({ "file_path": full, "content": content }),
                        &text,
                        err,
                    )
                }
                FakeStep::Append { path, content } => {
                    let full = self.cwd.join(path);
                    let outcome = std::fs::OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(&full)
                        .and_then(|mut f| f.write_all(content.as_bytes()));
                    let (text, err) = match outcome {
                        Ok(()) => (
                            format!("The file {} has been updated.", full.display()),
                            false,
                        ),
                        Err(e) => (format!("Error: {e}"), true),
                    };
                    self.tool(
                        "Edit",
                        json!({ "file_path": full, "old_string": "", "new_string": content }),
                        &text,
                        err,
                    )
                }
                FakeStep::Commit(message) => {
                    let (text, err) = git_commit(&self.cwd, message);
                    self.tool(
                        "Bash",
                        json!({ "command": format!("git add -A && git commit -m {message:?}"), "description": "Commit changes" }),
                        &text,
                        err,
                    )
                }
                FakeStep::SleepMs(ms) => {
                    std::thread::sleep(Duration::from_millis(*ms));
                    true
                }
                FakeStep::Stderr(text) => {
                    eprintln!("{text}");
                    true
                }
                FakeStep::SpawnChild(pid_file) => {
                    match Command::new("sleep").arg("1000").spawn() {
                        Ok(child) => {
                            // Written whole (temporary file, then rename) for pollers.
                            let path = self.cwd.join(pid_file);
                            let tmp = path.with_extension("tmp");
                            let _ = std::fs::write(&tmp, child.id().to_string())
                                .and_then(|()| std::fs::rename(&tmp, &path));
                            // Deliberately not waited for: it must die with the group.
                            std::mem::forget(child);
                        }
                        Err(e) => eprintln!("orch-fake-agent: cannot spawn child: {e}"),
                    }
                    true
                }
                FakeStep::PermissionPrompt(text) => {
                    let mut out = std::io::stdout().lock();
                    let _ = write!(out, "{text}");
                    let _ = out.flush();
                    drop(out);
                    hang()
                }
                FakeStep::Hang => hang(),
                FakeStep::Crash(code) => {
                    eprintln!("orch-fake-agent: crashing with exit code {code}");
                    return *code;
                }
            };
            if !within_limit {
                let limit = FakeResult {
                    subtype: "error_max_turns".into(),
                    is_error: true,
                    text: String::new(),
                    exit_code: 1,
                    ..scenario.result.clone()
                };
                return self.result(&limit);
            }
        }
        self.result(&scenario.result)
    }
}

fn hang() -> ! {
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}

fn git_commit(cwd: &Path, message: &str) -> (String, bool) {
    let run = |args: &[&str]| {
        let mut cmd = Command::new("git");
        cmd.current_dir(cwd).args(args);
        for (k, v) in [
            ("GIT_AUTHOR_NAME", "orch fake agent"),
            ("GIT_AUTHOR_EMAIL", "fake-agent@orch.invalid"),
            ("GIT_COMMITTER_NAME", "orch fake agent"),
            ("GIT_COMMITTER_EMAIL", "fake-agent@orch.invalid"),
        ] {
            if std::env::var_os(k).is_none() {
                cmd.env(k, v);
            }
        }
        cmd.output()
    };
    match run(&["add", "-A"]).and_then(|_| run(&["commit", "-q", "-m", message])) {
        Ok(out) if out.status.success() => (
            format!(
                "[committed] {message}{}",
                String::from_utf8_lossy(&out.stdout)
            ),
            false,
        ),
        Ok(out) => (String::from_utf8_lossy(&out.stderr).into_owned(), true),
        Err(e) => (format!("cannot run git: {e}"), true),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scenarios_round_trip_and_presets_exist() {
        let s = FakeScenario::new()
            .text("hi")
            .write("a.txt", "x")
            .commit("m")
            .step(FakeStep::Hang)
            .api_error("boom");
        let back = FakeScenario::parse(&s.to_json()).unwrap();
        assert_eq!(back, s);
        assert!(s.to_json().contains(r#""hang""#));
        for name in [
            "success",
            "edit_and_commit",
            "hang",
            "permission_prompt",
            "crash",
            "api_error",
            "max_turns",
            "slow",
        ] {
            assert!(FakeScenario::preset(name).is_some(), "{name}");
        }
        assert!(FakeScenario::parse("nope").is_err());
    }

    #[test]
    fn args_like_claude() {
        let argv: Vec<String> = [
            "claude",
            "-p",
            "--output-format",
            "stream-json",
            "--verbose",
            "--session-id",
            "abc",
            "--max-turns=3",
            "--some-new-flag",
            "--model",
            "opus",
        ]
        .map(String::from)
        .to_vec();
        let a = parse_args(&argv).unwrap();
        assert!(a.print && a.verbose);
        assert_eq!(a.output_format, "stream-json");
        assert_eq!(a.session_id.as_deref(), Some("abc"));
        assert_eq!(a.max_turns, Some(3));
        assert_eq!(a.model.as_deref(), Some("opus"));
        assert_eq!(a.prompt, None);
    }

    #[test]
    fn scenario_from_prompt_line() {
        let s = load_scenario("Do things.\n<!-- orch-fake-scenario: crash -->\n");
        // The environment may carry a scenario in odd setups; only check when it does not.
        if std::env::var_os(FAKE_SCENARIO_ENV).is_none()
            && std::env::var_os(FAKE_SCENARIO_FILE_ENV).is_none()
        {
            assert_eq!(s.unwrap(), FakeScenario::preset("crash").unwrap());
        }
    }
}
