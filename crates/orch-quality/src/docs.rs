//! Documentation coverage: the share of public items that carry a doc comment, per language,
//! read from the source text (no toolchain needed).

use crate::report::{Finding, Severity};

/// Public items found and the undocumented ones.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct DocCount {
    pub public: usize,
    pub undocumented: Vec<Finding>,
}

impl DocCount {
    pub fn add(&mut self, other: DocCount) {
        self.public += other.public;
        self.undocumented.extend(other.undocumented);
    }
}

fn missing(file: &str, line: usize, what: &str, name: &str) -> Finding {
    Finding::at(
        file,
        Some(line as u32 + 1),
        Severity::Warning,
        format!("public {what} `{name}` has no documentation"),
    )
}

/// Rust: `pub fn|struct|enum|trait|type|const|static|mod|union` (not `pub(crate)`), documented
/// by `///` or `#[doc` above it, attributes in between allowed. Test modules are not read.
pub(crate) fn rust(file: &str, text: &str) -> DocCount {
    let mut c = DocCount::default();
    let lines: Vec<&str> = text.lines().collect();
    let mut skip_until = 0;
    for (i, raw) in lines.iter().enumerate() {
        if i < skip_until {
            continue;
        }
        let line = raw.trim_start();
        if line.starts_with("#[cfg(test)]") {
            skip_until = end_of_block(&lines, i);
            continue;
        }
        let Some(rest) = line.strip_prefix("pub ") else {
            continue;
        };
        let rest = rest
            .trim_start_matches("async ")
            .trim_start_matches("const fn ")
            .trim_start_matches("unsafe ")
            .trim_start_matches("extern \"C\" ");
        let Some((kind, after)) = [
            "fn ", "struct ", "enum ", "trait ", "type ", "const ", "static ", "mod ", "union ",
        ]
        .iter()
        .find_map(|k| rest.strip_prefix(k).map(|a| (k.trim(), a))) else {
            continue;
        };
        let name: String = after
            .trim_start_matches("mut ")
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if name.is_empty() {
            continue;
        }
        c.public += 1;
        let documented = lines[..i]
            .iter()
            .rev()
            .map(|l| l.trim())
            .find(|l| (!l.starts_with("#[") || l.starts_with("#[doc")) && !l.is_empty())
            .is_some_and(|l| {
                l.starts_with("///")
                    || l.starts_with("#[doc")
                    || l.starts_with("/**")
                    || l.ends_with("*/")
            });
        // A `pub mod x;` documented by `//!` inside its own file is not seen here; it is rare
        // enough in task-sized changes to accept.
        if !documented {
            c.undocumented.push(missing(file, i, kind, &name));
        }
    }
    c
}

/// The line after the block that starts at or after `from` (brace-balanced; braces in
/// strings are rare enough in test modules to ignore).
fn end_of_block(lines: &[&str], from: usize) -> usize {
    let mut depth = 0i64;
    let mut opened = false;
    for (j, line) in lines.iter().enumerate().skip(from) {
        for c in line.chars() {
            match c {
                '{' => {
                    depth += 1;
                    opened = true;
                }
                '}' => depth -= 1,
                _ => {}
            }
        }
        if opened && depth <= 0 {
            return j + 1;
        }
        if !opened && line.trim_end().ends_with(';') {
            return j + 1;
        }
    }
    lines.len()
}

/// Python: module-level `def`/`class` and the methods of public classes whose names do not
/// start with `_`, documented by a docstring as the first statement.
pub(crate) fn python(file: &str, text: &str) -> DocCount {
    let mut c = DocCount::default();
    let lines: Vec<&str> = text.lines().collect();
    // Indentation of the public class being read, if any.
    let mut class_indent: Option<usize> = None;
    for (i, raw) in lines.iter().enumerate() {
        let indent = raw.len() - raw.trim_start().len();
        let line = raw.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if class_indent.is_some_and(|ci| indent <= ci) {
            class_indent = None;
        }
        let def = line
            .strip_prefix("async def ")
            .or_else(|| line.strip_prefix("def "))
            .map(|r| ("function", r))
            .or_else(|| line.strip_prefix("class ").map(|r| ("class", r)));
        let Some((kind, rest)) = def else { continue };
        let name: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        let at_module = indent == 0;
        let in_class = class_indent.is_some_and(|ci| indent > ci);
        if !(at_module || in_class) {
            continue;
        }
        if kind == "class" && at_module {
            class_indent = (!name.starts_with('_')).then_some(0);
        }
        if name.starts_with('_') {
            continue;
        }
        c.public += 1;
        // The body starts after the line that closes the signature (ends with `:`).
        let Some(sig_end) =
            (i..lines.len()).find(|&j| python_code(lines[j]).trim_end().ends_with(':'))
        else {
            continue;
        };
        let first = lines[sig_end + 1..]
            .iter()
            .map(|l| l.trim())
            .find(|l| !l.is_empty() && !l.starts_with('#'));
        let documented = first.is_some_and(|l| {
            let l = l.trim_start_matches(['r', 'u', 'R', 'U', 'b']);
            l.starts_with("\"\"\"")
                || l.starts_with("'''")
                || l.starts_with('"')
                || l.starts_with('\'')
        });
        if !documented {
            c.undocumented.push(missing(file, i, kind, &name));
        }
    }
    c
}

/// A Python line without its comment: a `#` outside string literals starts one
/// (`def f(x):  # noqa` ends with `:` once the comment is gone).
fn python_code(line: &str) -> &str {
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        match quote {
            Some(_) if escaped => escaped = false,
            Some(_) if c == '\\' => escaped = true,
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '#' => return &line[..i],
            None if c == '"' || c == '\'' => quote = Some(c),
            None => {}
        }
    }
    line
}

