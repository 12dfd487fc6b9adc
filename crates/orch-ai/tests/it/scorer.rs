//! The gold-set scorer, in Rust: the rules of `../shared/tools/plan-score` (format in
//! `../shared/fixtures/prd-gold/README.md`) applied to a plan made in-process, so the test
//! suite measures the planner the way a tech lead's dependency list does.
//!
//! Text is compared with case and white space folded and full-width ASCII forms mapped to
//! ASCII (the part of Unicode NFKC that PRDs use).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};

use orch_ai::{EdgeKind, PlanOutcome};

/// One gold file.
pub struct Gold {
    pub name: String,
    pub prd: PathBuf,
    case_sensitive: bool,
    phase_order: bool,
    /// Requirement key → (match substrings, phase).
    requirements: BTreeMap<String, (Vec<String>, i64)>,
    /// In file order, for matching.
    keys: Vec<(String, Vec<String>)>,
    spurious: BTreeSet<String>,
    /// (task key, alternatives, either direction).
    required: Vec<(String, Vec<String>, bool)>,
    required_pairs: HashSet<(String, String)>,
    acceptable_pairs: HashSet<(String, String)>,
}

/// The numbers of one plan against one gold file.
#[derive(Debug)]
pub struct Score {
    pub requirements: usize,
    pub covered: usize,
    pub spurious: usize,
    pub unmapped: usize,
    pub ambiguous: usize,
    pub required: usize,
    pub direct: usize,
    pub transitive: usize,
    pub good_edges: usize,
    pub wrong_edges: usize,
    pub phase_kept: Option<(usize, usize)>,
    /// For reading a failure: missing requirements and edges, wrong edges.
    pub details: Vec<String>,
}

impl Score {
    pub fn recall_transitive(&self) -> f64 {
        ratio(self.transitive, self.required)
    }

    pub fn recall_direct(&self) -> f64 {
        ratio(self.direct, self.required)
    }

    pub fn precision(&self) -> f64 {
        ratio(self.good_edges, self.good_edges + self.wrong_edges)
    }
}

fn ratio(n: usize, d: usize) -> f64 {
    if d == 0 { 1.0 } else { n as f64 / d as f64 }
}

fn normalize(text: &str, case_sensitive: bool) -> String {
    let mapped: String = text
        .chars()
        .map(|c| match c {
            '\u{ff01}'..='\u{ff5e}' => char::from_u32(c as u32 - 0xfee0).unwrap_or(c),
            '\u{3000}' => ' ',
            _ => c,
        })
        .collect();
    let folded = mapped.split_whitespace().collect::<Vec<_>>().join(" ");
    if case_sensitive {
        folded
    } else {
        folded.to_lowercase()
    }
}

