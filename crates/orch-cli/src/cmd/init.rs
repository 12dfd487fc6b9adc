//! `orch init`, and with `--claude` the Claude Code setup ([`super::claude`]).

use std::io::Write as _;

use orch_core::DEFAULT_CONFIG_TOML;
use orch_store::Store;

use crate::cli::InitArgs;
use crate::error::{CliError, CliResult};
use crate::repo::RepoPaths;

/// Entries orch adds to `.git/info/exclude` (never to the user's `.gitignore`).
const EXCLUDES: [&str; 2] = ["/.orch/", "/.worktrees/"];

pub fn run(repo: &RepoPaths, args: &InitArgs) -> CliResult {
    // Claude Code's files are all read and checked before anything is written: one orch
    // cannot merge leaves the repository as it was.
    let claude = if args.claude {
        Some(super::claude::plan(&repo.root)?)
    } else {
        None
    };
    let plugin = match &args.claude_plugin {
        Some(dir) => Some((dir, super::claude::plugin::plan(dir)?)),
        None => None,
    };
    let orch_dir = repo.orch_dir();
    let mut created = Vec::new();
    for dir in [
        orch_dir.clone(),
        orch_dir.join("instructions"),
        orch_dir.join("logs"),
    ] {
        if !dir.is_dir() {
            std::fs::create_dir_all(&dir).map_err(|e| CliError::io(dir.display(), e))?;
            created.push(relative(repo, &dir));
        }
    }
    let config = repo.config_file();
    if !config.exists() {
        let text = format!(
            "{DEFAULT_CONFIG_TOML}\n{}",
            orch_escalation::DEFAULT_ESCALATION_TOML
        );
        std::fs::write(&config, text).map_err(|e| CliError::io(config.display(), e))?;
        created.push(relative(repo, &config));
    } else {
        // An existing file must still be valid, or every later command would fail.
        repo.config()?;
    }
    let db = repo.state_db();
    let db_existed = db.is_file();
    Store::open(&db)?;
    if !db_existed {
        created.push(relative(repo, &db));
    }
    let excluded = add_excludes(repo)?;

    if created.is_empty() && excluded.is_empty() {
        println!("orch is already initialised in {}", repo.root.display());
    } else {
        println!("Initialised orch in {}", repo.root.display());
        for path in &created {
            println!("  created  {path}");
        }
        for entry in &excluded {
            println!("  excluded {entry} (in .git/info/exclude)");
        }
    }
    if let Some(planned) = &claude {
        super::claude::apply(planned)?;
        super::claude::print("Claude Code", planned);
        super::claude::print_notes(planned);
    }
    if let Some((dir, planned)) = &plugin {
        super::claude::apply(planned)?;
        super::claude::print(&format!("Claude Code plugin in {}", dir.display()), planned);
        if claude.is_none() {
            super::claude::print_path_note();
        }
        println!(
            "Load it with `claude --plugin-dir {}`, or publish it in a plugin marketplace.",
            dir.display()
        );
    }
    println!("Next: `orch plan import <plan.toml>`, then `orch status`.");
    Ok(())
}

fn relative(repo: &RepoPaths, path: &std::path::Path) -> String {
    path.strip_prefix(&repo.root)
        .unwrap_or(path)
        .display()
        .to_string()
}

fn add_excludes(repo: &RepoPaths) -> CliResult<Vec<&'static str>> {
    let path = repo.exclude_file();
    let existing = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(CliError::io(path.display(), e)),
    };
    let present = |entry: &str| {
        let bare = entry.trim_matches('/');
        existing
            .lines()
            .map(str::trim)
            .any(|line| line == entry || line.trim_matches('/') == bare)
    };
    let missing: Vec<&'static str> = EXCLUDES.into_iter().filter(|e| !present(e)).collect();
    if missing.is_empty() {
        return Ok(missing);
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| CliError::io(parent.display(), e))?;
    }
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(|e| CliError::io(path.display(), e))?;
    let mut text = String::new();
    if !existing.is_empty() && !existing.ends_with('\n') {
        text.push('\n');
    }
    text.push_str("# orch: state and task worktrees\n");
    for entry in &missing {
        text.push_str(entry);
        text.push('\n');
    }
    file.write_all(text.as_bytes())
        .map_err(|e| CliError::io(path.display(), e))?;
    Ok(missing)
}
