//! Predicted file scope per task, and the conflicts that follow from overlapping scopes.
//! The prediction is a convention (where such work usually lives), written into the plan so
//! a person can correct it; the worktree layer later reports changes outside it.

use orch_core::{Category, EpicId, Task, TaskId, scope_groups};
use serde::Serialize;

use crate::repo_map::RepoMap;
use crate::text::{domain_words_in_order, has_word};

/// Tasks that must not run at once: they share a file scope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Conflict {
    /// The scope entry they all touch (or lie within).
    pub scope: String,
    /// The tasks, in plan order.
    pub tasks: Vec<TaskId>,
}

/// What scope prediction reads about one requirement.
#[derive(Debug, Clone, Copy)]
pub struct ScopeRequest<'a> {
    /// Its name as written (`Device registry`).
    pub name: &'a str,
    /// Its head nouns, stemmed (from the evidence index).
    pub heads: &'a [String],
    /// The whole requirement.
    pub text: &'a str,
    pub category: Category,
}

/// The files a task is expected to touch, in this order of trust: the paths the PRD names
/// for it (in backticks); the repository's existing modules its name matches; a new module
/// where the repository's layout puts one, named after its head noun; and, when none of
/// that is known, a broad scope (the source root) rather than a wrong narrow one. Test
/// locations are always part of it, and nothing points outside the repository.
pub fn predict_scope(request: &ScopeRequest<'_>, repo: &RepoMap) -> Vec<String> {
    let mut out = scope_without_tests_check(request, repo);
    out.retain(|p| inside_repository(p));
    if out.is_empty() {
        out = broad(repo);
    }
    let mut seen = std::collections::HashSet::new();
    out.retain(|p| seen.insert(p.clone()));
    out
}

/// The files a task is expected to touch, without a repository (conventional layout).
pub fn predict_files(title: &str, text: &str, category: Category, _epic: &EpicId) -> Vec<String> {
    let heads: Vec<String> = domain_words_in_order(title).into_iter().take(1).collect();
    predict_scope(
        &ScopeRequest {
            name: title,
            heads: &heads,
            text,
            category,
        },
        &RepoMap::empty(),
    )
}

fn scope_without_tests_check(request: &ScopeRequest<'_>, repo: &RepoMap) -> Vec<String> {
    let ScopeRequest {
        name,
        heads,
        text,
        category,
    } = *request;
    let named = named_paths(name, text, repo);
    if !named.is_empty() {
        return named;
    }
    let has = |w: &str| has_word(text, w).is_some();
    let dir_or = |candidates: &[&str], fallback: &str| -> String {
        candidates
            .iter()
            .find(|d| repo.top_level.iter().any(|t| t == &format!("{d}/")))
            .map_or(fallback.to_owned(), |d| format!("{d}/**"))
    };
    match category {
        Category::Infra if has("ci") || has("pipeline") || has("github actions") => {
            if repo.top_level.iter().any(|t| t == ".gitlab-ci.yml") {
                return vec![".gitlab-ci.yml".into()];
            }
            return vec![".github/workflows/**".into()];
        }
        Category::Infra if has("docker") || has("dockerfile") || has("compose") => {
            return vec![
                "Dockerfile".into(),
                "docker-compose.yml".into(),
                ".dockerignore".into(),
            ];
        }
        Category::Infra => {
            return vec![dir_or(
                &["infra", "terraform", "deploy", "k8s", "helm", "ops"],
                "deploy/**",
            )];
        }
        Category::Testing if has("end-to-end") || has("e2e") => {
            return vec![dir_or(&["e2e", "tests/e2e"], "tests/e2e/**")];
        }
        _ => {}
    }
    // Words of the name to look for in the repository: heads first.
    let mut words: Vec<String> = heads.to_vec();
    for w in domain_words_in_order(name) {
        if !words.contains(&w) {
            words.push(w);
        }
    }
    // A kind of thing (`Notes schema`) is filed under what it is for (`notes`).
    let subject_first: Vec<String> = heads
        .iter()
        .filter(|h| !KIND_HEADS.contains(&h.as_str()))
        .cloned()
        .collect();
    let noun = noun_of(name, &subject_first)
        .or_else(|| fallback_noun(name, text))
        .or_else(|| noun_of(name, heads));
    if category == Category::Docs {
        return match &noun {
            Some(n) => vec![format!("docs/{n}*")],
            None => vec!["docs/**".into()],
        };
    }
    if category == Category::Testing {
        // Tests of something: where that something's tests go, and nothing else.
        let modules: Vec<String> = words
            .iter()
            .filter_map(|w| repo.modules_named(w).first().map(|m| m.path.clone()))
            .take(1)
            .collect();
        let stem = modules
            .first()
            .map(|p| {
                let last = p.rsplit('/').next().unwrap_or(p);
                last.split('.').next().unwrap_or(last).to_owned()
            })
            .or(noun.clone());
        if let Some(stem) = stem {
            let tests = test_paths(&stem, repo);
            if !tests.is_empty() {
                return tests;
            }
        }
    }
    // Existing modules the name matches (the first word that matches any).
    for w in &words {
        let found = repo.modules_named(w);
        if found.is_empty() {
            continue;
        }
        let mut out = Vec::new();
        for m in found.into_iter().take(2) {
            out.push(if m.is_dir {
                format!("{}/**", m.path)
            } else {
                m.path.clone()
            });
            let stem = m.path.rsplit('/').next().unwrap_or(&m.path);
            let stem = stem.split('.').next().unwrap_or(stem);
            out.extend(test_paths(stem, repo));
        }
        return out;
    }
    // A new module where this repository (or the usual layout) keeps one.
    let Some(noun) = noun else {
        return broad(repo);
    };
    let ui_root = ["web", "frontend", "client", "ui"]
        .iter()
        .find(|d| repo.top_level.iter().any(|t| t == &format!("{d}/")));
    let root = match ui_root {
        Some(ui) if category == Category::Frontend => format!("{ui}/src"),
        _ => repo.source_root.clone().unwrap_or_else(|| "src".into()),
    };
    let mut out = vec![match repo.language() {
        Some("go") => format!("{root}/{noun}/**"),
        _ => format!("{root}/{noun}*"),
    }];
    if category == Category::Database {
        out.push(dir_or(
            &["migrations", "db/migrations", "alembic"],
            "migrations/**",
        ));
    }
    out.extend(test_paths(&noun, repo));
    out
}

