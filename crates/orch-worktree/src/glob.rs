//! A small glob matcher for `repo.copy_untracked`, and the copying itself.
//!
//! Patterns are `/`-separated paths relative to the repository root (a leading `/` is
//! allowed and ignored). Within one path component `*` matches any run of characters, `?` one
//! character, `[abc]`, `[a-z]` and `[!a-z]` one character of (or not of) a set, and `\x` the
//! character `x` itself. A whole component `**` matches any number of components, including
//! none, so `**/.env` finds `.env` files at every depth while `.env` means the root one only.
//! `..` components are rejected so a pattern cannot reach outside the repository.

use std::collections::BTreeSet;
use std::path::Path;

use crate::error::{WorktreeError, io};

/// A compiled pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Glob {
    pattern: String,
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    /// `**`
    AnyDepth,
    /// One component, as pattern characters.
    Component(Vec<Token>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Literal(char),
    AnyRun,
    AnyOne,
    Class {
        negated: bool,
        items: Vec<(char, char)>,
    },
}

impl Glob {
    pub(crate) fn new(pattern: &str) -> Result<Glob, WorktreeError> {
        let invalid = |reason| WorktreeError::InvalidGlob {
            pattern: pattern.to_owned(),
            reason,
        };
        let trimmed = pattern.trim_start_matches('/');
        if trimmed.is_empty() {
            return Err(invalid("it is empty"));
        }
        let mut parts = Vec::new();
        for component in trimmed.split('/') {
            match component {
                "" => {
                    return Err(invalid(
                        "it has an empty path component (`//` or a trailing `/`)",
                    ));
                }
                "." | ".." => return Err(invalid("`.` and `..` components are not allowed")),
                "**" => {
                    if parts.last() != Some(&Part::AnyDepth) {
                        parts.push(Part::AnyDepth);
                    }
                }
                c => parts
                    .push(Part::Component(parse_component(c).ok_or_else(|| {
                        invalid("it has an unclosed `[` or a trailing `\\`")
                    })?)),
            }
        }
        if parts.last() == Some(&Part::AnyDepth) {
            return Err(invalid("it must name files, not end in `**`"));
        }
        Ok(Glob {
            pattern: pattern.to_owned(),
            parts,
        })
    }

    /// Whether `path` (relative, `/`-separated) matches.
    pub(crate) fn matches(&self, path: &str) -> bool {
        let components: Vec<&str> = path.split('/').collect();
        match_parts(&self.parts, &components)
    }

    /// The leading components without wildcards: where a walk for this pattern starts.
    fn literal_prefix(&self) -> Vec<String> {
        let mut out = Vec::new();
        for part in &self.parts[..self.parts.len() - 1] {
            match part {
                Part::Component(tokens) => {
                    let literal: Option<String> = tokens
                        .iter()
                        .map(|t| match t {
                            Token::Literal(c) => Some(*c),
                            _ => None,
                        })
                        .collect();
                    match literal {
                        Some(name) => out.push(name),
                        None => break,
                    }
                }
                _ => break,
            }
        }
        out
    }

    /// How many components below the literal prefix a match can have; `None`: any.
    fn depth_below_prefix(&self) -> Option<usize> {
        if self.parts.contains(&Part::AnyDepth) {
            None
        } else {
            Some(self.parts.len() - self.literal_prefix().len())
        }
    }
}

fn parse_component(text: &str) -> Option<Vec<Token>> {
    let mut tokens = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        tokens.push(match c {
            '*' => {
                while chars.peek() == Some(&'*') {
                    chars.next();
                }
                Token::AnyRun
            }
            '?' => Token::AnyOne,
            '\\' => Token::Literal(chars.next()?),
            '[' => {
                let negated = matches!(chars.peek(), Some('!') | Some('^'));
                if negated {
                    chars.next();
                }
                let mut items = Vec::new();
                let mut first = true;
                loop {
                    let c = chars.next()?;
                    if c == ']' && !first {
                        break;
                    }
                    first = false;
                    let low = if c == '\\' { chars.next()? } else { c };
                    let mut lookahead = chars.clone();
                    if lookahead.next() == Some('-') && lookahead.peek().is_some_and(|n| *n != ']')
                    {
                        chars.next();
                        let high = match chars.next()? {
                            '\\' => chars.next()?,
                            h => h,
                        };
                        items.push((low, high));
                    } else {
                        items.push((low, low));
                    }
                }
                Token::Class { negated, items }
            }
            c => Token::Literal(c),
        });
    }
    Some(tokens)
}

fn match_parts(parts: &[Part], components: &[&str]) -> bool {
    match parts.split_first() {
        None => components.is_empty(),
        Some((Part::AnyDepth, rest)) => {
            (0..=components.len()).any(|skip| match_parts(rest, &components[skip..]))
        }
        Some((Part::Component(tokens), rest)) => match components.split_first() {
            Some((first, others)) => {
                let chars: Vec<char> = first.chars().collect();
                match_tokens(tokens, &chars) && match_parts(rest, others)
            }
            None => false,
        },
    }
}

