//! The detector: rules, the passes that undo splitting, escaping and base64, and redaction.

use std::borrow::Cow;
use std::ops::Range;
use std::sync::OnceLock;

use regex::{Regex, RegexSet};

/// What a redacted secret becomes.
pub const REDACTED: &str = "[redacted]";

/// One secret found in a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// What it is: `AWS secret access key`, `private key`, `password in a URL`, …
    pub kind: &'static str,
    /// Where it is in the text (bytes): the secret itself, or the whole encoded or split
    /// run that holds it.
    pub range: Range<usize>,
    /// A known format, or a value that cannot be a placeholder: safe to fail a build on.
    /// `false`: a value assigned to a secret-like name that looks weak or generic; worth
    /// redacting, not worth failing for.
    pub certain: bool,
    /// How it was hidden, if it was: `split` (adjacent string literals), `escaped`,
    /// `base64`.
    pub hidden_by: Option<&'static str>,
}

struct Rule {
    kind: &'static str,
    regex: Regex,
    /// The capture group holding the secret (0: the whole match).
    group: usize,
    /// Assignment-like: the value decides whether it is certain.
    judged: bool,
}

/// Detects secrets. Build it once ([`Detector::shared`]): compiling the rules is the
/// expensive part.
pub struct Detector {
    rules: Vec<Rule>,
    prefilter: RegexSet,
    /// Rules that are formats (not assignments): the only ones tried on decoded or
    /// re-joined text.
    formats: Vec<usize>,
    private_key_block: Regex,
    base64_run: Regex,
    concatenation: Regex,
}

impl std::fmt::Debug for Detector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Detector")
            .field("rules", &self.rules.len())
            .finish_non_exhaustive()
    }
}

/// `(kind, pattern, secret group, judged by its value)`.
const RULES: &[(&str, &str, usize, bool)] = &[
    (
        "private key",
        r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----",
        0,
        false,
    ),
    (
        "AWS access key id",
        r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[0-9A-Z]{16}\b",
        0,
        false,
    ),
    (
        "AWS secret access key",
        r#"(?i)(?:aws_?secret_?access_?key|aws_?secret_?key|secret_?access_?key|aws_?secret)["']?\s*(?:[:=]|=>)\s*["']?([A-Za-z0-9/+]{40})(?:[^A-Za-z0-9/+]|$)"#,
        1,
        false,
    ),
    (
        "GitHub token",
        r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})",
        0,
        false,
    ),
    ("GitLab token", r"\bglpat-[A-Za-z0-9_-]{20,}", 0, false),
    ("Slack token", r"\bxox[abposre]-[A-Za-z0-9-]{10,}", 0, false),
    (
        "Slack webhook",
        r"https://hooks\.slack\.com/services/T[A-Za-z0-9]+/B[A-Za-z0-9]+/[A-Za-z0-9]{12,}",
        0,
        false,
    ),
    (
        "Discord webhook",
        r"https://(?:canary\.|ptb\.)?discord(?:app)?\.com/api/webhooks/\d+/[A-Za-z0-9_-]{30,}",
        0,
        false,
    ),
    (
        "Stripe key",
        r"\b(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{20,}",
        0,
        false,
    ),
    (
        "Anthropic API key",
        r"\bsk-ant-[A-Za-z0-9_-]{20,}",
        0,
        false,
    ),
    (
        "OpenAI API key",
        r"\bsk-(?:proj-|svcacct-)?[A-Za-z0-9_-]{32,}",
        0,
        false,
    ),
    ("Google API key", r"\bAIza[0-9A-Za-z_-]{35}\b", 0, false),
    ("npm token", r"\bnpm_[A-Za-z0-9]{36}\b", 0, false),
    ("PyPI token", r"\bpypi-AgE[A-Za-z0-9_-]{50,}", 0, false),
    (
        "SendGrid key",
        r"\bSG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}\b",
        0,
        false,
    ),
    (
        "JSON Web Token",
        r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}",
        0,
        false,
    ),
    (
        "private key material",
        r"(?:^|[^A-Za-z0-9+/])(MII[A-Za-z0-9+/]{60,}={0,2})",
        1,
        false,
    ),
    (
        "password in a URL",
        r#"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s:/@'"]+:([^\s@'"/]{3,})@[^\s/'"]"#,
        1,
        true,
    ),
    (
        "bearer credential",
        r"(?i)\b(?:bearer|token)\s+([A-Za-z0-9._~+/-]{16,}=*)",
        1,
        true,
    ),
    (
        "hard-coded secret",
        r#"(?i)\b[a-z0-9_.-]*(?:password|passwd|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key|client[_-]?secret|credentials?)[a-z0-9_]*["']?\s*(?:[:=]|=>)\s*["']?([^"'\s,;)}\]]{4,})"#,
        1,
        true,
    ),
];

