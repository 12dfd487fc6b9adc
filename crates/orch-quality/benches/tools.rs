//! The gate against the tools it wraps, run directly.
//!
//! `cargo bench -p orch-quality --bench tools` (`BENCH_P=4,1` and `BENCH_RUNS=6` by default;
//! `BENCH_PYTHON` for another interpreter than `python3` on both sides)
//!
//! On a Python project (a package of 30 typed, documented modules, unit tests and
//! tests/integration), warm caches on both sides, at the same concurrency P:
//! - the gate: `Gate::evaluate`, report cache off, `parallelism = P`, a tool cache
//!   (`GateOptions::tool_cache_dir`) kept between runs;
//! - directly: pytest with coverage, ruff, mypy and bandit with the arguments the gate gives
//!   them, at most P at once, their caches kept between runs outside the tree, bytecode as
//!   Python keeps it by default.
//!
//! Wall time and CPU (children via `RUSAGE_CHILDREN` + this process via `RUSAGE_SELF`);
//! each side runs `BENCH_RUNS` times, alternating which goes first, the first run
//! discarded; medians. Targets (issue 22): wall ratio ≤ 1.05, CPU ratio ≤ 1.10.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use orch_core::QualityConfig;
use orch_quality::{Gate, GateOptions};

fn write(root: &Path, path: &str, text: &str) {
    let p = root.join(path);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

const MODULES: usize = 30;

/// Module `i`: a dataclass, typed functions with docstrings, and a call into module `i - 1`
/// (cross-module work for mypy).
fn module(i: usize) -> String {
    let import = if i == 0 {
        String::new()
    } else {
        format!("\nfrom shop.m{} import total_{}\n", i - 1, i - 1)
    };
    let prev = if i == 0 {
        "0".to_owned()
    } else {
        format!("total_{}([item.price for item in items])", i - 1)
    };
    format!(
        r#""""Pricing rules, part {i}."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
{import}

@dataclass
class Item{i}:
    """A line of an order."""

    name: str
    price: int
    tags: list[str] = field(default_factory=list)

    def discounted(self, percent: int) -> int:
        """The price after `percent` off, rounded down."""
        if not 0 <= percent <= 100:
            raise ValueError("percent out of range")
        return self.price * (100 - percent) // 100


def total_{i}(prices: Iterable[int]) -> int:
    """The sum of `prices`."""
    return sum(prices)


def cheapest_{i}(items: list[Item{i}]) -> Item{i} | None:
    """The cheapest item, or None for no items."""
    return min(items, key=lambda item: item.price, default=None)


def summary_{i}(items: list[Item{i}]) -> dict[str, int]:
    """Totals by tag, and the chained total of the previous rule."""
    out: dict[str, int] = {{}}
    for item in items:
        for tag in item.tags:
            out[tag] = out.get(tag, 0) + item.price
    out["_chain"] = {prev}
    return out
"#
    )
}

fn unit_test(i: usize) -> String {
    format!(
        r#"import pytest

from shop.m{i} import Item{i}, cheapest_{i}, summary_{i}, total_{i}


def test_total():
    assert total_{i}([1, 2, 3]) == 6


def test_cheapest():
    items = [Item{i}("a", 5), Item{i}("b", 2)]
    assert cheapest_{i}(items).name == "b"
    assert cheapest_{i}([]) is None


def test_discount():
    assert Item{i}("a", 200).discounted(25) == 150
    with pytest.raises(ValueError):
        Item{i}("a", 1).discounted(101)


def test_summary():
    items = [Item{i}("a", 3, ["x"]), Item{i}("b", 4, ["x", "y"])]
    assert summary_{i}(items)["x"] == 7
"#
    )
}

fn integration_test(k: usize) -> String {
    let a = k * 5;
    let b = a + 4;
    format!(
        r#"from shop.m{a} import Item{a}, summary_{a}
from shop.m{b} import Item{b}, summary_{b}


def test_flow_{k}():
    left = summary_{a}([Item{a}("a", 1, ["t"])])
    right = summary_{b}([Item{b}("b", 2, ["t"])])
    assert left["t"] + right["t"] == 3


def test_chain_{k}():
    assert summary_{b}([Item{b}("b", 2)])["_chain"] == 2
"#
    )
}

fn project(root: &Path) {
    write(
        root,
        "pyproject.toml",
        "[project]\nname = \"shop\"\nversion = \"0.1.0\"\nrequires-python = \">=3.9\"\n\n[tool.pytest.ini_options]\ntestpaths = [\"tests\"]\n",
    );
    write(root, "README.md", "# shop\n\nPricing rules.\n");
    write(root, ".gitignore", "__pycache__/\n");
    write(root, "shop/__init__.py", "\"\"\"Pricing rules.\"\"\"\n");
    for i in 0..MODULES {
        write(root, &format!("shop/m{i}.py"), &module(i));
        write(root, &format!("tests/test_m{i}.py"), &unit_test(i));
    }
    for k in 0..MODULES / 5 {
        write(
            root,
            &format!("tests/integration/test_flow_{k}.py"),
            &integration_test(k),
        );
    }
    let git = |args: &[&str]| {
        let out = Command::new("git")
            .args(args)
            .current_dir(root)
            .output()
            .unwrap();
        assert!(out.status.success(), "git {args:?}");
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

/// User + system CPU of this process, and of its waited-for children, so far.
// The workspace denies unsafe code; this libc call in a benchmark is the exception.
#[allow(unsafe_code)]
fn cpu() -> (Duration, Duration) {
    let of = |who| {
        // SAFETY: `getrusage` writes into the zeroed struct it is given and nothing else.
        let u = unsafe {
            let mut u: libc::rusage = std::mem::zeroed();
            libc::getrusage(who, &mut u);
            u
        };
        let t = |tv: libc::timeval| {
            Duration::from_secs(tv.tv_sec as u64) + Duration::from_micros(tv.tv_usec as u64)
        };
        t(u.ru_utime) + t(u.ru_stime)
    };
    (of(libc::RUSAGE_SELF), of(libc::RUSAGE_CHILDREN))
}

/// Wall time, CPU in all, and CPU of this process alone.
fn measure(f: impl FnOnce()) -> (Duration, Duration, Duration) {
    let (wall, (self0, children0)) = (Instant::now(), cpu());
    f();
    let (self1, children1) = cpu();
    let own = self1 - self0;
    (wall.elapsed(), own + children1 - children0, own)
}

/// The interpreter both sides use: `BENCH_PYTHON`, else the gate's default.
fn python() -> String {
    std::env::var("BENCH_PYTHON").unwrap_or_else(|_| QualityConfig::default().python)
}

/// The four tools with the arguments the gate gives them (python.rs), caches in `cache`.
fn direct_commands(root: &Path, cache: &Path) -> Vec<Command> {
    let python = python();
    let exclude_dirs = "./tests,./test,./.venv,./venv,./node_modules";
    let rc = cache.join("coveragerc");
    std::fs::write(
        &rc,
        "[run]\nomit =\n    */tests/*\n    */test_*.py\n    *_test.py\n    */conftest.py\n",
    )
    .unwrap();
    let cmd = |program: &str, args: &[String]| {
        let mut c = Command::new(program);
        c.args(args)
            .current_dir(root)
            .env("CI", "1")
            .env("NO_COLOR", "1")
            // Bytecode as Python keeps it by default, whatever this environment says: the
            // project's written beside its sources (ignored by git: the gate's tree is the
            // same).
            .env_remove("PYTHONDONTWRITEBYTECODE")
            .env_remove("PYTHONPYCACHEPREFIX")
            .env("RUFF_CACHE_DIR", cache.join("ruff"))
            .env("COVERAGE_FILE", cache.join("coverage-data"))
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        c
    };
    let s = |v: &[&str]| v.iter().map(|a| (*a).to_owned()).collect::<Vec<_>>();
    let mut mypy = s(&[
        "-m",
        "mypy",
        "--no-error-summary",
        "--show-column-numbers",
        "--no-color-output",
        "--ignore-missing-imports",
        "--explicit-package-bases",
        "--exclude",
        "(^|/)(\\.venv|venv|build|dist)/",
        "--cache-dir",
    ]);
    mypy.extend([cache.join("mypy").display().to_string(), ".".into()]);
    let mut pytest = s(&[
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "-rfEp",
        "--no-header",
        "--cov=.",
    ]);
    pytest.extend([
        format!("--cov-config={}", rc.display()),
        format!(
            "--cov-report=json:{}",
            cache.join("coverage.json").display()
        ),
        "--cov-report=".into(),
        ".".into(),
    ]);
    vec![
        cmd(&python, &mypy),
        cmd(
            "ruff",
            &s(&["check", "--output-format", "json", "--exit-zero", "."]),
        ),
        cmd(
            &python,
            &s(&[
                "-m",
                "bandit",
                "-r",
                ".",
                "-f",
                "json",
                "-q",
                "-x",
                exclude_dirs,
            ]),
        ),
        cmd(&python, &pytest),
    ]
}

/// Runs `commands` at most `p` at once, in order, each waited for with its output read
/// (as the gate reads it).
fn run_direct(commands: Vec<Command>, p: usize) {
    let (done, finished) = std::sync::mpsc::channel();
    let mut running = 0;
    for mut command in commands {
        if running == p {
            finished.recv().unwrap();
            running -= 1;
        }
        let done = done.clone();
        std::thread::spawn(move || {
            let out = command.output().unwrap();
            assert!(out.status.code().is_some(), "a tool died");
            done.send(()).unwrap();
        });
        running += 1;
    }
    for _ in 0..running {
        finished.recv().unwrap();
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

#[derive(Default)]
struct Side {
    wall: Vec<Duration>,
    cpu: Vec<Duration>,
    own: Vec<Duration>,
}

impl Side {
    fn push(&mut self, (wall, cpu, own): (Duration, Duration, Duration)) {
        self.wall.push(wall);
        self.cpu.push(cpu);
        self.own.push(own);
    }
}

fn main() {
    let env_list = |name: &str, default: &str| -> Vec<usize> {
        std::env::var(name)
            .unwrap_or_else(|_| default.into())
            .split(',')
            .filter_map(|s| s.trim().parse().ok())
            .collect()
    };
    let ps = env_list("BENCH_P", "4,1");
    let runs = env_list("BENCH_RUNS", "6")[0].max(2);
    let dir = tempfile::tempdir().unwrap();
    // BENCH_KEEP=DIR: the project is written there and kept (to look at it afterwards).
    let root = match std::env::var_os("BENCH_KEEP") {
        Some(keep) => PathBuf::from(keep),
        None => dir.path().join("shop"),
    };
    project(&root);
    let direct_cache = tempfile::tempdir().unwrap();
    let tool_cache = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let gate_run = |p: usize| {
        let config = QualityConfig {
            parallelism: p,
            python: python(),
            ..QualityConfig::default()
        };
        let options = GateOptions {
            cache_dir: None,
            tool_cache_dir: Some(PathBuf::from(tool_cache.path())),
            ..GateOptions::default()
        };
        rt.block_on(Gate::new(config).evaluate(&root, &options))
            .unwrap()
    };
    let report = gate_run(4);
    let line: Vec<String> = report
        .dimensions
        .iter()
        .map(|d| format!("{} {}", d.dimension, d.status.word()))
        .collect();
    println!(
        "project: {MODULES} modules; gate: passed={} score {:.2}; {}",
        report.passed,
        report.quality_score,
        line.join(", ")
    );
    if std::env::var_os("BENCH_VERBOSE").is_some() {
        // Warm, one at a time: where the time goes, beside each tool run directly.
        let started = Instant::now();
        let report = gate_run(1);
        println!("gate, P=1, warm: {:.2} s", secs(started.elapsed()));
        for mut c in direct_commands(&root, direct_cache.path()) {
            let (wall, cpu, _) = measure(|| {
                c.output().unwrap();
            });
            println!(
                "  direct {:?}: {:.2} s wall, {:.2} s CPU",
                c.get_args().nth(1).unwrap_or_default(),
                secs(wall),
                secs(cpu)
            );
        }
        for d in &report.dimensions {
            println!(
                "  {} {:.2} s: {:?}",
                d.dimension,
                secs(d.duration),
                d.commands
            );
        }
    }
    for p in ps {
        let (mut gate_side, mut direct_side) = (Side::default(), Side::default());
        for i in 0..runs {
            let gate = || {
                measure(|| {
                    gate_run(p);
                })
            };
            let direct = || measure(|| run_direct(direct_commands(&root, direct_cache.path()), p));
            // Alternating who goes first cancels drift in the machine's load.
            let (g, d) = if i % 2 == 0 {
                let g = gate();
                (g, direct())
            } else {
                let d = direct();
                (gate(), d)
            };
            if std::env::var_os("BENCH_VERBOSE").is_some() {
                println!(
                    "  run {i} ({} first): gate {:.2} s wall {:.2} s CPU, direct {:.2} s wall {:.2} s CPU",
                    if i % 2 == 0 { "gate" } else { "direct" },
                    secs(g.0),
                    secs(g.1),
                    secs(d.0),
                    secs(d.1)
                );
            }
            if i > 0 {
                gate_side.push(g);
                direct_side.push(d);
            }
        }
        let (gw, gc) = (median(gate_side.wall), median(gate_side.cpu));
        let (dw, dc) = (median(direct_side.wall), median(direct_side.cpu));
        println!(
            "P={p}: gate {:.2} s wall, {:.2} s CPU ({:.3} s in this process); direct {:.2} s wall, {:.2} s CPU; ratio wall {:.3} (target <= 1.05), CPU {:.3} (target <= 1.10)",
            secs(gw),
            secs(gc),
            secs(median(gate_side.own)),
            secs(dw),
            secs(dc),
            secs(gw) / secs(dw),
            secs(gc) / secs(dc)
        );
    }
}
