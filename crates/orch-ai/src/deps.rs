//! Dependency analysis: which requirement needs which, with the evidence for each edge.
//!
//! In order of trust, each pass adding only edges that keep the graph acyclic:
//! 1. what the PRD states: a label or code span another requirement owns, and phrases after
//!    markers ("depends on", "needs", "after", "once … exists", "builds on", "using",
//!    "drawn from", 〜に依存, 〜の後, 〜を利用, 〜が前提, 〜を使って), resolved to the
//!    requirement whose name or text fits best;
//! 2. constraints that tie two requirements ("every order passes the risk check");
//! 3. references to what another requirement provides ([`crate::evidence`]): its name, its
//!    head noun, a phrase it introduced, the subject it abstracts, what it yields;
//! 4. rules with specific evidence: sign-in before the pages it scopes, "every page" before
//!    the section's pages, tests after what they test, CI after the build, docs after what
//!    they document; and, for a requirement the text gave no evidence for, schema before
//!    the code that uses it and API before the UI that consumes it;
//! 5. phase gates, when the plan is phased.
//!
//! Edges from rules and from weak references are marked `inferred`: a person may drop them.

use std::collections::{BTreeSet, HashSet};

use orch_core::{Category, Epic, Task, TaskId};
use serde::Serialize;

use crate::evidence::{Corpus, Input, Provides, phrase_pairs};
use crate::graph::Graph;
use crate::lexicon::{Id, Tok};

/// Why one task waits for another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EdgeKind {
    /// The PRD says so ("depends on", "after", 〜に依存, a label, a shared endpoint).
    Explicit,
    /// The task uses something the other one provides (its name, its head noun, a term it
    /// introduced).
    Reference,
    /// An ordering rule between kinds of work, or a constraint.
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
    /// Weak evidence (a rule, a shared term): shown so a person can drop it.
    pub inferred: bool,
    /// In words.
    pub reason: String,
}

/// The result of [`analyse`].
pub(crate) struct Analysis {
    /// Accepted edges, acyclic.
    pub edges: Vec<Edge>,
    /// Edges left out and why.
    pub notes: Vec<String>,
    /// What each task provides, in task order.
    pub provides: Vec<Provides>,
}

/// Everything the analysis reads.
pub(crate) struct Request<'a> {
    pub tasks: &'a [Task],
    /// Requirement text per task.
    pub texts: &'a [&'a str],
    /// The PRD's label per task, if any.
    pub labels: &'a [Option<&'a str>],
    /// Section (epic group) index per task.
    pub sections: &'a [usize],
    /// Heading per section index.
    pub section_headings: &'a [String],
    /// Phase index per task; empty unless the plan is phased.
    pub phase_of: &'a [usize],
    pub epics: &'a [Epic],
    /// The PRD's overview prose: its common vocabulary.
    pub overview: &'a str,
    /// Constraint statements.
    pub constraints: &'a [&'a str],
}

/// English markers; the referenced phrase follows.
const MARKERS_AFTER: &[&str] = &[
    "depends on",
    "depend on",
    "dependent on",
    "depending on",
    "needs",
    "need",
    "requires",
    "require",
    "required",
    "uses",
    "use",
    "using",
    "builds on",
    "build on",
    "built on",
    "building on",
    "on top of",
    "after",
    "once",
    "reading from",
    "reads from",
    "read from",
    "reads",
    "drawn from",
    "computed from",
    "derived from",
    "calculated from",
    "based on",
    "relies on",
    "rely on",
    "consumes",
    "extends",
    "reuses",
    "reusing",
    "the same",
    "blocked by",
    "waits for",
    "wait for",
    "comes after",
    "follows",
    "against",
    "integrates with",
    "on the existing",
];

/// Japanese markers; the referenced phrase comes before.
const MARKERS_BEFORE: &[&str] = &[
    "が前提",
    "を前提",
    "に依存",
    "の後",
    "のあと",
    "を利用",
    "を使",
    "を用い",
    "に基づ",
    "を参照",
    "を再利用",
    "と同じ",
    "を元に",
    "をもとに",
    "を拡張",
    "の完了後",
    "の完成後",
    "から読",
    "を読み",
    "を呼び出",
];

/// Words that end a referenced phrase ("the alert rules engine *exists*").
const PHRASE_ENDS: &[&str] = &[
    "exists", "exist", "is", "are", "in place", "ready", "done", "above", "below", "first",
    "lands", "has", "have", "works", "itself", "then", "later", "so", "which", "that", "where",
    "when", "to", "for", "with", "never", "before", "instead",
];

pub(crate) fn analyse(request: &Request<'_>) -> Analysis {
    let inputs: Vec<Input<'_>> = (0..request.tasks.len())
        .map(|i| Input {
            text: request.texts[i],
            label: request.labels[i],
            section: request.sections[i],
            nfr: crate::roles::is_nfr_heading(&request.section_headings[request.sections[i]]),
        })
        .collect();
    let corpus = Corpus::new(&inputs, request.overview, request.section_headings);
    let mut introduced: std::collections::HashMap<(Id, Id), usize> = Default::default();
    for (j, req) in corpus.reqs.iter().enumerate().filter(|(_, r)| !r.nfr) {
        // A phrase after "depends on" or before 〜の後 refers to something; it introduces
        // nothing.
        let referring = markers(request.texts[j]);
        let toks: Vec<Tok> = req
            .toks
            .iter()
            .copied()
            .filter(|t| !referring.iter().any(|(_, s, e)| (*s..*e).contains(&t.at)))
            .collect();
        for (x, y) in content_pairs(&toks) {
            let common = corpus.is_common(x) && corpus.is_common(y);
            if !(common || corpus.is_generic(x) && corpus.is_generic(y)) {
                introduced.entry((x, y)).or_insert(j);
            }
        }
    }
    let mut b = Builder {
        request,
        corpus: &corpus,
        introduced,
        graph: Graph::new(request.tasks.len()),
        firm: vec![false; request.tasks.len()],
        named: vec![false; request.tasks.len()],
        out: Analysis {
            edges: Vec::new(),
            notes: Vec::new(),
            provides: (0..request.tasks.len())
                .map(|i| corpus.provides(i, request.texts[i]))
                .collect(),
        },
    };
    b.stated();
    b.constraints();
    b.references();
    b.rules();
    b.phase_gates();
    b.out
}

