//! A model-backed [`Advisor`]: asks the configured language model for escalation options
//! and falls back to the offline [`RuleAdvisor`] whenever the model fails, times out or
//! answers something unusable. A run never waits on a model longer than the client's own
//! timeout and retry bounds.

use std::fmt::Write as _;

use orch_ai::{LanguageModel, ModelRequest, ModelSettings};
use orch_escalation::{Advisor, DecisionOption, FailureContext, RuleAdvisor};
use serde::Deserialize;

/// Options proposed by a language model, with the rule advisor as the fallback.
pub struct ModelAdvisor {
    model: Box<dyn LanguageModel>,
    fallback: RuleAdvisor,
}

impl std::fmt::Debug for ModelAdvisor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelAdvisor")
            .field("model", &self.model.describe())
            .finish()
    }
}

const SYSTEM: &str = "You advise the person running a team of AI coding agents. A task failed \
verification. Propose 2 to 4 concrete options for what to do next. Answer with JSON only: an \
array of objects {\"title\": str, \"pros\": [str], \"cons\": [str], \"recommended\": bool, \
\"action\": A}, exactly one recommended, where A is one of {\"type\":\"accept\"}, \
{\"type\":\"retry_with_instructions\",\"instructions\":str,\"fresh_worktree\":bool,\
\"non_interactive\":bool}, {\"type\":\"retry_with_agent\",\"instructions\":str}, \
{\"type\":\"split_task\",\"hint\":str}, {\"type\":\"skip\"}, {\"type\":\"abort_run\"}.";

#[derive(Deserialize)]
struct Proposed {
    title: String,
    #[serde(default)]
    pros: Vec<String>,
    #[serde(default)]
    cons: Vec<String>,
    #[serde(default)]
    recommended: bool,
    action: orch_escalation::Action,
}

impl ModelAdvisor {
    /// An advisor on `model`.
    pub fn new(model: Box<dyn LanguageModel>) -> ModelAdvisor {
        ModelAdvisor {
            model,
            fallback: RuleAdvisor::new(),
        }
    }

    /// The advisor `[ai]` asks for: `Ok(None)` when the provider is `offline`; an error
    /// when the provider is unknown or its key is missing.
    pub fn from_config(ai: &orch_core::AiConfig) -> Result<Option<ModelAdvisor>, String> {
        let settings = ModelSettings::from_config(ai)?;
        let model = settings.build().map_err(|e| e.to_string())?;
        Ok(model.map(ModelAdvisor::new))
    }

    fn prompt(failure: &FailureContext) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "Task: {}", failure.task);
        let _ = writeln!(
            out,
            "Failure: {} ({})",
            failure.kind.describe(),
            failure.message
        );
        let _ = writeln!(out, "Attempt: {}", failure.attempt);
        if let Some(agent) = &failure.agent {
            let _ = writeln!(out, "Agent: {agent}");
        }
        if let Some(q) = &failure.quality {
            let _ = writeln!(out, "Quality: {}", q.line());
        }
        if !failure.log_tail.is_empty() {
            let _ = writeln!(out, "Last log lines:\n{}", failure.log_tail.join("\n"));
        }
        out
    }
}

/// The JSON array in a model reply (fenced or bare).
fn parse_options(text: &str) -> Option<Vec<DecisionOption>> {
    let start = text.find('[')?;
    let end = text.rfind(']')?;
    let proposed: Vec<Proposed> = serde_json::from_str(text.get(start..=end)?).ok()?;
    let options: Vec<DecisionOption> = proposed
        .into_iter()
        .filter(|p| !p.title.trim().is_empty())
        .map(|p| {
            let mut option = DecisionOption::new(p.title.trim(), p.action);
            option.pros = p.pros;
            option.cons = p.cons;
            option.recommended = p.recommended;
            option
        })
        .collect();
    (!options.is_empty()).then_some(options)
}

impl Advisor for ModelAdvisor {
    async fn options(&self, failure: &FailureContext) -> Vec<DecisionOption> {
        let request = ModelRequest {
            system: SYSTEM.to_owned(),
            prompt: ModelAdvisor::prompt(failure),
            max_tokens: 1500,
        };
        match self.model.complete(&request).await {
            Ok(reply) => match parse_options(&reply.text) {
                Some(options) => options,
                None => {
                    tracing::warn!(model = %self.model.describe(), "advisor reply unusable; using the rules");
                    self.fallback.advise(failure)
                }
            },
            Err(e) => {
                tracing::warn!(model = %self.model.describe(), error = %e, "advisor failed; using the rules");
                self.fallback.advise(failure)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use orch_escalation::Action;

    #[test]
    fn parses_fenced_json_and_rejects_junk() {
        let text = "Here you go:\n```json\n[{\"title\":\"Retry\",\"pros\":[\"cheap\"],\"recommended\":true,\"action\":{\"type\":\"retry_with_instructions\",\"instructions\":\"fix the test\"}},{\"title\":\"Skip\",\"action\":{\"type\":\"skip\"}}]\n```";
        let options = parse_options(text).unwrap();
        assert_eq!(options.len(), 2);
        assert!(options[0].recommended);
        assert!(options[0].action.is_retry());
        assert_eq!(options[1].action, Action::Skip);
        assert!(parse_options("no idea").is_none());
        assert!(parse_options("[]").is_none());
        assert!(parse_options("[{\"title\":\"x\",\"action\":{\"type\":\"explode\"}}]").is_none());
    }

    #[test]
    fn asks_the_model_and_falls_back_to_the_rules() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let failure = FailureContext::new(
            orch_core::TaskId::new("TASK-A-001").unwrap(),
            orch_escalation::FailureKind::TestsFailing,
            "2 tests failed",
        );
        let reply = r#"[{"title":"Mock the clock","recommended":true,"action":{"type":"retry_with_instructions","instructions":"use a fake clock"}}]"#;
        // The second request gets junk: the rules answer instead.
        let advisor = ModelAdvisor::new(Box::new(orch_ai::ScriptedModel::new([reply, "sorry"])));
        let options = runtime.block_on(advisor.options(&failure));
        assert_eq!(options.len(), 1);
        assert_eq!(options[0].title, "Mock the clock");
        let fallback = runtime.block_on(advisor.options(&failure));
        assert_eq!(fallback, RuleAdvisor::new().advise(&failure));
    }
}
