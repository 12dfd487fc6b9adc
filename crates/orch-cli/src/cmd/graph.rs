//! `orch graph`

use orch_core::{DepGraph, Plan};
use serde::Serialize;

use crate::cli::{GraphArgs, GraphFormat};
use crate::cmd::{load_plan, open_store};
use crate::error::CliResult;
use crate::output::{minutes, print_json};
use crate::repo::RepoPaths;

#[derive(Serialize)]
struct GraphView<'a> {
    waves: Vec<Vec<&'a str>>,
    edges: Vec<Edge<'a>>,
    /// Groups of tasks that share file scope (or declared a conflict): never two at once.
    conflicts: Vec<ConflictView<'a>>,
    critical_path: Vec<&'a str>,
    critical_path_minutes: u64,
}

#[derive(Serialize)]
struct ConflictView<'a> {
    scope: Option<String>,
    tasks: Vec<&'a str>,
}

#[derive(Serialize)]
struct Edge<'a> {
    from: &'a str,
    to: &'a str,
}

pub fn run(repo: &RepoPaths, args: &GraphArgs) -> CliResult {
    let store = open_store(repo)?;
    let (plan, graph) = load_plan(&store)?;
    let format = if args.json {
        GraphFormat::Json
    } else {
        args.format
    };
    let label = |i: usize| {
        let task = &plan.tasks[i];
        format!("{}: {} [{}]", task.id, task.title, task.status)
    };
    match format {
        GraphFormat::Text => print!("{}", render_text(&plan, &graph)),
        GraphFormat::Mermaid => print!("{}", graph.to_mermaid(label)),
        GraphFormat::Dot => print!("{}", graph.to_dot(label)),
        GraphFormat::Json => {
            let critical = graph.critical_path();
            let id = |i: usize| graph.id(i).as_str();
            let view = GraphView {
                waves: graph
                    .waves()
                    .into_iter()
                    .map(|w| w.into_iter().map(id).collect())
                    .collect(),
                edges: graph
                    .topological_order()
                    .iter()
                    .flat_map(|&i| graph.deps(i).iter().map(move |&d| (d, i)))
                    .map(|(d, i)| Edge {
                        from: id(d),
                        to: id(i),
                    })
                    .collect(),
                conflicts: graph
                    .conflict_groups()
                    .into_iter()
                    .map(|g| ConflictView {
                        scope: g.scope,
                        tasks: g.tasks.into_iter().map(id).collect(),
                    })
                    .collect(),
                critical_path: critical.tasks.iter().map(|t| t.as_str()).collect(),
                critical_path_minutes: critical.total_minutes,
            };
            print_json(&view)?;
        }
    }
    Ok(())
}

/// Waves, each task with what it needs, then the critical path and conflicts.
fn render_text(plan: &Plan, graph: &DepGraph) -> String {
    let mut out = String::new();
    let critical = graph.critical_path();
    let id_width = plan
        .tasks
        .iter()
        .map(|t| t.id.as_str().len())
        .max()
        .unwrap_or(0);
    for (w, wave) in graph.waves().iter().enumerate() {
        out.push_str(&format!("Wave {}\n", w + 1));
        for &i in wave {
            let task = &plan.tasks[i];
            let on_path = if critical.tasks.contains(&task.id) {
                "*"
            } else {
                " "
            };
            out.push_str(&format!(
                "  {on_path} {:<id_width$}  {:<9}  {}",
                task.id.as_str(),
                task.status.as_str(),
                task.title
            ));
            if !graph.deps(i).is_empty() {
                let deps: Vec<&str> = graph
                    .deps(i)
                    .iter()
                    .map(|&d| graph.id(d).as_str())
                    .collect();
                out.push_str(&format!("  ← {}", deps.join(", ")));
            }
            out.push('\n');
        }
    }
    let path: Vec<&str> = critical.tasks.iter().map(|t| t.as_str()).collect();
    out.push_str(&format!(
        "\nCritical path (*), {}: {}\n",
        minutes(critical.total_minutes),
        path.join(" → ")
    ));
    let groups = graph.conflict_groups();
    if !groups.is_empty() {
        out.push_str("Never at the same time:\n");
        for g in groups {
            let ids: Vec<&str> = g.tasks.iter().map(|&i| graph.id(i).as_str()).collect();
            let why = g
                .scope
                .map_or("declared".to_owned(), |s| format!("share {s}"));
            out.push_str(&format!("  {} ({why})\n", ids.join(" ⟷ ")));
        }
    }
    out
}
