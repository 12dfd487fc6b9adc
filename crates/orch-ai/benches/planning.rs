//! Offline planning of a 2,000-line PRD (target: under 200 ms), in two shapes: a typical
//! PRD and the worst case where every line is a requirement; and of a 2 MB PRD (about 20,000
//! requirements; target: under 10 s and under 500 MB), with the peak memory of the process.
//!
//! `cargo bench -p orch-ai --bench planning`

use std::time::{Duration, Instant};

use orch_ai::{Prd, Strategy, plan_heuristic};

const AREAS: &[&str] = &[
    "billing",
    "search",
    "catalogue",
    "inventory",
    "shipping",
    "accounts",
    "reviews",
    "reports",
    "notifications",
    "payments",
    "pricing",
    "support",
    "onboarding",
    "analytics",
    "exports",
    "imports",
    "tenants",
    "audit",
    "sessions",
    "uploads",
];
const KINDS: &[&str] = &[
    "Schema for {a} records with migrations and an index on the owner.",
    "REST API: `GET /{a}`, `POST /{a}` and `DELETE /{a}/{id}` with validation.",
    "Page listing {a} with filters, sorting and inline errors; needs `GET /{a}`.",
    "Background job that recomputes {a} totals every hour; depends on the {a} schema.",
    "Unit tests for {a} validation and totals (coverage at least 80%).",
    "Rate limiting on {a} writes: 10 per user per minute.",
    "Audit log of every {a} change, stored for 90 days.",
    "Documentation of the {a} API in the developer guide.",
];

/// Worst case: every line is a requirement, 18 to a section, the same eight kinds over and
/// over, so hundreds of tasks share a file scope (`migrations/**`, `src/api/mod*`).
fn every_line_a_requirement(lines: usize) -> String {
    let mut out =
        String::from("# PRD: Large product\n\n## Goals\n- Every area works end to end.\n\n");
    let mut n = 4;
    let mut section = 0;
    while n < lines {
        let area = format!("{}{}", AREAS[section % AREAS.len()], section / AREAS.len());
        out.push_str(&format!("## {} area\n", area));
        n += 1;
        for (i, kind) in KINDS.iter().cycle().take(18).enumerate() {
            out.push_str(&format!("- {} (item {i})\n", kind.replace("{a}", &area)));
            n += 1;
        }
        out.push('\n');
        n += 1;
        section += 1;
    }
    out
}

/// The shape of a real PRD: each product area has an introduction, a requirements list
/// whose items carry nested acceptance details, and closing notes in prose.
fn typical(lines: usize) -> String {
    let mut out = String::from(
        "# PRD: Large product\n\nA platform for small shops.\n\n## Goals\n- Every area works end to end.\n- Pages load in under a second.\n\n## Non-goals\n- Native mobile apps.\n\n",
    );
    let mut section = 0;
    while out.lines().count() < lines {
        let area = format!("{}{}", AREAS[section % AREAS.len()], section / AREAS.len());
        out.push_str(&format!(
            "## {area}\n\nShop owners manage {area} from the dashboard. Today this is done in\n\
             spreadsheets, which loses data and cannot be audited. This area replaces them\n\
             with a workflow that keeps history and enforces permissions.\n\n### Requirements\n"
        ));
        for kind in KINDS.iter().skip(section % 3).take(6) {
            out.push_str(&format!("- {}\n", kind.replace("{a}", &area)));
            out.push_str(&format!("  - Errors are shown next to the field that caused them.\n  - Works for shops with 10,000 {area} entries.\n"));
        }
        out.push_str(&format!(
            "\n### Notes\nThe {area} owners review the design before work starts. Open questions\n\
             are tracked in the shared document.\n\n"
        ));
        section += 1;
    }
    out
}

fn measure(name: &str, text: &str) {
    let lines = text.lines().count();
    let mut times: Vec<Duration> = Vec::new();
    let (mut tasks, mut edges, mut conflicts) = (0, 0, 0);
    for _ in 0..7 {
        let started = Instant::now();
        let prd = Prd::parse(text).expect("generated PRD parses");
        let outcome = plan_heuristic(&prd, Strategy::Auto);
        outcome.plan.validate().expect("valid plan");
        times.push(started.elapsed());
        tasks = outcome.plan.tasks.len();
        edges = outcome.edges.len();
        conflicts = outcome.conflicts.len();
    }
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "{name}: {lines}-line PRD, {tasks} tasks, {edges} dependencies, {conflicts} file-scope conflicts: \
         median {:.1} ms, best {:.1} ms, worst {:.1} ms",
        ms(times[times.len() / 2]),
        ms(times[0]),
        ms(times[times.len() - 1])
    );
}

/// Peak resident memory of this process so far, from `/proc/self/status` (Linux).
fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// One 2 MB PRD, planned once (it is measured first, so the peak memory is its own).
fn two_megabytes() {
    let mut text = every_line_a_requirement(10);
    let mut lines = 10;
    while text.len() < 2_000_000 {
        lines += 2_000;
        text = every_line_a_requirement(lines);
    }
    let started = Instant::now();
    let prd = Prd::parse(&text).expect("generated PRD parses");
    let outcome = plan_heuristic(&prd, Strategy::Auto);
    outcome.plan.validate().expect("valid plan");
    let elapsed = started.elapsed();
    let json = serde_json::to_vec(&outcome).expect("serializable");
    println!(
        "2 MB PRD: {:.2} MB, {} tasks, {} dependencies, {} conflict groups, JSON {:.1} MB: \
         {:.2} s, peak memory {} (targets: 10 s, 500 MB)",
        text.len() as f64 / 1e6,
        outcome.plan.tasks.len(),
        outcome.edges.len(),
        outcome.conflicts.len(),
        json.len() as f64 / 1e6,
        elapsed.as_secs_f64(),
        peak_rss_mb().map_or("unknown".to_owned(), |mb| format!("{mb:.0} MB")),
    );
}

fn main() {
    two_megabytes();
    println!("offline planning, parse + plan + validate (target: under 200 ms for 2,000 lines)");
    measure("typical", &typical(2_000));
    measure("every line a requirement", &every_line_a_requirement(2_000));
}
