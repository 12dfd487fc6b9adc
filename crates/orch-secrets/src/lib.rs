//! One secret detector for orch: [`Detector`].
//!
//! The quality gate reports secrets in source; the dashboard and the remote-control
//! endpoints redact them from whatever an agent printed. Both ask the same detector, so a
//! form one of them knows is never missed by the other. It finds:
//!
//! - well-known formats: private keys (header and body), AWS access key ids, AWS secret
//!   access keys (by their name), GitHub, GitLab, Slack, Stripe, Anthropic, OpenAI, Google,
//!   npm, PyPI and SendGrid tokens, Slack webhooks, JSON Web Tokens;
//! - passwords in URLs (`postgres://user:pw@host`), `Bearer` credentials, and values
//!   assigned to secret-like names (`password = "…"`, `API_KEY: …`);
//! - the same hidden by a split into adjacent string literals (`"AKIA" + "…"`), by JSON or
//!   shell escaping (`\/`, `\n` inside a key) or by base64.
//!
//! Matches say what they are, never the secret itself.
//!
//! # Example
//!
//! ```
//! use orch_secrets::Detector;
//!
//! let detector = Detector::shared();
//! let line = concat!("conn = \"postgres://app:", "Xq93-vL2@db.internal/app\"");
//! let found = detector.find(line);
//! assert_eq!(found[0].kind, "password in a URL");
//! assert_eq!(detector.redact(line), "conn = \"postgres://app:[redacted]@db.internal/app\"");
//! ```

#![deny(missing_docs)]

mod base64;
mod detector;
mod redactor;

pub use detector::{Detector, Found, REDACTED};
pub use redactor::Redactor;

/// Whether an environment variable's name says it holds a secret (`ANTHROPIC_API_KEY`,
/// `GITHUB_TOKEN`, `DB_PASSWORD`, …).
pub fn is_secret_name(name: &str) -> bool {
    let name = name.to_ascii_uppercase();
    [
        "KEY",
        "TOKEN",
        "SECRET",
        "PASSWORD",
        "PASSWD",
        "CREDENTIAL",
        "WEBHOOK",
    ]
    .iter()
    .any(|word| name.contains(word))
}
