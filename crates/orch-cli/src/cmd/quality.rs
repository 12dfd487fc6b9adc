//! `orch quality [PATH]`: the gate on a directory (the eight dimensions and the custom ones
//! of `[quality.custom]`), as the orchestrator runs it.

use std::path::{Path, PathBuf};

use orch_core::{Config, exit_code};
use orch_quality::{CheckStatus, Dimension, Gate, GateError, GateOptions, QualityReport};

use crate::cli::QualityArgs;
use crate::error::{CliError, CliResult, chain};
use crate::repo::RepoPaths;

pub fn run(start: &Path, args: &QualityArgs) -> CliResult {
    let path = match &args.path {
        Some(p) if p.is_absolute() => p.clone(),
        Some(p) => start.join(p),
        None => start.to_owned(),
    };
    if !path.is_dir() {
        return Err(CliError::new(
            exit_code::NOT_FOUND,
            format!("{} is not a directory", path.display()),
        ));
    }
    let repo = RepoPaths::discover(&path).ok();
    let config = match &repo {
        Some(repo) => repo.config()?,
        None => Config::default(),
    };
    let only = parse_dimensions(&args.only, &config.quality, exit_code::USAGE)?;
    let cache_dir = (!args.no_cache).then(|| cache_dir(repo.as_ref())).flatten();
    // In an initialised repository the cache is sealed with the same key `orch run` uses.
    let cache_seal = match &repo {
        Some(repo) if cache_dir.is_some() && repo.orch_dir().is_dir() => {
            let key = repo.orch_dir().join(orch_core::GATE_CACHE_KEY_FILE);
            Some(
                orch_quality::CacheSeal::load_or_create(&key)
                    .map_err(|e| CliError::io(key.display(), e))?,
            )
        }
        _ => None,
    };
    let options = GateOptions {
        task_id: args.task.clone(),
        only,
        base: args.base.clone(),
        cache_dir,
        cache_seal,
        tool_cache_dir: tool_cache_dir(repo.as_ref()),
        ..GateOptions::default()
    };
    let gate = Gate::new(config.quality);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::io("cannot start the async runtime", e))?;
    let report = runtime
        .block_on(gate.evaluate(&path, &options))
        .map_err(gate_error)?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).expect("a report serialises")
        );
    } else {
        print_report(&path, &report);
    }
    if report.passed {
        Ok(())
    } else {
        Err(CliError::new(
            exit_code::GATE_FAILED,
            format!(
                "the quality gate failed: {}",
                report.gate_failures.join("; ")
            ),
        )
        .after_json_document(args.json))
    }
}

/// `.orch/cache/quality/` in an initialised repository, else inside the git directory (never
/// in the working tree); no cache outside git.
fn cache_dir(repo: Option<&RepoPaths>) -> Option<PathBuf> {
    let repo = repo?;
    Some(if repo.orch_dir().is_dir() {
        repo.orch_dir().join("cache/quality")
    } else {
        repo.git_dir.join("orch/quality-cache")
    })
}

/// Where mypy, ruff and Python keep their caches between runs (warm runs cost what the
/// tools cost): beside the report cache, where the gate never looks and agents cannot write.
/// `--no-cache` leaves it on: it decides no verdict, the tools check what changed.
fn tool_cache_dir(repo: Option<&RepoPaths>) -> Option<PathBuf> {
    let repo = repo?;
    Some(if repo.orch_dir().is_dir() {
        repo.orch_dir().join("cache/tools")
    } else {
        repo.git_dir.join("orch/tool-cache")
    })
}

/// `--only` names (comma-separated or repeated), each once: the eight dimensions (or their
/// aliases) and the custom ones of `quality`; an unknown name exits `code`.
pub(crate) fn parse_dimensions(
    list: &[String],
    quality: &orch_core::QualityConfig,
    code: i32,
) -> CliResult<Vec<Dimension>> {
    let mut out = Vec::new();
    for name in list
        .iter()
        .flat_map(|s| s.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let custom = || {
            quality
                .custom
                .contains_key(name)
                .then(|| Dimension::custom(name).ok())
                .flatten()
        };
        let d = Dimension::parse(name).or_else(custom).ok_or_else(|| {
            let known: Vec<&str> = orch_core::QUALITY_DIMENSIONS
                .into_iter()
                .chain(quality.custom.keys().map(String::as_str))
                .collect();
            CliError::new(
                code,
                format!(
                    "unknown dimension `{}`; dimensions are {}",
                    orch_core::sanitize_line(name),
                    known.join(", ")
                ),
            )
        })?;
        if !out.contains(&d) {
            out.push(d);
        }
    }
    Ok(out)
}

