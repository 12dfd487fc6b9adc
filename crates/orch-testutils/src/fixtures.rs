use std::path::PathBuf;

/// The shared fixtures directory (`../shared/fixtures/<name>` next to the checkout), if it
/// exists.
pub fn shared_fixture_dir(name: &str) -> Option<PathBuf> {
    let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = workspace.join("../shared/fixtures").join(name);
    dir.is_dir().then(|| dir.canonicalize().unwrap_or(dir))
}

/// The shared fixtures directory for conformance tests. When it is missing: panics if the
/// `CI` environment variable is set (CI must have them), otherwise prints a notice and
/// returns `None` so the test can skip.
pub fn shared_fixtures_or_skip(name: &str) -> Option<PathBuf> {
    match shared_fixture_dir(name) {
        Some(dir) => Some(dir),
        None if std::env::var_os("CI").is_some() => {
            panic!(
                "shared fixtures `{name}` are missing (expected ../shared/fixtures/{name} beside the checkout) and CI is set"
            )
        }
        None => {
            eprintln!("notice: skipping: shared fixtures `{name}` not found beside the checkout");
            None
        }
    }
}
