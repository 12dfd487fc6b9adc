//! Parsers for what the tools print. Each is pure, so each is unit-tested on real output.

use std::collections::BTreeMap;

use regex::Regex;
use serde_json::Value;

use crate::report::{Finding, Severity};

/// A compiler diagnostic from `cargo --message-format=json`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CargoDiagnostic {
    pub level: String,
    pub code: Option<String>,
    pub message: String,
    pub file: Option<String>,
    pub line: Option<u32>,
}

/// Compiler messages from cargo's JSON lines, without the "aborting due to…" summaries,
/// de-duplicated (a lib and its test target report the same warning twice).
pub(crate) fn cargo_diagnostics(stdout: &str) -> Vec<CargoDiagnostic> {
    let mut out: Vec<CargoDiagnostic> = Vec::new();
    for line in stdout.lines().filter(|l| l.starts_with('{')) {
        let Ok(v) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        if v["reason"] != "compiler-message" {
            continue;
        }
        let m = &v["message"];
        let message = m["message"].as_str().unwrap_or_default().to_owned();
        if message.starts_with("aborting due to")
            || message.starts_with("could not compile")
            || message.ends_with("warnings emitted")
            || message.ends_with("warning emitted")
        {
            continue;
        }
        let primary = m["spans"]
            .as_array()
            .and_then(|spans| spans.iter().find(|s| s["is_primary"] == true));
        let d = CargoDiagnostic {
            level: m["level"].as_str().unwrap_or_default().to_owned(),
            code: m["code"]["code"].as_str().map(str::to_owned),
            message,
            file: primary
                .and_then(|s| s["file_name"].as_str())
                .map(str::to_owned),
            line: primary
                .and_then(|s| s["line_start"].as_u64())
                .map(|l| l as u32),
        };
        if !out.contains(&d) {
            out.push(d);
        }
    }
    out
}

/// Pass and fail counts of a test run, and the failing tests.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct TestCounts {
    pub passed: u64,
    pub failed: u64,
    /// Whether any summary line was found at all.
    pub found: bool,
    pub failures: Vec<Finding>,
}

/// `test result: ok. 3 passed; 1 failed; …` lines of `cargo test`, summed over targets.
pub(crate) fn cargo_test_counts(stdout: &str) -> TestCounts {
    let summary = Regex::new(r"test result: \w+\. (\d+) passed; (\d+) failed").expect("regex");
    let failing = Regex::new(r"^test (\S+) \.\.\. FAILED").expect("regex");
    let mut c = TestCounts::default();
    for line in stdout.lines() {
        if let Some(m) = summary.captures(line) {
            c.found = true;
            c.passed += m[1].parse::<u64>().unwrap_or(0);
            c.failed += m[2].parse::<u64>().unwrap_or(0);
        } else if let Some(m) = failing.captures(line) {
            c.failures.push(Finding::general(
                Severity::Error,
                format!("test {} failed", &m[1]),
            ));
        }
    }
    c
}

/// pytest's summary (`1 failed, 2 passed in 0.1s`) and `FAILED path::test - reason` lines.
pub(crate) fn pytest_counts(output: &str) -> TestCounts {
    let count = Regex::new(r"(\d+) (passed|failed|errors?)\b").expect("regex");
    let failed_line = Regex::new(r"^(?:FAILED|ERROR) ([^:\s]+)::(\S+)(?: - (.*))?").expect("regex");
    let mut c = TestCounts::default();
    // The summary is the last line that has counts and a duration.
    if let Some(summary) = output
        .lines()
        .rev()
        .find(|l| count.is_match(l) && (l.contains(" in ") || l.contains("==")))
    {
        c.found = true;
        for m in count.captures_iter(summary) {
            let n: u64 = m[1].parse().unwrap_or(0);
            match &m[2] {
                "passed" => c.passed += n,
                _ => c.failed += n,
            }
        }
    }
    for line in output.lines() {
        if let Some(m) = failed_line.captures(line) {
            let reason = m.get(3).map_or("", |r| r.as_str());
            c.failures.push(Finding::at(
                &m[1],
                None,
                Severity::Error,
                format!(
                    "test {} failed{}{reason}",
                    &m[2],
                    if reason.is_empty() { "" } else { ": " }
                ),
            ));
        }
    }
    c
}

