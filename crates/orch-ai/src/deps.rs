//! Dependency analysis: explicit references ("depends on the user schema", "needs
//! `GET /me`"), ordering rules (schema before the API that uses it, API before the UI that
//! consumes it, tests after what they test, CI after the build exists) and phase gates.
//! Every edge carries its reason; an edge that would close a cycle is dropped with a note.

use std::collections::BTreeSet;

use orch_core::{Category, Epic, Task, TaskId};
use serde::Serialize;

use crate::text::{code_spans, domain_tokens, has_word, tokens};

/// Why one task waits for another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EdgeKind {
    /// The PRD says so.
    Explicit,
    /// An ordering rule between kinds of work.
    Rule,
    /// A phase starts after the previous phase is done.
    PhaseGate,
    /// A language model said so.
    Model,
}

/// `task` depends on `depends_on`, because `reason`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Edge {
    /// The dependent task.
    pub task: TaskId,
    /// The prerequisite.
    pub depends_on: TaskId,
    /// What kind of evidence.
    pub kind: EdgeKind,
    /// In words.
    pub reason: String,
}

/// The result of [`analyse`].
pub struct Analysis {
    /// Accepted edges, acyclic.
    pub edges: Vec<Edge>,
    /// Edges left out and why.
    pub notes: Vec<String>,
}

const EXPLICIT_MARKERS: &[&str] = &[
    "depends on",
    "depend on",
    "needs",
    "requires",
    "builds on",
    "after",
    "uses the",
    "blocked by",
];

