//! Shared set-up: a temporary directory, a backend of each kind, process-table checks.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use orch_core::TaskId;
use orch_session::{
    ClaudeCode, CommandSpec, PoolConfig, ProcessBackend, SessionBackend, SessionPool, SpawnSpec,
    TmuxBackend, tmux_available,
};
use tempfile::TempDir;

pub const GRACE: Duration = Duration::from_millis(400);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Tmux,
    Process,
}

/// One test's world: a temporary directory (sessions, logs, a work dir) and a backend.
pub struct Env {
    pub kind: Kind,
    pub dir: TempDir,
    pub socket: String,
    pub backend: Arc<dyn SessionBackend>,
}

impl Env {
    /// `None` (with a notice) when tmux is wanted but missing and CI is not set.
    pub fn new(kind: Kind) -> Option<Env> {
        if kind == Kind::Tmux && !tmux_available() {
            assert!(
                std::env::var_os("CI").is_none(),
                "tmux is missing and CI is set: .ci/run must install it"
            );
            eprintln!("notice: skipping tmux case: tmux is not installed");
            return None;
        }
        let dir = tempfile::Builder::new()
            .prefix("orch-session-")
            .tempdir()
            .unwrap();
        std::fs::create_dir(dir.path().join("work")).unwrap();
        let socket = format!(
            "orch-test-{}",
            &uuid::Uuid::new_v4().simple().to_string()[..12]
        );
        let mut env = Env {
            kind,
            dir,
            socket,
            backend: Arc::new(ProcessBackend::new("/nonexistent")),
        };
        env.backend = env.open_backend();
        Some(env)
    }

    /// A fresh backend on the same sessions directory (and tmux socket): what an
    /// orchestrator opens after a restart.
    pub fn open_backend(&self) -> Arc<dyn SessionBackend> {
        match self.kind {
            Kind::Tmux => Arc::new(
                TmuxBackend::new(self.state_dir())
                    .with_socket(&self.socket)
                    .unwrap()
                    .with_kill_grace(GRACE),
            ),
            Kind::Process => Arc::new(ProcessBackend::new(self.state_dir()).with_kill_grace(GRACE)),
        }
    }

    pub fn orch_dir(&self) -> PathBuf {
        self.dir.path().join(".orch")
    }

    pub fn state_dir(&self) -> PathBuf {
        self.orch_dir().join("sessions")
    }

    pub fn work(&self) -> PathBuf {
        self.dir.path().join("work")
    }

    pub fn log(&self, name: &str) -> PathBuf {
        self.orch_dir().join("logs").join(format!("{name}.log"))
    }

    pub fn spec(&self, task: &str, argv: &[&str]) -> SpawnSpec {
        SpawnSpec::new(
            self.work(),
            CommandSpec::new(argv.iter().copied()),
            self.log(task),
        )
        .with_task(TaskId::new(task).unwrap())
    }

    pub fn pool(&self, config: PoolConfig) -> SessionPool {
        SessionPool::new(Arc::clone(&self.backend), config)
    }

    pub fn prompt(&self, text: &str) -> PathBuf {
        let path = self.dir.path().join("prompt.md");
        std::fs::write(&path, text).unwrap();
        path
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        if self.kind == Kind::Tmux {
            kill_tmux_server(&self.socket);
        }
    }
}

/// Stops a private tmux server and deletes its socket file (tmux leaves it behind).
pub fn kill_tmux_server(socket: &str) {
    let _ = std::process::Command::new("tmux")
        .args(["-L", socket, "kill-server"])
        .stderr(std::process::Stdio::null())
        .status();
    use std::os::unix::fs::MetadataExt;
    if let Ok(me) = std::fs::metadata("/proc/self") {
        let base = std::env::var("TMUX_TMPDIR").unwrap_or_else(|_| "/tmp".into());
        let _ = std::fs::remove_file(format!("{base}/tmux-{}/{socket}", me.uid()));
    }
}

/// The Claude Code adapter running the fake agent.
pub fn fake_claude() -> Arc<ClaudeCode> {
    Arc::new(ClaudeCode::with_program(
        orch_testutils::fake_agent_path().to_str().unwrap(),
    ))
}

/// Non-zombie processes of group `pgid`, from /proc.
pub fn group_members(pgid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let Some(close) = stat.rfind(')') else {
            continue;
        };
        let fields: Vec<&str> = stat[close + 2..].split_whitespace().collect();
        if fields.len() > 2 && fields[2] == pgid.to_string() && fields[0] != "Z" {
            out.push(pid);
        }
    }
    out
}

/// Whether `pid` runs (not a zombie).
pub fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rfind(')')
            .is_some_and(|c| !stat[c + 2..].starts_with('Z'))
    })
}

/// Polls `cond` up to `bound`.
pub async fn eventually(bound: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + bound;
    loop {
        if cond() {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Reads a pid written by the fake agent's `spawn_child` step.
pub async fn read_pid(path: &Path) -> u32 {
    let read = || {
        std::fs::read_to_string(path)
            .ok()?
            .trim()
            .parse::<u32>()
            .ok()
    };
    assert!(
        eventually(Duration::from_secs(5), || read().is_some()).await,
        "{} never written",
        path.display()
    );
    read().unwrap()
}

/// Generates `tmux::<case>` and `process::<case>` tests from `async fn <case>(env: Env)`.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod tmux {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(env) = $crate::support::Env::new($crate::support::Kind::Tmux) {
                        super::$name(env).await;
                    }
                }
            )*
        }
        mod process {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(env) = $crate::support::Env::new($crate::support::Kind::Process) {
                        super::$name(env).await;
                    }
                }
            )*
        }
    };
}
