//! The gate's concurrency and its cache.
//!
//! `cargo bench -p orch-quality --bench gate`
//!
//! On a mixed project (a Rust crate and a Python package, both with tests), warm:
//! - wall time of the concurrent gate (parallelism 4) against the same gate run one check at
//!   a time (parallelism 1), and against the sum of its checks' own durations;
//! - the time of a cache hit (target: under 100 ms).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use orch_core::QualityConfig;
use orch_quality::{Gate, GateOptions, QualityReport};

fn write(root: &Path, path: &str, text: &str) {
    let p = root.join(path);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

fn project(root: &Path) {
    write(
        root,
        "Cargo.toml",
        "[package]\nname = \"calc\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n",
    );
    write(root, ".gitignore", "/target\n");
    write(root, "README.md", "# calc\n");
    write(
        root,
        "src/lib.rs",
        "//! Arithmetic.\n\n/// Adds.\npub fn add(a: i32, b: i32) -> i32 {\n    a + b\n}\n\n#[cfg(test)]\nmod tests {\n    #[test]\n    fn adds() {\n        assert_eq!(super::add(2, 3), 5);\n    }\n}\n",
    );
    write(root, "py/pyproject.toml", "[project]\nname = \"calc\"\n");
    write(root, "py/app/__init__.py", "\"\"\"Calc.\"\"\"\n");
    for i in 0..20 {
        write(
            root,
            &format!("py/app/m{i}.py"),
            &format!(
                "\"\"\"Module {i}.\"\"\"\n\n\ndef f{i}(x: int) -> int:\n    \"\"\"Doubles.\"\"\"\n    return x * 2\n"
            ),
        );
        write(
            root,
            &format!("py/tests/test_m{i}.py"),
            &format!("from app.m{i} import f{i}\n\n\ndef test_f{i}():\n    assert f{i}(2) == 4\n"),
        );
    }
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .current_dir(root)
            .output()
            .unwrap();
    };
    git(&["init", "-q"]);
    git(&["add", "-A"]);
    git(&[
        "-c",
        "user.name=b",
        "-c",
        "user.email=b@b",
        "commit",
        "-qm",
        "init",
    ]);
}

fn run(
    rt: &tokio::runtime::Runtime,
    root: &Path,
    parallelism: usize,
    cache: Option<&Path>,
) -> (Duration, QualityReport) {
    let config = QualityConfig {
        parallelism,
        ..QualityConfig::default()
    };
    let options = GateOptions {
        cache_dir: cache.map(Path::to_owned),
        ..Default::default()
    };
    let started = Instant::now();
    let report = rt
        .block_on(Gate::new(config).evaluate(root, &options))
        .unwrap();
    (started.elapsed(), report)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    project(root);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let (_, warm) = run(&rt, root, 4, None); // compiles the crate once
    let ran: Vec<&str> = warm
        .dimensions
        .iter()
        .filter(|d| d.status.ran())
        .map(|d| d.dimension.name())
        .collect();
    println!(
        "project: {} ; dimensions that ran: {}",
        warm.toolchains.join(", "),
        ran.join(", ")
    );

    let (mut concurrent, mut sequential, mut sums) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..3 {
        let (wall, report) = run(&rt, root, 4, None);
        concurrent.push(wall);
        sums.push(
            report
                .dimensions
                .iter()
                .map(|d| d.duration)
                .sum::<Duration>(),
        );
        sequential.push(run(&rt, root, 1, None).0);
    }
    let (c, s, sum) = (median(concurrent), median(sequential), median(sums));
    println!(
        "gate, parallelism 4: {:.2} s wall; parallelism 1: {:.2} s wall; sum of the checks' own durations: {:.2} s",
        c.as_secs_f64(),
        s.as_secs_f64(),
        sum.as_secs_f64()
    );
    println!(
        "speedup: {:.2}x over one at a time; concurrent wall / sum of checks = {:.2}",
        s.as_secs_f64() / c.as_secs_f64(),
        c.as_secs_f64() / sum.as_secs_f64()
    );

    let cache = tempfile::tempdir().unwrap();
    run(&rt, root, 4, Some(cache.path()));
    let hits: Vec<Duration> = (0..20)
        .map(|_| {
            let (wall, report) = run(&rt, root, 4, Some(cache.path()));
            assert!(report.cached);
            wall
        })
        .collect();
    let worst = *hits.iter().max().unwrap();
    println!(
        "cache hit (tree hash + lookup): median {:.1} ms, worst {:.1} ms of 20 (target < 100 ms)",
        median(hits).as_secs_f64() * 1e3,
        worst.as_secs_f64() * 1e3
    );
}
