//! What the interactive notifiers (Slack, Discord, LINE) put on their answer buttons: the
//! label a human reads, the payload the inbound endpoint (`orch-remote`) receives when the
//! button is pressed, and text cut to a platform's limit.
//!
//! The payload contract, per platform:
//!
//! | platform | where | value |
//! |---|---|---|
//! | Slack | actions block `block_id` | `orch_answer_<PM id>` |
//! | Slack | button `action_id` | `orch_answer_<letter>` |
//! | Slack | button `value` | `answer <PM id> <letter>` |
//! | Discord | button `custom_id` | `orch:answer:<PM id>:<letter>` |
//! | LINE | postback `data` | `answer <PM id> <letter>` |
//!
//! A message id is at most 64 ASCII bytes ([`orch_core::MAX_ID_LEN`]), so every value fits its
//! platform's limit (Slack 255/2,000, Discord 100, LINE 300) without cutting: an id is never
//! cut, since a cut id would answer another message.

use crate::message::{DecisionOption, PmMessage};

/// `A. Retry with the failing tests`: the option's letter and title on one line (control
/// characters and runs of whitespace become one space), not cut.
pub(crate) fn label(option: &DecisionOption) -> String {
    let mut out = format!("{}. ", option.key);
    let start = out.len();
    let mut gap = false;
    for c in option.title.chars() {
        if c.is_whitespace() || c.is_control() {
            gap = true;
            continue;
        }
        if gap && out.len() > start {
            out.push(' ');
        }
        gap = false;
        out.push(c);
    }
    out
}

/// `answer <PM id> <letter>`: the Slack button value and the LINE postback data.
pub(crate) fn answer_value(msg: &PmMessage, option: &DecisionOption) -> String {
    format!("answer {} {}", msg.id, option.key)
}

/// `text` cut to at most `max` UTF-16 code units, on a `char` boundary, ending with `…` when
/// something was cut.
///
/// LINE counts text in UTF-16 code units (action labels and `displayText` in grapheme
/// clusters); Slack and Discord say "characters". A string of at most `max` UTF-16 code
/// units has at most `max` chars and at most `max` grapheme clusters, so the cut text fits
/// however the platform counts. For text in the Basic Multilingual Plane (ASCII, Japanese…)
/// every count is the same.
pub(crate) fn cut(text: &str, max: usize) -> String {
    if utf16_len(text) <= max {
        return text.to_owned();
    }
    if max == 0 {
        return String::new();
    }
    // `…` is one UTF-16 code unit.
    let budget = max - 1;
    let mut used = 0;
    let mut out = String::new();
    for c in text.chars() {
        used += c.len_utf16();
        if used > budget {
            break;
        }
        out.push(c);
    }
    out.push('…');
    out
}

/// The length of `text` in UTF-16 code units.
pub(crate) fn utf16_len(text: &str) -> usize {
    text.chars().map(char::len_utf16).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::Action;

    #[test]
    fn labels_are_one_line() {
        let mut o = DecisionOption::new("Retry\nwith \t the\u{7}tests ", Action::Skip);
        assert_eq!(label(&o), "A. Retry with the tests");
        o.title = "\u{1b}[31mred".into();
        assert_eq!(label(&o), "A. [31mred");
        o.title = "  再試行する ".into();
        assert_eq!(label(&o), "A. 再試行する");
    }

    #[test]
    fn cuts_on_char_boundaries_within_utf16_limits() {
        assert_eq!(cut("short", 5), "short");
        assert_eq!(cut("shorter", 5), "shor…");
        assert_eq!(cut("失敗したテストを指示として再試行", 6), "失敗したテ…");
        // 🍎 is two UTF-16 code units: it does not fit in the last free unit.
        assert_eq!(cut("ab🍎cd", 4), "ab…");
        assert_eq!(cut("ab🍎cd", 5), "ab🍎…");
        assert_eq!(utf16_len(&cut("🍎🍎🍎🍎", 5)), 5);
        assert_eq!(cut("abc", 0), "");
        for max in 0..12 {
            let c = cut("A. テスト🍎を再試行🍎する", max);
            assert!(utf16_len(&c) <= max, "{max}: {c}");
        }
    }
}
