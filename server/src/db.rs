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

use crate::config::DbPoolConfig;

/// Opens the database named by `url`, creating the SQLite file's directory
/// when needed.
pub async fn connect(url: &str) -> anyhow::Result<DatabaseConnection> {
    connect_with(url, &DbPoolConfig::default()).await
}

/// [`connect`] with the pool settings of `pool`.
///
/// A PostgreSQL restart is ridden out by the pool itself: every connection
/// is pinged before it is handed out (sqlx's `test_before_acquire`, on by
/// default), so one broken by the restart is dropped and replaced, and a
/// connection that cannot be opened is retried until `acquire_timeout`,
/// after which the caller gets an error (`UNAVAILABLE` in the API) rather
/// than waiting indefinitely.
pub async fn connect_with(url: &str, pool: &DbPoolConfig) -> anyhow::Result<DatabaseConnection> {
    let mut opts = ConnectOptions::new(url.to_string());
    // sea-orm maps both timeouts onto sqlx's acquire timeout (the later
    // one wins), which bounds opening a connection as well.
    opts.sqlx_logging(false).test_before_acquire(true);
    if url.starts_with("sqlite:") {
        if let Some(dir) = sqlite_dir(url) {
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("creating the database directory {}", dir.display()))?;
        }
        opts.max_connections(1)
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            .map_sqlx_sqlite_opts(|o| {
                o.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                    .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                    .busy_timeout(Duration::from_secs(10))
                    .foreign_keys(true)
            });
    } else {
        opts.max_connections(20)
            .min_connections(1)
            .acquire_timeout(pool.acquire_timeout);
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
