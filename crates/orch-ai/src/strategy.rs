//! Planning strategies: how a PRD is cut into epics.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::prd::Prd;

/// How a PRD is split into epics (the article's five strategies).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// By technical layer: database, backend, frontend, infrastructure, testing.
    Layer,
    /// By delivery phase, each phase gated on the previous one.
    Phase,
    /// By product area, as the PRD's sections name them.
    Function,
    /// By role: backend, frontend, devops, QA.
    Generic,
    /// Let the PRD decide (offline: by its headings; with a model: the model picks).
    Auto,
}

impl Strategy {
    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::Layer => "layer",
            Strategy::Phase => "phase",
            Strategy::Function => "function",
            Strategy::Generic => "generic",
            Strategy::Auto => "auto",
        }
    }
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Strategy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "layer" => Ok(Strategy::Layer),
            "phase" => Ok(Strategy::Phase),
            "function" => Ok(Strategy::Function),
            "generic" => Ok(Strategy::Generic),
            "auto" => Ok(Strategy::Auto),
            other => Err(format!(
                "unknown strategy `{other}`; expected one of: layer, phase, function, generic, auto"
            )),
        }
    }
}

const ROLE_WORDS: &[&str] = &[
    "backend",
    "frontend",
    "devops",
    "qa",
    "ops",
    "infrastructure",
    "infra",
    "testing",
    "mobile",
    "database",
    "design",
    "security",
    "quality assurance",
];

/// Whether a heading names a numbered phase (`Phase 2: Beta`, `Milestone 1`, `MVP`).
pub fn is_phase_heading(heading: &str) -> bool {
    numbered(
        heading,
        &["phase", "milestone", "stage", "iteration", "sprint"],
    )
}

/// Whether a heading names a numbered layer (`Layer 0: LLM analysis`, `Tier 1`).
pub fn is_layer_heading(heading: &str) -> bool {
    numbered(heading, &["layer", "tier"])
}

/// Whether a heading names a role (`Backend`, `DevOps`, `QA`).
pub fn is_role_heading(heading: &str) -> bool {
    let h = heading.trim().to_ascii_lowercase();
    ROLE_WORDS
        .iter()
        .any(|w| h == *w || h.starts_with(&format!("{w} ")) || h.starts_with(&format!("{w}:")))
}

fn numbered(heading: &str, words: &[&str]) -> bool {
    let h = heading.trim().to_ascii_lowercase();
    words.iter().any(|w| {
        h.strip_prefix(w)
            .map(str::trim_start)
            .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
    })
}

/// The offline choice for `auto`, with the reason in words.
pub fn detect(prd: &Prd) -> (Strategy, String) {
    let headings: Vec<&str> = prd.work_sections().map(|s| s.heading.as_str()).collect();
    let count = |f: fn(&str) -> bool| headings.iter().filter(|h| f(h)).count();
    let phases = count(is_phase_heading);
    let layers = count(is_layer_heading);
    let roles = count(is_role_heading);
    if phases >= 2 {
        (
            Strategy::Phase,
            format!(
                "{phases} of {} work sections are numbered phases (\"{}\")",
                headings.len(),
                headings[0]
            ),
        )
    } else if layers >= 2 {
        (
            Strategy::Layer,
            format!(
                "{layers} of {} work sections are numbered layers (\"{}\")",
                headings.len(),
                headings[0]
            ),
        )
    } else if roles >= 2 {
        (
            Strategy::Generic,
            format!(
                "{roles} of {} work sections name roles (backend, frontend, devops, QA)",
                headings.len()
            ),
        )
    } else {
        (
            Strategy::Function,
            format!("the {} work sections name product areas", headings.len()),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headings() {
        assert!(is_phase_heading("Phase 1: Prototype"));
        assert!(!is_phase_heading("Phases of the moon"));
        assert!(is_layer_heading("Layer 0: LLM analysis"));
        assert!(is_role_heading("DevOps"));
        assert!(is_role_heading("QA"));
        assert!(!is_role_heading("Quarterly reports"));
        assert_eq!("Phase".parse::<Strategy>(), Ok(Strategy::Phase));
        assert!("waterfall".parse::<Strategy>().is_err());
    }
}
