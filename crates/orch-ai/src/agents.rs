//! Sub-agent definitions for Claude Code: `.claude/agents/<epic>.md`, one per epic, with
//! YAML frontmatter (`name`, `description`, `tools`, `model`) and the system prompt as body.

use std::fmt::Write as _;
use std::io;
use std::path::{Path, PathBuf};

use orch_core::{Category, Plan};

/// One sub-agent file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentDefinition {
    /// File name, `<epic>.md`.
    pub file_name: String,
    /// The whole file.
    pub content: String,
}

/// One definition per epic. `model` is written when given (e.g. `sonnet`), else `inherit`.
pub fn compose_agents(plan: &Plan, model: Option<&str>) -> Vec<AgentDefinition> {
    let by_epic = plan.tasks_by_epic();
    plan.epics
        .iter()
        .filter_map(|epic| {
            let tasks = by_epic.get(&epic.id)?;
            let mut categories: Vec<Category> = tasks.iter().map(|t| t.category).collect();
            categories.sort();
            categories.dedup();
            let kinds: Vec<&str> = categories.iter().map(|c| c.as_str()).collect();
            let name = format!("orch-{}", epic.id);
            let description = format!(
                "Implements the \"{}\" epic ({}). Use for tasks {}.",
                epic.name.replace('"', "'"),
                kinds.join(", "),
                tasks.iter().map(|t| t.id.as_str()).collect::<Vec<_>>().join(", ")
            );
            let mut content = String::new();
            let _ = writeln!(content, "---");
            let _ = writeln!(content, "name: {name}");
            let _ = writeln!(content, "description: {}", yaml_string(&description));
            let _ = writeln!(content, "tools: {}", tools_for(&categories));
            let _ = writeln!(content, "model: {}", model.unwrap_or("inherit"));
            let _ = writeln!(content, "---\n");
            let _ = writeln!(content, "You are the engineer for the \"{}\" epic of {}.", epic.name, plan.name);
            if !epic.goal.is_empty() {
                let _ = writeln!(content, "\nGoal: {}", epic.goal);
            }
            let _ = writeln!(content, "\nYou work on one task at a time, in your own git worktree. Each task comes with an instruction file: its acceptance criteria, files in scope and how the result is verified. Stay in scope, write tests with the code, commit when done, and say plainly when you are blocked.");
            let _ = writeln!(content, "\nTasks of this epic:");
            for t in tasks {
                let _ = writeln!(content, "- {}: {}", t.id, t.title);
            }
            Some(AgentDefinition { file_name: format!("{}.md", epic.id), content })
        })
        .collect()
}

fn tools_for(categories: &[Category]) -> &'static str {
    if categories.iter().all(|c| *c == Category::Docs) {
        "Read, Write, Edit, Glob, Grep"
    } else {
        "Read, Write, Edit, Bash, Glob, Grep"
    }
}

fn yaml_string(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Writes the definitions into `<root>/.claude/agents/`, leaving other files there alone.
pub fn write_agents(root: &Path, agents: &[AgentDefinition]) -> io::Result<Vec<PathBuf>> {
    let dir = root.join(".claude").join("agents");
    std::fs::create_dir_all(&dir)?;
    agents
        .iter()
        .map(|a| {
            let path = dir.join(&a.file_name);
            std::fs::write(&path, &a.content)?;
            Ok(path)
        })
        .collect()
}
