use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use orch_testutils::TempRepo;

/// The example plan shipped in `examples/`.
pub fn example_plan() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/plans/webapp.toml")
}

/// What one run of `orch` printed, with temporary paths replaced by `[REPO]`.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// stdout and stderr together, for snapshots.
    pub fn transcript(&self) -> String {
        let mut out = format!("exit: {}\n", self.code);
        if !self.stdout.is_empty() {
            out.push_str("--- stdout\n");
            out.push_str(&self.stdout);
        }
        if !self.stderr.is_empty() {
            out.push_str("--- stderr\n");
            out.push_str(&self.stderr);
        }
        out
    }
}

pub fn orch(dir: &Path, args: &[&str]) -> Run {
    let output: Output = Command::new(env!("CARGO_BIN_EXE_orch"))
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("run orch");
    let clean = |bytes: &[u8]| {
        let text = String::from_utf8_lossy(bytes).into_owned();
        let mut text = text.replace(&dir.display().to_string(), "[REPO]");
        if let Ok(real) = dir.canonicalize() {
            text = text.replace(&real.display().to_string(), "[REPO]");
        }
        text.replace(&example_plan().display().to_string(), "[EXAMPLE]")
    };
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: clean(&output.stdout),
        stderr: clean(&output.stderr),
    }
}

/// Runs `orch` and asserts it succeeded.
pub fn ok(dir: &Path, args: &[&str]) -> Run {
    let run = orch(dir, args);
    assert_eq!(run.code, 0, "orch {args:?} failed:\n{}", run.transcript());
    run
}

/// A git repository with `orch init` done.
pub fn initialised() -> TempRepo {
    let repo = TempRepo::new();
    ok(repo.path(), &["init"]);
    repo
}

/// A git repository with the example plan imported.
pub fn with_example_plan() -> TempRepo {
    let repo = initialised();
    ok(
        repo.path(),
        &["plan", "import", example_plan().to_str().unwrap()],
    );
    repo
}

/// Writes a plan file into the repository's temp dir and returns its path.
pub fn write_plan(repo: &TempRepo, name: &str, text: &str) -> PathBuf {
    let path = repo.temp_dir().join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// Waits for an `orch args…` child, killed if it outlives `limit` (a hang fails the test,
/// never blocks the suite): exit code, stdout, stderr.
pub(crate) fn wait_within(
    mut child: std::process::Child,
    args: &[&str],
    limit: std::time::Duration,
) -> (i32, String, String) {
    let deadline = std::time::Instant::now() + limit;
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "orch {args:?} still running after {limit:?}:\n{}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
