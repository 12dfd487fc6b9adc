//! The sample project of `orch demo`: a small Python library with tests, a PRD for five more
//! modules, and a replay script with the changes a coding agent would make, including one
//! that fails the quality gate once (a wrong test expectation fixed on the retry) and one
//! that claims to be done without changing anything until a human answers its escalation.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use orch_core::{Config, Plan, TaskId};
use orch_escalation::{answer_stored, decode_stored};
use orch_store::Store;

use crate::EngineError;
use crate::replay::{ReplayAttempt, ReplayScript};

/// The PRD the demo plans.
pub const DEMO_PRD: &str = r#"# PRD: textkit

## Overview
textkit is a small Python library of text utilities used by our publishing tools. It
ships as a package with unit tests; every function has a docstring.

## Requirements

### Text functions
- Slugify: `textkit/slug.py` turns a title into a URL slug (lowercase, words joined by `-`).
- Word count: `textkit/counting.py` counts words and sentences in a text.
- Truncate: `textkit/truncate.py` shortens a text to a number of words, adding an ellipsis.

### Reports
- Summary report: `textkit/report.py` builds a one-paragraph summary of a text; depends on the
  word count. Depends on truncate.
- Reading time: `textkit/reading.py` estimates minutes to read a text; depends on the word count.
"#;

/// The demo's configuration: three sessions, one automatic retry without backoff, then a
/// question.
const DEMO_CONFIG: &str = r#"# orch demo configuration (see `orch init` for every key)
[run]
parallel = 3
stop_grace_seconds = 5

[escalation]
max_retries = 1
backoff_initial_seconds = 0
"#;

const FILES: &[(&str, &str)] = &[
    (
        "README.md",
        "# textkit\n\nSmall text utilities for our publishing tools.\n\nRun the tests with `python3 -m pytest` (or `python3 -m unittest`).\n",
    ),
    (
        "pyproject.toml",
        "[project]\nname = \"textkit\"\nversion = \"0.1.0\"\nrequires-python = \">=3.9\"\n",
    ),
    (
        "textkit/__init__.py",
        "\"\"\"textkit: small text utilities.\"\"\"\n",
    ),
    ("tests/__init__.py", ""),
    (
        "textkit/words.py",
        r#""""Splitting text into words, shared by the other modules."""

import re

_WORD = re.compile(r"[A-Za-z0-9']+")


def words(text: str) -> list[str]:
    """Return the words of ``text`` in order."""
    return _WORD.findall(text)
"#,
    ),
    (
        "tests/test_words.py",
        r#""""Tests of textkit.words."""

import unittest

from textkit.words import words


class WordsTest(unittest.TestCase):
    """words() splits on anything that is not a letter or digit."""

    def test_splits_punctuation(self) -> None:
        """Punctuation separates words."""
        self.assertEqual(words("Hello, world! It's 2024."), ["Hello", "world", "It's", "2024"])

    def test_empty(self) -> None:
        """An empty text has no words."""
        self.assertEqual(words(""), [])
"#,
    ),
];

