//! A PRD as the planner sees it: a title, context sections (overview, personas, goals,
//! non-goals, timeline, open questions, …) and work sections whose requirements become tasks.
//!
//! Requirements come from bullet and numbered lists, from table rows (the requirement column,
//! with the notes column kept beside it) and, in a work section that has neither, from its
//! paragraphs: one requirement per `Name: …` paragraph, otherwise one per sentence that
//! stands on its own.

use crate::encoding::decode;
use crate::markdown::{Block, TableRow, parse};
use crate::roles::{is_container_heading, role_of};

pub use crate::roles::SectionRole;

/// The largest PRD read; beyond it planning is refused before any work.
pub const MAX_PRD_BYTES: usize = 8 * 1024 * 1024;

/// Why a PRD cannot be planned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PrdError {
    /// The file is empty or only whitespace.
    #[error("the PRD is empty: write at least a title and a list of requirements")]
    Empty,
    /// The file is not text.
    #[error("the PRD is not text ({reason}); give a markdown file")]
    Binary {
        /// What gave it away.
        reason: String,
    },
    /// Text in an encoding orch does not read.
    #[error(
        "the PRD is not in an encoding orch reads ({reason}); save it as UTF-8 (UTF-16 with a byte-order mark and Shift_JIS are read too)"
    )]
    Encoding {
        /// What was tried.
        reason: String,
    },
    /// Larger than [`MAX_PRD_BYTES`].
    #[error("the PRD is {size} bytes, over the {limit}-byte limit; split it into several PRDs")]
    TooLarge {
        /// Its size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// There is text but no requirement anywhere to turn into a task.
    #[error(
        "the PRD has no requirements to plan: no list item, table row or paragraph under a work heading (overview, goals, non-goals, timeline and open questions are context, not work)"
    )]
    NoRequirements,
}

/// How a requirement was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RequirementForm {
    /// A bullet or numbered list item (nested items folded in).
    Item,
    /// A table row.
    TableRow,
    /// A paragraph, or a sentence of one.
    Paragraph,
}

/// One piece of work (or, in a context section, one statement) as the PRD writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    /// The text, markup emphasis removed, code spans kept.
    pub text: String,
    /// The PRD's own label for it (`PB-3`, `FR-2.1`), when it has one.
    pub label: Option<String>,
    /// 1-based line where it starts.
    pub line: usize,
    /// List item, table row or paragraph.
    pub form: RequirementForm,
}

/// A section of the PRD with its own requirements.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// Heading text (for a nested heading, as written).
    pub heading: String,
    /// The parent heading's text, when nested (`Requirements` for `### Backend`).
    pub parent: Option<String>,
    /// Heading level.
    pub level: u8,
    /// What the section is for: work, or one kind of context. A subsection of a context
    /// section is context too.
    pub role: SectionRole,
    /// Paragraph text that introduces the section (not itself a requirement).
    pub intro: String,
    /// Requirements (work sections) or statements (context sections), in order.
    pub items: Vec<Requirement>,
    /// 1-based line of the heading.
    pub line: usize,
}

impl Section {
    /// The item texts.
    pub fn texts(&self) -> impl Iterator<Item = &str> {
        self.items.iter().map(|r| r.text.as_str())
    }
}

/// A parsed PRD.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prd {
    /// The first `#` heading without a `PRD:` prefix, or `untitled`.
    pub title: String,
    /// Text before the first section: the PRD's own introduction.
    pub preamble: String,
    /// Every section in order.
    pub sections: Vec<Section>,
    /// The whole text, for excerpts.
    pub text: String,
    /// The encoding the bytes were read in (`UTF-8`, `UTF-16LE`, `Shift_JIS`, …).
    pub encoding: &'static str,
}

