//! Which tools a project's languages need and which of them are missing, with the one line
//! that installs them: shown once in the report and by `orch doctor`, instead of a skipped
//! dimension per tool.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::command::on_path;
use crate::project::{Language, ProjectInfo};

/// Tools of one language that the gate would use but cannot find.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MissingTools {
    /// The language.
    pub language: Language,
    /// The missing tools, by their usual names.
    pub tools: Vec<String>,
    /// What to run to install them.
    pub install: String,
    /// Which dimensions stay unchecked (or weaker) until they are installed.
    pub effect: String,
}

impl MissingTools {
    /// `python: mypy, bandit missing (types, security unchecked): pip install mypy bandit`.
    pub fn line(&self) -> String {
        format!(
            "{}: {} missing ({}): {}",
            self.language.name(),
            self.tools.join(", "),
            self.effect,
            self.install
        )
    }
}

/// Python modules the gate uses, with what each one checks.
const PYTHON_MODULES: &[(&str, &str, &str)] = &[
    ("mypy", "mypy", "types"),
    ("ruff", "ruff", "lint"),
    ("bandit", "bandit", "security"),
    ("pytest", "pytest", "tests"),
    ("pytest_cov", "pytest-cov", "coverage"),
];

/// A script printing which of its arguments are importable, as JSON. `find_spec` finds a
/// module without importing it: a fraction of the cost of `import`.
pub(crate) const FIND_MODULES_SCRIPT: &str = "import importlib.util as u, json, sys\nprint(json.dumps({m: u.find_spec(m) is not None for m in sys.argv[1:]}))";

/// Which of `modules` the interpreter `python` can import; `None` when it does not run.
pub(crate) fn python_modules(python: &str, modules: &[&str]) -> Option<BTreeMap<String, bool>> {
    let out = std::process::Command::new(python)
        .arg("-c")
        .arg(FIND_MODULES_SCRIPT)
        .args(modules)
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    serde_json::from_slice(&out.stdout).ok()
}

/// The missing tools of every language in `project`, one entry per language; Python tools
/// as seen by the interpreter `python`.
pub fn missing_tools(project: &ProjectInfo, python: &str) -> Vec<MissingTools> {
    missing_tools_seen(project, python, &BTreeMap::new())
}

/// [`missing_tools`], with the Python modules already known to be installed or not
/// (`seen`, by running them): only the others are asked of the interpreter, and when none
/// is left no interpreter runs.
pub(crate) fn missing_tools_seen(
    project: &ProjectInfo,
    python: &str,
    seen: &BTreeMap<String, bool>,
) -> Vec<MissingTools> {
    let mut languages: Vec<Language> = project.toolchains.iter().map(|t| t.language).collect();
    languages.sort();
    languages.dedup();
    languages
        .into_iter()
        .filter_map(|l| missing_for(l, python, seen))
        .collect()
}

fn missing_for(
    language: Language,
    python: &str,
    seen: &BTreeMap<String, bool>,
) -> Option<MissingTools> {
    let (tools, effects, install): (Vec<&str>, Vec<&str>, String) = match language {
        Language::Python => {
            if !on_path(python) {
                return Some(MissingTools {
                    language,
                    tools: vec![python.to_owned()],
                    install: "install Python 3 (apt-get install python3)".into(),
                    effect: "every Python check skipped".into(),
                });
            }
            // ruff as a binary counts too.
            let ruff_bin = on_path("ruff");
            let unknown: Vec<&str> = PYTHON_MODULES
                .iter()
                .map(|m| m.0)
                .filter(|m| !(seen.contains_key(*m) || (*m == "ruff" && ruff_bin)))
                .collect();
            let mut found = seen.clone();
            if !unknown.is_empty() {
                found.extend(python_modules(python, &unknown).unwrap_or_default());
            }
            let missing: Vec<&(&str, &str, &str)> = PYTHON_MODULES
                .iter()
                .filter(|(module, _, _)| !found.get(*module).copied().unwrap_or(false))
                .filter(|(module, _, _)| !(*module == "ruff" && ruff_bin))
                .collect();
            let packages: Vec<&str> = missing.iter().map(|m| m.1).collect();
            (
                packages.clone(),
                missing.iter().map(|m| m.2).collect(),
                format!("{python} -m pip install {}", packages.join(" ")),
            )
        }
        Language::Rust => {
            if !on_path("cargo") {
                return Some(MissingTools {
                    language,
                    tools: vec!["cargo".into()],
                    install: "install Rust with rustup (https://rustup.rs)".into(),
                    effect: "every Rust check skipped".into(),
                });
            }
            let mut tools = Vec::new();
            let mut effects = Vec::new();
            let mut install = Vec::new();
            if !on_path("cargo-clippy") {
                tools.push("clippy");
                effects.push("lint");
                install.push("rustup component add clippy".to_owned());
            }
            let mut cargo_install = Vec::new();
            for (bin, package, effect) in [
                ("cargo-llvm-cov", "cargo-llvm-cov", "coverage"),
                ("cargo-audit", "cargo-audit", "dependency audit"),
            ] {
                if !on_path(bin) {
                    tools.push(package);
                    effects.push(effect);
                    cargo_install.push(package);
                }
            }
            if !cargo_install.is_empty() {
                install.push(format!("cargo install {}", cargo_install.join(" ")));
            }
            (tools, effects, install.join(" && "))
        }
        Language::JavaScript => {
            if !on_path("node") {
                return Some(MissingTools {
                    language,
                    tools: vec!["node".into()],
                    install: "install Node.js (apt-get install nodejs)".into(),
                    effect: "every JavaScript check skipped".into(),
                });
            }
            return None;
        }
        Language::Go => {
            if !on_path("go") {
                return Some(MissingTools {
                    language,
                    tools: vec!["go".into()],
                    install: "install Go (apt-get install golang)".into(),
                    effect: "every Go check skipped".into(),
                });
            }
            if on_path("staticcheck") {
                return None;
            }
            (
                vec!["staticcheck"],
                vec!["lint beyond go vet"],
                "go install honnef.co/go/tools/cmd/staticcheck@latest".into(),
            )
        }
    };
    if tools.is_empty() {
        return None;
    }
    let mut effects = effects;
    effects.dedup();
    Some(MissingTools {
        language,
        tools: tools.into_iter().map(str::to_owned).collect(),
        install,
        effect: format!("{} unchecked", effects.join(", ")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_modules_already_seen_are_not_asked_again() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("pyproject.toml"), "[project]\n").unwrap();
        let project = ProjectInfo::detect(dir.path()).unwrap();
        // An "interpreter" that answers nothing: whatever it is asked counts as missing.
        let mute = "/bin/false";
        let mut seen: BTreeMap<String, bool> = PYTHON_MODULES
            .iter()
            .map(|m| (m.0.to_owned(), true))
            .collect();
        assert!(missing_tools_seen(&project, mute, &seen).is_empty());
        seen.insert("bandit".into(), false);
        seen.remove("pytest_cov");
        let missing = missing_tools_seen(&project, mute, &seen);
        assert_eq!(missing[0].tools, ["bandit", "pytest-cov"]);
    }
}
