//! Projects written into temporary git repositories, and a way to run the gate on them.

use std::path::Path;
use std::process::Command;

use orch_core::QualityConfig;
use orch_quality::{Dimension, Gate, GateOptions, QualityReport};

pub struct Project {
    pub dir: tempfile::TempDir,
}

impl Project {
    /// Files written and committed to a fresh repository.
    pub fn new(files: &[(&str, &str)]) -> Project {
        let dir = tempfile::tempdir().unwrap();
        for (path, text) in files {
            let p = dir.path().join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        git(dir.path(), &["init", "-q", "-b", "main"]);
        git(dir.path(), &["add", "-A"]);
        git(
            dir.path(),
            &[
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@t",
                "commit",
                "-qm",
                "init",
            ],
        );
        Project { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn write(&self, path: &str, text: &str) {
        let p = self.path().join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    pub fn gate(&self, config: QualityConfig, options: GateOptions) -> QualityReport {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(Gate::new(config).evaluate(self.path(), &options))
            .unwrap()
    }

    pub fn check(&self) -> QualityReport {
        self.gate(QualityConfig::default(), GateOptions::default())
    }
}

pub fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Whether `python3 -c "import m"` works for every module.
pub fn python_has(modules: &[&str]) -> bool {
    modules.iter().all(|m| {
        Command::new("python3")
            .args(["-c", &format!("import {m}")])
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

/// The Python tools this suite needs: present, or (outside CI) a skip with a notice.
pub fn python_tools_or_skip() -> bool {
    const TOOLS: [&str; 5] = ["pytest", "pytest_cov", "mypy", "ruff", "bandit"];
    if python_has(&TOOLS) {
        return true;
    }
    if std::env::var_os("CI").is_some() {
        panic!(
            "CI is set but the Python tools are missing: pip install pytest pytest-cov mypy ruff bandit"
        );
    }
    eprintln!(
        "notice: skipping: Python tools missing (pip install pytest pytest-cov mypy ruff bandit)"
    );
    false
}

/// Asserts the gate failed and `dimension` is the one that caught it.
#[track_caller]
pub fn caught_by(report: &QualityReport, dimension: Dimension, needle: &str) {
    let r = report
        .dimension(&dimension)
        .unwrap_or_else(|| panic!("{dimension} not evaluated"));
    assert!(!report.passed, "the gate must fail: {}", summary(report));
    assert_eq!(
        r.status.word(),
        "failed",
        "{dimension} must fail: {}",
        summary(report)
    );
    assert!(
        r.findings
            .iter()
            .any(|f| f.message.contains(needle) || f.code.as_deref() == Some(needle)),
        "{dimension} findings must mention {needle:?}: {:#?}",
        r.findings
    );
}

/// One line per dimension, for assertion messages.
pub fn summary(report: &QualityReport) -> String {
    let mut s = format!(
        "score {:.2} passed {} failures {:?}\n",
        report.quality_score, report.passed, report.gate_failures
    );
    for d in &report.dimensions {
        s.push_str(&format!(
            "  {} {:?} {:.2} {:?}\n",
            d.dimension,
            d.status,
            d.score,
            d.findings.iter().map(|f| &f.message).collect::<Vec<_>>()
        ));
    }
    s
}
