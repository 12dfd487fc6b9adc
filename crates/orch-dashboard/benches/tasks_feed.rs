//! `GET /api/tasks` on a plan of 10,000 tasks (a tenth of them merged after a gated attempt):
//! the bytes on the wire (status line, headers and body, counted on the socket) with and
//! without `Accept-Encoding: gzip` for the full list, a page and a delta after 20 status
//! changes; the time of one full request; and the server's peak memory while 5 clients fetch
//! the full list at once.
//!
//! The server runs in its own process (this binary re-run as `serve-child`), so its memory is
//! its own; each memory figure comes from a fresh server process, warmed with one
//! `GET /api/state` (which builds the secrets detector once), whose `VmRSS` is then the
//! baseline and whose `VmHWM` after the clients is the peak.
//!
//! Before and after: `--save FILE` writes the figures, `--before FILE` prints them beside
//! this build's. The "before" file comes from this same bench run on the commit before the
//! change (it talks HTTP only; that server ignores `limit` and `since`, so its page and delta
//! are the full list, which is what a refresh moved then).
//!
//! ```text
//! cargo bench -p orch-dashboard --bench tasks_feed -- [--tasks 10000] [--clients 5] [--rounds 3] [--save FILE] [--before FILE] [--dir DIR]
//! ```

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use orch_core::{TaskId, TaskStatus};
use orch_dashboard::{Dashboard, DashboardConfig};
use orch_store::{AttemptEnd, AttemptRecord, Store, TaskFilter};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn arg<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
}

fn number(args: &[String], name: &str, default: usize) -> usize {
    arg(args, name)
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("serve-child") {
        serve_child(Path::new(&args[2]));
        return;
    }
    let tasks = number(&args, "--tasks", 10_000);
    let clients = number(&args, "--clients", 5);
    let rounds = number(&args, "--rounds", 3);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    // `--dir DIR` keeps the store there (to profile a server on it: `serve-child DIR/.orch`).
    let dir = tempfile::tempdir().unwrap();
    let orch_dir = arg(&args, "--dir")
        .map_or(dir.path(), Path::new)
        .join(".orch");
    let built = Instant::now();
    let mut store = plan_store(&orch_dir, tasks);
    eprintln!(
        "store of {tasks} tasks built in {:.1} s",
        built.elapsed().as_secs_f64()
    );
    let mut figures = runtime.block_on(wire_and_time(&orch_dir, &mut store));
    for gzip in [false, true] {
        let (idle, peak) = runtime.block_on(memory(&orch_dir, clients, rounds, gzip));
        let name = if gzip { "gzip" } else { "identity" };
        figures.insert(format!("memory_{name}_idle_kib"), idle);
        figures.insert(format!("memory_{name}_peak_kib"), peak);
        figures.insert(
            format!("memory_{name}_increase_kib"),
            peak.saturating_sub(idle),
        );
    }
    if let Some(path) = arg(&args, "--save") {
        let text: String = figures.iter().map(|(k, v)| format!("{k} {v}\n")).collect();
        std::fs::write(path, text).unwrap();
    }
    let before = arg(&args, "--before").map(|p| read_figures(Path::new(p)));
    report(tasks, clients, rounds, &figures, before.as_ref());
}

/// A store with `tasks` tasks, readiness refreshed, and the first tenth of the ready ones
/// merged after one gated attempt (a quality score and report each).
fn plan_store(orch_dir: &Path, tasks: usize) -> Store {
    std::fs::create_dir_all(orch_dir.join("logs")).unwrap();
    let mut store = Store::open(&orch_dir.join("state.db")).unwrap();
    store
        .import_plan(&orch_testutils::large_plan(tasks, 7), false)
        .unwrap();
    store.refresh_readiness().unwrap();
    let ready = ready_tasks(&store);
    for task in ready.iter().take(tasks / 10) {
        let log = orch_dir.join(format!("logs/{task}-1.log"));
        let record = AttemptRecord {
            session_id: "session-1".into(),
            session_name: format!("orch-{task}-1"),
            ..AttemptRecord::starting(task.clone(), 1, "claude", log.display().to_string())
        };
        store.begin_attempt(&record).unwrap();
        let report = serde_json::json!({
            "quality_score": 0.9, "passed": true, "gate_failures": [],
            "breakdown": { "syntax": 1.0, "tests": 0.8, "lint": 0.9, "types": 1.0 },
            "skipped": { "performance": "no benchmark configured" }
        });
        let end = AttemptEnd {
            result: "passed".into(),
            summary: "gate passed".into(),
            quality: Some(0.9),
            quality_report: Some(report),
            cost_usd: Some(0.125),
            agent_ms: Some(42_000),
            changed_files: vec![format!("src/{task}.rs")],
            ..AttemptEnd::default()
        };
        store.finish_attempt(task, 1, end).unwrap();
        for to in [
            TaskStatus::Verifying,
            TaskStatus::Merging,
            TaskStatus::Completed,
        ] {
            store.transition(task, to, None).unwrap();
        }
    }
    store
}

