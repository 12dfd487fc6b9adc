use crate::support::{initialised, orch};

#[test]
fn doctor_reports_without_printing_secrets() {
    let repo = initialised();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_orch"))
        .arg("-C")
        .arg(repo.path())
        .args(["doctor", "--json"])
        .env("ANTHROPIC_API_KEY", "sk-ant-very-secret-value")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(!text.contains("very-secret"), "{text}");
    let checks: serde_json::Value = serde_json::from_str(&text).unwrap();
    let find = |name: &str| {
        checks
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .cloned()
    };
    assert_eq!(find("ANTHROPIC_API_KEY").unwrap()["detail"], "set");
    assert_eq!(find("git").unwrap()["level"], "ok");
    assert_eq!(find("state.db").unwrap()["level"], "ok");

    let outside = tempfile::tempdir().unwrap();
    let run = orch(outside.path(), &["doctor"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(
        run.stdout.contains("not inside a git repository"),
        "{}",
        run.stdout
    );
}
