//! Planning with a model: ask for JSON against a schema, validate it structurally and
//! semantically, send the errors back once, then fall back to the heuristic planner. An
//! invalid plan is never returned.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use orch_core::{Category, Epic, EpicId, Plan, Task, TaskId, sanitize_line, sanitize_terminal};
use serde_json::Value;

use crate::decision_log::DecisionLog;
use crate::deps::{Edge, EdgeKind};
use crate::model::{LanguageModel, ModelRequest};
use crate::planner::{PlanOutcome, PlanSource, plan_heuristic_in};
use crate::prd::Prd;
use crate::repo_map::RepoMap;
use crate::scope::{conflicts, inside_repository};
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

/// What planning a PRD needs beyond the PRD: the strategy, the repository, the model (none
/// for offline), the decision log and the time the whole of it may take.
#[derive(Clone, Copy)]
pub struct PlanOptions<'a> {
    pub strategy: Strategy,
    /// The target repository's layout (scopes and the model's prompt).
    pub repo: &'a RepoMap,
    pub model: Option<&'a dyn LanguageModel>,
    pub log: Option<&'a DecisionLog>,
    /// Bound on the whole model planning: requests, retries and the repair round.
    pub budget: Duration,
}

impl std::fmt::Debug for PlanOptions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlanOptions")
            .field("strategy", &self.strategy)
            .field("model", &self.model.map(|m| m.describe()))
            .field("budget", &self.budget)
            .finish_non_exhaustive()
    }
}

/// Plans with `model` when given, else offline. Model failures and invalid plans end in the
/// heuristic plan with [`PlanSource::Fallback`] saying why; decisions go to `log`.
pub async fn plan_prd(
    prd: &Prd,
    strategy: Strategy,
    model: Option<&dyn LanguageModel>,
    log: Option<&DecisionLog>,
) -> PlanOutcome {
    let repo = RepoMap::empty();
    plan_with(
        prd,
        &PlanOptions {
            strategy,
            repo: &repo,
            model,
            log,
            budget: DEFAULT_BUDGET,
        },
    )
    .await
}

/// The default bound on a whole model planning.
pub const DEFAULT_BUDGET: Duration = Duration::from_secs(120);

/// Plans a PRD as `options` say: offline, or with a model held to the same bar as the
/// offline planner (every requirement covered, scopes inside the repository, no cycle, text
/// safe to print), within `options.budget`.
pub async fn plan_with(prd: &Prd, options: &PlanOptions<'_>) -> PlanOutcome {
    let strategy = options.strategy;
    let Some(model) = options.model else {
        return plan_heuristic_in(prd, strategy, options.repo);
    };
    let mut errors: Vec<String> = Vec::new();
    let asked =
        tokio::time::timeout(options.budget, ask_model(prd, options, model, &mut errors)).await;
    match asked {
        Ok(Some(outcome)) => return outcome,
        Ok(None) => {}
        Err(_) => errors.push(format!(
            "no valid plan within the planning limit of {} s (`ai.plan_timeout_seconds`)",
            options.budget.as_secs()
        )),
    }
    let mut outcome = plan_heuristic_in(prd, strategy, options.repo);
    outcome.source = PlanSource::Fallback {
        model: model.describe(),
        errors,
    };
    outcome
}

/// Up to two rounds with the model; `None` when neither gave a usable plan (`errors` say
/// why).
async fn ask_model(
    prd: &Prd,
    options: &PlanOptions<'_>,
    model: &dyn LanguageModel,
    errors: &mut Vec<String>,
) -> Option<PlanOutcome> {
    let strategy = options.strategy;
    let mut request = ModelRequest {
        system: SYSTEM.into(),
        prompt: first_prompt(prd, strategy, options.repo),
        max_tokens: 16_000,
    };
    for round in 0..2 {
        let reply = match model.complete(&request).await {
            Ok(reply) => reply,
            Err(e) => {
                errors.push(format!("the model request failed: {e}"));
                record(options.log, model, &request.prompt, "", errors);
                return None;
            }
        };
        let checked = validate_model_plan(&reply.text, &prd.title, strategy)
            .and_then(|outcome| hold_to_the_bar(outcome, prd, options.repo));
        match checked {
            Ok(mut outcome) => {
                outcome.source = PlanSource::Model {
                    model: model.describe(),
                    repaired: round == 1,
                };
                record(options.log, model, &request.prompt, &reply.text, &[]);
                return Some(outcome);
            }
            Err(problems) => {
                record(options.log, model, &request.prompt, &reply.text, &problems);
                errors.extend(problems.iter().map(|p| format!("round {}: {p}", round + 1)));
                request.prompt = repair_prompt(prd, strategy, &reply.text, &problems);
            }
        }
    }
    None
}

