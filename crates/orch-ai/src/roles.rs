//! What a PRD section is for, from its heading: work to plan, or one kind of context.
//!
//! A heading is context only when the whole heading is context vocabulary (`Goals`,
//! `Goals and non-goals`, `Open questions`, `背景`, `スケジュール`). A heading that merely
//! contains such a word (`Rate limiting rules`, `Risk engine`, `Summary emails`) names work.

/// What kind of section a heading names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum SectionRole {
    /// Work to plan.
    Work,
    /// Goals or success criteria: acceptance context.
    Goals,
    /// What is out of scope: instructions say so, no task does it.
    NonGoals,
    /// Rules every task must respect (constraints, principles, assumptions).
    Constraints,
    /// Questions the PRD leaves open: for `orch questions`, never tasks.
    OpenQuestions,
    /// Overview, background, personas, timeline, risks, glossary: context only.
    Context,
}

impl SectionRole {
    /// Whether sections with this role become tasks.
    pub fn is_work(self) -> bool {
        self == SectionRole::Work
    }
}

use SectionRole::{Constraints, Context, Goals, NonGoals, OpenQuestions};

/// English heading vocabulary, in words (after lowercasing, dropping filler words and a plural
/// `s`). Longer phrases are tried first.
const ENGLISH: &[(&str, SectionRole)] = &[
    ("non goal", NonGoals),
    ("nongoal", NonGoals),
    ("out of scope", NonGoals),
    ("not in scope", NonGoals),
    ("outside scope", NonGoals),
    ("future work", NonGoals),
    ("future consideration", NonGoals),
    ("future", NonGoals),
    ("later", NonGoals),
    ("deferred", NonGoals),
    ("exclusion", NonGoals),
    ("excluded", NonGoals),
    ("won't have", NonGoals),
    ("wont have", NonGoals),
    ("not doing", NonGoals),
    ("open question", OpenQuestions),
    ("unresolved question", OpenQuestions),
    ("open issue", OpenQuestions),
    ("question", OpenQuestions),
    ("unknown", OpenQuestions),
    ("tbd", OpenQuestions),
    ("to be decided", OpenQuestions),
    ("decision needed", OpenQuestions),
    ("discussion", OpenQuestions),
    ("success criteria", Goals),
    ("success criterion", Goals),
    ("success metric", Goals),
    ("definition of done", Goals),
    ("goal", Goals),
    ("objective", Goals),
    ("kpi", Goals),
    ("okr", Goals),
    ("key result", Goals),
    ("metric", Goals),
    ("outcome", Goals),
    ("constraint", Constraints),
    ("rule", Constraints),
    ("principle", Constraints),
    ("guiding principle", Constraints),
    ("assumption", Constraints),
    ("limitation", Constraints),
    ("policy", Constraints),
    ("policie", Constraints),
    ("overview", Context),
    ("summary", Context),
    ("executive summary", Context),
    ("tl;dr", Context),
    ("tldr", Context),
    ("background", Context),
    ("context", Context),
    ("introduction", Context),
    ("intro", Context),
    ("purpose", Context),
    ("problem", Context),
    ("problem statement", Context),
    ("motivation", Context),
    ("vision", Context),
    ("persona", Context),
    ("user", Context),
    ("target user", Context),
    ("audience", Context),
    ("stakeholder", Context),
    ("glossary", Context),
    ("term", Context),
    ("terminology", Context),
    ("definition", Context),
    ("appendix", Context),
    ("reference", Context),
    ("link", Context),
    ("resource", Context),
    ("timeline", Context),
    ("schedule", Context),
    ("milestone", Context),
    ("roadmap", Context),
    ("release plan", Context),
    ("rollout plan", Context),
    ("risk", Context),
    ("mitigation", Context),
    ("tech stack", Context),
    ("technology stack", Context),
    ("technology", Context),
    ("technologie", Context),
    ("stack", Context),
    ("team", Context),
    ("owner", Context),
    ("status", Context),
    ("revision history", Context),
    ("document history", Context),
    ("change log", Context),
    ("changelog", Context),
    ("faq", Context),
    ("note", Context),
    ("approval", Context),
    ("sign off", Context),
    ("about", Context),
    ("competitor", Context),
    ("competitive analysis", Context),
    ("market", Context),
    ("alternatives considered", Context),
];

