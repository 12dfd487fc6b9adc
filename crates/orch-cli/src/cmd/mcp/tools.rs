//! The tools: each one's name, description, effect and input fields, and how its input,
//! once checked, becomes an `orch` command line.
//!
//! One list of fields per tool is both the JSON schema a client sees and the validation
//! done here before anything is spawned, so the two cannot drift apart. Input is checked
//! strictly (unknown fields, wrong types, ids that are not ids, paths outside the project)
//! because it comes from a model: a bad request gets an `invalid_input` error naming the
//! field, never a command line.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use orch_core::{EpicId, TaskId, TaskStatus, exit_code};
use rmcp::model::{JsonObject, Tool, ToolAnnotations};
use serde_json::{Value, json};

use super::exec::error_doc;

/// What calling a tool does to the project.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Reads only.
    ReadOnly,
    /// Adds or starts something; nothing is lost.
    Writes,
    /// Decides, stops or merges something that cannot simply be undone.
    Destructive,
}

/// The type of one input field.
#[derive(Debug, Clone)]
pub enum Kind {
    /// A string of at most this many characters.
    Text(usize),
    Flag,
    /// An integer in this inclusive range.
    Count(u64, u64),
    /// One of these strings.
    OneOf(Vec<&'static str>),
    /// A list of these strings.
    ListOf(Vec<&'static str>),
}

#[derive(Debug, Clone)]
pub struct Field {
    pub name: &'static str,
    pub kind: Kind,
    pub required: bool,
    pub about: &'static str,
    pub default: Option<Value>,
}

fn field(name: &'static str, kind: Kind, about: &'static str) -> Field {
    Field {
        name,
        kind,
        required: false,
        about,
        default: None,
    }
}

fn required(name: &'static str, kind: Kind, about: &'static str) -> Field {
    Field {
        required: true,
        ..field(name, kind, about)
    }
}

/// How the command's output becomes the tool's result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// `--json` output; a value that is not an object is put under this key.
    Json(&'static str),
    /// Plain text, as `{"text": …}`.
    Text,
}

/// One tool.
#[derive(Debug, Clone)]
pub struct Spec {
    pub name: &'static str,
    pub title: &'static str,
    pub about: String,
    pub effect: Effect,
    pub fields: Vec<Field>,
    pub timeout: Duration,
}

const READ: Duration = Duration::from_secs(30);
const LONG: Duration = Duration::from_secs(600);
/// Notes and reasons are recorded and shown to agents: a paragraph, not a file.
const NOTE_LEN: usize = 4000;
const ID_LEN: usize = 64;

fn task_field(about: &'static str) -> Field {
    required("task", Kind::Text(ID_LEN), about)
}

/// Every tool, in the order a client lists them.
pub fn all() -> Vec<Spec> {
    let statuses: Vec<&'static str> = TaskStatus::ALL.iter().map(|s| s.as_str()).collect();
    // The eight built-in dimensions; custom ones (`[quality.custom]`) are per project.
    let dimensions: Vec<&'static str> = orch_core::QUALITY_DIMENSIONS.to_vec();
    let spec = |name, title, effect, timeout, about: &str, fields| Spec {
        name,
        title,
        about: if effect == Effect::Destructive {
            format!("DESTRUCTIVE: {about}")
        } else {
            about.to_owned()
        },
        effect,
        fields,
        timeout,
    };
    vec![
        spec(
            "plan_prd",
            "Plan a PRD",
            Effect::Writes,
            LONG,
            "Turn a PRD (markdown file in the project) into a plan of epics and tasks with \
             dependencies, the reasons for each, and the critical path (`orch plan PRD --json`). \
             With dry_run (the default) nothing is stored; with dry_run false the plan is stored \
             for `run_start`, and replace also replaces a different stored plan whose tasks have \
             not started.",
            vec![
                required(
                    "prd",
                    Kind::Text(4096),
                    "Path of the PRD inside the project (relative to its root, or absolute).",
                ),
                Field {
                    default: Some(json!(true)),
                    ..field(
                        "dry_run",
                        Kind::Flag,
                        "Only show the plan, store nothing (default true).",
                    )
                },
                field(
                    "strategy",
                    Kind::OneOf(vec!["auto", "layer", "phase", "function", "generic"]),
                    "How to cut the PRD into epics (default auto).",
                ),
                field(
                    "replace",
                    Kind::Flag,
                    "Replace a different stored plan (only while none of its tasks has started).",
                ),
            ],
        ),
        spec(
            "plan_show",
            "Show the plan",
            Effect::ReadOnly,
            READ,
            "The stored plan: epics, tasks with their dependencies, scopes, acceptance criteria \
             and statuses (`orch plan show --json`).",
            vec![],
        ),
        spec(
            "graph",
            "Dependency graph",
            Effect::ReadOnly,
            READ,
            "The dependency graph: waves, edges with their reasons, conflicts and the critical \
             path (`orch graph --json`).",
            vec![],
        ),
        spec(
            "status",
            "Progress",
            Effect::ReadOnly,
            READ,
            "Progress of the plan: counts per status, the current wave, and one row per task \
             (`orch status --json`), optionally only some epic or statuses.",
            vec![
                field("epic", Kind::Text(ID_LEN), "Only tasks of this epic id."),
                field(
                    "status",
                    Kind::ListOf(statuses),
                    "Only tasks with one of these statuses.",
                ),
            ],
        ),
        spec(
            "task_show",
            "Show a task",
            Effect::ReadOnly,
            READ,
            "One task in full: its record, attempts, the last quality gate report (why the gate \
             failed) and the last 60 lines of its latest agent session log.",
            vec![task_field("Task id, e.g. TASK-BA-001.")],
        ),
        spec(
            "run_start",
            "Start a run",
            Effect::Writes,
            READ,
            "Start running the plan in the background (`orch run --detach`): each ready task in \
             its own worktree with an agent, verified by the quality gate, merged through a \
             queue. Returns the run's pid and log file; follow it with `status`, stop it with \
             `run_stop`. Refused (lease_held) while another run is in progress.",
            vec![
                field(
                    "parallel",
                    Kind::Count(1, 64),
                    "Agent sessions at once (default: the configuration's, 3).",
                ),
                field(
                    "agent",
                    Kind::Text(ID_LEN),
                    "Agent: claude, codex, gemini, aider or custom (default: the configuration's).",
                ),
                field(
                    "no_gate",
                    Kind::Flag,
                    "Skip the quality gate (only \"changed something\" is verified).",
                ),
                field(
                    "no_wait",
                    Kind::Flag,
                    "End the run when only questions to a human remain (default: wait).",
                ),
            ],
        ),
        spec(
            "run_stop",
            "Stop the run",
            Effect::Destructive,
            Duration::from_secs(120),
            "Stop the run in progress (`orch stop`): running tasks finish, no new ones start; \
             with now, running agent sessions are stopped at once and their work is lost.",
            vec![field(
                "now",
                Kind::Flag,
                "Stop running agent sessions at once.",
            )],
        ),
        spec(
            "msg_list",
            "List PM messages",
            Effect::ReadOnly,
            READ,
            "Questions orch asks a human when a task keeps failing (`orch msg list --json`): \
             those waiting for an answer, or all with all.",
            vec![field(
                "all",
                Kind::Flag,
                "Include answered, expired and suppressed messages.",
            )],
        ),
        spec(
            "msg_show",
            "Show a PM message",
            Effect::ReadOnly,
            READ,
            "One PM message: the question, its context, and the options (letters A, B, …) with \
             their actions, pros and cons (`orch msg show ID --json`).",
            vec![required(
                "id",
                Kind::Text(ID_LEN),
                "Message id: PM-0001, pm-1 or 1.",
            )],
        ),
        spec(
            "msg_answer",
            "Answer a PM message",
            Effect::Destructive,
            READ,
            "Answer a PM message with one of its options (`orch msg answer ID OPTION`); the run \
             applies the decision (retry, accept, skip, abort…). An answer cannot be changed.",
            vec![
                required("id", Kind::Text(ID_LEN), "Message id: PM-0001, pm-1 or 1."),
                required("option", Kind::Text(1), "The option letter, A–Z."),
                field(
                    "note",
                    Kind::Text(NOTE_LEN),
                    "A note for the record (and for the agent, where the option retries).",
                ),
            ],
        ),
        spec(
            "task_skip",
            "Skip a task",
            Effect::Destructive,
            READ,
            "Mark a task skipped (`orch task set-status TASK skipped`): it will not be done, and \
             tasks depending on it become blocked until someone decides.",
            vec![
                task_field("Task id."),
                required(
                    "reason",
                    Kind::Text(NOTE_LEN),
                    "Why, recorded in the event log.",
                ),
            ],
        ),
        spec(
            "quality",
            "Quality gate",
            Effect::Writes,
            LONG,
            "Run the quality gate (syntax, types, lint, security, tests, performance, \
             documentation, integration, and the project's custom dimensions of \
             [quality.custom]) on a directory of the project (`orch quality PATH --json`) and \
             return the report; a failed gate is a report with passed false. It runs the \
             project's own checkers and tests there, which may write build output.",
            vec![
                field(
                    "path",
                    Kind::Text(4096),
                    "Directory inside the project, relative to its root (default: the root).",
                ),
                field(
                    "only",
                    Kind::ListOf(dimensions),
                    "Only these built-in dimensions.",
                ),
                field(
                    "base",
                    Kind::Text(200),
                    "Diff-aware: lint and documentation only on files changed since this git ref.",
                ),
            ],
        ),
        spec(
            "worktree_list",
            "List worktrees",
            Effect::ReadOnly,
            READ,
            "Task worktrees: base and head, dirty or clean, ahead/behind, changed files \
             (`orch worktree list --json`).",
            vec![],
        ),
        spec(
            "review_list",
            "List reviews",
            Effect::ReadOnly,
            READ,
            "Tasks whose verified work waits for a human review before it is merged \
             (`orch review list --json`; `[run] review = \"human\"`), or every review with all.",
            vec![field("all", Kind::Flag, "Include decided reviews.")],
        ),
        spec(
            "review_show",
            "Show a review",
            Effect::ReadOnly,
            READ,
            "One task's verified work: the diff stat and full diff, the quality gate's report \
             and the agent's summary (`orch review show TASK --json`).",
            vec![
                task_field("Task id."),
                field("stat", Kind::Flag, "Only the diff stat, not the diff."),
            ],
        ),
        spec(
            "review_approve",
            "Approve a review",
            Effect::Destructive,
            READ,
            "Approve a task's reviewed work: exactly the commit that was shown is merged by the \
             running (or next) run (`orch review approve TASK`).",
            vec![
                task_field("Task id."),
                field("note", Kind::Text(NOTE_LEN), "A note for the record."),
            ],
        ),
        spec(
            "review_reject",
            "Reject a review",
            Effect::Destructive,
            READ,
            "Reject a task's reviewed work: the task runs again with the note as feedback for \
             its agent (`orch review reject TASK --note NOTE`).",
            vec![
                task_field("Task id."),
                required(
                    "note",
                    Kind::Text(NOTE_LEN),
                    "What the next attempt must change.",
                ),
            ],
        ),
    ]
}

impl Spec {
    /// The tool as listed to clients: schema from the fields, annotations from the effect.
    pub fn tool(&self) -> Tool {
        let mut properties = serde_json::Map::new();
        for f in &self.fields {
            let mut schema = match &f.kind {
                Kind::Text(max) => json!({ "type": "string", "minLength": 1, "maxLength": max }),
                Kind::Flag => json!({ "type": "boolean" }),
                Kind::Count(min, max) => {
                    json!({ "type": "integer", "minimum": min, "maximum": max })
                }
                Kind::OneOf(values) => json!({ "type": "string", "enum": values }),
                Kind::ListOf(values) => json!({
                    "type": "array",
                    "items": { "type": "string", "enum": values },
                    "uniqueItems": true,
                }),
            };
            schema["description"] = json!(f.about);
            if let Some(default) = &f.default {
                schema["default"] = default.clone();
            }
            properties.insert(f.name.to_owned(), schema);
        }
        let required: Vec<&str> = self
            .fields
            .iter()
            .filter(|f| f.required)
            .map(|f| f.name)
            .collect();
        let mut schema = JsonObject::new();
        schema.insert("type".into(), json!("object"));
        schema.insert("properties".into(), Value::Object(properties));
        if !required.is_empty() {
            schema.insert("required".into(), json!(required));
        }
        schema.insert("additionalProperties".into(), json!(false));
        let annotations = ToolAnnotations::with_title(self.title)
            .read_only(self.effect == Effect::ReadOnly)
            .destructive(self.effect == Effect::Destructive)
            .open_world(false);
        Tool::new(self.name, self.about.clone(), Arc::new(schema))
            .with_title(self.title)
            .with_annotations(annotations)
    }
}

/// Input that does not fit the tool: the field and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub field: Option<String>,
    pub message: String,
}

impl Invalid {
    fn new(field: &str, message: impl Into<String>) -> Invalid {
        Invalid {
            field: Some(field.to_owned()),
            message: format!("`{field}`: {}", message.into()),
        }
    }

