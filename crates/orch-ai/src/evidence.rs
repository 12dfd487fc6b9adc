//! What each requirement provides and what it refers to: the index dependency analysis
//! reads.
//!
//! A requirement *provides* its name (`Device registry`, `従業員マスタ`): the phrase it
//! opens with, whose last noun is its head (`registry`); the things it says it yields
//! (`yields headings, links and code spans`); its code spans (`GET /me`); its label
//! (`PB-3`); and, when it is an abstraction (a trait, a registry, a schema, an engine, a
//! マスタ), the subject it abstracts (`rule` in `Rule trait and registry`). Another
//! requirement *uses* it when it names one of these: a two-word phrase of the name, the
//! head with no contradicting modifier, a provided term, or a phrase after a marker such as
//! "depends on", "after", 〜に依存, 〜の後.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use crate::lexicon::{Id, Lexicon, Tok};
use crate::text::{STOPWORDS, code_spans, stem};

/// Words that name a kind of work, not a thing: never a head, never evidence alone.
const GENERIC: &[&str] = &[
    "service",
    "system",
    "cluster",
    "module",
    "component",
    "layer",
    "tool",
    "job",
    "api",
    "rest",
    "endpoint",
    "page",
    "screen",
    "app",
    "application",
    "platform",
    "support",
    "feature",
    "management",
    "handling",
    "logic",
    "mode",
    "process",
    "processing",
    "functionality",
    "implementation",
    "item",
    "data",
    "thing",
    "part",
    "way",
    "level",
    "new",
    "basic",
    "simple",
    "full",
    "main",
    "first",
    "second",
    "phase",
    "step",
    "version",
    "code",
    "path",
    "wrapper",
    "file",
    "test",
    "unit",
    "end",
    "user",
    "team",
    "time",
    "day",
    "list",
    "set",
    "value",
    "type",
    "detail",
    "option",
    "setting",
    "both",
    "case",
    "number",
    "count",
    "機能",
    "管理",
    "処理",
    "実装",
    "対応",
    "一覧",
    "設定",
    "画面",
    "システム",
    "情報",
    "データ",
    "両方",
    "場合",
    "必要",
    "全て",
    "各種",
    "方法",
    "仕組",
    "部分",
    "内容",
    "基本",
];

/// Heads of names that abstract a subject: what a requirement about that subject builds on.
const ABSTRACTIONS: &[&str] = &[
    "editor",
    "directory",
    "catalog",
    "catalogue",
    "inventory",
    "trait",
    "interface",
    "registry",
    "schema",
    "model",
    "framework",
    "engine",
    "sdk",
    "protocol",
    "format",
    "library",
    "store",
    "storage",
    "api",
    "spec",
    "specification",
    "contract",
    "base",
    "core",
    "backbone",
    "abstraction",
    "マスタ",
    "マスター",
    "ワークフロー",
    "スキーマ",
    "基盤",
    "エンジン",
    "フレームワーク",
];

/// Abstractions that own data: what they are "for" or "of" is theirs too
/// (`PostgreSQL schema for users, sessions and reset tokens`), however common the words.
const DATA_OWNERS: &[&str] = &[
    "editor",
    "directory",
    "catalog",
    "catalogue",
    "inventory",
    "在庫",
    "schema",
    "model",
    "table",
    "store",
    "storage",
    "registry",
    "database",
    "db",
    "マスタ",
    "マスター",
    "スキーマ",
    "テーブル",
];

/// HTTP methods in an endpoint span are not what it provides.
const METHODS: &[&str] = &["get", "post", "put", "patch", "delete", "head", "options"];

/// Words that end a name: what follows is about it, not part of it.
const NAME_CUTS: &[&str] = &[
    "that",
    "which",
    "who",
    "whose",
    "where",
    "when",
    "with",
    "for",
    "from",
    "by",
    "to",
    "in",
    "on",
    "at",
    "into",
    "through",
    "via",
    "using",
    "so",
    "per",
    "of",
    "keyed",
    "showing",
    "against",
    "over",
    "under",
    "after",
    "before",
    "once",
    "is",
    "are",
    "was",
    "were",
    "be",
    "can",
    "must",
    "should",
    "will",
    "may",
    "has",
    "have",
    "go",
    "goes",
    "get",
    "gets",
    "as",
    "if",
    "while",
    "without",
    "within",
    "across",
    "between",
    "including",
    "like",
];