fn ready_tasks(store: &Store) -> Vec<TaskId> {
    let filter = TaskFilter {
        statuses: Some(vec![TaskStatus::Ready]),
        ..TaskFilter::default()
    };
    store
        .tasks(&filter)
        .unwrap()
        .into_iter()
        .map(|r| r.task.id)
        .collect()
}

/// The server process: serves `orch_dir` on a free port, prints it, and stops when its
/// stdin closes (the bench ended or died).
fn serve_child(orch_dir: &Path) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut config = DashboardConfig::new(orch_dir);
    config.port = 0;
    let dashboard = Dashboard::bind(config).unwrap();
    println!("PORT {}", dashboard.local_addr().port());
    runtime
        .block_on(dashboard.serve(async {
            let _ = tokio::task::spawn_blocking(|| {
                let mut sink = String::new();
                while std::io::stdin().read_line(&mut sink).unwrap_or(0) > 0 {}
            })
            .await;
        }))
        .unwrap();
}

/// A server process on `orch_dir`, and its port.
fn spawn_server(orch_dir: &Path) -> (Child, u16) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .arg("serve-child")
        .arg(orch_dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let port = first.trim().strip_prefix("PORT ").unwrap().parse().unwrap();
    (child, port)
}

fn stop(mut child: Child) {
    drop(child.stdin.take());
    let _ = child.wait();
}

/// One HTTP/1.1 request on its own connection; the whole answer as it came off the socket
/// (status line, headers, body, chunk framing), and how long it took.
async fn fetch(port: u16, path: &str, gzip: bool) -> (Vec<u8>, Duration) {
    let start = Instant::now();
    let mut socket = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let encoding = if gzip {
        "Accept-Encoding: gzip\r\n"
    } else {
        ""
    };
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{encoding}Connection: close\r\n\r\n"
    );
    socket.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    socket.read_to_end(&mut answer).await.unwrap();
    let elapsed = start.elapsed();
    assert!(
        answer.starts_with(b"HTTP/1.1 200"),
        "{path}: {}",
        String::from_utf8_lossy(&answer[..answer.len().min(300)])
    );
    (answer, elapsed)
}

fn median(mut times: Vec<Duration>) -> u64 {
    times.sort();
    times[times.len() / 2].as_micros() as u64
}

/// Bytes of the full list, a page and a delta, with and without gzip, and the median time
/// of a full request.
async fn wire_and_time(orch_dir: &Path, store: &mut Store) -> BTreeMap<String, u64> {
    let (child, port) = spawn_server(orch_dir);
    let pid = child.id();
    let mut figures = BTreeMap::new();
    for gzip in [false, true] {
        let name = if gzip { "gzip" } else { "identity" };
        let mut times = Vec::new();
        let mut bytes = 0;
        let cpu = cpu_micros(pid);
        for _ in 0..21 {
            let (answer, took) = fetch(port, "/api/tasks", gzip).await;
            bytes = answer.len();
            times.push(took);
        }
        figures.insert(format!("full_{name}_bytes"), bytes as u64);
        figures.insert(format!("full_{name}_cpu_us"), (cpu_micros(pid) - cpu) / 21);
        figures.insert(format!("full_{name}_us"), median(times));
        let (page, _) = fetch(port, "/api/tasks?limit=500", gzip).await;
        figures.insert(format!("page_{name}_bytes"), page.len() as u64);
    }
    // What the page asks after 20 status changes: only those tasks.
    let since = store.last_event_seq().unwrap();
    for task in ready_tasks(store).iter().take(20) {
        store
            .transition(task, TaskStatus::Running, Some("agent started"))
            .unwrap();
    }
    for gzip in [false, true] {
        let name = if gzip { "gzip" } else { "identity" };
        let (delta, took) = fetch(port, &format!("/api/tasks?since={since}"), gzip).await;
        figures.insert(format!("delta_{name}_bytes"), delta.len() as u64);
        figures.insert(format!("delta_{name}_us"), took.as_micros() as u64);
    }
    stop(child);
    figures
}