impl Prd {
    /// Checks and reads raw bytes: decodes UTF-8 (with or without a byte-order mark), UTF-16
    /// with a byte-order mark, Shift_JIS and EUC-JP; refuses empty input, binary data and
    /// other encodings with a clear error.
    pub fn from_bytes(bytes: &[u8]) -> Result<Prd, PrdError> {
        if bytes.len() > MAX_PRD_BYTES {
            return Err(PrdError::TooLarge {
                size: bytes.len(),
                limit: MAX_PRD_BYTES,
            });
        }
        let (text, encoding) = decode(bytes)?;
        let control = text
            .chars()
            .filter(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
            .count();
        if control * 20 > text.chars().count() {
            return Err(PrdError::Binary {
                reason: format!("{control} control characters"),
            });
        }
        let mut prd = Prd::parse(&text)?;
        prd.encoding = encoding;
        Ok(prd)
    }

    /// Reads markdown text.
    pub fn parse(text: &str) -> Result<Prd, PrdError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        // Titles, excerpts and instructions are printed: no escape sequence survives.
        let sanitized = orch_core::sanitize_terminal(text);
        let text = sanitized.as_ref();
        if text.trim().is_empty() {
            return Err(PrdError::Empty);
        }
        let mut title = None;
        let mut preamble = String::new();
        let mut sections: Vec<Section> = Vec::new();
        // Paragraphs per section, decided on once the section is complete.
        let mut paragraphs: Vec<Vec<(String, usize)>> = Vec::new();
        // Heading stack: (level, text, role), to know each section's parent and inherited role.
        let mut stack: Vec<(u8, String, SectionRole)> = Vec::new();
        for block in parse(text) {
            match block {
                Block::Heading { level, text, line } => {
                    if level == 1 && title.is_none() && sections.is_empty() {
                        title = Some(strip_prd_prefix(&text));
                        stack.clear();
                        continue;
                    }
                    while stack.last().is_some_and(|(l, _, _)| *l >= level) {
                        stack.pop();
                    }
                    let parent = stack.last().map(|(_, t, _)| t.clone());
                    let own = role_of(&text);
                    let role = match stack.last() {
                        Some((_, _, inherited)) if *inherited != SectionRole::Work => *inherited,
                        _ => own,
                    };
                    stack.push((level, text.clone(), role));
                    sections.push(Section {
                        heading: text,
                        parent,
                        level,
                        role,
                        intro: String::new(),
                        items: Vec::new(),
                        line,
                    });
                    paragraphs.push(Vec::new());
                }
                Block::Item { depth, text, line } => {
                    let section = last_section(&mut sections, &mut paragraphs);
                    let text = clean(&text);
                    match section.items.last_mut() {
                        // Nested items refine their parent item.
                        Some(last) if depth > 0 && last.form == RequirementForm::Item => {
                            last.text.push_str("; ");
                            last.text.push_str(&text);
                        }
                        _ => {
                            section.items.push(Requirement {
                                label: label_of(&text),
                                text,
                                line,
                                form: RequirementForm::Item,
                            });
                        }
                    }
                }
                Block::Table { header, rows, .. } => {
                    let section = last_section(&mut sections, &mut paragraphs);
                    match table_requirements(&header, &rows) {
                        Some(found) => section.items.extend(found),
                        // A table of data (fields, types) describes the section's work.
                        None => push_intro(&mut section.intro, &table_as_text(&header, &rows)),
                    }
                }
                Block::Paragraph { text, line } => match sections.last_mut() {
                    Some(_) => paragraphs
                        .last_mut()
                        .expect("one paragraph list per section")
                        .push((text, line)),
                    None => push_intro(&mut preamble, &text),
                },
            }
        }
        // Paragraphs become requirements only where nothing else says what the work is: a
        // work section without list items or table rows and without subsections that have
        // them. Elsewhere they introduce the section.
        for index in 0..sections.len() {
            let texts = std::mem::take(&mut paragraphs[index]);
            let has_subsections = sections
                .get(index + 1)
                .is_some_and(|next| next.level > sections[index].level);
            let section = &mut sections[index];
            // Context (an overview, a background) stays prose; goals, non-goals, rules and
            // questions written as prose are still statements to quote one by one.
            let as_items = section.items.is_empty()
                && !has_subsections
                && !is_container_heading(&section.heading)
                && section.role != SectionRole::Context;
            if as_items {
                for (text, line) in texts {
                    let found = paragraph_requirements(&text, line);
                    if found.is_empty() {
                        push_intro(&mut section.intro, &text);
                    }
                    section.items.extend(found);
                }
            } else {
                for (text, _) in texts {
                    push_intro(&mut section.intro, &text);
                }
            }
        }
        let prd = Prd {
            title: title.unwrap_or_else(|| "untitled".into()),
            preamble,
            sections,
            text: text.to_owned(),
            encoding: "UTF-8",
        };
        if prd.work_sections().next().is_none() {
            return Err(PrdError::NoRequirements);
        }
        Ok(prd)
    }