/// The checks a structurally valid model plan must also pass: it covers every requirement
/// of the PRD and keeps its file scopes inside the repository. Text is made safe to print.
fn hold_to_the_bar(
    mut outcome: PlanOutcome,
    prd: &Prd,
    _repo: &RepoMap,
) -> Result<PlanOutcome, Vec<String>> {
    let mut problems = Vec::new();
    for task in &outcome.plan.tasks {
        for file in task.files.iter().filter(|f| !inside_repository(f)) {
            problems.push(format!(
                "task `{}` has the file scope `{}`, outside the repository: scopes are relative paths without `..`",
                task.id,
                sanitize_line(file)
            ));
        }
    }
    let missed = uncovered_requirements(prd, &outcome.plan.tasks);
    if !missed.is_empty() {
        problems.push(format!(
            "{} of the PRD's requirements have no task: {}",
            missed.len(),
            missed
                .iter()
                .take(20)
                .map(|m| format!("\"{m}\""))
                .collect::<Vec<_>>()
                .join("; ")
        ));
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    // Whatever the model wrote is printed by orch later: no control sequences.
    for epic in &mut outcome.plan.epics {
        epic.name = sanitize_line(&epic.name);
        epic.goal = sanitize_line(&epic.goal);
    }
    for task in &mut outcome.plan.tasks {
        task.title = sanitize_line(&task.title);
        task.description = sanitize_terminal(&task.description).into_owned();
        for a in &mut task.acceptance {
            *a = sanitize_line(a);
        }
    }
    outcome.strategy_reason = sanitize_line(&outcome.strategy_reason);
    for edge in &mut outcome.edges {
        edge.reason = sanitize_line(&edge.reason);
    }
    Ok(outcome)
}

/// Requirements of the PRD no task covers: a requirement is covered when some task's title
/// and description hold at least half of its telling words.
pub fn uncovered_requirements(prd: &Prd, tasks: &[Task]) -> Vec<String> {
    let mut lex = crate::lexicon::Lexicon::default();
    let words = |lex: &mut crate::lexicon::Lexicon, text: &str| -> BTreeSet<u32> {
        lex.tokenize(text)
            .into_iter()
            .filter(|t| t.content)
            .map(|t| t.id)
            .collect()
    };
    let task_words: Vec<BTreeSet<u32>> = tasks
        .iter()
        .map(|t| words(&mut lex, &format!("{} {}", t.title, t.description)))
        .collect();
    let mut missed = Vec::new();
    for section in prd.work_sections() {
        for req in &section.items {
            let wanted = words(&mut lex, &req.text);
            if wanted.is_empty() {
                continue;
            }
            let best = task_words
                .iter()
                .map(|t| t.intersection(&wanted).count())
                .max()
                .unwrap_or(0);
            if best * 2 < wanted.len() {
                missed.push(crate::text::title_of(&req.text));
            }
        }
    }
    missed
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

fn first_prompt(prd: &Prd, strategy: Strategy, repo: &RepoMap) -> String {
    let mut requirements = String::new();
    for section in prd.work_sections() {
        for req in &section.items {
            requirements.push_str(&format!("- [{}] {}\n", section.heading, req.text));
        }
    }
    let modules: Vec<&str> = repo
        .modules
        .iter()
        .take(60)
        .map(|m| m.path.as_str())
        .collect();
    format!(
        "{}\n\nRules: every requirement listed below is covered by at least one task; every task has at least one \
acceptance criterion; dependencies only name task ids in this plan and never form a cycle; every dependency says why; \
ids use only letters, digits, `-` and `_`; `files` are paths relative to the repository root (never absolute, never \
`..`), existing modules where they fit, and include where the task's tests go.\n\n\
Answer with JSON of exactly this shape:\n{PLAN_SCHEMA}\n\nThe repository: {}\nExisting modules: {}\n\n\
The requirements ({} of them):\n{requirements}\nThe PRD:\n\n{}",
        strategy_line(strategy),
        repo.summary(),
        if modules.is_empty() {
            "none".to_owned()
        } else {
            modules.join(", ")
        },
        prd.work_sections().map(|s| s.items.len()).sum::<usize>(),
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
                review: None,
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
