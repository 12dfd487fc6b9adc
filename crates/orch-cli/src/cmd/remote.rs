//! `orch remote serve` (answer and steer runs from Slack, Discord and LINE), and
//! `orch pause` / `orch resume`, the same run control from the terminal.

use orch_core::exit_code;
use orch_remote::{RemoteConfig, RemoteOptions, RemoteSecrets, RemoteServer};
use orch_store::ControlAction;

use crate::cli::RemoteServeArgs;
use crate::cmd::open_store;
use crate::error::{CliError, CliResult};
use crate::repo::RepoPaths;

pub fn serve(repo: &RepoPaths, args: &RemoteServeArgs) -> CliResult {
    repo.require_initialized()?;
    let config = repo.config()?;
    let mut remote =
        RemoteConfig::from_table((!config.remote.is_empty()).then_some(&config.remote))
            .map_err(|e| CliError::new(exit_code::INVALID_INPUT, e.to_string()))?;
    if let Some(port) = args.port {
        remote.port = port;
    }
    if let Some(bind) = args.bind {
        remote.bind = bind;
    }
    let secrets = RemoteSecrets::from_env();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| CliError::io("the async runtime", e))?;
    let _guard = runtime.enter();
    let server = RemoteServer::bind(
        &repo.orch_dir(),
        remote.clone(),
        secrets,
        config.budget.run_usd,
        RemoteOptions::default(),
    )
    .map_err(|e| {
        let code = if e.0.contains("cannot listen") {
            exit_code::CONFLICT
        } else {
            exit_code::INVALID_INPUT
        };
        CliError::new(code, e.to_string())
    })?;
    println!("orch remote on http://{}", server.local_addr());
    for endpoint in server.endpoints() {
        println!("  POST {endpoint}");
    }
    if remote.bind.is_loopback() {
        println!(
            "Loopback only: expose it with the tunnel you use (e.g. `cloudflared tunnel --url http://{}`) and give the platform that URL.",
            server.local_addr()
        );
    }
    println!("Ctrl-C stops it.");
    runtime
        .block_on(server.serve(async {
            let _ = tokio::signal::ctrl_c().await;
        }))
        .map_err(|e| CliError::io("the remote endpoint", e))?;
    Ok(())
}

pub fn control(repo: &RepoPaths, action: ControlAction) -> CliResult {
    let mut store = open_store(repo)?;
    let by = std::env::var("USER")
        .ok()
        .filter(|u| !u.trim().is_empty())
        .map_or_else(|| "cli".to_owned(), |user| format!("{user} (cli)"));
    store.request_control(action, &by)?;
    match action {
        ControlAction::Pause => {
            println!("Paused: no new attempts start (running ones go on) until `orch resume`.")
        }
        ControlAction::Resume => println!("Resumed: attempts start again."),
        ControlAction::Stop => println!("Stop requested."),
    }
    Ok(())
}
