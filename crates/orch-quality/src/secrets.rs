//! The built-in secrets scan: API keys, tokens, private keys and passwords committed to the
//! tree, found by the detector every part of orch shares ([`orch_secrets::Detector`]). It
//! needs no tool, so it runs for every language, always. Files are read line by line, so a
//! large file is scanned like any other; a line with [`ALLOW_MARKER`] is exempt only when
//! that line was already in the base the work started from.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use orch_secrets::Detector;

use crate::integrity::Baseline;
use crate::report::{Finding, Severity};

/// A line with this marker is not reported: a documented false positive. The marker counts
/// only on lines present in the base (an agent cannot exempt its own secret).
pub const ALLOW_MARKER: &str = "orch:allow-secret";

/// Longest piece of one line looked at at once; longer lines are read in overlapping pieces.
const PIECE: usize = 256 * 1024;
/// Overlap between the pieces of a long line, so a secret across a cut is still whole in one.
const OVERLAP: usize = 512;

pub(crate) struct SecretScanner<'a> {
    detector: &'static Detector,
    baseline: Option<&'a Baseline>,
}

impl<'a> SecretScanner<'a> {
    pub fn new(baseline: Option<&'a Baseline>) -> SecretScanner<'a> {
        SecretScanner {
            detector: Detector::shared(),
            baseline,
        }
    }

    /// Findings in one line (`n` from 1); secrets are never echoed, only their kind.
    fn scan_line(&self, file: &str, n: u32, line: &str, out: &mut Vec<Finding>) {
        if line.contains(ALLOW_MARKER) && self.baseline.is_none_or(|b| b.has_line(file, line)) {
            return;
        }
        for found in self.detector.find(line).into_iter().filter(|f| f.certain) {
            let how = found
                .hidden_by
                .map(|h| format!(" ({h})"))
                .unwrap_or_default();
            out.push(
                Finding::at(
                    file,
                    Some(n),
                    Severity::High,
                    format!("{}{how} in the source", found.kind),
                )
                .with_code("secret"),
            );
        }
    }

    /// Findings in a text (tests, small inputs).
    #[cfg(test)]
    pub fn scan(&self, file: &str, text: &str) -> Vec<Finding> {
        let mut out = Vec::new();
        for (n, line) in text.lines().enumerate() {
            self.scan_line(file, n as u32 + 1, line, &mut out);
        }
        out
    }

    /// Reads `root/file` line by line (whatever its size) and scans it; binary files are
    /// skipped.
    pub fn scan_file(&self, root: &Path, file: &str) -> Vec<Finding> {
        let Ok(handle) = std::fs::File::open(root.join(file)) else {
            return Vec::new();
        };
        let mut reader = BufReader::with_capacity(64 * 1024, handle);
        match reader.fill_buf() {
            Ok(head) if head[..head.len().min(8192)].contains(&0) => return Vec::new(),
            Ok(_) => {}
            Err(_) => return Vec::new(),
        }
        let mut out = Vec::new();
        let mut n = 0u32;
        let mut piece = Vec::with_capacity(4096);
        loop {
            piece.clear();
            let limit = (PIECE - piece.len()) as u64;
            let read = (&mut reader).take(limit).read_until(b'\n', &mut piece);
            match read {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
            let complete = piece.last() == Some(&b'\n');
            n += 1;
            self.scan_line(
                file,
                n,
                String::from_utf8_lossy(&piece).trim_end_matches(['\n', '\r']),
                &mut out,
            );
            // The rest of a very long line, piece by piece, each starting with the end of
            // the one before.
            let mut carry: Vec<u8> = if complete {
                Vec::new()
            } else {
                piece[piece.len().saturating_sub(OVERLAP)..].to_vec()
            };
            while !carry.is_empty() {
                let mut next = carry.clone();
                let got = (&mut reader)
                    .take((PIECE - OVERLAP) as u64)
                    .read_until(b'\n', &mut next)
                    .unwrap_or(0);
                if got == 0 {
                    break;
                }
                self.scan_line(
                    file,
                    n,
                    String::from_utf8_lossy(&next).trim_end_matches(['\n', '\r']),
                    &mut out,
                );
                carry = if next.last() == Some(&b'\n') {
                    Vec::new()
                } else {
                    next[next.len().saturating_sub(OVERLAP)..].to_vec()
                };
            }
            if out.len() > 1000 {
                break;
            }
        }
        out.dedup_by(|a, b| a.line == b.line && a.message == b.message);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> String {
        format!("{}{}", "AKIA", "Z7Q2XK4M9B3N5P6R")
    }

    #[test]
    fn finds_keys_not_placeholders() {
        let s = SecretScanner::new(None);
        assert_eq!(s.scan("a.py", &format!("KEY = '{}'", key())).len(), 1);
        assert_eq!(
            s.scan("a.py", "api_key = \"q8Zr3LmP0xV7tKw2Yb5N\"").len(),
            1
        );
        assert!(s.scan("a.py", "api_key = os.environ['API_KEY']").is_empty());
        assert!(
            s.scan("a.py", "password = \"your_password_here\"")
                .is_empty()
        );
        assert!(
            s.scan("a.py", &format!("KEY = '{}'  # {ALLOW_MARKER}", key()))
                .is_empty()
        );
        let pem = "-----BEGIN OPENSSH PRIVATE KEY-----"; // orch:allow-secret
        assert_eq!(s.scan("k.pem", pem)[0].severity, Severity::High);
    }

    #[test]
    fn an_allow_marker_counts_only_where_the_base_had_it() {
        let line = format!("KEY = '{}'  # {ALLOW_MARKER}", key());
        let mut baseline = Baseline::default();
        baseline
            .files
            .insert("a.py".into(), Some(format!("{line}\n")));
        baseline.files.insert("b.py".into(), None);
        let s = SecretScanner::new(Some(&baseline));
        assert!(s.scan("a.py", &line).is_empty(), "already there: exempt");
        assert_eq!(
            s.scan("b.py", &line).len(),
            1,
            "added with the marker: reported"
        );
        assert!(s.scan("c.py", &line).is_empty(), "unchanged file: exempt");
    }

    #[test]
    fn large_files_and_long_lines_are_scanned() {
        let dir = tempfile::tempdir().unwrap();
        let mut text = "x = 1\n".repeat(300_000);
        text.push_str(&"y".repeat(3 * 1024 * 1024));
        text.push_str(&format!(" KEY = '{}' ", key()));
        text.push_str(&"z".repeat(1024 * 1024));
        text.push('\n');
        std::fs::write(dir.path().join("big.py"), &text).unwrap();
        let found = SecretScanner::new(None).scan_file(dir.path(), "big.py");
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].line, Some(300_001));
    }
}