    /// The tool error: kind `invalid_input`, with the field named.
    pub fn doc(&self) -> Value {
        let mut doc = error_doc(
            Some(exit_code::INVALID_INPUT),
            "invalid_input",
            self.message.clone(),
            Some("see the tool's input schema".to_owned()),
        );
        doc["error"]["field"] = json!(self.field);
        doc
    }
}

/// Arguments that passed [`check`]: every field known, of its type, within its bounds.
#[derive(Debug)]
pub struct Input<'a>(&'a JsonObject);

impl Input<'_> {
    pub fn text(&self, name: &str) -> Option<&str> {
        self.0.get(name).and_then(Value::as_str)
    }

    pub fn flag(&self, name: &str) -> Option<bool> {
        self.0.get(name).and_then(Value::as_bool)
    }

    pub fn count(&self, name: &str) -> Option<u64> {
        self.0.get(name).and_then(Value::as_u64)
    }

    pub fn list(&self, name: &str) -> Vec<&str> {
        self.0
            .get(name)
            .and_then(Value::as_array)
            .map(|items| items.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default()
    }
}

/// Checks `args` against the tool's fields. A `null` counts as absent.
pub fn check<'a>(spec: &Spec, args: &'a JsonObject) -> Result<Input<'a>, Invalid> {
    if let Some(unknown) = args
        .keys()
        .find(|k| !spec.fields.iter().any(|f| f.name == k.as_str()))
    {
        let known: Vec<&str> = spec.fields.iter().map(|f| f.name).collect();
        let expected = if known.is_empty() {
            "this tool takes no arguments".to_owned()
        } else {
            format!("expected one of {}", known.join(", "))
        };
        return Err(Invalid::new(unknown, format!("unknown field; {expected}")));
    }
    for f in &spec.fields {
        let value = args.get(f.name).filter(|v| !v.is_null());
        let Some(value) = value else {
            if f.required {
                return Err(Invalid::new(f.name, "missing (required)"));
            }
            continue;
        };
        check_value(f, value)?;
    }
    Ok(Input(args))
}

