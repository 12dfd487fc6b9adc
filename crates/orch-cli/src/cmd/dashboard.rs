//! `orch dashboard`, and the dashboard `orch run --dashboard` / `orch demo --dashboard`
//! serve beside the run.

use std::path::Path;

use orch_core::exit_code;
use orch_dashboard::{Dashboard, DashboardConfig, DashboardError, Token};

use crate::cli::DashboardArgs;
use crate::error::{CliError, CliResult, chain};
use crate::repo::RepoPaths;

impl From<DashboardError> for CliError {
    fn from(err: DashboardError) -> CliError {
        match err {
            DashboardError::Store(e) => e.into(),
            DashboardError::PortInUse { .. } => CliError::new(exit_code::CONFLICT, chain(&err)),
            DashboardError::PublicWithoutToken { .. }
            | DashboardError::WeakToken { .. }
            | DashboardError::TokenCharacters
            | DashboardError::Config(_) => CliError::new(exit_code::USAGE, chain(&err)),
            _ => CliError::new(exit_code::FAILURE, chain(&err)),
        }
    }
}

pub fn run(repo: &RepoPaths, args: &DashboardArgs) -> CliResult {
    repo.require_initialized()?;
    let mut config = DashboardConfig::new(repo.orch_dir());
    config.store_path = repo.state_db();
    config.port = args.port;
    config.bind = args.bind;
    config.allowed_hosts.clone_from(&args.allow_hosts);
    if let Some(token) = &args.token {
        config = config.with_token(Token::new(token.as_str())?);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| CliError::io("the async runtime", e))?;
    let dashboard = Dashboard::bind(config)?;
    announce(&dashboard, args.token.is_some());
    println!("Ctrl-C stops it.");
    runtime.block_on(dashboard.serve(async {
        let _ = tokio::signal::ctrl_c().await;
    }))?;
    Ok(())
}

fn announce(dashboard: &Dashboard, token_from_user: bool) {
    println!("orch dashboard on {}", dashboard.local_addr());
    if token_from_user {
        println!(
            "  open: {} (add #token=<your token> to answer)",
            dashboard.read_only_url()
        );
    } else {
        println!("  open (can answer PM messages): {}", dashboard.url());
        println!("  read-only: {}", dashboard.read_only_url());
    }
}

/// Binds a loopback dashboard for `orch run --dashboard` before the run starts (so that a
/// port in use stops everything at once) and returns it with the line to print.
pub fn beside_run(orch_dir: &Path, port: u16) -> CliResult<(Dashboard, String)> {
    let mut config = DashboardConfig::new(orch_dir);
    config.port = port;
    let dashboard = Dashboard::bind(config)?;
    let line = format!("dashboard: {}", dashboard.url());
    Ok((dashboard, line))
}

/// Serves `dashboard` on `runtime` until the runtime shuts down with the run.
pub fn spawn(runtime: &tokio::runtime::Runtime, dashboard: Dashboard) {
    runtime.spawn(async move {
        if let Err(err) = dashboard.serve(std::future::pending()).await {
            eprintln!("orch: the dashboard stopped: {}", chain(&err));
        }
    });
}