/// `python -m unittest` output: `Ran 3 tests`, then `OK` or `FAILED (failures=1, errors=1)`.
pub(crate) fn unittest_counts(output: &str) -> TestCounts {
    let ran = Regex::new(r"Ran (\d+) tests?").expect("regex");
    let bad = Regex::new(r"(failures|errors)=(\d+)").expect("regex");
    let mut c = TestCounts::default();
    if let Some(m) = ran.captures(output) {
        c.found = true;
        let total: u64 = m[1].parse().unwrap_or(0);
        if let Some(line) = output.lines().find(|l| l.starts_with("FAILED (")) {
            c.failed = bad
                .captures_iter(line)
                .map(|m| m[2].parse::<u64>().unwrap_or(0))
                .sum();
        }
        c.passed = total.saturating_sub(c.failed);
    }
    c
}

/// Node's test runner (`# pass 3`, `# fail 1`), jest (`Tests: 1 failed, 3 passed`), vitest
/// (`Tests  1 failed | 3 passed`) and mocha (`3 passing`, `1 failing`).
pub(crate) fn js_test_counts(output: &str) -> TestCounts {
    let mut c = TestCounts::default();
    let num = |re: &str| -> Option<u64> {
        Regex::new(re)
            .expect("regex")
            .captures_iter(output)
            .last()
            .and_then(|m| m[1].parse().ok())
    };
    if let (Some(p), Some(f)) = (num(r"(?m)^# pass (\d+)"), num(r"(?m)^# fail (\d+)")) {
        (c.passed, c.failed, c.found) = (p, f, true);
    } else if let Some(line) = output
        .lines()
        .find(|l| l.trim_start().starts_with("Tests:") || l.trim_start().starts_with("Tests "))
    {
        let count = Regex::new(r"(\d+) (passed|failed)").expect("regex");
        for m in count.captures_iter(line) {
            c.found = true;
            let n: u64 = m[1].parse().unwrap_or(0);
            if &m[2] == "passed" {
                c.passed += n;
            } else {
                c.failed += n;
            }
        }
    } else if let Some(p) = num(r"(\d+) passing") {
        c.found = true;
        c.passed = p;
        c.failed = num(r"(\d+) failing").unwrap_or(0);
    }
    let failing = Regex::new(r"(?m)^not ok \d+ - (.+)$").expect("regex");
    for m in failing.captures_iter(output) {
        c.failures.push(Finding::general(
            Severity::Error,
            format!("test {} failed", m[1].trim()),
        ));
    }
    c
}

/// Line coverage from an istanbul-style text table or node's coverage report
/// (`all files | 95.74 | …`).
pub(crate) fn js_coverage(output: &str) -> Option<f64> {
    let re = Regex::new(r"(?mi)^[#\s]*all files\s*\|\s*([\d.]+)").expect("regex");
    re.captures_iter(output)
        .last()
        .and_then(|m| m[1].parse().ok())
}

/// `go test -cover` lines: `--- FAIL: TestX`, `ok pkg 0.1s coverage: 80.0% of statements`.
pub(crate) fn go_test_counts(output: &str) -> (TestCounts, Option<f64>) {
    let mut c = TestCounts::default();
    let pass = Regex::new(r"(?m)^\s*--- PASS: ").expect("regex");
    let fail = Regex::new(r"(?m)^\s*--- FAIL: (\S+)").expect("regex");
    let cover = Regex::new(r"coverage: ([\d.]+)% of statements").expect("regex");
    c.passed = pass.find_iter(output).count() as u64;
    for m in fail.captures_iter(output) {
        c.failed += 1;
        c.failures.push(Finding::general(
            Severity::Error,
            format!("test {} failed", &m[1]),
        ));
    }
    c.found = c.passed + c.failed > 0 || output.contains("\nok ") || output.starts_with("ok ");
    let covers: Vec<f64> = cover
        .captures_iter(output)
        .filter_map(|m| m[1].parse().ok())
        .collect();
    let coverage = (!covers.is_empty()).then(|| covers.iter().sum::<f64>() / covers.len() as f64);
    (c, coverage)
}

/// `path:line:col: message` lines (mypy, gofmt, go vet, go build), relative paths kept.
pub(crate) fn colon_diagnostics(output: &str, severity: Severity) -> Vec<Finding> {
    let re = Regex::new(r"(?m)^([^\s:][^:\n]*):(\d+)(?::\d+)?: (?:(error|warning|note): )?(.+?)(?:\s+\[([\w-]+)\])?$")
        .expect("regex");
    re.captures_iter(output)
        .filter(|m| m.get(3).is_none_or(|l| l.as_str() != "note"))
        .map(|m| {
            let mut f = Finding::at(&m[1], m[2].parse().ok(), severity, m[4].trim());
            if let Some(code) = m.get(5) {
                f.code = Some(code.as_str().to_owned());
            }
            f
        })
        .collect()
}

