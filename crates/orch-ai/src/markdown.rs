//! A small, total markdown reader for PRDs: headings, list items (with their continuation
//! lines) and paragraphs. It never fails and never panics; anything it does not recognise is
//! paragraph text.

/// One block of a PRD.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    /// `#`…`######` heading.
    Heading {
        /// 1 for `#`.
        level: u8,
        /// The text without the hashes.
        text: String,
        /// 1-based line number.
        line: usize,
    },
    /// A bullet or numbered list item, continuation lines joined with spaces.
    Item {
        /// Nesting depth from indentation (0 = top level).
        depth: usize,
        /// The item text without its marker.
        text: String,
        /// 1-based line number of the marker.
        line: usize,
    },
    /// Other text, consecutive lines joined with spaces.
    Paragraph {
        /// The text.
        text: String,
        /// 1-based line number of its first line.
        line: usize,
    },
}

fn heading(line: &str) -> Option<(u8, &str)> {
    let trimmed = line.trim_start();
    if line.len() - trimmed.len() > 3 {
        return None;
    }
    let hashes = trimmed.bytes().take_while(|b| *b == b'#').count();
    if hashes == 0 || hashes > 6 {
        return None;
    }
    let rest = &trimmed[hashes..];
    if !rest.is_empty() && !rest.starts_with([' ', '\t']) {
        return None;
    }
    Some((hashes as u8, rest.trim().trim_end_matches('#').trim()))
}

/// `- x`, `* x`, `+ x`, `1. x`, `1) x` → (indent, text).
fn list_item(line: &str) -> Option<(usize, &str)> {
    let indent = line.len() - line.trim_start().len();
    let rest = line.trim_start();
    if let Some(text) = rest
        .strip_prefix("- ")
        .or_else(|| rest.strip_prefix("* "))
        .or_else(|| rest.strip_prefix("+ "))
    {
        return Some((indent, text.trim()));
    }
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    if (1..=9).contains(&digits) {
        let after = &rest[digits..];
        if let Some(text) = after
            .strip_prefix(". ")
            .or_else(|| after.strip_prefix(") "))
        {
            return Some((indent, text.trim()));
        }
    }
    None
}

/// Splits markdown into blocks. Fenced code blocks are kept as paragraphs (their lines are
/// never read as headings or items).
pub fn parse(text: &str) -> Vec<Block> {
    let mut blocks: Vec<Block> = Vec::new();
    let mut in_fence = false;
    // Whether the next non-blank indented line continues the last item or paragraph.
    let mut open = false;
    for (index, raw) in text.lines().enumerate() {
        let line_no = index + 1;
        let line = raw.trim_end();
        if line.trim_start().starts_with("```") || line.trim_start().starts_with("~~~") {
            in_fence = !in_fence;
            open = false;
            continue;
        }
        if in_fence {
            blocks.push(Block::Paragraph {
                text: line.to_owned(),
                line: line_no,
            });
            continue;
        }
        if line.trim().is_empty() {
            open = false;
            continue;
        }
        if let Some((level, text)) = heading(line) {
            blocks.push(Block::Heading {
                level,
                text: text.to_owned(),
                line: line_no,
            });
            open = false;
            continue;
        }
        if let Some((indent, text)) = list_item(line) {
            blocks.push(Block::Item {
                depth: indent / 2,
                text: text.to_owned(),
                line: line_no,
            });
            open = true;
            continue;
        }
        let continues = open
            || matches!(blocks.last(), Some(Block::Paragraph { .. }))
                && !raw.starts_with(char::is_whitespace);
        match blocks.last_mut() {
            Some(Block::Item { text, .. }) if open && raw.starts_with(char::is_whitespace) => {
                text.push(' ');
                text.push_str(line.trim());
            }
            Some(Block::Item { text, .. }) if open => {
                // A lazy continuation line (no indent) directly after an item.
                text.push(' ');
                text.push_str(line.trim());
            }
            Some(Block::Paragraph { text, .. }) if continues => {
                text.push(' ');
                text.push_str(line.trim());
            }
            _ => {
                blocks.push(Block::Paragraph {
                    text: line.trim().to_owned(),
                    line: line_no,
                });
                open = false;
            }
        }
    }
    blocks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headings_items_paragraphs() {
        let blocks = parse(
            "# PRD: X\n\nIntro line one\nline two.\n\n## Backend\n- REST API: `POST /signup`,\n  `POST /login`.\n- Passwords hashed.\n1. numbered\n#notaheading\n",
        );
        assert_eq!(
            blocks,
            vec![
                Block::Heading {
                    level: 1,
                    text: "PRD: X".into(),
                    line: 1
                },
                Block::Paragraph {
                    text: "Intro line one line two.".into(),
                    line: 3
                },
                Block::Heading {
                    level: 2,
                    text: "Backend".into(),
                    line: 6
                },
                Block::Item {
                    depth: 0,
                    text: "REST API: `POST /signup`, `POST /login`.".into(),
                    line: 7
                },
                Block::Item {
                    depth: 0,
                    text: "Passwords hashed.".into(),
                    line: 9
                },
                Block::Item {
                    depth: 0,
                    text: "numbered #notaheading".into(),
                    line: 10
                },
            ]
        );
    }

    #[test]
    fn fences_are_opaque() {
        let blocks = parse("```\n# not a heading\n- not an item\n```\n");
        assert!(blocks.iter().all(|b| matches!(b, Block::Paragraph { .. })));
    }
}