/// Verbs after which a requirement lists what it provides.
const PROVIDE_VERBS: &[&str] = &[
    "yields",
    "yield",
    "provides",
    "provide",
    "exposes",
    "expose",
    "emits",
    "emit",
    "publishes",
    "publish",
    "produces",
    "produce",
    "returns",
    "return",
    "generates",
    "defines",
    "define",
    "offers",
    "offer",
    "outputs",
];

/// Words that introduce a conjunct inside a name or phrase.
const CONJUNCTIONS: &[&str] = &["and", "or", "&", "/", "・", "と", "および", "及び", "や"];

/// One requirement as the evidence sees it.
#[derive(Debug)]
pub(crate) struct Req {
    pub toks: Vec<Tok>,
    /// `toks[..name_len]` is the name.
    pub name_len: usize,
    /// Content ids of the name.
    pub name: HashSet<Id>,
    /// Adjacent content pairs of the name (same clause).
    pub name_pairs: HashSet<(Id, Id)>,
    /// The name's head nouns.
    pub heads: Vec<Id>,
    /// For an abstraction (`Rule trait`), the subject words it abstracts.
    pub subjects: Vec<Id>,
    /// Objects of "yields", "provides", "exposes" …, and the words of endpoints it names.
    pub provided: Vec<Id>,
    /// Words of the endpoints it names (`/login` → login).
    pub endpoints: Vec<Id>,
    /// A non-functional requirement: about other requirements, never what they build on.
    pub nfr: bool,
    /// An abstraction that owns data (a schema, a registry, a マスタ): its subjects link
    /// even when the PRD uses them everywhere.
    pub owns_data: bool,
    /// Every content id in the text.
    pub all: HashSet<Id>,
    /// Code spans, lowercased.
    pub spans: Vec<String>,
    /// The PRD's label, lowercased.
    pub label: Option<String>,
    /// Section (epic group) index.
    pub section: usize,
}

/// The whole PRD's requirements, indexed.
#[derive(Debug)]
pub(crate) struct Corpus {
    pub lex: Lexicon,
    pub reqs: Vec<Req>,
    /// Requirements per content id (document frequency = length).
    pub postings: HashMap<Id, Vec<usize>>,
    /// Requirements per name pair.
    pub pairs: HashMap<(Id, Id), Vec<usize>>,
    /// Requirements per head.
    pub heads: HashMap<Id, Vec<usize>>,
    /// Requirements per abstracted subject word.
    pub subjects: HashMap<Id, Vec<usize>>,
    /// Requirements per word of their name.
    pub name_postings: HashMap<Id, Vec<usize>>,
    /// A word's first user, when that requirement opens its name with it (`会員登録` for
    /// 会員, `Device binding` for device): it introduces the thing.
    pub introducer: HashMap<Id, usize>,
    /// Requirements per provided word.
    pub provided: HashMap<Id, Vec<usize>>,
    /// Requirements per endpoint word.
    pub endpoints: HashMap<Id, Vec<usize>>,
    /// Words of the PRD's overview: the product's own vocabulary, too common to link tasks.
    pub overview: HashSet<Id>,
    /// Content ids of each section heading.
    pub section_words: Vec<HashSet<Id>>,
    generic: HashSet<Id>,
    abstractions: HashSet<Id>,
    data_owners: HashSet<Id>,
    methods: HashSet<Id>,
    cuts: HashSet<Id>,
    conjunctions: HashSet<Id>,
}

/// What one requirement provides, for people: the index in the plan's JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Provides {
    /// The requirement's name as written.
    pub name: String,
    /// Its head nouns.
    pub heads: Vec<String>,
    /// Other terms it provides (subjects it abstracts, things it yields, code spans).
    pub terms: Vec<String>,
}

/// One requirement's input to the index.
pub(crate) struct Input<'a> {
    pub text: &'a str,
    pub label: Option<&'a str>,
    pub section: usize,
    /// From a non-functional section (performance, retention, access).
    pub nfr: bool,
}

