//! `orch plan import` and `orch plan show`

use std::io::Read as _;

use orch_core::{Plan, PlanFormat, exit_code};
use orch_store::ImportOutcome;

use crate::cli::{FileFormat, ImportArgs};
use crate::cmd::{load_plan, open_store};
use crate::error::{CliError, CliResult};
use crate::output::{minutes, print_json};
use crate::repo::RepoPaths;

pub fn import(repo: &RepoPaths, args: &ImportArgs) -> CliResult {
    let format = match args.format {
        Some(FileFormat::Json) => PlanFormat::Json,
        Some(FileFormat::Toml) => PlanFormat::Toml,
        None => PlanFormat::from_path(&args.file).ok_or_else(|| {
            CliError::new(
                exit_code::INVALID_INPUT,
                format!(
                    "cannot tell the format of {}: the name should end in .json or .toml",
                    args.file.display()
                ),
            )
            .with_hint("or pass --format json|toml")
        })?,
    };
    let text = read_input(&args.file)?;
    let shown = args.file.display().to_string();
    // Parse and validate before the store is even opened: bad input changes nothing.
    let plan = Plan::parse(&text, format).map_err(|e| prefixed(&shown, e.into()))?;
    let graph = plan.validate().map_err(|e| prefixed(&shown, e.into()))?;

    let mut store = open_store(repo)?;
    let outcome = store.import_validated(&plan, &graph, args.replace)?;
    if matches!(outcome, ImportOutcome::Unchanged) {
        println!(
            "Plan `{}` is already imported and unchanged; nothing to do.",
            plan.name
        );
        return Ok(());
    }
    store.refresh_readiness()?;
    let verb = if matches!(outcome, ImportOutcome::Replaced { .. }) {
        "Replaced the plan with"
    } else {
        "Imported"
    };
    let critical = graph.critical_path();
    println!(
        "{verb} `{}`: {} epics, {} tasks, {} waves.",
        plan.name,
        plan.epics.len(),
        plan.tasks.len(),
        graph.wave_count()
    );
    println!(
        "Critical path: {} ({} tasks).",
        minutes(critical.total_minutes),
        critical.tasks.len()
    );
    println!("Next: `orch status` or `orch graph`.");
    Ok(())
}

fn read_input(path: &std::path::Path) -> CliResult<String> {
    let mut bytes = Vec::new();
    if path.as_os_str() == "-" {
        std::io::stdin()
            .read_to_end(&mut bytes)
            .map_err(|e| CliError::io("standard input", e))?;
    } else {
        bytes = std::fs::read(path).map_err(|e| {
            let code = if e.kind() == std::io::ErrorKind::NotFound {
                exit_code::NOT_FOUND
            } else {
                exit_code::FAILURE
            };
            CliError::new(code, format!("cannot read {}: {e}", path.display()))
        })?;
    }
    String::from_utf8(bytes).map_err(|_| {
        CliError::new(
            exit_code::INVALID_INPUT,
            format!("{} is not UTF-8 text", path.display()),
        )
    })
}

fn prefixed(file: &str, mut err: CliError) -> CliError {
    err.message = format!("{file}: {}", err.message);
    err
}

pub fn show(repo: &RepoPaths, json: bool) -> CliResult {
    let store = open_store(repo)?;
    let (plan, graph) = load_plan(&store)?;
    if json {
        return print_json(&plan);
    }
    let critical = graph.critical_path();
    println!("Plan: {}", plan.name);
    if let Some(strategy) = &plan.strategy {
        println!("Strategy: {strategy}");
    }
    println!(
        "{} epics, {} tasks, {} waves; total estimate {}, critical path {}",
        plan.epics.len(),
        plan.tasks.len(),
        graph.wave_count(),
        minutes(
            plan.tasks
                .iter()
                .map(|t| u64::from(t.estimate_minutes))
                .sum()
        ),
        minutes(critical.total_minutes)
    );
    // Which model and review each task gets, from `[agents]` and `[run] review`.
    let config = repo.config()?;
    let agents = &config.agents;
    let models_set =
        agents.model.is_some() || agents.retry_model.is_some() || !agents.by_category.is_empty();
    if let Some(retry) = agents.retry_model.as_deref() {
        println!("Retries use model {retry}");
    }
    if let Some(limit) = config.budget.run_usd {
        println!("Budget: ${limit:.2} for the plan's agents");
    }
    let by_epic = plan.tasks_by_epic();
    for epic in &plan.epics {
        println!();
        println!("Epic {} — {}", epic.id, epic.name);
        if !epic.goal.is_empty() {
            println!("  goal: {}", epic.goal);
        }
        for task in by_epic.get(&epic.id).into_iter().flatten() {
            let i = graph.index_of(&task.id).unwrap_or(0);
            println!(
                "  {}  wave {}  {:<9}  {:>6}  {}",
                task.id,
                graph.wave(i),
                task.status.as_str(),
                minutes(u64::from(task.estimate_minutes)),
                task.title
            );
            if !task.depends_on.is_empty() {
                let deps: Vec<&str> = task.depends_on.iter().map(|d| d.as_str()).collect();
                println!("      needs {}", deps.join(", "));
            }
            let mut how = Vec::new();
            if models_set {
                how.push(format!(
                    "model {}",
                    agents
                        .model_for(task.category, 1)
                        .unwrap_or("(agent default)")
                ));
            }
            if plan.review_mode(task, config.run.review) == orch_core::ReviewMode::Human {
                how.push("human review before merge".into());
            }
            if !how.is_empty() {
                println!("      {}", how.join("; "));
            }
        }
    }
    println!();
    let path: Vec<&str> = critical.tasks.iter().map(|t| t.as_str()).collect();
    println!("Critical path: {}", path.join(" → "));
    Ok(())
}
