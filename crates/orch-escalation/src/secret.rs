//! A string that must never be printed: webhook URLs, access tokens, signing secrets.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// What a [`Secret`] shows instead of its value in `Debug` output and when serialized.
pub const REDACTED: &str = "<redacted>";

/// A secret value (a webhook URL, a bearer token, a signing key).
///
/// `Debug` prints [`REDACTED`], there is no `Display`, and serializing writes [`REDACTED`]
/// too, so a secret cannot leave the process through logs, error messages or a saved
/// configuration. The value is only reachable through [`Secret::expose`], at the one place
/// that puts it on the wire.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The value itself. Only for building the request that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the value is empty, only whitespace, or the [`REDACTED`] placeholder (what a
    /// re-loaded serialized configuration holds): in all these cases there is no secret.
    pub fn is_blank(&self) -> bool {
        let v = self.0.trim();
        v.is_empty() || v == REDACTED
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({REDACTED})")
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Secret {
        Secret::new(value)
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Secret {
        Secret::new(value)
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(REDACTED)
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Secret, D::Error> {
        String::deserialize(deserializer).map(Secret)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_shows_the_value() {
        let s = Secret::new("https://hooks.slack.com/services/T0/B0/XYZ");
        assert_eq!(format!("{s:?}"), "Secret(<redacted>)");
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"<redacted>\"");
        assert_eq!(s.expose(), "https://hooks.slack.com/services/T0/B0/XYZ");
        let back: Secret = serde_json::from_str("\"tok\"").unwrap();
        assert_eq!(back.expose(), "tok");
        assert!(Secret::new("  ").is_blank());
        assert!(Secret::new(REDACTED).is_blank());
        assert!(!s.is_blank());
    }
}