/// Heads that say what kind of thing, not which (stems).
const KIND_HEADS: &[&str] = &[
    "schema",
    "tabl",
    "model",
    "migration",
    "stor",
    "storag",
    "databas",
    "db",
    "api",
    "endpoint",
    "page",
    "screen",
    "form",
    "view",
    "test",
    "unit",
    "job",
    "worker",
    "servic",
];

/// Where tests of module `stem` go in this repository.
fn test_paths(stem: &str, repo: &RepoMap) -> Vec<String> {
    if repo.conventions.tests_next_to_code && repo.test_root.is_none() {
        // `src/billing*` already covers `billing_test.go` and `billing.test.ts`.
        return Vec::new();
    }
    let root = repo.test_root.clone().unwrap_or_else(|| "tests".into());
    match repo.language() {
        Some("python") => vec![format!("{root}/test_{stem}*")],
        Some(_) => vec![format!("{root}/{stem}*")],
        // Unknown language: both usual spellings.
        None => vec![format!("{root}/{stem}*"), format!("{root}/test_{stem}*")],
    }
}

/// The whole source and test tree: for a task whose place cannot be told.
fn broad(repo: &RepoMap) -> Vec<String> {
    let root = repo.source_root.clone().unwrap_or_else(|| "src".into());
    let mut out = vec![format!("{root}/**")];
    if !repo.conventions.tests_next_to_code || repo.test_root.is_some() {
        out.push(format!(
            "{}/**",
            repo.test_root.clone().unwrap_or_else(|| "tests".into())
        ));
    }
    out
}

/// The head noun as a file name: `Geofences` → `geofence`, `MQTT broker cluster` →
/// `broker`; `None` for a name without one (or not in Latin letters).
fn noun_of(name: &str, heads: &[String]) -> Option<String> {
    let head = heads.first()?;
    let word = name
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
        .find(|w| {
            let lower = w.to_ascii_lowercase();
            crate::text::stem(&lower) == *head || lower == *head
        })?;
    let mut slug: String = word
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if slug.len() > 3 && slug.ends_with('s') && !slug.ends_with("ss") {
        slug.pop();
    }
    (!slug.is_empty() && slug.chars().any(|c| c.is_ascii_alphabetic())).then_some(slug)
}