/// Finds the dependencies between `tasks`. `texts[i]` is the requirement text of task `i`;
/// `phase_of` (empty unless the plan is phased) gives each task's phase index.
pub(crate) fn analyse(
    tasks: &[Task],
    texts: &[&str],
    phase_of: &[usize],
    epics: &[Epic],
) -> Analysis {
    let mut b = Builder {
        tasks,
        phase_of,
        graph: Graph::new(tasks.len()),
        out: Analysis {
            edges: Vec::new(),
            notes: Vec::new(),
        },
    };

    // 1. Explicit references win over everything else.
    for (i, text) in texts.iter().enumerate() {
        for phrase in explicit_phrases(text) {
            if let Some((j, why)) = resolve(&phrase, i, tasks, texts) {
                b.add(
                    i,
                    j,
                    EdgeKind::Explicit,
                    format!("the PRD says \"{phrase}\" ({why})"),
                );
            }
        }
    }

    // 2. Ordering rules between kinds of work.
    let domain: Vec<BTreeSet<String>> = texts.iter().map(|t| domain_tokens(t)).collect();
    let shared = |a: usize, b: usize| -> Vec<String> {
        domain[a].intersection(&domain[b]).cloned().collect()
    };
    let cat = |i: usize| tasks[i].category;
    let n = tasks.len();
    for i in 0..n {
        for j in 0..n {
            if i == j {
                continue;
            }
            let rule = match (cat(i), cat(j)) {
                (Category::Api | Category::Backend | Category::Security, Category::Database) => {
                    "the schema comes before the code that uses it"
                }
                (Category::Frontend, Category::Api) => {
                    "the API comes before the UI that consumes it"
                }
                _ => continue,
            };
            let common = shared(i, j);
            let by_span = cat(i) == Category::Frontend && spans_shared(texts[i], texts[j]);
            if common.is_empty() && !by_span {
                continue;
            }
            let about: Vec<String> = common.into_iter().take(3).collect();
            let why = if about.is_empty() {
                "a shared endpoint".to_owned()
            } else {
                format!("both about {}", about.join(", "))
            };
            b.add(i, j, EdgeKind::Rule, format!("{rule} ({why})"));
        }
    }
    for i in (0..n).filter(|&i| cat(i) == Category::Testing) {
        let end_to_end = ["end-to-end", "e2e", "integration test"]
            .iter()
            .any(|w| has_word(texts[i], w).is_some());
        if end_to_end {
            for j in (0..n).filter(|&j| matches!(cat(j), Category::Api | Category::Frontend)) {
                b.add(
                    i,
                    j,
                    EdgeKind::Rule,
                    "an end-to-end test needs the API and UI it drives".into(),
                );
            }
            continue;
        }
        let candidates: Vec<usize> = (0..n)
            .filter(|&j| {
                j != i && !matches!(cat(j), Category::Testing | Category::Docs | Category::Infra)
            })
            .filter(|&j| !domain[i].is_disjoint(&domain[j]))
            .collect();
        let same_epic: Vec<usize> = candidates
            .iter()
            .copied()
            .filter(|&j| tasks[j].epic == tasks[i].epic)
            .collect();
        for j in if same_epic.is_empty() {
            candidates
        } else {
            same_epic
        } {
            let common = shared(i, j);
            b.add(
                i,
                j,
                EdgeKind::Rule,
                format!("tests come after what they test ({})", common.join(", ")),
            );
        }
    }
    for i in (0..n).filter(|&i| cat(i) == Category::Infra && is_ci(texts[i])) {
        for j in (0..n).filter(|&j| {
            j != i && cat(j) == Category::Infra && !is_ci(texts[j]) && is_build(texts[j])
        }) {
            b.add(
                i,
                j,
                EdgeKind::Rule,
                "CI runs after the build it runs exists".into(),
            );
        }
    }
    for i in (0..n).filter(|&i| cat(i) == Category::Docs) {
        for j in (0..n)
            .filter(|&j| j != i && cat(j) != Category::Docs && !domain[i].is_disjoint(&domain[j]))
        {
            b.add(
                i,
                j,
                EdgeKind::Rule,
                format!(
                    "documentation follows what it documents ({})",
                    shared(i, j).join(", ")
                ),
            );
        }
    }

    // 3. Phase gates: a phase's first tasks wait for the previous phase's last tasks.
    if !phase_of.is_empty() {
        let phases: BTreeSet<usize> = phase_of.iter().copied().collect();
        let phases: Vec<usize> = phases.into_iter().collect();
        for pair in phases.windows(2) {
            let (prev, next) = (pair[0], pair[1]);
            let in_prev: Vec<usize> = (0..n).filter(|&j| phase_of[j] == prev).collect();
            let sinks: Vec<usize> = in_prev
                .iter()
                .copied()
                .filter(|&j| !in_prev.iter().any(|&k| b.graph.has(k, j)))
                .collect();
            let name = |p: usize| {
                let epic =
                    &tasks[(0..n).find(|&k| phase_of[k] == p).expect("phase has tasks")].epic;
                epics
                    .iter()
                    .find(|e| &e.id == epic)
                    .map_or(epic.to_string(), |e| e.name.clone())
            };
            let (prev_name, next_name) = (name(prev), name(next));
            for i in (0..n).filter(|&i| phase_of[i] == next) {
                let has_local_dep = (0..n).any(|k| phase_of[k] == next && b.graph.has(i, k));
                if has_local_dep {
                    continue;
                }
                for &j in &sinks {
                    b.add(
                        i,
                        j,
                        EdgeKind::PhaseGate,
                        format!("phase gate: {next_name} starts after {prev_name} is done"),
                    );
                }
            }
        }
    }
    b.out
}

fn is_ci(text: &str) -> bool {
    has_word(text, "ci").is_some()
        || has_word(text, "pipeline").is_some()
        || has_word(text, "github actions").is_some()
}

fn is_build(text: &str) -> bool {
    [
        "docker",
        "dockerfile",
        "build",
        "makefile",
        "compose",
        "container",
        "package",
    ]
    .iter()
    .any(|w| has_word(text, w).is_some())
}

fn spans_shared(a: &str, b: &str) -> bool {
    let b_spans: Vec<String> = code_spans(b)
        .iter()
        .map(|s| s.to_ascii_lowercase())
        .collect();
    code_spans(a)
        .iter()
        .any(|s| b_spans.contains(&s.to_ascii_lowercase()))
}

/// The text after each dependency marker, up to the end of its clause.
fn explicit_phrases(text: &str) -> Vec<String> {
    let lower = text.to_ascii_lowercase();
    let mut out = Vec::new();
    for marker in EXPLICIT_MARKERS {
        let mut from = 0;
        while let Some(pos) = lower[from..].find(marker) {
            let start = from + pos;
            from = start + marker.len();
            let boundary_before = lower[..start]
                .chars()
                .next_back()
                .is_none_or(|c| !c.is_ascii_alphanumeric());
            if !boundary_before {
                continue;
            }
            // Keep the original case (code spans are case-sensitive to the reader).
            let rest = &text[from..];
            let end = rest.find(['.', ';', '\n']).unwrap_or(rest.len());
            let phrase = rest[..end].trim().trim_end_matches(',');
            if !phrase.is_empty() {
                out.push(format!("{} {}", marker, phrase));
            }
        }
    }
    out
}