/// User plus system CPU time a process has used, in microseconds (10 ms steps).
fn cpu_micros(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The fields after the command name, which may hold spaces, in parentheses.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = [11, 12]
        .iter()
        .filter_map(|&i| fields.get(i).and_then(|v| v.parse::<u64>().ok()))
        .sum();
    ticks * 10_000
}

fn memory_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
        .unwrap_or(0)
}

/// A fresh server's resident memory once warm, and its peak while `clients` clients fetch
/// the full list `rounds` times each, all at once.
async fn memory(orch_dir: &Path, clients: usize, rounds: usize, gzip: bool) -> (u64, u64) {
    let (child, port) = spawn_server(orch_dir);
    let pid = child.id();
    let _ = fetch(port, "/api/state", gzip).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let idle = memory_kib(pid, "VmRSS:");
    // Resets VmHWM to the current RSS, so the peak is this phase's.
    let _ = std::fs::write(PathBuf::from(format!("/proc/{pid}/clear_refs")), "5");
    let mut all = Vec::new();
    for _ in 0..clients {
        all.push(tokio::spawn(async move {
            for _ in 0..rounds {
                fetch(port, "/api/tasks", gzip).await;
            }
        }));
    }
    for client in all {
        client.await.unwrap();
    }
    let peak = memory_kib(pid, "VmHWM:");
    stop(child);
    (idle, peak)
}

fn read_figures(path: &Path) -> BTreeMap<String, u64> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(' ')?;
            Some((k.to_owned(), v.trim().parse().ok()?))
        })
        .collect()
}

/// A line of the report: label, figure name, how it is shown.
type Row = (&'static str, &'static str, fn(u64) -> String);

fn report(
    tasks: usize,
    clients: usize,
    rounds: usize,
    after: &BTreeMap<String, u64>,
    before: Option<&BTreeMap<String, u64>>,
) {
    println!(
        "/api/tasks on {tasks} tasks; memory: {clients} clients × {rounds} full lists at once"
    );
    let rows: &[Row] = &[
        ("full list, identity", "full_identity_bytes", bytes),
        ("full list, gzip", "full_gzip_bytes", bytes),
        ("page of 500, identity", "page_identity_bytes", bytes),
        ("page of 500, gzip", "page_gzip_bytes", bytes),
        (
            "delta after 20 changes, identity",
            "delta_identity_bytes",
            bytes,
        ),
        ("delta after 20 changes, gzip", "delta_gzip_bytes", bytes),
        ("full list time, identity", "full_identity_us", millis),
        ("full list time, gzip", "full_gzip_us", millis),
        (
            "server CPU per full list, identity",
            "full_identity_cpu_us",
            millis,
        ),
        ("server CPU per full list, gzip", "full_gzip_cpu_us", millis),
        ("delta time, gzip", "delta_gzip_us", millis),
        ("server RSS warm, identity", "memory_identity_idle_kib", mib),
        ("server peak, identity", "memory_identity_peak_kib", mib),
        ("  increase", "memory_identity_increase_kib", mib),
        ("server RSS warm, gzip", "memory_gzip_idle_kib", mib),
        ("server peak, gzip", "memory_gzip_peak_kib", mib),
        ("  increase", "memory_gzip_increase_kib", mib),
    ];
    match before {
        Some(_) => println!("  {:<34} {:>14} {:>14}", "", "before", "after"),
        None => println!("  {:<34} {:>14}", "", "this build"),
    }
    for (label, key, show) in rows {
        let now = after.get(*key).map_or("–".into(), |v| show(*v));
        match before {
            Some(b) => {
                let then = b.get(*key).map_or("–".into(), |v| show(*v));
                println!("  {label:<34} {then:>14} {now:>14}");
            }
            None => println!("  {label:<34} {now:>14}"),
        }
    }
}

fn bytes(n: u64) -> String {
    match n {
        0..1_000 => format!("{n} B"),
        1_000..1_000_000 => format!("{:.1} kB", n as f64 / 1e3),
        _ => format!("{:.2} MB", n as f64 / 1e6),
    }
}

fn millis(us: u64) -> String {
    format!("{:.1} ms", us as f64 / 1000.0)
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}
