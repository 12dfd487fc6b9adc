//! Word-level helpers shared by classification and dependency analysis.

use std::collections::BTreeSet;

pub(crate) const STOPWORDS: &[&str] = &[
    "the", "and", "for", "with", "from", "that", "this", "into", "per", "each", "every", "all",
    "any", "are", "its", "our", "can", "new", "use", "using", "via", "when", "which", "who", "has",
    "have", "not", "only", "one", "two", "three", "must", "should", "will", "least", "more",
    "than", "under", "over", "out", "after", "before", "depend", "depends", "need", "needs",
    "require", "requires", "them", "they", "their", "there", "also", "both", "but", "was", "were",
    "been", "being", "what", "where", "how", "why", "shall", "may", "might", "onto", "upon",
    "same", "other", "such", "own", "then", "so", "if", "is", "be", "of", "to", "in", "on", "at",
    "by", "as", "it", "or", "an", "a", "we", "no", "up", "off", "never", "always", "least", "most",
    "less", "like", "just", "way", "time", "work", "works",
];

/// Words that name a kind of work rather than a domain; they do not link tasks by rule.
const GENERIC: &[&str] = &[
    "test",
    "unit",
    "end",
    "api",
    "rest",
    "page",
    "endpoint",
    "form",
    "file",
    "code",
    "data",
    "system",
    "service",
    "support",
    "feature",
    "module",
    "layer",
    "phase",
    "build",
    "run",
    "make",
    "add",
    "show",
    "create",
    "update",
    "delete",
    "get",
    "post",
    "put",
    "set",
    "list",
    // Kind-of-work nouns: the category rules already say a schema precedes its API.
    "schema",
    "table",
    "migration",
    "database",
    "screen",
    "component",
    "documentation",
    "doc",
];

fn is_generic(stemmed: &str) -> bool {
    GENERIC.iter().any(|g| stem(g) == stemmed)
}

/// A crude English stem: enough that `hashing`, `hashed` and `hash` meet.
pub fn stem(word: &str) -> String {
    let w = word.to_ascii_lowercase();
    // `entries` and `entry` meet.
    if w.len() >= 5
        && let Some(base) = w.strip_suffix("ies")
    {
        return format!("{base}y");
    }
    // `es` is a plural ending only after a sibilant (`hashes`, `boxes`); elsewhere
    // (`notes`, `types`) it is `s` on a word ending in `e`.
    let sibilant_plural = ["ses", "xes", "zes", "ches", "shes"]
        .iter()
        .any(|end| w.ends_with(end));
    for (suffix, min) in [("ing", 6), ("ed", 5), ("es", 5), ("s", 4), ("e", 4)] {
        if suffix == "es" && !sibilant_plural {
            continue;
        }
        if w.len() >= min && w.ends_with(suffix) && !w.ends_with("ss") {
            let base = &w[..w.len() - suffix.len()];
            // `notes` → `note` → `not`, the same stem as `note` and `noting`.
            return match base.strip_suffix('e') {
                Some(root) if suffix == "s" && root.len() >= 3 => root.to_owned(),
                _ => base.to_owned(),
            };
        }
    }
    w
}

/// The words of `text` (lowercased, first occurrence) whose stems are in `stems`:
/// how a shared stem is shown to a person.
#[allow(dead_code)]
pub fn surface_words(text: &str, stems: &BTreeSet<String>) -> Vec<String> {
    let mut seen = BTreeSet::new();
    text.split(|c: char| !c.is_ascii_alphanumeric())
        .map(|w| w.to_ascii_lowercase())
        .filter(|w| w.len() >= 3)
        .filter(|w| {
            let s = stem(w);
            stems.contains(&s) && seen.insert(s)
        })
        .collect()
}

/// Significant stems of `text`: ASCII words of three or more letters, stopwords dropped.
pub fn tokens(text: &str) -> BTreeSet<String> {
    text.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| w.len() >= 3 && !w.bytes().all(|b| b.is_ascii_digit()))
        .map(|w| w.to_ascii_lowercase())
        .filter(|w| !STOPWORDS.contains(&w.as_str()))
        .map(|w| stem(&w))
        .collect()
}

/// Tokens that say what a task is about (domain nouns), for rule-based links.
pub fn domain_tokens(text: &str) -> BTreeSet<String> {
    tokens(text)
        .into_iter()
        .filter(|t| !is_generic(t))
        .collect()
}

