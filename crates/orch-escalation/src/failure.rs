//! What went wrong: failure kinds, the plain-data context the engine hands over, and the
//! fingerprint that recognises the same failure coming back.

use std::fmt;

use orch_core::TaskId;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Why an attempt at a task failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// The quality gate scored the work below its threshold.
    QualityBelowThreshold,
    /// The test suite fails.
    TestsFailing,
    /// The agent process died or exited without a result.
    AgentCrashed,
    /// The agent's model API answered with an error (rate limit, overload, auth, quota).
    AgentApiError,
    /// The session hit its wall-clock limit.
    Timeout,
    /// The agent printed nothing for too long: probably waiting on a permission prompt.
    Idle,
    /// The task branch does not merge cleanly into its epic branch.
    MergeConflict,
    /// The agent claimed it was done but the worktree has no changes.
    NoChanges,
    /// The agent changed files outside the task's declared file scope (which parallel
    /// tasks rely on to stay apart).
    OutOfScope,
    /// The same failure (same [`Fingerprint`]) came back again and again; set by the
    /// escalator when its circuit breaker trips, or by the engine directly.
    RepeatedFailure,
    /// The agent touched what it must not: the main repository's refs, hooks or config,
    /// orch's own state or configuration. Escalated at once, with the evidence.
    Tampering,
    /// The tests the work is measured by were weakened: deleted, emptied, skipped, made
    /// assertion-free, or their tools and settings relaxed.
    TestIntegrity,
    /// A spending limit (`[budget]`) is reached: no new attempt starts until a human raises
    /// it. Not the agent's failure; asked at once.
    BudgetReached,
}

impl FailureKind {
    /// Every kind.
    pub const ALL: [FailureKind; 13] = [
        FailureKind::QualityBelowThreshold,
        FailureKind::TestsFailing,
        FailureKind::AgentCrashed,
        FailureKind::AgentApiError,
        FailureKind::Timeout,
        FailureKind::Idle,
        FailureKind::MergeConflict,
        FailureKind::NoChanges,
        FailureKind::OutOfScope,
        FailureKind::RepeatedFailure,
        FailureKind::Tampering,
        FailureKind::TestIntegrity,
        FailureKind::BudgetReached,
    ];

    /// Failures a human must see at once, without automatic retries.
    pub fn escalates_at_once(self) -> bool {
        matches!(self, FailureKind::Tampering | FailureKind::BudgetReached)
    }

    /// The snake_case name used in JSON and the store.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::QualityBelowThreshold => "quality_below_threshold",
            FailureKind::TestsFailing => "tests_failing",
            FailureKind::AgentCrashed => "agent_crashed",
            FailureKind::AgentApiError => "agent_api_error",
            FailureKind::Timeout => "timeout",
            FailureKind::Idle => "idle",
            FailureKind::MergeConflict => "merge_conflict",
            FailureKind::NoChanges => "no_changes",
            FailureKind::OutOfScope => "out_of_scope",
            FailureKind::RepeatedFailure => "repeated_failure",
            FailureKind::Tampering => "tampering",
            FailureKind::TestIntegrity => "test_integrity",
            FailureKind::BudgetReached => "budget_reached",
        }
    }

    /// A short human description (`quality below threshold`, …).
    pub fn describe(self) -> &'static str {
        match self {
            FailureKind::QualityBelowThreshold => "quality below threshold",
            FailureKind::TestsFailing => "failing tests",
            FailureKind::AgentCrashed => "agent crashed without a result",
            FailureKind::AgentApiError => "agent API error",
            FailureKind::Timeout => "session timed out",
            FailureKind::Idle => "agent idle (probably waiting on a permission prompt)",
            FailureKind::MergeConflict => "merge conflict",
            FailureKind::NoChanges => "claimed done but changed nothing",
            FailureKind::OutOfScope => "changed files outside its scope",
            FailureKind::RepeatedFailure => "repeated identical failure",
            FailureKind::Tampering => "tampered with the repository or orch's state",
            FailureKind::TestIntegrity => "weakened the tests it is measured by",
            FailureKind::BudgetReached => "spending limit reached",
        }
    }
}

impl fmt::Display for FailureKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

