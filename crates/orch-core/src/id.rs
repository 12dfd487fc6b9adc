//! Validated identifiers.
//!
//! Every id that can reach a shell, a tmux session name, a git branch name or a path goes
//! through [`validate_name`] first. The accepted alphabet is deliberately small: ASCII letters,
//! digits, `-` and `_`, starting with a letter or digit, at most [`MAX_ID_LEN`] bytes. That
//! excludes every shell metacharacter, whitespace, `/` and `..` (path escape), `.` and `:`
//! (tmux target separators), and the characters git forbids in ref names.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Longest id accepted, in bytes.
pub const MAX_ID_LEN: usize = 64;

/// Why a string is not a valid id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdError {
    /// The string is empty.
    #[error("{kind} id is empty")]
    Empty {
        /// Which kind of id (`task`, `epic`).
        kind: &'static str,
    },
    /// The string is longer than [`MAX_ID_LEN`].
    #[error("{kind} id `{value}` is {len} bytes long; at most {MAX_ID_LEN} are allowed")]
    TooLong {
        /// Which kind of id.
        kind: &'static str,
        /// The rejected value (truncated for display).
        value: String,
        /// Its length in bytes.
        len: usize,
    },
    /// The string contains a character outside the safe alphabet.
    #[error(
        "{kind} id `{value}` contains {found:?}; only ASCII letters, digits, `-` and `_` are allowed"
    )]
    BadChar {
        /// Which kind of id.
        kind: &'static str,
        /// The rejected value.
        value: String,
        /// The first offending character.
        found: char,
    },
    /// The string starts with `-` or `_`.
    #[error("{kind} id `{value}` must start with a letter or a digit")]
    BadStart {
        /// Which kind of id.
        kind: &'static str,
        /// The rejected value.
        value: String,
    },
}

/// Checks that `value` is safe to use as an id of the given `kind` anywhere orch puts ids:
/// shell words, tmux session names, git branch names and file names.
pub fn validate_name(kind: &'static str, value: &str) -> Result<(), IdError> {
    if value.is_empty() {
        return Err(IdError::Empty { kind });
    }
    if value.len() > MAX_ID_LEN {
        let shown: String = value.chars().take(MAX_ID_LEN).collect();
        return Err(IdError::TooLong {
            kind,
            value: format!("{shown}…"),
            len: value.len(),
        });
    }
    if let Some(found) = value
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
    {
        return Err(IdError::BadChar {
            kind,
            value: value.escape_debug().to_string(),
            found,
        });
    }
    if !value.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err(IdError::BadStart {
            kind,
            value: value.to_owned(),
        });
    }
    Ok(())
}

/// Turns free text (an epic name, a PRD heading) into a safe slug: lowercase ASCII letters and
/// digits separated by single `-`, at most `max_len` bytes. Returns `None` when nothing usable
/// is left (for example text with no ASCII letters or digits).
pub fn slugify(text: &str, max_len: usize) -> Option<String> {
    let mut out = String::new();
    let mut pending_dash = false;
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            if pending_dash && !out.is_empty() {
                out.push('-');
            }
            pending_dash = false;
            out.push(c.to_ascii_lowercase());
        } else {
            pending_dash = true;
        }
        if out.len() >= max_len.min(MAX_ID_LEN) {
            break;
        }
    }
    let trimmed = out.trim_end_matches('-');
    (!trimmed.is_empty()).then(|| trimmed.to_owned())
}

macro_rules! safe_id {
    ($(#[$meta:meta])* $name:ident, $kind:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(String);

        impl $name {
            /// Validates and wraps `value`.
            pub fn new(value: impl Into<String>) -> Result<Self, IdError> {
                let value = value.into();
                validate_name($kind, &value)?;
                Ok(Self(value))
            }

            /// The id as a string slice; always safe for shells, branch names and paths.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::new(s)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let raw = String::deserialize(deserializer)?;
                Self::new(raw).map_err(serde::de::Error::custom)
            }
        }
    };
}

safe_id!(
    /// A task id such as `TASK-BA-001` (see [`TaskId::from_parts`]). Any string of the safe
    /// alphabet is accepted so hand-written plans may use their own scheme.
    TaskId,
    "task"
);

safe_id!(
    /// An epic id such as `BA` or `backend-api`; it names the branch `orch/epic/<id>`.
    EpicId,
    "epic"
);

impl TaskId {
    /// Builds the conventional id `TASK-<CODE>-<NNN>` from an epic code and a number, as in
    /// the article (`TASK-BA-001`). The code is upper-cased; it must itself be a safe name.
    pub fn from_parts(code: &str, number: u32) -> Result<Self, IdError> {
        validate_name("epic code", code)?;
        Self::new(format!("TASK-{}-{number:03}", code.to_ascii_uppercase()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_conventional_ids() {
        assert_eq!(TaskId::new("TASK-BA-001").unwrap().as_str(), "TASK-BA-001");
        assert_eq!(TaskId::from_parts("ba", 7).unwrap().as_str(), "TASK-BA-007");
        assert!(EpicId::new("backend_api-2").is_ok());
    }

    #[test]
    fn rejects_everything_unsafe() {
        for bad in [
            "", "../etc", "a/b", "a b", "a;rm", "$(x)", "`x`", "a.b", "a:b", "-rf", "_x", "é",
            "a\nb", "a..b", "HEAD~1", "a@{0}", "x*", "'q'", "\"q\"", "a|b", "a&b", "a>b",
        ] {
            assert!(TaskId::new(bad).is_err(), "{bad:?} must be rejected");
        }
        assert!(TaskId::new("x".repeat(MAX_ID_LEN + 1)).is_err());
        assert!(TaskId::new("x".repeat(MAX_ID_LEN)).is_ok());
    }

    #[test]
    fn error_names_the_character() {
        let err = TaskId::new("TASK/1").unwrap_err();
        assert_eq!(
            err.to_string(),
            "task id `TASK/1` contains '/'; only ASCII letters, digits, `-` and `_` are allowed"
        );
    }

    #[test]
    fn serde_validates() {
        let ok: TaskId = serde_json::from_str("\"TASK-A-001\"").unwrap();
        assert_eq!(ok.as_str(), "TASK-A-001");
        assert!(serde_json::from_str::<TaskId>("\"../x\"").is_err());
    }

    #[test]
    fn slugs() {
        assert_eq!(
            slugify("Backend API (v2)!", 32).as_deref(),
            Some("backend-api-v2")
        );
        assert_eq!(slugify("  --  ", 32), None);
        assert_eq!(slugify("日本語", 32), None);
        assert_eq!(slugify("abcdef", 3).as_deref(), Some("abc"));
    }
}
