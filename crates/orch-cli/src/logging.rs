//! Logging: the `tracing` subscriber of the `orch` binary.
//!
//! One registry with two layers:
//!
//! - **stderr**, never stdout (so `--json` output stays one JSON document): what `RUST_LOG`
//!   asks for when it is set; otherwise `warn`, with orch's own crates (targets starting with
//!   `orch`) raised to info, debug or trace by `-v`, `-vv`, `-vvv`, and everything lowered to
//!   `error` by `-q`. Colours only when stderr is a terminal and `NO_COLOR` is not set.
//! - **the run log**, a file open only while a run goes ([`RunLog`], started by `orch run`, the
//!   detached run and `orch demo`): `.orch/logs/run-<UTC time>.trace.log`, orch's crates at
//!   debug (trace with `-vvv`) plus whatever stderr shows, other crates at warn. It is capped
//!   at [`RUN_LOG_CAP`] bytes: past that one line says where it was cut and later lines are
//!   dropped. The `.trace.log` suffix keeps it apart from `run-<UTC time>.log`, the output of
//!   `orch run --detach`; a detached run's trace log takes that file's name
//!   (`run-T.log` → `run-T.trace.log`).

use std::io::{self, IsTerminal as _, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};

use tracing::Metadata;
use tracing::subscriber::Interest;
use tracing_subscriber::filter::{EnvFilter, FilterExt as _, LevelFilter};
use tracing_subscriber::layer::{Context, Filter, Layer, SubscriberExt as _};
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{Registry, fmt};

/// The size at which a run log is cut (50 MiB).
pub const RUN_LOG_CAP: u64 = 50 * 1024 * 1024;

/// Set by `orch run --detach` on the run it starts: the path of that run's output log, whose
/// name the run's trace log then shares (`run-T.log` → `run-T.trace.log`).
pub const DETACHED_LOG_ENV: &str = "ORCH_DETACHED_LOG";

/// The prefix of the targets of orch's own crates (`orch`, `orch_engine`, `orch_session`…).
const ORCH_TARGETS: &str = "orch";

/// What the command line asks of the logs (`-v` counted, `-q`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Verbosity {
    /// How many `-v`.
    pub verbose: u8,
    /// `-q`.
    pub quiet: bool,
}

impl Verbosity {
    /// The stderr filter when `RUST_LOG` is not set.
    fn stderr_directives(self) -> String {
        if self.quiet {
            return "error".to_owned();
        }
        match self.verbose {
            0 => "warn".to_owned(),
            1 => format!("warn,{ORCH_TARGETS}=info"),
            2 => format!("warn,{ORCH_TARGETS}=debug"),
            _ => format!("warn,{ORCH_TARGETS}=trace"),
        }
    }

    /// The run log's own filter (stderr's is added to it): debug, or trace at `-vvv`.
    fn file_directives(self) -> String {
        let level = if self.verbose >= 3 { "trace" } else { "debug" };
        format!("warn,{ORCH_TARGETS}={level}")
    }
}

/// Installs the subscriber for this process. `RUST_LOG`, when set and not empty, wins over the
/// flags; an invalid one is reported and the flags are used instead.
pub fn init(verbosity: Verbosity) {
    let rust_log = std::env::var("RUST_LOG")
        .ok()
        .filter(|v| !v.trim().is_empty());
    let from_env = |value: &str| EnvFilter::builder().parse(value);
    let env_filter = match rust_log.as_deref().map(from_env) {
        Some(Ok(filter)) => Some(filter),
        Some(Err(e)) => {
            eprintln!("warning: RUST_LOG ignored ({e}); using -v/-q");
            None
        }
        None => None,
    };
    let with_env = env_filter.is_some();
    let stderr_filter = env_filter.unwrap_or_else(|| {
        EnvFilter::builder()
            .parse(verbosity.stderr_directives())
            .expect("valid directives")
    });
    let file_base = EnvFilter::builder()
        .parse(verbosity.file_directives())
        .expect("valid directives");
    // The file shows at least what stderr shows: its own levels, or RUST_LOG's where higher
    // (the flags' levels on stderr never are).
    let file_filter: Box<dyn Filter<Registry> + Send + Sync> =
        match rust_log.as_deref().map(from_env) {
            Some(Ok(env)) => Box::new(file_base.or(env)),
            _ => Box::new(file_base),
        };

    let ansi = io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    // Times help once there is more than a warning now and then.
    let stderr_layer = fmt::layer()
        .with_writer(io::stderr)
        .with_ansi(ansi)
        .with_target(true);
    let stderr_layer: Box<dyn Layer<Registry> + Send + Sync> = if with_env || verbosity.verbose >= 2
    {
        stderr_layer.with_filter(stderr_filter).boxed()
    } else {
        stderr_layer
            .without_time()
            .with_filter(stderr_filter)
            .boxed()
    };
    let file_layer = fmt::layer()
        .with_writer(|| RunLogWriter)
        .with_ansi(false)
        .with_target(true)
        .with_filter(WhileRunLogOpen(file_filter))
        .boxed();
    // Fails only when a subscriber is already installed, which `main` never does.
    let _ = tracing_subscriber::registry()
        .with(vec![stderr_layer, file_layer])
        .try_init();
}

