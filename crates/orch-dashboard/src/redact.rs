//! Keeps secrets out of what the dashboard serves. Agent logs, failure summaries and the log
//! lines quoted in PM messages are whatever an agent printed, and an agent may print a key.
//! Every API response and every feed frame passes through [`Redactor::redact`]: well-known
//! key formats ([`orch_core::SECRET_PATTERNS`]) and the values of this process's secret
//! environment variables (`ANTHROPIC_API_KEY`, `SLACK_WEBHOOK_URL`, …) become
//! `[redacted]`.

use std::borrow::Cow;

use regex::Regex;

/// What a secret is replaced with.
pub(crate) const REDACTED: &str = "[redacted]";

/// Shortest environment value treated as a secret: shorter ones (`1`, `true`) would redact
/// ordinary text.
const MIN_SECRET_VALUE: usize = 8;

#[derive(Debug)]
pub(crate) struct Redactor {
    patterns: Regex,
    values: Vec<String>,
}

impl Redactor {
    /// The known formats plus `values` (the dashboard's own token, say).
    pub(crate) fn new(values: impl IntoIterator<Item = String>) -> Redactor {
        let alternation = orch_core::SECRET_PATTERNS
            .iter()
            .map(|(_, re)| format!("(?:{re})"))
            .collect::<Vec<_>>()
            .join("|");
        let mut values: Vec<String> = values
            .into_iter()
            // Only values that read the same inside a JSON string can be found there; a value
            // with quotes or backslashes is left to the patterns rather than risk the JSON.
            .filter(|v| {
                v.len() >= MIN_SECRET_VALUE
                    && v.bytes()
                        .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\')
            })
            .collect();
        // Longest first, so that a value containing another is replaced whole.
        values.sort_by_key(|v| std::cmp::Reverse(v.len()));
        values.dedup();
        Redactor {
            patterns: Regex::new(&alternation).expect("the secret patterns compile"),
            values,
        }
    }

    /// [`Redactor::new`] with the values of every environment variable whose name says it
    /// is a secret.
    pub(crate) fn from_env(extra: impl IntoIterator<Item = String>) -> Redactor {
        let from_env = std::env::vars_os().filter_map(|(name, value)| {
            let name = name.to_str()?;
            orch_core::is_secret_name(name)
                .then(|| value.into_string().ok())
                .flatten()
        });
        Redactor::new(from_env.chain(extra))
    }

    pub(crate) fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut out = self.patterns.replace_all(text, REDACTED);
        for value in &self.values {
            if out.contains(value.as_str()) {
                out = Cow::Owned(out.replace(value.as_str(), REDACTED));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_formats_and_given_values_are_replaced() {
        let anthropic = format!("sk-ant-{}", "a1B2".repeat(8));
        let redactor = Redactor::new(["hunter2-but-longer".to_owned(), "short".to_owned()]);
        let text = format!("key={anthropic} pw=hunter2-but-longer short stays");
        assert_eq!(
            redactor.redact(&text),
            "key=[redacted] pw=[redacted] short stays"
        );
        assert!(matches!(redactor.redact("nothing here"), Cow::Borrowed(_)));
    }

    #[test]
    fn json_stays_json() {
        let token = format!("ghp_{}", "x".repeat(36));
        let redactor = Redactor::new([r#"has"quote-inside"#.to_owned()]);
        let doc =
            serde_json::json!({ "line": format!("pushed with {token}"), "q": "has\"quote-inside" })
                .to_string();
        let clean = redactor.redact(&doc);
        let parsed: serde_json::Value = serde_json::from_str(&clean).unwrap();
        assert_eq!(parsed["line"], "pushed with [redacted]");
    }
}
