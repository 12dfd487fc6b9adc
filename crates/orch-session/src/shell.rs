//! The wrapper shell script both backends run: it records the agent's exit status in a file
//! (written atomically, after all output reached the log) so the result survives an
//! orchestrator crash. Every value is single-quoted; nothing from a plan reaches the shell
//! unquoted.

use std::path::Path;

use crate::error::SessionError;
use crate::spec::{CommandSpec, Stdin};

/// Quotes `value` as one POSIX shell word: `'…'`, with `'` written as `'\''`.
pub(crate) fn quote(value: &str) -> Result<String, SessionError> {
    if value.contains('\0') {
        return Err(SessionError::InvalidSpec {
            problem: format!("{:?} contains a NUL byte", value.escape_debug().to_string()),
        });
    }
    Ok(format!("'{}'", value.replace('\'', r"'\''")))
}

fn quote_path(path: &Path) -> Result<String, SessionError> {
    let text = path.to_str().ok_or_else(|| SessionError::InvalidSpec {
        problem: format!("path {} is not valid UTF-8", path.display()),
    })?;
    quote(text)
}

/// Checks an environment variable name: `[A-Za-z_][A-Za-z0-9_]*`.
pub(crate) fn check_env(command: &CommandSpec) -> Result<(), SessionError> {
    for (name, value) in &command.env {
        let valid = !name.is_empty()
            && !name.starts_with(|c: char| c.is_ascii_digit())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err(SessionError::InvalidSpec {
                problem: format!("environment variable name {name:?} is not valid"),
            });
        }
        if value.contains('\0') {
            return Err(SessionError::InvalidSpec {
                problem: format!("environment variable {name} contains a NUL byte"),
            });
        }
    }
    Ok(())
}

/// Where the wrapper sends the agent's output.
#[derive(Clone, Copy)]
pub(crate) enum Output<'a> {
    /// The wrapper's own stdout/stderr already go to the log (process backend).
    Inherit,
    /// Copy everything to the log with `tee -a` and to the terminal (tmux backend, so a human
    /// who attaches sees the agent).
    Tee(&'a Path),
}