/// Whether a run log is open (checked on every event the file layer would take).
static RUN_LOG_OPEN: AtomicBool = AtomicBool::new(false);

/// The open run log, if any.
static RUN_LOG: Mutex<Option<Bounded<std::fs::File>>> = Mutex::new(None);

/// The per-run log file, open from [`RunLog::start`] until this is dropped.
#[derive(Debug)]
pub struct RunLog {
    path: PathBuf,
}

impl RunLog {
    /// Creates `logs/run-<UTC time>.trace.log` and sends the file layer's lines there. A log
    /// that cannot be created is a warning, never a reason not to run.
    pub fn start(logs: &Path) -> Option<RunLog> {
        let detached = std::env::var_os(DETACHED_LOG_ENV).map(PathBuf::from);
        let (path, file) = match create(logs, detached.as_deref()) {
            Ok(created) => created,
            Err(e) => {
                tracing::warn!(dir = %logs.display(), error = %e, "cannot create the run log");
                return None;
            }
        };
        *RUN_LOG.lock().unwrap_or_else(PoisonError::into_inner) =
            Some(Bounded::new(file, RUN_LOG_CAP));
        RUN_LOG_OPEN.store(true, Ordering::Release);
        tracing::info!("run log: {}", path.display());
        Some(RunLog { path })
    }
}

impl Drop for RunLog {
    fn drop(&mut self) {
        tracing::debug!(path = %self.path.display(), "run log closed");
        RUN_LOG_OPEN.store(false, Ordering::Release);
        if let Some(mut log) = RUN_LOG
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            let _ = log.out.flush();
        }
    }
}

/// Creates the run log: the detached output log's twin when there is one in `logs`, else
/// `run-<UTC time>.trace.log`, with `-N` before the suffix if that name is taken.
fn create(logs: &Path, detached: Option<&Path>) -> io::Result<(PathBuf, std::fs::File)> {
    std::fs::create_dir_all(logs)?;
    let open = |path: &Path| {
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
    };
    if let Some(twin) = detached.and_then(|d| twin_name(logs, d)) {
        let path = logs.join(twin);
        if let Ok(file) = open(&path) {
            return Ok((path, file));
        }
    }
    create_stamped(logs, "trace.log")
}

/// Creates `run-<UTC time>.<suffix>` in `dir` (made if missing), with `-N` before the
/// suffix when that name is taken: the detached run's output log and the trace log of a run
/// are named alike, so that one run's files sort together.
pub(crate) fn create_stamped(dir: &Path, suffix: &str) -> io::Result<(PathBuf, std::fs::File)> {
    std::fs::create_dir_all(dir)?;
    let format = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    let stamp = time::OffsetDateTime::now_utc()
        .format(format)
        .unwrap_or_else(|_| "now".to_owned());
    for n in 0..100 {
        let name = if n == 0 {
            format!("run-{stamp}.{suffix}")
        } else {
            format!("run-{stamp}-{n}.{suffix}")
        };
        let path = dir.join(name);
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(file) => return Ok((path, file)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        "every run log name of this second is taken",
    ))
}