fn strings(value: Option<&toml::Value>) -> Vec<String> {
    match value {
        Some(toml::Value::String(s)) => vec![s.clone()],
        Some(toml::Value::Array(items)) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

impl Gold {
    pub fn load(path: &Path) -> Gold {
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
        let doc: toml::Table = text.parse().unwrap_or_else(|e| panic!("{path:?}: {e}"));
        let prd = path
            .parent()
            .expect("a gold file is in a folder")
            .join(doc["prd"].as_str().expect("prd"));
        let flag = |k: &str| doc.get(k).and_then(toml::Value::as_bool).unwrap_or(false);
        let table = |k: &str| -> Vec<toml::Table> {
            doc.get(k)
                .and_then(toml::Value::as_array)
                .map(|a| a.iter().filter_map(|v| v.as_table().cloned()).collect())
                .unwrap_or_default()
        };
        let mut gold = Gold {
            name: path.file_name().unwrap().to_string_lossy().into_owned(),
            prd,
            case_sensitive: flag("case_sensitive"),
            phase_order: flag("phase_order"),
            requirements: BTreeMap::new(),
            keys: Vec::new(),
            spurious: BTreeSet::new(),
            required: Vec::new(),
            required_pairs: HashSet::new(),
            acceptable_pairs: HashSet::new(),
        };
        for r in table("requirement") {
            let key = r["key"].as_str().unwrap().to_owned();
            let matches = strings(r.get("match"));
            let phase = r
                .get("phase")
                .and_then(toml::Value::as_integer)
                .unwrap_or(0);
            gold.keys.push((key.clone(), matches.clone()));
            gold.requirements.insert(key, (matches, phase));
        }
        for (n, s) in table("spurious").into_iter().enumerate() {
            let key = s
                .get("key")
                .and_then(toml::Value::as_str)
                .map_or_else(|| format!("spurious-{n}"), str::to_owned);
            gold.keys.push((key.clone(), strings(s.get("match"))));
            gold.spurious.insert(key);
        }
        for r in table("required") {
            let task = r["task"].as_str().unwrap().to_owned();
            let alts = strings(r.get("depends_on"));
            let either = r
                .get("either_direction")
                .and_then(toml::Value::as_bool)
                .unwrap_or(false);
            for b in &alts {
                gold.required_pairs.insert((task.clone(), b.clone()));
                if either {
                    gold.required_pairs.insert((b.clone(), task.clone()));
                }
            }
            gold.required.push((task, alts, either));
        }
        for a in table("acceptable") {
            let either = a
                .get("either_direction")
                .and_then(toml::Value::as_bool)
                .unwrap_or(false);
            for x in gold.expand(&strings(a.get("task"))) {
                for y in gold.expand(&strings(a.get("depends_on"))) {
                    gold.acceptable_pairs.insert((x.clone(), y.clone()));
                    if either {
                        gold.acceptable_pairs.insert((y.clone(), x.clone()));
                    }
                }
            }
        }
        if flag("implied_acceptable") {
            // A → C is acceptable when plain required edges chain A → B → C.
            let mut plain: HashMap<String, BTreeSet<String>> = HashMap::new();
            for (task, alts, either) in &gold.required {
                if alts.len() == 1 && !either {
                    plain
                        .entry(task.clone())
                        .or_default()
                        .insert(alts[0].clone());
                }
            }
            for (a, direct) in &plain {
                let mut seen = BTreeSet::new();
                let mut stack: Vec<String> = direct.iter().cloned().collect();
                while let Some(x) = stack.pop() {
                    if seen.insert(x.clone()) {
                        stack.extend(plain.get(&x).into_iter().flatten().cloned());
                    }
                }
                for c in seen {
                    if &c != a && !direct.contains(&c) {
                        gold.acceptable_pairs.insert((a.clone(), c));
                    }
                }
            }
        }
        gold
    }

    /// Keys, globs (`*`, `Q*`) or lists of them.
    fn expand(&self, patterns: &[String]) -> Vec<String> {
        let mut out = Vec::new();
        for p in patterns {
            if let Some(prefix) = p.strip_suffix('*') {
                out.extend(
                    self.requirements
                        .keys()
                        .filter(|k| k.starts_with(prefix))
                        .cloned(),
                );
            } else {
                out.push(p.clone());
            }
        }
        out
    }

    fn hits(&self, text: &str) -> Vec<String> {
        let text = normalize(text, self.case_sensitive);
        if text.is_empty() {
            return Vec::new();
        }
        self.keys
            .iter()
            .filter(|(_, matches)| {
                matches
                    .iter()
                    .any(|m| text.contains(&normalize(m, self.case_sensitive)))
            })
            .map(|(k, _)| k.clone())
            .collect()
    }

    pub fn score(&self, outcome: &PlanOutcome) -> Score {
        let tasks = &outcome.plan.tasks;
        let mut key_of: HashMap<&str, String> = HashMap::new();
        let (mut spurious, mut unmapped, mut ambiguous) = (0, 0, 0);
        let mut details = Vec::new();
        for t in tasks {
            let mut hits = self.hits(&t.description);
            if hits.is_empty() {
                hits = self.hits(&t.title);
            }
            match hits.as_slice() {
                [one] => {
                    if self.spurious.contains(one) {
                        spurious += 1;
                        details.push(format!("spurious task {} ({one})", t.id));
                    }
                    key_of.insert(t.id.as_str(), one.clone());
                }
                [] => {
                    unmapped += 1;
                    details.push(format!("unmapped task {}: {}", t.id, t.title));
                }
                _ => {
                    ambiguous += 1;
                    details.push(format!("ambiguous task {}: {hits:?}", t.id));
                }
            }
        }
        let mut tasks_of: HashMap<&str, Vec<&str>> = HashMap::new();
        for (task, key) in &key_of {
            if self.requirements.contains_key(key) {
                tasks_of.entry(key.as_str()).or_default().push(task);
            }
        }
        let covered = self
            .requirements
            .keys()
            .filter(|k| tasks_of.contains_key(k.as_str()))
            .count();
        for k in self.requirements.keys() {
            if !tasks_of.contains_key(k.as_str()) {
                details.push(format!("missing requirement {k}"));
            }
        }
        let mut deps: HashMap<&str, HashSet<&str>> = HashMap::new();
        for e in &outcome.edges {
            deps.entry(e.task.as_str())
                .or_default()
                .insert(e.depends_on.as_str());
        }
        let reach = |from: &str| -> HashSet<String> {
            let mut seen = HashSet::new();
            let mut stack = vec![from.to_owned()];
            while let Some(x) = stack.pop() {
                for y in deps.get(x.as_str()).into_iter().flatten() {
                    if seen.insert((*y).to_owned()) {
                        stack.push((*y).to_owned());
                    }
                }
            }
            seen
        };
        let task_list = |k: &str| tasks_of.get(k).cloned().unwrap_or_default();
        let direct = |a: &str, b: &str| {
            task_list(a).iter().any(|ta| {
                task_list(b)
                    .iter()
                    .any(|tb| deps.get(ta).is_some_and(|d| d.contains(tb)))
            })
        };
        let transitive = |a: &str, b: &str| {
            task_list(a).iter().any(|ta| {
                let r = reach(ta);
                task_list(b).iter().any(|tb| r.contains(*tb))
            })
        };
        let (mut found_direct, mut found_transitive) = (0, 0);
        for (task, alts, either) in &self.required {
            let mut pairs: Vec<(&str, &str)> =
                alts.iter().map(|b| (task.as_str(), b.as_str())).collect();
            if *either {
                pairs.extend(alts.iter().map(|b| (b.as_str(), task.as_str())));
            }
            if pairs.iter().any(|(a, b)| direct(a, b)) {
                found_direct += 1;
                found_transitive += 1;
            } else if pairs.iter().any(|(a, b)| transitive(a, b)) {
                found_transitive += 1;
            } else {
                details.push(format!("missing edge {task} -> {alts:?}"));
            }
        }
        let (mut good, mut wrong) = (0, 0);
        for e in &outcome.edges {
            let a = key_of.get(e.task.as_str());
            let b = key_of.get(e.depends_on.as_str());
            let both = a.zip(b).filter(|(a, b)| {
                self.requirements.contains_key(*a) && self.requirements.contains_key(*b)
            });
            match both {
                Some((a, b)) if a == b => {}
                Some((a, b)) if self.required_pairs.contains(&(a.clone(), b.clone())) => good += 1,
                Some((a, b)) if self.acceptable_pairs.contains(&(a.clone(), b.clone())) => {
                    good += 1
                }
                _ if e.kind == EdgeKind::PhaseGate => {}
                _ => {
                    wrong += 1;
                    details.push(format!(
                        "wrong edge {} ({}) -> {} ({}): {}",
                        e.task,
                        a.map_or("?", String::as_str),
                        e.depends_on,
                        b.map_or("?", String::as_str),
                        e.reason
                    ));
                }
            }
        }
        let phase_kept = self.phase_order.then(|| {
            let phases: BTreeSet<i64> = self.requirements.values().map(|(_, p)| *p).collect();
            let phases: Vec<i64> = phases.into_iter().collect();
            let (mut kept, mut total) = (0, 0);
            for pair in phases.windows(2) {
                for (a, (_, pa)) in &self.requirements {
                    for (b, (_, pb)) in &self.requirements {
                        if *pa == pair[1] && *pb == pair[0] && tasks_of.contains_key(a.as_str()) {
                            if !tasks_of.contains_key(b.as_str()) {
                                continue;
                            }
                            total += 1;
                            kept += usize::from(transitive(a, b));
                        }
                    }
                }
            }
            (kept, total)
        });
        Score {
            requirements: self.requirements.len(),
            covered,
            spurious,
            unmapped,
            ambiguous,
            required: self.required.len(),
            direct: found_direct,
            transitive: found_transitive,
            good_edges: good,
            wrong_edges: wrong,
            phase_kept,
            details,
        }
    }
}
