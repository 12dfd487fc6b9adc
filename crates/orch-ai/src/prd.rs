//! A PRD as the planner sees it: a title, meta sections (goals, non-goals, success
//! criteria, constraints) and work sections whose list items become tasks.

use crate::markdown::{Block, parse};

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
    /// There is text but no list item anywhere to turn into a task.
    #[error("the PRD has no requirements to plan: no list item (`- …`) under any heading")]
    NoRequirements,
}

/// A section of the PRD with its own list items.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// Heading text (for a nested heading, as written).
    pub heading: String,
    /// The parent heading's text, when nested (`Requirements` for `### Backend`).
    pub parent: Option<String>,
    /// Heading level.
    pub level: u8,
    /// Paragraph text directly under the heading.
    pub intro: String,
    /// Top-level list items, nested items folded into their parent.
    pub items: Vec<String>,
    /// 1-based line of the heading.
    pub line: usize,
}

/// What kind of section a heading names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SectionRole {
    /// Work to plan.
    Work,
    /// Goals or success criteria: acceptance context.
    Goals,
    /// What is out of scope.
    NonGoals,
    /// Rules every task must respect.
    Constraints,
    /// Overview, background, open questions: context only.
    Context,
}

/// The role of a section from its heading.
pub fn role_of(heading: &str) -> SectionRole {
    let h = heading.to_ascii_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| h.contains(w));
    if has(&[
        "non-goal",
        "non goal",
        "out of scope",
        "not in scope",
        "later",
    ]) {
        SectionRole::NonGoals
    } else if has(&[
        "success",
        "goal",
        "objective",
        "kpi",
        "metric of success",
        "definition of done",
    ]) {
        SectionRole::Goals
    } else if has(&["constraint", "rule", "principle", "assumption", "risk"]) {
        SectionRole::Constraints
    } else if has(&[
        "overview",
        "summary",
        "background",
        "context",
        "introduction",
        "open question",
        "glossary",
        "appendix",
        "references",
        "problem",
    ]) {
        SectionRole::Context
    } else {
        SectionRole::Work
    }
}

/// A parsed PRD.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prd {
    /// The first `#` heading without a `PRD:` prefix, or `untitled`.
    pub title: String,
    /// Every section in order.
    pub sections: Vec<Section>,
    /// The whole text, for excerpts.
    pub text: String,
}

impl Prd {
    /// Checks and reads raw bytes: refuses empty input and binary data with a clear error.
    pub fn from_bytes(bytes: &[u8]) -> Result<Prd, PrdError> {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(PrdError::Empty);
        }
        if let Some(at) = bytes.iter().position(|b| *b == 0) {
            return Err(PrdError::Binary {
                reason: format!("a NUL byte at offset {at}"),
            });
        }
        let text = std::str::from_utf8(bytes).map_err(|e| PrdError::Binary {
            reason: format!("invalid UTF-8 at offset {}", e.valid_up_to()),
        })?;
        let control = text
            .chars()
            .filter(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
            .count();
        if control * 20 > text.chars().count() {
            return Err(PrdError::Binary {
                reason: format!("{control} control characters"),
            });
        }
        Prd::parse(text)
    }

    /// Reads markdown text.
    pub fn parse(text: &str) -> Result<Prd, PrdError> {
        if text.trim().is_empty() {
            return Err(PrdError::Empty);
        }
        let mut title = None;
        let mut sections: Vec<Section> = Vec::new();
        // Heading stack: (level, text), to know each section's parent.
        let mut stack: Vec<(u8, String)> = Vec::new();
        for block in parse(text) {
            match block {
                Block::Heading { level, text, line } => {
                    if level == 1 && title.is_none() {
                        title = Some(strip_prd_prefix(&text));
                        stack.clear();
                        continue;
                    }
                    while stack.last().is_some_and(|(l, _)| *l >= level) {
                        stack.pop();
                    }
                    let parent = stack.last().map(|(_, t)| t.clone());
                    stack.push((level, text.clone()));
                    sections.push(Section {
                        heading: text,
                        parent,
                        level,
                        intro: String::new(),
                        items: Vec::new(),
                        line,
                    });
                }
                Block::Item { depth, text, .. } => {
                    let section = match sections.last_mut() {
                        Some(s) => s,
                        None => {
                            sections.push(Section {
                                heading: "Requirements".into(),
                                parent: None,
                                level: 2,
                                intro: String::new(),
                                items: Vec::new(),
                                line: 1,
                            });
                            sections.last_mut().expect("just pushed")
                        }
                    };
                    match section.items.last_mut() {
                        // Nested items refine their parent item.
                        Some(last) if depth > 0 => {
                            last.push_str("; ");
                            last.push_str(&text);
                        }
                        _ => section.items.push(text),
                    }
                }
                Block::Paragraph { text, .. } => {
                    if let Some(section) = sections.last_mut()
                        && section.items.is_empty()
                    {
                        if !section.intro.is_empty() {
                            section.intro.push(' ');
                        }
                        section.intro.push_str(&text);
                    }
                }
            }
        }
        let prd = Prd {
            title: title.unwrap_or_else(|| "untitled".into()),
            sections,
            text: text.to_owned(),
        };
        if prd.work_sections().next().is_none() {
            return Err(PrdError::NoRequirements);
        }
        Ok(prd)
    }

    /// Sections with list items whose heading names work (not goals, constraints, …).
    pub fn work_sections(&self) -> impl Iterator<Item = &Section> {
        self.sections
            .iter()
            .filter(|s| !s.items.is_empty() && role_of(&s.heading) == SectionRole::Work)
    }

    /// All items of sections with this role.
    pub fn items_with_role(&self, role: SectionRole) -> Vec<&str> {
        self.sections
            .iter()
            .filter(|s| role_of(&s.heading) == role)
            .flat_map(|s| s.items.iter().map(String::as_str))
            .collect()
    }
}

fn strip_prd_prefix(title: &str) -> String {
    let t = title.trim();
    for prefix in ["PRD:", "PRD -", "PRD —", "Product requirements:"] {
        if let Some(rest) = t.strip_prefix(prefix) {
            return rest.trim().to_owned();
        }
    }
    t.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_empty_and_binary() {
        assert_eq!(Prd::from_bytes(b""), Err(PrdError::Empty));
        assert_eq!(Prd::from_bytes(b"  \n\t\n"), Err(PrdError::Empty));
        assert!(matches!(
            Prd::from_bytes(b"\x00\x01\x02\xff\xfe binary"),
            Err(PrdError::Binary { .. })
        ));
        assert!(matches!(
            Prd::from_bytes(&[0xff, 0xfe, b'a']),
            Err(PrdError::Binary { .. })
        ));
        assert_eq!(
            Prd::from_bytes(b"# Title\n\nJust prose.\n"),
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
        assert_eq!(backend.items[0], "API; nested detail");
        assert_eq!(prd.items_with_role(SectionRole::Goals), vec!["fast"]);
        assert_eq!(
            prd.items_with_role(SectionRole::NonGoals),
            vec!["Social login"]
        );
    }
}