fn gate_error(err: GateError) -> CliError {
    let code = match &err {
        GateError::NotADirectory { .. } => exit_code::NOT_FOUND,
        GateError::Base { .. } | GateError::BaseWithoutGit { .. } => exit_code::INVALID_INPUT,
        _ => exit_code::FAILURE,
    };
    CliError::new(code, chain(&err))
}

fn print_report(path: &Path, r: &QualityReport) {
    let toolchains = if r.toolchains.is_empty() {
        "no known toolchain".to_owned()
    } else {
        r.toolchains.join(", ")
    };
    println!("Quality of {} ({toolchains})", path.display());
    if let Some(task) = &r.task_id {
        println!("Task: {task}");
    }
    let mut notes = Vec::new();
    if let Some(tree) = &r.tree {
        notes.push(format!("tree {}", &tree[..tree.len().min(12)]));
    }
    if let Some(base) = &r.base {
        notes.push(format!("lint and docs on changes since {base}"));
    }
    if r.cached {
        notes.push("cached: this tree was already evaluated".into());
    }
    if !notes.is_empty() {
        println!("{}", notes.join("; "));
    }
    println!();
    println!(
        "  {:<14} {:<8} {:>5} {:>6} {:>7} {:>8}  command",
        "dimension", "status", "score", "weight", "time", "findings"
    );
    for d in &r.dimensions {
        let score = if d.status.ran() {
            format!("{:.2}", d.score)
        } else {
            "-".into()
        };
        let weight = r
            .weights
            .get(&d.dimension)
            .map_or_else(|| "-".to_owned(), |w| format!("{w:.2}"));
        let serious = d
            .findings
            .iter()
            .filter(|f| f.severity >= orch_quality::Severity::Warning)
            .count();
        let command = d.commands.first().cloned().unwrap_or_default();
        let more = if d.commands.len() > 1 {
            format!(" (+{} more)", d.commands.len() - 1)
        } else {
            String::new()
        };
        println!(
            "  {:<14} {:<8} {:>5} {:>6} {:>6.1}s {:>8}  {}{}",
            d.dimension.name(),
            d.status.word(),
            score,
            weight,
            d.duration.as_secs_f64(),
            serious,
            truncate(&command, 60),
            more
        );
    }
    println!();
    let coverage = r
        .test_coverage
        .map(|c| format!("; test coverage {c:.2}%"))
        .unwrap_or_default();
    let verdict = if r.passed {
        "gate passed"
    } else {
        "gate FAILED"
    };
    println!(
        "Overall {:.2} {} ({verdict}; threshold {:.2}{coverage})",
        r.quality_score, r.status, r.threshold
    );
    for failure in &r.gate_failures {
        println!("  ✗ {failure}");
    }
    if !r.missing_tools.is_empty() {
        println!("Tools to install for a complete check:");
        for missing in &r.missing_tools {
            println!("  {}", missing.line());
        }
    }
    for d in &r.dimensions {
        match &d.status {
            CheckStatus::Skipped { reason } => println!("  skipped {}: {reason}", d.dimension),
            CheckStatus::Error { reason } => println!("  error {}: {reason}", d.dimension),
            _ => {}
        }
    }
    let findings: Vec<_> = r
        .dimensions
        .iter()
        .flat_map(|d| d.findings.iter().map(move |f| (&d.dimension, f)))
        .filter(|(_, f)| f.severity >= orch_quality::Severity::Warning)
        .collect();
    if !findings.is_empty() {
        println!();
        println!("Findings:");
        const SHOWN: usize = 40;
        for (d, f) in findings.iter().take(SHOWN) {
            let code = f
                .code
                .as_deref()
                .map(|c| format!(" [{c}]"))
                .unwrap_or_default();
            println!(
                "  {:<7} {:<13} {}  {}{code}",
                f.severity.word(),
                d.name(),
                f.location(),
                truncate(&f.message, 100)
            );
        }
        if findings.len() > SHOWN {
            println!("  … and {} more (--json shows all)", findings.len() - SHOWN);
        }
    }
}

fn truncate(s: &str, max: usize) -> String {
    let line = s.lines().next().unwrap_or("");
    if line.chars().count() <= max {
        line.to_owned()
    } else {
        format!("{}…", line.chars().take(max - 1).collect::<String>())
    }
}