impl Corpus {
    pub fn new(inputs: &[Input<'_>], overview: &str, section_headings: &[String]) -> Corpus {
        let mut lex = Lexicon::default();
        let ids = |words: &[&str], lex: &mut Lexicon| -> HashSet<Id> {
            words
                .iter()
                .map(|w| {
                    let lower = w.to_lowercase();
                    let key = if lower.chars().all(|c| c.is_ascii_alphabetic()) {
                        stem(&lower)
                    } else {
                        lower
                    };
                    lex.id(&key)
                })
                .collect()
        };
        let generic = ids(GENERIC, &mut lex);
        let abstractions = ids(ABSTRACTIONS, &mut lex);
        let data_owners = ids(DATA_OWNERS, &mut lex);
        let methods = ids(METHODS, &mut lex);
        let cuts = ids(NAME_CUTS, &mut lex);
        let conjunctions = ids(CONJUNCTIONS, &mut lex);
        let provide_verbs = ids(PROVIDE_VERBS, &mut lex);
        let mut corpus = Corpus {
            lex,
            reqs: Vec::with_capacity(inputs.len()),
            postings: HashMap::new(),
            pairs: HashMap::new(),
            heads: HashMap::new(),
            subjects: HashMap::new(),
            name_postings: HashMap::new(),
            introducer: HashMap::new(),
            provided: HashMap::new(),
            endpoints: HashMap::new(),
            overview: HashSet::new(),
            section_words: Vec::new(),
            generic,
            abstractions,
            data_owners,
            methods,
            cuts,
            conjunctions,
        };
        corpus.overview = corpus
            .lex
            .tokenize(overview)
            .into_iter()
            .filter(|t| t.content)
            .map(|t| t.id)
            .collect();
        corpus.section_words = section_headings
            .iter()
            .map(|h| {
                corpus
                    .lex
                    .tokenize(h)
                    .into_iter()
                    .filter(|t| t.content)
                    .map(|t| t.id)
                    .collect()
            })
            .collect();
        for (index, input) in inputs.iter().enumerate() {
            let req = corpus.read(input, &provide_verbs);
            for &id in &req.all {
                corpus.postings.entry(id).or_default().push(index);
            }
            if req.nfr {
                // Never an owner: an NFR constrains what others build.
                corpus.reqs.push(req);
                continue;
            }
            for &e in &req.endpoints {
                corpus.endpoints.entry(e).or_default().push(index);
            }
            for &pair in &req.name_pairs {
                corpus.pairs.entry(pair).or_default().push(index);
            }
            for &head in &req.heads {
                corpus.heads.entry(head).or_default().push(index);
            }
            for &w in &req.name {
                corpus.name_postings.entry(w).or_default().push(index);
            }
            for &s in &req.subjects {
                corpus.subjects.entry(s).or_default().push(index);
            }
            for &p in &req.provided {
                corpus.provided.entry(p).or_default().push(index);
            }
            corpus.reqs.push(req);
        }
        corpus.find_introducers();
        corpus
    }

    /// For each requirement, the first content word of its name when no requirement before
    /// it uses that word: that requirement introduces it.
    fn find_introducers(&mut self) {
        let mut seen: HashSet<Id> = HashSet::new();
        for (i, req) in self.reqs.iter().enumerate() {
            let first = req.toks[..req.name_len]
                .iter()
                .find(|t| t.content)
                .map(|t| t.id);
            if let Some(w) = first
                && !seen.contains(&w)
                && !req.nfr
                && !STOPWORDS.contains(&self.lex.word(w))
            {
                self.introducer.insert(w, i);
            }
            seen.extend(req.all.iter().copied());
        }
    }

    fn read(&mut self, input: &Input<'_>, provide_verbs: &HashSet<Id>) -> Req {
        let toks = self.lex.tokenize(input.text);
        let name_len = self.name_len(&toks, input.text);
        let name_toks = &toks[..name_len];
        let name: HashSet<Id> = name_toks
            .iter()
            .filter(|t| t.content)
            .map(|t| t.id)
            .collect();
        let name_pairs: HashSet<(Id, Id)> = phrase_pairs(name_toks, false)
            .into_iter()
            .map(|(a, b)| (a.id, b.id))
            .collect();
        let (heads, mut subjects) = self.heads_of(name_toks);
        let owns_data = name_toks
            .iter()
            .rev()
            .find(|t| t.content)
            .is_some_and(|t| self.data_owners.contains(&t.id));
        if owns_data {
            // `… schema for users, sessions and reset tokens, with migrations`.
            let follows = toks.get(name_len).map(|t| self.lex.word(t.id));
            if matches!(follows, Some("for" | "of")) {
                for t in &toks[name_len + 1..] {
                    let gap = &input.text[toks[name_len].at..t.at];
                    if gap.contains(['.', ';', '。']) || (self.cuts.contains(&t.id) && t.at > 0) {
                        break;
                    }
                    if t.content && !self.is_generic(t.id) && !subjects.contains(&t.id) {
                        subjects.push(t.id);
                    }
                }
            }
        }
        let provided = self.provided_by(&toks, input.text, provide_verbs);
        // An endpoint provides its path words: `POST /password-reset` → password, reset.
        let mut endpoints = Vec::new();
        for span in code_spans(input.text) {
            let path = span.trim_start_matches(|c: char| c.is_ascii_uppercase() || c == ' ');
            if path.starts_with('/') {
                for t in self.lex.tokenize(path) {
                    if t.content
                        && !self.is_generic(t.id)
                        && !self.methods.contains(&t.id)
                        && !endpoints.contains(&t.id)
                    {
                        endpoints.push(t.id);
                    }
                }
            }
        }
        Req {
            owns_data,
            endpoints,
            nfr: input.nfr,
            all: toks.iter().filter(|t| t.content).map(|t| t.id).collect(),
            toks,
            name_len,
            name,
            name_pairs,
            heads,
            subjects,
            provided,
            spans: code_spans(input.text)
                .iter()
                .map(|s| s.to_lowercase())
                .collect(),
            label: input.label.map(str::to_lowercase),
            section: input.section,
        }
    }

    pub fn is_generic(&self, id: Id) -> bool {
        self.generic.contains(&id) || is_version(self.lex.word(id))
    }

    pub fn is_conjunction(&self, id: Id) -> bool {
        self.conjunctions.contains(&id)
    }

    /// Where the name ends: at the end of the first clause, at a word that starts what is
    /// said about it (`that`, `with`, `is`), at a verb, or after six content words.
    fn name_len(&self, toks: &[Tok], text: &str) -> usize {
        let Some(first) = toks.iter().position(|t| t.content) else {
            return toks.len();
        };
        let clause = toks[first].clause;
        let japanese = !self.lex.word(toks[first].id).is_ascii();
        let mut end = first + 1;
        let mut words = 1;
        for i in first + 1..toks.len() {
            let t = toks[i];
            let stop = if japanese {
                // A Japanese name runs to the end of the sentence, a colon or a bracket, or
                // to the topic (`…は`, `…が`); a `、` does not end it.
                let gap = &text[toks[i - 1].at..t.at];
                let word = self.lex.word(t.id);
                gap.contains(['。', '：', ':', '（', '(', '「', '\n', '.'])
                    || word.ends_with('は')
                    || word == "が"
            } else {
                t.clause != clause || self.cuts.contains(&t.id) || looks_like_verb(toks, i, text)
            };
            if stop {
                break;
            }
            if t.content {
                words += 1;
                // Kanji compounds count in overlapping pieces: allow more of them.
                let limit = if self.lex.word(t.id).is_ascii() {
                    6
                } else {
                    16
                };
                if words > limit {
                    break;
                }
            }
            end = i + 1;
        }
        end
    }

    /// The head of each conjunct of a name (`Rule trait and registry` → trait, registry), a
    /// generic head giving way to the word before it (`MQTT broker cluster` → broker); and
    /// for an abstraction, the subject words (`rule`).
    fn heads_of(&self, name: &[Tok]) -> (Vec<Id>, Vec<Id>) {
        let japanese = name.iter().any(|t| {
            t.content
                && self
                    .lex
                    .word(t.id)
                    .chars()
                    .next()
                    .is_some_and(crate::text::is_cjk)
        });
        let mut conjuncts: Vec<Vec<Tok>> = vec![Vec::new()];
        for t in name {
            let word = self.lex.word(t.id);
            // In Japanese `・` joins words into one noun (`出勤・退勤・休憩の打刻`).
            let splits = self.conjunctions.contains(&t.id) && !(japanese && word == "・");
            if splits {
                conjuncts.push(Vec::new());
            } else if t.content {
                conjuncts.last_mut().expect("one conjunct").push(*t);
            }
        }
        if japanese {
            // The head is the last noun of the whole name.
            let all: Vec<Tok> = conjuncts.iter().flatten().copied().collect();
            conjuncts = vec![all];
        }
        // "Email and password sign-in": single words before the last conjunct qualify its
        // head; they are not heads of their own.
        if conjuncts.len() > 1
            && conjuncts[..conjuncts.len() - 1]
                .iter()
                .all(|c| c.len() <= 1)
            && conjuncts.last().is_some_and(|c| c.len() >= 2)
        {
            conjuncts = vec![conjuncts.pop().expect("checked")];
        }
        let mut heads = Vec::new();
        let mut abstraction = false;
        for words in &conjuncts {
            let words: Vec<Tok> = words
                .iter()
                .copied()
                .filter(|t| !is_version(self.lex.word(t.id)))
                .collect();
            let Some(&last) = words.last() else { continue };
            abstraction |= self.abstractions.contains(&last.id);
            let head = if self.generic.contains(&last.id) {
                // The word before a generic head; in a kanji compound, the piece before the
                // overlapping one (`在庫管理` → 在庫, not 庫管).
                let back = if words.len() >= 3 && words[words.len() - 2].run == last.run {
                    3
                } else {
                    2
                };
                words
                    .len()
                    .checked_sub(back)
                    .map(|k| words[k].id)
                    .filter(|id| !self.generic.contains(id))
            } else {
                Some(last.id)
            };
            if let Some(h) = head
                && !heads.contains(&h)
            {
                heads.push(h);
            }
        }
        let subjects = if abstraction {
            name.iter()
                .filter(|t| t.content)
                .map(|t| t.id)
                .filter(|id| {
                    !heads.contains(id) && !self.is_generic(*id) && !self.abstractions.contains(id)
                })
                .collect()
        } else {
            Vec::new()
        };
        (heads, subjects)
    }

    /// What a requirement says it yields: `yields headings, links and code spans with line
    /// and column` → heading, link, code, span.
    fn provided_by(&self, toks: &[Tok], text: &str, verbs: &HashSet<Id>) -> Vec<Id> {
        let mut out = Vec::new();
        for (i, t) in toks.iter().enumerate() {
            // `yields`, `exposes`: a verb in the third person, not `return-air`.
            let surface: String = text[t.at..]
                .chars()
                .take_while(|c| c.is_alphanumeric())
                .collect();
            let after = text[t.at + surface.len()..].chars().next();
            if !verbs.contains(&t.id) || !surface.ends_with('s') || after == Some('-') {
                continue;
            }
            for next in &toks[i + 1..] {
                let gap = &text[t.at..next.at];
                if gap.contains(['.', ';', '。', ':', '：']) && next.at > t.at
                    || self.cuts.contains(&next.id)
                    || out.len() >= 8
                {
                    break;
                }
                if next.content && !self.is_generic(next.id) && !out.contains(&next.id) {
                    out.push(next.id);
                }
            }
        }
        out
    }

    /// The requirement's name as written.
    pub fn name_text<'t>(&self, i: usize, text: &'t str) -> &'t str {
        let req = &self.reqs[i];
        match (req.toks.first(), req.toks.get(req.name_len)) {
            (Some(_), Some(end)) => {
                text[..end.at].trim_end_matches([' ', ',', ':', '：', '(', '`', ';', '.', '、'])
            }
            _ => text,
        }
        .trim()
    }

    /// The index for people.
    pub fn provides(&self, i: usize, text: &str) -> Provides {
        let req = &self.reqs[i];
        let word = |id: &Id| self.lex.word(*id).to_owned();
        let mut terms: Vec<String> = req.subjects.iter().map(word).collect();
        terms.extend(req.provided.iter().map(word));
        terms.extend(req.spans.iter().cloned());
        Provides {
            name: self.name_text(i, text).to_owned(),
            heads: req.heads.iter().map(word).collect(),
            terms,
        }
    }

    /// Inverse document frequency of a word across requirements.
    pub fn idf(&self, id: Id) -> f64 {
        let df = self.postings.get(&id).map_or(0, Vec::len).max(1);
        (1.0 + self.reqs.len() as f64 / df as f64).ln()
    }

    pub fn df(&self, id: Id) -> usize {
        self.postings.get(&id).map_or(0, Vec::len)
    }

    /// A word of the whole product rather than of one requirement: in the overview and in
    /// three or more requirements, or in more than a third of them.
    /// Whether requirement `i` keeps data: a schema, a registry, a store, or text that says
    /// it is stored in a database.
    pub fn is_store(&self, i: usize, text: &str) -> bool {
        let lower = text.to_lowercase();
        let head_is_storage = self.reqs[i].toks[..self.reqs[i].name_len]
            .iter()
            .rev()
            .find(|t| t.content)
            .is_some_and(|t| {
                [
                    "stor",
                    "storag",
                    "databas",
                    "db",
                    "tabl",
                    "schema",
                    "スキーマ",
                    "テーブル",
                ]
                .contains(&self.lex.word(t.id))
            });
        head_is_storage
            || [
                "stored in",
                "store in",
                "persisted",
                "saved in",
                "database",
                "sqlite",
                "postgres",
                "mysql",
                "schema",
                "tables",
                "migration",
                "保存",
                "データベース",
                "テーブル",
                "スキーマ",
            ]
            .iter()
            .any(|w| lower.contains(w))
    }

    pub fn is_common(&self, id: Id) -> bool {
        let (df, n) = (self.df(id), self.reqs.len());
        (self.overview.contains(&id) && df >= 3) || (n >= 6 && df * 3 > n)
    }
}

