//! `orch doctor`: what this machine and repository have, and what is missing.

use std::path::Path;
use std::process::Command;

use orch_core::exit_code;
use serde::Serialize;

use crate::error::{CliError, CliResult};
use crate::output::print_json;
use crate::repo::RepoPaths;

#[derive(Debug, Serialize)]
struct Check {
    name: String,
    /// `ok`, `warn` or `fail`.
    level: &'static str,
    detail: String,
}

fn check(name: &str, level: &'static str, detail: impl Into<String>) -> Check {
    Check {
        name: name.to_owned(),
        level,
        detail: detail.into(),
    }
}

/// First line of `program args…`, or `None` when it cannot run. Bounded by the program
/// itself: version flags return at once.
fn version_of(program: &str, args: &[&str]) -> Option<String> {
    let output = Command::new(program).args(args).output().ok()?;
    if !output.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let line = text.lines().next().unwrap_or("").trim().to_owned();
    Some(if line.is_empty() {
        "installed".into()
    } else {
        line
    })
}

fn writable(dir: &Path) -> Result<(), String> {
    let probe = dir.join(format!(".orch-doctor-{}", std::process::id()));
    std::fs::write(&probe, b"probe").map_err(|e| e.to_string())?;
    std::fs::remove_file(&probe).map_err(|e| e.to_string())
}

