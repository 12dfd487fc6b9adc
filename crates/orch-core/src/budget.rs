//! `[budget]`: how much money a run, an epic, a task and one attempt may spend, from the
//! cost each agent reports. A limit that is reached stops new attempts of what it covers
//! (never one that is running: its work is paid for already); the run asks a human whether
//! to raise it.

use serde::{Deserialize, Serialize};

/// Spending limits in US dollars; `None` means no limit.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BudgetConfig {
    /// Everything the runs of this plan spend (`orch run --max-cost` overrides it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_usd: Option<f64>,
    /// The attempts of one epic's tasks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub epic_usd: Option<f64>,
    /// The attempts of one task.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_usd: Option<f64>,
    /// One attempt: passed to the agent's own limit where its CLI has one (Claude Code's
    /// `--max-budget-usd`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attempt_usd: Option<f64>,
}

impl BudgetConfig {
    /// The limits by configuration key, for checks and messages.
    pub fn limits(&self) -> [(&'static str, Option<f64>); 4] {
        [
            ("budget.run_usd", self.run_usd),
            ("budget.epic_usd", self.epic_usd),
            ("budget.task_usd", self.task_usd),
            ("budget.attempt_usd", self.attempt_usd),
        ]
    }

    /// The first limit that is not a positive finite amount.
    pub fn invalid(&self) -> Option<&'static str> {
        self.limits()
            .into_iter()
            .find(|(_, v)| v.is_some_and(|v| !v.is_finite() || v <= 0.0))
            .map(|(key, _)| key)
    }
}

/// Where spending stands against one limit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Spend {
    /// Dollars spent so far.
    pub spent_usd: f64,
    /// The limit, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit_usd: Option<f64>,
}

impl Spend {
    /// The limit is set and reached.
    pub fn exhausted(&self) -> bool {
        self.limit_usd.is_some_and(|limit| self.spent_usd >= limit)
    }

    /// `$1.23 of $5.00` or `$1.23`.
    pub fn describe(&self) -> String {
        match self.limit_usd {
            Some(limit) => format!("${:.2} of ${limit:.2}", self.spent_usd),
            None => format!("${:.2}", self.spent_usd),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_must_be_positive() {
        let ok = BudgetConfig {
            run_usd: Some(5.0),
            ..BudgetConfig::default()
        };
        assert_eq!(ok.invalid(), None);
        let bad = BudgetConfig {
            task_usd: Some(0.0),
            ..BudgetConfig::default()
        };
        assert_eq!(bad.invalid(), Some("budget.task_usd"));
    }

    #[test]
    fn spend_is_exhausted_at_the_limit() {
        let at = Spend {
            spent_usd: 2.0,
            limit_usd: Some(2.0),
        };
        assert!(at.exhausted());
        assert_eq!(at.describe(), "$2.00 of $2.00");
        let free = Spend {
            spent_usd: 99.0,
            limit_usd: None,
        };
        assert!(!free.exhausted());
    }
}
