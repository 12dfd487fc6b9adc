//! Tokens for dependency evidence, in English and in languages written without spaces.
//!
//! English words are lowercased and stemmed (`hashing` and `hashed` meet), hyphenated words
//! split into adjacent parts (`time-series store` is `time`, `series`, `store`). Katakana runs
//! are one token each (`ワークフロー`); a run of kanji longer than two characters becomes
//! its overlapping two-character pieces (`労働時間集計` → `労働 働時 時間 間集 集計`), so a
//! compound and its parts meet without a dictionary. Hiragana runs (particles, okurigana) are
//! function tokens. Every token knows its clause, so a pair of words across a comma is not
//! a phrase.

use std::collections::HashMap;

use crate::text::{STOPWORDS, stem};

/// Interned token text.
pub(crate) type Id = u32;

/// One token of a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Tok {
    /// Interned key (stem, or the CJK run/piece).
    pub id: Id,
    /// A content word (not a stopword, a particle, a number or punctuation).
    pub content: bool,
    /// Clause number within the text: `, ; : ( ) 。 、` and sentence ends separate clauses.
    pub clause: u32,
    /// Byte offset of the token's first character in the text.
    pub at: usize,
    /// Which run of same-script characters it comes from: the overlapping pieces of one
    /// kanji compound share a run, and are one word, not a phrase.
    pub run: u32,
}

/// The interning table: one id per distinct key across a whole PRD.
#[derive(Debug, Default)]
pub(crate) struct Lexicon {
    ids: HashMap<String, Id>,
    words: Vec<String>,
}

impl Lexicon {
    pub fn id(&mut self, key: &str) -> Id {
        if let Some(id) = self.ids.get(key) {
            return *id;
        }
        let id = self.words.len() as Id;
        self.words.push(key.to_owned());
        self.ids.insert(key.to_owned(), id);
        id
    }

    /// The id of `key` when some text used it.
    pub fn get(&self, key: &str) -> Option<Id> {
        self.ids.get(key).copied()
    }

    pub fn word(&self, id: Id) -> &str {
        &self.words[id as usize]
    }

    /// The id of a word as it would be tokenized (`Pages` → the id of `page`).
    pub fn lookup(&self, word: &str) -> Option<Id> {
        self.get(&stem(&word.to_lowercase()))
    }

    /// Splits `text` into tokens.
    pub fn tokenize(&mut self, text: &str) -> Vec<Tok> {
        let mut out = Vec::new();
        let mut clause = 0u32;
        let mut run = String::new();
        let mut run_start = 0;
        let mut run_class = Class::Space;
        let mut runs = 0u32;
        // In `end-to-end`, `to` is part of a name, not a stopword.
        let mut run_hyphenated = false;
        let mut after_hyphen = false;
        let chars: Vec<(usize, char)> = text.char_indices().collect();
        for (k, &(at, c)) in chars.iter().enumerate() {
            let mut class = classify(c);
            // `1.5`, `v1.2`: a dot between digits stays in the word.
            if c == '.'
                && run_class == Class::Latin
                && run.ends_with(|p: char| p.is_ascii_digit())
                && chars.get(k + 1).is_some_and(|&(_, n)| n.is_ascii_digit())
            {
                class = Class::Latin;
            }
            let word = matches!(class, Class::Latin | Class::Kana | Class::Han | Class::Hira);
            if word && class == run_class {
                run.push(c);
                continue;
            }
            let ended = Run {
                text: &run,
                class: run_class,
                at: run_start,
                clause,
                hyphenated: run_hyphenated,
                next: Some(c),
                id: runs,
            };
            self.flush(&ended, &mut out);
            runs += 1;
            run.clear();
            let hyphen_here = c == '-' && run_class == Class::Latin;
            run_start = at;
            run_class = Class::Space;
            match class {
                Class::Clause => clause += 1,
                Class::Joiner => out.push(Tok {
                    id: self.id(&c.to_string()),
                    content: false,
                    clause,
                    at,
                    run: runs,
                }),
                Class::Space => {}
                _ => {
                    run.push(c);
                    run_class = class;
                    run_hyphenated = after_hyphen;
                }
            }
            after_hyphen = hyphen_here;
        }
        let ended = Run {
            text: &run,
            class: run_class,
            at: run_start,
            clause,
            hyphenated: run_hyphenated,
            next: None,
            id: runs,
        };
        self.flush(&ended, &mut out);
        out
    }

