//! Predicted file scope per task, and the conflicts that follow from overlapping scopes.
//! The prediction is a convention (where such work usually lives), written into the plan so
//! a person can correct it; the worktree layer later reports changes outside it.

use orch_core::{Category, EpicId, Task, TaskId, scope_groups};
use serde::Serialize;

use crate::text::{domain_words_in_order, has_word};

/// Tasks that must not run at once: they share a file scope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Conflict {
    /// The scope entry they all touch (or lie within).
    pub scope: String,
    /// The tasks, in plan order.
    pub tasks: Vec<TaskId>,
}

/// The files a task is expected to touch: the paths the PRD names for it (in backticks),
/// with their tests, or else a guess from its category and main noun.
pub fn predict_files(title: &str, text: &str, category: Category, epic: &EpicId) -> Vec<String> {
    let named = named_paths(title, text);
    if !named.is_empty() {
        return named;
    }
    let noun = domain_words_in_order(title)
        .into_iter()
        .next()
        .or_else(|| domain_words_in_order(text).into_iter().next())
        .unwrap_or_else(|| epic.as_str().to_owned());
    let noun = noun.to_ascii_lowercase();
    let has = |w: &str| has_word(text, w).is_some();
    match category {
        Category::Database => vec!["migrations/**".into(), format!("src/db/{noun}*")],
        Category::Api => vec![format!("src/api/{noun}*"), "src/api/mod*".into()],
        Category::Frontend => vec![format!("web/src/{noun}*")],
        Category::Infra if has("ci") || has("pipeline") => vec![".github/workflows/**".into()],
        Category::Infra if has("docker") || has("dockerfile") || has("compose") => {
            vec![
                "Dockerfile".into(),
                "docker-compose.yml".into(),
                ".dockerignore".into(),
            ]
        }
        Category::Infra => vec![format!("deploy/{noun}*")],
        Category::Testing if has("end-to-end") || has("e2e") => vec!["tests/e2e/**".into()],
        Category::Testing if has("load test") || has("benchmark") => {
            vec![format!("benches/{noun}*")]
        }
        Category::Testing => vec![format!("tests/{noun}*")],
        Category::Docs => vec![format!("docs/{noun}*")],
        _ => vec![format!("src/{noun}/**")],
    }
}

/// Relative file paths written in backticks (`src/app.py`, `docs/guide.md`), each followed
/// by the place its tests conventionally live (`tests/test_app*`, `tests/app*`). API routes (`/login`),
/// commands (`cargo test`) and names without a directory or extension are not paths.
fn named_paths(title: &str, text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for source in [title, text] {
        for (i, part) in source.split('`').enumerate() {
            let looks_like_path = i % 2 == 1
                && !part.is_empty()
                && !part.starts_with('/')
                && !part.contains("..")
                && part
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "/._-*".contains(c))
                && part.rsplit('/').next().is_some_and(|name| {
                    name.rsplit_once('.')
                        .is_some_and(|(stem, ext)| !stem.is_empty() && (1..=5).contains(&ext.len()))
                });
            if !looks_like_path || out.iter().any(|p| p == part) {
                continue;
            }
            out.push(part.to_owned());
            let is_test = part.starts_with("tests/") || part.contains("test");
            let (stem, ext) = part
                .rsplit('/')
                .next()
                .and_then(|n| n.rsplit_once('.'))
                .unwrap_or_default();
            let code = [
                "py", "rs", "js", "ts", "tsx", "jsx", "go", "rb", "java", "kt", "c", "cc", "cpp",
                "cs", "php", "swift",
            ]
            .contains(&ext);
            if code && !is_test && stem != "__init__" && stem != "mod" {
                // A literal prefix per module keeps tasks on different modules apart (a
                // `tests/*x*` glob would overlap every test file).
                let tests = if ext == "py" {
                    format!("tests/test_{stem}*")
                } else {
                    format!("tests/{stem}*")
                };
                if !out.contains(&tests) {
                    out.push(tests);
                }
            }
        }
    }
    out
}

/// The groups of tasks whose predicted scopes overlap: linear in the scopes, where listing
/// every pair would grow with the square of the tasks sharing one.
pub fn conflicts(tasks: &[Task]) -> Vec<Conflict> {
    scope_groups(tasks)
        .into_iter()
        .map(|g| Conflict {
            scope: g.scope.unwrap_or_default(),
            tasks: g.tasks.iter().map(|&i| tasks[i].id.clone()).collect(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_named_in_backticks_are_the_scope() {
        let epic = EpicId::new("E").unwrap();
        let files = predict_files(
            "Slugify: `textkit/slug.py`",
            "turns titles into slugs; see `README.md`; `POST /login`, `cargo test`",
            Category::Backend,
            &epic,
        );
        assert_eq!(files, ["textkit/slug.py", "tests/test_slug*", "README.md"]);
        let guessed = predict_files("Login page", "a `/login` route", Category::Backend, &epic);
        assert_eq!(guessed, ["src/login/**"]);
    }

    #[test]
    fn scopes_by_kind() {
        let epic = EpicId::new("backend").unwrap();
        assert_eq!(
            predict_files(
                "PostgreSQL schema for users",
                "PostgreSQL schema for users",
                Category::Database,
                &epic
            ),
            vec!["migrations/**", "src/db/postgresql*"]
        );
        assert_eq!(
            predict_files(
                "CI pipeline",
                "CI pipeline: build, lint, test",
                Category::Infra,
                &epic
            ),
            vec![".github/workflows/**"]
        );
    }
}
