//! What orch adds to Claude Code's JSON settings, and how it is merged into a file the user
//! already has: only missing entries are added, every existing key, server, hook and
//! permission stays as it was (and where it was), and an entry orch would add that the user
//! configured differently is left alone and reported.
//!
//! Shapes, as Claude Code documents them (code.claude.com/docs/en/mcp, /hooks,
//! /permissions):
//! - `.mcp.json`: `{"mcpServers": {"<name>": {"type": "stdio", "command", "args"}}}`;
//! - `.claude/settings.json`: `{"hooks": {"<Event>": [{"matcher"?, "hooks": [{"type":
//!   "command", "command", "timeout"}]}]}}` (`Stop` and `TaskCompleted` take no matcher),
//!   and `{"permissions": {"allow": ["mcp__<server>__<tool>", …]}}`.

use super::json::Json;

/// The command every orch hook runs.
pub const HOOK_COMMAND: &str = "orch verify --hook";
/// Seconds Claude Code waits for the hook (its default for command hooks, stated).
pub const HOOK_TIMEOUT: u64 = 600;
/// The events whose hook runs `orch verify --hook`: a session about to stop, and an agent
/// team's task about to be marked completed. Both block on exit code 2.
pub const HOOK_EVENTS: [&str; 2] = ["Stop", "TaskCompleted"];
/// The MCP server's name in `.mcp.json`, which is also the `mcp__orch__…` tool prefix.
pub const SERVER: &str = "orch";
/// Read-only tools of `orch mcp` that Claude may call without asking. Tools that change
/// anything (start or stop a run, answer a question, approve a review, plan, skip a task)
/// or run project code (`quality`) keep asking.
pub const READ_ONLY_TOOLS: [&str; 9] = [
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

/// What merging found: what it added, and what it left alone (with why).
#[derive(Debug, Default, PartialEq)]
pub struct Merge {
    pub added: Vec<String>,
    pub left_alone: Vec<String>,
}

/// An object with its keys in this order.
fn object<const N: usize>(entries: [(&str, Json); N]) -> Json {
    Json::Object(entries.map(|(k, v)| (k.to_owned(), v)).into())
}

fn string(text: &str) -> Json {
    Json::String(text.to_owned())
}

/// orch's MCP server entry.
pub fn server_entry() -> Json {
    object([
        ("type", string("stdio")),
        ("command", string("orch")),
        ("args", Json::Array(vec![string("mcp")])),
    ])
}

/// orch's hook handler.
pub fn hook_handler() -> Json {
    object([
        ("type", string("command")),
        ("command", string(HOOK_COMMAND)),
        ("timeout", Json::Number(HOOK_TIMEOUT.into())),
    ])
}

/// A matcher group (no matcher: `Stop` and `TaskCompleted` take none) running orch's hook.
fn hook_group() -> Json {
    object([("hooks", Json::Array(vec![hook_handler()]))])
}

/// How Claude Code names the orch server's tools in a project (`mcp__<server>__<tool>`).
pub const PROJECT_TOOLS: &str = "mcp__orch__";

/// The permission rules for [`READ_ONLY_TOOLS`].
pub fn allow_rules() -> Vec<String> {
    READ_ONLY_TOOLS
        .iter()
        .map(|t| format!("{PROJECT_TOOLS}{t}"))
        .collect()
}

/// A whole `.mcp.json` with orch's server only.
pub fn new_mcp() -> Json {
    object([("mcpServers", object([(SERVER, server_entry())]))])
}

/// The plugin's `.mcp.json`: the same server, pointed at the project Claude Code runs in
/// (plugins substitute `${CLAUDE_PROJECT_DIR}`).
pub fn plugin_mcp() -> Json {
    let server = object([
        ("type", string("stdio")),
        ("command", string("orch")),
        (
            "args",
            Json::Array(vec![
                string("-C"),
                string("${CLAUDE_PROJECT_DIR}"),
                string("mcp"),
            ]),
        ),
    ]);
    object([("mcpServers", object([(SERVER, server)]))])
}

/// The plugin's `hooks/hooks.json`: orch's hooks only.
pub fn plugin_hooks() -> Json {
    let mut doc = Json::Object(Vec::new());
    merge_hooks(&mut doc, &mut Merge::default());
    doc
}

/// A whole `.claude/settings.json` with orch's hooks and read-only permissions only.
pub fn new_settings() -> Json {
    let mut doc = Json::Object(Vec::new());
    merge_settings(&mut doc);
    doc
}

/// Adds orch's server to an existing `.mcp.json` (an object).
pub fn merge_mcp(doc: &mut Json) -> Merge {
    let mut merge = Merge::default();
    let Some(servers) = doc.get_mut("mcpServers") else {
        doc.push("mcpServers", object([(SERVER, server_entry())]));
        merge.added.push(format!("mcpServers.{SERVER}"));
        return merge;
    };
    if !servers.is_object() {
        merge
            .left_alone
            .push(format!("`mcpServers` is {}, not an object", servers.kind()));
        return merge;
    }
    match servers.get(SERVER) {
        None => {
            servers.push(SERVER, server_entry());
            merge.added.push(format!("mcpServers.{SERVER}"));
        }
        Some(existing) if existing.to_value() == server_entry().to_value() => {}
        Some(_) => merge.left_alone.push(format!(
            "an `{SERVER}` server is already configured differently"
        )),
    }
    merge
}

/// Adds orch's hooks and read-only permissions to an existing `.claude/settings.json` (an
/// object). A hook whose command is already registered for an event is not added again.
pub fn merge_settings(doc: &mut Json) -> Merge {
    let mut merge = Merge::default();
    merge_hooks(doc, &mut merge);
    merge_permissions(doc, &mut merge);
    merge
}

fn merge_hooks(doc: &mut Json, merge: &mut Merge) {
    if doc.get("hooks").is_none() {
        doc.push("hooks", Json::Object(Vec::new()));
    }
    let hooks = doc.get_mut("hooks").expect("just ensured");
    if !hooks.is_object() {
        merge
            .left_alone
            .push(format!("`hooks` is {}, not an object", hooks.kind()));
        return;
    }
    for event in HOOK_EVENTS {
        match hooks.get_mut(event) {
            None => {
                hooks.push(event, Json::Array(vec![hook_group()]));
                merge.added.push(format!("hooks.{event}"));
            }
            Some(Json::Array(groups)) => {
                if !groups.iter().any(registers_hook) {
                    groups.push(hook_group());
                    merge.added.push(format!("hooks.{event}"));
                }
            }
            Some(other) => merge
                .left_alone
                .push(format!("`hooks.{event}` is {}, not an array", other.kind())),
        }
    }
}

/// Whether a matcher group already runs orch's hook command.
fn registers_hook(group: &Json) -> bool {
    let Some(Json::Array(handlers)) = group.get("hooks") else {
        return false;
    };
    handlers.iter().any(|h| {
        matches!(h.get("command"), Some(Json::String(c)) if c.split_whitespace().eq(HOOK_COMMAND.split_whitespace()))
    })
}

fn merge_permissions(doc: &mut Json, merge: &mut Merge) {
    if doc.get("permissions").is_none() {
        doc.push("permissions", Json::Object(Vec::new()));
    }
    let permissions = doc.get_mut("permissions").expect("just ensured");
    if !permissions.is_object() {
        merge.left_alone.push(format!(
            "`permissions` is {}, not an object",
            permissions.kind()
        ));
        return;
    }
    if permissions.get("allow").is_none() {
        permissions.push("allow", Json::Array(Vec::new()));
    }
    let Some(Json::Array(allow)) = permissions.get_mut("allow") else {
        merge
            .left_alone
            .push("`permissions.allow` is not an array".into());
        return;
    };
    let mut added = 0;
    for rule in allow_rules() {
        let present = allow
            .iter()
            .any(|r| matches!(r, Json::String(s) if *s == rule));
        if !present {
            allow.push(Json::String(rule));
            added += 1;
        }
    }
    if added > 0 {
        merge.added.push(format!(
            "permissions.allow ({added} read-only orch tool{})",
            if added == 1 { "" } else { "s" }
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_settings_object_gets_everything_and_a_second_merge_nothing() {
        let mut doc = Json::parse("{}").unwrap();
        let first = merge_settings(&mut doc);
        assert_eq!(
            first.added,
            vec![
                "hooks.Stop",
                "hooks.TaskCompleted",
                "permissions.allow (9 read-only orch tools)"
            ]
        );
        let v = doc.to_value();
        assert_eq!(v["hooks"]["Stop"][0]["hooks"][0], hook_handler().to_value());
        assert!(v["hooks"]["Stop"][0].get("matcher").is_none());
        let again = merge_settings(&mut doc);
        assert_eq!(again, Merge::default());
    }

    #[test]
    fn wrong_shapes_are_left_alone_and_reported() {
        let mut doc = Json::parse(r#"{"hooks": [], "permissions": {"allow": "x"}}"#).unwrap();
        let merge = merge_settings(&mut doc);
        assert!(merge.added.is_empty(), "{merge:?}");
        assert_eq!(merge.left_alone.len(), 2, "{merge:?}");
        let mut mcp = Json::parse(r#"{"mcpServers": {"orch": {"command": "other"}}}"#).unwrap();
        let merge = merge_mcp(&mut mcp);
        assert!(merge.added.is_empty());
        assert!(merge.left_alone[0].contains("configured differently"));
    }

    #[test]
    fn an_equal_server_in_another_key_order_counts_as_present() {
        let mut mcp = Json::parse(
            r#"{"mcpServers": {"orch": {"args": ["mcp"], "command": "orch", "type": "stdio"}}}"#,
        )
        .unwrap();
        assert_eq!(merge_mcp(&mut mcp), Merge::default());
    }
}
