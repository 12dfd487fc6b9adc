use orch_core::{PlanError, TaskId};
use proptest::prelude::*;

use crate::support::{dag, digraph, plan_from_edges, task_id};

/// Reference cycle check: repeatedly remove tasks whose dependencies are all removed.
fn has_cycle(deps: &[Vec<usize>]) -> bool {
    let n = deps.len();
    let mut removed = vec![false; n];
    loop {
        let next = (0..n).find(|&i| !removed[i] && deps[i].iter().all(|&d| removed[d]));
        match next {
            Some(i) => removed[i] = true,
            None => return removed.iter().any(|r| !r),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn waves_respect_every_edge((deps, est) in dag()) {
        let plan = plan_from_edges(&deps, &est);
        let g = plan.validate().expect("a DAG is valid");
        for (i, ds) in deps.iter().enumerate() {
            for &d in ds {
                prop_assert!(g.wave(d) < g.wave(i), "dep {d} wave {} !< task {i} wave {}", g.wave(d), g.wave(i));
            }
            if ds.is_empty() {
                prop_assert_eq!(g.wave(i), 1);
            } else {
                // tight: exactly one more than the latest dependency
                prop_assert_eq!(g.wave(i), ds.iter().map(|&d| g.wave(d)).max().unwrap() + 1);
            }
        }
        let position: Vec<usize> = {
            let mut p = vec![0; deps.len()];
            for (at, &i) in g.topological_order().iter().enumerate() { p[i] = at; }
            p
        };
        for (i, ds) in deps.iter().enumerate() {
            for &d in ds {
                prop_assert!(position[d] < position[i]);
            }
        }
        // The critical path is a real chain and its length is the maximum bottom level.
        let cp = g.critical_path();
        let idx: Vec<usize> = cp.tasks.iter().map(|t| g.index_of(t).unwrap()).collect();
        for pair in idx.windows(2) {
            prop_assert!(deps[pair[1]].contains(&pair[0]));
        }
        let sum: u64 = idx.iter().map(|&i| u64::from(est[i])).sum();
        prop_assert_eq!(sum, cp.total_minutes);
        let best = (0..deps.len()).map(|i| g.remaining_critical_path(i)).max().unwrap();
        prop_assert_eq!(best, cp.total_minutes);
    }

    #[test]
    fn cycle_detection_is_exact(deps in digraph()) {
        let plan = plan_from_edges(&deps, &[]);
        let self_loop = deps.iter().enumerate().any(|(i, ds)| ds.contains(&i));
        match plan.validate() {
            Ok(_) => prop_assert!(!has_cycle(&deps), "missed a cycle in {deps:?}"),
            Err(PlanError::SelfReference { .. }) => prop_assert!(self_loop),
            Err(PlanError::Cycle { cycle }) => {
                prop_assert!(!self_loop);
                prop_assert!(has_cycle(&deps));
                prop_assert!(cycle.len() >= 3, "a cycle of two distinct tasks repeats the first: {cycle:?}");
                prop_assert_eq!(cycle.first(), cycle.last());
                let index = |t: &TaskId| (0..deps.len()).find(|&i| &task_id(i) == t).unwrap();
                for pair in cycle.windows(2) {
                    let (a, b) = (index(&pair[0]), index(&pair[1]));
                    prop_assert!(deps[a].contains(&b), "{a} does not depend on {b}");
                }
            }
            Err(other) => prop_assert!(false, "unexpected error {other}"),
        }
    }
}

/// `(a, b, overlapping entry pairs)`.
type Overlaps = Vec<(usize, usize, Vec<(usize, usize)>)>;

/// File-scope entries from a small alphabet so that overlaps are common.
fn scope_entry() -> impl Strategy<Value = String> {
    let dirs = prop::sample::select(vec![
        "",
        "src/",
        "src/api/",
        "src/api_v2/",
        "web/",
        "./src/",
    ]);
    let names = prop::sample::select(vec!["", "a", "ab", "b", "a/", "a/b", "mod.rs"]);
    let globs = prop::sample::select(vec!["", "*", "**", "/**", "*.rs", "?"]);
    (dirs, names, globs).prop_map(|(d, n, g)| format!("{d}{n}{g}"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// The indexed search finds exactly the pairs a comparison of every pair finds.
    #[test]
    fn overlapping_scopes_matches_pairwise(scopes in prop::collection::vec(prop::collection::vec(scope_entry(), 0..4), 1..12)) {
        let deps = vec![Vec::new(); scopes.len()];
        let mut plan = plan_from_edges(&deps, &vec![60; scopes.len()]);
        for (task, files) in plan.tasks.iter_mut().zip(&scopes) {
            task.files = files.clone();
        }
        let mut expected: Overlaps = Vec::new();
        for a in 0..scopes.len() {
            for b in a + 1..scopes.len() {
                let mut entries = Vec::new();
                for (ea, fa) in scopes[a].iter().enumerate() {
                    for (eb, fb) in scopes[b].iter().enumerate() {
                        if orch_core::scopes_overlap(fa, fb) {
                            entries.push((ea, eb));
                        }
                    }
                }
                if !entries.is_empty() {
                    expected.push((a, b, entries));
                }
            }
        }
        let found: Overlaps = orch_core::overlapping_scopes(&plan.tasks)
            .into_iter()
            .map(|o| (o.a, o.b, o.entries))
            .collect();
        prop_assert_eq!(&found, &expected);
        // The graph answers the same per task, and per pair for the scheduler, from its index.
        let graph = plan.validate().unwrap();
        for a in 0..scopes.len() {
            let pairwise: std::collections::BTreeSet<usize> = expected
                .iter()
                .filter_map(|(x, y, _)| if *x == a { Some(*y) } else if *y == a { Some(*x) } else { None })
                .collect();
            prop_assert_eq!(graph.conflicts(a), pairwise.clone());
            for b in 0..scopes.len() {
                prop_assert_eq!(graph.clashes_with(a, &[b]), pairwise.contains(&b));
            }
        }
        // Every pair shows up in some group.
        let groups = graph.conflict_groups();
        for (a, b, _) in &expected {
            prop_assert!(groups.iter().any(|g| g.tasks.contains(a) && g.tasks.contains(b)), "{a} {b} {groups:?}");
        }
    }
}
