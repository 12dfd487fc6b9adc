//! Predicted file scope per task, and the conflicts that follow from overlapping scopes.
//! The prediction is a convention (where such work usually lives), written into the plan so
//! a person can correct it; the worktree layer later reports changes outside it.

use orch_core::{Category, EpicId, Task, TaskId, overlapping_scopes};
use serde::Serialize;

use crate::text::{domain_words_in_order, has_word};

/// Two tasks that must not run at once, and the files they would share.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Conflict {
    /// The earlier task in plan order.
    pub a: TaskId,
    /// The later one.
    pub b: TaskId,
    /// Overlapping scope entries, `a`'s then `b`'s.
    pub files: Vec<(String, String)>,
}

/// The files a task is expected to touch.
pub fn predict_files(title: &str, text: &str, category: Category, epic: &EpicId) -> Vec<String> {
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

/// Every pair of tasks whose predicted scopes overlap.
pub fn conflicts(tasks: &[Task]) -> Vec<Conflict> {
    overlapping_scopes(tasks)
        .into_iter()
        .filter(|o| {
            let (a, b) = (&tasks[o.a], &tasks[o.b]);
            !a.depends_on.contains(&b.id) && !b.depends_on.contains(&a.id)
        })
        .map(|o| {
            let (a, b) = (&tasks[o.a], &tasks[o.b]);
            Conflict {
                a: a.id.clone(),
                b: b.id.clone(),
                files: o
                    .entries
                    .iter()
                    .map(|&(ea, eb)| (a.files[ea].clone(), b.files[eb].clone()))
                    .collect(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

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
