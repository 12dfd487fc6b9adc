//! `orch init --claude`: sets a project up for Claude Code (the orch MCP server, hooks that
//! run `orch verify --hook`, `/orch-*` slash commands) without ever overwriting the user's
//! files. Every file is read and planned first; only when all of them can be handled is
//! anything written, each atomically (temporary file, then rename). JSON files are merged
//! key by key; a Markdown command that exists is left alone.

mod commands;
mod json;
mod merge;
pub mod plugin;

use std::io::Write as _;
use std::path::{Path, PathBuf};

use orch_core::exit_code;

use crate::error::{CliError, CliResult};
use json::Json;

pub use merge::HOOK_COMMAND;

/// What `orch init --claude` does, or did, to one file.
#[derive(Debug)]
pub enum Outcome {
    /// A new file.
    Created { what: &'static str },
    /// orch's entries added to the user's file; `left_alone`: parts it could not merge.
    Merged {
        added: Vec<String>,
        left_alone: Vec<String>,
    },
    /// Everything orch adds is already there.
    Unchanged,
    /// The file exists and differs; it is left alone.
    Skipped { reason: String },
}

/// One file: where, what happens, and the text to write (if anything).
#[derive(Debug)]
pub struct Planned {
    pub rel: String,
    pub path: PathBuf,
    pub outcome: Outcome,
    /// What to add by hand, shown when orch had to leave (part of) the file alone.
    by_hand: Option<String>,
    write: Option<String>,
}

/// A JSON settings file orch merges into.
struct JsonFile {
    rel: &'static str,
    what: &'static str,
    new: fn() -> Json,
    merge: fn(&mut Json) -> merge::Merge,
    by_hand: String,
}

/// Reads every file `--claude` touches under `root` and decides what to do with each;
/// writes nothing. Invalid JSON in an existing file is an error (exit 5).
pub fn plan(root: &Path) -> CliResult<Vec<Planned>> {
    let mcp = JsonFile {
        rel: ".mcp.json",
        what: "the orch MCP server (`orch mcp`)",
        new: merge::new_mcp,
        merge: merge::merge_mcp,
        by_hand: format!(
            "in \"mcpServers\", \"{}\": {}",
            merge::SERVER,
            merge::server_entry()
        ),
    };
    let settings = JsonFile {
        rel: ".claude/settings.json",
        what: "hooks running `orch verify --hook`; read-only orch tools allowed",
        new: merge::new_settings,
        merge: merge::merge_settings,
        by_hand: format!(
            "in \"hooks\", for each of {}, the matcher group {{\"hooks\": [{}]}}; in \"permissions\".\"allow\": {}",
            merge::HOOK_EVENTS.join(" and "),
            merge::hook_handler(),
            serde_json::Value::from(merge::allow_rules())
        ),
    };
    let mut planned = vec![plan_json(root, &mcp)?, plan_json(root, &settings)?];
    for command in &commands::COMMANDS {
        let rel = format!(".claude/commands/orch-{}.md", command.name);
        planned.push(plan_text(
            root,
            rel,
            "slash command",
            command.text(merge::PROJECT_TOOLS, "/orch-"),
        )?);
    }
    Ok(planned)
}

/// Writes what [`plan`] decided.
pub fn apply(planned: &[Planned]) -> CliResult {
    for p in planned {
        if let Some(text) = &p.write {
            write_atomic(&p.path, text)?;
        }
    }
    Ok(())
}

/// One line per file under `title`, then what to add by hand where orch left a file alone.
pub fn print(title: &str, planned: &[Planned]) {
    println!("{title}:");
    let width = planned.iter().map(|p| p.rel.len()).max().unwrap_or(0);
    for p in planned {
        let (word, note) = match &p.outcome {
            Outcome::Created { what } => ("created", (*what).to_owned()),
            Outcome::Merged { added, left_alone } => {
                let mut note = format!("added {}", added.join(", "));
                if !left_alone.is_empty() {
                    note.push_str(&format!("; left alone: {}", left_alone.join("; ")));
                }
                ("merged", note)
            }
            Outcome::Unchanged => ("unchanged", String::new()),
            Outcome::Skipped { reason } => ("skipped", format!("{reason}; left alone")),
        };
        let line = format!("  {word:<9} {:<width$}  {note}", p.rel);
        println!("{}", line.trim_end());
    }
    for p in planned {
        let partial = match &p.outcome {
            Outcome::Skipped { .. } => true,
            Outcome::Merged { left_alone, .. } => !left_alone.is_empty(),
            _ => false,
        };
        if let Some(by_hand) = p.by_hand.as_ref().filter(|_| partial) {
            println!("To add by hand to {}: {by_hand}", p.rel);
        }
    }
}

/// Warns when the `orch` that the server and the hooks run cannot be found.
pub fn print_path_note() {
    if !orch_quality::on_path("orch") {
        println!(
            "Note: `orch` is not on PATH; the MCP server and the hook run `orch`, so install it \
             there (or edit the command in both files)."
        );
    }
}

/// What to know once the project's files are there.
pub fn print_notes(planned: &[Planned]) {
    print_path_note();
    if !planned
        .iter()
        .any(|p| matches!(p.outcome, Outcome::Created { .. } | Outcome::Merged { .. }))
    {
        return;
    }
    println!(
        "Claude Code asks once before it starts the project's MCP server from .mcp.json. \
         The hook blocks a session from stopping while `orch verify` fails (exit 2) and lets \
         it stop after {} blocks in a row.",
        super::verify::MAX_BLOCKS
    );
}

fn plan_json(root: &Path, file: &JsonFile) -> CliResult<Planned> {
    let rel = file.rel;
    let path = root.join(rel);
    let by_hand = Some(file.by_hand.clone());
    let Some(text) = read_existing(&path)? else {
        return Ok(Planned {
            rel: rel.to_owned(),
            path,
            outcome: Outcome::Created { what: file.what },
            by_hand,
            write: Some((file.new)().to_pretty("  ")),
        });
    };
    let body = text.trim_start_matches('\u{feff}');
    let mut doc = if body.trim().is_empty() {
        Json::Object(Vec::new())
    } else {
        Json::parse(body).map_err(|e| invalid(rel, format!("is not valid JSON ({e})")))?
    };
    if !doc.is_object() {
        return Err(invalid(
            rel,
            format!("must hold a JSON object; it holds {}", doc.kind()),
        ));
    }
    let merged = (file.merge)(&mut doc);
    let outcome = match (merged.added.is_empty(), merged.left_alone.is_empty()) {
        (true, true) => Outcome::Unchanged,
        (true, false) => Outcome::Skipped {
            reason: merged.left_alone.join("; "),
        },
        (false, _) => Outcome::Merged {
            added: merged.added,
            left_alone: merged.left_alone,
        },
    };
    let write = matches!(outcome, Outcome::Merged { .. }).then(|| {
        let text = doc.to_pretty(&json::indent_of(body));
        // The file's line endings are kept too.
        if body.contains("\r\n") {
            text.replace('\n', "\r\n")
        } else {
            text
        }
    });
    Ok(Planned {
        rel: rel.to_owned(),
        path,
        outcome,
        by_hand,
        write,
    })
}

pub(super) fn plan_text(
    root: &Path,
    rel: String,
    what: &'static str,
    text: String,
) -> CliResult<Planned> {
    let path = root.join(&rel);
    if path.is_dir() {
        return Ok(Planned {
            rel,
            path,
            outcome: Outcome::Skipped {
                reason: "a directory is in the way".into(),
            },
            by_hand: None,
            write: None,
        });
    }
    let (outcome, write) = match read_existing(&path)? {
        None => (Outcome::Created { what }, Some(text)),
        Some(existing) if existing == text => (Outcome::Unchanged, None),
        Some(_) => (
            Outcome::Skipped {
                reason: "exists and differs".into(),
            },
            None,
        ),
    };
    Ok(Planned {
        rel,
        path,
        outcome,
        by_hand: None,
        write,
    })
}

fn invalid(rel: &str, what: String) -> CliError {
    CliError::new(exit_code::INVALID_INPUT, format!("{rel} {what}"))
        .with_hint("fix or move the file, then run `orch init --claude` again; nothing was written")
}

/// The file's text, `None` when it does not exist.
fn read_existing(path: &Path) -> CliResult<Option<String>> {
    match std::fs::read(path) {
        Ok(bytes) => String::from_utf8(bytes).map(Some).map_err(|_| {
            CliError::new(
                exit_code::INVALID_INPUT,
                format!("{} is not UTF-8 text", path.display()),
            )
            .with_hint(
                "fix or move the file, then run `orch init --claude` again; nothing was written",
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(CliError::io(path.display(), e)),
    }
}

/// Replaces `path` (through a symbolic link, to its target) in one rename, keeping the
/// permissions of the file it replaces.
fn write_atomic(path: &Path, text: &str) -> CliResult {
    use std::os::unix::fs::PermissionsExt as _;
    let is_link = path
        .symlink_metadata()
        .is_ok_and(|m| m.file_type().is_symlink());
    let target = if is_link {
        std::fs::canonicalize(path).map_err(|e| CliError::io(path.display(), e))?
    } else {
        path.to_owned()
    };
    let dir = target.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| CliError::io(dir.display(), e))?;
    let io = |e: std::io::Error| CliError::io(target.display(), e);
    let mut tmp = tempfile::Builder::new()
        .prefix(".orch-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(io)?;
    tmp.write_all(text.as_bytes()).map_err(io)?;
    tmp.as_file().sync_all().map_err(io)?;
    let permissions = std::fs::metadata(&target)
        .map(|m| m.permissions())
        .unwrap_or_else(|_| std::fs::Permissions::from_mode(0o644));
    tmp.as_file().set_permissions(permissions).map_err(io)?;
    tmp.persist(&target).map_err(|e| io(e.error))?;
    Ok(())
}
