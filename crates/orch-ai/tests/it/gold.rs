//! The planner against tech leads' dependency lists: the shared gold set
//! (`../shared/fixtures/prd-gold/`) and this repository's own (`tests/gold/`), scored with
//! the rules of `plan-score`. Run with `--nocapture` to see the table:
//!
//! ```text
//! cargo test -p orch-ai --test it gold -- --nocapture
//! ```

use std::path::{Path, PathBuf};

use orch_ai::{Prd, Strategy, plan_heuristic};
use orch_testutils::shared_fixtures_or_skip;

use crate::scorer::{Gold, Score};

/// What "a plan a tech lead would sign" means here, per PRD.
const MIN_RECALL_TRANSITIVE: f64 = 0.80;
const MIN_PRECISION: f64 = 0.85;

fn gold_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{dir:?}: {e}"))
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".gold.toml"))
        .collect();
    files.sort();
    files
}

fn score(path: &Path) -> (Gold, Score, String) {
    let gold = Gold::load(path);
    let bytes = std::fs::read(&gold.prd).unwrap_or_else(|e| panic!("{:?}: {e}", gold.prd));
    let prd = Prd::from_bytes(&bytes).unwrap_or_else(|e| panic!("{:?}: {e}", gold.prd));
    let outcome = plan_heuristic(&prd, Strategy::Auto);
    let strategy = outcome.strategy.to_string();
    let score = gold.score(&outcome);
    (gold, score, strategy)
}

/// Prints the table and returns the PRDs that miss the bar, with why.
fn run(files: &[PathBuf]) -> Vec<String> {
    println!(
        "{:<34} {:<9} {:>7} {:>5} {:>4} {:>4} {:>9} {:>9} {:>9} {:>7}",
        "gold", "strategy", "cov", "spur", "unm", "amb", "recall d", "recall t", "prec", "phase"
    );
    let mut failures = Vec::new();
    for path in files {
        let (gold, s, strategy) = score(path);
        let phase = s
            .phase_kept
            .map_or("-".to_owned(), |(k, t)| format!("{k}/{t}"));
        println!(
            "{:<34} {:<9} {:>7} {:>5} {:>4} {:>4} {:>9} {:>9} {:>9} {:>7}",
            gold.name,
            strategy,
            format!("{}/{}", s.covered, s.requirements),
            s.spurious,
            s.unmapped,
            s.ambiguous,
            format!("{}/{}", s.direct, s.required),
            format!("{}/{}", s.transitive, s.required),
            format!("{}/{}", s.good_edges, s.good_edges + s.wrong_edges),
            phase,
        );
        let ok = s.covered == s.requirements
            && s.spurious == 0
            && s.recall_transitive() >= MIN_RECALL_TRANSITIVE
            && s.precision() >= MIN_PRECISION
            && s.phase_kept.is_none_or(|(k, t)| k == t);
        if !ok {
            failures.push(format!(
                "{}: recall {:.2} (direct {:.2}), precision {:.2}\n  {}",
                gold.name,
                s.recall_transitive(),
                s.recall_direct(),
                s.precision(),
                s.details.join("\n  ")
            ));
        }
    }
    failures
}

#[test]
fn shared_gold_set_meets_the_bar() {
    let Some(dir) = shared_fixtures_or_skip("prd-gold") else {
        return;
    };
    let failures = run(&gold_files(&dir));
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn own_gold_set_meets_the_bar() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/gold");
    let failures = run(&gold_files(&dir));
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