/// `tsc --pretty false`: `file(line,col): error TS2322: message`.
pub(crate) fn tsc_diagnostics(output: &str) -> Vec<(u32, Finding)> {
    let re = Regex::new(r"(?m)^(.+?)\((\d+),\d+\): error TS(\d+): (.+)$").expect("regex");
    re.captures_iter(output)
        .map(|m| {
            let code: u32 = m[3].parse().unwrap_or(0);
            (
                code,
                Finding::at(&m[1], m[2].parse().ok(), Severity::Error, &m[4])
                    .with_code(format!("TS{code}")),
            )
        })
        .collect()
}

/// `ruff check --output-format json`.
pub(crate) fn ruff_findings(stdout: &str) -> Option<Vec<Finding>> {
    let v: Value = serde_json::from_str(stdout.trim()).ok()?;
    Some(
        v.as_array()?
            .iter()
            .map(|d| {
                let mut f = Finding::at(
                    d["filename"].as_str().unwrap_or_default(),
                    d["location"]["row"].as_u64().map(|l| l as u32),
                    Severity::Warning,
                    d["message"].as_str().unwrap_or_default(),
                );
                f.code = d["code"].as_str().map(str::to_owned);
                f
            })
            .collect(),
    )
}

/// `pylint --output-format=json`.
pub(crate) fn pylint_findings(stdout: &str) -> Option<Vec<Finding>> {
    let v: Value = serde_json::from_str(stdout.trim()).ok()?;
    Some(
        v.as_array()?
            .iter()
            .map(|d| {
                let severity = match d["type"].as_str() {
                    Some("error" | "fatal") => Severity::Error,
                    Some("warning") => Severity::Warning,
                    _ => Severity::Info,
                };
                let mut f = Finding::at(
                    d["path"].as_str().unwrap_or_default(),
                    d["line"].as_u64().map(|l| l as u32),
                    severity,
                    d["message"].as_str().unwrap_or_default(),
                );
                f.code = d["symbol"].as_str().map(str::to_owned);
                f
            })
            .collect(),
    )
}

/// `eslint -f json`: severity 2 is an error, 1 a warning.
pub(crate) fn eslint_findings(stdout: &str) -> Option<Vec<Finding>> {
    let v: Value = serde_json::from_str(stdout.trim()).ok()?;
    let mut out = Vec::new();
    for file in v.as_array()? {
        for m in file["messages"].as_array().into_iter().flatten() {
            let severity = if m["severity"] == 2 {
                Severity::Error
            } else {
                Severity::Warning
            };
            let mut f = Finding::at(
                file["filePath"].as_str().unwrap_or_default(),
                m["line"].as_u64().map(|l| l as u32),
                severity,
                m["message"].as_str().unwrap_or_default(),
            );
            f.code = m["ruleId"].as_str().map(str::to_owned);
            out.push(f);
        }
    }
    Some(out)
}

/// `bandit -f json`: HIGH severity blocks the gate.
pub(crate) fn bandit_findings(stdout: &str) -> Option<Vec<Finding>> {
    let v: Value = serde_json::from_str(stdout.trim()).ok()?;
    Some(
        v["results"]
            .as_array()?
            .iter()
            .map(|r| {
                let severity = match r["issue_severity"].as_str() {
                    Some("HIGH") => Severity::High,
                    Some("MEDIUM") => Severity::Warning,
                    _ => Severity::Info,
                };
                let mut f = Finding::at(
                    r["filename"].as_str().unwrap_or_default(),
                    r["line_number"].as_u64().map(|l| l as u32),
                    severity,
                    r["issue_text"].as_str().unwrap_or_default(),
                );
                f.code = r["test_id"].as_str().map(str::to_owned);
                f
            })
            .collect(),
    )
}

/// Percent of lines covered from coverage.py's JSON report.
pub(crate) fn coverage_py_percent(json: &str) -> Option<f64> {
    let v: Value = serde_json::from_str(json).ok()?;
    v["totals"]["percent_covered"].as_f64()
}

/// Percent of lines covered from `cargo llvm-cov --json --summary-only`.
pub(crate) fn llvm_cov_percent(json: &str) -> Option<f64> {
    let v: Value = serde_json::from_str(json).ok()?;
    v["data"][0]["totals"]["lines"]["percent"].as_f64()
}

