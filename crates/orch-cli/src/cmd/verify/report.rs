//! What `orch verify` says. On failure the text goes to stderr, which is what Claude Code
//! hands Claude when a hook exits 2: what failed, then one line per finding (dimension,
//! file:line, message, code), bounded, every line stripped of control characters.

use orch_core::sanitize_line;
use orch_quality::{CheckStatus, DimensionResult, Finding, QualityReport, Severity};

use super::git::Base;

/// Most finding lines shown; `--json` has all of them.
const SHOWN: usize = 30;
/// Longest message shown per finding.
const MESSAGE_CHARS: usize = 240;

/// One verification: the gate's report and the findings verify adds (integrity outside
/// the selected dimensions, the guard on Claude Code's hook).
pub struct Verdict<'a> {
    pub base: &'a Base,
    pub changed: usize,
    pub report: &'a QualityReport,
    pub extra: &'a [Finding],
}

impl Verdict<'_> {
    pub fn passed(&self) -> bool {
        self.report.passed && self.extra.is_empty()
    }

    /// Why it failed: the gate's reasons, then the extra findings.
    pub fn failures(&self) -> Vec<String> {
        let mut out = self.report.gate_failures.clone();
        if !self.extra.is_empty() {
            out.push(format!(
                "integrity: {} finding(s) against the base",
                self.extra.len()
            ));
        }
        out
    }

    /// `(dimension, finding)` for what made it fail: the findings of failed dimensions (or
    /// of all, when only the overall score fell short), then the extra ones. None when it
    /// passed.
    pub fn findings(&self) -> Vec<(String, Finding)> {
        if self.passed() {
            return Vec::new();
        }
        let failed: Vec<&DimensionResult> = self
            .report
            .dimensions
            .iter()
            .filter(|d| matches!(d.status, CheckStatus::Failed | CheckStatus::Error { .. }))
            .collect();
        let dims: Vec<&DimensionResult> = if failed.is_empty() {
            self.report.dimensions.iter().collect()
        } else {
            failed
        };
        let mut out = Vec::new();
        for d in dims {
            if let CheckStatus::Error { reason } = &d.status {
                out.push((
                    d.dimension.name().to_owned(),
                    Finding::general(Severity::Error, format!("could not run: {reason}")),
                ));
            }
            let serious: Vec<&Finding> = d
                .findings
                .iter()
                .filter(|f| f.severity >= Severity::Warning)
                .collect();
            let shown = if serious.is_empty() && d.status == CheckStatus::Failed {
                d.findings.iter().collect()
            } else {
                serious
            };
            out.extend(
                shown
                    .into_iter()
                    .map(|f| (d.dimension.name().to_owned(), f.clone())),
            );
        }
        out.extend(
            self.extra
                .iter()
                .map(|f| ("integrity".to_owned(), f.clone())),
        );
        out
    }

    /// The one line printed on success.
    pub fn summary(&self) -> String {
        let r = self.report;
        let skipped = if r.skipped.is_empty() {
            String::new()
        } else {
            let names: Vec<&str> = r.skipped.keys().map(|d| d.name()).collect();
            format!("; skipped: {}", names.join(", "))
        };
        format!(
            "orch verify: passed against {}: {} changed file{}, quality {:.2} ({}){skipped}{}",
            self.base.describe(),
            self.changed,
            plural(self.changed),
            r.quality_score,
            r.status,
            if r.cached { "; cached" } else { "" },
        )
    }

    /// The failure text for stderr.
    pub fn failure_text(&self) -> String {
        let mut out = format!(
            "orch verify: {} changed file{} since {} fail the checks:\n",
            self.changed,
            plural(self.changed),
            self.base.describe(),
        );
        for failure in self.failures() {
            out.push_str(&format!("  ✗ {}\n", sanitize_line(&failure)));
        }
        let findings = self.findings();
        if !findings.is_empty() {
            out.push_str("Findings:\n");
            for (dimension, f) in findings.iter().take(SHOWN) {
                let code = f
                    .code
                    .as_deref()
                    .map(|c| format!(" [{}]", sanitize_line(c)))
                    .unwrap_or_default();
                out.push_str(&format!(
                    "  {dimension:<13} {}  {}{code}\n",
                    sanitize_line(&f.location()),
                    crate::output::truncate(&sanitize_line(f.message.trim()), MESSAGE_CHARS)
                ));
            }
            if findings.len() > SHOWN {
                out.push_str(&format!(
                    "  … and {} more (`orch verify --json` lists them all)\n",
                    findings.len() - SHOWN
                ));
            }
        }
        out.push_str(
            "Fix the code, then run `orch verify` again. Weakened, skipped or deleted tests, new \
             suppressions and changed lint, type or test settings are reported too.",
        );
        out
    }

    /// The `--json` document.
    pub fn json(&self, changed: &[&String]) -> serde_json::Value {
        let findings: Vec<serde_json::Value> = self
            .findings()
            .into_iter()
            .map(|(dimension, f)| {
                serde_json::json!({
                    "dimension": dimension,
                    "file": f.file,
                    "line": f.line,
                    "severity": f.severity,
                    "message": f.message,
                    "code": f.code,
                })
            })
            .collect();
        serde_json::json!({
            "passed": self.passed(),
            "base": {"label": self.base.label, "commit": self.base.commit},
            "changed": changed,
            "failures": self.failures(),
            "findings": findings,
            "report": self.report,
        })
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
