//! The tmux backend: one tmux session per agent session on orch's own tmux server
//! (`tmux -L orch`), so the user's own tmux sessions are never touched and a human can
//! attach to watch an agent work.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::process::Command;

use crate::backend::{BoxFuture, DEFAULT_KILL_GRACE, SessionBackend};
use crate::error::SessionError;
use crate::procs;
use crate::registry::{Registry, now_ms, prepare_log};
use crate::shell::{Output, wrapper_script};
use crate::spec::{BackendKind, SessionHandle, SessionStatus, SpawnSpec};

/// The default tmux socket name: `tmux -L orch`.
pub const DEFAULT_SOCKET: &str = "orch";

/// Bound on one tmux client command.
const TMUX_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a "session exists" answer from tmux is trusted. The exit file is looked at on
/// every status call; tmux itself (a process per call) at most this often per session, so
/// a session that vanishes without an exit file is noticed this much later.
const LIVENESS_TTL: Duration = Duration::from_millis(250);

/// Sessions on a private tmux server.
///
/// Every tmux command runs with `-L <socket> -f /dev/null` and `SHELL=/bin/sh`, and the
/// server's `default-shell` is set to `/bin/sh`, so the wrapper script means the same
/// whatever the user's shell and tmux configuration are. Sessions carry the user options
/// `@orch_id` and `@orch_dir` (the sessions directory), visible with `tmux -L orch show -v`.
#[derive(Debug, Clone)]
pub struct TmuxBackend {
    registry: Registry,
    socket: String,
    grace: Duration,
    /// When tmux last said a session exists.
    seen_alive: Arc<Mutex<HashMap<String, Instant>>>,
}

impl TmuxBackend {
    /// A backend keeping its session files in `state_dir`, on socket `orch`.
    pub fn new(state_dir: impl Into<PathBuf>) -> TmuxBackend {
        TmuxBackend {
            registry: Registry::new(state_dir),
            socket: DEFAULT_SOCKET.to_owned(),
            grace: DEFAULT_KILL_GRACE,
            seen_alive: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    fn seen_alive(&self) -> std::sync::MutexGuard<'_, HashMap<String, Instant>> {
        self.seen_alive.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Uses another tmux socket name (tests use one per test). Only letters, digits, `-`
    /// and `_` are accepted.
    pub fn with_socket(mut self, socket: &str) -> Result<TmuxBackend, SessionError> {
        orch_core::validate_name("tmux socket", socket).map_err(|e| SessionError::InvalidSpec {
            problem: e.to_string(),
        })?;
        self.socket = socket.to_owned();
        Ok(self)
    }

    /// Sets the grace period between the signals of a kill.
    pub fn with_kill_grace(mut self, grace: Duration) -> TmuxBackend {
        self.grace = grace;
        self
    }

    /// The tmux socket name.
    pub fn socket(&self) -> &str {
        &self.socket
    }

    /// The sessions directory.
    pub fn state_dir(&self) -> &Path {
        self.registry.dir()
    }

    /// Stops this backend's tmux server and every session on it. For tests and
    /// `orch doctor`-style cleanup; a server shared by several repositories loses all.
    pub async fn kill_server(&self) -> Result<(), SessionError> {
        let out = self.tmux(&["kill-server"]).await?;
        if out.status.success() || no_server(&out.stderr) {
            Ok(())
        } else {
            Err(tmux_error("kill-server", &out))
        }
    }

    async fn tmux(&self, args: &[&str]) -> Result<std::process::Output, SessionError> {
        let mut cmd = Command::new("tmux");
        cmd.args(["-L", &self.socket, "-f", "/dev/null"])
            .args(args)
            .env("SHELL", "/bin/sh")
            .env_remove("TMUX")
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true);
        match tokio::time::timeout(TMUX_TIMEOUT, cmd.output()).await {
            Ok(Ok(out)) => Ok(out),
            Ok(Err(source)) => Err(SessionError::Spawn {
                program: "tmux".into(),
                source,
            }),
            Err(_) => Err(SessionError::Timeout {
                what: format!("tmux {}", args.first().unwrap_or(&"")),
                seconds: TMUX_TIMEOUT.as_secs(),
            }),
        }
    }

    async fn has_session(&self, name: &str) -> Result<bool, SessionError> {
        let target = format!("={name}");
        let out = self.tmux(&["has-session", "-t", &target]).await?;
        Ok(out.status.success())
    }

    async fn live_names(&self) -> Result<HashSet<String>, SessionError> {
        let out = self
            .tmux(&["list-sessions", "-F", "#{session_name}"])
            .await?;
        if !out.status.success() {
            if no_server(&out.stderr) {
                return Ok(HashSet::new());
            }
            return Err(tmux_error("list-sessions", &out));
        }
        Ok(String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_owned)
            .collect())
    }

