//! Planning with a model: ask for JSON against a schema, validate it structurally and
//! semantically, send the errors back once, then fall back to the heuristic planner. An
//! invalid plan is never returned.

use std::collections::{BTreeMap, BTreeSet};

use orch_core::{Category, Epic, EpicId, Plan, Task, TaskId};
use serde_json::Value;

use crate::decision_log::DecisionLog;
use crate::deps::{Edge, EdgeKind};
use crate::model::{LanguageModel, ModelRequest};
use crate::planner::{PlanOutcome, PlanSource, plan_heuristic};
use crate::prd::Prd;
use crate::scope::conflicts;
use crate::strategy::Strategy;

const SYSTEM: &str = "You are the planner of orch, a tool that runs many AI coding agents on one \
codebase in parallel. You split a product requirements document into epics and small tasks \
(each one agent session of 15 to 120 minutes), with dependencies that let independent work run \
at once. You answer with one JSON object and nothing else.";

/// The JSON shape the model must answer with, shown to it verbatim.
pub const PLAN_SCHEMA: &str = r#"{
  "strategy": "layer | phase | function | generic",
  "strategy_reason": "one sentence: why this strategy fits the PRD",
  "epics": [{"id": "lowercase-slug", "name": "Human name", "goal": "what the epic achieves"}],
  "tasks": [{
    "id": "TASK-<EPICCODE>-<NNN>, only A-Z a-z 0-9 _ -",
    "title": "one line",
    "description": "what to build",
    "epic": "an epic id from above",
    "category": "database | backend | api | frontend | infra | testing | docs | security | general",
    "depends_on": [{"id": "another task id", "reason": "why it must come first"}],
    "files": ["paths or globs this task will touch"],
    "acceptance": ["verifiable criterion", "at least one"],
    "estimate_minutes": 60
  }]
}"#;

/// Plans with `model` when given, else offline. Model failures and invalid plans end in the
/// heuristic plan with [`PlanSource::Fallback`] saying why; decisions go to `log`.
pub async fn plan_prd(
    prd: &Prd,
    strategy: Strategy,
    model: Option<&dyn LanguageModel>,
    log: Option<&DecisionLog>,
) -> PlanOutcome {
    let Some(model) = model else {
        return plan_heuristic(prd, strategy);
    };
    let mut errors: Vec<String> = Vec::new();
    let mut request = ModelRequest {
        system: SYSTEM.into(),
        prompt: first_prompt(prd, strategy),
        max_tokens: 16_000,
    };
    for round in 0..2 {
        let reply = match model.complete(&request).await {
            Ok(reply) => reply,
            Err(e) => {
                errors.push(format!("the model request failed: {e}"));
                record(log, model, &request.prompt, "", &errors);
                break;
            }
        };
        match validate_model_plan(&reply.text, &prd.title, strategy) {
            Ok(mut outcome) => {
                outcome.source = PlanSource::Model {
                    model: model.describe(),
                    repaired: round == 1,
                };
                record(log, model, &request.prompt, &reply.text, &[]);
                return outcome;
            }
            Err(problems) => {
                record(log, model, &request.prompt, &reply.text, &problems);
                errors.extend(problems.iter().map(|p| format!("round {}: {p}", round + 1)));
                request.prompt = repair_prompt(prd, strategy, &reply.text, &problems);
            }
        }
    }
    let mut outcome = plan_heuristic(prd, strategy);
    outcome.source = PlanSource::Fallback {
        model: model.describe(),
        errors,
    };
    outcome
}

fn record(
    log: Option<&DecisionLog>,
    model: &dyn LanguageModel,
    prompt: &str,
    reply: &str,
    problems: &[String],
) {
    if let Some(log) = log {
        let outcome = if problems.is_empty() {
            "accepted".to_owned()
        } else {
            format!("rejected: {}", problems.join("; "))
        };
        if let Err(e) = log.record("plan", &model.describe(), prompt, reply, &outcome) {
            tracing::warn!(
                "cannot write the AI decision log in {}: {e}",
                log.dir().display()
            );
        }
    }
}

