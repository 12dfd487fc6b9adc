//! Text from a PRD, a model or an agent made safe for a terminal: escape sequences and
//! control characters removed, so nothing an agent prints can move the cursor, rewrite the
//! screen, set the window title or write the clipboard (OSC 52) when orch shows it.

use std::borrow::Cow;

/// `text` without terminal escape sequences (CSI `ESC [ … final`, OSC `ESC ] … BEL|ST`,
/// DCS/SOS/PM/APC strings up to ST, two-byte `ESC x`, 8-bit C1 controls) and without control
/// characters other than newline and tab. Borrowed when nothing had to go.
pub fn sanitize_terminal(text: &str) -> Cow<'_, str> {
    let clean = text
        .chars()
        .all(|c| c == '\n' || c == '\t' || !(c.is_control()));
    if clean {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => match chars.next() {
                // CSI: parameters and intermediates, then one final byte in @..~.
                Some('[') => {
                    for c in chars.by_ref() {
                        if ('@'..='~').contains(&c) {
                            break;
                        }
                    }
                }
                // OSC, DCS, SOS, PM, APC: a string ended by BEL or ST (ESC \).
                Some(']' | 'P' | 'X' | '^' | '_') => skip_string(&mut chars),
                // Two-byte sequences (ESC 7, ESC c, …) and a lone ESC at the end.
                _ => {}
            },
            '\u{9b}' => {
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            }
            '\u{9d}' | '\u{90}' | '\u{98}' | '\u{9e}' | '\u{9f}' => skip_string(&mut chars),
            '\n' | '\t' => out.push(c),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

fn skip_string(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    while let Some(c) = chars.next() {
        match c {
            '\u{7}' | '\u{9c}' => return,
            '\u{1b}' if chars.peek() == Some(&'\\') => {
                chars.next();
                return;
            }
            _ => {}
        }
    }
}

/// [`sanitize_terminal`] for one line: newlines and tabs become spaces too.
pub fn sanitize_line(text: &str) -> String {
    sanitize_terminal(text).replace(['\n', '\t', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_controls_are_removed() {
        assert!(matches!(
            sanitize_terminal("plain text\n\tok"),
            Cow::Borrowed(_)
        ));
        let cases = [
            ("\u{1b}[31mred\u{1b}[0m", "red"),
            ("\u{1b}]52;c;ZXZpbA==\u{7}after", "after"),
            ("\u{1b}]0;title\u{1b}\\x", "x"),
            ("a\u{1b}Pdcs\u{1b}\\b", "ab"),
            ("bell\u{7}back\u{8}cr\r", "bellbackcr"),
            ("\u{9b}2Jc1", "c1"),
            ("\u{9d}8;;http://x\u{9c}link", "link"),
            ("end\u{1b}", "end"),
            ("\u{1b}7save\u{1b}8", "save"),
            ("日本語\u{1b}[1m太字", "日本語太字"),
        ];
        for (input, want) in cases {
            assert_eq!(sanitize_terminal(input), want, "{input:?}");
        }
        assert_eq!(sanitize_line("a\nb\tc"), "a b c");
    }
}