/// Two-word phrases of a text: content words next to each other in one clause (with
/// `strict`, nothing between them; otherwise function words may stand between), and within
/// one kanji compound the pieces two apart (`打刻修正` → 打刻 + 修正; the overlapping
/// `刻修` is not a word).
pub(crate) fn phrase_pairs(toks: &[Tok], strict: bool) -> Vec<(Tok, Tok)> {
    let mut out = Vec::new();
    for (k, a) in toks.iter().enumerate() {
        if !a.content {
            continue;
        }
        // Within one kanji run: the piece two places on.
        if let Some(b) = toks.get(k + 2)
            && b.run == a.run
            && b.content
            && toks[k + 1].run == a.run
            && b.at > a.at
        {
            out.push((*a, *b));
        }
        // Across words: the next content word (the next run).
        let mut next = k + 1;
        while let Some(t) = toks.get(next) {
            if t.run != a.run && (t.content || strict || t.clause != a.clause) {
                break;
            }
            next += 1;
        }
        if let Some(b) = toks.get(next)
            && b.content
            && b.clause == a.clause
            && b.id != a.id
        {
            // A kanji run ends with its last piece; only that one pairs onwards.
            let last_of_run = toks.get(k + 1).is_none_or(|t| t.run != a.run);
            if last_of_run {
                out.push((*a, *b));
            }
        }
    }
    out
}