    /// Sections with requirements whose role is work.
    pub fn work_sections(&self) -> impl Iterator<Item = &Section> {
        self.sections
            .iter()
            .filter(|s| !s.items.is_empty() && s.role == SectionRole::Work)
    }

    /// All item texts of sections with this role.
    pub fn items_with_role(&self, role: SectionRole) -> Vec<&str> {
        self.sections
            .iter()
            .filter(|s| s.role == role)
            .flat_map(|s| s.texts())
            .collect()
    }
}

fn last_section<'s>(
    sections: &'s mut Vec<Section>,
    paragraphs: &mut Vec<Vec<(String, usize)>>,
) -> &'s mut Section {
    if sections.is_empty() {
        sections.push(Section {
            heading: "Requirements".into(),
            parent: None,
            level: 2,
            role: SectionRole::Work,
            intro: String::new(),
            items: Vec::new(),
            line: 1,
        });
        paragraphs.push(Vec::new());
    }
    sections.last_mut().expect("just ensured")
}

fn push_intro(intro: &mut String, text: &str) {
    if !intro.is_empty() {
        intro.push(' ');
    }
    intro.push_str(text);
}

/// Emphasis markers go (`**Device binding**:` reads as `Device binding:`); code spans stay.
fn clean(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_code = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '`' => {
                in_code = !in_code;
                out.push(c);
            }
            '*' | '_' if !in_code && chars.peek() == Some(&c) => {
                chars.next();
            }
            _ => out.push(c),
        }
    }
    out.trim().to_owned()
}

/// The label of `PB-3: text`, `[FR-2] text`, `R1. text`: a short token of letters and
/// digits (at least one digit, starting with a letter) before `:`, `.`, `)`, `]` or a dash.
/// The text keeps it: other requirements may refer to it.
fn label_of(text: &str) -> Option<String> {
    let body = text.trim_start_matches('[');
    let end = body
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.'))
        .unwrap_or(body.len());
    let candidate = body[..end].trim_end_matches('.');
    let rest = &body[candidate.len()..];
    let separated = [":", ".", ")", "]", " -", " —", " –"]
        .iter()
        .find_map(|sep| rest.strip_prefix(sep))
        .is_some_and(|rest| !rest.trim().is_empty());
    let looks_like_label = (2..=12).contains(&candidate.len())
        && candidate.bytes().any(|b| b.is_ascii_digit())
        && candidate
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphabetic());
    (separated && looks_like_label).then(|| candidate.to_owned())
}

/// Column headers that name the requirement itself, its identifier, and notes about it.
const TEXT_HEADERS: &[&str] = &[
    "requirement",
    "requirements",
    "description",
    "feature",
    "features",
    "story",
    "user story",
    "capability",
    "item",
    "task",
    "what",
    "deliverable",
    "要件",
    "要求",
    "機能",
    "内容",
    "説明",
    "概要",
    "項目",
];
const LABEL_HEADERS: &[&str] = &["id", "#", "key", "ref", "no", "no.", "番号", "ＩＤ"];
const NOTE_HEADERS: &[&str] = &[
    "notes",
    "note",
    "comments",
    "comment",
    "remarks",
    "details",
    "acceptance",
    "acceptance criteria",
    "dependencies",
    "depends on",
    "rationale",
    "備考",
    "補足",
    "依存",
    "受け入れ条件",
];