struct Builder<'r> {
    request: &'r Request<'r>,
    corpus: &'r Corpus,
    /// Two-word phrases and the first requirement to use them (outside the product's common
    /// vocabulary).
    introduced: std::collections::HashMap<(Id, Id), usize>,
    graph: Graph,
    /// Whether each task already has a dependency on firm (not inferred) evidence.
    firm: Vec<bool>,
    /// Whether each task names what it depends on (a statement, a name, a head noun).
    named: Vec<bool>,
    out: Analysis,
}

impl Builder<'_> {
    fn n(&self) -> usize {
        self.request.tasks.len()
    }

    fn text(&self, i: usize) -> &str {
        self.request.texts[i]
    }

    fn category(&self, i: usize) -> Category {
        self.request.tasks[i].category
    }

    /// Adds `from → to` unless it is there already, crosses to a later phase, or closes a
    /// cycle (each refusal noted).
    fn add(&mut self, from: usize, to: usize, kind: EdgeKind, inferred: bool, reason: String) {
        if from == to || self.graph.has(from, to) {
            return;
        }
        let ids = |i: usize| self.request.tasks[i].id.clone();
        let phase_of = self.request.phase_of;
        if !phase_of.is_empty() && phase_of[to] > phase_of[from] {
            self.note(format!(
                "left out {} → {} ({reason}): a phase cannot wait for a later phase",
                ids(from),
                ids(to)
            ));
            return;
        }
        if !self.graph.add(from, to) {
            // A reference that would close a cycle is the other side of a mutual mention:
            // not worth a note.
            if kind == EdgeKind::Reference {
                return;
            }
            self.note(format!(
                "left out {} → {} ({reason}): it would close a cycle",
                ids(from),
                ids(to)
            ));
            return;
        }
        self.firm[from] |= !inferred;
        self.named[from] |= kind == EdgeKind::Explicit;
        self.out.edges.push(Edge {
            task: ids(from),
            depends_on: ids(to),
            kind,
            inferred,
            reason,
        });
    }

    fn note(&mut self, note: String) {
        // Notes are for people: a handful says enough on a huge PRD.
        if self.out.notes.len() < 200 {
            self.out.notes.push(note);
        }
    }

    fn id(&self, i: usize) -> &str {
        self.request.tasks[i].id.as_str()
    }

    /// The text of tokens `toks` as written in requirement `i`.
    fn surface(&self, i: usize, toks: &[Tok]) -> String {
        let text = self.text(i);
        let (Some(first), Some(last)) = (toks.first(), toks.last()) else {
            return String::new();
        };
        let cjk = text[last.at..].starts_with(crate::text::is_cjk);
        let end = text[last.at..]
            .char_indices()
            .take(16)
            .find(|&(k, c)| {
                if cjk {
                    k >= c.len_utf8() * 2 || !crate::text::is_cjk(c)
                } else {
                    !(c.is_alphanumeric() || c == '-' || c == '_')
                }
            })
            .map_or_else(
                || {
                    text[last.at..]
                        .char_indices()
                        .nth(16)
                        .map_or(text.len(), |(k, _)| last.at + k)
                },
                |(k, _)| last.at + k,
            );
        text[first.at..end].to_owned()
    }

    // 1. What the PRD states.

    fn stated(&mut self) {
        for i in 0..self.n() {
            self.labels_and_spans(i);
            for (marker, start, end) in markers(self.text(i)) {
                let toks: Vec<Tok> = self.corpus.reqs[i]
                    .toks
                    .iter()
                    .copied()
                    .filter(|t| t.at >= start && t.at < end)
                    .collect();
                let spans = backtick_ranges(self.text(i));
                for conjunct in self.conjuncts(&toks) {
                    // A code span names what it names: its owner is found by the span.
                    let in_code = |t: &Tok| spans.iter().any(|r| r.contains(&t.at));
                    if conjunct.iter().all(|t| !t.content || in_code(t)) {
                        continue;
                    }
                    let phrase = self.surface(i, &conjunct);
                    match self.resolve(&conjunct, i) {
                        Resolved::One(j) => self.add(
                            i,
                            j,
                            EdgeKind::Explicit,
                            false,
                            format!(
                                "the PRD says \"{marker} {phrase}\" ({} is {})",
                                self.id(j),
                                self.corpus.name_text(j, self.text(j))
                            ),
                        ),
                        Resolved::Section(members) => {
                            for j in members {
                                self.add(
                                    i,
                                    j,
                                    EdgeKind::Explicit,
                                    false,
                                    format!(
                                        "the PRD says \"{marker} {phrase}\": the rest of this section"
                                    ),
                                );
                            }
                        }
                        Resolved::None => {}
                    }
                }
            }
        }
    }

    /// `PB-2` or a code span another requirement owns.
    fn labels_and_spans(&mut self, i: usize) {
        let text = self.text(i).to_lowercase();
        for j in (0..self.n()).filter(|&j| j != i) {
            if let Some(label) = &self.corpus.reqs[j].label
                && contains_word(&text, label)
                && self.corpus.reqs[i].label.as_ref() != Some(label)
            {
                self.add(
                    i,
                    j,
                    EdgeKind::Explicit,
                    false,
                    format!("the PRD refers to {label}"),
                );
            }
        }
        // A code span belongs to the first requirement that names it.
        let spans: Vec<String> = crate::text::code_spans(self.text(i))
            .into_iter()
            .map(str::to_owned)
            .collect();
        for span in spans.iter().filter(|s| s.len() >= 3) {
            let lower = span.to_lowercase();
            let owner = (0..i).find(|&j| self.corpus.reqs[j].spans.contains(&lower));
            if let Some(j) = owner {
                self.add(
                    i,
                    j,
                    EdgeKind::Explicit,
                    false,
                    format!("`{span}` is delivered by {}", self.id(j)),
                );
            }
        }
    }

    /// Conjuncts of a phrase: split at `and`, `or`, `,`, `と`, each cut where what is said
    /// about it starts (`is`, `exists`, `above`).
    fn conjuncts(&self, toks: &[Tok]) -> Vec<Vec<Tok>> {
        let mut out: Vec<Vec<Tok>> = vec![Vec::new()];
        let mut ended = false;
        let mut clause = toks.first().map(|t| t.clause);
        for t in toks {
            let word = self.corpus.lex.word(t.id);
            let splits =
                (self.corpus.is_conjunction(t.id) && word != "・") || Some(t.clause) != clause;
            clause = Some(t.clause);
            if splits {
                out.push(Vec::new());
                ended = false;
                if self.corpus.is_conjunction(t.id) {
                    continue;
                }
            }
            if ended || PHRASE_ENDS.contains(&word) {
                ended = true;
                continue;
            }
            out.last_mut().expect("one conjunct").push(*t);
        }
        out.retain(|c| c.iter().any(|t| t.content));
        out
    }

    /// The requirement a phrase names: the one whose name, heads and text share the most
    /// telling words with it, provided its last noun (the phrase's head) is among them.
    fn resolve(&self, phrase: &[Tok], me: usize) -> Resolved {
        let c = self.corpus;
        let words: Vec<Id> = phrase
            .iter()
            .filter(|t| t.content && !c.is_generic(t.id))
            .map(|t| t.id)
            .collect();
        // The phrase's head is its last word that another requirement uses ("the ingestion
        // stream": ingestion).
        let Some((head, candidates)) = words.iter().rev().take(2).find_map(|w| {
            c.postings
                .get(w)
                .filter(|p| p.iter().any(|&j| j != me))
                .map(|p| (*w, p))
        }) else {
            return self.section_subject(&words, me);
        };
        let mut best: Option<(usize, f64)> = None;
        if candidates.len() <= 256 {
            for &j in candidates.iter().filter(|&&j| j != me) {
                let req = &c.reqs[j];
                let distinct: BTreeSet<&Id> = words.iter().collect();
                let mut matched = 0;
                let mut score: f64 = 0.0;
                for w in distinct {
                    let weight = if req.name.contains(w) || self.agent_noun(j, *w) {
                        3.0
                    } else if req.all.contains(w) {
                        1.0
                    } else {
                        continue;
                    };
                    matched += 1;
                    score += weight * c.idf(*w);
                }
                // The candidate must cover what the phrase names ("the search schema" is not
                // the billing schema): every word some other requirement uses, or all but
                // one of three or more; half of the pieces of a kanji compound.
                // Words that name some other requirement's subject must all fit; adjectives
                // ("nightly") may be missing.
                let wanted: Vec<&Id> = words
                    .iter()
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .filter(|w| {
                        **w == head
                            || c.name_postings
                                .get(w)
                                .is_some_and(|p| p.iter().any(|&k| k != me))
                    })
                    .collect();
                let covered = wanted
                    .iter()
                    .filter(|w| req.all.contains(w) || self.agent_noun(j, ***w))
                    .count();
                let latin = wanted.iter().all(|w| c.lex.word(**w).is_ascii());
                let needed = if !latin {
                    wanted.len().div_ceil(2)
                } else if wanted.len() >= 3 {
                    wanted.len() - 1
                } else {
                    wanted.len()
                };
                if covered < needed {
                    continue;
                }
                let is_head = req.heads.contains(&head);
                if is_head {
                    score += 2.0 * c.idf(head);
                }
                let enough = is_head || matched >= 2 || score >= 2.0 * c.idf(head) - 1e-9;
                if enough && best.is_none_or(|(_, s)| score > s + 1e-9) {
                    best = Some((j, score));
                }
            }
        }
        match best {
            Some((j, _)) => Resolved::One(j),
            None => self.section_subject(&words, me),
        }
    }

    /// Whether `word` is what requirement `j`'s name does: the `load` of a `Loader`, the
    /// `extract` of an `Extractor`, the `render` of a `Renderer`.
    fn agent_noun(&self, j: usize, word: Id) -> bool {
        let c = self.corpus;
        let verb = c.lex.word(word);
        c.reqs[j].name.iter().any(|n| {
            let noun = c.lex.word(*n);
            noun.len() >= 6
                && noun.is_ascii()
                && ["er", "or"].iter().any(|suffix| {
                    noun.strip_suffix(suffix)
                        .is_some_and(|base| base == verb || crate::text::stem(base) == verb)
                })
        })
    }

    /// "through the same engine": the subject of this requirement's own section, built by
    /// the requirements before it.
    fn section_subject(&self, words: &[Id], me: usize) -> Resolved {
        let c = self.corpus;
        let section = c.reqs[me].section;
        match words.last() {
            Some(head) if c.section_words[section].contains(head) => {
                let members: Vec<usize> =
                    (0..me).filter(|&j| c.reqs[j].section == section).collect();
                if members.is_empty() {
                    Resolved::None
                } else {
                    Resolved::Section(members)
                }
            }
            _ => Resolved::None,
        }
    }

    // 2. Constraints.

    /// A constraint that names two requirements orders them: the subject waits for what it
    /// must pass through ("every order passes the risk check"); with "same"/"share", the
    /// later requirement follows the earlier.
    fn constraints(&mut self) {
        let mut lex = crate::lexicon::Lexicon::default();
        for statement in self.request.constraints {
            for sentence in crate::prd::sentences(statement) {
                let toks = lex.tokenize(sentence);
                let mut named: Vec<usize> = Vec::new();
                for t in toks.iter().filter(|t| t.content) {
                    let Some(id) = self.corpus.lex.get(lex.word(t.id)) else {
                        continue;
                    };
                    if self.corpus.is_generic(id) || self.corpus.is_common(id) {
                        continue;
                    }
                    let by_name: Vec<usize> = (self.corpus.postings.get(&id))
                        .into_iter()
                        .flatten()
                        .copied()
                        .filter(|&j| self.corpus.reqs[j].name.contains(&id))
                        .collect();
                    let owner = match by_name.as_slice() {
                        [one] => Some(*one),
                        [] => match self.corpus.postings.get(&id).map(Vec::as_slice) {
                            Some([one]) => Some(*one),
                            _ => None,
                        },
                        _ => None,
                    };
                    if let Some(j) = owner
                        && !named.contains(&j)
                    {
                        named.push(j);
                    }
                }
                if named.len() < 2 {
                    continue;
                }
                let lower = sentence.to_lowercase();
                let shared = ["same", "share", "both", "同じ", "共通"]
                    .iter()
                    .any(|w| lower.contains(w));
                let quoted = crate::text::title_of(sentence);
                if shared {
                    let mut ordered = named.clone();
                    ordered.sort_unstable();
                    for pair in ordered.windows(2) {
                        self.add(
                            pair[1],
                            pair[0],
                            EdgeKind::Rule,
                            true,
                            format!("the constraint \"{quoted}\" ties them to one code path"),
                        );
                    }
                } else {
                    for &j in &named[1..] {
                        self.add(
                            named[0],
                            j,
                            EdgeKind::Rule,
                            true,
                            format!("the constraint says \"{quoted}\""),
                        );
                    }
                }
            }
        }
    }

    // 3. References.

    /// Collects every reference, settles mutual ones (A names B and B names A: the stronger
    /// evidence wins, and on a tie the later requirement builds on the earlier), then adds
    /// them strongest first.
    fn references(&mut self) {
        let mut found: Vec<Candidate> = Vec::new();
        for i in 0..self.n() {
            self.collect_references(i, &mut found);
        }
        let mut best: std::collections::HashMap<(usize, usize), Candidate> = Default::default();
        for cand in found {
            let key = (cand.from, cand.to);
            if best.get(&key).is_none_or(|b| cand.strength > b.strength) {
                best.insert(key, cand);
            }
        }
        let mut chosen: Vec<Candidate> = best
            .values()
            .filter(|c| match best.get(&(c.to, c.from)) {
                Some(other) => {
                    c.strength > other.strength || (c.strength == other.strength && c.from > c.to)
                }
                None => true,
            })
            .cloned()
            .collect();
        chosen.sort_by(|a, b| {
            b.strength
                .cmp(&a.strength)
                .then(a.from.cmp(&b.from))
                .then(a.to.cmp(&b.to))
        });
        for c in chosen {
            let (from, names) = (c.from, c.names);
            self.add(c.from, c.to, EdgeKind::Reference, c.strength < 2, c.reason);
            self.named[from] |= names && self.graph.has(from, c.to);
        }
    }

    fn collect_references(&self, i: usize, found: &mut Vec<Candidate>) {
        let c = self.corpus;
        let req = &c.reqs[i];
        // "all pages except the public invoice view": what is excepted is not used.
        let excepted = exceptions(self.text(i));
        let toks: Vec<Tok> = req
            .toks
            .iter()
            .copied()
            .filter(|t| !excepted.iter().any(|r| r.contains(&t.at)))
            .collect();
        let content: Vec<Tok> = toks.iter().copied().filter(|t| t.content).collect();
        let mut push = |to: usize, strength: u8, reason: String| {
            found.push(Candidate {
                from: i,
                to,
                strength,
                names: strength >= 2 && !reason.starts_with("is about"),
                reason,
            })
        };
        // Names: a two-word phrase of another requirement's name, or one it introduced.
        let strict: HashSet<(Id, Id)> = content_pairs(&toks).into_iter().collect();
        for (a, b) in phrase_pairs(&toks, false) {
            let pair = (a.id, b.id);
            let both = |f: &dyn Fn(Id) -> bool| f(pair.0) && f(pair.1);
            let telling = !both(&|w| c.is_generic(w)) && !both(&|w| c.is_common(w));
            if req.name_pairs.contains(&pair) || !telling {
                continue;
            }
            if let Some(owners) = c.pairs.get(&pair)
                && let Some(j) = self.pick(owners, i, &[])
            {
                let phrase = self.surface(i, &[a, b]);
                push(
                    j,
                    4,
                    format!("names \"{phrase}\", which {} provides", self.id(j)),
                );
            } else if let Some(&j) = self.introduced.get(&pair)
                && j < i
                && strict.contains(&pair)
            {
                let phrase = self.surface(i, &[a, b]);
                push(
                    j,
                    1,
                    format!("uses \"{phrase}\", introduced by {}", self.id(j)),
                );
            }
        }
        // Heads: `the broker`, `a geofence`, `打刻`; a modifier must fit the owner's name
        // (`outgoing transfer` is the outgoing one; `end-of-day statement` is not the
        // monthly one).
        for (k, t) in content.iter().enumerate() {
            // An abstraction does not wait for instances of its subject (the rule registry
            // does not wait for the built-in rules).
            if req.heads.contains(&t.id) || c.is_generic(t.id) || req.subjects.contains(&t.id) {
                continue;
            }
            let Some(owners) = c.heads.get(&t.id) else {
                continue;
            };
            // `stored in PostGIS` and `検索して` are verbs, not the store and the search.
            if is_latin(c, t.id) && self.surface(i, &[*t]).to_lowercase().ends_with("ed")
                || is_suru_verb(self.text(i), t, c)
            {
                continue;
            }
            let modifier = k
                .checked_sub(1)
                .map(|p| content[p])
                .filter(|p| p.clause == t.clause && adjacent(req, p, t) && is_latin(c, p.id));
            let chosen = match modifier {
                Some(m) => {
                    let fitting: Vec<usize> = owners
                        .iter()
                        .copied()
                        .filter(|&j| j != i && c.reqs[j].name.contains(&m.id))
                        .collect();
                    match fitting.as_slice() {
                        [one] => Some(*one),
                        _ => None,
                    }
                }
                None => self.pick(owners, i, &near(&content, k)),
            };
            if let Some(j) = chosen {
                let word = self.surface(i, &[*t]);
                push(
                    j,
                    3,
                    format!("refers to the {word} that {} builds", self.id(j)),
                );
            }
        }
        // A word another requirement introduced, opening its name (`会員登録` for 会員).
        for t in &content {
            // However common the word later becomes: the product's main nouns are exactly
            // what one requirement introduces and the rest build on.
            if let Some(&j) = c.introducer.get(&t.id)
                && j < i
                && !c.is_generic(t.id)
                && !c.heads.contains_key(&t.id)
            {
                let word = self.surface(i, &[*t]);
                push(j, 1, format!("{} introduced \"{word}\"", self.id(j)));
            }
        }
        // Endpoints another requirement defines: `login` is `POST /login`.
        for t in content.iter().filter(|t| !c.is_common(t.id)) {
            if let Some(owners) = c.endpoints.get(&t.id)
                && !owners.contains(&i)
                && let Some(j) = self.pick(owners, i, &[])
            {
                let word = self.surface(i, &[*t]);
                push(
                    j,
                    2,
                    format!("uses the {word} endpoint that {} defines", self.id(j)),
                );
            }
        }
        // What others abstract or yield: `rules` for a rule registry, `links` from a parser.
        for (k, t) in content.iter().enumerate() {
            if c.is_generic(t.id) {
                continue;
            }
            for (index, abstracted) in [(&c.subjects, true), (&c.provided, false)] {
                let Some(owners) = index.get(&t.id) else {
                    continue;
                };
                // A word that heads another requirement's name belongs to that one.
                let headed_elsewhere = c
                    .heads
                    .get(&t.id)
                    .is_some_and(|h| h.iter().any(|&x| x != i));
                if abstracted && headed_elsewhere {
                    continue;
                }
                // What this requirement is itself (its head) waits only for an abstraction of
                // it that comes first (built-in rules after the rule registry; geofence
                // storage not after the geofence editor).
                let own_head = abstracted && req.heads.contains(&t.id);
                // `available balance` is not what a balance API is for.
                let modifier = k
                    .checked_sub(1)
                    .map(|p| content[p])
                    .filter(|p| p.clause == t.clause && adjacent(req, p, t) && is_latin(c, p.id));
                if owners.contains(&i) {
                    continue;
                }
                // A common word links only to the data it names (a schema's tables) or to
                // what says it yields it.
                let owners: Vec<usize> = owners
                    .iter()
                    .copied()
                    .filter(|&j| !c.is_common(t.id) || c.reqs[j].owns_data || !abstracted)
                    .filter(|&j| !own_head || j < i)
                    .filter(|&j| {
                        !abstracted
                            || c.reqs[j].owns_data
                            || modifier.is_none_or(|m| c.reqs[j].name.contains(&m.id))
                    })
                    .collect();
                if let Some(j) = self.pick(&owners, i, &near(&content, k)) {
                    // What a data owner is for is as good as its name.
                    let strength = if abstracted && c.reqs[j].owns_data {
                        3
                    } else {
                        1
                    };
                    let word = self.surface(i, &[*t]);
                    let reason = if abstracted {
                        format!(
                            "is about {word}, and {} is the {} for it",
                            self.id(j),
                            c.name_text(j, self.text(j))
                        )
                    } else {
                        format!("uses the {word} that {} yields", self.id(j))
                    };
                    push(j, strength, reason);
                }
            }
        }
    }

    /// One owner among several: the one all the others already build on, or the one whose
    /// name the surrounding words fit; none when it stays ambiguous.
    fn pick(&self, owners: &[usize], me: usize, near: &[Id]) -> Option<usize> {
        let owners: Vec<usize> = owners.iter().copied().filter(|&j| j != me).collect();
        match owners.as_slice() {
            [] => return None,
            [one] => return Some(*one),
            _ if owners.len() > 8 => return None,
            _ => {}
        }
        if let Some(&root) = owners
            .iter()
            .find(|&&o| owners.iter().all(|&x| x == o || self.graph.reaches(x, o)))
        {
            return Some(root);
        }
        let fitting: Vec<usize> = owners
            .iter()
            .copied()
            .filter(|&o| near.iter().any(|w| self.corpus.reqs[o].name.contains(w)))
            .collect();
        match fitting.as_slice() {
            [one] => Some(*one),
            _ => None,
        }
    }

    // 4. Rules.

    fn rules(&mut self) {
        self.sign_in_first();
        self.every_page();
        self.tests_after_what_they_test();
        self.ci_after_build();
        self.docs_after_what_they_document();
        self.section_store_first();
        self.rare_shared_nouns();
        self.fill_in_by_kind();
        self.end_to_end_last();
    }

    /// Sign-in scopes what users see: a page, a screen, the browser, a dashboard.
    fn sign_in_first(&mut self) {
        let c = self.corpus;
        let word = |w: &str| c.lex.lookup(w);
        let sign_in: Vec<Id> = [
            "sso",
            "oidc",
            "saml",
            "login",
            "signin",
            "シングルサインオン",
            "ログイン",
            "サインイン",
        ]
        .iter()
        .filter_map(|w| word(w))
        .collect();
        let sign_in_pair = (word("sign"), word("in"));
        let provider = (0..self.n()).find(|&j| {
            let req = &c.reqs[j];
            let name: Vec<Id> = req.toks[..req.name_len]
                .iter()
                .filter(|t| t.content)
                .map(|t| t.id)
                .collect();
            name.iter().any(|w| sign_in.contains(w))
                || matches!(sign_in_pair, (Some(s), Some(n)) if name.windows(2).any(|p| p == [s, n]))
        });
        let Some(provider) = provider else { return };
        let facing: Vec<Id> = [
            "page",
            "screen",
            "browser",
            "console",
            "dashboard",
            "ui",
            "画面",
            "ブラウザ",
            "ダッシュボード",
            "ページ",
        ]
        .iter()
        .filter_map(|w| word(w))
        .collect();
        for i in (0..self.n()).filter(|&i| i != provider) {
            let req = &c.reqs[i];
            if facing.iter().any(|w| req.all.contains(w))
                && !self.graph.reaches(provider, i)
                && !matches!(self.category(i), Category::Testing | Category::Docs)
            {
                self.add(
                    i,
                    provider,
                    EdgeKind::Rule,
                    true,
                    format!(
                        "users reach it after signing in ({})",
                        c.name_text(provider, self.text(provider))
                    ),
                );
            }
        }
    }

    /// "Every page shows only that customer's trailers": the section's other requirements
    /// are scoped by it.
    fn every_page(&mut self) {
        const EVERY: &[&str] = &[
            "every page",
            "all pages",
            "each page",
            "every screen",
            "all screens",
            "each screen",
            "every view",
            "全画面",
            "すべての画面",
            "全ての画面",
            "各画面",
        ];
        for j in 0..self.n() {
            let lower = self.text(j).to_lowercase();
            if !EVERY.iter().any(|p| lower.contains(p)) {
                continue;
            }
            // The pages that follow it in its section.
            let section = self.corpus.reqs[j].section;
            for i in (j + 1..self.n()).filter(|&i| self.corpus.reqs[i].section == section) {
                if !self.graph.reaches(j, i) {
                    self.add(
                        i,
                        j,
                        EdgeKind::Rule,
                        true,
                        format!("{} scopes every page of this section", self.id(j)),
                    );
                }
            }
        }
    }

    /// A test requirement with no reference yet waits for the closest requirement it shares
    /// telling words with (the same section first).
    fn tests_after_what_they_test(&mut self) {
        let tests: Vec<usize> = (0..self.n())
            .filter(|&i| self.category(i) == Category::Testing)
            .collect();
        for i in tests {
            if is_end_to_end(self.text(i)) || self.named[i] {
                continue;
            }
            let testable = |j: usize| {
                !matches!(
                    self.request.tasks[j].category,
                    Category::Testing | Category::Docs | Category::Infra
                )
            };
            let section = self.corpus.reqs[i].section;
            let near = self.closest(i, |j| testable(j) && self.corpus.reqs[j].section == section);
            let chosen = if near.is_empty() {
                self.closest(i, testable)
            } else {
                near
            };
            for (j, words) in chosen {
                self.add(
                    i,
                    j,
                    EdgeKind::Rule,
                    true,
                    format!("tests come after what they test ({})", words.join(", ")),
                );
            }
        }
    }

    fn ci_after_build(&mut self) {
        let ci: Vec<usize> = (0..self.n())
            .filter(|&i| self.category(i) == Category::Infra && is_ci(self.text(i)))
            .collect();
        for i in ci {
            let builds: Vec<usize> = (0..self.n())
                .filter(|&j| {
                    j != i
                        && self.category(j) == Category::Infra
                        && !is_ci(self.text(j))
                        && is_build(self.text(j))
                })
                .collect();
            for j in builds {
                self.add(
                    i,
                    j,
                    EdgeKind::Rule,
                    true,
                    "CI runs after the build it runs exists".into(),
                );
            }
        }
    }

    fn docs_after_what_they_document(&mut self) {
        let docs: Vec<usize> = (0..self.n())
            .filter(|&i| self.category(i) == Category::Docs)
            .collect();
        for i in docs {
            for (j, words) in self.closest(i, |j| self.category(j) != Category::Docs) {
                self.add(
                    i,
                    j,
                    EdgeKind::Rule,
                    true,
                    format!(
                        "documentation follows what it documents ({})",
                        words.join(", ")
                    ),
                );
            }
        }
    }

    /// A section with one data store (`Answers are stored in SQLite`): its features with no
    /// firmer evidence build on it.
    fn section_store_first(&mut self) {
        let sections: BTreeSet<usize> = self.corpus.reqs.iter().map(|r| r.section).collect();
        for section in sections {
            let members: Vec<usize> = (0..self.n())
                .filter(|&i| self.corpus.reqs[i].section == section)
                .collect();
            let stores: Vec<usize> = members
                .iter()
                .copied()
                .filter(|&i| {
                    self.category(i) == Category::Database || self.corpus.reqs[i].owns_data
                })
                .filter(|&i| self.corpus.is_store(i, self.text(i)))
                .collect();
            let [store] = stores.as_slice() else { continue };
            for &i in &members {
                let feature = matches!(
                    self.category(i),
                    Category::Backend | Category::Api | Category::Frontend | Category::General
                );
                if i != *store && feature && !self.firm[i] && !self.graph.reaches(*store, i) {
                    self.add(
                        i,
                        *store,
                        EdgeKind::Rule,
                        true,
                        format!(
                            "{} is this section's data store ({})",
                            self.id(*store),
                            self.corpus.name_text(*store, self.text(*store))
                        ),
                    );
                }
            }
        }
    }

    /// Words for the kind of work ("schema", "migration"): they say nothing about which one.
    fn kind_words(&self) -> Vec<Id> {
        [
            "schema",
            "tabl",
            "migration",
            "databas",
            "stor",
            "db",
            "index",
        ]
        .iter()
        .filter_map(|w| self.corpus.lex.get(w))
        .collect()
    }

    /// A requirement that names nothing it needs still shares telling nouns: a word only it
    /// and one earlier requirement use ("rows are *rejected*" and "a *rejects* table") ties
    /// it to that one. Verbs and participles (`signed`, `loading`) do not count.
    fn rare_shared_nouns(&mut self) {
        let c = self.corpus;
        let kind_words = self.kind_words();
        for i in 0..self.n() {
            if self.named[i] || c.reqs[i].owns_data {
                continue;
            }
            let mut found: Vec<(usize, String)> = Vec::new();
            for t in c.reqs[i].toks.iter().filter(|t| t.content) {
                let word = self.surface(i, &[*t]).to_lowercase();
                let nounish = word.is_ascii()
                    && word.len() >= 4
                    && !["ed", "ing", "ly"].iter().any(|e| word.ends_with(e))
                    && !word.chars().any(|ch| ch.is_ascii_digit());
                if !nounish || c.is_generic(t.id) || c.is_common(t.id) || kind_words.contains(&t.id)
                {
                    continue;
                }
                let Some(owners) = c.postings.get(&t.id) else {
                    continue;
                };
                if let [a, b] = owners.as_slice() {
                    let other = if *a == i { *b } else { *a };
                    // The other one must use it as a noun too (`keys`, not `keyed`).
                    let noun_there = c.reqs[other].toks.iter().filter(|o| o.id == t.id).all(|o| {
                        let w = self.surface(other, &[*o]).to_lowercase();
                        !["ed", "ing"].iter().any(|e| w.ends_with(e))
                    });
                    if !noun_there {
                        continue;
                    }
                    if other < i && !c.reqs[other].nfr && !found.iter().any(|(j, _)| *j == other) {
                        found.push((other, word));
                    }
                }
            }
            for (j, word) in found {
                self.add(
                    i,
                    j,
                    EdgeKind::Reference,
                    true,
                    format!("only it and {} speak of \"{word}\"", self.id(j)),
                );
            }
        }
    }

    /// Where the text gave no evidence at all: the schema before the code that uses it, the
    /// API before the UI that consumes it, by the closest shared words.
    fn fill_in_by_kind(&mut self) {
        for i in 0..self.n() {
            if self.firm[i] || self.corpus.reqs[i].owns_data {
                continue;
            }
            let (rule, wanted): (&str, fn(Category) -> bool) = match self.category(i) {
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
            for (j, words) in self.closest(i, |j| wanted(self.request.tasks[j].category)) {
                self.add(
                    i,
                    j,
                    EdgeKind::Rule,
                    true,
                    format!("{rule} (both about {})", words.join(", ")),
                );
            }
        }
    }

    /// An end-to-end test drives the finished system: it waits for every requirement nothing
    /// else waits for.
    fn end_to_end_last(&mut self) {
        let tests: Vec<usize> = (0..self.n())
            .filter(|&i| self.category(i) == Category::Testing && is_end_to_end(self.text(i)))
            .collect();
        if tests.is_empty() {
            return;
        }
        let mut waited_for = vec![false; self.n()];
        for i in 0..self.n() {
            for &d in self.graph.deps(i) {
                waited_for[d] = true;
            }
        }
        let sinks: Vec<usize> = (0..self.n())
            .filter(|&j| {
                !waited_for[j]
                    && !tests.contains(&j)
                    && !matches!(
                        self.category(j),
                        Category::Testing | Category::Docs | Category::Infra
                    )
            })
            .collect();
        for &i in &tests {
            for &j in &sinks {
                self.add(
                    i,
                    j,
                    EdgeKind::Rule,
                    true,
                    "an end-to-end test runs against the finished system".into(),
                );
            }
        }
    }

    /// Candidates sharing telling words with `i`, scored by rarity; those within half of
    /// the best score, with the shared words as written in `i`.
    fn closest(&self, i: usize, allowed: impl Fn(usize) -> bool) -> Vec<(usize, Vec<String>)> {
        let c = self.corpus;
        let mut scores: std::collections::HashMap<usize, (f64, Vec<Id>)> = Default::default();
        let limit = (self.n() / 2).max(2);
        let kind_words = self.kind_words();
        for &w in &c.reqs[i].all {
            if c.is_generic(w) || c.is_common(w) || kind_words.contains(&w) {
                continue;
            }
            let Some(posting) = c.postings.get(&w) else {
                continue;
            };
            if posting.len() > limit && self.n() >= 6 {
                continue;
            }
            for &j in posting.iter().filter(|&&j| j != i && allowed(j)) {
                let entry = scores.entry(j).or_default();
                entry.0 += c.idf(w);
                entry.1.push(w);
            }
        }
        let best = scores.values().map(|(s, _)| *s).fold(0.0, f64::max);
        let mut out: Vec<(usize, Vec<String>)> = scores
            .into_iter()
            .filter(|(_, (s, _))| *s > 0.0 && *s >= best / 2.0)
            .map(|(j, (_, words))| {
                let words = words
                    .iter()
                    .take(3)
                    .map(|w| c.lex.word(*w).to_owned())
                    .collect();
                (j, words)
            })
            .collect();
        out.sort_by_key(|(j, _)| *j);
        out
    }

    // 5. Phase gates.

    /// A phase's first tasks wait for the previous phase's last tasks.
    fn phase_gates(&mut self) {
        let phase_of = self.request.phase_of;
        if phase_of.is_empty() {
            return;
        }
        let n = self.n();
        let phases: Vec<usize> = phase_of
            .iter()
            .copied()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        for pair in phases.windows(2) {
            let (prev, next) = (pair[0], pair[1]);
            let in_prev: Vec<usize> = (0..n).filter(|&j| phase_of[j] == prev).collect();
            let in_prev_set: HashSet<usize> = in_prev.iter().copied().collect();
            let mut waited_for: HashSet<usize> = HashSet::new();
            for &k in &in_prev {
                waited_for.extend(
                    self.graph
                        .deps(k)
                        .iter()
                        .filter(|d| in_prev_set.contains(d)),
                );
            }
            let sinks: Vec<usize> = in_prev
                .iter()
                .copied()
                .filter(|j| !waited_for.contains(j))
                .collect();
            let name = |p: usize| {
                let epic =
                    &self.request.tasks[(0..n).find(|&k| phase_of[k] == p).expect("phase")].epic;
                self.request
                    .epics
                    .iter()
                    .find(|e| &e.id == epic)
                    .map_or(epic.to_string(), |e| e.name.clone())
            };
            let (prev_name, next_name) = (name(prev), name(next));
            for i in (0..n).filter(|&i| phase_of[i] == next) {
                let has_local_dep = self.graph.deps(i).iter().any(|&k| phase_of[k] == next);
                if has_local_dep {
                    continue;
                }
                for &j in &sinks {
                    self.add(
                        i,
                        j,
                        EdgeKind::PhaseGate,
                        false,
                        format!("phase gate: {next_name} starts after {prev_name} is done"),
                    );
                }
            }
        }
    }
}

