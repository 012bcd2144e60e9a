//! `concierge-sandbox`: the provider stand-ins as their own process, for `scripts/run` and docker compose.

use std::process::ExitCode;

use clap::Parser;
use concierge_sandbox::{Config, Sandbox};

#[derive(Debug, Parser)]
#[command(
    name = "concierge-sandbox",
    version,
    about = "Salesforce, WHMCS, Freebit and messaging stand-ins with demo data and fault injection",
    long_about = "Salesforce, WHMCS, Freebit and messaging stand-ins speaking their real wire formats, with \
                  demo data and fault injection (control API under /__sandbox/).\n\nConfiguration: the \
                  [sandbox] section of CONCIERGE_CONFIG_DIR (default ./config)/default.toml and \
                  {CONCIERGE_ENV}.toml, then CONCIERGE__SANDBOX__* environment variables."
)]
struct Cli {
    /// Address to listen on; `sandbox.listen` from the configuration when absent.
    #[arg(long)]
    listen: Option<String>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::load() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("concierge-sandbox: {error:#}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("concierge-sandbox: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(config, cli.listen)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("concierge-sandbox: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: Config, listen: Option<String>) -> anyhow::Result<()> {
    let listen = listen.unwrap_or_else(|| config.listen.clone());
    let sandbox = Sandbox::build(config, &listen)?;
    let handle = sandbox.handle();
    eprintln!("provider sandbox listening on http://{listen} (control API under /__sandbox/)");
    let server = tokio::spawn(sandbox.run_until_stopped());
    wait_for_signal().await;
    handle.stop(true).await;
    server.await??;
    Ok(())
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut terminate) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = terminate.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