/// `v1`, `v2.3`: versions are not names.
fn is_version(word: &str) -> bool {
    word.strip_prefix('v').is_some_and(|rest| {
        !rest.is_empty() && rest.chars().all(|c| c.is_ascii_digit() || c == '.')
    })
}

/// A verb in a name position: `Command /standup opens a form` (a word in `s` before a
/// determiner), `Ingestion workers subscribe to` (after a plural, before a function word),
/// `Passwords hashed with`.
fn looks_like_verb(toks: &[Tok], i: usize, text: &str) -> bool {
    let surface = |k: usize| -> &str {
        let from = toks[k].at;
        let rest = &text[from..];
        let end = rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        &rest[..end]
    };
    if !toks[i].content || i == 0 || !surface(i).is_ascii() {
        return false;
    }
    let word = surface(i).to_ascii_lowercase();
    let next = toks.get(i + 1).filter(|n| n.clause == toks[i].clause);
    let next_word = next.map(|_| surface(i + 1).to_ascii_lowercase());
    let determiner = next_word.as_deref().is_some_and(|w| {
        [
            "a", "an", "the", "each", "every", "its", "their", "all", "one", "no", "any", "it",
        ]
        .contains(&w)
    });
    // After a plural: a participle before any function word (`Passwords hashed with`), or
    // a bare verb before `to` or an article (`workers subscribe to`; not `Notes schema
    // with`).
    let participle = word.ends_with("ed") && next.is_some_and(|n| !n.content);
    let function_word = participle
        || next_word
            .as_deref()
            .is_some_and(|w| ["to", "the", "a", "an", "every", "each", "all"].contains(&w));
    let prev = surface(i - 1).to_ascii_lowercase();
    let plural_before = toks[i - 1].content && prev.ends_with('s') && !prev.ends_with("ss");
    // A present participle after the name (`Book list page calling the REST API`, `Order
    // schema referencing books`): before a determiner any `-ing` word is a verb; before a
    // bare noun only the verbs specs use that way (`billing engine` stays a name).
    let gerund = word.ends_with("ing")
        && toks[i - 1].content
        && (determiner || PARTICIPLES.contains(&word.as_str()));
    gerund
        || (word.ends_with('s') && !word.ends_with("ss") && determiner)
        || (plural_before && !word.ends_with('s') && function_word)
}