/// The last time a benchmark printed (`latency: 123.4 ms`), in milliseconds.
pub(crate) fn reported_millis(output: &str) -> Option<f64> {
    let re = Regex::new(r"(\d+(?:\.\d+)?)\s*(ms|s|µs|us)\b").expect("regex");
    re.captures_iter(output).last().and_then(|m| {
        let n: f64 = m[1].parse().ok()?;
        Some(match &m[2] {
            "s" => n * 1000.0,
            "µs" | "us" => n / 1000.0,
            _ => n,
        })
    })
}

/// Sums metric maps.
pub(crate) fn metrics(pairs: &[(&str, f64)]) -> BTreeMap<String, f64> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cargo_messages() {
        let out = r#"{"reason":"compiler-message","package_id":"x","message":{"level":"error","code":{"code":"E0308","explanation":""},"message":"mismatched types","spans":[{"file_name":"src/lib.rs","line_start":3,"is_primary":true}]}}
{"reason":"compiler-message","package_id":"x","message":{"level":"error","code":null,"message":"aborting due to 1 previous error","spans":[]}}
{"reason":"build-finished","success":false}"#;
        let d = cargo_diagnostics(out);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].code.as_deref(), Some("E0308"));
        assert_eq!(
            (d[0].file.as_deref(), d[0].line),
            (Some("src/lib.rs"), Some(3))
        );
    }

    #[test]
    fn test_summaries() {
        let cargo = "test a ... ok\ntest b ... FAILED\ntest result: FAILED. 1 passed; 1 failed; 0 ignored\n\ntest result: ok. 2 passed; 0 failed; 0 ignored";
        let c = cargo_test_counts(cargo);
        assert_eq!((c.passed, c.failed, c.failures.len()), (3, 1, 1));
        let py = "FAILED tests/test_x.py::test_add - assert 3 == 4\n========= 1 failed, 2 passed in 0.03s =========";
        let c = pytest_counts(py);
        assert_eq!((c.passed, c.failed), (2, 1));
        assert_eq!(c.failures[0].file.as_deref(), Some("tests/test_x.py"));
        let c = unittest_counts("....F\nRan 5 tests in 0.001s\n\nFAILED (failures=1)");
        assert_eq!((c.passed, c.failed), (4, 1));
        let c = js_test_counts("not ok 2 - adds\n# tests 3\n# pass 2\n# fail 1\n");
        assert_eq!((c.passed, c.failed, c.failures.len()), (2, 1, 1));
        let c = js_test_counts("Tests:       1 failed, 3 passed, 4 total");
        assert_eq!((c.passed, c.failed), (3, 1));
        assert_eq!(
            js_coverage("# all files | 95.74 | 100.00 | 90.00 |"),
            Some(95.74)
        );
        let (c, cov) = go_test_counts(
            "--- FAIL: TestAdd (0.00s)\nFAIL\nok  \tx/y\t0.1s\tcoverage: 80.0% of statements\n",
        );
        assert_eq!((c.failed, cov), (1, Some(80.0)));
    }

    #[test]
    fn tool_reports() {
        let mypy = "app/core.py:4:12: error: Incompatible return value type (got \"str\", expected \"int\")  [return-value]\napp/core.py:5: note: see here";
        let f = colon_diagnostics(mypy, Severity::Error);
        assert_eq!(f.len(), 1);
        assert_eq!(
            (f[0].line, f[0].code.as_deref()),
            (Some(4), Some("return-value"))
        );
        let tsc = "src/a.ts(3,7): error TS2322: Type 'string' is not assignable to type 'number'.";
        assert_eq!(tsc_diagnostics(tsc)[0].0, 2322);
        let ruff = r#"[{"code":"F401","filename":"/p/app/core.py","location":{"row":1,"column":8},"message":"`os` imported but unused"}]"#;
        assert_eq!(
            ruff_findings(ruff).unwrap()[0].code.as_deref(),
            Some("F401")
        );
        let bandit = r#"{"results":[{"filename":"./app/x.py","line_number":2,"issue_severity":"HIGH","issue_text":"shell=True","test_id":"B602"}]}"#;
        assert_eq!(bandit_findings(bandit).unwrap()[0].severity, Severity::High);
        assert_eq!(reported_millis("p50 12 ms\np99: 180.5 ms"), Some(180.5));
        assert_eq!(reported_millis("took 1.5 s"), Some(1500.0));
    }
}
