//! `[agents]` (which model each attempt uses) and `[agent.claude]` (what Claude Code may do
//! without asking). Both are explicit so that a user can read, in one file, what orch lets
//! an agent do.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::plan::Category;

/// Model choice per attempt.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AgentsConfig {
    /// Model of every attempt unless a rule below applies; `None`: the agent's default.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Model of attempts after the first (a stronger one, say).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_model: Option<String>,
    /// Model per task category (`backend`, `testing`, `docs`, …), for first attempts.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub by_category: BTreeMap<String, String>,
}

impl AgentsConfig {
    /// The model for `attempt` (1-based) of a task of `category`: retries use
    /// `retry_model`, first attempts the category's model, then `model`.
    pub fn model_for(&self, category: Category, attempt: u32) -> Option<&str> {
        let retry = (attempt > 1)
            .then_some(self.retry_model.as_deref())
            .flatten();
        retry
            .or_else(|| self.by_category.get(category.as_str()).map(String::as_str))
            .or(self.model.as_deref())
            .filter(|m| !m.trim().is_empty())
    }

    /// A category name that is not a [`Category`].
    pub fn unknown_category(&self) -> Option<&str> {
        self.by_category
            .keys()
            .find(|k| k.parse::<Category>().is_err())
            .map(String::as_str)
    }
}

/// Claude Code's permission modes (`--permission-mode`).
pub const CLAUDE_PERMISSION_MODES: [&str; 5] = [
    "default",
    "acceptEdits",
    "plan",
    "dontAsk",
    "bypassPermissions",
];

/// `[agent]`: per-agent settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AgentTables {
    /// `[agent.claude]`
    pub claude: ClaudeAgentConfig,
}

/// What Claude Code may do in a task's workspace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClaudeAgentConfig {
    /// `--permission-mode` of every attempt (default `acceptEdits`: edit files in its
    /// workspace without asking; other tools follow Claude Code's own rules and the lists
    /// below). `bypassPermissions` only when set here.
    pub permission_mode: String,
    /// `--allowedTools`: tools allowed without asking (e.g. `Bash(cargo test:*)`).
    pub allowed_tools: Vec<String>,
    /// `--disallowedTools`: tools never allowed.
    pub disallowed_tools: Vec<String>,
}

impl Default for ClaudeAgentConfig {
    fn default() -> Self {
        ClaudeAgentConfig {
            permission_mode: "acceptEdits".into(),
            allowed_tools: Vec::new(),
            disallowed_tools: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_and_categories_pick_their_model() {
        let config = AgentsConfig {
            model: Some("sonnet".into()),
            retry_model: Some("opus".into()),
            by_category: [("docs".to_owned(), "haiku".to_owned())].into(),
        };
        assert_eq!(config.model_for(Category::Docs, 1), Some("haiku"));
        assert_eq!(config.model_for(Category::Docs, 2), Some("opus"));
        assert_eq!(config.model_for(Category::Backend, 1), Some("sonnet"));
        assert_eq!(
            AgentsConfig::default().model_for(Category::Backend, 3),
            None
        );
    }
}
