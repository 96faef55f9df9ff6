//! `baton`: parse the command line, start tracing, call the library.

use anyhow::Context;
use baton::cli::{Cli, Command};
use clap::Parser;
use tokio_util::sync::CancellationToken;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    baton::telemetry::init(&cli.log_format);
    match cli.command {
        Command::Schema => {
            print!("{}", baton::graphql::sdl());
            Ok(())
        }
        Command::Experiment(baton::cli::ExperimentCommand::Run(args)) => {
            baton::experiment_cli::run(args).await
        }
        Command::User(cmd) => baton::identity_cli::user(cmd).await,
        Command::Token(cmd) => baton::identity_cli::token(cmd).await,
        Command::Migrate(db) => {
            let url = db.url();
            let conn = baton::db::connect(&url).await?;
            baton::db::migrate(&conn).await?;
            tracing::info!(database = %baton::config::redact_url(&url), "migrations applied");
            Ok(())
        }
        Command::Serve(args) => {
            let config = args.config()?;
            tracing::info!(config = %config.redacted(), "starting baton serve");
            let review_app = baton::http::describe_app(config.web_dir.as_deref());
            if config.web_dir.is_none() && !baton::http::app_embedded() {
                tracing::warn!("serving {review_app}");
            } else {
                tracing::info!("serving {review_app}");
            }
            let app = baton::Application::build(config).await?;
            // The address line is what scripts and tests wait for.
            println!("baton listening on http://{}", app.address());
            // First start: the one way in, printed once (never logged).
            if let Some(link) = app.first_sign_in() {
                println!("sign in: {link}");
                eprintln!(
                    "No users yet: created the admin user 'admin'. Open the `sign in:` link \
                     printed on stdout (it works once); `baton user link admin` prints a new one."
                );
            }
            stop_on_signal(app.shutdown_token());
            app.run().await
        }
        Command::Worker(args) => {
            let config = args.config();
            tracing::info!(config = %config.redacted(), "starting baton worker");
            let state = baton::app::build_state(config, Default::default()).await?;
            let shutdown = CancellationToken::new();
            stop_on_signal(shutdown.clone());
            for task in baton::app::spawn_background(&state, &shutdown) {
                task.await.context("a background task panicked")?;
            }
            Ok(())
        }
    }
}

/// Cancels `token` on SIGTERM or Ctrl-C.
fn stop_on_signal(token: CancellationToken) {
    tokio::spawn(async move {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            let mut term =
                match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                    Ok(s) => s,
                    Err(e) => {
                        tracing::error!(error = %e, "cannot listen for SIGTERM");
                        let _ = ctrl_c.await;
                        token.cancel();
                        return;
                    }
                };
            tokio::select! {
                _ = ctrl_c => {}
                _ = term.recv() => {}
            }
        }
        #[cfg(not(unix))]
        let _ = ctrl_c.await;
        tracing::info!("shutting down: no new work is claimed");
        token.cancel();
    });
}