/// Builds the wrapper script.
///
/// The wrapper and its subshell trap INT, TERM and HUP with a no-op, so they outlive a
/// signal long enough to record the agent's status (a trapped signal waits for the
/// foreground command to finish); the agent itself gets the default dispositions back. The
/// `tee` ignores those signals, so it copies the agent's last words before it exits on
/// end of input. The status goes to `<exit>.tmp` and is renamed to `<exit>` only after the
/// pipeline finished, so an exit file means the log is complete.
pub(crate) fn wrapper_script(
    command: &CommandSpec,
    cwd: &Path,
    exit_path: &Path,
    output: Output<'_>,
    log_limit: Option<u64>,
) -> Result<String, SessionError> {
    if command.argv.is_empty() || command.argv[0].is_empty() {
        return Err(SessionError::InvalidSpec {
            problem: "the command is empty".into(),
        });
    }
    check_env(command)?;
    let argv = command
        .argv
        .iter()
        .map(|a| quote(a))
        .collect::<Result<Vec<_>, _>>()?
        .join(" ");
    let stdin = match &command.stdin {
        Stdin::Null => "/dev/null".to_owned(),
        Stdin::File(path) => quote_path(path)?,
    };
    let tmp = quote_path(&exit_path.with_extension("exit.tmp"))?;
    let exit = quote_path(exit_path)?;
    let cwd = quote_path(cwd)?;
    let traps = "trap : INT TERM HUP";
    let run = format!("{traps}; {argv} <{stdin}; echo $? >{tmp}");
    // The log's bound: `dd` with a byte count passes each read on at once (no stdio
    // buffer, so the log stays live) and never reads past its limit; the rest is only
    // counted, so the agent is never blocked or killed by it.
    let cap = match log_limit {
        Some(limit) => format!(
            " | {{ trap '' INT TERM HUP; dd bs=65536 count={limit} iflag=count_bytes 2>/dev/null; n=$(wc -c | tr -d ' '); [ \"$n\" = 0 ] || printf '\\n[orch: the log reached its limit of {limit} bytes; %s more bytes were not kept]\\n' \"$n\"; }}"
        ),
        None => String::new(),
    };
    let body = match output {
        Output::Inherit => format!("{{ {run}; }} 2>&1{cap}"),
        Output::Tee(log) => format!(
            "{{ {run}; }} 2>&1{cap} | {{ trap '' INT TERM HUP; exec tee -a {}; }}",
            quote_path(log)?
        ),
    };
    Ok(format!(
        "{traps}\ncd {cwd} || exit 126\n{body}\nmv -f {tmp} {exit}\n"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;
    use std::process::Command;

    #[test]
    fn quoting_is_one_word() {
        assert_eq!(quote("abc").unwrap(), "'abc'");
        assert_eq!(quote("it's").unwrap(), r"'it'\''s'");
        assert!(quote("a\0b").is_err());
        for nasty in [
            "$(touch x)",
            "`id`",
            "a b\nc",
            "'; rm -rf / #",
            "\\",
            "\"",
            "*",
        ] {
            let out = Command::new("sh")
                .arg("-c")
                .arg(format!("printf %s {}", quote(nasty).unwrap()))
                .output()
                .unwrap();
            assert_eq!(String::from_utf8(out.stdout).unwrap(), nasty);
        }
    }

    #[test]
    fn env_names_are_checked() {
        assert!(check_env(&CommandSpec::new(["x"]).env("GOOD_1", "v")).is_ok());
        for bad in ["", "1X", "A-B", "A B", "A=B", "$X"] {
            assert!(
                check_env(&CommandSpec::new(["x"]).env(bad, "v")).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn script_records_status_and_output() {
        let dir = tempfile::tempdir().unwrap();
        let exit = dir.path().join("s.exit");
        let log = dir.path().join("s.log");
        let cmd = CommandSpec::new(["sh", "-c", "echo out; echo err >&2; exit 3"]);
        let script = wrapper_script(&cmd, dir.path(), &exit, Output::Tee(&log), None).unwrap();
        let status = Command::new("sh").arg("-c").arg(&script).output().unwrap();
        assert!(status.status.success(), "{script}");
        assert_eq!(std::fs::read_to_string(&exit).unwrap().trim(), "3");
        assert_eq!(std::fs::read_to_string(&log).unwrap(), "out\nerr\n");
        assert!(!dir.path().join("s.exit.tmp").exists());
    }

    #[test]
    fn the_log_keeps_its_limit_and_says_what_it_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let exit = dir.path().join("s.exit");
        let log = dir.path().join("s.log");
        // 100,000 bytes of output, one line, through a 1,000-byte limit.
        let cmd = CommandSpec::new([
            "sh",
            "-c",
            "head -c 100000 /dev/zero | tr '\\0' x; echo; exit 4",
        ]);
        for output in [Output::Tee(&log), Output::Inherit] {
            let _ = std::fs::remove_file(&log);
            let script = wrapper_script(&cmd, dir.path(), &exit, output, Some(1000)).unwrap();
            let mut run = Command::new("sh");
            run.arg("-c").arg(&script);
            if matches!(output, Output::Inherit) {
                let file = std::fs::File::create(&log).unwrap();
                run.stdout(file.try_clone().unwrap()).stderr(file);
            }
            assert!(run.status().unwrap().success());
            assert_eq!(std::fs::read_to_string(&exit).unwrap().trim(), "4");
            let text = std::fs::read_to_string(&log).unwrap();
            assert!(text.starts_with(&"x".repeat(1000)), "{}", &text[..50]);
            assert!(
                text.ends_with("[orch: the log reached its limit of 1000 bytes; 99001 more bytes were not kept]\n"),
                "{}",
                &text[1000..]
            );
        }
    }

    #[test]
    fn empty_command_is_refused() {
        let err = wrapper_script(
            &CommandSpec::default(),
            Path::new("/"),
            &PathBuf::from("/tmp/x.exit"),
            Output::Inherit,
            None,
        )
        .unwrap_err();
        assert!(err.to_string().contains("empty"));
    }
}
