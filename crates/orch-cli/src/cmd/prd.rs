//! `orch plan PRD.md` and `orch questions PRD.md`.

use std::path::Path;
use std::time::Duration;

use orch_ai::{
    DecisionLog, LanguageModel, LogLimits, ModelSettings, PlanOptions, PlanOutcome, PlanSource,
    Prd, RepoMap, Strategy, compose_agents, plan_with, prd_questions, write_agents,
};
use orch_core::{Config, PlanFormat, exit_code};
use orch_store::ImportOutcome;

use crate::cli::{ModelFlags, PlanArgs, QuestionsArgs};
use crate::cmd::open_store;
use crate::error::{CliError, CliResult};
use crate::output::{minutes, print_json, truncate};
use crate::repo::RepoPaths;

/// From this many requirements on, `orch plan` reports progress on stderr.
const LONG_PRD: usize = 1_000;

/// The PRD as stored beside the plan, for the excerpts in task instructions.
pub const STORED_PRD: &str = "prd.md";

fn read_prd(path: &Path) -> CliResult<Prd> {
    if path.is_dir() {
        return Err(CliError::new(
            exit_code::INVALID_INPUT,
            format!(
                "{} is a directory; give the PRD's markdown file",
                path.display()
            ),
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| {
        let code = if e.kind() == std::io::ErrorKind::NotFound {
            exit_code::NOT_FOUND
        } else {
            exit_code::FAILURE
        };
        CliError::new(code, format!("cannot read {}: {e}", path.display()))
    })?;
    Prd::from_bytes(&bytes)
        .map_err(|e| CliError::new(exit_code::INVALID_INPUT, format!("{}: {e}", path.display())))
}

/// The model from `[ai]` and the flags; `None` for offline. A model provider without its key
/// is an error, never a silent fallback to offline.
fn build_model(config: &Config, flags: &ModelFlags) -> CliResult<Option<Box<dyn LanguageModel>>> {
    let mut ai = config.ai.clone();
    if let Some(p) = &flags.provider {
        ai.provider = p.clone();
    }
    if let Some(m) = &flags.model {
        ai.model = m.clone();
    }
    if let Some(u) = &flags.base_url {
        ai.base_url = u.clone();
    }
    let settings =
        ModelSettings::from_config(&ai).map_err(|e| CliError::new(exit_code::USAGE, e))?;
    settings.build().map_err(|e| {
        CliError::new(exit_code::INVALID_INPUT, e.to_string())
            .with_hint("set the key in the environment, or plan offline with `--provider offline`")
    })
}

fn runtime() -> CliResult<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::io("tokio runtime", e))
}

fn decision_log(repo: Option<&RepoPaths>) -> Option<DecisionLog> {
    let repo = repo?;
    repo.orch_dir().is_dir().then(|| {
        DecisionLog::new(
            repo.orch_dir().join("logs").join("ai_decisions"),
            LogLimits::default(),
        )
    })
}

pub fn plan(repo: Option<&RepoPaths>, args: &PlanArgs) -> CliResult {
    let path = args
        .prd
        .as_deref()
        .expect("clap requires the PRD without a subcommand");
    let prd = read_prd(path)?;
    // A long PRD takes seconds: say so on stderr (stdout may be JSON).
    let requirements: usize = prd.work_sections().map(|s| s.items.len()).sum();
    let started = std::time::Instant::now();
    let long = requirements >= LONG_PRD;
    if long {
        eprintln!(
            "orch plan: {requirements} requirements in {} ({}); finding dependencies and scopes…",
            path.display(),
            prd.encoding
        );
    }
    let strategy: Strategy = args
        .strategy
        .parse()
        .map_err(|e: String| CliError::new(exit_code::USAGE, e))?;
    let stored_repo = if args.dry_run {
        None
    } else {
        Some(repo.ok_or_else(not_a_repo)?)
    };
    if let Some(repo) = stored_repo {
        // Fail before any model call when the plan could not be stored anyway.
        repo.require_initialized()?;
    }
    let config = match repo {
        Some(r) => r.config()?,
        None => Config::default(),
    };
    let model = build_model(&config, &args.model)?;
    let log = decision_log(repo);
    let map = repo.map_or_else(RepoMap::empty, RepoPaths::map);
    let options = PlanOptions {
        strategy,
        repo: &map,
        model: model.as_deref(),
        log: log.as_ref(),
        budget: Duration::from_secs(config.ai.plan_timeout_seconds),
    };
    let outcome = runtime()?.block_on(plan_with(&prd, &options));
    if let PlanSource::Fallback { model, errors } = &outcome.source {
        // On stderr whatever the output format: a fallback is never silent.
        eprintln!(
            "warning: {model}'s plan could not be used; this is the offline plan ({})",
            errors
                .first()
                .map_or("no reason given".to_owned(), |e| truncate(e, 160))
        );
    }
    let graph = outcome.plan.validate()?;
    if long {
        eprintln!(
            "orch plan: planned {} tasks and {} dependencies in {:.1} s",
            outcome.plan.tasks.len(),
            outcome.edges.len(),
            started.elapsed().as_secs_f64()
        );
    }

    if let Some(out) = &args.out {
        let format = PlanFormat::from_path(out).ok_or_else(|| {
            CliError::new(
                exit_code::USAGE,
                format!("{}: the name should end in .toml or .json", out.display()),
            )
        })?;
        let text = outcome.plan.render(format)?;
        std::fs::write(out, text).map_err(|e| CliError::io(out.display(), e))?;
    }
    // JSON goes out last, once the plan is stored: a failure then yields one error
    // document, never a plan document followed by an error.
    if !args.json {
        print_summary(&outcome, &graph);
    }
    if let Some(repo) = stored_repo {
        let mut store = open_store(repo)?;
        let imported = store.import_validated(&outcome.plan, &graph, args.replace)?;
        store.refresh_readiness()?;
        std::fs::write(repo.orch_dir().join(STORED_PRD), &prd.text)
            .map_err(|e| CliError::io(repo.orch_dir().join(STORED_PRD).display(), e))?;
        if args.agents {
            let agents = compose_agents(&outcome.plan, None);
            let written =
                write_agents(&repo.root, &agents).map_err(|e| CliError::io(".claude/agents", e))?;
            if !args.json {
                println!("Wrote {} sub-agents to .claude/agents/.", written.len());
            }
        }
        if !args.json {
            match imported {
                ImportOutcome::Unchanged => {
                    println!("\nThe same plan is already stored; nothing changed.")
                }
                ImportOutcome::Replaced { .. } => {
                    println!("\nReplaced the stored plan. Next: `orch run`.")
                }
                _ => {
                    println!("\nStored the plan. Next: `orch status`, `orch graph`, or `orch run`.")
                }
            }
        }
    } else if !args.json {
        println!("\nDry run: nothing stored.");
    }
    if args.json {
        print_json(&outcome)?;
    }
    Ok(())
}