    fn check(&self, handle: &SessionHandle) -> Result<(), SessionError> {
        if handle.backend != BackendKind::Tmux {
            return Err(SessionError::WrongBackend {
                name: handle.name.clone(),
                expected: "tmux",
                actual: handle.backend.as_str(),
            });
        }
        Ok(())
    }

    async fn do_spawn(&self, spec: &SpawnSpec) -> Result<SessionHandle, SessionError> {
        spec.check()?;
        if !spec.cwd.is_dir() {
            return Err(SessionError::InvalidSpec {
                problem: format!("working directory {} does not exist", spec.cwd.display()),
            });
        }
        let name = spec.session_name();
        self.registry.ensure_dir()?;
        let exit_path = self.registry.exit_path(&name);
        let script = wrapper_script(
            &spec.command,
            &spec.cwd,
            &exit_path,
            Output::Tee(&spec.log_path),
            spec.log_limit,
        )?;
        drop(prepare_log(&spec.log_path)?);
        let cwd = spec.cwd.to_str().ok_or_else(|| SessionError::InvalidSpec {
            problem: format!("path {} is not valid UTF-8", spec.cwd.display()),
        })?;
        let mut handle = SessionHandle {
            id: spec.id,
            name: name.clone(),
            task: spec.task.clone(),
            backend: BackendKind::Tmux,
            pid: None,
            cwd: spec.cwd.clone(),
            log_path: spec.log_path.clone(),
            program: spec.command.argv[0].clone(),
            started_at_ms: now_ms(),
            tmux_socket: Some(self.socket.clone()),
            pid_start_ticks: None,
        };
        // Recorded before the start, so a crash right after it still finds the session.
        self.registry.write(&handle)?;

        // A pane target (`=NAME:`): set-option and display-message take one.
        let target = format!("={name}:");
        let id = spec.id.to_string();
        let dir = self.registry.dir().to_string_lossy().into_owned();
        let env: Vec<String> = spec
            .command
            .env
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let mut args: Vec<&str> = vec![
            "set-option",
            "-g",
            "default-shell",
            "/bin/sh",
            ";",
            "new-session",
            "-d",
            "-s",
            &name,
            "-c",
            cwd,
            "-P",
            "-F",
            "#{pane_pid}",
        ];
        for e in &env {
            args.extend(["-e", e.as_str()]);
        }
        args.push(&script);
        // Same client call, so no second round trip; if the agent is already gone these
        // fail harmlessly (the pid printed above tells that the session started).
        args.extend([
            ";",
            "set-option",
            "-t",
            &target,
            "@orch_id",
            &id,
            ";",
            "set-option",
            "-t",
            &target,
            "@orch_dir",
            &dir,
        ]);
        // A server whose last session just ended is on its way out and may drop a new
        // client ("server exited unexpectedly"); nothing was created then, so try again.
        let mut attempt = 0;
        let pid = loop {
            attempt += 1;
            let out = match self.tmux(&args).await {
                Ok(out) => out,
                Err(e) => {
                    let _ = self.registry.remove(&name);
                    return Err(e);
                }
            };
            let pid = String::from_utf8_lossy(&out.stdout)
                .lines()
                .next()
                .and_then(|l| l.trim().parse::<u32>().ok());
            if let Some(pid) = pid {
                break pid;
            }
            let stderr = String::from_utf8_lossy(&out.stderr);
            if stderr.contains("duplicate session") {
                // An earlier attempt did create it after all.
                if let Some(pid) = self.pane_pid(&handle).await {
                    break pid;
                }
            }
            if !no_server(&out.stderr) || attempt >= 5 {
                let _ = self.registry.remove(&name);
                return Err(tmux_error("new-session", &out));
            }
            tokio::time::sleep(Duration::from_millis(10 * attempt)).await;
        };
        // tmux prints the pane's pid right after fork; the child makes itself a process
        // group leader a moment later. Until then a group kill would miss it, so wait
        // (bounded) for the group to exist, or for the process to be gone already.
        for _ in 0..200 {
            if procs::group_alive(pid) || !procs::process_alive(pid, None) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        handle.pid = Some(pid);
        self.registry.write(&handle)?;
        tracing::debug!(session = %name, pid, socket = %self.socket, "tmux session started");
        Ok(handle)
    }

    async fn do_status(&self, handle: &SessionHandle) -> Result<SessionStatus, SessionError> {
        self.check(handle)?;
        if self.registry.exit_status(&handle.name)?.is_some() {
            return self.registry.final_status(&handle.name);
        }
        let recently_alive = self
            .seen_alive()
            .get(&handle.name)
            .is_some_and(|t| t.elapsed() < LIVENESS_TTL);
        if recently_alive {
            return Ok(SessionStatus::Running);
        }
        if self.has_session(&handle.name).await? {
            self.seen_alive()
                .insert(handle.name.clone(), Instant::now());
            return Ok(SessionStatus::Running);
        }
        self.seen_alive().remove(&handle.name);
        // It may have ended between the two looks.
        self.registry.final_status(&handle.name)
    }

    async fn pane_pid(&self, handle: &SessionHandle) -> Option<u32> {
        if handle.pid.is_some() {
            return handle.pid;
        }
        let target = format!("={}:", handle.name);
        let out = self
            .tmux(&["display-message", "-p", "-t", &target, "#{pane_pid}"])
            .await
            .ok()?;
        String::from_utf8_lossy(&out.stdout).trim().parse().ok()
    }

    async fn do_kill(&self, handle: &SessionHandle) -> Result<(), SessionError> {
        self.check(handle)?;
        if self.has_session(&handle.name).await? {
            self.registry.mark_killed(&handle.name);
            if let Some(pgid) = self.pane_pid(handle).await {
                procs::stop_group(pgid, self.grace, || {}).await;
            }
            let target = format!("={}", handle.name);
            // Normally gone already, since its shell ended.
            let _ = self.tmux(&["kill-session", "-t", &target]).await;
        }
        self.seen_alive().remove(&handle.name);
        Ok(())
    }

    async fn do_cleanup(&self, handle: &SessionHandle) -> Result<(), SessionError> {
        self.check(handle)?;
        self.do_kill(handle).await?;
        if let Some(pgid) = handle.pid
            && procs::group_alive(pgid)
        {
            procs::stop_group(pgid, self.grace, || {}).await;
        }
        self.registry.remove(&handle.name)
    }

    async fn do_list(&self) -> Result<Vec<SessionHandle>, SessionError> {
        let live = self.live_names().await?;
        let mut out = Vec::new();
        for handle in self.registry.all(Some(BackendKind::Tmux)) {
            if handle.tmux_socket.as_deref().unwrap_or(DEFAULT_SOCKET) != self.socket {
                continue;
            }
            if live.contains(&handle.name) || self.registry.exit_status(&handle.name)?.is_some() {
                out.push(handle);
            }
        }
        Ok(out)
    }
}

impl SessionBackend for TmuxBackend {
    fn kind(&self) -> BackendKind {
        BackendKind::Tmux
    }

