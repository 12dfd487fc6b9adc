//! Spending limits (`[budget]`, `orch run --max-cost`). Spend is what agents report
//! (Claude Code's `total_cost_usd`), summed per task, per epic and for the whole plan across
//! runs (a restart does not reset it, so a crash loop cannot spend past the limit). A task
//! whose run, epic or task limit is reached does not start; a human is asked once per limit
//! whether to raise it, skip the task or stop. Each attempt is also handed what is left
//! (and `attempt_usd`) as the agent's own limit where its CLI has one.

use std::collections::{BTreeMap, HashMap, HashSet};

use orch_core::{BudgetConfig, EpicId, Plan, Spend, TaskId};
use orch_escalation::{Action, DecisionOption, FailureContext, FailureKind};
use orch_store::{Store, StoreError};
use serde::{Deserialize, Serialize};

/// Where spending stands, for reports and the dashboard.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BudgetReport {
    /// Every attempt of the plan so far, against the run limit.
    pub run: Option<Spend>,
    /// Limits reached, by scope (`run`, `epic E`, `task T`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reached: Vec<String>,
}

/// Spending and limits of one conductor.
#[derive(Debug)]
pub(crate) struct Budgets {
    config: BudgetConfig,
    /// Limits a human raised, by scope key; they win over the configuration.
    raised: BTreeMap<String, f64>,
    /// `orch run --max-cost`: wins over everything for the run limit.
    max_cost: Option<f64>,
    run_spent: f64,
    epic_spent: HashMap<EpicId, f64>,
    task_spent: HashMap<TaskId, f64>,
    /// Scopes with a question open: asked once.
    pub(crate) asked: HashSet<String>,
}

/// A limit that stops a task from starting.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Reached {
    /// `run`, `epic:E` or `task:T`.
    pub key: String,
    /// `run`, `epic E` or `task T`.
    pub scope: String,
    pub spend: Spend,
}

impl Budgets {
    /// Spending so far from the store's attempts of `plan`.
    pub(crate) fn load(
        store: &Store,
        plan: &Plan,
        config: BudgetConfig,
        max_cost: Option<f64>,
    ) -> Result<Budgets, StoreError> {
        let raised = store.raised_budgets()?;
        let mut budgets = Budgets {
            config,
            raised,
            max_cost,
            run_spent: 0.0,
            epic_spent: HashMap::new(),
            task_spent: HashMap::new(),
            asked: HashSet::new(),
        };
        for attempt in store.attempts(None)? {
            if let (Some(cost), Some(task)) = (attempt.cost_usd, plan.task(&attempt.task)) {
                budgets.spent(&task.id, &task.epic, cost);
            }
        }
        Ok(budgets)
    }

    /// Adds an attempt's reported cost.
    pub(crate) fn spent(&mut self, task: &TaskId, epic: &EpicId, usd: f64) {
        if !usd.is_finite() || usd <= 0.0 {
            return;
        }
        self.run_spent += usd;
        *self.epic_spent.entry(epic.clone()).or_default() += usd;
        *self.task_spent.entry(task.clone()).or_default() += usd;
    }

    fn limit(&self, key: &str, configured: Option<f64>) -> Option<f64> {
        let raised = self.raised.get(key).copied();
        match (configured, raised) {
            (Some(c), Some(r)) => Some(c.max(r)),
            (c, r) => c.or(r),
        }
    }

    fn run_limit(&self) -> Option<f64> {
        self.max_cost
            .or_else(|| self.limit("run", self.config.run_usd))
    }

    /// The run's spend against its limit.
    pub(crate) fn run(&self) -> Spend {
        Spend {
            spent_usd: self.run_spent,
            limit_usd: self.run_limit(),
        }
    }

    /// Each limit covering `task`, widest first.
    fn scopes(&self, task: &TaskId, epic: &EpicId) -> [Reached; 3] {
        let epic_key = format!("epic:{epic}");
        let task_key = format!("task:{task}");
        [
            Reached {
                key: "run".into(),
                scope: "run".into(),
                spend: self.run(),
            },
            Reached {
                spend: Spend {
                    spent_usd: self.epic_spent.get(epic).copied().unwrap_or(0.0),
                    limit_usd: self.limit(&epic_key, self.config.epic_usd),
                },
                key: epic_key,
                scope: format!("epic {epic}"),
            },
            Reached {
                spend: Spend {
                    spent_usd: self.task_spent.get(task).copied().unwrap_or(0.0),
                    limit_usd: self.limit(&task_key, self.config.task_usd),
                },
                key: task_key,
                scope: format!("task {task}"),
            },
        ]
    }