/// JavaScript and TypeScript: exported declarations, documented by a JSDoc block (`/** … */`)
/// directly above.
pub(crate) fn javascript(file: &str, text: &str) -> DocCount {
    let mut c = DocCount::default();
    let lines: Vec<&str> = text.lines().collect();
    for (i, raw) in lines.iter().enumerate() {
        let line = raw.trim_start();
        let Some(rest) = line.strip_prefix("export ") else {
            continue;
        };
        let rest = rest
            .trim_start_matches("default ")
            .trim_start_matches("async ")
            .trim_start_matches("declare ")
            .trim_start_matches("abstract ");
        let Some((kind, after)) = [
            "function* ",
            "function ",
            "class ",
            "const ",
            "let ",
            "var ",
            "interface ",
            "type ",
            "enum ",
        ]
        .iter()
        .find_map(|k| {
            rest.strip_prefix(k)
                .map(|a| (k.trim().trim_end_matches('*'), a))
        }) else {
            continue;
        };
        let name: String = after
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '$')
            .collect();
        if name.is_empty() {
            continue;
        }
        c.public += 1;
        let documented = lines[..i]
            .iter()
            .rev()
            .map(|l| l.trim())
            .find(|l| !l.is_empty() && !l.starts_with('@'))
            .is_some_and(|l| l.ends_with("*/"));
        if !documented {
            c.undocumented.push(missing(file, i, kind, &name));
        }
    }
    c
}

/// Go: exported (capitalised) `func` and `type` declarations with a `//` comment above.
pub(crate) fn go(file: &str, text: &str) -> DocCount {
    let mut c = DocCount::default();
    let lines: Vec<&str> = text.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        let rest = if let Some(r) = line.strip_prefix("func ") {
            // Methods: `func (r *T) Name(`.
            match r.strip_prefix('(') {
                Some(m) => m.split_once(')').map_or("", |(_, n)| n.trim_start()),
                None => r,
            }
        } else if let Some(r) = line.strip_prefix("type ") {
            r
        } else {
            continue;
        };
        let name: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if !name.starts_with(|c: char| c.is_ascii_uppercase()) {
            continue;
        }
        c.public += 1;
        let documented = i > 0 && lines[i - 1].trim_start().starts_with("//");
        if !documented {
            c.undocumented.push(missing(file, i, "item", &name));
        }
    }
    c
}

/// Whether a source file is a test, example or benchmark (not part of the public surface).
pub(crate) fn is_test_or_example(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    path.split('/').any(|s| {
        matches!(
            s,
            "tests" | "test" | "__tests__" | "benches" | "examples" | "testdata" | "spec"
        )
    }) || name.starts_with("test_")
        || name.ends_with("_test.py")
        || name.ends_with("_test.go")
        || name.contains(".test.")
        || name.contains(".spec.")
        || name == "build.rs"
        || name == "conftest.py"
        || name == "setup.py"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rust_items() {
        let c = rust(
            "src/lib.rs",
            "/// Adds.\npub fn add() {}\n#[derive(Debug)]\npub struct Bare;\n/// Doc\n#[derive(Clone)]\npub enum E {}\npub(crate) fn hidden() {}\n#[cfg(test)]\nmod tests {\n    pub fn t() {}\n}\npub fn after() {}\n",
        );
        assert_eq!(c.public, 4);
        assert_eq!(c.undocumented.len(), 2);
        assert!(
            c.undocumented[1].message.contains("after"),
            "items after the test module count"
        );
        assert!(c.undocumented[0].message.contains("Bare"));
    }

    #[test]
    fn python_def_lines_may_end_in_a_comment() {
        let text = "def add(a, b):  # the sum\n    \"\"\"Adds.\"\"\"\n    return a + b\n\n\nclass Calc:  # noqa: D101 \"x\"\n    '''A calculator.'''\n\n    def mul(self, a, b):  # type: ignore[no-untyped-def]\n        '''Multiplies.'''\n        return a * b\n\n\ndef tag(s='#'):  # hash default\n    \"\"\"Tags.\"\"\"\n    return s\n";
        let c = python("a.py", text);
        assert_eq!(c.public, 4);
        assert!(c.undocumented.is_empty(), "{:?}", c.undocumented);
        assert_eq!(python_code("x = '#not' # yes"), "x = '#not' ");
        assert_eq!(python_code(r##"s = "a\"#b" # c"##), r##"s = "a\"#b" "##);
    }

    #[test]
    fn python_items() {
        let c = python(
            "app/core.py",
            "def add(a, b):\n    \"\"\"Adds.\"\"\"\n    return a + b\n\ndef sub(a,\n        b):\n    return a - b\n\ndef _private():\n    pass\n\nclass Calc:\n    '''A calculator.'''\n    def mul(self, a, b):\n        return a * b\n    def _hidden(self):\n        pass\n",
        );
        assert_eq!(c.public, 4, "{c:?}");
        let names: Vec<&str> = c.undocumented.iter().map(|f| f.message.as_str()).collect();
        assert_eq!(names.len(), 2, "{names:?}");
        assert!(names[0].contains("sub") && names[1].contains("mul"));
    }

    #[test]
    fn javascript_and_go_items() {
        let c = javascript(
            "src/a.ts",
            "/** Adds. */\nexport function add() {}\nexport const x = 1;\n/**\n * Doc\n */\nexport class C {}\n",
        );
        assert_eq!((c.public, c.undocumented.len()), (3, 1));
        let c = go(
            "a.go",
            "// Add adds.\nfunc Add() {}\nfunc Sub() {}\nfunc (c *Calc) Mul() {}\nfunc private() {}\n",
        );
        assert_eq!((c.public, c.undocumented.len()), (3, 2));
    }
}