/// Words that qualify a heading without changing what it is ("Key goals", "Product
/// overview", "Goals & metrics").
const FILLER: &[&str] = &[
    "the",
    "our",
    "and",
    "of",
    "key",
    "main",
    "primary",
    "product",
    "project",
    "business",
    "technical",
    "known",
    "high",
    "level",
    "high-level",
    "initial",
    "proposed",
    "current",
    "this",
    "for",
    "v1",
    "mvp",
    "release",
    "document",
    "prd",
    "&",
    "/",
    "+",
    "a",
    "an",
    "or",
];

/// Japanese heading vocabulary: a heading is this role when it is made only of these terms
/// (joined by と, ・, 、, および, スペース).
const JAPANESE: &[(&str, SectionRole)] = &[
    ("対象外", NonGoals),
    ("スコープ外", NonGoals),
    ("非ゴール", NonGoals),
    ("非目標", NonGoals),
    ("やらないこと", NonGoals),
    ("今後の検討", NonGoals),
    ("将来の拡張", NonGoals),
    ("将来", NonGoals),
    ("次期以降", NonGoals),
    ("未決事項", OpenQuestions),
    ("未解決事項", OpenQuestions),
    ("未決定事項", OpenQuestions),
    ("検討事項", OpenQuestions),
    ("確認事項", OpenQuestions),
    ("懸案事項", OpenQuestions),
    ("質問", OpenQuestions),
    ("論点", OpenQuestions),
    ("目的", Goals),
    ("目標", Goals),
    ("ゴール", Goals),
    ("成功指標", Goals),
    ("成功基準", Goals),
    ("成功条件", Goals),
    ("評価指標", Goals),
    ("期待効果", Goals),
    ("効果", Goals),
    ("KPI", Goals),
    ("制約", Constraints),
    ("制約事項", Constraints),
    ("制約条件", Constraints),
    ("前提条件", Constraints),
    ("前提", Constraints),
    ("ルール", Constraints),
    ("方針", Constraints),
    ("原則", Constraints),
    ("背景", Context),
    ("概要", Context),
    ("はじめに", Context),
    ("利用者", Context),
    ("ユーザー", Context),
    ("ユーザ", Context),
    ("想定ユーザー", Context),
    ("想定利用者", Context),
    ("対象ユーザー", Context),
    ("対象者", Context),
    ("ペルソナ", Context),
    ("関係者", Context),
    ("ステークホルダー", Context),
    ("用語", Context),
    ("用語集", Context),
    ("用語定義", Context),
    ("参考", Context),
    ("参考資料", Context),
    ("付録", Context),
    ("スケジュール", Context),
    ("マイルストーン", Context),
    ("ロードマップ", Context),
    ("リリース計画", Context),
    ("体制", Context),
    ("リスク", Context),
    ("課題", Context),
    ("現状", Context),
    ("現状の課題", Context),
    ("技術スタック", Context),
    ("使用技術", Context),
    ("改訂履歴", Context),
    ("変更履歴", Context),
    ("備考", Context),
];

/// The role of a section from its heading alone (a subsection also inherits its parent's).
pub fn role_of(heading: &str) -> SectionRole {
    let heading = strip_numbering(heading);
    if let Some(role) = english_role(&heading) {
        return role;
    }
    japanese_role(&heading).unwrap_or(SectionRole::Work)
}

