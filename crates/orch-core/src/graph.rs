//! The dependency graph of a plan: validation, waves, critical path and conflicts.

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;

use crate::id::TaskId;
use crate::plan::{Plan, Priority};

/// Why a plan cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PlanError {
    /// The file is not valid JSON or TOML, or does not have the plan's shape.
    #[error("cannot read the plan as {format}: {message}")]
    Parse {
        /// `JSON` or `TOML`.
        format: &'static str,
        /// The parser's message, with line and column where known.
        message: String,
    },
    /// The plan declares a format version this crate does not read.
    #[error("plan format version {found} is not supported (this orch reads version {supported})")]
    UnsupportedVersion {
        /// The version in the file.
        found: u32,
        /// The version this crate reads.
        supported: u32,
    },
    /// The plan has no task at all.
    #[error("the plan `{plan}` has no tasks")]
    NoTasks {
        /// The plan's name.
        plan: String,
    },
    /// Two tasks share an id.
    #[error("task id {id} is used by more than one task")]
    DuplicateTask {
        /// The repeated id.
        id: TaskId,
    },
    /// Two epics share an id.
    #[error("epic id {id} is used by more than one epic")]
    DuplicateEpic {
        /// The repeated id.
        id: String,
    },
    /// A task names an epic the plan does not define.
    #[error("task {task} belongs to epic {epic}, which the plan does not define")]
    UnknownEpic {
        /// The task.
        task: TaskId,
        /// The missing epic.
        epic: String,
    },
    /// A task depends on a task the plan does not define.
    #[error("task {task} depends on {dependency}, which is not in the plan")]
    UnknownDependency {
        /// The task with the bad reference.
        task: TaskId,
        /// The missing task.
        dependency: TaskId,
    },
    /// A task lists itself as a dependency or a conflict.
    #[error("task {task} refers to itself in {field}")]
    SelfReference {
        /// The task.
        task: TaskId,
        /// `depends_on` or `conflicts_with`.
        field: &'static str,
    },
    /// A task declares a conflict with a task the plan does not define.
    #[error("task {task} conflicts with {other}, which is not in the plan")]
    UnknownConflict {
        /// The task with the bad reference.
        task: TaskId,
        /// The missing task.
        other: TaskId,
    },
    /// A task's `allow` list names something that is not an allowance.
    #[error("task {task} allows `{allowance}`, which is not one of {}", crate::plan::TEST_ALLOWANCES.iter().map(|a| a.0).collect::<Vec<_>>().join(", "))]
    UnknownAllowance {
        /// The task.
        task: TaskId,
        /// What it names.
        allowance: String,
    },
    /// The dependencies form a cycle; `cycle` lists it in dependency order, first id repeated
    /// at the end.
    #[error("dependency cycle: {}", join_arrow(.cycle))]
    Cycle {
        /// `A, B, C, A` means A depends on B, B on C, C on A.
        cycle: Vec<TaskId>,
    },
}

fn join_arrow(ids: &[TaskId]) -> String {
    ids.iter()
        .map(TaskId::as_str)
        .collect::<Vec<_>>()
        .join(" → ")
}

/// The longest chain of dependent work in a plan, by estimate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CriticalPath {
    /// Tasks from the first to start to the last to finish.
    pub tasks: Vec<TaskId>,
    /// Sum of their estimates, in minutes.
    pub total_minutes: u64,
}

/// A validated plan's dependency structure, with tasks addressed by dense indices
/// (their position in [`Plan::tasks`]).
///
/// Build it with [`Plan::validate`] or [`DepGraph::build`].
#[derive(Debug, Clone)]
pub struct DepGraph {
    ids: Vec<TaskId>,
    index: HashMap<TaskId, usize>,
    deps: Vec<Vec<usize>>,
    dependents: Vec<Vec<usize>>,
    /// Conflicts declared in `conflicts_with` (both sides).
    declared: Vec<BTreeSet<usize>>,
    /// File scopes, indexed: overlaps are found per task, never stored as all pairs.
    scopes: ScopeIndex,
    estimates: Vec<u64>,
    priorities: Vec<Priority>,
    topo_order: Vec<usize>,
    waves: Vec<u32>,
    bottom_levels: Vec<u64>,
}