fn match_tokens(tokens: &[Token], text: &[char]) -> bool {
    match tokens.split_first() {
        None => text.is_empty(),
        Some((Token::AnyRun, rest)) => (0..=text.len()).any(|i| match_tokens(rest, &text[i..])),
        Some((token, rest)) => match text.split_first() {
            Some((c, more)) => {
                let ok = match token {
                    Token::Literal(l) => l == c,
                    Token::AnyOne => true,
                    Token::Class { negated, items } => {
                        items.iter().any(|(lo, hi)| (lo..=hi).contains(&c)) != *negated
                    }
                    Token::AnyRun => false, // handled by the arm above
                };
                ok && match_tokens(rest, more)
            }
            None => false,
        },
    }
}

/// Finds the files under `workdir` matching any of `globs`, relative `/`-separated paths,
/// sorted. `.git` entries and `skip` (the worktree root) are never entered; only regular
/// files are returned.
pub(crate) fn find_matches(
    workdir: &Path,
    globs: &[Glob],
    skip: &Path,
) -> Result<BTreeSet<String>, WorktreeError> {
    let mut found = BTreeSet::new();
    for glob in globs {
        let prefix = glob.literal_prefix();
        let mut dir = workdir.to_path_buf();
        for p in &prefix {
            dir.push(p);
        }
        let rel = prefix.join("/");
        walk(
            &dir,
            &rel,
            glob.depth_below_prefix(),
            glob,
            skip,
            &mut found,
        )?;
    }
    Ok(found)
}

fn walk(
    dir: &Path,
    rel: &str,
    depth: Option<usize>,
    glob: &Glob,
    skip: &Path,
    found: &mut BTreeSet<String>,
) -> Result<(), WorktreeError> {
    if depth == Some(0) || dir == skip {
        return Ok(());
    }
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => return Ok(()),
        Err(e) => return Err(io("read directory", dir)(e)),
    };
    for entry in entries {
        let entry = entry.map_err(io("read directory", dir))?;
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            continue; // not UTF-8: cannot match a UTF-8 pattern
        };
        if name == ".git" {
            continue;
        }
        let child_rel = if rel.is_empty() {
            name
        } else {
            format!("{rel}/{name}")
        };
        let kind = entry.file_type().map_err(io("inspect", entry.path()))?;
        if kind.is_dir() {
            walk(
                &entry.path(),
                &child_rel,
                depth.map(|d| d - 1),
                glob,
                skip,
                found,
            )?;
        } else if kind.is_file() && glob.matches(&child_rel) {
            found.insert(child_rel);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pattern: &str, path: &str) -> bool {
        Glob::new(pattern).unwrap().matches(path)
    }

    #[test]
    fn literal_and_wildcards() {
        assert!(m(".env", ".env"));
        assert!(!m(".env", "sub/.env"));
        assert!(m("/.env", ".env"));
        assert!(m(".env.*", ".env.local"));
        assert!(!m(".env.*", ".env"));
        assert!(m("config/*.toml", "config/local.toml"));
        assert!(!m("config/*.toml", "config/a/local.toml"));
        assert!(m("f?le", "file"));
        assert!(!m("f?le", "fle"));
        assert!(m("*", "anything"));
        assert!(!m("*", "a/b"));
    }

    #[test]
    fn any_depth() {
        assert!(m("**/.env", ".env"));
        assert!(m("**/.env", "a/b/.env"));
        assert!(m("a/**/x.txt", "a/x.txt"));
        assert!(m("a/**/x.txt", "a/b/c/x.txt"));
        assert!(!m("a/**/x.txt", "b/x.txt"));
        assert!(m("**/*.local", "deep/er/file.local"));
    }

    #[test]
    fn classes_and_escapes() {
        assert!(m("[abc].txt", "b.txt"));
        assert!(!m("[abc].txt", "d.txt"));
        assert!(m("[a-c]x", "cx"));
        assert!(m("[!a-c]x", "dx"));
        assert!(!m("[!a-c]x", "ax"));
        assert!(m("[]]", "]"));
        assert!(m("a\\*", "a*"));
        assert!(!m("a\\*", "ab"));
        assert!(m("日本*.txt", "日本語.txt"));
        assert!(m("with space/*", "with space/f"));
    }

    #[test]
    fn rejects_bad_patterns() {
        for bad in [
            "", "/", "../x", "a/../b", "a//b", "a/", "x/**", "[abc", "a\\",
        ] {
            assert!(Glob::new(bad).is_err(), "{bad:?} must be rejected");
        }
    }

    #[test]
    fn walk_prefix_and_depth() {
        let g = Glob::new("config/*.toml").unwrap();
        assert_eq!(g.literal_prefix(), vec!["config".to_owned()]);
        assert_eq!(g.depth_below_prefix(), Some(1));
        let g = Glob::new("**/.env").unwrap();
        assert!(g.literal_prefix().is_empty());
        assert_eq!(g.depth_below_prefix(), None);
    }

    #[test]
    fn finds_files() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for f in [".env", "a/.env", "a/b/.env", "config/x.toml", "wt/T-1/.env"] {
            let p = root.join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, "x").unwrap();
        }
        std::fs::create_dir_all(root.join(".git")).unwrap();
        std::fs::write(root.join(".git/.env"), "x").unwrap();
        let globs = vec![
            Glob::new("**/.env").unwrap(),
            Glob::new("config/*.toml").unwrap(),
        ];
        let found = find_matches(root, &globs, &root.join("wt")).unwrap();
        let found: Vec<&str> = found.iter().map(String::as_str).collect();
        assert_eq!(found, [".env", "a/.env", "a/b/.env", "config/x.toml"]);
    }
}