/// `1.`, `2.3`, `A)`, `第3章`, `(draft)` and trailing colons go.
fn strip_numbering(heading: &str) -> String {
    let mut h = heading.trim();
    // Leading section numbers: digits and dots, or one letter followed by `.`/`)`.
    let numbered = h
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .filter(|&n| n > 0)
        .map(|n| &h[n..]);
    if let Some(rest) = numbered {
        h = rest.trim_start_matches([')', ' ']).trim();
    }
    if let Some(rest) = h.strip_prefix('第')
        && let Some(at) = rest.find(['章', '節'])
    {
        h = rest[at + '章'.len_utf8()..].trim();
    }
    let mut out = String::new();
    let mut depth = 0;
    for c in h.chars() {
        match c {
            '(' | '（' | '[' | '【' => depth += 1,
            ')' | '）' | ']' | '】' => depth = (depth - 1_i32).max(0),
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out.trim()
        .trim_end_matches([':', '：', '.', '。'])
        .trim()
        .to_owned()
}

fn english_role(heading: &str) -> Option<SectionRole> {
    let lower = heading.to_lowercase().replace(['-', '_'], " ");
    let words: Vec<String> = lower
        .split(|c: char| c.is_whitespace() || matches!(c, ',' | '&' | '/' | '+' | ':' | '|'))
        .filter(|w| !w.is_empty())
        .map(|w| {
            let w = w.trim_matches(|c: char| !c.is_alphanumeric() && c != '\'' && c != ';');
            // A plural `s` (not `ss`, not a short word).
            match w.strip_suffix('s') {
                Some(base) if w.len() > 3 && !w.ends_with("ss") => base.to_owned(),
                _ => w.to_owned(),
            }
        })
        .filter(|w| !w.is_empty())
        .collect();
    if words.is_empty() {
        return None;
    }
    // Cover every word with vocabulary phrases, longest first; any uncovered word means work.
    let mut first_role = None;
    let mut at = 0;
    while at < words.len() {
        let found = ENGLISH
            .iter()
            .filter_map(|(phrase, role)| {
                let parts: Vec<&str> = phrase.split(' ').collect();
                let fits = words.len() - at >= parts.len()
                    && parts.iter().zip(&words[at..]).all(|(p, w)| p == w);
                fits.then_some((parts.len(), *role))
            })
            .max_by_key(|(len, _)| *len);
        let Some(found) = found else {
            if FILLER.contains(&words[at].as_str()) {
                at += 1;
                continue;
            }
            return None;
        };
        first_role.get_or_insert(found.1);
        at += found.0;
    }
    first_role
}

fn japanese_role(heading: &str) -> Option<SectionRole> {
    if !heading.chars().any(crate::text::is_cjk) {
        return None;
    }
    let mut first_role = None;
    let normalized = heading.replace("および", "、").replace("及び", "、");
    for part in normalized
        .split(['と', '・', '、', '／', '/', ' ', '　', '&'])
        .filter(|p| !p.is_empty())
    {
        let role = JAPANESE
            .iter()
            .find(|(term, _)| *term == part)
            .map(|(_, r)| *r)?;
        first_role.get_or_insert(role);
    }
    first_role
}

/// Headings of non-functional requirements: performance, retention, access, quality.
pub(crate) fn is_nfr_heading(heading: &str) -> bool {
    let h = strip_numbering(heading).to_lowercase();
    [
        "non-functional",
        "non functional",
        "nonfunctional",
        "nfr",
        "quality attributes",
        "非機能",
        "品質要件",
        "性能要件",
    ]
    .iter()
    .any(|w| h.contains(w))
}

/// Headings that only say "here is the work" (`Requirements`, `機能要件`): under a named
/// parent, the parent names the epic; their own paragraphs introduce, they are not work.
pub(crate) fn is_container_heading(heading: &str) -> bool {
    let h = strip_numbering(heading).to_lowercase();
    [
        "requirements",
        "functional requirements",
        "product requirements",
        "features",
        "feature list",
        "user stories",
        "stories",
        "scope",
        "in scope",
        "tasks",
        "deliverables",
        "work items",
        "must have",
        "must haves",
        "acceptance criteria",
        "機能要件",
        "要件",
        "要求",
        "機能一覧",
        "要件一覧",
        "機能",
    ]
    .contains(&h.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_headings_only() {
        for (heading, role) in [
            ("Goals", Goals),
            ("Key goals", Goals),
            ("Goals and non-goals", Goals),
            ("Non-goals", NonGoals),
            ("Out of scope", NonGoals),
            ("Open questions", OpenQuestions),
            ("Success criteria", Goals),
            ("Constraints", Constraints),
            ("Personas", Context),
            ("Timeline", Context),
            ("Milestones", Context),
            ("Tech stack", Context),
            ("Risks & mitigations", Context),
            ("1. Overview", Context),
            ("Glossary", Context),
            ("背景", Context),
            ("利用者", Context),
            ("目的", Goals),
            ("対象外", NonGoals),
            ("スケジュール", Context),
            ("未決事項", OpenQuestions),
            ("背景と目的", Context),
            ("Rate limiting rules", SectionRole::Work),
            ("Risk engine", SectionRole::Work),
            ("Summary emails", SectionRole::Work),
            ("Context propagation", SectionRole::Work),
            ("Milestone 1: Core", SectionRole::Work),
            ("Backend", SectionRole::Work),
            ("非機能要件", SectionRole::Work),
            ("テスト", SectionRole::Work),
            ("集計・アラート", SectionRole::Work),
            ("User management", SectionRole::Work),
        ] {
            assert_eq!(role_of(heading), role, "{heading}");
        }
    }
}