    /// Whether any run, epic or task limit is set (else nothing is ever held back).
    pub(crate) fn limited(&self) -> bool {
        self.max_cost.is_some()
            || self.config.run_usd.is_some()
            || self.config.epic_usd.is_some()
            || self.config.task_usd.is_some()
            || !self.raised.is_empty()
    }

    /// The first limit covering `task` that is reached, if any.
    pub(crate) fn reached(&self, task: &TaskId, epic: &EpicId) -> Option<Reached> {
        if !self.limited() {
            return None;
        }
        self.scopes(task, epic)
            .into_iter()
            .find(|r| r.spend.exhausted())
    }

    /// What one attempt of `task` may spend: what is left under every limit, and
    /// `attempt_usd`. `None` when nothing limits it.
    pub(crate) fn attempt_cap(&self, task: &TaskId, epic: &EpicId) -> Option<f64> {
        self.scopes(task, epic)
            .iter()
            .filter_map(|r| r.spend.limit_usd.map(|l| l - r.spend.spent_usd))
            .chain(self.config.attempt_usd)
            .reduce(f64::min)
            .map(|usd| usd.max(0.01))
    }

    /// A human raised the limit of `key` to `usd`; kept in the store for later runs.
    pub(crate) fn raise(
        &mut self,
        store: &mut Store,
        key: &str,
        usd: f64,
    ) -> Result<(), StoreError> {
        if key == "run" {
            // An explicit --max-cost is what was raised.
            if let Some(max) = self.max_cost.as_mut() {
                *max = max.max(usd);
            }
        }
        self.raised.insert(key.to_owned(), usd);
        self.asked.remove(key);
        store.set_raised_budgets(&self.raised)
    }

    /// The report for the end of a run.
    pub(crate) fn report(&self, reached: Vec<String>) -> BudgetReport {
        let run = self.run();
        BudgetReport {
            run: (run.limit_usd.is_some() || run.spent_usd > 0.0).then_some(run),
            reached,
        }
    }
}

fn cents(usd: f64) -> u64 {
    (usd * 100.0).ceil().max(1.0) as u64
}

/// The question asked when `reached` stops `task`: raise the limit (by half, or double),
/// skip the task (for an epic or task limit), or stop the run.
pub(crate) fn question(task: &TaskId, reached: &Reached) -> (FailureContext, Vec<DecisionOption>) {
    let limit = reached.spend.limit_usd.unwrap_or(0.0);
    let spent = reached.spend.spent_usd;
    let message = format!(
        "the {} budget is reached: agents reported ${spent:.2} against a limit of ${limit:.2}",
        reached.scope
    );
    let raise = |usd: f64| Action::RaiseBudget {
        scope: reached.key.clone(),
        limit_cents: cents(usd),
    };
    let step = limit.max(spent) * 0.5;
    let mut options = vec![
        DecisionOption::new(
            format!(
                "Raise the {} budget to ${:.2}",
                reached.scope,
                limit.max(spent) + step
            ),
            raise(limit.max(spent) + step),
        )
        .pro("The work goes on where it stopped")
        .con(format!("Up to ${step:.2} more"))
        .recommended(),
        DecisionOption::new(
            format!("Double it to ${:.2}", 2.0 * limit.max(spent)),
            raise(2.0 * limit.max(spent)),
        )
        .pro("Fewer interruptions")
        .con("Spends more before the next question"),
    ];
    if reached.key != "run" {
        options.push(
            DecisionOption::new(format!("Skip {task}"), Action::Skip)
                .pro("Other work goes on within its budget")
                .con("Tasks that depend on it are blocked"),
        );
    }
    options.push(
        DecisionOption::new("Stop the run", Action::StopRun)
            .pro("Spends nothing more; nothing is cancelled")
            .con("Nothing new starts until the limit is raised"),
    );
    let failure = FailureContext::new(task.clone(), FailureKind::BudgetReached, message);
    (failure, options)
}

/// The dollars of a `RaiseBudget` action.
pub(crate) fn dollars(limit_cents: u64) -> f64 {
    limit_cents as f64 / 100.0
}