impl DepGraph {
    /// Validates `plan` and builds its graph.
    pub fn build(plan: &Plan) -> Result<DepGraph, PlanError> {
        if plan.tasks.is_empty() {
            return Err(PlanError::NoTasks {
                plan: plan.name.clone(),
            });
        }
        let mut epics = BTreeSet::new();
        for epic in &plan.epics {
            if !epics.insert(&epic.id) {
                return Err(PlanError::DuplicateEpic {
                    id: epic.id.to_string(),
                });
            }
        }
        let mut index = HashMap::with_capacity(plan.tasks.len());
        for (i, task) in plan.tasks.iter().enumerate() {
            if index.insert(task.id.clone(), i).is_some() {
                return Err(PlanError::DuplicateTask {
                    id: task.id.clone(),
                });
            }
            if !epics.contains(&task.epic) {
                return Err(PlanError::UnknownEpic {
                    task: task.id.clone(),
                    epic: task.epic.to_string(),
                });
            }
            if let Some(bad) = task.allow.iter().find(|a| {
                !crate::plan::TEST_ALLOWANCES
                    .iter()
                    .any(|(name, _)| name == a)
            }) {
                return Err(PlanError::UnknownAllowance {
                    task: task.id.clone(),
                    allowance: bad.clone(),
                });
            }
        }

        let n = plan.tasks.len();
        let mut deps = vec![Vec::new(); n];
        let mut dependents = vec![Vec::new(); n];
        let mut declared = vec![BTreeSet::new(); n];
        for (i, task) in plan.tasks.iter().enumerate() {
            for dep in &task.depends_on {
                let j = *index.get(dep).ok_or_else(|| PlanError::UnknownDependency {
                    task: task.id.clone(),
                    dependency: dep.clone(),
                })?;
                if i == j {
                    return Err(PlanError::SelfReference {
                        task: task.id.clone(),
                        field: "depends_on",
                    });
                }
                deps[i].push(j);
                dependents[j].push(i);
            }
            for other in &task.conflicts_with {
                let j = *index.get(other).ok_or_else(|| PlanError::UnknownConflict {
                    task: task.id.clone(),
                    other: other.clone(),
                })?;
                if i == j {
                    return Err(PlanError::SelfReference {
                        task: task.id.clone(),
                        field: "conflicts_with",
                    });
                }
                declared[i].insert(j);
                declared[j].insert(i);
            }
        }
        for list in deps.iter_mut().chain(dependents.iter_mut()) {
            list.sort_unstable();
            list.dedup();
        }
        let scopes = ScopeIndex::new(&plan.tasks);

        let ids: Vec<TaskId> = plan.tasks.iter().map(|t| t.id.clone()).collect();
        let topo_order =
            topological_order(&deps, &dependents).map_err(|cycle| PlanError::Cycle {
                cycle: cycle.into_iter().map(|i| ids[i].clone()).collect(),
            })?;

        let mut waves = vec![1u32; n];
        for &i in &topo_order {
            waves[i] = deps[i].iter().map(|&d| waves[d] + 1).max().unwrap_or(1);
        }
        let estimates: Vec<u64> = plan
            .tasks
            .iter()
            .map(|t| u64::from(t.estimate_minutes))
            .collect();
        let mut bottom_levels = vec![0u64; n];
        for &i in topo_order.iter().rev() {
            let below = dependents[i]
                .iter()
                .map(|&d| bottom_levels[d])
                .max()
                .unwrap_or(0);
            bottom_levels[i] = estimates[i] + below;
        }

        Ok(DepGraph {
            ids,
            index,
            deps,
            dependents,
            declared,
            scopes,
            estimates,
            priorities: plan.tasks.iter().map(|t| t.priority).collect(),
            topo_order,
            waves,
            bottom_levels,
        })
    }

    /// Number of tasks.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether the graph has no task (never true for a validated plan).
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The id of task `i`.
    pub fn id(&self, i: usize) -> &TaskId {
        &self.ids[i]
    }

    /// The index of a task id.
    pub fn index_of(&self, id: &TaskId) -> Option<usize> {
        self.index.get(id).copied()
    }

    /// Direct dependencies of task `i`.
    pub fn deps(&self, i: usize) -> &[usize] {
        &self.deps[i]
    }

    /// Tasks that directly depend on task `i`.
    pub fn dependents(&self, i: usize) -> &[usize] {
        &self.dependents[i]
    }