/// The requirements in a table, one per row, or `None` when the table is data (a field
/// list, a price table) rather than a list of requirements.
fn table_requirements(header: &[String], rows: &[TableRow]) -> Option<Vec<Requirement>> {
    let norm: Vec<String> = header.iter().map(|h| clean(h).to_lowercase()).collect();
    let find = |names: &[&str]| norm.iter().position(|h| names.contains(&h.as_str()));
    let words = |col: usize| -> f64 {
        let total: usize = rows
            .iter()
            .map(|r| r.cells.get(col).map_or(0, |c| word_count(c)))
            .sum();
        total as f64 / rows.len().max(1) as f64
    };
    let text_col = match find(TEXT_HEADERS) {
        Some(col) => col,
        None => {
            // No header says so: the wordiest column, when it reads like sentences.
            let col = (0..norm.len()).max_by(|&a, &b| words(a).total_cmp(&words(b)))?;
            if words(col) < 4.0 {
                return None;
            }
            col
        }
    };
    let label_col = find(LABEL_HEADERS).filter(|&c| c != text_col);
    let note_cols: Vec<usize> = (0..norm.len())
        .filter(|&c| c != text_col && NOTE_HEADERS.contains(&norm[c].as_str()))
        .collect();
    let found: Vec<Requirement> = rows
        .iter()
        .filter_map(|row| {
            let cell = |c: usize| row.cells.get(c).map(|s| clean(s)).unwrap_or_default();
            let main = cell(text_col);
            if main.is_empty() {
                return None;
            }
            let mut text = main;
            for c in &note_cols {
                let note = cell(*c);
                if !note.is_empty() {
                    if !text.ends_with(['.', '。', '!', '?']) {
                        text.push('.');
                    }
                    text.push(' ');
                    text.push_str(&note);
                }
            }
            let label = label_col.map(cell).filter(|l| !l.is_empty());
            Some(Requirement {
                text,
                label,
                line: row.line,
                form: RequirementForm::TableRow,
            })
        })
        .collect();
    (!found.is_empty()).then_some(found)
}

fn table_as_text(header: &[String], rows: &[TableRow]) -> String {
    let mut out = header.join(" | ");
    for row in rows {
        out.push_str("; ");
        out.push_str(&row.cells.join(" | "));
    }
    out
}

fn word_count(text: &str) -> usize {
    let latin = text.split_whitespace().count();
    // Japanese has no spaces: about one word per two characters.
    let cjk = text.chars().filter(|c| crate::text::is_cjk(*c)).count();
    latin.max(cjk / 2)
}

/// Requirements in a paragraph of a work section: the whole paragraph when it opens with a
/// name (`Device binding: …`), otherwise one per sentence, a sentence that refers back
/// (`This …`, `It …`) staying with the one before. Sentences about the document itself
/// ("This document covers …", "The following …") are not requirements.
fn paragraph_requirements(text: &str, line: usize) -> Vec<Requirement> {
    let text = clean(text);
    if is_about_document(&text) && !opens_with_name(&text) {
        return Vec::new();
    }
    let make = |text: String| Requirement {
        label: label_of(&text),
        text,
        line,
        form: RequirementForm::Paragraph,
    };
    if opens_with_name(&text) {
        return vec![make(text)];
    }
    let mut out: Vec<String> = Vec::new();
    for sentence in sentences(&text) {
        match out.last_mut() {
            Some(last) if refers_back(sentence) => {
                last.push(' ');
                last.push_str(sentence);
            }
            _ if is_about_document(sentence) => {}
            _ => out.push(sentence.to_owned()),
        }
    }
    out.into_iter().map(make).collect()
}

/// `Name: …` or `名前：…` with a short name (at most six words).
fn opens_with_name(text: &str) -> bool {
    let cut = [": ", "：", " — ", " – "]
        .iter()
        .filter_map(|sep| text.find(sep))
        .min();
    cut.is_some_and(|at| {
        let name = &text[..at];
        !name.is_empty() && word_count(name) <= 6 && !name.contains(['.', '。'])
    })
}

fn is_about_document(sentence: &str) -> bool {
    let lower = sentence.to_lowercase();
    [
        "this document",
        "this prd",
        "this section",
        "this table",
        "the following",
        "as follows",
        "described below",
        "listed below",
        "in this table",
        "are specified separately",
        "本書",
        "本文書",
        "以下の",
        "下記の",
    ]
    .iter()
    .any(|p| lower.contains(p))
}

