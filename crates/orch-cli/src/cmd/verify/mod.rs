//! `orch verify`: the quality gate and the integrity checks on the working tree as it is now
//! (uncommitted and untracked changes included) against a base, for Claude Code hooks and
//! CI. The exit code is Claude Code's hook contract: 0 passes, 2 blocks with the findings on
//! stderr (what Claude reads to fix them), anything else is an error of verify itself
//! (not a repository, an unknown base), which a hook treats as non-blocking.
//!
//! The gate runs on the tree in place, with the project's own environment; its tools write
//! their caches outside it and lock files are put back (orch-quality). Unlike `orch run`,
//! which checks an export of the commit, verify cannot run the base's copy of a changed test
//! beside the new one without writing into the tree, so a weakened test is caught by the
//! integrity comparison only.

mod git;
mod guard;
mod hook;
mod report;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use orch_core::{Config, exit_code};
use orch_quality::{Baseline, Dimension, Gate, GateError, GateOptions, QualityReport};

use crate::cli::VerifyArgs;
use crate::error::{CliError, CliResult, chain};
use crate::repo::RepoPaths;

pub use hook::MAX_BLOCKS;

/// The exit code of a failed verification: the one that makes a Claude Code hook block.
pub const BLOCK: i32 = 2;

/// `start`: `-C DIR` or the current directory; `dir_given`: `-C` was given, and wins over
/// the hook input's `cwd`.
pub fn run(start: &Path, dir_given: bool, args: &VerifyArgs) -> CliResult {
    let input = if args.hook {
        Some(hook::read_stdin()?)
    } else {
        None
    };
    let start: PathBuf = match input.as_ref().and_then(|i| i.cwd.as_ref()) {
        Some(cwd) if !dir_given => start.join(cwd),
        _ => start.to_owned(),
    };
    // A hook must never block on a typo of its own: exit 5, not 2.
    // Custom dimensions of `[quality.custom]` may be selected too (a broken configuration
    // is reported by the evaluation itself).
    let quality = RepoPaths::discover(&start)
        .ok()
        .and_then(|repo| repo.config().ok())
        .map(|config| config.quality)
        .unwrap_or_default();
    let only =
        crate::cmd::quality::parse_dimensions(&args.only, &quality, exit_code::INVALID_INPUT)?;
    let tree = git::tree_at(&start)?;
    let base = git::resolve_base(&tree.root, args.base.as_deref())?;
    let changed = git::changed_files(&tree.root, &base.commit)?;
    let guard = input
        .as_ref()
        .map(|i| hook::LoopGuard::new(&tree.git_dir, i));
    if changed.is_empty() {
        if let Some(guard) = &guard {
            guard.passed();
        }
        if args.json {
            crate::output::print_json(&serde_json::json!({
                "passed": true,
                "base": {"label": base.label, "commit": base.commit},
                "changed": [],
                "failures": [],
                "findings": [],
                "report": null,
            }))?;
        } else {
            println!("orch verify: nothing changed since {}", base.describe());
        }
        return Ok(());
    }
    let baseline = git::baseline(&tree.root, &base.commit, &changed);
    let report = evaluate(
        &tree.root,
        &base.commit,
        &changed,
        &baseline,
        &only,
        args.no_cache,
    )?;
    let mut extra = Vec::new();
    if !(only.is_empty() || only.contains(&Dimension::Tests)) {
        // The gate checks integrity with the tests dimension; verify always does.
        extra.extend(orch_quality::review_integrity(&tree.root, &baseline));
    }
    extra.extend(guard::review(&tree.root, &baseline));
    let verdict = report::Verdict {
        base: &base,
        changed: changed.len(),
        report: &report,
        extra: &extra,
    };
    if args.json {
        let listed: Vec<&String> = changed.iter().collect();
        crate::output::print_json(&verdict.json(&listed))?;
    }
    if verdict.passed() {
        if let Some(guard) = &guard {
            guard.passed();
        }
        if !args.json {
            println!("{}", verdict.summary());
        }
        return Ok(());
    }
    if let Some(hook::OnFailure::Release(blocks)) = guard.as_ref().map(hook::LoopGuard::failed) {
        // Claude Code shows `systemMessage` to the user; stderr of a hook that exits 0 only
        // reaches its debug log.
        let message = format!(
            "orch verify still fails after {blocks} blocks in a row, so Claude was allowed to \
             stop. Run `orch verify` to see the findings."
        );
        println!("{}", serde_json::json!({ "systemMessage": message }));
        eprintln!("warning: {message}\n{}", verdict.failure_text());
        return Ok(());
    }
    Err(CliError::new(BLOCK, verdict.failure_text()).after_json_document(args.json))
}

/// The gate on the tree in place, diff-aware against the base, with its cache where
/// `orch quality` keeps it (sealed in an initialised repository).
fn evaluate(
    root: &Path,
    base: &str,
    changed: &BTreeSet<String>,
    baseline: &Baseline,
    only: &[Dimension],
    no_cache: bool,
) -> CliResult<QualityReport> {
    let repo = RepoPaths::discover(root).ok();
    let config = match &repo {
        Some(repo) => repo.config()?,
        None => Config::default(),
    };
    let initialised = repo.as_ref().filter(|r| r.orch_dir().is_dir());
    let cache_dir = match (&repo, initialised) {
        _ if no_cache => None,
        (_, Some(repo)) => Some(repo.orch_dir().join("cache/quality")),
        (Some(repo), None) => Some(repo.git_dir.join("orch/quality-cache")),
        (None, None) => None,
    };
    let cache_seal = match initialised {
        Some(repo) if cache_dir.is_some() => {
            let key = repo.orch_dir().join(orch_core::GATE_CACHE_KEY_FILE);
            Some(
                orch_quality::CacheSeal::load_or_create(&key)
                    .map_err(|e| CliError::io(key.display(), e))?,
            )
        }
        _ => None,
    };
    let options = GateOptions {
        only: only.to_vec(),
        base: Some(base.to_owned()),
        changed: Some(changed.clone()),
        baseline: Some(Arc::new(baseline.clone())),
        cache_dir,
        cache_seal,
        ..GateOptions::default()
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::io("cannot start the async runtime", e))?;
    runtime
        .block_on(Gate::new(config.quality).evaluate(root, &options))
        .map_err(|err| {
            let code = match &err {
                GateError::Base { .. } | GateError::BaseWithoutGit { .. } => {
                    exit_code::INVALID_INPUT
                }
                GateError::NotADirectory { .. } => exit_code::NOT_FOUND,
                _ => exit_code::FAILURE,
            };
            CliError::new(
                code,
                format!("the quality gate could not run: {}", chain(&err)),
            )
        })
}
