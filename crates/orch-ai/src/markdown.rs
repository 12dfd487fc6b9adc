//! A small, total markdown reader for PRDs: headings, list items (with their continuation
//! lines), GitHub-style tables and paragraphs. It never fails and never panics; anything it
//! does not recognise is paragraph text.

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
    /// A table: a header row, a delimiter row (`|---|---|`) and body rows.
    Table {
        /// Header cells, trimmed, markup kept.
        header: Vec<String>,
        /// Body rows with the 1-based line of each.
        rows: Vec<TableRow>,
        /// 1-based line of the header row.
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

/// One body row of a [`Block::Table`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableRow {
    /// Cells, trimmed; as many as the row has (it may differ from the header).
    pub cells: Vec<String>,
    /// 1-based line number.
    pub line: usize,
}

/// The cells of a table row: pipes inside backticks or escaped as `\|` do not split.
fn table_cells(line: &str) -> Vec<String> {
    let trimmed = line.trim();
    let inner = trimmed.strip_prefix('|').unwrap_or(trimmed);
    let inner = match inner.strip_suffix('|') {
        Some(rest) if !rest.ends_with('\\') => rest,
        _ => inner,
    };
    let mut cells = Vec::new();
    let mut cell = String::new();
    let mut in_code = false;
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'|') => {
                cell.push('|');
                chars.next();
            }
            '`' => {
                in_code = !in_code;
                cell.push(c);
            }
            '|' if !in_code => cells.push(std::mem::take(&mut cell).trim().to_owned()),
            _ => cell.push(c),
        }
    }
    cells.push(cell.trim().to_owned());
    cells
}

/// `|---|:--:|` and `--- | ---`: every cell dashes with optional colons.
fn is_delimiter_row(line: &str) -> bool {
    line.contains('-')
        && table_cells(line).iter().all(|c| {
            let c = c.trim_matches(':');
            !c.is_empty() && c.bytes().all(|b| b == b'-')
        })
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
        // Task-list boxes are markup, not words.
        let text = text.trim();
        let text = ["[ ] ", "[x] ", "[X] "]
            .iter()
            .find_map(|b| text.strip_prefix(b))
            .unwrap_or(text);
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
    let lines: Vec<&str> = text.lines().collect();
    // Inside a table: rows continue while lines carry a pipe.
    let mut in_table = false;
    // A blank line ends a paragraph.
    let mut blank = false;
    for (index, raw) in lines.iter().enumerate() {
        let line_no = index + 1;
        let line = raw.trim_end();
        if in_table && !in_fence {
            if line.contains('|') && !line.trim().is_empty() {
                if let Some(Block::Table { rows, .. }) = blocks.last_mut()
                    && !(rows.is_empty() && is_delimiter_row(line))
                {
                    rows.push(TableRow {
                        cells: table_cells(line),
                        line: line_no,
                    });
                }
                continue;
            }
            in_table = false;
        }
        if !in_fence
            && line.contains('|')
            && lines
                .get(index + 1)
                .is_some_and(|next| is_delimiter_row(next))
        {
            blocks.push(Block::Table {
                header: table_cells(line),
                rows: Vec::new(),
                line: line_no,
            });
            in_table = true;
            open = false;
            continue;
        }

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
            blank = true;
            continue;
        }
        let after_blank = std::mem::take(&mut blank);
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
                && !raw.starts_with(char::is_whitespace)
                && !after_blank;
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
    fn tables() {
        let blocks = parse(
            "Intro.\n\n| ID | Requirement | Notes |\n|----|:---|---|\n| R-1 | Ledger `a|b` | x \\| y |\n| R-2 | Cards |\n\nAfter.\n",
        );
        assert_eq!(
            blocks[1],
            Block::Table {
                header: vec!["ID".into(), "Requirement".into(), "Notes".into()],
                rows: vec![
                    TableRow {
                        cells: vec!["R-1".into(), "Ledger `a|b`".into(), "x | y".into()],
                        line: 5
                    },
                    TableRow {
                        cells: vec!["R-2".into(), "Cards".into()],
                        line: 6
                    },
                ],
                line: 3
            }
        );
        assert!(matches!(&blocks[2], Block::Paragraph { text, .. } if text == "After."));
        // A pipe in prose without a delimiter row is prose.
        assert!(matches!(&parse("a | b\nc\n")[0], Block::Paragraph { .. }));
    }

    #[test]
    fn fences_are_opaque() {
        let blocks = parse("```\n# not a heading\n- not an item\n```\n");
        assert!(blocks.iter().all(|b| matches!(b, Block::Paragraph { .. })));
    }
}
