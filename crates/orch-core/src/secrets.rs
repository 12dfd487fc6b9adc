//! What secrets look like: the well-known formats of API keys, tokens and private keys, as
//! regular expressions. The quality gate reports them in source; the dashboard redacts them
//! from logs it serves. Kept here, as plain pattern text, so both agree without sharing a
//! regex engine through the core.

/// `(name, regular expression)` of each secret format.
pub const SECRET_PATTERNS: &[(&str, &str)] = &[
    (
        "private key",
        r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |PGP |ENCRYPTED )?PRIVATE KEY(?: BLOCK)?-----",
    ),
    ("AWS access key id", r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    (
        "GitHub token",
        r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{40,})\b",
    ),
    ("Slack token", r"\bxox[abposr]-[A-Za-z0-9-]{10,}"),
    (
        "Slack webhook",
        r"https://hooks\.slack\.com/services/T[A-Za-z0-9]+/B[A-Za-z0-9]+/[A-Za-z0-9]{12,}",
    ),
    ("Anthropic API key", r"\bsk-ant-[A-Za-z0-9_-]{20,}"),
    ("OpenAI API key", r"\bsk-(?:proj-)?[A-Za-z0-9]{32,}"),
    ("Google API key", r"\bAIza[0-9A-Za-z_-]{35}\b"),
    ("Stripe secret key", r"\b[sr]k_live_[0-9A-Za-z]{20,}"),
];

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_names() {
        assert!(is_secret_name("ANTHROPIC_API_KEY"));
        assert!(is_secret_name("slack_webhook_url"));
        assert!(is_secret_name("ORCH_DASHBOARD_TOKEN"));
        assert!(!is_secret_name("PATH"));
        assert!(!is_secret_name("HOME"));
    }
}