    /// Tasks that must not run at the same time as task `i`: declared in `conflicts_with`
    /// (either side) or sharing file scope (see [`scopes_overlap`]). Computed from an index
    /// on each call: cheap per task, and nothing quadratic is stored.
    pub fn conflicts(&self, i: usize) -> BTreeSet<usize> {
        let mut out = self.declared[i].clone();
        out.extend(self.scopes.overlapping(i));
        out
    }

    /// Whether task `i` must not run alongside any of `others` (typically the few active
    /// tasks): what the scheduler asks, at a cost proportional to `others`.
    pub fn clashes_with(&self, i: usize, others: &[usize]) -> bool {
        others
            .iter()
            .any(|&o| o != i && (self.declared[i].contains(&o) || self.scopes.overlap(i, o)))
    }

    /// Every conflicting pair once, `(a, b)` with `a < b`. Its size is what it is: on a
    /// plan where hundreds of tasks share one scope, prefer [`DepGraph::conflict_groups`].
    pub fn conflict_pairs(&self) -> Vec<(usize, usize)> {
        let mut pairs = Vec::new();
        for a in 0..self.len() {
            pairs.extend(
                self.conflicts(a)
                    .into_iter()
                    .filter(|&b| b > a)
                    .map(|b| (a, b)),
            );
        }
        pairs
    }

    /// Tasks that share file scope, as groups: the scope and every task touching it. Linear
    /// in the plan's scope entries (plus what nested scopes cover), where pairs would be
    /// quadratic. Declared `conflicts_with` pairs come as groups of two.
    pub fn conflict_groups(&self) -> Vec<ConflictGroup> {
        let mut out = self.scopes.groups();
        for (a, set) in self.declared.iter().enumerate() {
            for &b in set.iter().filter(|&&b| b > a) {
                out.push(ConflictGroup {
                    scope: None,
                    tasks: vec![a, b],
                });
            }
        }
        out
    }

    /// Estimate of task `i` in minutes.
    pub fn estimate(&self, i: usize) -> u64 {
        self.estimates[i]
    }

    /// Priority of task `i`.
    pub fn priority(&self, i: usize) -> Priority {
        self.priorities[i]
    }

    /// A topological order: every task after all its dependencies; ties by plan order.
    pub fn topological_order(&self) -> &[usize] {
        &self.topo_order
    }

    /// Wave of task `i`: 1 for tasks with no dependency, else one more than its latest
    /// dependency's wave.
    pub fn wave(&self, i: usize) -> u32 {
        self.waves[i]
    }

    /// Number of waves.
    pub fn wave_count(&self) -> u32 {
        self.waves.iter().copied().max().unwrap_or(0)
    }

    /// Task indices per wave, wave 1 first; each wave in plan order.
    pub fn waves(&self) -> Vec<Vec<usize>> {
        let mut out = vec![Vec::new(); self.wave_count() as usize];
        for (i, &w) in self.waves.iter().enumerate() {
            out[w as usize - 1].push(i);
        }
        out
    }

    /// The longest estimated chain that starts at task `i` (its own estimate included):
    /// the work that still stands between starting `i` and the end of the plan.
    pub fn remaining_critical_path(&self, i: usize) -> u64 {
        self.bottom_levels[i]
    }

    /// The plan's critical path by estimate. Ties go to the task earlier in the plan.
    pub fn critical_path(&self) -> CriticalPath {
        let Some(mut current) = (0..self.len())
            .filter(|&i| self.deps[i].is_empty())
            .max_by_key(|&i| (self.bottom_levels[i], std::cmp::Reverse(i)))
        else {
            return CriticalPath {
                tasks: Vec::new(),
                total_minutes: 0,
            };
        };
        let total_minutes = self.bottom_levels[current];
        let mut tasks = vec![self.ids[current].clone()];
        while let Some(next) = self.dependents[current]
            .iter()
            .copied()
            .max_by_key(|&d| (self.bottom_levels[d], std::cmp::Reverse(d)))
        {
            tasks.push(self.ids[next].clone());
            current = next;
        }
        CriticalPath {
            tasks,
            total_minutes,
        }
    }

    /// Renders the graph as Mermaid `flowchart` text (edges point from a dependency to the
    /// task that needs it). `label` gives each node's text.
    pub fn to_mermaid(&self, label: impl Fn(usize) -> String) -> String {
        let mut out = String::from("flowchart TD\n");
        for i in 0..self.len() {
            let _ = writeln!(
                out,
                "    {}[\"{}\"]",
                mermaid_node(&self.ids[i]),
                label(i).replace('"', "'")
            );
        }
        for &i in &self.topo_order {
            for &d in &self.deps[i] {
                let _ = writeln!(
                    out,
                    "    {} --> {}",
                    mermaid_node(&self.ids[d]),
                    mermaid_node(&self.ids[i])
                );
            }
        }
        for (a, b) in self.conflict_pairs() {
            let _ = writeln!(
                out,
                "    {} -.-|conflict| {}",
                mermaid_node(&self.ids[a]),
                mermaid_node(&self.ids[b])
            );
        }
        out
    }