impl Detector {
    /// A detector with every rule compiled.
    pub fn new() -> Detector {
        let rules: Vec<Rule> = RULES
            .iter()
            .map(|(kind, pattern, group, judged)| Rule {
                kind,
                regex: Regex::new(pattern).expect("secret rules compile"),
                group: *group,
                judged: *judged,
            })
            .collect();
        let prefilter =
            RegexSet::new(RULES.iter().map(|r| r.1)).expect("secret rules compile together");
        let formats = rules
            .iter()
            .enumerate()
            .filter(|(_, r)| !r.judged)
            .map(|(i, _)| i)
            .collect();
        Detector {
            rules,
            prefilter,
            formats,
            private_key_block: Regex::new(
                r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|\z)",
            )
            .expect("block rule compiles"),
            base64_run: Regex::new(r"[A-Za-z0-9+/_-]{24,}={0,2}").expect("base64 rule compiles"),
            concatenation: Regex::new(r#"["']\s*(?:\+|\.|\.\.)?\s*["']|\\[/"\\]"#)
                .expect("concatenation rule compiles"),
        }
    }

    /// One detector for the whole process.
    pub fn shared() -> &'static Detector {
        static SHARED: OnceLock<Detector> = OnceLock::new();
        SHARED.get_or_init(Detector::new)
    }

    /// Every secret in `text` (one line or many), overlapping finds merged, in order.
    pub fn find(&self, text: &str) -> Vec<Found> {
        let mut found = Vec::new();
        self.direct(text, 0..self.rules.len(), &mut found);
        for m in self.private_key_block.find_iter(text) {
            // The whole block, body included, not only its header.
            found.push(Found {
                kind: "private key",
                range: m.range(),
                certain: true,
                hidden_by: None,
            });
        }
        self.rejoined(text, &mut found);
        self.decoded(text, &mut found);
        merge(found)
    }

    /// `text` with every secret replaced by [`REDACTED`]; borrowed when there was none.
    pub fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let found = self.find(text);
        if found.is_empty() {
            return Cow::Borrowed(text);
        }
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for f in &found {
            out.push_str(&text[at..f.range.start]);
            out.push_str(REDACTED);
            at = f.range.end;
        }
        out.push_str(&text[at..]);
        Cow::Owned(out)
    }

    fn direct(&self, text: &str, rules: impl Iterator<Item = usize>, found: &mut Vec<Found>) {
        let hits = self.prefilter.matches(text);
        for i in rules.filter(|i| hits.matched(*i)) {
            let rule = &self.rules[i];
            for caps in rule.regex.captures_iter(text) {
                let Some(m) = caps.get(rule.group) else {
                    continue;
                };
                let value = m.as_str();
                let certain = if rule.judged {
                    match judge(value) {
                        Judgement::NotASecret => continue,
                        Judgement::Weak => false,
                        Judgement::Strong => true,
                    }
                } else {
                    true
                };
                found.push(Found {
                    kind: rule.kind,
                    range: m.range(),
                    certain,
                    hidden_by: None,
                });
            }
        }
    }

    /// Adjacent string literals joined (`"AKIA" + "…"`, `"ghp_" "…"`) and `\/`, `\"`, `\\`
    /// unescaped, then the formats tried again; a find covers the whole span it came from.
    fn rejoined(&self, text: &str, found: &mut Vec<Found>) {
        if !self.concatenation.is_match(text) {
            return;
        }
        let mut joined = String::with_capacity(text.len());
        // For each byte of `joined`, where it came from in `text`.
        let mut origin: Vec<usize> = Vec::with_capacity(text.len());
        let mut at = 0;
        for m in self.concatenation.find_iter(text) {
            push_span(&mut joined, &mut origin, text, at..m.start());
            let piece = m.as_str();
            if let Some(escaped) = piece.strip_prefix('\\') {
                joined.push_str(escaped);
                origin.extend(std::iter::repeat_n(m.start(), escaped.len()));
            }
            at = m.end();
        }
        push_span(&mut joined, &mut origin, text, at..text.len());
        let mut again = Vec::new();
        self.direct(&joined, self.formats.iter().copied(), &mut again);
        for f in again {
            let start = origin[f.range.start];
            let end = origin[f.range.end - 1] + 1;
            let end = (end..=text.len())
                .find(|e| text.is_char_boundary(*e))
                .unwrap_or(text.len());
            // Found as it is already: not hidden.
            if found
                .iter()
                .any(|g| g.range.start <= start && end <= g.range.end)
            {
                continue;
            }
            found.push(Found {
                range: start..end,
                hidden_by: Some(if text[start..end].contains('\\') {
                    "escaped"
                } else {
                    "split"
                }),
                ..f
            });
        }
    }

    /// Runs of base64 decoded and looked into with the formats.
    fn decoded(&self, text: &str, found: &mut Vec<Found>) {
        for run in self.base64_run.find_iter(text) {
            let Some(bytes) = crate::base64::decode(run.as_str()) else {
                continue;
            };
            let printable = bytes
                .iter()
                .filter(|b| b.is_ascii_graphic() || b.is_ascii_whitespace())
                .count();
            if bytes.len() < 16 || printable * 10 < bytes.len() * 9 {
                continue;
            }
            let inner = String::from_utf8_lossy(&bytes);
            let mut again = Vec::new();
            self.direct(&inner, self.formats.iter().copied(), &mut again);
            if self.private_key_block.is_match(&inner) {
                again.push(Found {
                    kind: "private key",
                    range: 0..0,
                    certain: true,
                    hidden_by: None,
                });
            }
            if let Some(f) = again.into_iter().next() {
                found.push(Found {
                    kind: f.kind,
                    range: run.range(),
                    certain: true,
                    hidden_by: Some("base64"),
                });
            }
        }
    }
}

