//! What a gate run produces: one [`DimensionResult`] per dimension and the
//! [`QualityReport`] that scores them.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// One thing the gate measures: one of the eight built-in dimensions, or a custom one
/// (`Dimension::Custom`) a project adds with its own check and weight.
///
/// Ordered as the gate reports them: the eight in gate order, then custom ones by name.
/// Serialised as its name (`"syntax"`, `"licenses"`); a name that is not built-in reads back
/// as a custom dimension.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Dimension {
    /// The code parses.
    Syntax,
    /// The code type-checks.
    Types,
    /// Linters are quiet.
    Lint,
    /// No secrets, no known-vulnerable patterns.
    Security,
    /// The test suite passes, with enough coverage.
    Tests,
    /// A configured benchmark stays under its limit.
    Performance,
    /// Public items are documented; there is a README.
    Documentation,
    /// End-to-end or integration tests pass.
    Integration,
    /// A dimension beyond the eight (`licenses`, `spelling`, …): see [`Dimension::custom`].
    Custom(CustomDimension),
}

/// The name of a custom [`Dimension`]: 1 to 32 lowercase ASCII letters, digits, `-` or `_`,
/// starting with a letter, and not a built-in dimension's name or alias.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CustomDimension(String);

impl CustomDimension {
    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CustomDimension {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A name that cannot name a [`Dimension`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{name}` cannot name a quality dimension: {reason}")]
pub struct InvalidDimension {
    /// The name given (control characters escaped).
    pub name: String,
    /// Why.
    pub reason: &'static str,
}

impl Dimension {
    /// The eight built-in dimensions, in gate order.
    pub const ALL: [Dimension; 8] = [
        Dimension::Syntax,
        Dimension::Types,
        Dimension::Lint,
        Dimension::Security,
        Dimension::Tests,
        Dimension::Performance,
        Dimension::Documentation,
        Dimension::Integration,
    ];

    /// A custom dimension called `name` (see [`CustomDimension`] for the rules).
    pub fn custom(name: impl Into<String>) -> Result<Dimension, InvalidDimension> {
        let name = name.into();
        match orch_core::custom_dimension_problem(&name) {
            None => Ok(Dimension::Custom(CustomDimension(name))),
            Some(reason) => Err(InvalidDimension {
                name: name.escape_debug().to_string(),
                reason,
            }),
        }
    }

    /// The configuration name (`syntax`, `types`, …, or the custom name).
    pub fn name(&self) -> &str {
        match self {
            Dimension::Syntax => orch_core::QUALITY_DIMENSIONS[0],
            Dimension::Types => orch_core::QUALITY_DIMENSIONS[1],
            Dimension::Lint => orch_core::QUALITY_DIMENSIONS[2],
            Dimension::Security => orch_core::QUALITY_DIMENSIONS[3],
            Dimension::Tests => orch_core::QUALITY_DIMENSIONS[4],
            Dimension::Performance => orch_core::QUALITY_DIMENSIONS[5],
            Dimension::Documentation => orch_core::QUALITY_DIMENSIONS[6],
            Dimension::Integration => orch_core::QUALITY_DIMENSIONS[7],
            Dimension::Custom(c) => c.as_str(),
        }
    }

    /// Whether this is a custom dimension.
    pub fn is_custom(&self) -> bool {
        matches!(self, Dimension::Custom(_))
    }

    /// Parses the name of a built-in dimension or one of its aliases (`docs`, `perf`, …),
    /// case-insensitively; `None` for anything else, custom names included (see
    /// [`Dimension::from_name`]).
    pub fn parse(name: &str) -> Option<Dimension> {
        let name = name.trim().to_ascii_lowercase();
        let name = orch_core::QUALITY_DIMENSION_ALIASES
            .iter()
            .find(|(alias, _)| *alias == name)
            .map_or(name.as_str(), |(_, dimension)| dimension);
        Dimension::ALL.into_iter().find(|d| d.name() == name)
    }

    /// A built-in dimension by name or alias (as [`Dimension::parse`]), else a custom one
    /// ([`Dimension::custom`]).
    pub fn from_name(name: &str) -> Result<Dimension, InvalidDimension> {
        match Dimension::parse(name) {
            Some(d) => Ok(d),
            None => Dimension::custom(name.trim()),
        }
    }
}

impl fmt::Display for Dimension {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Dimension {
    type Err = InvalidDimension;

    fn from_str(s: &str) -> Result<Dimension, InvalidDimension> {
        Dimension::from_name(s)
    }
}

impl Serialize for Dimension {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Dimension {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Dimension, D::Error> {
        let name = String::deserialize(deserializer)?;
        Dimension::from_name(&name).map_err(serde::de::Error::custom)
    }
}

/// How a dimension ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum CheckStatus {
    /// Ran and met its bar.
    Passed,
    /// Ran and did not.
    Failed,
    /// Could not be measured here (no tool, nothing to check); left out of the score.
    Skipped {
        /// Why, e.g. `mypy is not installed`.
        reason: String,
    },
    /// The check itself broke (timeout, tool crash); counts as a score of 0.
    Error {
        /// What went wrong.
        reason: String,
    },
}

impl CheckStatus {
    /// A short word for tables.
    pub fn word(&self) -> &'static str {
        match self {
            CheckStatus::Passed => "passed",
            CheckStatus::Failed => "failed",
            CheckStatus::Skipped { .. } => "skipped",
            CheckStatus::Error { .. } => "error",
        }
    }

    /// Whether the dimension produced a score.
    pub fn ran(&self) -> bool {
        !matches!(self, CheckStatus::Skipped { .. })
    }
}

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Worth knowing.
    Info,
    /// Should be fixed.
    Warning,
    /// Must be fixed (a compile error, a failing test).
    Error,
    /// A security problem that blocks the gate.
    High,
}

impl Severity {
    /// A short word for tables.
    pub fn word(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
            Severity::High => "high",
        }
    }
}

/// One problem a check found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// File, relative to the project root, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// 1-based line, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    /// How serious.
    pub severity: Severity,
    /// What is wrong.
    pub message: String,
    /// The rule or error code (`E0308`, `F401`, `B105`), when the tool gives one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

impl Finding {
    /// A finding at a place.
    pub fn at(
        file: impl Into<String>,
        line: Option<u32>,
        severity: Severity,
        message: impl Into<String>,
    ) -> Finding {
        Finding {
            file: Some(file.into()),
            line,
            severity,
            message: message.into(),
            code: None,
        }
    }

    /// A finding about the project as a whole.
    pub fn general(severity: Severity, message: impl Into<String>) -> Finding {
        Finding {
            file: None,
            line: None,
            severity,
            message: message.into(),
            code: None,
        }
    }

    /// With a rule or error code.
    pub fn with_code(mut self, code: impl Into<String>) -> Finding {
        self.code = Some(code.into());
        self
    }

    /// `file:line`, or `-`.
    pub fn location(&self) -> String {
        match (&self.file, self.line) {
            (Some(f), Some(l)) => format!("{f}:{l}"),
            (Some(f), None) => f.clone(),
            _ => "-".into(),
        }
    }
}

/// The result of one dimension.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DimensionResult {
    /// Which dimension.
    pub dimension: Dimension,
    /// In [0, 1]; 0 when skipped.
    pub score: f64,
    /// How it ended.
    #[serde(flatten)]
    pub status: CheckStatus,
    /// What was found.
    pub findings: Vec<Finding>,
    /// Wall time of the check.
    #[serde(rename = "duration_ms", with = "millis")]
    pub duration: Duration,
    /// The exact commands run, in order.
    pub commands: Vec<String>,
    /// Figures the check measured (`passed`, `failed`, `coverage`, `documented`, …).
    pub metrics: BTreeMap<String, f64>,
}

impl DimensionResult {
    /// A skipped dimension.
    pub fn skipped(dimension: Dimension, reason: impl Into<String>) -> DimensionResult {
        DimensionResult {
            dimension,
            score: 0.0,
            status: CheckStatus::Skipped {
                reason: reason.into(),
            },
            findings: Vec::new(),
            duration: Duration::ZERO,
            commands: Vec::new(),
            metrics: BTreeMap::new(),
        }
    }

    /// Findings of at least `severity`.
    pub fn count_at_least(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity >= severity)
            .count()
    }
}

/// Excellent (≥ 0.9), Good (≥ 0.8), or Needs work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Grade {
    /// At least 0.9.
    Excellent,
    /// At least 0.8.
    Good,
    /// Below 0.8.
    #[serde(rename = "Needs work")]
    NeedsWork,
    /// The tests could not run on changed code: whatever the other scores, nothing says
    /// the code works.
    Unverified,
}

impl Grade {
    /// The grade of an overall score.
    pub fn of(score: f64) -> Grade {
        if score >= 0.9 {
            Grade::Excellent
        } else if score >= 0.8 {
            Grade::Good
        } else {
            Grade::NeedsWork
        }
    }
}

impl fmt::Display for Grade {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Grade::Excellent => "Excellent",
            Grade::Good => "Good",
            Grade::NeedsWork => "Needs work",
            Grade::Unverified => "Unverified",
        })
    }
}

/// The gate's verdict on one tree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QualityReport {
    /// The task this tree belongs to, when known.
    pub task_id: Option<String>,
    /// Weighted mean of the dimensions that ran (custom dimensions with their weight), in
    /// [0, 1].
    pub quality_score: f64,
    /// The grade of `quality_score`.
    pub status: Grade,
    /// Whether the gate passed.
    pub passed: bool,
    /// Why it did not (empty when it passed).
    pub gate_failures: Vec<String>,
    /// Line coverage of the tests in percent, when a coverage tool ran.
    pub test_coverage: Option<f64>,
    /// Score per dimension that ran (custom dimensions included).
    pub breakdown: BTreeMap<Dimension, f64>,
    /// The weight each dimension that ran had in `quality_score`.
    #[serde(default)]
    pub weights: BTreeMap<Dimension, f64>,
    /// Dimensions left out of the score, with the reason.
    pub skipped: BTreeMap<Dimension, String>,
    /// Every dimension in full, the custom ones after the eight.
    pub dimensions: Vec<DimensionResult>,
    /// Toolchains found (`rust`, `python`, …).
    pub toolchains: Vec<String>,
    /// The threshold the score was held to.
    pub threshold: f64,
    /// Git tree of what was checked (with uncommitted changes), when a repository.
    pub tree: Option<String>,
    /// Only these files counted for lint and documentation (`--base`).
    pub base: Option<String>,
    /// Wall time of the whole gate.
    #[serde(rename = "duration_ms", with = "millis")]
    pub duration: Duration,
    /// Whether this report came from the cache.
    pub cached: bool,
    /// Tools the project's languages need that are not installed, with how to install
    /// them: the dimensions they would check were skipped or weaker.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing_tools: Vec<crate::tools::MissingTools>,
    /// Test-integrity findings against the base (deleted or weakened tests, new
    /// suppressions, changed tool settings); any fails the gate.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub integrity: Vec<Finding>,
}

impl QualityReport {
    /// The result of one dimension (given by value or by reference), when it was
    /// evaluated.
    pub fn dimension(&self, d: impl std::borrow::Borrow<Dimension>) -> Option<&DimensionResult> {
        let d = d.borrow();
        self.dimensions.iter().find(|r| r.dimension == *d)
    }

    /// The result of a dimension by name (built-in, alias or custom), when it was
    /// evaluated.
    pub fn dimension_named(&self, name: &str) -> Option<&DimensionResult> {
        let d = Dimension::from_name(name).ok()?;
        self.dimensions.iter().find(|r| r.dimension == d)
    }
}

mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_millis() as u64)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_millis(u64::deserialize(d)?))
    }
}