/// A name without a usable head (`REST API`): the first endpoint's path word, else the
/// first domain word of the name.
fn fallback_noun(name: &str, text: &str) -> Option<String> {
    let word_like = |seg: &&str| {
        !seg.is_empty()
            && seg
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            && seg.starts_with(|c: char| c.is_ascii_alphabetic())
            && !(seg.len() <= 3 && seg.starts_with('v'))
    };
    let from_endpoint = crate::text::code_spans(text).into_iter().find_map(|span| {
        let path = span.trim_start_matches(|c: char| c.is_ascii_uppercase() || c == ' ');
        path.strip_prefix('/')?
            .split(['/', '?', '{'])
            .find(word_like)
            .map(str::to_owned)
    });
    let first_domain_word = |text: &str| {
        text.split(|c: char| !c.is_ascii_alphanumeric())
            .find(|w| {
                w.len() >= 3
                    && !domain_words_in_order(w).is_empty()
                    && !KIND_HEADS.contains(&crate::text::stem(&w.to_ascii_lowercase()).as_str())
            })
            .map(str::to_owned)
    };
    let word = from_endpoint
        .or_else(|| first_domain_word(name))
        .or_else(|| first_domain_word(text))?;
    noun_of(&word, &[crate::text::stem(&word.to_ascii_lowercase())])
}

/// Relative, inside the repository: no absolute path, no `..`, no drive letter, no control
/// characters.
pub(crate) fn inside_repository(path: &str) -> bool {
    !path.is_empty()
        && !path.starts_with('/')
        && !path.starts_with('\\')
        && !path.starts_with('~')
        && !path.contains(':')
        && !path.split(['/', '\\']).any(|part| part == "..")
        && !path.chars().any(char::is_control)
}

/// Relative file paths written in backticks (`src/app.py`, `docs/guide.md`), each followed
/// by the place its tests conventionally live (`tests/test_app*`, `tests/app*`). API routes (`/login`),
/// commands (`cargo test`) and names without a directory or extension are not paths.
fn named_paths(title: &str, text: &str, repo: &RepoMap) -> Vec<String> {
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
                let tests = if repo.is_empty() {
                    if ext == "py" {
                        vec![format!("tests/test_{stem}*")]
                    } else {
                        vec![format!("tests/{stem}*")]
                    }
                } else {
                    test_paths(stem, repo)
                };
                for t in tests {
                    if !out.contains(&t) {
                        out.push(t);
                    }
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

    fn scope(name: &str, heads: &[&str], category: Category, repo: &RepoMap) -> Vec<String> {
        let heads: Vec<String> = heads.iter().map(|h| (*h).to_owned()).collect();
        predict_scope(
            &ScopeRequest {
                name,
                heads: &heads,
                text: name,
                category,
            },
            repo,
        )
    }

    #[test]
    fn paths_named_in_backticks_are_the_scope() {
        let epic = EpicId::new("E").unwrap();
        let files = predict_files(
            "Slugify: `textkit/slug.py`",
            "turns titles into slugs; see `README.md`; `POST /login`, `cargo test`, `../../etc/passwd`",
            Category::Backend,
            &epic,
        );
        assert_eq!(files, ["textkit/slug.py", "tests/test_slug*", "README.md"]);
    }

    #[test]
    fn existing_modules_and_their_tests() {
        let repo = RepoMap::from_paths(
            [
                "Cargo.toml",
                "src/lib.rs",
                "src/billing/mod.rs",
                "src/search.rs",
                "tests/billing.rs",
            ],
            |_| None,
        );
        assert_eq!(
            scope("Billing refunds API", &["refund"], Category::Api, &repo),
            ["src/billing/**", "tests/billing*"]
        );
        assert_eq!(
            scope("Search ranking", &["ranking"], Category::Backend, &repo),
            ["src/search.rs", "tests/search*"]
        );
        // A new module where this repository keeps them, with its tests.
        assert_eq!(
            scope("Geofences", &["geofenc"], Category::Backend, &repo),
            ["src/geofence*", "tests/geofence*"]
        );
        // No noun to go by: the whole tree, not a guess.
        assert_eq!(
            scope("従業員マスタ", &["マスタ"], Category::Backend, &repo),
            ["src/**", "tests/**"]
        );
    }

    #[test]
    fn scopes_by_kind() {
        let empty = RepoMap::empty();
        assert_eq!(
            scope("Billing schema", &["schema"], Category::Database, &empty),
            [
                "src/billing*",
                "migrations/**",
                "tests/billing*",
                "tests/test_billing*"
            ]
        );
        assert_eq!(
            scope(
                "CI pipeline: build, lint, test",
                &["pipelin"],
                Category::Infra,
                &empty
            ),
            [".github/workflows/**"]
        );
        let python = RepoMap::from_paths(
            ["shop/__init__.py", "shop/cart.py", "tests/test_cart.py"],
            |_| None,
        );
        assert_eq!(
            scope("Checkout flow", &["flow"], Category::Backend, &python),
            ["shop/flow*", "tests/test_flow*"]
        );
        assert!(!inside_repository("../../etc/passwd"));
        assert!(!inside_repository("/etc/passwd"));
        assert!(inside_repository("src/a.rs"));
    }
}