fn module(name: &str) -> (&'static str, &'static str, &'static str) {
    match name {
        "slug" => (
            r#""""URL slugs from titles."""

from textkit.words import words


def slugify(title: str) -> str:
    """Return ``title`` as a lowercase URL slug, words joined by ``-``."""
    return "-".join(word.lower().replace("'", "") for word in words(title))
"#,
            r#""""Tests of textkit.slug."""

import unittest

from textkit.slug import slugify


class SlugifyTest(unittest.TestCase):
    """slugify() keeps letters and digits only."""

    def test_title(self) -> None:
        """A title becomes lowercase words joined by dashes."""
        self.assertEqual(slugify("Hello, World: It's 2024!"), "hello-world-its-2024")

    def test_empty(self) -> None:
        """An empty title gives an empty slug."""
        self.assertEqual(slugify("  "), "")
"#,
            "",
        ),
        "counting" => (
            r#""""Counting words and sentences."""

import re

from textkit.words import words


def word_count(text: str) -> int:
    """Return the number of words in ``text``."""
    return len(words(text))


def sentence_count(text: str) -> int:
    """Return the number of sentences in ``text`` (ended by ., ! or ?)."""
    return len([s for s in re.split(r"[.!?]+", text) if s.strip()])
"#,
            r#""""Tests of textkit.counting."""

import unittest

from textkit.counting import sentence_count, word_count


class CountingTest(unittest.TestCase):
    """Words and sentences are counted."""

    def test_words(self) -> None:
        """Words are counted across punctuation."""
        self.assertEqual(word_count("One two. Three!"), 3)

    def test_sentences(self) -> None:
        """Sentences end with ., ! or ?."""
        self.assertEqual(sentence_count("One two. Three! Four?"), 3)
        self.assertEqual(sentence_count(""), 0)
"#,
            "",
        ),
        "truncate" => (
            r#""""Shortening texts to a number of words."""

from textkit.words import words


def truncate(text: str, limit: int) -> str:
    """Return the first ``limit`` words of ``text``, with an ellipsis if any were cut."""
    found = words(text)
    if len(found) <= limit:
        return " ".join(found)
    return " ".join(found[:limit]) + "..."
"#,
            r#""""Tests of textkit.truncate."""

import unittest

from textkit.truncate import truncate


class TruncateTest(unittest.TestCase):
    """truncate() keeps whole words."""

    def test_cuts_with_ellipsis(self) -> None:
        """A long text is cut after the limit and marked."""
        self.assertEqual(truncate("one two three four", 2), "one two...")

    def test_short_text_is_kept(self) -> None:
        """A text within the limit is returned whole."""
        self.assertEqual(truncate("one two", 5), "one two")
"#,
            // The first attempt's test expects the wrong ending: the gate fails, the retry
            // gets the failing test as feedback and fixes it.
            r#""""Tests of textkit.truncate."""

import unittest

from textkit.truncate import truncate


class TruncateTest(unittest.TestCase):
    """truncate() keeps whole words."""

    def test_cuts_with_ellipsis(self) -> None:
        """A long text is cut after the limit and marked."""
        self.assertEqual(truncate("one two three four", 2), "one two…")

    def test_short_text_is_kept(self) -> None:
        """A text within the limit is returned whole."""
        self.assertEqual(truncate("one two", 5), "one two")
"#,
        ),
        "report" => (
            r#""""One-paragraph summaries of texts."""

from textkit.counting import sentence_count, word_count
from textkit.truncate import truncate


def summary(text: str, excerpt_words: int = 8) -> str:
    """Return a one-line summary: counts and the start of ``text``."""
    return (
        f"{word_count(text)} words, {sentence_count(text)} sentences: "
        f"{truncate(text, excerpt_words)}"
    )
"#,
            r#""""Tests of textkit.report."""

import unittest

from textkit.report import summary


class SummaryTest(unittest.TestCase):
    """summary() combines counts and an excerpt."""

    def test_summary(self) -> None:
        """Counts come first, then the excerpt."""
        self.assertEqual(
            summary("One two three. Four five!", excerpt_words=2),
            "5 words, 2 sentences: One two...",
        )
"#,
            "",
        ),
        _ => (
            r#""""Reading-time estimates."""

import math

from textkit.counting import word_count

WORDS_PER_MINUTE = 200


def reading_minutes(text: str) -> int:
    """Return the whole minutes needed to read ``text`` (at least 1 for any words)."""
    count = word_count(text)
    return math.ceil(count / WORDS_PER_MINUTE) if count else 0
"#,
            r#""""Tests of textkit.reading."""

import unittest

from textkit.reading import reading_minutes


class ReadingTest(unittest.TestCase):
    """reading_minutes() rounds up."""

    def test_rounds_up(self) -> None:
        """201 words take two minutes."""
        self.assertEqual(reading_minutes("word " * 201), 2)

    def test_empty(self) -> None:
        """Nothing to read takes no time."""
        self.assertEqual(reading_minutes(""), 0)
"#,
            "",
        ),
    }
}

/// The demo project: a git repository with `.orch/` initialised, the plan stored and the
/// replay script written.
#[derive(Debug)]
pub struct DemoProject {
    /// The repository.
    pub root: PathBuf,
    /// The stored plan.
    pub plan: Plan,
    /// The replay script (under `.orch/`).
    pub script: PathBuf,
    /// Why the planner chose its strategy.
    pub strategy_reason: String,
}

impl DemoProject {
    /// Creates the project in `root` (an empty or missing directory). On failure nothing
    /// of it is left: the directory is emptied again (or removed if this call made it).
    pub fn create(root: &Path) -> Result<DemoProject, EngineError> {
        let existed = root.exists();
        let created = DemoProject::write_all(root);
        if created.is_err()
            && !matches!(
                created,
                Err(EngineError::Config {
                    key: "demo directory",
                    ..
                })
            )
        {
            if existed {
                for entry in std::fs::read_dir(root).into_iter().flatten().flatten() {
                    let path = entry.path();
                    let _ = if path.is_dir() {
                        std::fs::remove_dir_all(&path)
                    } else {
                        std::fs::remove_file(&path)
                    };
                }
            } else {
                let _ = std::fs::remove_dir_all(root);
            }
        }
        created
    }