/// Domain words of `text` in the order they appear (stemmed, de-duplicated).
pub fn domain_words_in_order(text: &str) -> Vec<String> {
    let mut seen = BTreeSet::new();
    text.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| w.len() >= 3 && !w.bytes().all(|b| b.is_ascii_digit()))
        .map(|w| w.to_ascii_lowercase())
        .filter(|w| !STOPWORDS.contains(&w.as_str()))
        .map(|w| stem(&w))
        .filter(|w| !is_generic(w))
        .filter(|w| seen.insert(w.clone()))
        .collect()
}

/// Han, kana and full-width forms: text written without spaces between words.
pub fn is_cjk(c: char) -> bool {
    matches!(c,
        '\u{3040}'..='\u{30ff}'   // hiragana, katakana
        | '\u{3400}'..='\u{4dbf}' // CJK extension A
        | '\u{4e00}'..='\u{9fff}' // CJK unified ideographs
        | '\u{f900}'..='\u{faff}' // compatibility ideographs
        | '\u{ff66}'..='\u{ff9f}' // half-width katakana
        | '\u{ac00}'..='\u{d7af}' // hangul syllables
    )
}

/// Spans between backticks, e.g. endpoints like `GET /me`.
pub fn code_spans(text: &str) -> Vec<&str> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect()
}

/// Whether `needle` occurs in `haystack` as a whole word (ASCII word boundaries).
pub fn has_word(haystack: &str, needle: &str) -> Option<usize> {
    let hay = haystack.to_ascii_lowercase();
    let mut from = 0;
    while let Some(pos) = hay[from..].find(needle) {
        let start = from + pos;
        let end = start + needle.len();
        let before = hay[..start].chars().next_back();
        let after = hay[end..].chars().next();
        let boundary = |c: Option<char>| c.is_none_or(|c| !c.is_ascii_alphanumeric());
        if boundary(before) && (boundary(after) || needle.ends_with(' ') || after == Some('s')) {
            return Some(start);
        }
        from = start + 1;
        if from >= hay.len() {
            break;
        }
    }
    None
}

/// A short title from a requirement: its first clause, without trailing punctuation, at most
/// 80 characters cut at a word.
pub fn title_of(text: &str) -> String {
    let clean = text.replace('`', "");
    let first = clean
        .split_terminator([';', '.'])
        .next()
        .unwrap_or(&clean)
        .split(": ")
        .next()
        .unwrap_or(&clean);
    let base = if first.trim().len() >= 12 {
        first
    } else {
        clean.as_str()
    };
    let base = base.trim().trim_end_matches([',', ':', '.', ';']);
    if base.chars().count() <= 80 {
        return capitalise(base);
    }
    let mut cut = String::new();
    for word in base.split_whitespace() {
        if cut.chars().count() + word.chars().count() + 1 > 78 {
            break;
        }
        if !cut.is_empty() {
            cut.push(' ');
        }
        cut.push_str(word);
    }
    cut.push('…');
    capitalise(&cut)
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stems_meet() {
        assert_eq!(stem("hashing"), "hash");
        assert_eq!(stem("hashed"), "hash");
        assert_eq!(stem("users"), "user");
        assert_eq!(stem("class"), "class");
        assert_eq!(stem("hashes"), "hash");
        for word in ["notes", "note", "noting", "noted"] {
            assert_eq!(stem(word), "not", "{word}");
        }
        assert_eq!(stem("types"), stem("type"));
        let stems = tokens("the notes page");
        assert_eq!(
            surface_words("Notes page listing notes", &stems),
            ["notes", "page"]
        );
        assert!(tokens("Passwords hashed with Argon2id").contains("hash"));
    }

    #[test]
    fn titles() {
        assert_eq!(
            title_of("REST API: `POST /signup`, `GET /me`."),
            "REST API: POST /signup, GET /me"
        );
        assert_eq!(
            title_of("Passwords hashed with Argon2id."),
            "Passwords hashed with Argon2id"
        );
        assert_eq!(
            title_of("JWT issuing and a JWKS endpoint; depends on the user schema."),
            "JWT issuing and a JWKS endpoint"
        );
        assert!(title_of(&"word ".repeat(40)).ends_with('…'));
    }

    #[test]
    fn words_and_spans() {
        assert_eq!(has_word("CI pipeline: build", "ci"), Some(0));
        assert_eq!(has_word("special", "ci"), None);
        assert_eq!(code_spans("needs `GET /me` and `x`"), vec!["GET /me", "x"]);
    }
}