    /// Renders the graph in Graphviz DOT.
    pub fn to_dot(&self, label: impl Fn(usize) -> String) -> String {
        let mut out = String::from("digraph plan {\n    rankdir=LR;\n    node [shape=box];\n");
        for i in 0..self.len() {
            let _ = writeln!(
                out,
                "    \"{}\" [label=\"{}\"];",
                self.ids[i],
                label(i).replace('\\', "\\\\").replace('"', "\\\"")
            );
        }
        for &i in &self.topo_order {
            for &d in &self.deps[i] {
                let _ = writeln!(out, "    \"{}\" -> \"{}\";", self.ids[d], self.ids[i]);
            }
        }
        for (a, b) in self.conflict_pairs() {
            let _ = writeln!(
                out,
                "    \"{}\" -> \"{}\" [dir=none, style=dashed, color=red, label=\"conflict\"];",
                self.ids[a], self.ids[b]
            );
        }
        out.push_str("}\n");
        out
    }
}

/// Mermaid node ids may not contain `-`. Escaping `_` as `__` and `-` as `_d` is a prefix-free
/// code, so distinct task ids always get distinct node ids.
fn mermaid_node(id: &TaskId) -> String {
    let mut out = String::from("t_");
    for c in id.as_str().chars() {
        match c {
            '-' => out.push_str("_d"),
            '_' => out.push_str("__"),
            c => out.push(c),
        }
    }
    out
}

/// Kahn's algorithm with a min-heap, so ties go by plan order. On a cycle, returns one cycle
/// as indices in dependency order with the first repeated at the end.
fn topological_order(
    deps: &[Vec<usize>],
    dependents: &[Vec<usize>],
) -> Result<Vec<usize>, Vec<usize>> {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;
    let n = deps.len();
    let mut open: Vec<usize> = deps.iter().map(Vec::len).collect();
    let mut heap: BinaryHeap<Reverse<usize>> =
        (0..n).filter(|&i| open[i] == 0).map(Reverse).collect();
    let mut order = Vec::with_capacity(n);
    while let Some(Reverse(i)) = heap.pop() {
        order.push(i);
        for &d in &dependents[i] {
            open[d] -= 1;
            if open[d] == 0 {
                heap.push(Reverse(d));
            }
        }
    }
    if order.len() == n {
        return Ok(order);
    }
    // Every task left over has at least one left-over dependency, so walking dependencies
    // from any of them must come back to a task already on the walk.
    let start = (0..n).find(|&i| open[i] > 0).unwrap_or(0);
    let mut position = vec![usize::MAX; n];
    let mut walk = Vec::new();
    let mut current = start;
    loop {
        if position[current] != usize::MAX {
            let mut cycle = walk[position[current]..].to_vec();
            cycle.push(current);
            return Err(cycle);
        }
        position[current] = walk.len();
        walk.push(current);
        current = deps[current]
            .iter()
            .copied()
            .find(|&d| open[d] > 0)
            .unwrap_or(current);
    }
}

/// A file-scope entry reduced to what can be compared literally.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Scope {
    /// A path without glob characters: that file, or everything under it if it is a
    /// directory. Stored without a trailing `/`.
    Exact(String),
    /// A glob: every path starting with its literal part, the text before the first glob
    /// character (`src/api/users*` → `src/api/users`, `**/*.md` → everything).
    Prefix(String),
}

impl Scope {
    fn parse(entry: &str) -> Scope {
        let mut path = entry.trim().trim_start_matches("./").replace('\\', "/");
        while path.contains("//") {
            path = path.replace("//", "/");
        }
        match path.find(['*', '?', '[', '{']) {
            Some(glob_at) => Scope::Prefix(path[..glob_at].to_owned()),
            None => Scope::Exact(path.trim_end_matches('/').to_owned()),
        }
    }

    fn key(&self) -> &str {
        match self {
            Scope::Exact(k) | Scope::Prefix(k) => k,
        }
    }