fn not_a_repo() -> CliError {
    CliError::new(
        exit_code::NOT_A_REPOSITORY,
        "storing a plan needs a git repository with `orch init` run in it",
    )
    .with_hint("or preview it with `--dry-run`")
}

fn print_summary(outcome: &PlanOutcome, graph: &orch_core::DepGraph) {
    let plan = &outcome.plan;
    println!("Plan: {}", plan.name);
    println!(
        "Strategy: {} ({})",
        outcome.strategy, outcome.strategy_reason
    );
    match &outcome.source {
        PlanSource::Heuristic => println!("Planner: offline heuristics"),
        PlanSource::Model { model, repaired } => {
            println!(
                "Planner: {model}{}",
                if *repaired {
                    " (after one repair round)"
                } else {
                    ""
                }
            )
        }
        PlanSource::Fallback { model, errors } => {
            println!("Planner: offline heuristics, because {model}'s plan could not be used:");
            for e in errors.iter().take(8) {
                println!("  - {e}");
            }
        }
    }
    let critical = graph.critical_path();
    println!(
        "{} epics, {} tasks, {} waves; critical path {} of {} total",
        plan.epics.len(),
        plan.tasks.len(),
        graph.wave_count(),
        minutes(critical.total_minutes),
        minutes(
            plan.tasks
                .iter()
                .map(|t| u64::from(t.estimate_minutes))
                .sum()
        )
    );
    println!("\nEpics:");
    let by_epic = plan.tasks_by_epic();
    for epic in &plan.epics {
        let n = by_epic.get(&epic.id).map_or(0, Vec::len);
        println!(
            "  {:<24} {n:>3} tasks  {}",
            epic.id.as_str(),
            truncate(&epic.name, 50)
        );
    }
    println!("\nWaves:");
    for (w, wave) in graph.waves().iter().enumerate() {
        println!("  wave {}:", w + 1);
        for &i in wave {
            let t = &plan.tasks[plan
                .tasks
                .iter()
                .position(|t| &t.id == graph.id(i))
                .expect("graph of this plan")];
            println!(
                "    {:<14} {:<9} {}",
                t.id.as_str(),
                t.category.as_str(),
                truncate(&t.title, 64)
            );
        }
    }
    if !outcome.edges.is_empty() {
        println!("\nDependencies:");
        for e in &outcome.edges {
            println!(
                "  {} → {}: {}{}",
                e.task,
                e.depends_on,
                if e.inferred { "(inferred) " } else { "" },
                truncate(&e.reason, 90)
            );
        }
    }
    if !outcome.conflicts.is_empty() {
        println!("\nNever at the same time (shared files):");
        for c in &outcome.conflicts {
            let ids: Vec<&str> = c.tasks.iter().map(|t| t.as_str()).collect();
            let shown = if ids.len() > 8 {
                format!("{} and {} more", ids[..8].join(", "), ids.len() - 8)
            } else {
                ids.join(", ")
            };
            println!("  {}: {shown}", c.scope);
        }
    }
    for note in &outcome.notes {
        println!("note: {note}");
    }
}

pub fn questions(repo: Option<&RepoPaths>, args: &QuestionsArgs) -> CliResult {
    let prd = read_prd(&args.prd)?;
    let config = match repo {
        Some(r) => r.config()?,
        None => Config::default(),
    };
    let model = build_model(&config, &args.model)?;
    let log = decision_log(repo);
    let questions = runtime()?.block_on(async {
        tokio::time::timeout(
            Duration::from_secs(config.ai.timeout_seconds * 2 + 5),
            prd_questions(&prd, model.as_deref(), log.as_ref()),
        )
        .await
        .unwrap_or_else(|_| orch_ai::heuristic_questions(&prd))
    });
    if args.json {
        return print_json(&questions);
    }
    if questions.is_empty() {
        println!(
            "No open questions: the PRD has success criteria, non-goals, units and a clear scope."
        );
        return Ok(());
    }
    println!("{} questions about {}:\n", questions.len(), prd.title);
    for (i, q) in questions.iter().enumerate() {
        println!("{:>2}. {}", i + 1, q.question);
        if !q.why.is_empty() {
            println!("    why: {}", q.why);
        }
    }
    Ok(())
}
