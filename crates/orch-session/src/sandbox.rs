//! Running an agent in a sandbox: bubblewrap (`bwrap`, the mechanism Claude Code's own
//! sandbox uses on Linux) with its own PID namespace, so nothing the agent starts
//! (`setsid`, `nohup`, a daemon) outlives its session: when the agent's first process ends,
//! the kernel ends every process of the namespace. The host is read-only; the workspace,
//! a private `/tmp` and the agent CLI's own state directories are writable; directories
//! such as orch's state are hidden behind an empty tmpfs; the network stays on (agents call
//! their APIs).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::spec::CommandSpec;

/// Which sandbox sessions run in (`[run] sandbox`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SandboxMode {
    /// bubblewrap when it is installed and works here, else none (with a warning).
    #[default]
    Auto,
    /// bubblewrap, or refuse to run.
    Bwrap,
    /// No sandbox: the agent runs as you, with everything you can reach.
    None,
}

impl SandboxMode {
    /// `auto`, `bwrap` or `none`.
    pub fn parse(text: &str) -> Option<SandboxMode> {
        match text {
            "auto" => Some(SandboxMode::Auto),
            "bwrap" | "bubblewrap" => Some(SandboxMode::Bwrap),
            "none" | "off" => Some(SandboxMode::None),
            _ => None,
        }
    }
}

/// Whether bubblewrap can run here: the program, and a trial run with a PID namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BwrapProbe {
    /// It works; the program's path.
    Works(PathBuf),
    /// It does not; why (not installed, or user namespaces are off, …).
    Unavailable(String),
}