    /// Whether `path` (the literal part of another scope) lies inside this scope.
    fn covers(&self, path: &str) -> bool {
        match self {
            Scope::Prefix(p) => path.starts_with(p.as_str()),
            Scope::Exact(e) => {
                e.is_empty()
                    || path == e
                    || (path.starts_with(e.as_str()) && path.as_bytes().get(e.len()) == Some(&b'/'))
            }
        }
    }
}

/// Whether two file-scope entries may touch the same file. Conservative: a glob covers every
/// path that starts with its literal part, so `src/*.rs` overlaps `src/lib/mod.rs`, while
/// `src/api/users*` and `src/api/orders*` stay apart. A false overlap only costs
/// parallelism; a missed one would cost a merge conflict.
pub fn scopes_overlap(a: &str, b: &str) -> bool {
    let (a, b) = (Scope::parse(a), Scope::parse(b));
    a.covers(b.key()) || b.covers(a.key())
}

/// Tasks that must not run at once, and why: the file scope they share (`None` for a
/// declared `conflicts_with`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConflictGroup {
    /// The scope entry every task of the group touches (or lies within).
    pub scope: Option<String>,
    /// Task indices, ascending.
    pub tasks: Vec<usize>,
}

/// The groups of tasks sharing file scope (see [`DepGraph::conflict_groups`]), without
/// validating the plan first.
pub fn scope_groups(tasks: &[crate::Task]) -> Vec<ConflictGroup> {
    ScopeIndex::new(tasks).groups()
}

/// File-scope entries of a plan, indexed by their literal part: what covers a key is found
/// by looking up its prefixes and parent directories, what a key covers by a range of the
/// sorted keys.
#[derive(Debug, Clone, Default)]
struct ScopeIndex {
    /// (task, scope) per entry.
    entries: Vec<(usize, Scope)>,
    /// Entries per task.
    of_task: Vec<Vec<usize>>,
    globs: HashMap<String, Vec<usize>>,
    exact: HashMap<String, Vec<usize>>,
    /// Every key, sorted, with its entries.
    sorted: std::collections::BTreeMap<String, Vec<usize>>,
}

impl ScopeIndex {
    fn new(tasks: &[crate::Task]) -> ScopeIndex {
        let mut index = ScopeIndex {
            of_task: vec![Vec::new(); tasks.len()],
            ..ScopeIndex::default()
        };
        for (i, task) in tasks.iter().enumerate() {
            for entry in &task.files {
                let scope = Scope::parse(entry);
                let e = index.entries.len();
                match &scope {
                    Scope::Prefix(k) => index.globs.entry(k.clone()).or_default().push(e),
                    Scope::Exact(k) => index.exact.entry(k.clone()).or_default().push(e),
                }
                index
                    .sorted
                    .entry(scope.key().to_owned())
                    .or_default()
                    .push(e);
                index.entries.push((i, scope));
                index.of_task[i].push(e);
            }
        }
        index
    }

    /// Entries that cover `key`: globs whose literal part is a prefix of it, exact paths
    /// equal to it or to one of its parent directories.
    fn coverers<'s>(&'s self, key: &'s str) -> impl Iterator<Item = usize> + 's {
        let by_glob = (0..=key.len())
            .filter(move |&end| key.is_char_boundary(end))
            .flat_map(move |end| self.globs.get(&key[..end]).into_iter().flatten());
        let by_dir = std::iter::once("")
            .chain(key.match_indices('/').map(move |(slash, _)| &key[..slash]))
            .chain(std::iter::once(key))
            .flat_map(move |k| self.exact.get(k).into_iter().flatten());
        by_glob.chain(by_dir).copied()
    }

    /// Entries that `scope` covers.
    fn covered<'s>(&'s self, scope: &'s Scope) -> impl Iterator<Item = usize> + 's {
        let key = scope.key();
        self.sorted
            .range(key.to_owned()..)
            .take_while(move |(k, _)| k.starts_with(key))
            .filter(move |(k, _)| scope.covers(k))
            .flat_map(|(_, es)| es.iter().copied())
    }

    /// Tasks whose scope overlaps task `i`'s.
    fn overlapping(&self, i: usize) -> BTreeSet<usize> {
        let mut out = BTreeSet::new();
        for &e in &self.of_task[i] {
            let scope = &self.entries[e].1;
            for other in self.coverers(scope.key()).chain(self.covered(scope)) {
                out.insert(self.entries[other].0);
            }
        }
        out.remove(&i);
        out
    }

