//! Running the project's tools: bounded by a timeout, in their own process group (killed
//! whole on timeout), output captured. Identical commands within one gate run share one
//! execution, so `cargo check` feeds both syntax and types.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::AsyncReadExt;
use tokio::sync::OnceCell;

/// A command to run: program, arguments, extra environment, working directory.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CommandLine {
    /// The program (looked up in `PATH`).
    pub program: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// Extra environment variables.
    pub env: Vec<(String, String)>,
    /// Working directory.
    pub cwd: PathBuf,
}

impl CommandLine {
    /// `program args…` in `cwd`.
    pub fn new(cwd: &Path, program: &str, args: &[&str]) -> CommandLine {
        CommandLine {
            program: program.into(),
            args: args.iter().map(|a| (*a).to_owned()).collect(),
            env: Vec::new(),
            cwd: cwd.to_owned(),
        }
    }

    /// A shell command line (`sh -c`), for commands from the configuration.
    pub fn shell(cwd: &Path, line: &str) -> CommandLine {
        CommandLine::new(cwd, "sh", &["-c", line])
    }

    /// Adds arguments.
    pub fn args<I: IntoIterator<Item = S>, S: Into<String>>(mut self, args: I) -> CommandLine {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Adds an environment variable.
    pub fn env(mut self, key: &str, value: impl Into<String>) -> CommandLine {
        self.env.push((key.into(), value.into()));
        self
    }

    /// How it is shown in reports: the command as a person would type it.
    pub fn display(&self) -> String {
        if self.program == "sh" && self.args.first().map(String::as_str) == Some("-c") {
            return self.args[1..].join(" ");
        }
        let quote = |s: &str| {
            if s.contains('\n') {
                return "<script>".to_owned();
            }
            if s.is_empty() || s.contains(|c: char| c.is_whitespace() || "'\"$`\\*?".contains(c)) {
                format!("'{}'", s.replace('\'', "'\\''"))
            } else {
                s.to_owned()
            }
        };
        std::iter::once(self.program.as_str())
            .chain(self.args.iter().map(String::as_str))
            .map(quote)
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// What a command did.
#[derive(Debug, Clone)]
pub struct CommandOutput {
    /// Exit code; `None` when killed by a signal or the timeout.
    pub code: Option<i32>,
    /// Captured standard output (lossy UTF-8).
    pub stdout: String,
    /// Captured standard error (lossy UTF-8).
    pub stderr: String,
    /// Wall time.
    pub duration: Duration,
    /// Whether the timeout killed it.
    pub timed_out: bool,
}

impl CommandOutput {
    /// Exit code 0.
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }

    /// Standard output and error together.
    pub fn combined(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

/// Why a command could not run at all.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum CommandError {
    /// The program is not installed.
    #[error("`{program}` is not installed")]
    NotFound {
        /// The program.
        program: String,
    },
    /// Spawning failed for another reason.
    #[error("cannot run `{command}`: {message}")]
    Spawn {
        /// The command line.
        command: String,
        /// The OS error.
        message: String,
    },
}

/// One command's result, shared by everyone who asked for it.
type Shared = OnceCell<Result<CommandOutput, CommandError>>;

/// Runs commands for one gate run: bounded by `timeout`, identical commands run once.
#[derive(Debug, Clone)]
pub struct Runner {
    timeout: Duration,
    memo: Arc<Mutex<HashMap<CommandLine, Arc<Shared>>>>,
    /// Environment every command gets (before its own): where tools keep build output and
    /// caches, outside the tree being checked.
    base_env: Arc<Vec<(String, String)>>,
}

/// Output beyond this many bytes per stream is dropped: a runaway tool cannot exhaust memory.
const MAX_CAPTURE: usize = 16 * 1024 * 1024;

impl Runner {
    /// A runner whose commands are killed after `timeout`.
    pub fn new(timeout: Duration) -> Runner {
        Runner {
            timeout,
            memo: Arc::default(),
            base_env: Arc::default(),
        }
    }

    /// The same runner giving every command `env` first (a command's own variables win).
    pub fn with_env(mut self, env: Vec<(String, String)>) -> Runner {
        self.base_env = Arc::new(env);
        self
    }

    /// The per-command limit.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Runs `cmd`, or returns the output of the identical command already run.
    pub async fn run(&self, cmd: &CommandLine) -> Result<CommandOutput, CommandError> {
        let cell = {
            let mut memo = self.memo.lock().expect("runner memo poisoned");
            memo.entry(cmd.clone()).or_default().clone()
        };
        cell.get_or_init(|| run_once(cmd.clone(), self.timeout, Arc::clone(&self.base_env)))
            .await
            .clone()
    }
}

async fn run_once(
    cmd: CommandLine,
    timeout: Duration,
    base_env: Arc<Vec<(String, String)>>,
) -> Result<CommandOutput, CommandError> {
    let started = Instant::now();
    let mut command = tokio::process::Command::new(&cmd.program);
    command
        .args(&cmd.args)
        .current_dir(&cmd.cwd)
        // No bytecode beside the sources, unless the runner's environment says where it goes.
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .envs(base_env.iter().map(|(k, v)| (k, v)))
        .envs(cmd.env.iter().map(|(k, v)| (k, v)))
        // Tools must not ask questions or paint colours into what we parse.
        .env("CI", "1")
        .env("NO_COLOR", "1")
        .env("CARGO_TERM_COLOR", "never")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let mut child = command.spawn().map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            CommandError::NotFound {
                program: cmd.program.clone(),
            }
        } else {
            CommandError::Spawn {
                command: cmd.display(),
                message: e.to_string(),
            }
        }
    })?;
    let pgid = child.id().map(|id| id as i32);
    let mut stdout = child.stdout.take().expect("piped");
    let mut stderr = child.stderr.take().expect("piped");
    let read_out = async {
        let mut buf = Vec::new();
        let _ = (&mut stdout)
            .take(MAX_CAPTURE as u64)
            .read_to_end(&mut buf)
            .await;
        buf
    };
    let read_err = async {
        let mut buf = Vec::new();
        let _ = (&mut stderr)
            .take(MAX_CAPTURE as u64)
            .read_to_end(&mut buf)
            .await;
        buf
    };
    let work = async { tokio::join!(child.wait(), read_out, read_err) };
    match tokio::time::timeout(timeout, work).await {
        Ok((status, out, err)) => {
            // Whatever the tool left running in its group goes with it.
            kill_group(pgid);
            Ok(CommandOutput {
                code: status.ok().and_then(|s| s.code()),
                stdout: String::from_utf8_lossy(&out).into_owned(),
                stderr: String::from_utf8_lossy(&err).into_owned(),
                duration: started.elapsed(),
                timed_out: false,
            })
        }
        Err(_) => {
            kill_group(pgid);
            Ok(CommandOutput {
                code: None,
                stdout: String::new(),
                stderr: format!("killed after {}s", timeout.as_secs()),
                duration: started.elapsed(),
                timed_out: true,
            })
        }
    }
}

fn kill_group(pgid: Option<i32>) {
    if let Some(pgid) = pgid {
        let _ = nix::sys::signal::killpg(
            nix::unistd::Pid::from_raw(pgid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
}

/// Whether `program` is on `PATH` (or is a path to an executable file).
pub fn on_path(program: &str) -> bool {
    find_program(program).is_some()
}

/// The full path of `program` on `PATH`.
pub fn find_program(program: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let executable = |p: &Path| {
        p.metadata()
            .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
            .unwrap_or(false)
    };
    if program.contains('/') {
        let p = PathBuf::from(program);
        return executable(&p).then_some(p);
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(program))
        .find(|p| executable(p))
}
