//! `orch init --claude`: the project set up for Claude Code without losing a byte of what
//! the user had, in the shapes Claude Code documents.

use std::collections::BTreeMap;
use std::path::Path;

use orch_core::exit_code;
use orch_testutils::TempRepo;
use serde_json::{Value, json};

use crate::support::{ok, orch};

const COMMANDS: [&str; 6] = ["plan", "status", "run", "answer", "review", "verify"];
/// Every tool `orch mcp` serves.
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
const READ_ONLY: [&str; 9] = [
    "status",
    "plan_show",
    "graph",
    "task_show",
    "msg_list",
    "msg_show",
    "worktree_list",
    "review_list",
    "review_show",
];

const USER_MCP: &str = r#"{
    "mcpServers": {
        "github": {
            "type": "http",
            "url": "https://api.example.com/mcp",
            "headers": {"Authorization": "Bearer ${GH_TOKEN}"}
        }
    },
    "x-team-note": "keep me"
}
"#;

const USER_SETTINGS: &str = r#"{
  "model": "opus",
  "permissions": {
    "allow": ["Bash(npm run test *)"],
    "deny": ["Read(./.env)"]
  },
  "hooks": {
    "Stop": [{"hooks": [{"type": "command", "command": "./scripts/notify.sh"}]}],
    "PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "./guard.sh"}]}]
  },
  "env": {"FOO": "1"}
}
"#;

const USER_STATUS: &str = "---\ndescription: my own status\n---\nShow my status.\n";

fn read(repo: &TempRepo, rel: &str) -> String {
    std::fs::read_to_string(repo.path().join(rel)).unwrap()
}

