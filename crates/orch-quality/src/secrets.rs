//! The built-in secrets scan: API keys, tokens and private keys committed to the tree. It
//! needs no tool, so it runs for every language, always.

use regex::Regex;

use crate::report::{Finding, Severity};

/// Files larger than this are not read (generated data, not code).
const MAX_BYTES: u64 = 1024 * 1024;

/// A line with this marker is not reported: a documented false positive.
pub const ALLOW_MARKER: &str = "orch:allow-secret";

pub(crate) struct SecretScanner {
    rules: Vec<(&'static str, Regex, Severity)>,
    assignment: Regex,
}

impl SecretScanner {
    pub fn new() -> SecretScanner {
        SecretScanner {
            rules: orch_core::SECRET_PATTERNS
                .iter()
                .map(|(name, re)| (*name, Regex::new(re).expect("secret regex"), Severity::High))
                .collect(),
            assignment: Regex::new(
                r#"(?i)\b(api[_-]?key|secret(?:[_-]?key)?|password|passwd|access[_-]?token|auth[_-]?token|client[_-]?secret)\b["']?\s*[:=]\s*["']([^"'\s]{12,})["']"#,
            )
            .expect("assignment regex"),
        }
    }

    /// Findings in one file's text; secrets are never echoed, only their kind.
    pub fn scan(&self, file: &str, text: &str) -> Vec<Finding> {
        let mut out = Vec::new();
        for (n, line) in text.lines().enumerate() {
            if line.contains(ALLOW_MARKER) {
                continue;
            }
            let at = |sev, msg: String| Finding::at(file, Some(n as u32 + 1), sev, msg);
            let mut hit = false;
            for (name, re, sev) in &self.rules {
                if re.is_match(line) {
                    out.push(at(*sev, format!("{name} in the source")).with_code("secret"));
                    hit = true;
                    break;
                }
            }
            if hit {
                continue;
            }
            if let Some(m) = self.assignment.captures(line) {
                let value = &m[2];
                if !looks_like_placeholder(value) && entropy(value) >= 3.0 {
                    out.push(
                        at(
                            Severity::High,
                            format!(
                                "hard-coded {} (a literal of {} characters)",
                                m[1].to_lowercase(),
                                value.len()
                            ),
                        )
                        .with_code("secret"),
                    );
                }
            }
        }
        out
    }

    /// Reads and scans a file under `root`; binary and oversized files are skipped.
    pub fn scan_file(&self, root: &std::path::Path, file: &str) -> Vec<Finding> {
        let path = root.join(file);
        if path.metadata().map(|m| m.len() > MAX_BYTES).unwrap_or(true) {
            return Vec::new();
        }
        let Ok(bytes) = std::fs::read(&path) else {
            return Vec::new();
        };
        if bytes[..bytes.len().min(8192)].contains(&0) {
            return Vec::new();
        }
        self.scan(file, &String::from_utf8_lossy(&bytes))
    }
}

fn looks_like_placeholder(value: &str) -> bool {
    let v = value.to_ascii_lowercase();
    [
        "example",
        "changeme",
        "change_me",
        "your_",
        "your-",
        "xxxx",
        "placeholder",
        "dummy",
        "redacted",
        "<",
        "${",
        "{{",
        "env",
        "todo",
        "secret",
    ]
    .iter()
    .any(|p| v.contains(p))
        || v.chars().all(|c| c == v.chars().next().unwrap_or('x'))
}

/// Shannon entropy in bits per character.
fn entropy(s: &str) -> f64 {
    let mut counts = std::collections::HashMap::new();
    for c in s.chars() {
        *counts.entry(c).or_insert(0usize) += 1;
    }
    let n = s.chars().count() as f64;
    counts
        .values()
        .map(|&k| {
            let p = k as f64 / n;
            -p * p.log2()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_keys_not_placeholders() {
        let s = SecretScanner::new();
        let key = format!("{}{}", "AKIA", "Z7Q2XK4M9B3N5P6R");
        assert_eq!(s.scan("a.py", &format!("KEY = '{key}'")).len(), 1);
        assert_eq!(
            s.scan("a.py", "api_key = \"q8Zr3LmP0xV7tKw2Yb5N\"").len(),
            1
        );
        assert!(s.scan("a.py", "api_key = os.environ['API_KEY']").is_empty());
        assert!(
            s.scan("a.py", "password = \"your_password_here\"")
                .is_empty()
        );
        assert!(
            s.scan("a.py", &format!("KEY = '{key}'  # {ALLOW_MARKER}"))
                .is_empty()
        );
        let pem = "-----BEGIN OPENSSH PRIVATE KEY-----"; // orch:allow-secret
        assert_eq!(s.scan("k.pem", pem)[0].severity, Severity::High);
    }
}
