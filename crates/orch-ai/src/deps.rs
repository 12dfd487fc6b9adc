//! Dependency analysis: explicit references ("depends on the user schema", "needs
//! `GET /me`"), ordering rules (schema before the API that uses it, API before the UI that
//! consumes it, tests after what they test, CI after the build exists) and phase gates.
//! Every edge carries its reason; an edge that would close a cycle is dropped with a note.

use std::collections::{BTreeSet, HashMap};

use orch_core::{Category, Epic, Task, TaskId};
use serde::Serialize;

use crate::text::{code_spans, domain_tokens, has_word, surface_words, tokens};

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
    let refs = References::new(tasks, texts);
    for (i, text) in texts.iter().enumerate() {
        for phrase in explicit_phrases(text) {
            if let Some((j, why)) = refs.resolve(&phrase, i) {
                b.add(
                    i,
                    j,
                    EdgeKind::Explicit,
                    format!("the PRD says \"{phrase}\" ({why})"),
                );
            }
        }
    }

    // 2. Ordering rules between kinds of work. A rule links two tasks only when they are
    // about the same thing, and only to the closest matches: in a PRD where every schema
    // mentions "records", the billing API waits for the billing schema, not for all of them.
    let n = tasks.len();
    let words = Words::new(texts);
    let cat = |i: usize| tasks[i].category;
    let shared = |a: usize, b: usize| words.shared(texts, a, b);
    for i in 0..n {
        let (rule, wanted): (&str, fn(Category) -> bool) = match cat(i) {
            Category::Api | Category::Backend | Category::Security => {
                ("the schema comes before the code that uses it", |c| {
                    c == Category::Database
                })
            }
            Category::Frontend => ("the API comes before the UI that consumes it", |c| {
                c == Category::Api
            }),
            _ => continue,
        };
        let scored = (0..n).filter(|&j| j != i && wanted(cat(j))).map(|j| {
            let by_span = cat(i) == Category::Frontend && words.spans_shared(i, j);
            (
                j,
                words.overlap(i, j) + if by_span { SPAN_WEIGHT } else { 0.0 },
            )
        });
        for j in closest(scored) {
            let about: Vec<String> = shared(i, j).into_iter().take(3).collect();
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
        let testable = |j: usize| {
            j != i && !matches!(cat(j), Category::Testing | Category::Docs | Category::Infra)
        };
        let same_epic = (0..n)
            .any(|j| testable(j) && tasks[j].epic == tasks[i].epic && words.overlap(i, j) > 0.0);
        let scored = (0..n)
            .filter(|&j| testable(j) && (!same_epic || tasks[j].epic == tasks[i].epic))
            .map(|j| (j, words.overlap(i, j)));
        for j in closest(scored) {
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
        let scored = (0..n)
            .filter(|&j| j != i && cat(j) != Category::Docs)
            .map(|j| (j, words.overlap(i, j)));
        for j in closest(scored) {
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

/// A shared code span (an endpoint, a table name) outweighs any number of shared words.
const SPAN_WEIGHT: f64 = 100.0;

/// Of the candidates with a positive score, those within half of the best score.
fn closest(scored: impl Iterator<Item = (usize, f64)>) -> Vec<usize> {
    let scored: Vec<(usize, f64)> = scored.filter(|&(_, s)| s > 0.0).collect();
    let best = scored.iter().map(|&(_, s)| s).fold(0.0, f64::max);
    scored
        .into_iter()
        .filter(|&(_, s)| s >= best / 2.0)
        .map(|(j, _)| j)
        .collect()
}

/// What each task's text is about, computed once: domain words, code spans, and how rare
/// each word is across the PRD (a word every task uses says little about any of them).
struct Words {
    domain: Vec<BTreeSet<String>>,
    vocabulary: HashMap<String, u32>,
    /// The same words as sorted ids into `rarity`, for fast overlaps.
    ids: Vec<Vec<u32>>,
    rarity: Vec<f64>,
    spans: Vec<BTreeSet<String>>,
}

impl Words {
    fn new(texts: &[&str]) -> Words {
        let domain: Vec<BTreeSet<String>> = texts.iter().map(|t| domain_tokens(t)).collect();
        let mut vocabulary: HashMap<String, u32> = HashMap::new();
        let mut frequency: Vec<usize> = Vec::new();
        let ids = domain
            .iter()
            .map(|words| {
                let mut ids: Vec<u32> = words
                    .iter()
                    .map(|w| {
                        let next = vocabulary.len() as u32;
                        let id = *vocabulary.entry(w.clone()).or_insert(next);
                        if id == next {
                            frequency.push(0);
                        }
                        frequency[id as usize] += 1;
                        id
                    })
                    .collect();
                ids.sort_unstable();
                ids
            })
            .collect();
        // Boilerplate shared by most tasks ("errors are shown next to the field") links
        // nothing; in a handful of tasks, every shared word counts.
        let n = texts.len();
        let rarity = frequency
            .iter()
            .map(|&df| {
                if n >= 6 && df * 2 > n {
                    0.0
                } else {
                    (1.0 + n as f64 / df as f64).ln()
                }
            })
            .collect();
        let spans = texts
            .iter()
            .map(|t| {
                code_spans(t)
                    .iter()
                    .map(|s| s.to_ascii_lowercase())
                    .collect()
            })
            .collect();
        Words {
            domain,
            vocabulary,
            ids,
            rarity,
            spans,
        }
    }

    /// The rarity-weighted number of domain words tasks `a` and `b` share.
    fn overlap(&self, a: usize, b: usize) -> f64 {
        let (x, y) = (&self.ids[a], &self.ids[b]);
        let (mut i, mut j, mut sum) = (0, 0, 0.0);
        while i < x.len() && j < y.len() {
            match x[i].cmp(&y[j]) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => {
                    sum += self.rarity[x[i] as usize];
                    i += 1;
                    j += 1;
                }
            }
        }
        sum
    }

    /// The telling words tasks `a` and `b` share, as written in `a`.
    fn shared(&self, texts: &[&str], a: usize, b: usize) -> Vec<String> {
        let stems = self.domain[a]
            .intersection(&self.domain[b])
            .filter(|w| self.rarity[self.vocabulary[*w] as usize] > 0.0)
            .cloned()
            .collect();
        surface_words(texts[a], &stems)
    }

    fn spans_shared(&self, a: usize, b: usize) -> bool {
        !self.spans[a].is_disjoint(&self.spans[b])
    }
}

/// Resolves "depends on …" phrases to tasks.
struct References<'t> {
    tasks: &'t [Task],
    titles: Vec<BTreeSet<String>>,
    bodies: Vec<BTreeSet<String>>,
    /// Code span (lowercased) → the first task that mentions it.
    span_owner: HashMap<String, Vec<usize>>,
    /// Task id (lowercased) → task.
    ids: HashMap<String, usize>,
}

impl<'t> References<'t> {
    fn new(tasks: &'t [Task], texts: &[&str]) -> References<'t> {
        let mut span_owner: HashMap<String, Vec<usize>> = HashMap::new();
        for (j, text) in texts.iter().enumerate() {
            for span in code_spans(text) {
                let owners = span_owner.entry(span.to_ascii_lowercase()).or_default();
                if owners.last() != Some(&j) {
                    owners.push(j);
                }
            }
        }
        References {
            tasks,
            titles: tasks.iter().map(|t| tokens(&t.title)).collect(),
            bodies: texts.iter().map(|t| tokens(t)).collect(),
            span_owner,
            ids: tasks
                .iter()
                .enumerate()
                .map(|(j, t)| (t.id.as_str().to_ascii_lowercase(), j))
                .collect(),
        }
    }

    /// The task a phrase refers to: by a shared code span first, then by id, then by the
    /// best token match.
    fn resolve(&self, phrase: &str, me: usize) -> Option<(usize, String)> {
        for span in code_spans(phrase) {
            let owner = self
                .span_owner
                .get(&span.to_ascii_lowercase())
                .and_then(|owners| owners.iter().copied().find(|&j| j != me));
            if let Some(j) = owner {
                return Some((j, format!("`{span}` is delivered by {}", self.tasks[j].id)));
            }
        }
        let named = phrase
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
            .filter_map(|word| self.ids.get(&word.to_ascii_lowercase()).copied())
            .find(|&j| j != me);
        if let Some(j) = named {
            return Some((j, "named by id".into()));
        }
        // Words: the phrase without its marker ("depends on"), only words some task uses.
        let rest = EXPLICIT_MARKERS
            .iter()
            .find_map(|m| phrase.strip_prefix(m))
            .unwrap_or(phrase);
        let wanted: Vec<String> = tokens(rest)
            .into_iter()
            .filter(|w| (0..self.tasks.len()).any(|j| j != me && self.bodies[j].contains(w)))
            .collect();
        // A match must cover what the phrase names ("the billing schema" is not satisfied by
        // the search schema): every word, or all but one of three or more.
        let needed = if wanted.len() >= 3 {
            wanted.len() - 1
        } else {
            wanted.len()
        };
        let mut best: Option<(usize, usize)> = None;
        for j in (0..self.tasks.len()).filter(|&j| j != me) {
            let covered = wanted
                .iter()
                .filter(|w| self.bodies[j].contains(*w) || self.titles[j].contains(*w))
                .count();
            if covered < needed.max(1) {
                continue;
            }
            let score = wanted
                .iter()
                .map(|w| {
                    usize::from(self.bodies[j].contains(w))
                        + usize::from(self.titles[j].contains(w))
                })
                .sum::<usize>();
            if score >= 2 && best.is_none_or(|(_, s)| score > s) {
                best = Some((j, score));
            }
        }
        best.map(|(j, _)| (j, format!("best match: {}", self.tasks[j].title)))
    }
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
        let mut seen = vec![false; self.deps.len()];
        while let Some(x) = stack.pop() {
            if x == to {
                return true;
            }
            if !std::mem::replace(&mut seen[x], true) {
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