fn parse(repo: &TempRepo, rel: &str) -> Value {
    serde_json::from_str(&read(repo, rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn orch_hook() -> Value {
    json!({"hooks": [{"type": "command", "command": "orch verify --hook", "timeout": 600}]})
}

/// Every file under `dir`, with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path.strip_prefix(dir).unwrap().display().to_string();
                out.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    out
}

/// The `---` frontmatter of a command file: each `key: "value"` (values are quoted YAML
/// scalars, which JSON strings are).
fn frontmatter(text: &str) -> (BTreeMap<String, String>, String) {
    let rest = text
        .strip_prefix("---\n")
        .expect("frontmatter opens the file");
    let (head, body) = rest.split_once("\n---\n").expect("frontmatter is closed");
    let mut keys = BTreeMap::new();
    for line in head.lines() {
        let (key, value) = line.split_once(": ").expect("key: value");
        let value: String = serde_json::from_str(value)
            .unwrap_or_else(|e| panic!("{key}: {value} is not a quoted scalar: {e}"));
        assert!(keys.insert(key.to_owned(), value).is_none(), "{key} twice");
    }
    (keys, body.to_owned())
}

#[test]
fn existing_files_keep_every_user_entry_and_a_second_run_changes_nothing() {
    let repo = TempRepo::new();
    repo.write(".mcp.json", USER_MCP);
    repo.write(".claude/settings.json", USER_SETTINGS);
    repo.write(".claude/commands/orch-status.md", USER_STATUS);

    let first = ok(repo.path(), &["init", "--claude"]);
    for line in [
        "merged    .mcp.json",
        "merged    .claude/settings.json",
        "skipped   .claude/commands/orch-status.md",
        "created   .claude/commands/orch-plan.md",
    ] {
        assert!(first.stdout.contains(line), "{line}:\n{}", first.stdout);
    }
    assert!(
        first
            .stdout
            .contains("added hooks.Stop, hooks.TaskCompleted, permissions.allow (9"),
        "{}",
        first.stdout
    );

    // .mcp.json: the user's server and key untouched and first, orch's server added.
    let mcp = parse(&repo, ".mcp.json");
    let user: Value = serde_json::from_str(USER_MCP).unwrap();
    assert_eq!(mcp["mcpServers"]["github"], user["mcpServers"]["github"]);
    assert_eq!(mcp["x-team-note"], "keep me");
    assert_eq!(
        mcp["mcpServers"]["orch"],
        json!({"type": "stdio", "command": "orch", "args": ["mcp"]})
    );
    let mut without_orch = mcp.clone();
    without_orch["mcpServers"]
        .as_object_mut()
        .unwrap()
        .remove("orch");
    assert_eq!(without_orch, user, "nothing else changed");
    let text = read(&repo, ".mcp.json");
    let at = |s: &str| text.find(s).unwrap_or_else(|| panic!("{s} in {text}"));
    assert!(at("\"github\"") < at("\"orch\"") && at("\"orch\"") < at("\"x-team-note\""));
    assert!(
        text.contains("\n    \"mcpServers\""),
        "the file's 4-space indent is kept:\n{text}"
    );

    // settings.json: every key, permission and hook kept; orch's hooks appended.
    let settings = parse(&repo, ".claude/settings.json");
    let user: Value = serde_json::from_str(USER_SETTINGS).unwrap();
    assert_eq!(settings["hooks"]["Stop"][0], user["hooks"]["Stop"][0]);
    assert_eq!(settings["hooks"]["Stop"][1], orch_hook());
    assert_eq!(settings["hooks"]["TaskCompleted"], json!([orch_hook()]));
    assert_eq!(settings["hooks"]["PreToolUse"], user["hooks"]["PreToolUse"]);
    let allow: Vec<&str> = settings["permissions"]["allow"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(allow[0], "Bash(npm run test *)");
    let mut expected = vec!["Bash(npm run test *)".to_owned()];
    expected.extend(READ_ONLY.iter().map(|t| format!("mcp__orch__{t}")));
    assert_eq!(allow, expected, "only read-only tools are allowed");
    let mut without_orch = settings.clone();
    without_orch["hooks"]["Stop"].as_array_mut().unwrap().pop();
    without_orch["hooks"]
        .as_object_mut()
        .unwrap()
        .remove("TaskCompleted");
    without_orch["permissions"]["allow"]
        .as_array_mut()
        .unwrap()
        .truncate(1);
    assert_eq!(without_orch, user, "nothing else changed");
    let text = read(&repo, ".claude/settings.json");
    let at = |s: &str| text.find(s).unwrap_or_else(|| panic!("{s} in {text}"));
    assert!(at("\"model\"") < at("\"permissions\"") && at("\"hooks\"") < at("\"env\""));

    // The user's own command is left alone.
    assert_eq!(read(&repo, ".claude/commands/orch-status.md"), USER_STATUS);

    // Idempotent: nothing to add, nothing written.
    let before = snapshot(repo.path());
    let second = ok(repo.path(), &["init", "--claude"]);
    let claude_lines: Vec<&str> = second
        .stdout
        .lines()
        .filter(|l| l.contains(".claude/") || l.contains(".mcp.json"))
        .collect();
    assert_eq!(claude_lines.len(), 8, "{}", second.stdout);
    for line in claude_lines {
        assert!(
            line.trim_start().starts_with("unchanged")
                || line.contains("skipped   .claude/commands/orch-status.md"),
            "{line}"
        );
    }
    assert_eq!(snapshot(repo.path()), before, "a second run writes nothing");
}

#[test]
fn a_fresh_project_gets_the_documented_shapes() {
    let repo = TempRepo::new();
    ok(repo.path(), &["init", "--claude"]);

    assert_eq!(
        parse(&repo, ".mcp.json"),
        json!({"mcpServers": {"orch": {"type": "stdio", "command": "orch", "args": ["mcp"]}}})
    );
    let settings = parse(&repo, ".claude/settings.json");
    let hooks = settings["hooks"].as_object().unwrap();
    assert_eq!(
        hooks.keys().collect::<Vec<_>>(),
        ["Stop", "TaskCompleted"],
        "{settings}"
    );
    for (event, groups) in hooks {
        let groups = groups.as_array().unwrap();
        assert_eq!(groups.len(), 1, "{event}");
        assert!(
            groups[0].get("matcher").is_none(),
            "{event} takes no matcher"
        );
        let handler = &groups[0]["hooks"][0];
        assert_eq!(handler["type"], "command");
        assert_eq!(handler["command"], "orch verify --hook");
        assert_eq!(handler["timeout"], 600);
    }
    let allow: Vec<String> = settings["permissions"]["allow"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    for rule in &allow {
        let tool = rule.strip_prefix("mcp__orch__").expect("an orch tool rule");
        assert!(READ_ONLY.contains(&tool), "{rule} is not read-only");
    }

    for name in COMMANDS {
        let rel = format!(".claude/commands/orch-{name}.md");
        let (keys, body) = frontmatter(&read(&repo, &rel));
        assert_eq!(
            keys.keys().collect::<Vec<_>>(),
            ["allowed-tools", "argument-hint", "description"],
            "{rel}"
        );
        assert!(!keys["description"].is_empty(), "{rel}");
        assert!(body.contains("$ARGUMENTS"), "{rel}");
        for tool in keys["allowed-tools"].split(", ") {
            let known = tool
                .strip_prefix("mcp__orch__")
                .is_some_and(|t| TOOLS.contains(&t))
                || tool == "Bash(orch verify *)";
            assert!(known, "{rel}: {tool}");
        }
        // Deciding for the user is never pre-approved.
        for decision in ["msg_answer", "review_approve", "review_reject", "task_skip"] {
            assert!(
                !keys["allowed-tools"].contains(decision),
                "{rel} allows {decision}"
            );
        }
    }
    let (_, answer) = frontmatter(&read(&repo, ".claude/commands/orch-answer.md"));
    assert!(answer.contains("Never choose an option"), "{answer}");
    assert!(
        answer.contains("Only after the user has chosen"),
        "{answer}"
    );
}

#[test]
fn invalid_json_is_refused_and_nothing_is_written() {
    for (file, text) in [
        (".claude/settings.json", "{\"hooks\": {\"Stop\": [\n"),
        (".mcp.json", "[\"not\", \"an object\"]\n"),
    ] {
        let repo = TempRepo::new();
        repo.write(file, text);
        let before = snapshot(repo.path());
        let run = orch(repo.path(), &["init", "--claude"]);
        assert_eq!(run.code, exit_code::INVALID_INPUT, "{}", run.transcript());
        assert!(run.stderr.contains(file), "{}", run.stderr);
        assert!(run.stderr.contains("nothing was written"), "{}", run.stderr);
        assert_eq!(snapshot(repo.path()), before, "{file}: nothing written");
        assert!(!repo.path().join(".orch").exists());
    }
}

#[test]
fn an_orch_server_configured_differently_is_left_alone() {
    let repo = TempRepo::new();
    let mine = "{\n  \"mcpServers\": {\n    \"orch\": {\"command\": \"/opt/orch/bin/orch\", \"args\": [\"mcp\"]}\n  }\n}\n";
    repo.write(".mcp.json", mine);
    let run = ok(repo.path(), &["init", "--claude"]);
    assert_eq!(read(&repo, ".mcp.json"), mine);
    let line = run
        .stdout
        .lines()
        .find(|l| l.contains(".mcp.json") && !l.starts_with("To add"))
        .unwrap();
    assert!(
        line.trim_start().starts_with("skipped   .mcp.json"),
        "{line}"
    );
    assert!(
        line.contains("an `orch` server is already configured differently; left alone"),
        "{line}"
    );
    assert!(
        run.stdout.contains("To add by hand to .mcp.json:"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_plugin_has_the_documented_layout() {
    let repo = TempRepo::new();
    let dir = repo.temp_dir().join("orch-plugin");
    let run = ok(
        repo.path(),
        &["init", "--claude-plugin", dir.to_str().unwrap()],
    );
    assert!(run.stdout.contains("claude --plugin-dir"), "{}", run.stdout);
    assert!(
        !repo.path().join(".mcp.json").exists(),
        "the project is left alone"
    );
    let json = |rel: &str| -> Value {
        serde_json::from_str(&std::fs::read_to_string(dir.join(rel)).unwrap()).unwrap()
    };
    let manifest = json(".claude-plugin/plugin.json");
    assert_eq!(manifest["name"], "orch", "the plugin name gives /orch:*");
    assert!(manifest["description"].is_string());
    assert_eq!(
        json(".mcp.json"),
        json!({"mcpServers": {"orch": {
            "type": "stdio", "command": "orch", "args": ["-C", "${CLAUDE_PROJECT_DIR}", "mcp"]
        }}})
    );
    assert_eq!(
        json("hooks/hooks.json"),
        json!({"hooks": {"Stop": [orch_hook()], "TaskCompleted": [orch_hook()]}})
    );
    for name in COMMANDS {
        let text = std::fs::read_to_string(dir.join(format!("commands/{name}.md"))).unwrap();
        let (keys, _) = frontmatter(&text);
        for tool in keys["allowed-tools"].split(", ") {
            let known = tool
                .strip_prefix("mcp__plugin_orch_orch__")
                .is_some_and(|t| TOOLS.contains(&t))
                || tool == "Bash(orch verify *)";
            assert!(known, "{name}: {tool}");
        }
    }
    let before = snapshot(&dir);
    let again = ok(
        repo.path(),
        &["init", "--claude-plugin", dir.to_str().unwrap()],
    );
    assert!(!again.stdout.contains("created"), "{}", again.stdout);
    assert_eq!(snapshot(&dir), before);
}
