//! Scheduling benchmark (issue 2).
//!
//! 1. Quality: 100 seeded random DAGs of 200 tasks with random durations, simulated on 3
//!    slots with (a) orch's policy (`next_tasks`: start as soon as dependencies are done,
//!    longest remaining critical path first) and (b) wave-barrier scheduling (wave k+1 starts
//!    only when wave k is done). Both are compared to the lower bound
//!    max(critical path, total work / slots).
//! 2. Scale: validate + waves + one full scheduling pass over 10,000 tasks.
//!
//! Run: `cargo bench -p orch-core --bench scheduling`

use std::time::Instant;

use orch_core::{DepGraph, Epic, EpicId, Plan, Task, TaskId, TaskStatus, next_tasks, priority_key};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

const INSTANCES: u64 = 100;
const TASKS: usize = 200;
const SLOTS: usize = 3;

struct Instance {
    plan: Plan,
    /// Real durations; the plan's estimates are these with ±50% noise.
    durations: Vec<u64>,
}

fn random_instance(seed: u64, n: usize) -> Instance {
    let mut rng = SmallRng::seed_from_u64(seed);
    let epic = EpicId::new("B").unwrap();
    let mut durations = Vec::with_capacity(n);
    let mut tasks = Vec::with_capacity(n);
    for i in 0..n {
        let id = TaskId::new(format!("TASK-B-{i:05}")).unwrap();
        let mut task = Task::new(id, format!("task {i}"), epic.clone());
        if i > 0 {
            // 0–3 dependencies on earlier tasks, mostly recent ones (a realistic "layered"
            // backlog), sometimes anywhere.
            for _ in 0..rng.random_range(0..=3) {
                let back = if rng.random_bool(0.7) {
                    rng.random_range(1..=i.min(20))
                } else {
                    rng.random_range(1..=i)
                };
                let dep = TaskId::new(format!("TASK-B-{:05}", i - back)).unwrap();
                if !task.depends_on.contains(&dep) {
                    task.depends_on.push(dep);
                }
            }
        }
        let duration: u64 = rng.random_range(10..=120);
        let noise: f64 = rng.random_range(0.5..1.5);
        task.estimate_minutes = ((duration as f64 * noise).round() as u32).max(1);
        durations.push(duration);
        tasks.push(task);
    }
    let plan = Plan {
        version: 1,
        name: format!("random-{seed}"),
        strategy: None,
        epics: vec![Epic {
            review: None,
            id: epic,
            name: "bench".into(),
            goal: String::new(),
            strategy: None,
        }],
        tasks,
    };
    Instance { plan, durations }
}

/// Event-driven simulation; `eligible` narrows what the policy may start (the wave barrier).
fn simulate(g: &DepGraph, durations: &[u64], barrier: bool) -> u64 {
    let n = g.len();
    let mut statuses = vec![TaskStatus::Pending; n];
    let mut running: Vec<(u64, usize)> = Vec::new();
    let mut now = 0u64;
    let mut done = 0usize;
    let mut wave = 1u32;
    while done < n {
        let free = SLOTS - running.len();
        let picks: Vec<usize> = if barrier {
            // Same priority rule, but only inside the current wave.
            let mut ready: Vec<usize> = (0..n)
                .filter(|&i| g.wave(i) == wave && statuses[i] == TaskStatus::Pending)
                .collect();
            ready.sort_unstable_by_key(|&i| priority_key(g, i));
            ready.truncate(free);
            ready
        } else {
            next_tasks(g, &statuses, free)
        };
        for i in picks {
            statuses[i] = TaskStatus::Running;
            running.push((now + durations[i], i));
        }
        let next = running.iter().map(|r| r.0).min().expect("something runs");
        now = next;
        running.retain(|&(finish, i)| {
            if finish == now {
                statuses[i] = TaskStatus::Completed;
                done += 1;
                false
            } else {
                true
            }
        });
        while barrier
            && (0..n)
                .filter(|&i| g.wave(i) == wave)
                .all(|i| statuses[i] == TaskStatus::Completed)
            && wave < g.wave_count()
        {
            wave += 1;
        }
    }
    now
}

fn lower_bound(g: &DepGraph, durations: &[u64]) -> u64 {
    let mut longest = vec![0u64; g.len()];
    for &i in g.topological_order() {
        longest[i] = durations[i] + g.deps(i).iter().map(|&d| longest[d]).max().unwrap_or(0);
    }
    let critical = longest.into_iter().max().unwrap_or(0);
    let total: u64 = durations.iter().sum();
    critical.max(total.div_ceil(SLOTS as u64))
}

fn quality() {
    let (mut sum_a, mut sum_b, mut worst_a, mut worst_b) = (0.0, 0.0, 0.0f64, 0.0f64);
    let mut a_worse_than_b = 0;
    for seed in 0..INSTANCES {
        let inst = random_instance(seed, TASKS);
        let g = inst.plan.validate().expect("valid DAG");
        let bound = lower_bound(&g, &inst.durations) as f64;
        let a = simulate(&g, &inst.durations, false) as f64 / bound;
        let b = simulate(&g, &inst.durations, true) as f64 / bound;
        if a > b {
            a_worse_than_b += 1;
        }
        sum_a += a;
        sum_b += b;
        worst_a = worst_a.max(a);
        worst_b = worst_b.max(b);
    }
    let n = INSTANCES as f64;
    println!(
        "scheduling quality: {INSTANCES} random DAGs x {TASKS} tasks, {SLOTS} slots, estimates ±50% noisy"
    );
    println!("  makespan / lower bound       mean    worst");
    println!(
        "  (a) orch critical-path     {:>6.3}  {:>6.3}",
        sum_a / n,
        worst_a
    );
    println!(
        "  (b) wave barrier           {:>6.3}  {:>6.3}",
        sum_b / n,
        worst_b
    );
    println!("  instances where (a) is worse than (b): {a_worse_than_b}");
    println!("  target: (a) mean <= 1.10 and never worse than (b)");
}

fn scale() {
    let inst = random_instance(42, 10_000);
    let mut times = Vec::new();
    for _ in 0..7 {
        let start = Instant::now();
        let g = inst.plan.validate().expect("valid");
        let waves = g.waves();
        let statuses = vec![TaskStatus::Pending; g.len()];
        let picks = next_tasks(&g, &statuses, 3);
        std::hint::black_box((waves, picks));
        times.push(start.elapsed());
    }
    times.sort();
    println!(
        "scale: validate + waves + scheduling pass, 10,000 tasks: median {:.2} ms (min {:.2} ms)",
        times[times.len() / 2].as_secs_f64() * 1e3,
        times[0].as_secs_f64() * 1e3
    );
}

fn main() {
    quality();
    scale();
}
