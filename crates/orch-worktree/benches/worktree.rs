//! Worktree benchmark (issue 3), on a generated repository of 5,000 files (~50 MB, one
//! commit):
//!
//! 1. create + remove one worktree through the crate vs `git worktree add` +
//!    `git worktree remove` (+ `git branch -D`, as the crate deletes the branch too),
//!    interleaved repetitions, medians and their ratio (target ≤ 1.0);
//! 2. 20 worktrees created at once from 20 threads: total time, disk used per worktree;
//! 3. conflict prediction between two branches with 100 changed files each (20 of them
//!    changed on both sides): median time (target < 50 ms), with `git merge-tree` for
//!    reference.
//!
//! Run: `cargo bench -p orch-worktree --bench worktree`
//! (`ORCH_BENCH_REPS=N` changes the number of repetitions of part 1, default 7;
//! `ORCH_BENCH_PARTS=1,3` runs only some parts.)

use std::path::Path;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use orch_core::{RepoConfig, TaskId};
use orch_testutils::TempRepo;
use orch_worktree::{RemoveOptions, TaskBase, WorktreeManager};

const FILES: usize = 5_000;
const FILE_SIZE: usize = 10_000;

fn main() {
    let reps: usize = std::env::var("ORCH_BENCH_REPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(7);
    let repo = TempRepo::new();
    let t = Instant::now();
    let bytes = generate(repo.path());
    repo.commit_all("5,000 files");
    println!(
        "repository: {FILES} files, {:.1} MB, generated and committed in {:.2} s",
        bytes as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );
    let mgr = WorktreeManager::open(repo.path(), &RepoConfig::default()).expect("open");

    let parts = std::env::var("ORCH_BENCH_PARTS").unwrap_or_else(|_| "1,2,3".into());
    if parts.contains('1') {
        create_remove(&repo, &mgr, reps);
    }
    if parts.contains('2') {
        twenty_at_once(&mgr);
    }
    if parts.contains('3') {
        conflicts(&repo, &mgr);
    }
}

/// Writes FILES files of ~FILE_SIZE bytes of source-like text in 50 × 10 directories.
fn generate(root: &Path) -> usize {
    const WORDS: [&str; 16] = [
        "fn", "let", "mut", "self", "return", "match", "struct", "impl", "pub", "use", "crate",
        "value", "result", "error", "index", "count",
    ];
    let mut seed: u64 = 0x5eed;
    let mut total = 0;
    for i in 0..FILES {
        let dir = root.join(format!("d{:02}/s{:02}", i % 50, (i / 50) % 10));
        std::fs::create_dir_all(&dir).expect("mkdir");
        let mut text = String::with_capacity(FILE_SIZE + 64);
        let mut line = 0;
        while text.len() < FILE_SIZE {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            text.push_str(WORDS[(seed >> 60) as usize]);
            text.push_str(&format!("_{} ", (seed >> 40) % 1000));
            if (seed >> 33).is_multiple_of(8) {
                line += 1;
                text.push_str(&format!("// {line}\n"));
            }
        }
        text.push('\n');
        total += text.len();
        std::fs::write(dir.join(format!("f{i}.rs")), text).expect("write");
    }
    total
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

#[derive(Debug, Clone, Copy)]
enum Variant {
    /// The crate, with its parallel writer.
    Crate,
    /// The crate with libgit2's own checkout.
    CrateLibgit2,
    /// `git worktree add` / `git worktree remove` / `git branch -D`.
    Cli,
}

/// (create, remove) of one worktree with `variant`.
fn run_variant(
    variant: Variant,
    rep: usize,
    repo: &TempRepo,
    mgr: &WorktreeManager,
    single: &WorktreeManager,
) -> (Duration, Duration) {
    match variant {
        Variant::Crate | Variant::CrateLibgit2 => {
            let (m, name) = match variant {
                Variant::Crate => (mgr, "BENCH"),
                _ => (single, "LIBGIT2"),
            };
            let task = TaskId::new(format!("{name}-{rep}")).expect("id");
            let t = Instant::now();
            let wt = m.create(&task, &TaskBase::BaseBranch).expect("create");
            let created = t.elapsed();
            assert_eq!(wt.files_checked_out, FILES + 1);
            let t = Instant::now();
            m.remove(&task, &RemoveOptions::new().delete_branch(true))
                .expect("remove");
            (created, t.elapsed())
        }
        Variant::Cli => {
            let path = repo.temp_dir().join(format!("cli/cli-{rep}"));
            let path = path.to_str().expect("utf-8");
            let branch = format!("cli-{rep}");
            let t = Instant::now();
            repo.git(&["worktree", "add", "-q", "-b", &branch, path]);
            let created = t.elapsed();
            let t = Instant::now();
            repo.git(&["worktree", "remove", path]);
            repo.git(&["branch", "-q", "-D", &branch]);
            (created, t.elapsed())
        }
    }
}

fn create_remove(repo: &TempRepo, mgr: &WorktreeManager, reps: usize) {
    println!(
        "\n1. create + remove one worktree ({reps} repetitions, the three variants interleaved in rotating order)"
    );
    let single = mgr.clone().with_parallel_checkout(false);
    let variants = [Variant::Crate, Variant::CrateLibgit2, Variant::Cli];
    let mut times: [Vec<(Duration, Duration)>; 3] = Default::default();
    // Repetition 0 is a warm-up, not counted.
    for rep in 0..=reps {
        for k in 0..variants.len() {
            let v = (rep + k) % variants.len();
            let t = run_variant(variants[v], rep, repo, mgr, &single);
            if rep > 0 {
                times[v].push(t);
            }
        }
    }
    let stats = |v: usize| {
        let create: Vec<_> = times[v].iter().map(|t| t.0).collect();
        let remove: Vec<_> = times[v].iter().map(|t| t.1).collect();
        let total: Vec<_> = times[v].iter().map(|t| t.0 + t.1).collect();
        let min = *total.iter().min().expect("reps > 0");
        (median(create), median(remove), median(total), min)
    };
    let (cc, cr, ct, cmin) = stats(0);
    let (lc, lr, lt, lmin) = stats(1);
    let (gc, gr, gt, gmin) = stats(2);
    let line = |name: &str, c, r, t, min| {
        println!(
            "   {name:<34} create {:>9}, remove {:>8}, total {:>9} (fastest total {})",
            ms(c),
            ms(r),
            ms(t),
            ms(min)
        );
    };
    line("orch-worktree (parallel writer):", cc, cr, ct, cmin);
    line("orch-worktree (libgit2 checkout):", lc, lr, lt, lmin);
    line("git CLI:", gc, gr, gt, gmin);
    let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64();
    println!(
        "   ratio orch/git (medians): create {:.2}, remove {:.2}, total {:.2}; fastest totals {:.2} (target <= 1.0)",
        ratio(cc, gc),
        ratio(cr, gr),
        ratio(ct, gt),
        ratio(cmin, gmin)
    );
    println!(
        "   ratio with libgit2's checkout instead: total {:.2}",
        ratio(lt, gt)
    );
}

fn twenty_at_once(mgr: &WorktreeManager) {
    const N: usize = 20;
    println!("\n2. {N} worktrees created at once from {N} threads");
    let barrier = Arc::new(Barrier::new(N + 1));
    let handles: Vec<_> = (0..N)
        .map(|i| {
            let mgr = mgr.clone();
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                let task = TaskId::new(format!("MANY-{i:02}")).expect("id");
                barrier.wait();
                mgr.create(&task, &TaskBase::BaseBranch).expect("create")
            })
        })
        .collect();
    barrier.wait();
    let t = Instant::now();
    let made: Vec<_> = handles
        .into_iter()
        .map(|h| h.join().expect("thread"))
        .collect();
    let total = t.elapsed();
    let (mut apparent, mut blocks) = (0u64, 0u64);
    for wt in &made {
        let (a, b) = disk_usage(&wt.path);
        apparent += a;
        blocks += b;
        let admin = mgr
            .repo_root()
            .join(".git/worktrees")
            .join(wt.task.as_str());
        let (a, b) = disk_usage(&admin);
        apparent += a;
        blocks += b;
    }
    println!(
        "   total {:.2} s ({} per worktree)",
        total.as_secs_f64(),
        ms(total / N as u32)
    );
    println!(
        "   disk per worktree (files + index): {:.1} MB apparent size, {:.1} MB allocated blocks",
        apparent as f64 / N as f64 / 1e6,
        blocks as f64 / N as f64 / 1e6
    );
    let t = Instant::now();
    let listed = mgr.list().expect("list");
    println!("   list of {} worktrees: {}", listed.len(), ms(t.elapsed()));
    for wt in made {
        mgr.remove(&wt.task, &RemoveOptions::new().delete_branch(true))
            .expect("remove");
    }
}