fn check_value(f: &Field, value: &Value) -> Result<(), Invalid> {
    match &f.kind {
        Kind::Text(max) => {
            let text = value
                .as_str()
                .ok_or_else(|| Invalid::new(f.name, "must be a string"))?;
            if text.trim().is_empty() {
                return Err(Invalid::new(f.name, "must not be empty"));
            }
            if text.chars().count() > *max {
                return Err(Invalid::new(
                    f.name,
                    format!("must be at most {max} characters long"),
                ));
            }
            // Line breaks and tabs are fine in a note; other control characters are not
            // (and NUL cannot even be passed on a command line).
            if text
                .chars()
                .any(|c| c.is_control() && c != '\n' && c != '\t')
            {
                return Err(Invalid::new(f.name, "contains control characters"));
            }
        }
        Kind::Flag => {
            if !value.is_boolean() {
                return Err(Invalid::new(f.name, "must be true or false"));
            }
        }
        Kind::Count(min, max) => {
            let n = value
                .as_u64()
                .ok_or_else(|| Invalid::new(f.name, "must be a whole number"))?;
            if n < *min || n > *max {
                return Err(Invalid::new(
                    f.name,
                    format!("must be between {min} and {max}"),
                ));
            }
        }
        Kind::OneOf(values) => {
            let text = value.as_str().unwrap_or_default();
            if !values.contains(&text) {
                return Err(Invalid::new(
                    f.name,
                    format!("must be one of {}", values.join(", ")),
                ));
            }
        }
        Kind::ListOf(values) => {
            let items = value
                .as_array()
                .ok_or_else(|| Invalid::new(f.name, "must be a list of strings"))?;
            for (i, item) in items.iter().enumerate() {
                if items[..i].contains(item) {
                    return Err(Invalid::new(f.name, format!("`{item}` is listed twice")));
                }
                let text = item.as_str().unwrap_or_default();
                if !values.contains(&text) {
                    return Err(Invalid::new(
                        f.name,
                        format!("`{}` is not one of {}", item, values.join(", ")),
                    ));
                }
            }
        }
    }
    Ok(())
}

