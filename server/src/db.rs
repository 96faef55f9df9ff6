//! Connecting to SQLite or PostgreSQL, and running the migrations.
//!
//! SQLite runs in WAL mode with a busy timeout and a single pooled
//! connection: SQLite has one writer anyway, and one connection means no
//! transaction ever fails to upgrade from reader to writer. PostgreSQL is the
//! store for several processes.

use anyhow::Context;
use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbBackend};
use std::time::Duration;

/// Opens the database named by `url`, creating the SQLite file's directory
/// when needed.
pub async fn connect(url: &str) -> anyhow::Result<DatabaseConnection> {
    let mut opts = ConnectOptions::new(url.to_string());
    opts.sqlx_logging(false)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(30));
    if url.starts_with("sqlite:") {
        if let Some(dir) = sqlite_dir(url) {
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("creating the database directory {}", dir.display()))?;
        }
        opts.max_connections(1)
            .min_connections(1)
            .map_sqlx_sqlite_opts(|o| {
                o.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                    .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                    .busy_timeout(Duration::from_secs(10))
                    .foreign_keys(true)
            });
    } else {
        opts.max_connections(20).min_connections(1);
    }
    let db = Database::connect(opts)
        .await
        .with_context(|| format!("connecting to {}", crate::config::redact_url(url)))?;
    Ok(db)
}

/// Applies every pending migration.
pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<()> {
    Migrator::up(db, None).await.context("running migrations")
}

pub fn is_postgres(db: &DatabaseConnection) -> bool {
    db.get_database_backend() == DbBackend::Postgres
}

/// `sqlite://data/baton.db?mode=rwc` → `data`.
fn sqlite_dir(url: &str) -> Option<std::path::PathBuf> {
    let path = url
        .trim_start_matches("sqlite:")
        .trim_start_matches("//")
        .split('?')
        .next()?;
    if path.is_empty() || path == ":memory:" {
        return None;
    }
    let parent = std::path::Path::new(path).parent()?;
    (!parent.as_os_str().is_empty()).then(|| parent.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_directory_of_a_sqlite_file() {
        assert_eq!(
            sqlite_dir("sqlite://data/baton.db?mode=rwc"),
            Some("data".into())
        );
        assert_eq!(sqlite_dir("sqlite:///tmp/x/b.db"), Some("/tmp/x".into()));
        assert_eq!(sqlite_dir("sqlite::memory:"), None);
        assert_eq!(sqlite_dir("sqlite://b.db"), None);
    }
}
