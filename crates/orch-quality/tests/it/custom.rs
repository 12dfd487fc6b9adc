//! Custom dimensions beyond the eight: from `[quality.custom.<name>]` or from code, weighted,
//! required or not, in every report.

use orch_core::{CustomCheckConfig, QualityConfig};
use orch_quality::{
    CheckStatus, CommandCheck, Dimension, Gate, GateOptions, QualityReport, custom_checks,
};

use crate::support::Project;

fn licenses() -> Dimension {
    Dimension::custom("licenses").unwrap()
}

fn evaluate(gate: &Gate, project: &Project, options: &GateOptions) -> QualityReport {
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(gate.evaluate(project.path(), options))
        .unwrap()
}

/// No toolchain: of the eight, only the security scan runs (score 1.0, weight 1.0).
fn project() -> Project {
    Project::new(&[("README.md", "# x\n")])
}

fn config(required: &[&str]) -> QualityConfig {
    let mut config = QualityConfig {
        threshold: 0.0,
        required: required.iter().map(|s| (*s).to_owned()).collect(),
        ..QualityConfig::default()
    };
    config.custom.insert(
        "licenses".into(),
        CustomCheckConfig {
            command: "test -f LICENSE || { echo 'no LICENSE file'; exit 1; }".into(),
            weight: 2.0,
        },
    );
    config
}

#[test]
fn a_configured_licenses_check_is_a_weighted_ninth_dimension() {
    let p = project();
    let gate = Gate::new(config(&[]));
    assert_eq!(gate.dimensions().len(), 9);
    assert_eq!(gate.dimensions()[8], licenses());
    assert_eq!(gate.weight(&licenses()), 2.0);

    // Failing: in the report, weighted, and (every dimension that ran being required by
    // default) failing the gate.
    let r = evaluate(&gate, &p, &GateOptions::default());
    assert_eq!(r.dimensions.len(), 9);
    let d = r.dimension(licenses()).unwrap();
    assert_eq!(d.status, CheckStatus::Failed);
    assert!(
        d.findings[0].message.contains("no LICENSE file"),
        "{:?}",
        d.findings
    );
    assert_eq!(
        d.commands[0],
        "test -f LICENSE || { echo 'no LICENSE file'; exit 1; }"
    );
    assert_eq!(r.breakdown[&licenses()], 0.0);
    assert_eq!(r.weights[&licenses()], 2.0);
    assert_eq!(r.weights[&Dimension::Security], 1.0);
    // (1.0 * 1.0 + 0.0 * 2.0) / 3.0
    assert!(
        (r.quality_score - 0.3333).abs() < 1e-4,
        "{}",
        r.quality_score
    );
    assert!(!r.passed);
    assert!(
        r.gate_failures.iter().any(|f| f == "licenses failed"),
        "{:?}",
        r.gate_failures
    );

    // In the JSON as any other dimension, and read back as the same custom dimension.
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["breakdown"]["licenses"], 0.0);
    assert_eq!(json["weights"]["licenses"], 2.0);
    assert_eq!(json["dimensions"][8]["dimension"], "licenses");
    let back: QualityReport = serde_json::from_value(json).unwrap();
    assert_eq!(back.dimensions[8].dimension, licenses());
    assert_eq!(
        (&back.breakdown, &back.weights, &back.skipped),
        (&r.breakdown, &r.weights, &r.skipped)
    );

    // Passing: it counts with its weight.
    p.write("LICENSE", "MIT\n");
    let r = evaluate(&gate, &p, &GateOptions::default());
    assert_eq!(r.dimension(licenses()).unwrap().status, CheckStatus::Passed);
    assert_eq!(r.quality_score, 1.0);
    assert!(r.passed, "{:?}", r.gate_failures);
}

#[test]
fn a_custom_dimension_fails_the_gate_only_when_required() {
    let p = project();
    let required = evaluate(
        &Gate::new(config(&["licenses"])),
        &p,
        &GateOptions::default(),
    );
    assert!(!required.passed);
    assert_eq!(required.gate_failures, ["licenses failed"]);

    let optional = evaluate(
        &Gate::new(config(&["security"])),
        &p,
        &GateOptions::default(),
    );
    assert!(optional.passed, "{:?}", optional.gate_failures);
    assert_eq!(
        optional.dimension(licenses()).unwrap().status,
        CheckStatus::Failed
    );
    assert!((optional.quality_score - 0.3333).abs() < 1e-4);

    // `only` selects custom dimensions like built-in ones.
    let only = evaluate(
        &Gate::new(config(&[])),
        &p,
        &GateOptions {
            only: vec![licenses()],
            ..GateOptions::default()
        },
    );
    assert_eq!(only.dimensions.len(), 1);
    assert_eq!(only.dimensions[0].dimension, licenses());
}

#[test]
fn a_check_added_in_code_brings_its_own_weight() {
    let p = project();
    let spelling = Dimension::custom("spelling").unwrap();
    let gate = Gate::new(QualityConfig {
        threshold: 0.0,
        ..QualityConfig::default()
    })
    .with_check(Box::new(
        CommandCheck::new(spelling.clone(), "true").with_weight(3.0),
    ));
    assert_eq!(gate.weight(&spelling), 3.0);
    let r = evaluate(&gate, &p, &GateOptions::default());
    assert_eq!(r.dimensions.len(), 9);
    assert_eq!(r.weights[&spelling], 3.0);
    assert_eq!(r.dimension(&spelling).unwrap().status, CheckStatus::Passed);

    // The configuration's weight wins over the check's.
    let mut config = QualityConfig::default();
    config.custom.insert(
        "spelling".into(),
        CustomCheckConfig {
            command: "true".into(),
            weight: 0.25,
        },
    );
    let gate = Gate::with_checks(config.clone(), custom_checks(&config)).with_check(Box::new(
        CommandCheck::new(spelling.clone(), "true").with_weight(3.0),
    ));
    assert_eq!(gate.dimensions(), std::slice::from_ref(&spelling));
    assert_eq!(gate.weight(&spelling), 0.25);

    // A check for a built-in dimension replaces it rather than adding one.
    let gate = Gate::new(QualityConfig::default())
        .with_check(Box::new(CommandCheck::new(Dimension::Lint, "true")));
    assert_eq!(gate.dimensions().len(), 8);
}

#[test]
fn custom_dimension_names() {
    assert_eq!(Dimension::from_name("licenses").unwrap(), licenses());
    assert_eq!(
        Dimension::from_name("docs").unwrap(),
        Dimension::Documentation
    );
    assert_eq!(Dimension::parse("licenses"), None);
    assert!(Dimension::custom("docs").is_err());
    assert!(Dimension::custom("syntax").is_err());
    assert!(Dimension::custom("Licenses").is_err());
    assert!(Dimension::custom("a b").is_err());
    assert!(Dimension::custom("").is_err());
    assert!(licenses().is_custom());
    assert_eq!(licenses().to_string(), "licenses");
    // Built-in dimensions sort first, in gate order; custom ones by name.
    let mut all = [
        Dimension::custom("zz").unwrap(),
        licenses(),
        Dimension::Integration,
        Dimension::Syntax,
    ];
    all.sort();
    assert_eq!(
        all.iter().map(Dimension::name).collect::<Vec<_>>(),
        ["syntax", "integration", "licenses", "zz"]
    );
    assert_eq!(
        serde_json::from_str::<Dimension>("\"tests\"").unwrap(),
        Dimension::Tests
    );
    assert!(serde_json::from_str::<Dimension>("\"Not Valid\"").is_err());
}