/// A reference found but not yet added.
#[derive(Clone)]
struct Candidate {
    from: usize,
    to: usize,
    /// 4: a name phrase; 3: a head noun, or what a data owner is for; 2: an endpoint;
    /// 1: a term introduced, abstracted or yielded.
    strength: u8,
    /// By a name or a head noun (not by what a data owner is for).
    names: bool,
    reason: String,
}

enum Resolved {
    One(usize),
    Section(Vec<usize>),
    None,
}

/// Each marker in `text` with the byte range of the phrase it governs.
fn markers(text: &str) -> Vec<(String, usize, usize)> {
    let lower = text.to_lowercase();
    // Lowercasing can change byte lengths outside ASCII; then fall back to the text itself.
    let lower = if lower.len() == text.len() {
        lower
    } else {
        text.to_owned()
    };
    let mut out = Vec::new();
    for marker in MARKERS_AFTER {
        let mut from = 0;
        while let Some(pos) = lower[from..].find(marker) {
            let start = from + pos;
            from = start + marker.len();
            let before = lower[..start].chars().next_back();
            let after = lower[from..].chars().next();
            let bounded = before.is_none_or(|c| !c.is_alphanumeric())
                && after.is_none_or(|c| !c.is_alphanumeric());
            if !bounded {
                continue;
            }
            let rest = &lower[from..];
            let mut end = rest
                .find(['.', ';', ':', '(', ')', '\n', '。', '；', '：', '（'])
                .unwrap_or(rest.len());
            // ", reusing their validation": a participle starts what is said about it.
            if let Some(comma) = rest[..end].find(", ") {
                let next = rest[comma + 2..].split_whitespace().next().unwrap_or("");
                if next.ends_with("ing") || next.ends_with("ed") || next == "never" {
                    end = comma;
                }
            }
            out.push((marker.to_string(), from, from + end));
        }
    }
    for marker in MARKERS_BEFORE {
        let mut from = 0;
        while let Some(pos) = text[from..].find(marker) {
            let at = from + pos;
            from = at + marker.len();
            let head = &text[..at];
            let mut start = head
                .rfind(['。', '、', '：', '（', '「', '\n', '.', ';', ':'])
                .map_or(0, |k| {
                    k + head[k..].chars().next().map_or(1, char::len_utf8)
                });
            // "休日の判定には会社カレンダーを使う": the topic is not the reference.
            for topic in ["には", "では", "は", "が"] {
                if let Some(k) = head[start..].rfind(topic) {
                    start += k + topic.len();
                    break;
                }
            }
            if start < at {
                out.push((marker.to_string(), start, at));
            }
        }
    }
    out
}

