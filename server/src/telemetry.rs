//! Logging: `tracing` to stderr, as text for people or as JSON lines for
//! log collectors (`BATON_LOG_FORMAT=json`), filtered by `BATON_LOG`.
//!
//! A JSON line carries its event's fields and, under `spans`, the fields of
//! every span it happened in: `request_id` for anything an HTTP request
//! caused, `workflow_id` and `workflow_type` for a run.

use tracing_subscriber::EnvFilter;

pub fn init(format: &str) {
    let filter =
        EnvFilter::try_from_env("BATON_LOG").unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if format == "json" {
        builder
            .json()
            .with_current_span(false)
            .with_span_list(true)
            .init();
    } else {
        builder.init();
    }
}