/// `run-T.trace.log` for the detached output log `logs/run-T.log` (in this very directory).
fn twin_name(logs: &Path, detached: &Path) -> Option<String> {
    let same_dir = match (detached.parent()?.canonicalize(), logs.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    let stem = detached.file_name()?.to_str()?.strip_suffix(".log")?;
    let ok = same_dir
        && stem.starts_with("run-")
        && !stem.ends_with(".trace")
        && stem.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    ok.then(|| format!("{stem}.trace.log"))
}

/// A writer that stops at `cap` bytes, saying so once.
#[derive(Debug)]
struct Bounded<W: Write> {
    out: W,
    written: u64,
    cap: u64,
    cut: bool,
}

impl<W: Write> Bounded<W> {
    fn new(out: W, cap: u64) -> Self {
        Bounded {
            out,
            written: 0,
            cap,
            cut: false,
        }
    }

    /// Writes one formatted event whole, or nothing once the cap would be passed.
    fn event(&mut self, line: &[u8]) {
        if self.cut {
            return;
        }
        let len = line.len() as u64;
        if self.written.saturating_add(len) > self.cap {
            self.cut = true;
            let _ = writeln!(
                self.out,
                "orch: this log reached {} bytes and was cut here; later lines were dropped",
                self.written
            );
            let _ = self.out.flush();
            return;
        }
        match self.out.write_all(line) {
            Ok(()) => self.written += len,
            // A full disk: stop trying rather than fail every event.
            Err(_) => self.cut = true,
        }
    }
}

/// The file layer's writer: the open run log, or nowhere.
struct RunLogWriter;

impl Write for RunLogWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // The fmt layer writes each event with one `write_all`, so one call is one event.
        if let Some(log) = RUN_LOG
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_mut()
        {
            log.event(buf);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The file layer's filter, closed while no run log is open. Its answers are never cached as
/// "always" for a callsite, since the run log opens and closes.
struct WhileRunLogOpen<F>(F);

impl<S, F: Filter<S>> Filter<S> for WhileRunLogOpen<F> {
    fn enabled(&self, meta: &Metadata<'_>, cx: &Context<'_, S>) -> bool {
        RUN_LOG_OPEN.load(Ordering::Acquire) && self.0.enabled(meta, cx)
    }

    fn callsite_enabled(&self, meta: &'static Metadata<'static>) -> Interest {
        if self.0.callsite_enabled(meta).is_never() {
            Interest::never()
        } else {
            Interest::sometimes()
        }
    }

    fn event_enabled(&self, event: &tracing::Event<'_>, cx: &Context<'_, S>) -> bool {
        self.0.event_enabled(event, cx)
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        self.0.max_level_hint()
    }

    fn on_new_span(
        &self,
        attrs: &tracing::span::Attributes<'_>,
        id: &tracing::span::Id,
        cx: Context<'_, S>,
    ) {
        self.0.on_new_span(attrs, id, cx);
    }

    fn on_record(
        &self,
        id: &tracing::span::Id,
        values: &tracing::span::Record<'_>,
        cx: Context<'_, S>,
    ) {
        self.0.on_record(id, values, cx);
    }

    fn on_enter(&self, id: &tracing::span::Id, cx: Context<'_, S>) {
        self.0.on_enter(id, cx);
    }

    fn on_exit(&self, id: &tracing::span::Id, cx: Context<'_, S>) {
        self.0.on_exit(id, cx);
    }

    fn on_close(&self, id: tracing::span::Id, cx: Context<'_, S>) {
        self.0.on_close(id, cx);
    }
}

#[cfg(test)]
mod tests {
    use super::{Bounded, Verbosity, twin_name};

    #[test]
    fn a_bounded_log_keeps_whole_events_and_says_where_it_was_cut() {
        let mut log = Bounded::new(Vec::new(), 25);
        log.event(b"first line\n");
        log.event(b"second line\n");
        log.event(b"third line, too much\n");
        log.event(b"fourth\n");
        let text = String::from_utf8(log.out).unwrap();
        assert_eq!(
            text,
            "first line\nsecond line\norch: this log reached 23 bytes and was cut here; later lines were dropped\n"
        );
    }

    #[test]
    fn the_flags_choose_the_levels_of_orchs_crates() {
        let v = |verbose, quiet| Verbosity { verbose, quiet };
        assert_eq!(v(0, false).stderr_directives(), "warn");
        assert_eq!(v(1, false).stderr_directives(), "warn,orch=info");
        assert_eq!(v(2, false).stderr_directives(), "warn,orch=debug");
        assert_eq!(v(5, false).stderr_directives(), "warn,orch=trace");
        assert_eq!(v(0, true).stderr_directives(), "error");
        assert_eq!(v(0, false).file_directives(), "warn,orch=debug");
        assert_eq!(v(3, false).file_directives(), "warn,orch=trace");
    }

    #[test]
    fn a_detached_runs_trace_log_is_named_after_its_output_log() {
        let dir = tempfile::tempdir().unwrap();
        let logs = dir.path();
        assert_eq!(
            twin_name(logs, &logs.join("run-20250101T000000Z.log")).as_deref(),
            Some("run-20250101T000000Z.trace.log")
        );
        assert_eq!(
            twin_name(logs, &logs.join("run-20250101T000000Z-2.log")).as_deref(),
            Some("run-20250101T000000Z-2.trace.log")
        );
        // Another directory, another kind of name: a fresh name instead.
        let other = tempfile::tempdir().unwrap();
        assert_eq!(twin_name(logs, &other.path().join("run-1.log")), None);
        assert_eq!(twin_name(logs, &logs.join("notes.log")), None);
        assert_eq!(twin_name(logs, &logs.join("run-../x.log")), None);
    }
}