/// `-ing` verbs that end a requirement's name even before a bare noun.
const PARTICIPLES: &[&str] = &[
    "accepting",
    "calling",
    "consuming",
    "containing",
    "creating",
    "emitting",
    "exposing",
    "handling",
    "including",
    "linking",
    "listing",
    "pointing",
    "producing",
    "publishing",
    "reading",
    "receiving",
    "referencing",
    "returning",
    "sending",
    "showing",
    "storing",
    "taking",
    "updating",
    "using",
    "wrapping",
    "writing",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn corpus(texts: &[&str]) -> Corpus {
        let inputs: Vec<Input<'_>> = texts
            .iter()
            .map(|t| Input {
                text: t,
                label: None,
                section: 0,
                nfr: false,
            })
            .collect();
        Corpus::new(&inputs, "", &[])
    }

    fn heads(c: &Corpus, i: usize) -> Vec<&str> {
        c.reqs[i].heads.iter().map(|h| c.lex.word(*h)).collect()
    }

    #[test]
    fn names_and_heads() {
        let texts = [
            "MQTT broker cluster (EMQX) that accepts gateways over mutual TLS.",
            "Ingestion workers subscribe to the broker and write to the store.",
            "Rule trait and registry, designed so that plugins register rules.",
            "Device registry: one record per gateway.",
            "Telemetry message schema v1 in protobuf: position, speed.",
            "Markdown parser wrapper that yields headings, links and code spans with line and column.",
            "日次・月次の労働時間集計。打刻データに依存する",
            "申請・承認ワークフロー：申請者から上長へ回す",
            "Customer REST API (`/v1/trailers`) with API keys",
        ];
        let c = corpus(&texts);
        assert_eq!(c.name_text(0, texts[0]), "MQTT broker cluster");
        assert_eq!(heads(&c, 0), ["broker"]);
        assert_eq!(c.name_text(1, texts[1]), "Ingestion workers");
        assert_eq!(heads(&c, 2), ["trait", "registry"]);
        assert_eq!(
            c.reqs[2]
                .subjects
                .iter()
                .map(|s| c.lex.word(*s))
                .collect::<Vec<_>>(),
            ["rul"]
        );
        assert_eq!(c.name_text(3, texts[3]), "Device registry");
        assert_eq!(heads(&c, 4), ["schema"]);
        let provided: Vec<&str> = c.reqs[5].provided.iter().map(|p| c.lex.word(*p)).collect();
        assert_eq!(provided, ["heading", "link", "span"]);
        assert_eq!(heads(&c, 6), ["集計"]);
        assert_eq!(heads(&c, 7), ["ワークフロー"]);
        assert!(heads(&c, 8).is_empty(), "{:?}", heads(&c, 8));
    }
}
