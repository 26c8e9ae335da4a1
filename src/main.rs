//! The `mailroom` binary: `mailroom serve [--config FILE]`.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use mailroom::{app::App, config::Config};

#[derive(Parser)]
#[command(
    name = "mailroom",
    version,
    about = "A fast, safe, self-hosted webmail"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start the web server.
    Serve {
        /// TOML configuration file; MAILROOM_* environment variables override it.
        #[arg(long, env = "MAILROOM_CONFIG")]
        config: Option<PathBuf>,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("MAILROOM_LOG")
                .unwrap_or_else(|_| "mailroom=info,tower_http=warn".into()),
        )
        .init();
    let cli = Cli::parse();
    match cli.command {
        Command::Serve { config } => {
            let config = Config::load(config.as_deref())?;
            App::build(config).await?.run().await
        }
    }
}