/// A summary of the quality report of the failed attempt.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct QualitySummary {
    /// Overall score, 0.0–1.0.
    pub overall: f64,
    /// The score needed to pass.
    pub threshold: f64,
    /// Names of the dimensions that fell short (`tests`, `coverage`, `lint`, …).
    #[serde(default)]
    pub failing: Vec<String>,
    /// Measured line coverage, 0.0–1.0, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coverage: Option<f64>,
    /// Coverage the gate asks for, 0.0–1.0, when there is such a target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coverage_target: Option<f64>,
    /// The concrete findings behind the shortfall, one line each
    /// (`lint: src/a.py:3: F401 unused import`), at most [`QualitySummary::MAX_FINDINGS`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<String>,
}

impl QualitySummary {
    /// Most finding lines kept: enough to act on, small enough for a prompt.
    pub const MAX_FINDINGS: usize = 40;

    /// Whether coverage is the only shortfall: every failing dimension is about coverage
    /// (or, with no failing dimension named, measured coverage is below its target).
    pub fn only_coverage_short(&self) -> bool {
        let coverage_below = matches!(
            (self.coverage, self.coverage_target),
            (Some(c), Some(t)) if c < t
        );
        if self.failing.is_empty() {
            return coverage_below;
        }
        self.failing
            .iter()
            .all(|d| d.to_ascii_lowercase().contains("coverage"))
    }

    /// One line: `score 0.96 (threshold 0.80); short: coverage 78% (target 80%)`.
    pub fn line(&self) -> String {
        let coverage = self.coverage.map(|c| {
            let mut text = format!("coverage {:.0}%", c * 100.0);
            if let Some(t) = self.coverage_target {
                text.push_str(&format!(" (target {:.0}%)", t * 100.0));
            }
            text
        });
        let mut out = format!(
            "score {:.2} (threshold {:.2})",
            self.overall, self.threshold
        );
        let mut coverage_shown = false;
        if !self.failing.is_empty() {
            let short: Vec<String> = self
                .failing
                .iter()
                .map(|d| match &coverage {
                    Some(text) if d.eq_ignore_ascii_case("coverage") => {
                        coverage_shown = true;
                        text.clone()
                    }
                    _ => d.clone(),
                })
                .collect();
            out.push_str("; short: ");
            out.push_str(&short.join(", "));
        }
        if let Some(text) = coverage
            && !coverage_shown
        {
            out.push_str("; ");
            out.push_str(&text);
        }
        out
    }
}

/// How much the attempt changed, from the task worktree's diff against its base.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiffStats {
    /// Files changed.
    pub files_changed: u32,
    /// Lines added.
    pub insertions: u32,
    /// Lines removed.
    pub deletions: u32,
}

impl DiffStats {
    /// Whether nothing changed at all.
    pub fn is_empty(&self) -> bool {
        self.files_changed == 0 && self.insertions == 0 && self.deletions == 0
    }
}

impl fmt::Display for DiffStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} file{} changed, +{} -{}",
            self.files_changed,
            if self.files_changed == 1 { "" } else { "s" },
            self.insertions,
            self.deletions
        )
    }
}

/// Everything known about one failed attempt, as plain data the engine gathers from the
/// other layers (quality report, session log, worktree diff). The escalator and the
/// advisors only read it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FailureContext {
    /// The task that failed.
    pub task: TaskId,
    /// What kind of failure.
    pub kind: FailureKind,
    /// The error text (a summary line, a test failure, the API error…). Used for the
    /// fingerprint after normalisation, and shown to the human.
    pub message: String,
    /// The engine's attempt number for this task (1 for the first run); informational.
    #[serde(default)]
    pub attempt: u32,
    /// The agent that ran the attempt (`claude`, `codex`, …), if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    /// The quality report summary, when the gate ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quality: Option<QualitySummary>,
    /// The last lines of the session log (the engine decides how many; messages keep at most
    /// [`FailureContext::LOG_TAIL_LINES`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub log_tail: Vec<String>,
    /// Diff statistics of the task worktree, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diff: Option<DiffStats>,
    /// For [`FailureKind::RepeatedFailure`]: the kind that kept repeating.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<FailureKind>,
    /// For [`FailureKind::RepeatedFailure`]: how many identical failures in a row.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub repeats: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl FailureContext {
    /// Most log lines kept in a PM message.
    pub const LOG_TAIL_LINES: usize = 20;

    /// A context with only the essentials; add the rest with the `with_*` methods.
    pub fn new(task: TaskId, kind: FailureKind, message: impl Into<String>) -> FailureContext {
        FailureContext {
            task,
            kind,
            message: message.into(),
            attempt: 0,
            agent: None,
            quality: None,
            log_tail: Vec::new(),
            diff: None,
            cause: None,
            repeats: 0,
        }
    }

    /// Sets the attempt number.
    pub fn with_attempt(mut self, attempt: u32) -> FailureContext {
        self.attempt = attempt;
        self
    }

    /// Sets the agent name.
    pub fn with_agent(mut self, agent: impl Into<String>) -> FailureContext {
        self.agent = Some(agent.into());
        self
    }

    /// Sets the quality summary.
    pub fn with_quality(mut self, quality: QualitySummary) -> FailureContext {
        self.quality = Some(quality);
        self
    }

    /// Sets the last log lines.
    pub fn with_log_tail<I, S>(mut self, lines: I) -> FailureContext
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.log_tail = lines.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the diff statistics.
    pub fn with_diff(mut self, diff: DiffStats) -> FailureContext {
        self.diff = Some(diff);
        self
    }

    /// The fingerprint of this failure: its kind and normalised message.
    pub fn fingerprint(&self) -> Fingerprint {
        Fingerprint::of(self.cause.unwrap_or(self.kind), &self.message)
    }

    /// The kind that actually happened: the `cause` of a repeated failure, else `kind`.
    pub fn root_kind(&self) -> FailureKind {
        self.cause.unwrap_or(self.kind)
    }
}

