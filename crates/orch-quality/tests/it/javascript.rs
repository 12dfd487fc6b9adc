//! JavaScript and Go: the parts that run with node alone, and the skipped paths where a tool
//! (eslint, tsc, go) is absent.

use orch_quality::{CheckStatus, Dimension, on_path};

use crate::support::{Project, caught_by, summary};

fn clean() -> Project {
    Project::new(&[
        (
            "package.json",
            "{\"name\":\"calc\",\"version\":\"1.0.0\",\"scripts\":{\"test\":\"node --test\"}}\n",
        ),
        ("README.md", "# calc\n"),
        (
            "src/add.js",
            "/** Adds two numbers. */\nexport function add(a, b) {\n  return a + b;\n}\n",
        ),
        (
            "test/add.test.mjs",
            "import test from 'node:test';\nimport assert from 'node:assert';\nimport { add } from '../src/add.js';\ntest('adds', () => assert.strictEqual(add(2, 3), 5));\n",
        ),
    ])
}

#[test]
fn node_checks_syntax_runs_tests_and_reads_jsdoc() {
    if !on_path("node") {
        eprintln!("notice: skipping: node is not installed");
        return;
    }
    let p = clean();
    p.write(
        "package.json",
        "{\"name\":\"calc\",\"type\":\"module\",\"scripts\":{\"test\":\"node --test\"}}\n",
    );
    let r = p.check();
    assert!(r.passed, "{}", summary(&r));
    assert_eq!(
        r.dimension(Dimension::Tests).unwrap().metrics["passed"],
        1.0
    );

    p.write(
        "src/add.js",
        "/** Adds two numbers. */\nexport function add(a, b) {\n  return a + ;\n}\n",
    );
    caught_by(&p.check(), Dimension::Syntax, "SyntaxError");

    p.write("src/add.js", "/** Adds two numbers. */\nexport function add(a, b) {\n  return a - b;\n}\nexport const sub = (a, b) => a - b;\n");
    let r = p.check();
    caught_by(&r, Dimension::Tests, "adds");
    caught_by(&r, Dimension::Documentation, "`sub` has no documentation");
}

#[test]
fn absent_tools_are_skipped_with_their_reason() {
    let p = clean();
    p.write(
        "src/typed.ts",
        "/** Typed. */\nexport const n: number = 1;\n",
    );
    let r = p.check();
    let lint = r.dimension(Dimension::Lint).unwrap();
    if !on_path("eslint") {
        match &lint.status {
            CheckStatus::Skipped { reason } => {
                assert!(reason.contains("eslint is not installed"), "{reason}")
            }
            other => panic!("lint must be skipped without eslint: {other:?}"),
        }
        assert!(
            !r.breakdown.contains_key(&Dimension::Lint),
            "a skipped dimension has no score"
        );
        assert!(r.skipped.contains_key(&Dimension::Lint));
    }
    if !on_path("tsc") {
        let types = r.dimension(Dimension::Types).unwrap();
        assert!(
            matches!(&types.status, CheckStatus::Skipped { reason } if reason.contains("tsc is not installed")),
            "{:?}",
            types.status
        );
    }
    let security = r.dimension(Dimension::Security).unwrap();
    assert_eq!(
        security.status.word(),
        "passed",
        "the secrets scan always runs"
    );
    assert!(
        security
            .findings
            .iter()
            .any(|f| f.message.contains("npm audit needs the package registry"))
    );
}

#[test]
fn go_without_go_is_skipped_never_scored() {
    let p = Project::new(&[
        ("go.mod", "module example.com/calc\n\ngo 1.22\n"),
        ("README.md", "# calc\n"),
        (
            "calc.go",
            "package calc\n\n// Add adds.\nfunc Add(a, b int) int { return a + b }\n",
        ),
        (
            "calc_test.go",
            "package calc\n\nimport \"testing\"\n\nfunc TestAdd(t *testing.T) {\n\tif Add(1, 2) != 3 {\n\t\tt.Fatal(\"bad\")\n\t}\n}\n",
        ),
    ]);
    let r = p.check();
    assert_eq!(r.toolchains, ["go"]);
    if on_path("go") {
        assert_eq!(
            r.dimension(Dimension::Tests).unwrap().status.word(),
            "passed",
            "{}",
            summary(&r)
        );
        return;
    }
    for d in [
        Dimension::Syntax,
        Dimension::Types,
        Dimension::Lint,
        Dimension::Tests,
    ] {
        let status = &r.dimension(&d).unwrap().status;
        assert!(
            matches!(status, CheckStatus::Skipped { reason } if reason.contains("Go is not installed")),
            "{d}: {status:?}"
        );
    }
    // What needs no tool still ran: documentation and the secrets scan.
    assert_eq!(
        r.dimension(Dimension::Documentation).unwrap().status.word(),
        "passed"
    );
    // But with no test run, nothing says the code works: unverified, not passed, and the
    // report says what to install.
    assert!(!r.passed, "{}", summary(&r));
    assert_eq!(r.status, orch_quality::Grade::Unverified);
    assert!(
        r.gate_failures.iter().any(|f| f.starts_with("unverified")),
        "{:?}",
        r.gate_failures
    );
    assert!(
        r.missing_tools.iter().any(|m| m.tools == ["go"]),
        "{:?}",
        r.missing_tools
    );
}
