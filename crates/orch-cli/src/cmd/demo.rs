//! `orch demo`: the whole flow offline on a sample project (see `orch_engine::DemoProject`).

use std::sync::Arc;
use std::time::Duration;

use orch_core::{Config, exit_code};
use orch_engine::{DemoProject, EngineOptions, ReplayAgent};

use crate::cli::DemoArgs;
use crate::cmd::dashboard;
use crate::cmd::progress::Renderer;
use crate::cmd::run::{drive, finish};
use crate::error::{CliError, CliResult};

pub fn run(args: &DemoArgs) -> CliResult {
    if args.parallel == 0 {
        return Err(CliError::new(
            exit_code::USAGE,
            "--parallel must be at least 1",
        ));
    }
    let mut temp = None;
    let root = match &args.dir {
        Some(dir) => dir.clone(),
        None => {
            let dir = tempfile::Builder::new()
                .prefix("orch-demo-")
                .tempdir()
                .map_err(|e| CliError::io("a temporary directory", e))?;
            let root = dir.path().join("textkit");
            temp = Some(dir);
            root
        }
    };
    let keep = args.keep || args.dir.is_some();
    let say = |text: String| {
        if !args.json {
            println!("{text}");
        }
    };
    let project = DemoProject::create(&root)?;
    say(format!(
        "orch demo: a sample Python library in {}",
        root.display()
    ));
    say(format!(
        "planned PRD.md offline: {} epics, {} tasks (strategy: {})",
        project.plan.epics.len(),
        project.plan.tasks.len(),
        project.strategy_reason
    ));
    for task in &project.plan.tasks {
        let deps: Vec<&str> = task.depends_on.iter().map(|d| d.as_str()).collect();
        say(format!(
            "  {:<14} {}{}",
            task.id.as_str(),
            crate::output::truncate(&task.title, 60),
            if deps.is_empty() {
                String::new()
            } else {
                format!("  (after {})", deps.join(", "))
            }
        ));
    }
    say(format!(
        "running with {} sessions at once; the replay agent applies prepared changes, the real quality gate checks them\n",
        args.parallel
    ));

    let mut config = Config::load(&root.join(".orch/orch.toml"))?;
    config.run.parallel = args.parallel;
    config.run.backend.clone_from(&args.backend);
    let renderer = Arc::new(Renderer::new());
    let mut options = EngineOptions::from_config(&root, config)?;
    let program = std::env::current_exe().map_err(|e| CliError::io("the orch executable", e))?;
    options.agent = Arc::new(ReplayAgent::new(program, &project.script));
    options.prd = orch_ai::Prd::parse(orch_engine::DEMO_PRD).ok();
    options.progress = Arc::clone(&renderer) as Arc<dyn orch_engine::Progress>;
    options.without_console_notifier()?;

    let dashboard = if args.dashboard {
        let (dashboard, line) = dashboard::beside_run(&root.join(".orch"), args.dashboard_port)?;
        say(format!("{line}\n"));
        Some(dashboard)
    } else {
        None
    };
    // The demo's "human": answers each question with its recommended option, the way
    // `orch msg answer` would from another terminal; with a dashboard it leaves you time to
    // answer from the page first.
    let patience = if args.dashboard {
        Duration::from_secs(30)
    } else {
        Duration::from_millis(400)
    };
    let store_path = root.join(".orch/state.db");
    let human = Arc::clone(&renderer);
    let report = drive(options, &renderer, move |runtime| {
        if let Some(dashboard) = dashboard {
            dashboard::spawn(runtime, dashboard);
        }
        runtime.spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(400)).await;
                let path = store_path.clone();
                let answered = tokio::task::spawn_blocking(move || {
                    orch_engine::answer_pending(&path, "answered by the orch demo", patience)
                })
                .await;
                if let Ok(Ok(answered)) = answered {
                    for (message, task, choice) in answered {
                        human.say(&format!(
                            "demo human: answered {message} for {task} with {choice} (as `orch msg answer {message} {}` would)",
                            choice.chars().next().unwrap_or('A')
                        ));
                    }
                }
            }
        });
    })?;
    if !args.json {
        println!();
    }
    let result = finish(&report, args.json);
    if !args.json {
        println!(
            "\nthe merged work is on main: git -C {} log --oneline --graph",
            root.display()
        );
        if keep {
            println!(
                "kept in {} (orch status, orch msg list --all, orch session logs work there)",
                root.display()
            );
        } else {
            println!("(the project was temporary; `orch demo --keep` keeps it)");
        }
    }
    if keep && let Some(dir) = temp {
        let _ = dir.keep();
    }
    result
}
