//! `orch init --claude-plugin DIR`: the same setup as a Claude Code plugin, for people who
//! would rather enable orch once than commit its files to every project. Layout, as Claude
//! Code documents it (code.claude.com/docs/en/plugins-reference): the manifest in
//! `.claude-plugin/plugin.json`, `commands/` (the plugin's name `orch` gives `/orch:plan`
//! and the rest), `hooks/hooks.json` and `.mcp.json` at the plugin root. A bundled server's
//! tools are named `mcp__plugin_<plugin>_<server>__<tool>`, so the commands pre-approve
//! them under that name. Files of the plugin that exist and differ are left alone, like
//! the project's.

use std::path::Path;

use super::json::Json;
use super::{Planned, commands, merge, plan_text};
use crate::error::CliResult;

/// The plugin's name: the `orch:` of its commands.
const NAME: &str = "orch";
/// How Claude Code names the bundled server's tools.
const TOOLS: &str = "mcp__plugin_orch_orch__";

/// Plans every file of the plugin in `dir`; writes nothing.
pub fn plan(dir: &Path) -> CliResult<Vec<Planned>> {
    let manifest = Json::Object(vec![
        ("name".into(), Json::String(NAME.into())),
        (
            "description".into(),
            Json::String(
                "orch: plan a PRD into tasks, run agents in worktrees, answer their questions; \
                 every session checked by `orch verify`"
                    .into(),
            ),
        ),
        (
            "version".into(),
            Json::String(env!("CARGO_PKG_VERSION").into()),
        ),
    ]);
    let mut planned = vec![
        plan_text(
            dir,
            ".claude-plugin/plugin.json".into(),
            "the plugin's manifest",
            manifest.to_pretty("  "),
        )?,
        plan_text(
            dir,
            ".mcp.json".into(),
            "the orch MCP server, on the project Claude Code runs in",
            merge::plugin_mcp().to_pretty("  "),
        )?,
        plan_text(
            dir,
            "hooks/hooks.json".into(),
            "hooks running `orch verify --hook`",
            merge::plugin_hooks().to_pretty("  "),
        )?,
    ];
    for command in &commands::COMMANDS {
        let rel = format!("commands/{}.md", command.name);
        planned.push(plan_text(
            dir,
            rel,
            "slash command",
            command.text(TOOLS, "/orch:"),
        )?);
    }
    Ok(planned)
}
