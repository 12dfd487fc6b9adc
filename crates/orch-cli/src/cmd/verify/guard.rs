//! Changes that would switch the guard itself off: the `orch verify --hook` hook removed
//! from a Claude Code settings file that had it at the base, or `disableAllHooks` turned on.
//! Claude can edit those files like any other; a session that unhooks its own check has not
//! passed it.

use orch_quality::{Baseline, Finding, Severity};

use crate::cmd::claude::HOOK_COMMAND;

/// Claude Code's project settings files (shared and local).
const SETTINGS: [&str; 2] = [".claude/settings.json", ".claude/settings.local.json"];

/// Findings for the settings files changed since the base.
pub fn review(root: &std::path::Path, baseline: &Baseline) -> Vec<Finding> {
    let mut out = Vec::new();
    for path in SETTINGS {
        let Some(before) = baseline.files.get(path) else {
            continue; // unchanged
        };
        let before = before.as_deref().and_then(parse);
        let now = std::fs::read_to_string(root.join(path))
            .ok()
            .and_then(|t| parse(&t));
        let hooked = |v: Option<&serde_json::Value>| v.is_some_and(runs_verify);
        if hooked(before.as_ref()) && !hooked(now.as_ref()) {
            out.push(
                Finding::at(
                    path,
                    None,
                    Severity::Error,
                    format!("the `{HOOK_COMMAND}` hook was removed; it must stay"),
                )
                .with_code("claude-hooks/removed"),
            );
        }
        let disabled = |v: Option<&serde_json::Value>| {
            v.and_then(|v| v.get("disableAllHooks"))
                .and_then(serde_json::Value::as_bool)
                .unwrap_or(false)
        };
        if disabled(now.as_ref()) && !disabled(before.as_ref()) {
            out.push(
                Finding::at(
                    path,
                    None,
                    Severity::Error,
                    "`disableAllHooks` turned on: it switches off `orch verify --hook`",
                )
                .with_code("claude-hooks/disabled"),
            );
        }
    }
    out
}

fn parse(text: &str) -> Option<serde_json::Value> {
    serde_json::from_str(text.trim_start_matches('\u{feff}')).ok()
}

/// Whether any hook handler in the settings runs `orch verify`.
fn runs_verify(settings: &serde_json::Value) -> bool {
    let Some(events) = settings.get("hooks").and_then(serde_json::Value::as_object) else {
        return false;
    };
    events
        .values()
        .filter_map(serde_json::Value::as_array)
        .flatten()
        .filter_map(|group| group.get("hooks").and_then(serde_json::Value::as_array))
        .flatten()
        .filter_map(|h| h.get("command").and_then(serde_json::Value::as_str))
        .any(|c| c.contains("orch verify"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn review_of(before: &str, now: Option<&str>) -> Vec<String> {
        let dir = tempfile::tempdir().unwrap();
        if let Some(now) = now {
            std::fs::create_dir_all(dir.path().join(".claude")).unwrap();
            std::fs::write(dir.path().join(".claude/settings.json"), now).unwrap();
        }
        let baseline = Baseline {
            files: [(".claude/settings.json".to_owned(), Some(before.to_owned()))].into(),
            allow: Default::default(),
        };
        review(dir.path(), &baseline)
            .into_iter()
            .map(|f| f.code.unwrap_or_default())
            .collect()
    }

    const HOOKED: &str = r#"{"hooks": {"Stop": [{"hooks": [{"type": "command", "command": "orch verify --hook"}]}]}}"#;

    #[test]
    fn removing_or_disabling_the_hook_is_found() {
        assert_eq!(review_of(HOOKED, Some("{}")), ["claude-hooks/removed"]);
        assert_eq!(review_of(HOOKED, None), ["claude-hooks/removed"]);
        let disabled = HOOKED.replacen('{', "{\"disableAllHooks\": true, ", 1);
        assert_eq!(
            review_of(HOOKED, Some(&disabled)),
            ["claude-hooks/disabled"]
        );
        assert!(review_of(HOOKED, Some(HOOKED)).is_empty());
        assert!(review_of("{}", Some("{\"model\": \"x\"}")).is_empty());
    }
}