/// Identifies "the same failure again": a hash of the failure kind and the normalised
/// message ([`normalize_message`]), as 16 hex digits.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Fingerprint(String);

impl Fingerprint {
    /// The fingerprint of a failure of `kind` with this message.
    pub fn of(kind: FailureKind, message: &str) -> Fingerprint {
        let mut hasher = Sha256::new();
        hasher.update(kind.as_str().as_bytes());
        hasher.update(b"\n");
        hasher.update(normalize_message(message).as_bytes());
        let digest = hasher.finalize();
        Fingerprint(hex(&digest[..8]))
    }

    /// The hex digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// Longest normalised message kept, in characters.
const MAX_NORMALISED_CHARS: usize = 2000;

/// Normalises an error message so that incidental details do not make the same failure look
/// new: file paths become `<path>`, UUIDs `<uuid>`, hexadecimal ids (`0x…`, hashes) `<hex>`,
/// every run of digits (counts, line numbers, durations, timestamps) becomes `#`, letters
/// are lower-cased and whitespace is collapsed.
///
/// ```
/// use orch_escalation::normalize_message;
/// assert_eq!(
///     normalize_message("2026-01-01T10:00:03Z error at /tmp/w/TASK-1/src/lib.rs:12: id 0xdeadbeef"),
///     normalize_message("2026-02-03T11:22:33Z Error at /home/x/src/main.rs:7: id 0x1f"),
/// );
/// ```
pub fn normalize_message(message: &str) -> String {
    let mut words: Vec<String> = Vec::new();
    for token in message.split_whitespace() {
        words.push(normalize_token(token));
    }
    let mut out = words.join(" ");
    if out.chars().count() > MAX_NORMALISED_CHARS {
        out = out.chars().take(MAX_NORMALISED_CHARS).collect();
    }
    out
}

fn normalize_token(token: &str) -> String {
    if looks_like_path(token) {
        return "<path>".to_owned();
    }
    let token = replace_uuids(token);
    let mut out = String::new();
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if !run.is_empty() {
            out.push_str(&normalize_run(run));
            run.clear();
        }
    };
    for c in token.chars() {
        if c == '\u{1}' {
            flush(&mut run, &mut out);
            out.push_str("<uuid>");
        } else if c.is_alphanumeric() {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

/// Replaces each UUID (8-4-4-4-12 hex digits) by the marker `\u{1}`.
fn replace_uuids(token: &str) -> String {
    const SHAPE: [usize; 5] = [8, 4, 4, 4, 12];
    let chars: Vec<char> = token.chars().collect();
    let matches_at = |start: usize| -> bool {
        let mut i = start;
        for (n, len) in SHAPE.iter().enumerate() {
            if n > 0 {
                if chars.get(i) != Some(&'-') {
                    return false;
                }
                i += 1;
            }
            for _ in 0..*len {
                if !chars.get(i).is_some_and(char::is_ascii_hexdigit) {
                    return false;
                }
                i += 1;
            }
        }
        !chars.get(i).is_some_and(|c| c.is_alphanumeric())
    };
    let mut out = String::with_capacity(token.len());
    let mut i = 0;
    while i < chars.len() {
        let at_boundary = i == 0 || !chars[i - 1].is_alphanumeric();
        if at_boundary && matches_at(i) {
            out.push('\u{1}');
            i += 36;
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

fn looks_like_path(token: &str) -> bool {
    let t = token.trim_matches(|c: char| !c.is_alphanumeric() && c != '/' && c != '\\');
    (t.contains('/') || t.contains('\\')) && t.chars().any(|c| c.is_alphanumeric())
}

/// One maximal alphanumeric run: hex ids to `<hex>`, digit runs to `#`, letters lowered.
fn normalize_run(run: &str) -> String {
    let lower = run.to_lowercase();
    let has_digit = lower.chars().any(|c| c.is_ascii_digit());
    let all_hex = lower.chars().all(|c| c.is_ascii_hexdigit());
    let all_digits = lower.chars().all(|c| c.is_ascii_digit());
    if let Some(rest) = lower.strip_prefix("0x")
        && !rest.is_empty()
        && rest.chars().all(|c| c.is_ascii_hexdigit())
    {
        return "<hex>".to_owned();
    }
    if all_digits {
        return "#".to_owned();
    }
    if all_hex && has_digit && lower.len() >= 6 {
        return "<hex>".to_owned();
    }
    // Letters stay, each run of digits becomes one `#` (`v2` and `v10` look alike).
    let mut out = String::new();
    let mut in_digits = false;
    for c in lower.chars() {
        if c.is_ascii_digit() {
            if !in_digits {
                out.push('#');
            }
            in_digits = true;
        } else {
            out.push(c);
            in_digits = false;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_incidental_details() {
        assert_eq!(
            normalize_message("Test  failed after 1532 ms\n at line 40"),
            "test failed after # ms at line #"
        );
        assert_eq!(
            normalize_message("commit a1b2c3d4e5f6 broke"),
            "commit <hex> broke"
        );
        assert_eq!(
            normalize_message("session 123e4567-e89b-12d3-a456-426614174000 died"),
            "session <uuid> died"
        );
        assert_eq!(normalize_message("see ./src/lib.rs:10:5"), "see <path>");
        assert_eq!(normalize_message("C:\\work\\x.rs failed"), "<path> failed");
        assert_eq!(normalize_message("at 10:03:59.120"), "at #:#:#.#");
        // Plain words made of hex letters are words, not ids.
        assert_eq!(
            normalize_message("added faced decade"),
            "added faced decade"
        );
        assert_eq!(normalize_message("v2 and v10"), "v# and v#");
        assert_eq!(normalize_message("and / or"), "and / or");
    }

    #[test]
    fn fingerprint_depends_on_kind_and_normalised_message() {
        let a = Fingerprint::of(FailureKind::TestsFailing, "3 tests failed in 1.2s");
        let b = Fingerprint::of(FailureKind::TestsFailing, "5 tests failed in 0.9s");
        let c = Fingerprint::of(FailureKind::AgentCrashed, "3 tests failed in 1.2s");
        let d = Fingerprint::of(FailureKind::TestsFailing, "compile error");
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, d);
        assert_eq!(a.as_str().len(), 16);
    }

    #[test]
    fn repeated_failure_fingerprints_as_its_cause() {
        let task = TaskId::new("TASK-A-001").unwrap();
        let plain = FailureContext::new(task.clone(), FailureKind::Timeout, "timed out");
        let mut repeated = plain.clone();
        repeated.kind = FailureKind::RepeatedFailure;
        repeated.cause = Some(FailureKind::Timeout);
        assert_eq!(plain.fingerprint(), repeated.fingerprint());
        assert_eq!(repeated.root_kind(), FailureKind::Timeout);
    }

    #[test]
    fn coverage_only_shortfall() {
        let q = QualitySummary {
            overall: 0.96,
            threshold: 0.8,
            failing: vec!["coverage".into()],
            coverage: Some(0.78),
            coverage_target: Some(0.8),
            findings: Vec::new(),
        };
        assert!(q.only_coverage_short());
        let q2 = QualitySummary {
            failing: vec!["coverage".into(), "lint".into()],
            ..q.clone()
        };
        assert!(!q2.only_coverage_short());
        let q3 = QualitySummary {
            failing: vec![],
            ..q
        };
        assert!(q3.only_coverage_short());
        assert_eq!(
            q3.line(),
            "score 0.96 (threshold 0.80); coverage 78% (target 80%)"
        );
    }

    #[test]
    fn kinds_round_trip() {
        for kind in FailureKind::ALL {
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
            assert_eq!(serde_json::from_str::<FailureKind>(&json).unwrap(), kind);
        }
    }
}