impl crate::conductor::Conductor {
    /// Asks a human once per reached limit that holds back a task that could start (the
    /// scheduler leaves such tasks out).
    pub(crate) fn hold_over_budget(&mut self) -> Result<(), crate::EngineError> {
        if !self.budgets.limited() {
            return Ok(());
        }
        let mut to_ask: Vec<(TaskId, Reached)> = Vec::new();
        for i in self.board.startable() {
            let task = &self.plan.tasks[i];
            if let Some(reached) = self.budgets.reached(&task.id, &task.epic)
                && !self.budgets.asked.contains(&reached.key)
                && !to_ask.iter().any(|(_, r)| r.key == reached.key)
            {
                to_ask.push((task.id.clone(), reached));
            }
        }
        for (task, reached) in to_ask {
            self.budgets.asked.insert(reached.key.clone());
            let limit = reached.spend.limit_usd.unwrap_or(0.0);
            self.store.append_event(&orch_core::Event::BudgetReached {
                scope: reached.scope.clone(),
                spent_usd: reached.spend.spent_usd,
                limit_usd: limit,
            })?;
            if !self.budget_reached.contains(&reached.scope) {
                self.budget_reached.push(reached.scope.clone());
            }
            self.note(format!(
                "budget: the {} limit is reached ({}); no new attempts of what it covers",
                reached.scope,
                reached.spend.describe()
            ));
            let (failure, options) = question(&task, &reached);
            let outcome = self.escalator.ask(failure, options, Action::StopRun);
            self.carry_out_question(&task, outcome)?;
        }
        Ok(())
    }

    /// Carries out `RaiseBudget` and `StopRun`.
    pub(crate) fn apply_budget_action(
        &mut self,
        action: &Action,
    ) -> Result<(), crate::EngineError> {
        match action {
            Action::RaiseBudget { scope, limit_cents } => {
                let usd = dollars(*limit_cents);
                self.budgets.raise(&mut self.store, scope, usd)?;
                self.note(format!(
                    "budget: the {} limit is now ${usd:.2}",
                    scope.replace(':', " ")
                ));
            }
            Action::StopRun => {
                self.note("stopping: no new attempts; `orch run` goes on later".into());
                self.stop.stop(crate::StopLevel::Graceful);
            }
            _ => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids() -> (TaskId, EpicId) {
        (
            TaskId::new("TASK-A-001").unwrap(),
            EpicId::new("A").unwrap(),
        )
    }

    fn budgets(config: BudgetConfig) -> Budgets {
        Budgets {
            config,
            raised: BTreeMap::new(),
            max_cost: None,
            run_spent: 0.0,
            epic_spent: HashMap::new(),
            task_spent: HashMap::new(),
            asked: HashSet::new(),
        }
    }

    #[test]
    fn the_widest_reached_limit_stops_a_task() {
        let (task, epic) = ids();
        let mut b = budgets(BudgetConfig {
            run_usd: Some(1.0),
            task_usd: Some(0.5),
            ..BudgetConfig::default()
        });
        assert_eq!(b.reached(&task, &epic), None);
        assert_eq!(b.attempt_cap(&task, &epic), Some(0.5));
        b.spent(&task, &epic, 0.6);
        assert_eq!(b.reached(&task, &epic).unwrap().key, "task:TASK-A-001");
        b.spent(&task, &epic, 0.6);
        assert_eq!(b.reached(&task, &epic).unwrap().key, "run");
        let other = TaskId::new("TASK-A-002").unwrap();
        assert_eq!(b.reached(&other, &epic).unwrap().scope, "run");
    }

    #[test]
    fn a_raised_limit_wins_and_the_options_say_how_much() {
        let (task, epic) = ids();
        let mut b = budgets(BudgetConfig {
            run_usd: Some(1.0),
            ..BudgetConfig::default()
        });
        b.spent(&task, &epic, 1.0);
        let reached = b.reached(&task, &epic).unwrap();
        let (failure, options) = question(&task, &reached);
        assert_eq!(failure.kind, FailureKind::BudgetReached);
        assert_eq!(
            options[0].action,
            Action::RaiseBudget {
                scope: "run".into(),
                limit_cents: 150
            }
        );
        assert!(options.iter().any(|o| o.action == Action::StopRun));
        b.raised.insert("run".into(), 1.5);
        assert_eq!(b.reached(&task, &epic), None);
        assert!((b.attempt_cap(&task, &epic).unwrap() - 0.5).abs() < 1e-9);
    }
}