/// Byte ranges of the text between backticks.
fn backtick_ranges(text: &str) -> Vec<std::ops::Range<usize>> {
    let ticks: Vec<usize> = text.match_indices('`').map(|(k, _)| k).collect();
    ticks
        .chunks(2)
        .filter(|c| c.len() == 2)
        .map(|c| c[0]..c[1])
        .collect()
}

/// Byte ranges of phrases a requirement excludes: from "except", "other than", "without",
/// 以外 to the end of the clause.
fn exceptions(text: &str) -> Vec<std::ops::Range<usize>> {
    let lower = text.to_lowercase();
    if lower.len() != text.len() {
        // Japanese: 〜以外 excludes what comes before it in its clause.
        let mut out = Vec::new();
        let mut from = 0;
        while let Some(pos) = text[from..].find("以外") {
            let at = from + pos;
            let start = text[..at]
                .rfind(['。', '、', '：', '（'])
                .map_or(0, |k| k + 3);
            out.push(start..at);
            from = at + "以外".len();
        }
        return out;
    }
    let mut out = Vec::new();
    for word in ["except", "excluding", "other than", "besides", "without"] {
        let mut from = 0;
        while let Some(pos) = lower[from..].find(word) {
            let start = from + pos;
            from = start + word.len();
            let rest = &lower[from..];
            let end = rest.find([',', ';', '.', ':', '(']).unwrap_or(rest.len());
            out.push(start..from + end);
        }
    }
    out
}