    fn spawn<'a>(
        &'a self,
        spec: &'a SpawnSpec,
    ) -> BoxFuture<'a, Result<SessionHandle, SessionError>> {
        Box::pin(self.do_spawn(spec))
    }

    fn status<'a>(
        &'a self,
        handle: &'a SessionHandle,
    ) -> BoxFuture<'a, Result<SessionStatus, SessionError>> {
        Box::pin(self.do_status(handle))
    }

    fn kill<'a>(&'a self, handle: &'a SessionHandle) -> BoxFuture<'a, Result<(), SessionError>> {
        Box::pin(self.do_kill(handle))
    }

    fn list(&self) -> BoxFuture<'_, Result<Vec<SessionHandle>, SessionError>> {
        Box::pin(self.do_list())
    }

    fn attach_command(&self, handle: &SessionHandle) -> Option<Vec<String>> {
        let socket = handle.tmux_socket.as_deref().unwrap_or(&self.socket);
        Some(vec![
            "tmux".into(),
            "-L".into(),
            socket.into(),
            "attach-session".into(),
            "-t".into(),
            format!("={}", handle.name),
        ])
    }

    fn cleanup<'a>(&'a self, handle: &'a SessionHandle) -> BoxFuture<'a, Result<(), SessionError>> {
        Box::pin(self.do_cleanup(handle))
    }
}

/// The server is not running, or exited while the client talked to it (it does when its
/// last session ends).
fn no_server(stderr: &[u8]) -> bool {
    let text = String::from_utf8_lossy(stderr);
    [
        "no server running",
        "error connecting to",
        "server exited unexpectedly",
        "lost server",
    ]
    .iter()
    .any(|m| text.contains(m))
}

fn tmux_error(command: &str, out: &std::process::Output) -> SessionError {
    SessionError::Tmux {
        command: command.to_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
    }
}
