//! The live feed under load: N WebSocket clients (default 100) while a writer appends
//! events to the store at a fixed rate (default 1,000 a second). Prints the delivery
//! latency (append committed → frame received) at p50/p99/max over every client and event,
//! and the dashboard server's peak resident memory. Then what a page refresh costs on a
//! 10,000-task plan: the time of `GET /api/state`, `/api/tasks` and `/api/messages`.
//!
//! The server runs in its own process (this binary re-run as `serve-child`), as it does
//! beside a runner, so its peak memory (`VmHWM`) is its own; the writer and the clients run
//! here.
//!
//! ```text
//! cargo bench -p orch-dashboard --bench fanout -- [--clients 100] [--rate 1000] [--seconds 10] [--poll-ms 25] [--tasks 10000]
//! ```

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use orch_core::{Event, Plan, PlanFormat};
use orch_dashboard::{Dashboard, DashboardConfig};
use orch_store::Store;
use tokio_tungstenite::tungstenite::Message;

fn arg(args: &[String], name: &str, default: u64) -> u64 {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("serve-child") {
        serve_child(Path::new(&args[2]), arg(&args, "--poll-ms", 25));
        return;
    }
    let clients = arg(&args, "--clients", 100) as usize;
    let rate = arg(&args, "--rate", 1000);
    let seconds = arg(&args, "--seconds", 10);
    let poll_ms = arg(&args, "--poll-ms", 25);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run(clients, rate, seconds, poll_ms));
    runtime.block_on(views(arg(&args, "--tasks", 10_000) as usize));
}

/// Median time of each view the page reads on a refresh, on a plan of `tasks` tasks with
/// one finished attempt each for the first tenth.
async fn views(tasks: usize) {
    let dir = tempfile::tempdir().unwrap();
    let orch_dir = dir.path().join(".orch");
    std::fs::create_dir_all(&orch_dir).unwrap();
    let mut store = Store::open(&orch_dir.join("state.db")).unwrap();
    let plan = orch_testutils::large_plan(tasks, 7);
    store.import_plan(&plan, false).unwrap();
    let mut config = DashboardConfig::new(&orch_dir);
    config.port = 0;
    let dashboard = Dashboard::bind(config).unwrap();
    let base = format!("http://{}", dashboard.local_addr());
    tokio::spawn(dashboard.serve(std::future::pending()));
    let client = reqwest::Client::new();
    let mut line = format!("page refresh on {tasks} tasks (median of 15):");
    for path in ["/api/state", "/api/tasks", "/api/messages"] {
        let mut times = Vec::new();
        let mut bytes = 0;
        for _ in 0..15 {
            let start = Instant::now();
            let body = client
                .get(format!("{base}{path}"))
                .send()
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap();
            times.push(start.elapsed());
            bytes = body.len();
        }
        times.sort();
        line.push_str(&format!(
            " {path} {:.1} ms ({} KiB);",
            times[times.len() / 2].as_secs_f64() * 1000.0,
            bytes / 1024
        ));
    }
    println!("{}", line.trim_end_matches(';'));
}

/// The server process: serves `orch_dir` on a free port, prints it, and stops when its
/// stdin closes (the bench ended or died).
fn serve_child(orch_dir: &Path, poll_ms: u64) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut config = DashboardConfig::new(orch_dir);
    config.port = 0;
    config.poll_interval = Duration::from_millis(poll_ms);
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

fn memory_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
        .unwrap_or(0)
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i] as f64 / 1000.0
}

/// User plus system CPU seconds a process has used.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces) in parentheses.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = [11, 12]
        .iter()
        .filter_map(|&i| fields.get(i).and_then(|v| v.parse::<u64>().ok()))
        .sum();
    ticks as f64 / 100.0
}