fn contains_word(haystack: &str, needle: &str) -> bool {
    let mut from = 0;
    while let Some(pos) = haystack[from..].find(needle) {
        let start = from + pos;
        let end = start + needle.len();
        let before = haystack[..start].chars().next_back();
        let after = haystack[end..].chars().next();
        let edge = |c: Option<char>| c.is_none_or(|c| !(c.is_alphanumeric() || c == '-'));
        if edge(before) && edge(after) {
            return true;
        }
        from = end;
    }
    false
}

/// Two content words in a row (nothing between them).
fn content_pairs(toks: &[Tok]) -> Vec<(Id, Id)> {
    phrase_pairs(toks, true)
        .into_iter()
        .map(|(a, b)| (a.id, b.id))
        .collect()
}

/// Whether content tokens `a` and `b` of `req` stand next to each other (no function word
/// between).
fn adjacent(req: &crate::evidence::Req, a: &Tok, b: &Tok) -> bool {
    let ia = req.toks.iter().position(|t| t.at == a.at);
    let ib = req.toks.iter().position(|t| t.at == b.at);
    matches!((ia, ib), (Some(x), Some(y)) if y == x + 1)
}

/// A kanji noun used as a verb: `検索して`, `記録する`, `保存し`.
fn is_suru_verb(text: &str, t: &Tok, c: &Corpus) -> bool {
    let word = c.lex.word(t.id);
    if word.is_ascii() {
        return false;
    }
    let after = &text[t.at + word.len()..];
    ["し", "す", "さ", "せ"]
        .iter()
        .any(|v| after.starts_with(v))
}