fn refers_back(sentence: &str) -> bool {
    let first = sentence
        .split_whitespace()
        .next()
        .unwrap_or("")
        .trim_matches(|c: char| !c.is_alphanumeric())
        .to_ascii_lowercase();
    [
        "this",
        "that",
        "these",
        "those",
        "it",
        "its",
        "they",
        "their",
        "them",
        "such",
        "both",
        "also",
        "however",
        "otherwise",
        "then",
        "there",
        "here",
        "so",
        "but",
    ]
    .contains(&first.as_str())
        || [
            "これ",
            "それ",
            "この",
            "その",
            "また",
            "なお",
            "ただし",
            "さらに",
        ]
        .iter()
        .any(|p| sentence.starts_with(p))
}

/// Sentences: a full stop, `!` or `?` followed by white space and a capital letter or a
/// digit, or a Japanese full stop. Abbreviations (`e.g.`, `i.e.`, `etc.`, `vs.`) and decimal
/// numbers do not end sentences.
pub(crate) fn sentences(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    for (k, &(at, c)) in chars.iter().enumerate() {
        let end = at + c.len_utf8();
        let boundary = match c {
            '。' | '！' | '？' => true,
            '.' | '!' | '?' => {
                let next = chars.get(k + 1).map(|&(_, n)| n);
                let after = chars.get(k + 2).map(|&(_, n)| n);
                let before = &text[start..at];
                let abbreviation = ["e.g", "i.e", "etc", "vs", "cf", "approx", "incl"]
                    .iter()
                    .any(|a| before.to_ascii_lowercase().ends_with(a));
                next.is_some_and(char::is_whitespace)
                    && after.is_some_and(|a| {
                        a.is_uppercase() || a.is_ascii_digit() || a == '`' || crate::text::is_cjk(a)
                    })
                    && !abbreviation
            }
            _ => false,
        };
        if boundary {
            let s = text[start..end].trim();
            if !s.is_empty() {
                out.push(s);
            }
            start = end;
        }
    }
    let rest = text[start..].trim();
    if !rest.is_empty() {
        out.push(rest);
    }
    out
}

