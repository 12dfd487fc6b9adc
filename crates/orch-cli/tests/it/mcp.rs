//! `orch mcp` (issue #19) as Claude Code uses it: a real MCP client from the same SDK talks
//! to the server over stdio in a real project, lists the tools, calls every one of them
//! (a run started, questioned, stopped and answered included), reads the resources, and
//! sends bad input that must come back as structured errors naming the field.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use rmcp::model::{CallToolRequestParams, CallToolResult, ReadResourceRequestParams};
use rmcp::service::RunningService;
use rmcp::transport::{ConfigureCommandExt as _, TokioChildProcess};
use rmcp::{RoleClient, ServiceError, ServiceExt as _};
use serde_json::{Value, json};

use crate::first_run::{orch_within, repo_with};

/// An agent that claims success and changes nothing: with no retries, its task becomes a
/// question for a human at once.
const CONFIG: &str = "[run]\nagent = \"custom\"\nagent_command = [\"true\"]\nmax_retries = 0\n\
backend = \"process\"\nquality_gate = false\n";

const PLAN: &str = "name = \"p\"\n[[epic]]\nid = \"E\"\nname = \"Epic\"\n\
[[task]]\nid = \"TASK-E-001\"\ntitle = \"Do it\"\nepic = \"E\"\n\
[[task]]\nid = \"TASK-E-002\"\ntitle = \"Then this\"\nepic = \"E\"\ndepends_on = [\"TASK-E-001\"]\n";

const PRD: &str = "# PRD: Notes\n\n## Goals\n- Notes can be written and read in the browser.\n\n\
## Backend\n- Notes schema with migrations.\n\
- REST API: `GET /notes`, `POST /notes`; depends on the notes schema.\n\n\
## QA\n- Unit tests for notes validation.\n";

const TOOLS: [&str; 17] = [
    "plan_prd",
    "plan_show",
    "graph",
    "status",
    "task_show",
    "run_start",
    "run_stop",
    "msg_list",
    "msg_show",
    "msg_answer",
    "task_skip",
    "quality",
    "worktree_list",
    "review_list",
    "review_show",
    "review_approve",
    "review_reject",
];

const DESTRUCTIVE: [&str; 5] = [
    "run_stop",
    "msg_answer",
    "task_skip",
    "review_approve",
    "review_reject",
];

const READ_ONLY: [&str; 9] = [
    "plan_show",
    "graph",
    "status",
    "task_show",
    "msg_list",
    "msg_show",
    "worktree_list",
    "review_list",
    "review_show",
];

type Client = RunningService<RoleClient, ()>;

/// `orch -C DIR mcp` with a client connected to it.
async fn connect(dir: &Path) -> Client {
    let command = tokio::process::Command::new(env!("CARGO_BIN_EXE_orch")).configure(|c| {
        c.arg("-C").arg(dir).arg("mcp").env("NO_COLOR", "1");
    });
    let (transport, _) = TokioChildProcess::builder(command)
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn orch mcp");
    ().serve(transport).await.expect("MCP handshake")
}

async fn call(client: &Client, tool: &str, args: Value) -> Result<CallToolResult, ServiceError> {
    let mut params = CallToolRequestParams::new(tool.to_owned());
    if let Value::Object(map) = args {
        params = params.with_arguments(map);
    }
    client.call_tool(params).await
}

/// The structured answer of a tool that must succeed.
async fn ok(client: &Client, tool: &str, args: Value) -> Value {
    let result = call(client, tool, args.clone()).await.expect("tools/call");
    let content = result.structured_content.clone().unwrap_or(Value::Null);
    assert_eq!(
        result.is_error,
        Some(false),
        "{tool} {args} failed: {content}"
    );
    assert!(content.is_object(), "{tool}: {content}");
    content
}

/// The `error` object of a tool call that must fail as a tool error.
async fn fails(client: &Client, tool: &str, args: Value) -> Value {
    let result = call(client, tool, args.clone()).await.expect("tools/call");
    let content = result.structured_content.clone().unwrap_or(Value::Null);
    assert_eq!(
        result.is_error,
        Some(true),
        "{tool} {args} succeeded: {content}"
    );
    let error = content["error"].clone();
    assert!(
        error["kind"].is_string() && error["message"].is_string(),
        "{content}"
    );
    error
}

/// Kills a run left behind by a failing test (through the lease's pid), so that nothing
/// outlives the test.
struct RunGuard(PathBuf);

