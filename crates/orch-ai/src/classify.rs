//! Category of a requirement, from the earliest keyword it contains.

use orch_core::Category;

use crate::text::has_word;

/// Keywords per category. The category whose keyword appears first in the text wins, so
/// "Unit tests for hashing" is testing and "JWT issuing …; depends on the user schema" is
/// security.
const KEYWORDS: &[(Category, &[&str])] = &[
    (
        Category::Infra,
        &[
            "ci pipeline",
            "ci",
            "pipeline",
            "docker",
            "dockerfile",
            "docker-compose",
            "deploy",
            "deployment",
            "kubernetes",
            "helm",
            "terraform",
            "secrets",
            "environment variables",
            "install",
            "installation",
            "container",
        ],
    ),
    (
        Category::Testing,
        &[
            "test",
            "tests",
            "e2e",
            "end-to-end",
            "qa",
            "coverage",
            "benchmark",
            "load test",
            "backtester",
        ],
    ),
    (
        Category::Database,
        &[
            "schema",
            "migration",
            "migrations",
            "database",
            "sqlite",
            "postgresql",
            "postgres",
            "mysql",
            "table",
            "tables",
            "stored",
            "retention",
            "index",
        ],
    ),
    (
        Category::Frontend,
        &[
            "page",
            "pages",
            "ui",
            "form",
            "button",
            "header",
            "css",
            "frontend",
            "screen",
            "dashboard",
            "view",
            "inline errors",
            "modal",
        ],
    ),
    (
        Category::Api,
        &[
            "rest",
            "endpoint",
            "endpoints",
            "api",
            "route",
            "routes",
            "webhook",
            "jwks",
            "grpc",
            "graphql",
            "get /",
            "post /",
        ],
    ),
    (
        Category::Security,
        &[
            "hash",
            "hashed",
            "argon2id",
            "jwt",
            "token",
            "tokens",
            "rate limiting",
            "rate limit",
            "auth",
            "oauth",
            "encrypt",
            "encryption",
            "audit log",
            "permission",
            "permissions",
            "risk check",
        ],
    ),
    (
        Category::Docs,
        &["document", "documentation", "readme", "guide", "docs"],
    ),
];

/// The category of a requirement's text.
pub fn category_of(text: &str) -> Category {
    let mut best: Option<(usize, Category)> = None;
    for (category, words) in KEYWORDS {
        for word in *words {
            if let Some(at) = has_word(text, word)
                && best.is_none_or(|(b, _)| at < b)
            {
                best = Some((at, *category));
            }
        }
    }
    best.map_or(Category::Backend, |(_, c)| c)
}

/// Minutes of agent time: a base per category plus a little per extra clause.
pub fn estimate_of(category: Category, text: &str) -> u32 {
    let base = match category {
        Category::Docs => 30,
        Category::Database | Category::Infra | Category::Testing => 45,
        _ => 60,
    };
    let clauses = text.matches([',', ';']).count() + text.matches(" and ").count();
    (base + 15 * clauses as u32).min(180)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn earliest_keyword_wins() {
        for (text, want) in [
            (
                "CI pipeline: build, lint, test on every push.",
                Category::Infra,
            ),
            (
                "Unit tests for hashing, token issue and verification",
                Category::Testing,
            ),
            (
                "JWT issuing and a JWKS endpoint; depends on the user schema.",
                Category::Security,
            ),
            (
                "PostgreSQL schema for users, sessions and reset tokens, with migrations.",
                Category::Database,
            ),
            (
                "Sign-up, login and password-reset pages.",
                Category::Frontend,
            ),
            ("REST API: `POST /signup`", Category::Api),
            ("Position sizing from account equity", Category::Backend),
            (
                "Dockerfile and docker-compose for local development",
                Category::Infra,
            ),
        ] {
            assert_eq!(category_of(text), want, "{text}");
        }
    }
}