fn strategy_line(strategy: Strategy) -> String {
    match strategy {
        Strategy::Auto => "Choose the strategy that fits the PRD best (layer: by technical layer; phase: by delivery phase, \
each phase after the previous; function: by product area; generic: by role such as backend, frontend, devops, QA) and say why."
            .into(),
        s => format!("Use the `{s}` strategy."),
    }
}

fn first_prompt(prd: &Prd, strategy: Strategy) -> String {
    format!(
        "{}\n\nRules: every task has at least one acceptance criterion; dependencies only name task ids in this plan \
and never form a cycle; every dependency says why; ids use only letters, digits, `-` and `_`.\n\n\
Answer with JSON of exactly this shape:\n{PLAN_SCHEMA}\n\nThe PRD:\n\n{}",
        strategy_line(strategy),
        prd.text
    )
}

fn repair_prompt(prd: &Prd, strategy: Strategy, previous: &str, problems: &[String]) -> String {
    let list: String = problems.iter().map(|p| format!("- {p}\n")).collect();
    format!(
        "Your previous plan cannot be used:\n{list}\nFix every problem and answer with the whole corrected plan as JSON \
of the same shape. {}\n\nSchema:\n{PLAN_SCHEMA}\n\nYour previous answer:\n{previous}\n\nThe PRD:\n\n{}",
        strategy_line(strategy),
        prd.text
    )
}

/// The JSON object in a reply: the whole text, or the first fenced or braced block in it.
fn extract_json(text: &str) -> Option<&str> {
    let trimmed = text.trim();
    if trimmed.starts_with('{') {
        return Some(trimmed);
    }
    let start = trimmed.find('{')?;
    let end = trimmed.rfind('}')?;
    (end > start).then(|| &trimmed[start..=end])
}

