//! Plans a PRD with orch-ai alone (offline, no model) and prints the waves: which tasks
//! can run together, and why each one waits for another.
//!
//! `cargo run -p orch-examples --bin plan-prd -- path/to/PRD.md` (without an argument it
//! plans a small built-in PRD).

use orch_ai::{Prd, Strategy, plan_heuristic};

const SAMPLE: &str = "# Bookshop

## Catalogue
- Book schema with title, author and price, with migrations
- REST API to list and search books, using the book schema
- Book list page calling the REST API

## Orders
- Order schema referencing books
- Checkout API that creates an order from a cart
- Integration tests for checkout
";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let text = match std::env::args().nth(1) {
        Some(path) => std::fs::read_to_string(path)?,
        None => SAMPLE.to_owned(),
    };
    let prd = Prd::parse(&text)?;
    let outcome = plan_heuristic(&prd, Strategy::Auto);
    let graph = outcome.plan.validate()?;
    println!(
        "{}: {} epics, {} tasks, strategy {}",
        outcome.plan.name,
        outcome.plan.epics.len(),
        outcome.plan.tasks.len(),
        outcome.strategy.as_str()
    );
    for wave in 1..=graph.wave_count() {
        println!("\nwave {wave}");
        for (i, task) in outcome.plan.tasks.iter().enumerate() {
            if graph.wave(i) == wave {
                println!("  {}  {}", task.id, task.title);
                for edge in outcome.edges.iter().filter(|e| e.task == task.id) {
                    println!("      after {}: {}", edge.depends_on, edge.reason);
                }
            }
        }
    }
    let path = graph.critical_path();
    let critical: Vec<&str> = path.tasks.iter().map(|t| t.as_str()).collect();
    println!("\ncritical path: {}", critical.join(" → "));
    Ok(())
}