impl Drop for RunGuard {
    fn drop(&mut self) {
        let Ok(store) = orch_store::Store::open_existing(&self.0.join(".orch/state.db")) else {
            return;
        };
        if let Ok(Some(lease)) = store.lease()
            && let Ok(pid) = i32::try_from(lease.pid)
            && pid > 1
            && Path::new(&format!("/proc/{pid}")).exists()
        {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_tool_answers_a_real_client_over_stdio() {
    let repo = repo_with(CONFIG, PLAN);
    repo.write("docs/notes.md", PRD);
    let dir = repo.path().to_owned();
    let _guard = RunGuard(dir.clone());
    let client = connect(&dir).await;

    let info = client.peer_info().expect("server info");
    assert_eq!(
        info.server_info.as_ref().map(|s| s.name.as_str()),
        Some("orch")
    );
    let instructions = info.instructions.clone().unwrap_or_default();
    assert!(instructions.contains("DESTRUCTIVE") && instructions.contains("msg_answer"));

    // The tools, their effects and strict schemas.
    let tools = client.list_all_tools().await.unwrap();
    let mut names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    names.sort_unstable();
    let mut expected = TOOLS.to_vec();
    expected.sort_unstable();
    assert_eq!(names, expected);
    for tool in &tools {
        let annotations = tool.annotations.as_ref().expect("annotations");
        let destructive = DESTRUCTIVE.contains(&tool.name.as_ref());
        assert_eq!(
            annotations.destructive_hint,
            Some(destructive),
            "{}",
            tool.name
        );
        let description = tool.description.as_deref().unwrap_or_default();
        assert_eq!(
            description.starts_with("DESTRUCTIVE:"),
            destructive,
            "{}",
            tool.name
        );
        assert_eq!(
            tool.input_schema["additionalProperties"], false,
            "{}",
            tool.name
        );
    }
    // The read-only ones are those `orch init --claude` allows without asking.
    for tool in &tools {
        assert_eq!(
            tool.annotations.as_ref().unwrap().read_only_hint,
            Some(READ_ONLY.contains(&tool.name.as_ref())),
            "{}",
            tool.name
        );
    }

    // Reading the plan.
    let plan = ok(&client, "plan_show", json!({})).await;
    assert_eq!(plan["task"].as_array().map(Vec::len), Some(2), "{plan}");
    let graph = ok(&client, "graph", json!({})).await;
    assert!(
        graph["waves"].is_array() && graph["critical_path"].is_array(),
        "{graph}"
    );
    let status = ok(&client, "status", json!({})).await;
    assert_eq!(status["summary"]["total"], 2, "{status}");
    let pending = ok(
        &client,
        "status",
        json!({"status": ["pending"], "epic": "E"}),
    )
    .await;
    assert_eq!(
        pending["tasks"].as_array().map(Vec::len),
        Some(1),
        "{pending}"
    );
    let dry = ok(&client, "plan_prd", json!({"prd": "docs/notes.md"})).await;
    assert!(
        dry["plan"]["task"]
            .as_array()
            .is_some_and(|t| !t.is_empty()),
        "{dry}"
    );
    assert_eq!(
        ok(&client, "status", json!({})).await["summary"]["total"],
        2,
        "a dry run stores nothing"
    );
    let report = ok(
        &client,
        "quality",
        json!({"path": "docs", "only": ["syntax"]}),
    )
    .await;
    assert!(
        report["passed"].is_boolean() && report["dimensions"].is_array(),
        "{report}"
    );
    assert_eq!(
        ok(&client, "worktree_list", json!({})).await,
        json!({"worktrees": []})
    );
    assert_eq!(
        ok(&client, "msg_list", json!({})).await,
        json!({"messages": []})
    );

    // Bad input never reaches a command line.
    for (tool, args, field) in [
        ("task_show", json!({}), "task"),
        ("task_show", json!({"task": "../etc/passwd"}), "task"),
        ("status", json!({"bogus": 1}), "bogus"),
        ("run_start", json!({"parallel": "2"}), "parallel"),
        (
            "msg_answer",
            json!({"id": "PM-0001", "option": "7"}),
            "option",
        ),
        ("msg_show", json!({"id": "PM 1"}), "id"),
        (
            "quality",
            json!({"path": repo.temp_dir().to_str().unwrap()}),
            "path",
        ),
        ("quality", json!({"path": "../"}), "path"),
        ("plan_prd", json!({"prd": "docs/missing.md"}), "prd"),
    ] {
        let error = fails(&client, tool, args.clone()).await;
        assert_eq!(error["kind"], "invalid_input", "{tool} {args}: {error}");
        assert_eq!(error["field"], field, "{tool} {args}: {error}");
    }
    let missing = fails(&client, "task_show", json!({"task": "TASK-X-999"})).await;
    assert_eq!(missing["kind"], "not_found", "{missing}");
    assert_eq!(missing["exit_code"], 7);
    match call(&client, "no_such_tool", json!({})).await {
        Err(ServiceError::McpError(e)) => assert!(e.message.contains("no_such_tool"), "{e:?}"),
        other => panic!("an unknown tool must be a protocol error: {other:?}"),
    }

    // A run in the background: its task fails and becomes a question for a human.
    let started = ok(&client, "run_start", json!({"parallel": 1})).await;
    assert!(started["pid"].as_u64().is_some_and(|p| p > 1), "{started}");
    assert!(
        Path::new(started["log"].as_str().unwrap()).starts_with(dir.canonicalize().unwrap()),
        "{started}"
    );
    let again = fails(&client, "run_start", json!({})).await;
    assert_eq!(again["kind"], "lease_held", "{again}");
    let deadline = Instant::now() + Duration::from_secs(60);
    let messages = loop {
        let listed = ok(&client, "msg_list", json!({})).await;
        if listed["messages"].as_array().is_some_and(|m| !m.is_empty()) {
            break listed;
        }
        assert!(Instant::now() < deadline, "no question was asked");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(messages.to_string().contains("PM-0001"), "{messages}");
    let message = ok(&client, "msg_show", json!({"id": "pm-1"})).await;
    let accept = message["options"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["action"]["type"] == "accept")
        .unwrap_or_else(|| panic!("no accept option: {message}"))["key"]
        .as_str()
        .unwrap()
        .to_owned();

    let stopped = ok(&client, "run_stop", json!({})).await;
    assert_eq!(stopped["stopped"], true, "{stopped}");
    let none = fails(&client, "run_stop", json!({"now": true})).await;
    assert_eq!(none["kind"], "not_found", "{none}");

    // Answered between runs; an answer cannot be given twice.
    let answered = ok(
        &client,
        "msg_answer",
        json!({"id": "PM-0001", "option": accept.to_lowercase(), "note": "--fine as is"}),
    )
    .await;
    assert!(
        answered["text"].as_str().unwrap().contains("answered"),
        "{answered}"
    );
    let twice = fails(
        &client,
        "msg_answer",
        json!({"id": "PM-0001", "option": accept}),
    )
    .await;
    assert_eq!(twice["kind"], "illegal_transition", "{twice}");
    assert_eq!(
        ok(&client, "msg_list", json!({})).await,
        json!({"messages": []})
    );
    let all = ok(&client, "msg_list", json!({"all": true})).await;
    assert_eq!(all["messages"][0]["state"], "decided", "{all}");

    // The task's attempt, and its session log.
    let shown = ok(&client, "task_show", json!({"task": "TASK-E-001"})).await;
    assert_eq!(shown["task"]["id"], "TASK-E-001", "{shown}");
    assert_eq!(
        shown["attempts"].as_array().map(Vec::len),
        Some(1),
        "{shown}"
    );
    assert!(shown["log_tail"].is_string(), "{shown}");
    assert!(shown.get("last_gate").is_some(), "{shown}");

    let skipped = ok(
        &client,
        "task_skip",
        json!({"task": "TASK-E-002", "reason": "not needed after all"}),
    )
    .await;
    assert!(
        skipped["text"].as_str().unwrap().contains("skipped"),
        "{skipped}"
    );
    let skipped = ok(&client, "status", json!({"status": ["skipped"]})).await;
    assert_eq!(
        skipped["tasks"].as_array().map(Vec::len),
        Some(1),
        "{skipped}"
    );

    // Nothing waits for a review in this project (see the test below for one that does).
    assert_eq!(
        ok(&client, "review_list", json!({})).await,
        json!({"reviews": []})
    );
    let error = fails(&client, "review_show", json!({"task": "TASK-E-001"})).await;
    assert_eq!(error["kind"], "not_found", "{error}");
    let error = fails(&client, "review_reject", json!({"task": "TASK-E-001"})).await;
    assert_eq!(error["field"], "note", "{error}");

    // Resources: the plan and one instruction file per task.
    let resources = client.list_all_resources().await.unwrap();
    let uris: Vec<&str> = resources.iter().map(|r| r.uri.as_str()).collect();
    assert!(uris.contains(&"orch://plan"), "{uris:?}");
    assert!(
        uris.contains(&"orch://task/TASK-E-002/instructions"),
        "{uris:?}"
    );
    let templates = client.list_all_resource_templates().await.unwrap();
    assert_eq!(templates[0].uri_template, "orch://task/{task}/instructions");
    let read = |uri: &str| client.read_resource(ReadResourceRequestParams::new(uri));
    let plan = read("orch://plan").await.unwrap();
    let text = serde_json::to_value(&plan.contents[0]).unwrap();
    assert_eq!(text["mimeType"], "application/json");
    let stored: Value = serde_json::from_str(text["text"].as_str().unwrap()).unwrap();
    assert_eq!(stored["task"].as_array().map(Vec::len), Some(2));
    let instructions = read("orch://task/TASK-E-001/instructions").await.unwrap();
    let text = serde_json::to_value(&instructions.contents[0]).unwrap();
    assert_eq!(text["mimeType"], "text/markdown");
    assert!(
        text["text"].as_str().unwrap().contains("TASK-E-001"),
        "{text}"
    );
    for bad in [
        "orch://task/../instructions",
        "file:///etc/passwd",
        "orch://task/TASK-X-9/instructions",
    ] {
        assert!(read(bad).await.is_err(), "{bad}");
    }

    client.cancel().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_starts_in_a_project_that_is_not_initialised() {
    let repo = orch_testutils::TempRepo::new();
    let client = connect(repo.path()).await;
    let error = fails(&client, "status", json!({})).await;
    assert_eq!(error["kind"], "not_initialized", "{error}");
    assert_eq!(error["exit_code"], 4);
    assert!(
        error["hint"].as_str().unwrap().contains("orch init"),
        "{error}"
    );
    let none = fails(&client, "run_stop", json!({})).await;
    assert_eq!(none["kind"], "not_initialized", "{none}");
    let resources = client.list_all_resources().await.unwrap();
    assert_eq!(resources.len(), 1, "only the plan: {resources:?}");
    assert!(
        client
            .read_resource(ReadResourceRequestParams::new("orch://plan"))
            .await
            .is_err()
    );
    client.cancel().await.unwrap();
}

/// `[run] review = "human"`: the agent's verified work waits for a human, who approves it
/// (or rejects it) through the review tools; a review is decided once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn review_tools_decide_a_review_once() {
    let repo = repo_with(
        "[run]\nagent = \"custom\"\nagent_command = [\"sh\", \"-c\", \"echo work > work-{task}.txt\"]\n\
         max_retries = 0\nbackend = \"process\"\nquality_gate = false\nreview = \"human\"\n",
        PLAN,
    );
    let (code, _, stderr) =
        orch_within(repo.path(), &["run", "--no-wait"], Duration::from_secs(60));
    assert_eq!(code, 12, "{stderr}");
    let client = connect(repo.path()).await;

    let listed = ok(&client, "review_list", json!({})).await;
    assert_eq!(listed["reviews"][0]["task"], "TASK-E-001", "{listed}");
    assert_eq!(listed["reviews"][0]["state"], "pending", "{listed}");
    let shown = ok(&client, "review_show", json!({"task": "TASK-E-001"})).await;
    assert_eq!(
        shown["diff"]["files"][0]["path"], "work-TASK-E-001.txt",
        "{shown}"
    );
    assert!(
        shown["diff"]["files"][0]["patch"]
            .as_str()
            .unwrap()
            .contains("+work"),
        "{shown}"
    );
    let stat = ok(
        &client,
        "review_show",
        json!({"task": "TASK-E-001", "stat": true}),
    )
    .await;
    assert_eq!(stat["review"]["sha"], listed["reviews"][0]["sha"], "{stat}");

    let approved = ok(
        &client,
        "review_approve",
        json!({"task": "TASK-E-001", "note": "-- looks right"}),
    )
    .await;
    assert_eq!(approved["state"], "approved", "{approved}");
    assert_eq!(approved["note"], "-- looks right", "{approved}");
    let again = fails(
        &client,
        "review_reject",
        json!({"task": "TASK-E-001", "note": "needs tests"}),
    )
    .await;
    assert_eq!(again["kind"], "conflict", "{again}");
    assert_eq!(again["exit_code"], 8, "{again}");
    let all = ok(&client, "review_list", json!({"all": true})).await;
    assert_eq!(all["reviews"][0]["state"], "approved", "{all}");
    assert_eq!(
        ok(&client, "review_list", json!({})).await,
        json!({"reviews": []})
    );
    client.cancel().await.unwrap();
}