/// Checks a model's plan; every problem is listed, so one repair round can fix them all.
pub fn validate_model_plan(
    text: &str,
    title: &str,
    requested: Strategy,
) -> Result<PlanOutcome, Vec<String>> {
    let json =
        extract_json(text).ok_or_else(|| vec!["the answer contains no JSON object".to_owned()])?;
    let value: Value = serde_json::from_str(json)
        .map_err(|e| vec![format!("the answer is not valid JSON: {e}")])?;
    let mut problems = Vec::new();
    let str_of = |v: &Value, key: &str| {
        v.get(key)
            .and_then(Value::as_str)
            .map(str::trim)
            .unwrap_or_default()
            .to_owned()
    };

    let strategy = match str_of(&value, "strategy").parse::<Strategy>() {
        Ok(Strategy::Auto) | Err(_) => {
            problems.push("`strategy` must be one of layer, phase, function, generic".to_owned());
            Strategy::Function
        }
        Ok(s) => s,
    };
    if requested != Strategy::Auto && strategy != requested {
        problems.push(format!(
            "the strategy must be `{requested}`, not `{strategy}`"
        ));
    }
    let mut epics = Vec::new();
    let mut epic_ids = BTreeSet::new();
    for (i, e) in value
        .get("epics")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        let id = str_of(e, "id");
        match EpicId::new(id.clone()) {
            Ok(epic_id) if epic_ids.insert(id.clone()) => epics.push(Epic {
                id: epic_id,
                name: Some(str_of(e, "name"))
                    .filter(|n| !n.is_empty())
                    .unwrap_or_else(|| id.clone()),
                goal: str_of(e, "goal"),
                strategy: Some(strategy.as_str().into()),
            }),
            Ok(_) => problems.push(format!("epic id `{id}` is used twice")),
            Err(err) => problems.push(format!("epics[{i}]: {err}")),
        }
    }
    if epics.is_empty() {
        problems.push("the plan has no epics".into());
    }
    let raw_tasks = value
        .get("tasks")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if raw_tasks.is_empty() {
        problems.push("the plan has no tasks".into());
    }
    let mut tasks = Vec::new();
    let mut seen = BTreeMap::new();
    let mut reasons: Vec<(TaskId, String, String)> = Vec::new();
    for (i, t) in raw_tasks.iter().enumerate() {
        let raw_id = str_of(t, "id");
        let id = match TaskId::new(raw_id.clone()) {
            Ok(id) => id,
            Err(err) => {
                problems.push(format!("tasks[{i}]: {err}"));
                continue;
            }
        };
        if seen.insert(raw_id.clone(), i).is_some() {
            problems.push(format!("task id `{raw_id}` is used twice"));
            continue;
        }
        let epic = str_of(t, "epic");
        if !epic_ids.contains(&epic) {
            problems.push(format!("task `{raw_id}` names an unknown epic `{epic}`"));
            continue;
        }
        let title = str_of(t, "title");
        if title.is_empty() {
            problems.push(format!("task `{raw_id}` has no title"));
        }
        let mut task = Task::new(id.clone(), title, EpicId::new(epic).expect("checked above"));
        task.description = str_of(t, "description");
        let category = str_of(t, "category");
        task.category = match serde_json::from_value::<Category>(Value::String(
            category.to_ascii_lowercase(),
        )) {
            Ok(c) => c,
            Err(_) => {
                problems.push(format!(
                    "task `{raw_id}` has an unknown category `{category}`"
                ));
                Category::General
            }
        };
        let strings = |key: &str| -> Vec<String> {
            t.get(key)
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(|s| s.trim().to_owned())
                        .filter(|s| !s.is_empty())
                        .collect()
                })
                .unwrap_or_default()
        };
        task.acceptance = strings("acceptance");
        if task.acceptance.is_empty() {
            problems.push(format!("task `{raw_id}` has no acceptance criteria"));
        }
        task.files = strings("files");
        task.estimate_minutes = t
            .get("estimate_minutes")
            .and_then(Value::as_u64)
            .map_or(60, |m| m.clamp(5, 24 * 60) as u32);
        for dep in t
            .get("depends_on")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
        {
            let (dep_id, reason) = match &dep {
                Value::String(s) => (s.trim().to_owned(), String::new()),
                other => (str_of(other, "id"), str_of(other, "reason")),
            };
            reasons.push((id.clone(), dep_id, reason));
        }
        tasks.push(task);
    }
    let mut edges = Vec::new();
    for (task_id, dep, reason) in reasons {
        if !seen.contains_key(&dep) {
            problems.push(format!(
                "task `{task_id}` depends on an unknown task `{dep}`"
            ));
            continue;
        }
        let dep_id = TaskId::new(dep).expect("known ids are valid");
        if dep_id == task_id {
            problems.push(format!("task `{task_id}` depends on itself"));
            continue;
        }
        let task = tasks.iter_mut().find(|t| t.id == task_id).expect("known");
        if !task.depends_on.contains(&dep_id) {
            task.depends_on.push(dep_id.clone());
            let reason = if reason.is_empty() {
                "the model gave no reason".to_owned()
            } else {
                reason
            };
            edges.push(Edge {
                task: task_id,
                depends_on: dep_id,
                kind: EdgeKind::Model,
                inferred: false,
                reason,
            });
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let plan = Plan {
        version: orch_core::PLAN_FORMAT_VERSION,
        name: title.to_owned(),
        strategy: Some(strategy.as_str().into()),
        epics,
        tasks,
    };
    if let Err(e) = plan.validate() {
        return Err(vec![e.to_string()]);
    }
    // Overlapping file scopes are not copied into `conflicts_with`: the scheduler derives
    // them from `files` itself, and the plan stays as small as what was said.
    let found = conflicts(&plan.tasks);
    Ok(PlanOutcome {
        plan,
        strategy,
        strategy_reason: str_of(&value, "strategy_reason"),
        edges,
        conflicts: found,
        source: PlanSource::Heuristic, // the caller sets the real source
        notes: Vec::new(),
        provides: Vec::new(),
    })
}