/// (sum of file sizes, sum of allocated blocks) under `dir`, not following links.
fn disk_usage(dir: &Path) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    let mut out = (0, 0);
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let Ok(meta) = entry.metadata() else { continue };
            if meta.is_dir() {
                stack.push(entry.path());
            } else {
                out.0 += meta.len();
                out.1 += meta.blocks() * 512;
            }
        }
    }
    out
}

fn conflicts(repo: &TempRepo, mgr: &WorktreeManager) {
    println!("\n3. conflict prediction, two branches with 100 changed files each (20 shared)");
    let scratch = repo.temp_dir().join("scratch");
    let scratch_s = scratch.to_str().expect("utf-8");
    repo.git(&["worktree", "add", "-q", "-b", "side-a", scratch_s]);
    let edit = |range: std::ops::Range<usize>, tag: &str| {
        for i in range {
            let p = scratch.join(format!("d{:02}/s{:02}/f{i}.rs", i % 50, (i / 50) % 10));
            let text = std::fs::read_to_string(&p).expect("read");
            let mut lines: Vec<&str> = text.lines().collect();
            let changed = format!("// changed on {tag}");
            lines[3] = &changed;
            std::fs::write(&p, lines.join("\n") + "\n").expect("write");
        }
    };
    let git = |args: &[&str]| {
        let mut full = vec!["-C", scratch_s];
        full.extend_from_slice(args);
        repo.git(&full)
    };
    edit(0..100, "a");
    git(&["commit", "-q", "-am", "a"]);
    git(&["checkout", "-q", "-b", "side-b", "main"]);
    edit(80..180, "b");
    git(&["commit", "-q", "-am", "b"]);

    let mut times = Vec::new();
    let mut found = 0;
    let runs: usize = std::env::var("ORCH_BENCH_PREDICT_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(11);
    for _ in 0..runs {
        let t = Instant::now();
        let report = mgr.predict_conflicts("side-a", "side-b").expect("predict");
        times.push(t.elapsed());
        found = report.conflicts.len();
    }
    assert_eq!(found, 20);
    let mut cli = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let _ = repo
            .git_command(&[
                "merge-tree",
                "--write-tree",
                "--name-only",
                "side-a",
                "side-b",
            ])
            .output()
            .expect("git merge-tree");
        cli.push(t.elapsed());
    }
    println!(
        "   predict_conflicts: median {} over {runs} runs, {found} conflicting paths (target < 50 ms)",
        ms(median(times))
    );
    println!(
        "   for reference, `git merge-tree --write-tree` (a process): median {}",
        ms(median(cli))
    );
}
