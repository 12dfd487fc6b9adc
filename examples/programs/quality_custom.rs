//! orch-quality alone: the quality gate on a directory, with a check of your own as a
//! ninth, weighted dimension (here: every source file must carry a licence header).
//!
//! `cargo run -p orch-examples --bin quality-custom -- path/to/project` (without an
//! argument it checks a small Python project it writes).

use orch_quality::{CommandCheck, Dimension, Gate, GateOptions, QualityConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let scratch = tempfile::tempdir()?;
    let project = match std::env::args().nth(1) {
        Some(path) => std::path::PathBuf::from(path),
        None => {
            let dir = scratch.path();
            std::fs::write(
                dir.join("calc.py"),
                "# SPDX-License-Identifier: MIT\n\"\"\"Sums.\"\"\"\n\n\ndef add(a: int, b: int) -> int:\n    \"\"\"Add two numbers.\"\"\"\n    return a + b\n",
            )?;
            std::fs::create_dir_all(dir.join("tests"))?;
            std::fs::write(
                dir.join("tests/test_calc.py"),
                "# SPDX-License-Identifier: MIT\nfrom calc import add\n\n\ndef test_add() -> None:\n    assert add(2, 3) == 5\n",
            )?;
            dir.to_owned()
        }
    };
    // Fails when a .py or .rs file lacks an SPDX line; counts twice as much as lint.
    let licences = CommandCheck::new(
        Dimension::custom("licenses")?,
        "! grep -rL --include='*.py' --include='*.rs' 'SPDX-License-Identifier' . | grep -q .",
    )
    .with_weight(2.0);
    let gate = Gate::new(QualityConfig::default()).with_check(Box::new(licences));
    let report = tokio::runtime::Runtime::new()?
        .block_on(gate.evaluate(&project, &GateOptions::default()))?;
    println!(
        "{}: score {:.2} (threshold {:.2}) passed = {}",
        project.display(),
        report.quality_score,
        report.threshold,
        report.passed
    );
    for (dimension, score) in &report.breakdown {
        let weight = report.weights.get(dimension).copied().unwrap_or(1.0);
        println!("  {:<14} {score:.2}  weight {weight}", dimension.name());
    }
    for (dimension, why) in &report.skipped {
        println!("  {:<14} skipped: {why}", dimension.name());
    }
    Ok(())
}
