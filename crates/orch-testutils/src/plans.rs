//! Generated plans for benchmarks and scale tests.

use orch_core::{Epic, EpicId, Plan, Task, TaskId};

/// A deterministic plan of `tasks` tasks over 10 epics: each task depends on up to two of
/// the 50 tasks before it, has an estimate of 10–119 minutes, one file in scope and one
/// acceptance criterion. The same `seed` always gives the same plan.
pub fn large_plan(tasks: usize, seed: u64) -> Plan {
    let epics: Vec<EpicId> = (0..10)
        .map(|e| EpicId::new(format!("E{e}")).expect("valid epic id"))
        .collect();
    let mut state = seed ^ 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        // 64-bit LCG (Knuth's MMIX constants): small, deterministic, good enough here.
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        state >> 33
    };
    let id = |i: usize| TaskId::new(format!("TASK-S-{i:05}")).expect("valid task id");
    let tasks = (0..tasks)
        .map(|i| {
            let mut task = Task::new(
                id(i),
                format!("task number {i}"),
                epics[i % epics.len()].clone(),
            );
            if i > 0 {
                for _ in 0..(next() % 3) {
                    let dep = id(i - 1 - (next() as usize % i.min(50)));
                    if !task.depends_on.contains(&dep) {
                        task.depends_on.push(dep);
                    }
                }
            }
            task.estimate_minutes = 10 + (next() % 110) as u32;
            task.files = vec![format!("src/module_{}/file_{i}.rs", i % 97)];
            task.acceptance = vec!["it works".into()];
            task
        })
        .collect();
    Plan {
        version: 1,
        name: "scale".into(),
        strategy: None,
        epics: epics
            .into_iter()
            .map(|id| Epic {
                review: None,
                name: id.to_string(),
                id,
                goal: String::new(),
                strategy: None,
            })
            .collect(),
        tasks,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn deterministic_and_valid() {
        let a = super::large_plan(500, 7);
        assert_eq!(a, super::large_plan(500, 7));
        assert_eq!(a.tasks.len(), 500);
        a.validate().expect("a DAG");
    }
}