    fn write_all(root: &Path) -> Result<DemoProject, EngineError> {
        if root.exists()
            && std::fs::read_dir(root)
                .map_err(EngineError::io("cannot read", root))?
                .next()
                .is_some()
        {
            return Err(EngineError::Config {
                key: "demo directory",
                problem: format!("{} is not empty", root.display()),
            });
        }
        for (path, content) in FILES {
            write(root, path, content)?;
        }
        write(root, "PRD.md", DEMO_PRD)?;
        git(root, &["init", "-q", "-b", "main"])?;
        git(root, &["add", "-A"])?;
        git(
            root,
            &[
                "commit",
                "-q",
                "-m",
                "textkit: words and the project layout",
            ],
        )?;
        write(root, ".orch/orch.toml", DEMO_CONFIG)?;
        let exclude = root.join(".git/info/exclude");
        let mut text = std::fs::read_to_string(&exclude).unwrap_or_default();
        text.push_str("/.orch/\n/.worktrees/\n");
        std::fs::write(&exclude, text).map_err(EngineError::io("cannot write", &exclude))?;
        Config::load(&root.join(".orch/orch.toml")).map_err(|e| EngineError::Config {
            key: "demo configuration",
            problem: e.to_string(),
        })?;

        let prd = orch_ai::Prd::parse(DEMO_PRD).map_err(|e| EngineError::Config {
            key: "demo PRD",
            problem: e.to_string(),
        })?;
        let outcome = orch_ai::plan_heuristic(&prd, orch_ai::Strategy::Auto);
        let plan = outcome.plan;
        let mut store = Store::open(&root.join(".orch/state.db"))?;
        store.import_plan(&plan, false)?;
        store.refresh_readiness()?;

        let script = script_for(&plan);
        let script_path = root.join(".orch/demo-replay.json");
        std::fs::write(
            &script_path,
            serde_json::to_string_pretty(&script).expect("scripts serialize"),
        )
        .map_err(EngineError::io("cannot write", &script_path))?;
        Ok(DemoProject {
            root: root.to_owned(),
            plan,
            script: script_path,
            strategy_reason: outcome.strategy_reason,
        })
    }
}

/// Which prepared module a planned task is about: the first file of its scope.
fn module_of(task: &orch_core::Task) -> Option<String> {
    let first = task.files.first()?;
    let name = first.strip_prefix("textkit/")?.strip_suffix(".py")?;
    Some(name.to_owned())
}

fn script_for(plan: &Plan) -> ReplayScript {
    let mut script = ReplayScript::default();
    for task in &plan.tasks {
        let Some(name) = module_of(task) else {
            continue;
        };
        let (code, tests, first_tests) = module(&name);
        let files = |tests: &str| {
            BTreeMap::from([
                (format!("textkit/{name}.py"), code.to_owned()),
                (format!("tests/test_{name}.py"), tests.to_owned()),
            ])
        };
        let done = ReplayAttempt {
            say: format!("Implementing textkit/{name}.py with tests."),
            write: files(tests),
            think_ms: 1500,
            api_error: false,
        };
        let attempts = if !first_tests.is_empty() {
            vec![
                ReplayAttempt {
                    write: files(first_tests),
                    ..done.clone()
                },
                ReplayAttempt {
                    say: "The test expected a Unicode ellipsis; fixing the test.".into(),
                    ..done
                },
            ]
        } else if name == "reading" {
            let idle = ReplayAttempt {
                say: "I reviewed the task; reading time is already handled elsewhere. Done.".into(),
                think_ms: 800,
                ..ReplayAttempt::default()
            };
            vec![idle.clone(), idle, done]
        } else {
            vec![done]
        };
        script.tasks.insert(task.id.to_string(), attempts);
    }
    script
}

/// Plays the human of the demo: answers every pending PM message in the store with its
/// recommended option, exactly as `orch msg answer` does, once it has waited `min_age`.
/// Returns the messages answered.
pub fn answer_pending(
    store_path: &Path,
    note: &str,
    min_age: std::time::Duration,
) -> Result<Vec<(String, TaskId, String)>, EngineError> {
    let mut store = Store::open_existing(store_path)?;
    let mut answered = Vec::new();
    for row in store.messages()? {
        let Ok(stored) = decode_stored(&row.id, &row.json) else {
            continue;
        };
        let message = &stored.message;
        let age = time::OffsetDateTime::now_utc() - message.created_at;
        if !message.is_pending() || age < min_age {
            continue;
        }
        let Some(option) = message.recommended().map(|o| o.key.letter().to_string()) else {
            continue;
        };
        let now = time::OffsetDateTime::now_utc();
        let answer = answer_stored(
            std::slice::from_ref(&stored),
            &row.id,
            &option,
            Some(note),
            now,
        )?;
        let done = &answer.answered;
        match store.update_message_if(
            &row.id,
            &answer.expected,
            &done.message.task,
            done.message.state.name(),
            &answer.document,
        ) {
            Ok(_) => answered.push((
                row.id.clone(),
                done.message.task.clone(),
                format!("{option}: {}", done.action),
            )),
            // The runner changed it meanwhile: look again next time.
            Err(orch_store::StoreError::MessageChanged { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(answered)
}

fn write(root: &Path, path: &str, content: &str) -> Result<(), EngineError> {
    let full = root.join(path);
    if let Some(dir) = full.parent() {
        std::fs::create_dir_all(dir).map_err(EngineError::io("cannot create", dir))?;
    }
    std::fs::write(&full, content).map_err(EngineError::io("cannot write", &full))
}

fn git(root: &Path, args: &[&str]) -> Result<(), EngineError> {
    let out = Command::new("git")
        .arg("-C")
        .arg(root)
        .args([
            "-c",
            "user.name=orch demo",
            "-c",
            "user.email=demo@orch.invalid",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .output()
        .map_err(EngineError::io("cannot run git in", root))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(EngineError::Config {
            key: "git",
            problem: format!(
                "git {}: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        })
    }
}