pub fn run(repo: Option<&RepoPaths>, json: bool) -> CliResult {
    let mut checks = Vec::new();
    match version_of("git", &["--version"]) {
        Some(v) => checks.push(check("git", "ok", v)),
        None => checks.push(check("git", "fail", "not found on PATH: orch needs git")),
    }
    match version_of("tmux", &["-V"]) {
        Some(v) => checks.push(check(
            "tmux",
            "ok",
            format!("{v} (sessions can be attached)"),
        )),
        None => checks.push(check(
            "tmux",
            "warn",
            "not found: agents run as plain processes and cannot be attached",
        )),
    }
    // Optional programs: a warning with what is missing without them.
    let optional = [
        ("claude", "not installed (only needed for --agent claude)"),
        ("codex", "not installed (only needed for --agent codex)"),
        ("gemini", "not installed (only needed for --agent gemini)"),
        ("aider", "not installed (only needed for --agent aider)"),
        (
            "python3",
            "not found: `orch demo` and the Python quality checks need it",
        ),
        (
            "gh",
            "not installed (only needed for on_epic_complete = \"pr\")",
        ),
    ];
    for (program, without) in optional {
        match version_of(program, &["--version"]) {
            Some(v) => checks.push(check(program, "ok", v)),
            None => checks.push(check(program, "warn", without)),
        }
    }
    // Where agents run: bubblewrap when it works here.
    let configured = repo
        .and_then(|r| r.config().ok())
        .map(|c| c.run.sandbox)
        .unwrap_or_else(|| "auto".into());
    match (configured.as_str(), orch_session::probe_bwrap()) {
        ("none", _) => checks.push(check(
            "sandbox",
            "warn",
            "[run] sandbox = \"none\": agents run as you and can reach everything you can; orch detects tampering with the repository and orch.toml but cannot prevent it",
        )),
        (_, orch_session::BwrapProbe::Works(program)) => checks.push(check(
            "sandbox",
            "ok",
            format!(
                "bubblewrap ({}): agents run in their own PID namespace with a read-only host, only their workspace writable, .orch/ hidden",
                program.display()
            ),
        )),
        ("bwrap", orch_session::BwrapProbe::Unavailable(why)) => {
            checks.push(check("sandbox", "fail", format!("[run] sandbox = \"bwrap\" but {why}")))
        }
        (_, orch_session::BwrapProbe::Unavailable(why)) => checks.push(check(
            "sandbox",
            "warn",
            format!("{why}: agents run without a sandbox and can reach everything you can"),
        )),
    }
    // Presence only: a key's value is never printed.
    for key in ["ANTHROPIC_API_KEY", "OPENAI_API_KEY"] {
        let present = std::env::var_os(key).is_some_and(|v| !v.is_empty());
        checks.push(check(
            key,
            if present { "ok" } else { "warn" },
            if present {
                "set"
            } else {
                "not set (the offline planner needs none)"
            },
        ));
    }
    let Some(repo) = repo else {
        checks.push(check("repository", "warn", "not inside a git repository"));
        return report(&checks, json);
    };
    checks.push(check("repository", "ok", repo.root.display().to_string()));
    // The languages of this repository and the gate's tools each one still lacks.
    if let Ok(project) = orch_quality::ProjectInfo::detect(&repo.root) {
        if project.toolchains.is_empty() {
            checks.push(check(
                "languages",
                "warn",
                "no known toolchain: only the secrets and documentation scans will run",
            ));
        } else {
            let labels: Vec<String> = project.toolchains.iter().map(|t| t.label()).collect();
            checks.push(check("languages", "ok", labels.join(", ")));
        }
        let python = repo
            .config()
            .map(|c| c.quality.python)
            .unwrap_or_else(|_| "python3".into());
        for missing in orch_quality::missing_tools(&project, &python) {
            checks.push(check(
                &format!("{} tools", missing.language.name()),
                "warn",
                format!(
                    "{} missing ({}): {}",
                    missing.tools.join(", "),
                    missing.effect,
                    missing.install
                ),
            ));
        }
    }
    if repo.orch_dir().is_dir() {
        match writable(&repo.orch_dir()) {
            Ok(()) => checks.push(check(".orch", "ok", "present and writable")),
            Err(e) => checks.push(check(".orch", "fail", format!("not writable: {e}"))),
        }
        match repo.config() {
            Ok(config) => {
                checks.push(check("orch.toml", "ok", "valid"));
                match orch_engine::escalation_policy(&config) {
                    Ok(policy) => match policy.notify.build() {
                        Ok(set) => checks.push(check(
                            "escalation",
                            "ok",
                            format!(
                                "{} retries, then a question; notifiers: {}",
                                policy.max_retries,
                                set.names().join(", ")
                            ),
                        )),
                        Err(e) => checks.push(check("escalation", "fail", e.to_string())),
                    },
                    Err(e) => checks.push(check("escalation", "fail", e.to_string())),
                }
                let agent = orch_engine::agent_named(&config.run.agent, &config.run.agent_command);
                match agent {
                    Ok(a) => checks.push(check(
                        "agent",
                        "ok",
                        format!("`orch run` uses {}", a.name()),
                    )),
                    Err(e) => checks.push(check("agent", "fail", e.to_string())),
                }
            }
            Err(e) => checks.push(check("orch.toml", "fail", e.message)),
        }
        match orch_store::Store::open_existing(&repo.state_db()) {
            Ok(store) => {
                let plan = store.plan_info().ok().flatten();
                checks.push(check(
                    "state.db",
                    "ok",
                    match plan {
                        Some(p) => format!(
                            "schema {}, plan `{}` with {} tasks",
                            orch_store::SCHEMA_VERSION,
                            p.name,
                            p.tasks
                        ),
                        None => format!(
                            "schema {}, no plan imported yet",
                            orch_store::SCHEMA_VERSION
                        ),
                    },
                ));
                if let Ok(Some(lease)) = store.lease() {
                    checks.push(check(
                        "runner",
                        "ok",
                        format!(
                            "lease held by {} (pid {} on {})",
                            lease.owner, lease.pid, lease.host
                        ),
                    ));
                }
            }
            Err(e) => checks.push(check("state.db", "fail", crate::error::chain(&e))),
        }
    } else {
        checks.push(check(".orch", "warn", "missing: run `orch init`"));
    }

    report(&checks, json)
}

fn report(checks: &[Check], json: bool) -> CliResult {
    let failed = checks.iter().filter(|c| c.level == "fail").count();
    if json {
        print_json(checks)?;
    } else {
        for c in checks {
            let mark = match c.level {
                "ok" => "ok  ",
                "warn" => "warn",
                _ => "FAIL",
            };
            println!("{mark}  {:<18} {}", c.name, c.detail);
        }
    }
    if failed > 0 {
        return Err(
            CliError::new(exit_code::FAILURE, format!("{failed} check(s) failed"))
                .after_json_document(json),
        );
    }
    Ok(())
}
