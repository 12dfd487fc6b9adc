//! A small Rust crate: clean it passes; each planted defect is caught by its dimension.

use orch_core::QualityConfig;
use orch_quality::{Dimension, GateOptions};

use crate::support::{Project, caught_by, summary};

const LIB: &str = "//! Arithmetic.\n\n/// Adds two numbers.\npub fn add(a: i32, b: i32) -> i32 {\n    a + b\n}\n\n#[cfg(test)]\nmod tests {\n    #[test]\n    fn adds() {\n        assert_eq!(super::add(2, 3), 5);\n    }\n}\n";

fn clean() -> Project {
    Project::new(&[
        (
            "Cargo.toml",
            "[package]\nname = \"calc\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n",
        ),
        (".gitignore", "/target\n"),
        ("README.md", "# calc\n"),
        ("src/lib.rs", LIB),
        (
            "tests/api.rs",
            "#[test]\nfn add_from_outside() {\n    assert_eq!(calc::add(1, 1), 2);\n}\n",
        ),
    ])
}

#[test]
fn clean_crate_passes() {
    let p = clean();
    let r = p.check();
    assert!(r.passed, "{}", summary(&r));
    assert_eq!(r.toolchains, ["rust"]);
    let tests = r.dimension(Dimension::Tests).unwrap();
    assert_eq!(
        (tests.metrics["passed"], tests.metrics["failed"]),
        (2.0, 0.0),
        "unit + integration"
    );
    assert_eq!(
        r.dimension(Dimension::Integration).unwrap().status.word(),
        "passed",
        "tests/*.rs run as integration"
    );
    assert!(r.dimension(Dimension::Syntax).unwrap().commands[0].starts_with("cargo check"));
}

#[test]
fn each_planted_defect_is_caught_by_its_dimension() {
    // Syntax.
    let p = clean();
    p.write("src/lib.rs", &LIB.replace("a + b\n}", "a + b\n"));
    let r = p.gate(
        QualityConfig::default(),
        GateOptions {
            only: vec![Dimension::Syntax, Dimension::Types],
            ..Default::default()
        },
    );
    caught_by(&r, Dimension::Syntax, "unclosed delimiter");
    assert!(
        r.dimension(Dimension::Types).unwrap().findings[0]
            .message
            .contains("does not parse")
    );

    // Types.
    p.write("src/lib.rs", &LIB.replace("    a + b\n", "    \"a\"\n"));
    let r = p.gate(
        QualityConfig::default(),
        GateOptions {
            only: vec![Dimension::Syntax, Dimension::Types],
            ..Default::default()
        },
    );
    caught_by(&r, Dimension::Types, "E0308");
    assert_eq!(
        r.dimension(Dimension::Syntax).unwrap().status.word(),
        "passed",
        "{}",
        summary(&r)
    );

    // Lint (clippy).
    p.write(
        "src/lib.rs",
        &LIB.replace("    a + b\n", "    let sum = a + b;\n    return sum;\n"),
    );
    let r = p.gate(
        QualityConfig::default(),
        GateOptions {
            only: vec![Dimension::Lint],
            ..Default::default()
        },
    );
    caught_by(&r, Dimension::Lint, "clippy::needless_return");

    // A failing test.
    p.write("src/lib.rs", &LIB.replace("add(2, 3), 5", "add(2, 3), 6"));
    let r = p.gate(
        QualityConfig::default(),
        GateOptions {
            only: vec![Dimension::Tests],
            ..Default::default()
        },
    );
    caught_by(&r, Dimension::Tests, "tests::adds");

    // Undocumented public items.
    p.write(
        "src/lib.rs",
        &format!("{LIB}\npub fn sub(a: i32, b: i32) -> i32 {{ a - b }}\npub struct Calc;\n"),
    );
    let r = p.gate(
        QualityConfig::default(),
        GateOptions {
            only: vec![Dimension::Documentation],
            ..Default::default()
        },
    );
    caught_by(&r, Dimension::Documentation, "`sub` has no documentation");

    // A private key in the tree.
    p.write("src/lib.rs", LIB);
    let pem = [
        "-----BEGIN RSA ",
        "PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----\n",
    ]
    .concat();
    p.write("deploy/key.pem", &pem);
    let r = p.gate(
        QualityConfig::default(),
        GateOptions {
            only: vec![Dimension::Security],
            ..Default::default()
        },
    );
    caught_by(&r, Dimension::Security, "private key");
}