fn strip_prd_prefix(title: &str) -> String {
    let t = title.trim();
    for prefix in ["PRD:", "PRD -", "PRD —", "Product requirements:", "PRD："] {
        if let Some(rest) = t.strip_prefix(prefix) {
            return rest.trim().to_owned();
        }
    }
    t.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(prd: &Prd) -> Vec<(&str, Vec<&str>)> {
        prd.work_sections()
            .map(|s| (s.heading.as_str(), s.texts().collect()))
            .collect()
    }

    #[test]
    fn refuses_empty_and_binary() {
        assert_eq!(Prd::from_bytes(b""), Err(PrdError::Empty));
        assert_eq!(Prd::from_bytes(b"  \n\t\n"), Err(PrdError::Empty));
        assert!(matches!(
            Prd::from_bytes(b"\x00\x01\x02\xff\xfe binary"),
            Err(PrdError::Binary { .. })
        ));
        assert!(matches!(
            Prd::from_bytes(&[0xc3, 0x28, b'a', 0xa0, 0xa1]),
            Err(PrdError::Encoding { .. })
        ));
        assert_eq!(
            Prd::from_bytes(b"# Title\n\n## Overview\nJust prose.\n"),
            Err(PrdError::NoRequirements)
        );
    }

    #[test]
    fn sections_and_roles() {
        let prd = Prd::parse(
            "# PRD: Auth\n## Goals\n- fast\n## Requirements\n### Backend\nServer side.\n- API\n  - nested detail\n- Hashing\n### Frontend\n- Pages\n## Non-goals\n- Social login\n",
        )
        .unwrap();
        assert_eq!(prd.title, "Auth");
        let work: Vec<(&str, Option<&str>, usize)> = prd
            .work_sections()
            .map(|s| (s.heading.as_str(), s.parent.as_deref(), s.items.len()))
            .collect();
        assert_eq!(
            work,
            vec![
                ("Backend", Some("Requirements"), 2),
                ("Frontend", Some("Requirements"), 1)
            ]
        );
        let backend = prd.work_sections().next().unwrap();
        assert_eq!(backend.intro, "Server side.");
        assert_eq!(backend.items[0].text, "API; nested detail");
        assert_eq!(prd.items_with_role(SectionRole::Goals), vec!["fast"]);
        assert_eq!(
            prd.items_with_role(SectionRole::NonGoals),
            vec!["Social login"]
        );
    }

    #[test]
    fn tables_and_paragraphs_are_requirements() {
        let prd = Prd::parse(
            "# Bank\nA bank for freelancers.\n## Core\nEvery requirement in this table is in scope.\n\n| ID | Requirement | Notes |\n|---|---|---|\n| PB-1 | **Ledger** service. | Source of truth. |\n| PB-2 | Transfers | |\n## Security\nDevice binding: keys are stored. Every request is signed.\n\nStep-up authentication: a fresh signature. This is SCA.\n## Notifications\nPush notifications go out for every payment. Statements are generated monthly. They are kept ten years.\n## Fields\n| Field | Type |\n|---|---|\n| id | uuid |\n- Store the fields\n",
        )
        .unwrap();
        assert_eq!(prd.preamble, "A bank for freelancers.");
        assert_eq!(
            texts(&prd),
            vec![
                (
                    "Core",
                    vec!["Ledger service. Source of truth.", "Transfers"]
                ),
                (
                    "Security",
                    vec![
                        "Device binding: keys are stored. Every request is signed.",
                        "Step-up authentication: a fresh signature. This is SCA."
                    ]
                ),
                (
                    "Notifications",
                    vec![
                        "Push notifications go out for every payment.",
                        "Statements are generated monthly. They are kept ten years."
                    ]
                ),
                ("Fields", vec!["Store the fields"]),
            ]
        );
        let core = prd.work_sections().next().unwrap();
        assert_eq!(core.items[0].label.as_deref(), Some("PB-1"));
        assert_eq!(core.items[0].form, RequirementForm::TableRow);
        assert!(core.intro.contains("in this table"));
    }

    #[test]
    fn japanese_sections() {
        let prd = Prd::parse(
            "# PRD: 勤怠\n## 背景\n紙で集計している。\n## 利用者\n- 一般従業員：毎日打刻する\n## 目的\n- 締め作業を短縮する\n## 対象外\n- 給与計算\n## 機能要件\n### 基盤\n- 従業員マスタ：社員番号をもつ\n## 非機能要件\n- 応答は1秒以内\n## スケジュール\n- 2026年1月: リリース\n## 未決事項\n- 位置情報を記録するか\n",
        )
        .unwrap();
        assert_eq!(
            texts(&prd),
            vec![
                ("基盤", vec!["従業員マスタ：社員番号をもつ"]),
                ("非機能要件", vec!["応答は1秒以内"])
            ]
        );
        assert_eq!(prd.items_with_role(SectionRole::NonGoals), vec!["給与計算"]);
        assert_eq!(
            prd.items_with_role(SectionRole::OpenQuestions),
            vec!["位置情報を記録するか"]
        );
    }

    #[test]
    fn escape_sequences_never_reach_a_title() {
        let prd = Prd::parse("# Shop\u{1b}]0;owned\u{7}\n## Work\n- Cart \u{1b}[2Jpage\n").unwrap();
        assert_eq!(prd.title, "Shop");
        assert_eq!(
            prd.work_sections().next().unwrap().items[0].text,
            "Cart page"
        );
    }

    #[test]
    fn labels_and_sentences() {
        assert_eq!(label_of("FR-2: Users sign in").as_deref(), Some("FR-2"));
        assert_eq!(label_of("[R1] Cache").as_deref(), Some("R1"));
        assert_eq!(label_of("HTTP/2 support"), None);
        assert_eq!(label_of("Passwords hashed."), None);
        assert_eq!(
            sentences("Approve within 1.5 s, e.g. a hold. Then stop. 次に。終わり"),
            vec![
                "Approve within 1.5 s, e.g. a hold.",
                "Then stop.",
                "次に。",
                "終わり"
            ]
        );
    }
}