    fn overlap(&self, a: usize, b: usize) -> bool {
        self.of_task[a].iter().any(|&x| {
            self.of_task[b].iter().any(|&y| {
                let (sx, sy) = (&self.entries[x].1, &self.entries[y].1);
                sx.covers(sy.key()) || sy.covers(sx.key())
            })
        })
    }

    /// One group per distinct scope key covering two or more tasks (identical groups once).
    fn groups(&self) -> Vec<ConflictGroup> {
        let mut groups: Vec<ConflictGroup> = Vec::new();
        let mut seen: std::collections::HashSet<Vec<usize>> = Default::default();
        for (key, es) in &self.sorted {
            // A glob at a key covers all an exact path there does, and more.
            let scope = es
                .iter()
                .map(|&e| &self.entries[e].1)
                .find(|s| matches!(s, Scope::Prefix(_)))
                .unwrap_or(&self.entries[es[0]].1);
            let mut tasks: BTreeSet<usize> = es.iter().map(|&e| self.entries[e].0).collect();
            tasks.extend(self.covered(scope).map(|e| self.entries[e].0));
            if tasks.len() < 2 {
                continue;
            }
            let tasks: Vec<usize> = tasks.into_iter().collect();
            if seen.insert(tasks.clone()) {
                groups.push(ConflictGroup {
                    scope: Some(match scope {
                        Scope::Prefix(_) if key.ends_with('/') || key.is_empty() => {
                            format!("{key}**")
                        }
                        Scope::Prefix(_) => format!("{key}*"),
                        Scope::Exact(_) => key.clone(),
                    }),
                    tasks,
                });
            }
        }
        groups
    }
}

/// Two tasks whose file scopes may touch the same file (see [`scopes_overlap`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeOverlap {
    /// Index of the first task; `a < b`.
    pub a: usize,
    /// Index of the second task.
    pub b: usize,
    /// The overlapping entries, as `(index into a's files, index into b's files)`.
    pub entries: Vec<(usize, usize)>,
}

