//! The `mailroom` binary: `mailroom serve [--config FILE]`, `mailroom check [--config FILE]`.

use std::path::PathBuf;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use mailroom::{
    app::App,
    config::{self, Config, LogFormat},
};

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
    /// Check the configuration and whether the database and the mail servers answer;
    /// exits non-zero, saying what is wrong, when something is.
    Check {
        /// TOML configuration file; MAILROOM_* environment variables override it.
        #[arg(long, env = "MAILROOM_CONFIG")]
        config: Option<PathBuf>,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // The settings table goes under every help text, so `--help` lists each setting.
    let matches = Cli::command()
        .after_help(config::settings_help())
        .get_matches();
    let cli = Cli::from_arg_matches(&matches)?;
    match cli.command {
        Command::Serve { config } => {
            let config = Config::load(config.as_deref())?;
            init_logging(&config);
            App::build(config).await?.run().await
        }
        Command::Check { config } => check(config).await,
    }
}

/// Logs as the configuration says: a filter, and text or JSON lines.
fn init_logging(config: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_new(&config.log)
        .unwrap_or_else(|_| config::DEFAULT_LOG.into());
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    match config.log_format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// `mailroom check`: one line per part, in words, and a non-zero exit if any fails.
async fn check(file: Option<PathBuf>) -> anyhow::Result<()> {
    let config = match Config::load(file.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            println!("configuration: {e}");
            std::process::exit(1);
        }
    };
    println!("configuration: ok");
    let report = mailroom::health::check(&config).await;
    print!("{}", report.text());
    if !report.ready() {
        std::process::exit(1);
    }
    Ok(())
}