/// Probes bubblewrap once per process (a trial `bwrap … true`).
pub fn probe_bwrap() -> BwrapProbe {
    static PROBE: OnceLock<BwrapProbe> = OnceLock::new();
    PROBE
        .get_or_init(|| {
            let Some(program) = find_on_path("bwrap") else {
                return BwrapProbe::Unavailable(
                    "bubblewrap is not installed (apt-get install bubblewrap)".into(),
                );
            };
            let trial = std::process::Command::new(&program)
                .args([
                    "--ro-bind",
                    "/",
                    "/",
                    "--dev",
                    "/dev",
                    "--proc",
                    "/proc",
                    "--unshare-pid",
                    "--die-with-parent",
                    "--",
                    "true",
                ])
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .output();
            match trial {
                Ok(out) if out.status.success() => BwrapProbe::Works(program),
                Ok(out) => BwrapProbe::Unavailable(format!(
                    "bubblewrap cannot create namespaces here: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                )),
                Err(e) => BwrapProbe::Unavailable(format!("cannot run bwrap: {e}")),
            }
        })
        .clone()
}

fn find_on_path(program: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(program))
        .find(|p| {
            p.metadata()
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// A bubblewrap sandbox: what is hidden, what stays readable, what is writable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sandbox {
    program: PathBuf,
    hidden: Vec<PathBuf>,
    readable: Vec<PathBuf>,
    writable: Vec<PathBuf>,
}

impl Sandbox {
    /// A sandbox run by the bubblewrap at `program`: read-only host, private `/tmp`, the
    /// session's working directory writable, nothing hidden yet.
    pub fn bwrap(program: impl Into<PathBuf>) -> Sandbox {
        Sandbox {
            program: program.into(),
            hidden: Vec::new(),
            readable: Vec::new(),
            writable: Vec::new(),
        }
    }

    /// Hides `dir` behind an empty tmpfs (orch's state, keys, other secrets).
    pub fn hide(mut self, dir: impl Into<PathBuf>) -> Sandbox {
        self.hidden.push(dir.into());
        self
    }

    /// Keeps `path` readable even inside a hidden directory or under `/tmp` (the main
    /// repository's object database, the instruction file).
    pub fn readable(mut self, path: impl Into<PathBuf>) -> Sandbox {
        self.readable.push(path.into());
        self
    }

    /// Makes `path` writable when it exists (an agent CLI's own state: `~/.claude`, …).
    pub fn writable(mut self, path: impl Into<PathBuf>) -> Sandbox {
        self.writable.push(path.into());
        self
    }

    /// What the configured command itself needs to read, though it lies in the private
    /// `/tmp` or a hidden directory: the program, the files named on its command line (a
    /// script, a replay file) and, under `/tmp`, their directories and `PATH` entries.
    /// These come from orch's configuration, never from the agent, so showing them
    /// read-only gives the agent nothing it was not started with.
    fn needed_by(&self, command: &CommandSpec) -> Vec<PathBuf> {
        let tmp = Path::new("/tmp");
        let hidden = |p: &Path| self.hidden.iter().any(|h| p.starts_with(h));
        let masked = |p: &Path| p.starts_with(tmp) || hidden(p);
        let path_var = command
            .env
            .iter()
            .rev()
            .find(|(k, _)| k == "PATH")
            .map(|(_, v)| std::ffi::OsString::from(v))
            .or_else(|| std::env::var_os("PATH"))
            .unwrap_or_default();
        let mut out: Vec<PathBuf> = Vec::new();
        let mut expose = |p: &Path| {
            if !masked(p) || !p.exists() {
                return;
            }
            // Under /tmp a script may read what lies beside it; in a hidden directory only
            // the file itself is shown.
            let shown = if !hidden(p) && p.is_file() {
                p.parent().unwrap_or(p).to_owned()
            } else {
                p.to_owned()
            };
            if !out.contains(&shown) {
                out.push(shown);
            }
        };
        for (i, arg) in command.argv.iter().enumerate() {
            let arg_path = Path::new(arg);
            let candidates: Vec<PathBuf> = if arg_path.is_absolute() {
                vec![arg_path.to_owned()]
            } else if i == 0 && !arg.contains('/') {
                std::env::split_paths(&path_var)
                    .map(|d| d.join(arg))
                    .filter(|p| p.is_file())
                    .take(1)
                    .collect()
            } else {
                Vec::new()
            };
            for candidate in candidates {
                expose(&candidate);
                if let Ok(real) = candidate.canonicalize()
                    && real != candidate
                {
                    expose(&real);
                }
            }
        }
        for dir in std::env::split_paths(&path_var) {
            if dir.starts_with(tmp) && !hidden(&dir) {
                expose(&dir);
            }
        }
        out
    }

    /// `command` run inside the sandbox with `cwd` (the workspace) writable. The returned
    /// command starts bubblewrap; its environment and standard input are the same.
    pub fn wrap(&self, command: &CommandSpec, cwd: &Path) -> CommandSpec {
        let p = |path: &Path| path.to_string_lossy().into_owned();
        let mut argv: Vec<String> = vec![
            p(&self.program),
            "--die-with-parent".into(),
            "--new-session".into(),
            "--unshare-pid".into(),
            "--unshare-ipc".into(),
            "--unshare-uts".into(),
            "--unshare-cgroup-try".into(),
            "--ro-bind".into(),
            "/".into(),
            "/".into(),
            "--dev".into(),
            "/dev".into(),
            "--proc".into(),
            "/proc".into(),
            "--tmpfs".into(),
            "/tmp".into(),
        ];
        for dir in &self.hidden {
            argv.extend(["--tmpfs".into(), p(dir)]);
        }
        for path in self.readable.iter().chain(self.needed_by(command).iter()) {
            argv.extend(["--ro-bind-try".into(), p(path), p(path)]);
        }
        for path in &self.writable {
            argv.extend(["--bind-try".into(), p(path), p(path)]);
        }
        argv.extend(["--bind".into(), p(cwd), p(cwd), "--chdir".into(), p(cwd)]);
        argv.push("--".into());
        argv.extend(command.argv.iter().cloned());
        CommandSpec {
            argv,
            env: command.env.clone(),
            stdin: command.stdin.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_parse() {
        assert_eq!(SandboxMode::parse("auto"), Some(SandboxMode::Auto));
        assert_eq!(SandboxMode::parse("bwrap"), Some(SandboxMode::Bwrap));
        assert_eq!(SandboxMode::parse("none"), Some(SandboxMode::None));
        assert_eq!(SandboxMode::parse("docker"), None);
    }

    #[test]
    fn the_workspace_is_bound_last_and_the_command_follows_the_separator() {
        let sandbox = Sandbox::bwrap("/usr/bin/bwrap")
            .hide("/repo/.orch")
            .readable("/repo/.orch/instructions/T.md")
            .writable("/home/u/.claude");
        let wrapped = sandbox.wrap(
            &CommandSpec::new(["claude", "-p", "--", "x"]).env("A", "1"),
            Path::new("/repo/.worktrees/T"),
        );
        let argv = wrapped.argv.join(" ");
        assert!(
            argv.starts_with("/usr/bin/bwrap --die-with-parent"),
            "{argv}"
        );
        let hide = argv.find("--tmpfs /repo/.orch").unwrap();
        let read = argv
            .find("--ro-bind-try /repo/.orch/instructions/T.md")
            .unwrap();
        let bind = argv.find("--bind /repo/.worktrees/T").unwrap();
        assert!(hide < read && read < bind, "{argv}");
        assert!(argv.ends_with("-- claude -p -- x"), "{argv}");
        assert_eq!(wrapped.env, vec![("A".to_owned(), "1".to_owned())]);
    }

    #[test]
    fn what_the_command_names_stays_readable_but_hidden_directories_stay_hidden() {
        let dir = tempfile::Builder::new()
            .prefix("orch-sb-")
            .tempdir_in("/tmp")
            .unwrap();
        let scripts = dir.path().join("scripts");
        let orch = dir.path().join("repo/.orch");
        std::fs::create_dir_all(&scripts).unwrap();
        std::fs::create_dir_all(&orch).unwrap();
        std::fs::write(scripts.join("agent.sh"), "echo hi").unwrap();
        std::fs::write(orch.join("replay.json"), "{}").unwrap();
        let sandbox = Sandbox::bwrap("/usr/bin/bwrap").hide(&orch);
        let command = CommandSpec::new([
            "sh".to_owned(),
            scripts.join("agent.sh").display().to_string(),
            orch.join("replay.json").display().to_string(),
        ]);
        let needed = sandbox.needed_by(&command);
        assert!(needed.contains(&scripts), "{needed:?}");
        assert!(needed.contains(&orch.join("replay.json")), "{needed:?}");
        assert!(!needed.contains(&orch), "{needed:?}");
    }
}