/// The task a phrase refers to: by a shared code span first, then by the best token match.
fn resolve(phrase: &str, me: usize, tasks: &[Task], texts: &[&str]) -> Option<(usize, String)> {
    for span in code_spans(phrase) {
        let wanted = span.to_ascii_lowercase();
        let hit = (0..tasks.len()).find(|&j| {
            j != me
                && code_spans(texts[j])
                    .iter()
                    .any(|s| s.to_ascii_lowercase() == wanted)
        });
        if let Some(j) = hit {
            return Some((j, format!("`{span}` is delivered by {}", tasks[j].id)));
        }
    }
    // A plain task id is also a reference.
    for j in (0..tasks.len()).filter(|&j| j != me) {
        if has_word(phrase, &tasks[j].id.as_str().to_ascii_lowercase()).is_some() {
            return Some((j, "named by id".into()));
        }
    }
    let wanted = tokens(phrase);
    let mut best: Option<(usize, usize)> = None;
    for j in (0..tasks.len()).filter(|&j| j != me) {
        let title = tokens(&tasks[j].title);
        let body = tokens(texts[j]);
        let score = wanted
            .iter()
            .map(|w| usize::from(body.contains(w)) + usize::from(title.contains(w)))
            .sum::<usize>();
        if score >= 2 && best.is_none_or(|(_, s)| score > s) {
            best = Some((j, score));
        }
    }
    best.map(|(j, _)| (j, format!("best match: {}", tasks[j].title)))
}

struct Builder<'t> {
    tasks: &'t [Task],
    phase_of: &'t [usize],
    graph: Graph,
    out: Analysis,
}

impl Builder<'_> {
    /// Adds `from → to` unless it is there already or would close a cycle.
    fn add(&mut self, from: usize, to: usize, kind: EdgeKind, reason: String) {
        if from == to || self.graph.has(from, to) {
            return;
        }
        if !self.phase_of.is_empty() && self.phase_of[to] > self.phase_of[from] {
            self.out.notes.push(format!(
                "left out {} → {} ({reason}): a phase cannot wait for a later phase",
                self.tasks[from].id, self.tasks[to].id
            ));
            return;
        }
        if self.graph.reaches(to, from) {
            self.out.notes.push(format!(
                "left out {} → {} ({reason}): it would close a cycle",
                self.tasks[from].id, self.tasks[to].id
            ));
            return;
        }
        self.graph.add(from, to);
        self.out.edges.push(Edge {
            task: self.tasks[from].id.clone(),
            depends_on: self.tasks[to].id.clone(),
            kind,
            reason,
        });
    }
}

/// Adjacency for cycle checks while edges are added.
struct Graph {
    deps: Vec<BTreeSet<usize>>,
}

impl Graph {
    fn new(n: usize) -> Graph {
        Graph {
            deps: vec![BTreeSet::new(); n],
        }
    }

    fn has(&self, from: usize, to: usize) -> bool {
        self.deps[from].contains(&to)
    }

    fn add(&mut self, from: usize, to: usize) {
        self.deps[from].insert(to);
    }

    /// Whether `from` depends on `to`, directly or not.
    fn reaches(&self, from: usize, to: usize) -> bool {
        let mut stack = vec![from];
        let mut seen = BTreeSet::new();
        while let Some(x) = stack.pop() {
            if x == to {
                return true;
            }
            if seen.insert(x) {
                stack.extend(self.deps[x].iter().copied());
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phrases() {
        assert_eq!(
            explicit_phrases("JWT issuing; depends on the user schema."),
            vec!["depends on the user schema"]
        );
        assert_eq!(
            explicit_phrases("Header; needs `GET /me`."),
            vec!["needs `GET /me`"]
        );
        assert!(explicit_phrases("Thereafter nothing").is_empty());
    }
}
