//! Conformance: every real Claude Code capture in the shared fixtures parses, and the fake
//! agent's stream reads the same way.

use orch_session::{
    Agent, AgentEvent, AgentOutcome, ClaudeCode, ExitStatus, SessionEnd, TokenUsage,
};

fn parse_file(agent: &ClaudeCode, path: &std::path::Path) -> Vec<AgentEvent> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .flat_map(|line| {
            let events = agent.parse_line(line);
            assert!(
                !events.is_empty(),
                "{}: a line gave no event: {line}",
                path.display()
            );
            assert!(
                !events
                    .iter()
                    .any(|e| matches!(e, AgentEvent::Output { .. })),
                "{}: a line was not read as stream-json: {line}",
                path.display()
            );
            events
        })
        .collect()
}

#[test]
fn every_shared_fixture_parses() {
    let Some(dir) = orch_testutils::shared_fixtures_or_skip("claude-code") else {
        return;
    };
    let claude = ClaudeCode::new();
    let mut files = 0;
    for entry in std::fs::read_dir(&dir).unwrap().flatten() {
        let path = entry.path();
        if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("json" | "jsonl")
        ) {
            parse_file(&claude, &path);
            files += 1;
        }
    }
    assert!(files >= 5, "expected the five captures, found {files}");
}

#[test]
fn fixture_lines_mean_what_they_say() {
    let Some(dir) = orch_testutils::shared_fixtures_or_skip("claude-code") else {
        return;
    };
    let claude = ClaudeCode::new();
    let init = parse_file(&claude, &dir.join("system_init.json"));
    assert!(
        matches!(&init[..], [AgentEvent::Init { session_id: Some(s), model: Some(m), tools, .. }]
        if s == "40e7b02d-c0f9-4876-9010-f514d4eb0603" && m.starts_with("claude-") && tools.contains(&"Bash".to_owned()))
    );
    let tool = parse_file(&claude, &dir.join("assistant_tool_use.json"));
    assert!(
        matches!(&tool[..], [AgentEvent::ToolUse { name, input, id: Some(_) }]
        if name == "Bash" && input["command"] == "ls -la")
    );
    let result = parse_file(&claude, &dir.join("user_tool_result.json"));
    assert!(
        matches!(&result[..], [AgentEvent::ToolResult { output, is_error: false, tool_use_id: Some(_) }]
        if output.starts_with("total 1976"))
    );

    let session = parse_file(&claude, &dir.join("session_tool_use.jsonl"));
    let end = SessionEnd::Exited {
        exit: ExitStatus::Code(0),
    };
    assert_eq!(claude.outcome(&end, &session), AgentOutcome::Succeeded);
    let usage = claude.usage(&session);
    assert_eq!(
        usage.agent_session_id.as_deref(),
        Some("40e7b02d-c0f9-4876-9010-f514d4eb0603")
    );
    assert_eq!(usage.cost_usd, Some(0.24722425));
    assert_eq!(usage.num_turns, Some(2));
    assert_eq!(usage.duration_ms, Some(8722));
    assert_eq!(
        usage.tokens,
        Some(TokenUsage {
            input_tokens: 18,
            output_tokens: 424,
            cache_read_input_tokens: 17254,
            cache_creation_input_tokens: 25067,
        })
    );
    // Without its result line the same session crashed.
    assert_eq!(
        claude.outcome(&end, &session[..session.len() - 1]),
        AgentOutcome::Crashed {
            exit: Some(ExitStatus::Code(0))
        }
    );
}

/// The fake agent's lines parse into the same kinds of events, in the same order, as the
/// real session capture.
#[test]
fn the_fake_speaks_like_the_fixtures() {
    let Some(dir) = orch_testutils::shared_fixtures_or_skip("claude-code") else {
        return;
    };
    let kind = |e: &AgentEvent| match e {
        AgentEvent::Init { .. } => "init",
        AgentEvent::ToolUse { .. } => "tool_use",
        AgentEvent::ToolResult { .. } => "tool_result",
        AgentEvent::Result(_) => "result",
        AgentEvent::Text { .. } => "text",
        _ => "other",
    };
    let claude = ClaudeCode::new();
    let real: Vec<&str> = parse_file(&claude, &dir.join("session_tool_use.jsonl"))
        .iter()
        .map(kind)
        .collect();

    let work = tempfile::tempdir().unwrap();
    let scenario = orch_testutils::FakeScenario::new().tool(
        "Bash",
        serde_json::json!({"command": "ls -la", "description": "List files in current directory"}),
        "total 0",
    );
    let out = std::process::Command::new(orch_testutils::fake_agent_path())
        .args(["-p", "--output-format", "stream-json", "--verbose"])
        .env(orch_testutils::FAKE_SCENARIO_ENV, scenario.to_json())
        .current_dir(work.path())
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let fake: Vec<AgentEvent> = text.lines().flat_map(|l| claude.parse_line(l)).collect();
    assert_eq!(fake.iter().map(kind).collect::<Vec<_>>(), real);

    // Line by line, the fake has every top-level key the capture has, with `type` first.
    let keys = |line: &str| -> Vec<String> {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    let real_text = std::fs::read_to_string(dir.join("session_tool_use.jsonl")).unwrap();
    for (real_line, fake_line) in real_text.lines().zip(text.lines()) {
        assert!(fake_line.starts_with("{\"type\":"), "{fake_line}");
        let fake_keys = keys(fake_line);
        for k in keys(real_line) {
            assert!(fake_keys.contains(&k), "fake line lacks `{k}`: {fake_line}");
        }
    }
}

#[test]
fn the_fake_refuses_stream_json_without_verbose() {
    let out = std::process::Command::new(orch_testutils::fake_agent_path())
        .args(["-p", "--output-format", "stream-json"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("requires --verbose"));
}