/// One command to run for a tool.
#[derive(Debug, Clone)]
pub struct Call {
    pub args: Vec<OsString>,
    pub output: Output,
    /// Exit codes that still carry the tool's answer (a failed gate's report).
    pub ok_codes: &'static [i32],
}

fn call(args: Vec<OsString>, output: Output) -> Call {
    Call {
        args,
        output,
        ok_codes: &[exit_code::OK],
    }
}

fn os(parts: &[&str]) -> Vec<OsString> {
    parts.iter().map(OsString::from).collect()
}

fn task_id(input: &Input<'_>, name: &str) -> Result<String, Invalid> {
    let text = input.text(name).unwrap_or_default();
    TaskId::new(text)
        .map(|id| id.to_string())
        .map_err(|e| Invalid::new(name, e.to_string()))
}

fn message_id(input: &Input<'_>) -> Result<String, Invalid> {
    orch_escalation::MessageId::parse(input.text("id").unwrap_or_default())
        .map(|id| id.to_string())
        .map_err(|e| Invalid::new("id", e.to_string()))
}

/// `--name=VALUE`, so that a value starting with `-` is never read as a flag.
fn valued(name: &str, value: &str) -> OsString {
    OsString::from(format!("--{name}={value}"))
}

/// `value` as a path inside the project (`root`), resolved from the root when relative.
fn project_path(root: &Path, name: &str, value: &str, dir: bool) -> Result<PathBuf, Invalid> {
    let given = Path::new(value);
    let joined = if given.is_absolute() {
        given.to_owned()
    } else {
        root.join(given)
    };
    let real = joined
        .canonicalize()
        .map_err(|e| Invalid::new(name, format!("{value}: {e}")))?;
    let root = root.canonicalize().unwrap_or_else(|_| root.to_owned());
    if !real.starts_with(&root) {
        return Err(Invalid::new(
            name,
            format!("{value} is outside the project {}", root.display()),
        ));
    }
    if dir && !real.is_dir() {
        return Err(Invalid::new(name, format!("{value} is not a directory")));
    }
    if !dir && !real.is_file() {
        return Err(Invalid::new(name, format!("{value} is not a file")));
    }
    Ok(real)
}