async fn run(clients: usize, rate: u64, seconds: u64, poll_ms: u64) {
    let dir = tempfile::tempdir().unwrap();
    let orch_dir = dir.path().join(".orch");
    std::fs::create_dir_all(&orch_dir).unwrap();
    let mut store = Store::open(&orch_dir.join("state.db")).unwrap();
    let plan = Plan::parse(
        "name = \"bench\"\n[[epic]]\nid = \"E\"\nname = \"e\"\n[[task]]\nid = \"TASK-E-001\"\ntitle = \"t\"\nepic = \"E\"\n",
        PlanFormat::Toml,
    )
    .unwrap();
    store.import_plan(&plan, false).unwrap();

    let mut server = Command::new(std::env::current_exe().unwrap())
        .arg("serve-child")
        .arg(&orch_dir)
        .args(["--poll-ms", &poll_ms.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = server.id();
    let mut first = String::new();
    BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let port: u16 = first.trim().strip_prefix("PORT ").unwrap().parse().unwrap();
    let idle_kib = memory_kib(pid, "VmRSS:");

    let base = Arc::new(Instant::now());
    let total = rate * seconds;
    let after = store.last_event_seq().unwrap();
    let mut readers = Vec::new();
    for _ in 0..clients {
        let url = format!("ws://127.0.0.1:{port}/ws?after={after}");
        let (mut socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
        let base = Arc::clone(&base);
        readers.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(total as usize);
            let mut last_seq = after;
            while latencies.len() < total as usize {
                let frame = tokio::time::timeout(Duration::from_secs(30), socket.next()).await;
                let text = match frame {
                    Ok(Some(Ok(Message::Text(text)))) => text,
                    Ok(Some(Ok(_))) => continue,
                    other => panic!("the feed stopped: {other:?}"),
                };
                let now = base.elapsed().as_micros() as u64;
                let value: serde_json::Value = serde_json::from_str(text.as_str()).unwrap();
                let seq = value["seq"].as_u64().unwrap();
                assert_eq!(seq, last_seq + 1, "a gap or a duplicate");
                last_seq = seq;
                let sent: u64 = value["event"]["owner"]
                    .as_str()
                    .and_then(|o| o.parse().ok())
                    .unwrap();
                latencies.push(now.saturating_sub(sent));
            }
            latencies
        }));
    }
    let connected_kib = memory_kib(pid, "VmRSS:");
    let cpu_before = cpu_seconds(pid);

    // The writer: one event per 1/rate s, each a committed transaction, stamped with the
    // moment it committed.
    let writer_base = Arc::clone(&base);
    let writer = std::thread::spawn(move || {
        let start = Instant::now();
        let mut sampled_peak = 0;
        for n in 0..total {
            let due = start + Duration::from_micros(n * 1_000_000 / rate);
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
            // The stamp is taken before the append: latency includes the commit.
            let stamp = writer_base.elapsed().as_micros() as u64;
            store
                .append_event(&Event::LeaseReleased {
                    owner: stamp.to_string(),
                })
                .unwrap();
            if n % 500 == 0 {
                sampled_peak = sampled_peak.max(memory_kib(pid, "VmRSS:"));
            }
        }
        (start.elapsed(), sampled_peak)
    });
    let mut all = Vec::with_capacity(clients * total as usize);
    for reader in readers {
        all.extend(reader.await.unwrap());
    }
    let (write_time, _) = writer.join().unwrap();
    let peak_kib = memory_kib(pid, "VmHWM:");
    let cpu = cpu_seconds(pid) - cpu_before;
    drop(server.stdin.take());
    let _ = server.wait();

    all.sort_unstable();
    println!(
        "fan-out: {clients} WebSocket clients, {total} events appended at {rate}/s over {:.1} s (achieved {:.0}/s), store polled every {poll_ms} ms",
        write_time.as_secs_f64(),
        total as f64 / write_time.as_secs_f64()
    );
    println!(
        "  delivered {} frames, every client every event in order",
        all.len()
    );
    println!(
        "  latency append→received: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        percentile(&all, 0.50),
        percentile(&all, 0.99),
        percentile(&all, 1.0)
    );
    println!(
        "  server memory: {:.1} MiB idle, {:.1} MiB with clients connected, peak {:.1} MiB (VmHWM)",
        idle_kib as f64 / 1024.0,
        connected_kib as f64 / 1024.0,
        peak_kib as f64 / 1024.0
    );
    println!(
        "  server CPU: {cpu:.2} s over the run ({:.0}% of one core)",
        100.0 * cpu / write_time.as_secs_f64()
    );
}