impl Default for Detector {
    fn default() -> Self {
        Detector::new()
    }
}

fn push_span(joined: &mut String, origin: &mut Vec<usize>, text: &str, span: Range<usize>) {
    joined.push_str(&text[span.clone()]);
    origin.extend(span);
}

/// Overlapping finds become one (the first kind, the union of ranges), sorted.
fn merge(mut found: Vec<Found>) -> Vec<Found> {
    found.sort_by_key(|f| (f.range.start, std::cmp::Reverse(f.range.end)));
    let mut out: Vec<Found> = Vec::with_capacity(found.len());
    for f in found {
        match out.last_mut() {
            Some(last) if f.range.start < last.range.end => {
                last.range.end = last.range.end.max(f.range.end);
                last.certain |= f.certain;
            }
            _ => out.push(f),
        }
    }
    out
}

enum Judgement {
    /// Code, a reference or a placeholder: `os.environ["X"]`, `${TOKEN}`, `changeme`.
    NotASecret,
    /// Could be a real secret, could be a test value: redact, do not fail for it.
    Weak,
    /// Long and unguessable.
    Strong,
}

fn judge(value: &str) -> Judgement {
    let v = value.to_ascii_lowercase();
    let code_like = v.contains('(')
        || v.starts_with('$')
        || v.starts_with('%')
        || v.starts_with('<')
        || v.starts_with("{{")
        || v.starts_with("process.")
        || v.starts_with("os.")
        || v.starts_with("env")
        || v.starts_with("self.")
        || v.starts_with("settings.")
        || v.starts_with("config")
        || v == "none"
        || v == "null"
        || v == "nil"
        || v == "true"
        || v == "false"
        || v == "undefined";
    let placeholder = [
        "example",
        "changeme",
        "change_me",
        "change-me",
        "your_",
        "your-",
        "xxxx",
        "****",
        "placeholder",
        "dummy",
        "redacted",
        "todo",
        "<",
        "...",
    ]
    .iter()
    .any(|p| v.contains(p))
        || v.chars().all(|c| c == v.chars().next().unwrap_or('x'));
    // Numbers are counts and sizes (`input_tokens: 1234`), not secrets, unless long
    // enough to be a numeric key.
    let numeric = v
        .chars()
        .all(|c| c.is_ascii_digit() || c == '.' || c == '-' || c == '_');
    if code_like || placeholder || (numeric && v.len() < 16) {
        return Judgement::NotASecret;
    }
    if value.len() >= 12 && entropy(value) >= 3.0 {
        Judgement::Strong
    } else {
        Judgement::Weak
    }
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

    // Pieces are joined at run time so this file holds no key a scanner would flag.
    fn j(parts: &[&str]) -> String {
        parts.concat()
    }

    #[test]
    fn every_form_is_found_and_redacted() {
        let d = Detector::new();
        let aws_id = j(&["AKIA", "Z7Q2XK4M9B3N5P6R"]);
        let aws_secret = j(&["wJalrXUtnFEMI/K7MDENG/", "bPxRfiCYq9xK2mZt4Q"]);
        let jwt = j(&[
            "eyJhbGciOiJIUzI1NiJ9",
            ".eyJzdWIiOiIxMjM0NTY3ODkwIn0",
            ".dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
        ]);
        let gh = j(&["ghp_", "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"]);
        let pem = j(&[
            "-----BEGIN RSA ",
            "PRIVATE KEY-----\nMIIEpAIBAAKCAQEA7bq4\nxyzBODYbody\n-----END RSA ",
            "PRIVATE KEY-----",
        ]);
        let cases: Vec<(String, &str, String)> = vec![
            (
                format!("key = '{aws_id}'"),
                "AWS access key id",
                aws_id.clone(),
            ),
            (
                format!("AWS_SECRET_ACCESS_KEY={aws_secret}"),
                "AWS secret access key",
                aws_secret.clone(),
            ),
            (
                format!("aws_secret_access_key = \"{aws_secret}\""),
                "AWS secret access key",
                aws_secret.clone(),
            ),
            (
                format!("Authorization: Bearer {jwt}"),
                "JSON Web Token",
                jwt.clone(),
            ),
            (format!("token {gh}"), "GitHub token", gh.clone()),
            (
                j(&["DATABASE_URL=postgres://app:", "S3cr3t-pw@db:5432/app"]),
                "password in a URL",
                "S3cr3t-pw".into(),
            ),
            (
                "password=hunter2x".into(),
                "hard-coded secret",
                "hunter2x".into(),
            ),
            (pem.clone(), "private key", "MIIEpAIBAAKCAQEA7bq4".into()),
            (
                format!("key = \"{}\" + \"{}\"", &aws_id[..4], &aws_id[4..]),
                "AWS access key id",
                aws_id.clone(),
            ),
            (
                format!("{{\"secret\": \"{}\"}}", aws_secret.replace('/', "\\/")),
                "hard-coded secret",
                "q9xK2mZt4Q".into(),
            ),
            (
                pem.replace('\n', "\\n"),
                "private key",
                "MIIEpAIBAAKCAQEA7bq4".into(),
            ),
            (
                format!("blob: {}", encode(aws_id.as_bytes())),
                "AWS access key id",
                encode(aws_id.as_bytes()),
            ),
            (
                j(&["glpat-", "xYz12345678901234567"]),
                "GitLab token",
                "xYz1234567890".into(),
            ),
            (
                j(&["xoxb-", "1234567890-abcdefghij"]),
                "Slack token",
                "abcdefghij".into(),
            ),
            (
                j(&["sk_live_", "4eC39HqLyjWDarjtT1zdp7dc"]),
                "Stripe key",
                "4eC39HqLyjWDarjtT1zdp7dc".into(),
            ),
        ];
        for (text, kind, secret) in &cases {
            let found = d.find(text);
            assert!(
                found.iter().any(|f| f.kind == *kind),
                "{kind} not found in {text:?}: {found:?}"
            );
            let redacted = d.redact(text);
            assert!(
                !redacted.contains(secret.as_str()),
                "{kind}: {secret:?} survived in {redacted:?}"
            );
        }
    }

    #[test]
    fn webhooks_and_every_key_block_are_found() {
        let d = Detector::new();
        let hook = j(&[
            "https://hooks.slack.com/services/T0001/B0001/",
            "abcdefghijklmnop",
        ]);
        assert!(
            !d.redact(&hook).contains("abcdefghijklmnop"),
            "{}",
            d.redact(&hook)
        );
        let block = |kind: &str, body: &str| {
            j(&[
                "-----BEGIN ",
                kind,
                " PRIVATE ",
                "KEY-----\n",
                body,
                "\n-----END ",
                kind,
                " PRIVATE ",
                "KEY-----",
            ])
        };
        let two = format!(
            "{}\n{}",
            block("RSA", "FIRSTbody"),
            block("EC", "SECONDbody")
        );
        let clean = d.redact(&two);
        assert!(
            !clean.contains("FIRSTbody") && !clean.contains("SECONDbody"),
            "{clean}"
        );
    }

    #[test]
    fn code_and_placeholders_are_not_secrets() {
        let d = Detector::new();
        for text in [
            "api_key = os.environ['API_KEY']",
            "password = \"your_password_here\"",
            "token = get_token()",
            "secret: ${SECRET}",
            "url = \"https://example.com/path\"",
            "def tokenize(text):",
            "passwords are hashed with argon2",
            "\"cache_creation_input_tokens\":12345,\"max_tokens\": 4096",
            "token_count = 3",
        ] {
            let found = d.find(text);
            assert!(found.iter().all(|f| !f.certain), "{text:?}: {found:?}");
        }
        assert!(d.find("just some text").is_empty());
        assert!(matches!(d.redact("nothing here"), Cow::Borrowed(_)));
    }

    fn encode(bytes: &[u8]) -> String {
        const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let b = [
                chunk[0],
                *chunk.get(1).unwrap_or(&0),
                *chunk.get(2).unwrap_or(&0),
            ];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            for i in 0..4 {
                if i <= chunk.len() {
                    out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
                } else {
                    out.push('=');
                }
            }
        }
        out
    }
}
