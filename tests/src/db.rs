//! A fresh database per test.

use std::path::PathBuf;

use sea_orm::{ConnectionTrait, Database, DatabaseConnection};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub const DEFAULT_POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/test";

/// The server PostgreSQL tests create their databases on.
pub fn postgres_admin_url() -> String {
    std::env::var("BATON_TEST_DATABASE_URL")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| DEFAULT_POSTGRES.to_string())
}

/// True when PostgreSQL tests can run. Without a server they are skipped
/// locally, and fail under CI (where they must run).
pub async fn postgres_available() -> bool {
    let url = postgres_admin_url();
    let reachable = match Database::connect(url.as_str()).await {
        Ok(db) => db.execute_unprepared("SELECT 1").await.is_ok(),
        Err(_) => false,
    };
    if !reachable {
        if std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false") {
            panic!(
                "PostgreSQL tests must run under CI but {url} is unreachable; \
                 start PostgreSQL or set BATON_TEST_DATABASE_URL"
            );
        }
        eprintln!("SKIPPED: no PostgreSQL at {url} (set BATON_TEST_DATABASE_URL)");
    }
    reachable
}

/// A database that exists for one test and is dropped after it.
pub struct TestDb {
    pub backend: Backend,
    pub url: String,
    pg_name: Option<String>,
    _dir: Option<TempDir>,
}

impl TestDb {
    pub async fn create(backend: Backend) -> TestDb {
        match backend {
            Backend::Sqlite => {
                let dir = TempDir::new();
                let url = format!("sqlite://{}/baton.db?mode=rwc", dir.0.display());
                TestDb {
                    backend,
                    url,
                    pg_name: None,
                    _dir: Some(dir),
                }
            }
            Backend::Postgres => {
                let admin_url = postgres_admin_url();
                let name = format!("baton_t_{}", uuid::Uuid::now_v7().simple());
                let admin = Database::connect(admin_url.as_str())
                    .await
                    .expect("connect to PostgreSQL");
                admin
                    .execute_unprepared(&format!("CREATE DATABASE {name}"))
                    .await
                    .expect("create test database");
                admin.close().await.ok();
                let base = admin_url
                    .rsplit_once('/')
                    .map_or(admin_url.as_str(), |(b, _)| b);
                TestDb {
                    backend,
                    url: format!("{base}/{name}"),
                    pg_name: Some(name),
                    _dir: None,
                }
            }
        }
    }

    /// A plain connection for assertions straight on the tables.
    pub async fn connect(&self) -> DatabaseConnection {
        baton::db::connect(&self.url)
            .await
            .expect("connect to the test database")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some(name) = self.pg_name.take() else {
            return;
        };
        let admin_url = postgres_admin_url();
        // Drop runs inside the test's runtime: do the async work on a thread
        // of its own.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            if let Ok(rt) = rt {
                rt.block_on(async {
                    if let Ok(admin) = Database::connect(admin_url.as_str()).await {
                        let _ = admin
                            .execute_unprepared(&format!(
                                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                            ))
                            .await;
                    }
                });
            }
        })
        .join();
    }
}

/// A temporary directory removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new() -> TempDir {
        let p = std::env::temp_dir().join(format!("baton-test-{}", uuid::Uuid::now_v7().simple()));
        std::fs::create_dir_all(&p).expect("create temp dir");
        TempDir(p)
    }
}

impl Default for TempDir {
    fn default() -> Self {
        TempDir::new()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