/// Every pair of tasks whose file scopes overlap, ordered by `(a, b)`. Near-linear in the
/// number of scope entries plus the pairs found: each entry is checked against its ancestor
/// directories instead of against every other task.
pub fn overlapping_scopes(tasks: &[crate::Task]) -> Vec<ScopeOverlap> {
    let mut entries: Vec<(usize, usize, Scope)> = Vec::new();
    let mut globs: HashMap<String, Vec<usize>> = HashMap::new();
    let mut exact: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, task) in tasks.iter().enumerate() {
        for (e, entry) in task.files.iter().enumerate() {
            let scope = Scope::parse(entry);
            let index = entries.len();
            match &scope {
                Scope::Prefix(k) => globs.entry(k.clone()).or_default().push(index),
                Scope::Exact(k) => exact.entry(k.clone()).or_default().push(index),
            }
            entries.push((i, e, scope));
        }
    }
    // Two entries overlap when one covers the other's key. Whatever covers a key is either a
    // glob whose literal part is a prefix of it, or an exact path equal to it or to one of its
    // parent directories: a bounded number of lookups per entry instead of a scan of all.
    let mut hits: Vec<((usize, usize), (usize, usize))> = Vec::new();
    for (a, ea, scope) in &entries {
        let key = scope.key();
        let mut coverers: Vec<usize> = Vec::new();
        for end in (0..=key.len()).filter(|&end| key.is_char_boundary(end)) {
            coverers.extend(globs.get(&key[..end]).into_iter().flatten());
        }
        coverers.extend(exact.get("").into_iter().flatten());
        for (slash, _) in key.match_indices('/') {
            coverers.extend(exact.get(&key[..slash]).into_iter().flatten());
        }
        coverers.extend(exact.get(key).into_iter().flatten());
        for index in coverers {
            let (b, eb, _) = &entries[index];
            if a == b {
                continue;
            }
            hits.push(if a < b {
                ((*a, *b), (*ea, *eb))
            } else {
                ((*b, *a), (*eb, *ea))
            });
        }
    }
    hits.sort_unstable();
    hits.dedup();
    let mut out: Vec<ScopeOverlap> = Vec::new();
    for ((a, b), entries) in hits {
        match out.last_mut() {
            Some(last) if (last.a, last.b) == (a, b) => last.entries.push(entries),
            _ => out.push(ScopeOverlap {
                a,
                b,
                entries: vec![entries],
            }),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::EpicId;
    use crate::plan::{Epic, Task};

    fn plan(edges: &[(&str, &[&str])]) -> Plan {
        let epic = EpicId::new("E").unwrap();
        Plan {
            version: 1,
            name: "t".into(),
            strategy: None,
            epics: vec![Epic {
                review: None,
                id: epic.clone(),
                name: "e".into(),
                goal: String::new(),
                strategy: None,
            }],
            tasks: edges
                .iter()
                .map(|(id, deps)| {
                    let mut t = Task::new(TaskId::new(*id).unwrap(), *id, epic.clone());
                    t.depends_on = deps.iter().map(|d| TaskId::new(*d).unwrap()).collect();
                    t
                })
                .collect(),
        }
    }

    #[test]
    fn waves_and_critical_path() {
        let mut p = plan(&[
            ("A", &[]),
            ("B", &["A"]),
            ("C", &["A"]),
            ("D", &["B", "C"]),
            ("E", &[]),
        ]);
        p.tasks[2].estimate_minutes = 120;
        let g = p.validate().unwrap();
        let waves: Vec<Vec<&str>> = g
            .waves()
            .into_iter()
            .map(|w| w.into_iter().map(|i| g.id(i).as_str()).collect())
            .collect();
        assert_eq!(waves, vec![vec!["A", "E"], vec!["B", "C"], vec!["D"]]);
        let cp = g.critical_path();
        let ids: Vec<&str> = cp.tasks.iter().map(TaskId::as_str).collect();
        assert_eq!(ids, ["A", "C", "D"]);
        assert_eq!(cp.total_minutes, 240);
        assert_eq!(g.remaining_critical_path(0), 240);
        assert_eq!(g.remaining_critical_path(4), 60);
    }

    #[test]
    fn unknown_dependency_names_both() {
        let err = plan(&[("A", &["Z"])]).validate().unwrap_err();
        assert_eq!(
            err.to_string(),
            "task A depends on Z, which is not in the plan"
        );
    }

    #[test]
    fn cycle_is_named_whole() {
        let err = plan(&[("A", &["C"]), ("B", &["A"]), ("C", &["B"]), ("D", &[])])
            .validate()
            .unwrap_err();
        assert_eq!(err.to_string(), "dependency cycle: A → C → B → A");
        let err = plan(&[("A", &["A"])]).validate().unwrap_err();
        assert_eq!(err.to_string(), "task A refers to itself in depends_on");
    }

    #[test]
    fn file_scope_overlap() {
        assert!(scopes_overlap("src/api/", "src/api/users.rs"));
        assert!(scopes_overlap("src/api/**", "./src/api/users.rs"));
        assert!(scopes_overlap("src/*.rs", "src/main.rs"));
        assert!(scopes_overlap("**/*.md", "docs/x.md"));
        assert!(!scopes_overlap("src/api/users.rs", "src/api/orders.rs"));
        assert!(!scopes_overlap("src/api", "src/api_v2/x.rs"));
        assert!(scopes_overlap("src/api", "src/api/users.rs"));
        assert!(!scopes_overlap("src/api/users*", "src/api/orders*"));
        assert!(scopes_overlap("src/api/users*", "src/api/users_test.rs"));
        assert!(scopes_overlap("src/api/user*", "src/api/users/*"));
        assert!(scopes_overlap("", "anything.rs"));

        let mut p = plan(&[("A", &[]), ("B", &[]), ("C", &[])]);
        p.tasks[0].files = vec!["src/api/".into()];
        p.tasks[1].files = vec!["src/api/users.rs".into()];
        p.tasks[2].files = vec!["web/index.html".into()];
        let g = p.validate().unwrap();
        assert_eq!(g.conflict_pairs(), vec![(0, 1)]);
    }

    #[test]
    fn renders_mermaid_and_dot() {
        let g = plan(&[("T-1", &[]), ("T_1", &["T-1"])]).validate().unwrap();
        let m = g.to_mermaid(|i| g.id(i).to_string());
        assert!(m.contains("t_T_d1 --> t_T__1"), "{m}");
        let d = g.to_dot(|i| format!("{} \"x\"", g.id(i)));
        assert!(d.contains("\"T-1\" -> \"T_1\";"), "{d}");
        assert!(d.contains("label=\"T-1 \\\"x\\\"\""), "{d}");
    }
}