    fn flush(&mut self, run: &Run<'_>, out: &mut Vec<Tok>) {
        if run.text.is_empty() {
            return;
        }
        let (at, clause) = (run.at, run.clause);
        let push = |lex: &mut Lexicon, out: &mut Vec<Tok>, key: &str, content: bool, at: usize| {
            out.push(Tok {
                id: lex.id(key),
                content,
                clause,
                at,
                run: run.id,
            })
        };
        match run.class {
            Class::Latin => {
                let lower = run.text.to_lowercase();
                let numeric = lower.chars().all(|c| c.is_ascii_digit() || c == '.');
                let stopword = STOPWORDS.contains(&lower.as_str());
                // `sign-in`, `step-up`, `built-in`: a trailing particle belongs to the word.
                if run.hyphenated && stopword && run.next != Some('-') {
                    let last = out.last_mut().filter(|t| t.clause == clause);
                    if let Some(prev) = last {
                        let joined = format!("{}-{lower}", self.word(prev.id));
                        prev.id = self.id(&joined);
                        prev.content = true;
                        return;
                    }
                }
                let key = if lower.chars().all(|c| c.is_ascii_alphabetic()) {
                    stem(&lower)
                } else {
                    lower.clone()
                };
                let content =
                    (run.hyphenated || !stopword) && lower.chars().count() >= 2 && !numeric;
                push(self, out, &key, content, at);
            }
            Class::Kana => {
                let content = run.text.chars().count() >= 2;
                push(self, out, run.text, content, at);
            }
            Class::Han => {
                let chars: Vec<(usize, char)> = run.text.char_indices().collect();
                if chars.len() <= 2 {
                    push(self, out, run.text, true, at);
                } else {
                    for pair in chars.windows(2) {
                        let piece: String = [pair[0].1, pair[1].1].iter().collect();
                        push(self, out, &piece, true, at + pair[0].0);
                    }
                    // `月次締め`, `打刻漏れ`: the last kanji with its kana ending is a word.
                    let okurigana = run.next.is_some_and(|c| {
                        classify(c) == Class::Hira && !"のをにがはでとへもやか".contains(c)
                    });
                    if okurigana {
                        let (offset, last) = chars[chars.len() - 1];
                        push(self, out, &last.to_string(), true, at + offset);
                    }
                }
            }
            Class::Hira => push(self, out, run.text, false, at),
            _ => {}
        }
    }
}

/// A run of same-script characters, ready to become tokens.
struct Run<'t> {
    text: &'t str,
    class: Class,
    at: usize,
    clause: u32,
    hyphenated: bool,
    /// The character after the run.
    next: Option<char>,
    id: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Latin,
    Kana,
    Han,
    Hira,
    /// Ends a clause.
    Clause,
    /// Separates words within a clause and is kept as a function token (`・`, `/`, `&`).
    Joiner,
    /// White space and other separators.
    Space,
}

fn classify(c: char) -> Class {
    match c {
        '\u{30a0}'..='\u{30ff}' | '\u{ff66}'..='\u{ff9f}' if c != '・' => Class::Kana,
        'ー' => Class::Kana,
        '\u{3040}'..='\u{309f}' => Class::Hira,
        '\u{3400}'..='\u{4dbf}' | '\u{4e00}'..='\u{9fff}' | '\u{f900}'..='\u{faff}' | '々' => {
            Class::Han
        }
        '・' | '/' | '&' | '+' => Class::Joiner,
        '.' | ',' | ';' | ':' | '(' | ')' | '[' | ']' | '!' | '?' | '\n' | '。' | '、' | '：'
        | '；' | '（' | '）' | '「' | '」' | '『' | '』' | '！' | '？' | '—' | '–' | '|' => {
            Class::Clause
        }
        _ if c.is_alphanumeric() || c == '_' => Class::Latin,
        _ => Class::Space,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(text: &str) -> Vec<(String, bool, u32)> {
        let mut lex = Lexicon::default();
        let toks = lex.tokenize(text);
        toks.iter()
            .map(|t| (lex.word(t.id).to_owned(), t.content, t.clause))
            .collect()
    }

    #[test]
    fn english() {
        let got = keys("The time-series store, hashed by Step-up v1.2");
        let words: Vec<&str> = got.iter().map(|(w, _, _)| w.as_str()).collect();
        assert_eq!(
            words,
            [
                "the", "tim", "sery", "stor", "hash", "by", "step-up", "v1.2"
            ]
        );
        assert!(!got[0].1, "the is a stopword");
        assert!(got[6].1, "`step-up` is one content word");
        assert!(!got[5].1, "by is a stopword");
        assert_eq!(got[3].2, 0);
        assert_eq!(got[4].2, 1, "the comma starts a clause");
        let inner = keys("end-to-end");
        assert!(inner.iter().all(|(_, content, _)| *content), "{inner:?}");
        let apostrophe = keys("the broker's topic");
        let words: Vec<&str> = apostrophe.iter().map(|(w, _, _)| w.as_str()).collect();
        assert_eq!(words, ["the", "broker", "s", "topic"]);
        assert!(!apostrophe[2].1);
    }

    #[test]
    fn japanese() {
        let got = keys("申請・承認ワークフロー：労働時間集計の打刻");
        let words: Vec<&str> = got.iter().map(|(w, _, _)| w.as_str()).collect();
        assert_eq!(
            words,
            [
                "申請",
                "・",
                "承認",
                "ワークフロー",
                "労働",
                "働時",
                "時間",
                "間集",
                "集計",
                "の",
                "打刻"
            ]
        );
        assert_eq!(got[4].2, 1, "the colon starts a clause");
        assert!(!got[9].1, "particles are not content");
    }
}