/// A git revision as a user would type it: no leading `-`, no spaces, no `..` ranges.
fn git_ref(value: &str) -> Result<&str, Invalid> {
    let ok = !value.starts_with('-')
        && !value.contains("..")
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._/~^@{}-".contains(c));
    if ok {
        Ok(value)
    } else {
        Err(Invalid::new(
            "base",
            format!("`{}` is not a git ref", value.escape_debug()),
        ))
    }
}

/// The command lines for a tool call whose input passed [`check`]. The first one answers;
/// `task_show` has a second one, the session log.
pub fn commands(spec: &Spec, input: &Input<'_>, root: &Path) -> Result<Vec<Call>, Invalid> {
    let json = Output::Json("result");
    Ok(match spec.name {
        "plan_prd" => {
            let prd = project_path(root, "prd", input.text("prd").unwrap_or_default(), false)?;
            let mut args = vec![
                OsString::from("plan"),
                prd.into_os_string(),
                "--json".into(),
            ];
            if input.flag("dry_run").unwrap_or(true) {
                args.push("--dry-run".into());
            }
            if let Some(strategy) = input.text("strategy") {
                args.push(valued("strategy", strategy));
            }
            if input.flag("replace") == Some(true) {
                args.push("--replace".into());
            }
            vec![call(args, json)]
        }
        "plan_show" => vec![call(os(&["plan", "show", "--json"]), json)],
        "graph" => vec![call(os(&["graph", "--json"]), json)],
        "status" => {
            let mut args = os(&["status", "--json"]);
            if let Some(epic) = input.text("epic") {
                let epic = EpicId::new(epic).map_err(|e| Invalid::new("epic", e.to_string()))?;
                args.push(valued("epic", epic.as_str()));
            }
            for status in input.list("status") {
                args.push(valued("status", status));
            }
            vec![call(args, json)]
        }
        "task_show" => {
            let task = task_id(input, "task")?;
            vec![
                call(os(&["task", "show", &task, "--json"]), json),
                call(os(&["session", "logs", &task]), Output::Text),
            ]
        }
        "run_start" => {
            let mut args = os(&["run", "--detach", "--json"]);
            if let Some(n) = input.count("parallel") {
                args.push(valued("parallel", &n.to_string()));
            }
            if let Some(agent) = input.text("agent") {
                orch_core::validate_name("agent", agent)
                    .map_err(|e| Invalid::new("agent", e.to_string()))?;
                args.push(valued("agent", agent));
            }
            if input.flag("no_gate") == Some(true) {
                args.push("--no-gate".into());
            }
            if input.flag("no_wait") == Some(true) {
                args.push("--no-wait".into());
            }
            vec![call(args, json)]
        }
        "run_stop" => {
            let mut args = os(&["stop", "--json"]);
            if input.flag("now") == Some(true) {
                args.push("--now".into());
            }
            vec![call(args, json)]
        }
        "msg_list" => {
            let mut args = os(&["msg", "list", "--json"]);
            if input.flag("all") == Some(true) {
                args.push("--all".into());
            }
            vec![call(args, Output::Json("messages"))]
        }
        "msg_show" => vec![call(
            os(&["msg", "show", &message_id(input)?, "--json"]),
            json,
        )],
        "msg_answer" => {
            let id = message_id(input)?;
            let option = input.text("option").unwrap_or_default();
            if !option.chars().all(|c| c.is_ascii_alphabetic()) {
                return Err(Invalid::new("option", "must be a letter A–Z"));
            }
            let mut args = os(&["msg", "answer", &id, &option.to_ascii_uppercase()]);
            if let Some(note) = input.text("note") {
                args.push(valued("note", note));
            }
            vec![call(args, Output::Text)]
        }
        "task_skip" => {
            let task = task_id(input, "task")?;
            let reason = input.text("reason").unwrap_or_default();
            let mut args = os(&["task", "set-status", &task, "skipped"]);
            args.push(valued("reason", reason));
            vec![call(args, Output::Text)]
        }
        "quality" => {
            let path = project_path(root, "path", input.text("path").unwrap_or("."), true)?;
            let mut args = vec![
                OsString::from("quality"),
                path.into_os_string(),
                "--json".into(),
            ];
            let only = input.list("only");
            if !only.is_empty() {
                args.push(valued("only", &only.join(",")));
            }
            if let Some(base) = input.text("base") {
                args.push(valued("base", git_ref(base)?));
            }
            vec![Call {
                ok_codes: &[exit_code::OK, exit_code::GATE_FAILED],
                ..call(args, json)
            }]
        }
        "worktree_list" => vec![call(
            os(&["worktree", "list", "--json"]),
            Output::Json("worktrees"),
        )],
        "review_list" => {
            let mut args = os(&["review", "list", "--json"]);
            if input.flag("all") == Some(true) {
                args.push("--all".into());
            }
            vec![call(args, Output::Json("reviews"))]
        }
        "review_show" => {
            let mut args = os(&["review", "show", &task_id(input, "task")?, "--json"]);
            if input.flag("stat") == Some(true) {
                args.push("--stat".into());
            }
            vec![call(args, json)]
        }
        "review_approve" => {
            let mut args = os(&["review", "approve", &task_id(input, "task")?, "--json"]);
            if let Some(note) = input.text("note") {
                args.push(valued("note", note));
            }
            vec![call(args, json)]
        }
        "review_reject" => {
            let mut args = os(&["review", "reject", &task_id(input, "task")?, "--json"]);
            args.push(valued("note", input.text("note").unwrap_or_default()));
            vec![call(args, json)]
        }
        other => unreachable!("tool `{other}` has a spec but no command"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(name: &str) -> Spec {
        all().into_iter().find(|s| s.name == name).unwrap()
    }

    fn args(value: Value) -> JsonObject {
        value.as_object().unwrap().clone()
    }

    fn invalid(name: &str, value: Value) -> Invalid {
        let spec = spec(name);
        let args = args(value);
        let root = std::env::current_dir().unwrap();
        match check(&spec, &args) {
            Err(e) => e,
            Ok(input) => commands(&spec, &input, &root).unwrap_err(),
        }
    }

    #[test]
    fn every_tool_has_a_command_and_a_strict_schema() {
        let root = std::env::current_dir().unwrap();
        for spec in all() {
            let tool = spec.tool();
            assert_eq!(
                tool.input_schema["additionalProperties"], false,
                "{}",
                spec.name
            );
            let destructive = tool.annotations.as_ref().unwrap().destructive_hint == Some(true);
            assert_eq!(
                destructive,
                spec.about.starts_with("DESTRUCTIVE:"),
                "{}",
                spec.name
            );
            // With no arguments, a tool either runs or names its first missing field.
            let empty = JsonObject::new();
            match check(&spec, &empty) {
                Ok(input) => {
                    let _ = commands(&spec, &input, &root);
                }
                Err(e) => assert!(e.message.contains("missing"), "{e:?}"),
            }
        }
    }

    #[test]
    fn bad_input_names_its_field() {
        assert_eq!(
            invalid("task_show", json!({})).field.as_deref(),
            Some("task")
        );
        assert_eq!(
            invalid("task_show", json!({"task": "../etc"}))
                .field
                .as_deref(),
            Some("task")
        );
        assert_eq!(
            invalid("task_show", json!({"task": "T-1", "verbose": true}))
                .field
                .as_deref(),
            Some("verbose")
        );
        assert_eq!(
            invalid("msg_answer", json!({"id": "PM-1", "option": "1"}))
                .field
                .as_deref(),
            Some("option")
        );
        assert_eq!(
            invalid("msg_answer", json!({"id": "x y", "option": "A"}))
                .field
                .as_deref(),
            Some("id")
        );
        assert_eq!(
            invalid("run_start", json!({"parallel": 0}))
                .field
                .as_deref(),
            Some("parallel")
        );
        assert_eq!(
            invalid("run_start", json!({"parallel": "2"}))
                .field
                .as_deref(),
            Some("parallel")
        );
        assert_eq!(
            invalid("status", json!({"status": ["done"]}))
                .field
                .as_deref(),
            Some("status")
        );
        assert_eq!(
            invalid("quality", json!({"path": "/"})).field.as_deref(),
            Some("path")
        );
        assert_eq!(
            invalid("quality", json!({"base": "--output=x"}))
                .field
                .as_deref(),
            Some("base")
        );
        assert_eq!(
            invalid("task_skip", json!({"task": "T-1", "reason": "a\u{1b}[2J"}))
                .field
                .as_deref(),
            Some("reason")
        );
    }

    #[test]
    fn values_are_passed_so_that_they_cannot_become_flags() {
        let spec = spec("msg_answer");
        let args = args(json!({"id": "pm-3", "option": "b", "note": "--all of it"}));
        let input = check(&spec, &args).unwrap();
        let calls = commands(&spec, &input, Path::new(".")).unwrap();
        assert_eq!(
            calls[0].args,
            os(&["msg", "answer", "PM-0003", "B", "--note=--all of it"])
        );
    }
}