fn is_latin(c: &Corpus, id: Id) -> bool {
    c.lex.word(id).is_ascii()
}

/// Content words within two places of `k`, for telling owners apart.
fn near(content: &[Tok], k: usize) -> Vec<Id> {
    let from = k.saturating_sub(2);
    let to = (k + 3).min(content.len());
    (from..to)
        .filter(|&x| x != k && content[x].clause == content[k].clause)
        .map(|x| content[x].id)
        .collect()
}

fn is_end_to_end(text: &str) -> bool {
    let lower = text.to_lowercase();
    [
        "end-to-end test",
        "end to end test",
        "e2e test",
        "e2eテスト",
        "integration test",
        "結合テスト",
        "統合テスト",
        "シナリオテスト",
    ]
    .iter()
    .any(|p| lower.contains(p))
}

fn is_ci(text: &str) -> bool {
    let lower = text.to_lowercase();
    contains_word(&lower, "ci") || lower.contains("pipeline") || lower.contains("github actions")
}

fn is_build(text: &str) -> bool {
    let lower = text.to_lowercase();
    [
        "docker",
        "build",
        "makefile",
        "compose",
        "container",
        "package",
    ]
    .iter()
    .any(|w| lower.contains(w))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marker_phrases() {
        let text = "Alert inbox, after the alert rules engine is in place. Build after instant transfers, reusing their limits.";
        let found: Vec<(String, &str)> = markers(text)
            .into_iter()
            .map(|(m, s, e)| (m, &text[s..e]))
            .collect();
        assert!(found.contains(&("after".into(), " the alert rules engine is in place")));
        assert!(found.contains(&("after".into(), " instant transfers")));
        let ja = "日次集計。打刻データと就業規則マスタの両方に依存し、休日の判定には会社カレンダーを使う";
        let found: Vec<&str> = markers(ja).into_iter().map(|(_, s, e)| &ja[s..e]).collect();
        assert!(
            found.contains(&"打刻データと就業規則マスタの両方"),
            "{found:?}"
        );
        assert!(found.contains(&"会社カレンダー"), "{found:?}");
    }
}
