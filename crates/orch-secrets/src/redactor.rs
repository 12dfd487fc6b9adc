//! [`Redactor`]: keeps secrets out of what orch shows (the dashboard's responses and feed,
//! the remote-control replies). Agent logs, failure summaries and the log lines quoted in
//! PM messages are whatever an agent printed, and an agent may print a key. What the
//! [`Detector`] finds and the values of this process's secret environment variables
//! (`ANTHROPIC_API_KEY`, `SLACK_WEBHOOK_URL`, …) become `[redacted]`. JSON documents are
//! redacted string by string, so the JSON stays JSON.

use std::borrow::Cow;

use crate::Detector;

use crate::REDACTED;

/// Shortest environment value treated as a secret: shorter ones (`1`, `true`) would redact
/// ordinary text.
const MIN_SECRET_VALUE: usize = 8;

/// The detector plus known secret values.
#[derive(Debug)]
pub struct Redactor {
    detector: &'static Detector,
    values: Vec<String>,
}

impl Redactor {
    /// The detector plus `values` (the dashboard's own token, say).
    pub fn new(values: impl IntoIterator<Item = String>) -> Redactor {
        let mut values: Vec<String> = values
            .into_iter()
            .filter(|v| v.len() >= MIN_SECRET_VALUE)
            .collect();
        // Longest first, so that a value containing another is replaced whole.
        values.sort_by_key(|v| std::cmp::Reverse(v.len()));
        values.dedup();
        Redactor {
            detector: Detector::shared(),
            values,
        }
    }

    /// [`Redactor::new`] with the values of every environment variable whose name says it
    /// is a secret.
    pub fn from_env(extra: impl IntoIterator<Item = String>) -> Redactor {
        let from_env = std::env::vars_os().filter_map(|(name, value)| {
            let name = name.to_str()?;
            crate::is_secret_name(name)
                .then(|| value.into_string().ok())
                .flatten()
        });
        Redactor::new(from_env.chain(extra))
    }

    /// One text with its secrets replaced.
    pub fn redact_text<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut out = self.detector.redact(text);
        for value in &self.values {
            if out.contains(value.as_str()) {
                out = Cow::Owned(out.replace(value.as_str(), REDACTED));
            }
        }
        out
    }

    /// A JSON document with the secrets in its strings replaced; borrowed when there was
    /// none. Text that is not JSON is redacted as text.
    pub fn redact<'a>(&self, json: &'a str) -> Cow<'a, str> {
        let Ok(mut value) = serde_json::from_str::<serde_json::Value>(json) else {
            return self.redact_text(json);
        };
        if !self.redact_value(&mut value) {
            return Cow::Borrowed(json);
        }
        Cow::Owned(value.to_string())
    }

    /// Redacts the strings inside `value`; whether any changed.
    fn redact_value(&self, value: &mut serde_json::Value) -> bool {
        match value {
            serde_json::Value::String(s) => match self.redact_text(s) {
                Cow::Borrowed(_) => false,
                Cow::Owned(clean) => {
                    *s = clean;
                    true
                }
            },
            serde_json::Value::Array(items) => items
                .iter_mut()
                .fold(false, |changed, v| self.redact_value(v) | changed),
            serde_json::Value::Object(map) => map
                .values_mut()
                .fold(false, |changed, v| self.redact_value(v) | changed),
            _ => false,
        }
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
        let clean = redactor.redact_text(&text);
        assert!(
            !clean.contains(&anthropic) && !clean.contains("hunter2-but-longer"),
            "{clean}"
        );
        assert!(clean.contains("short stays"), "{clean}");
        assert!(matches!(
            redactor.redact("\"nothing here\""),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn json_stays_json() {
        let token = format!("ghp_{}", "x".repeat(36));
        let redactor = Redactor::new([r#"has"quote-inside"#.to_owned()]);
        let doc =
            serde_json::json!({ "line": format!("pushed with {token}"), "q": "has\"quote-inside", "n": [1, {"deep": token}] })
                .to_string();
        let clean = redactor.redact(&doc);
        let parsed: serde_json::Value = serde_json::from_str(&clean).unwrap();
        assert_eq!(parsed["line"], "pushed with [redacted]");
        assert_eq!(parsed["q"], "[redacted]");
        assert_eq!(parsed["n"][1]["deep"], "[redacted]");
    }
}
