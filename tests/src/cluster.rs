//! A throwaway PostgreSQL cluster for one test: `initdb` into a temporary
//! directory, `pg_ctl start` on a free loopback port with its own unix
//! socket directory and trust authentication. Unlike the shared server that
//! `BATON_TEST_DATABASE_URL` names, a test owns this one and may stop it
//! (fast or immediate), start it again on the same port, or restart it.
//! It is stopped (immediately) and its directory removed on drop.
//!
//! The binaries are found at run time: `BATON_PG_BINDIR`, else
//! `pg_config --bindir`, else the newest `/usr/lib/postgresql/*/bin`, else
//! `initdb` on `PATH`. Without them tests skip with a message, except under
//! `CI`, where they fail. `initdb` and `postgres` refuse to run as root, so
//! when the tests run as root (CI containers do) every command runs through
//! `runuser -u postgres --` on a directory owned by `postgres`.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use sea_orm::{ConnectionTrait, Database};

/// How `pg_ctl stop` shuts the server down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopMode {
    /// Disconnects clients, rolls back open transactions, checkpoints.
    Fast,
    /// Kills every server process at once, like a crash: the next start
    /// runs crash recovery.
    Immediate,
}

impl StopMode {
    fn as_str(self) -> &'static str {
        match self {
            StopMode::Fast => "fast",
            StopMode::Immediate => "immediate",
        }
    }
}

/// One PostgreSQL cluster that lives as long as this value.
pub struct PgCluster {
    ctl: Ctl,
    running: bool,
}

/// What running the server binaries needs; cloned onto blocking threads,
/// away from the test's runtime.
#[derive(Clone)]
struct Ctl {
    port: u16,
    bindir: PathBuf,
    /// `<base>/data`, `<base>/sock`, `<base>/postgres.log`.
    base: PathBuf,
    as_postgres: bool,
}

/// Where the PostgreSQL server binaries are, if anywhere.
pub fn pg_bindir() -> Option<PathBuf> {
    let has_initdb = |d: &Path| d.join("initdb").is_file() && d.join("pg_ctl").is_file();
    if let Ok(d) = std::env::var("BATON_PG_BINDIR")
        && !d.is_empty()
    {
        return Some(PathBuf::from(d)).filter(|d| has_initdb(d));
    }
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output()
        && out.status.success()
    {
        let d = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if has_initdb(&d) {
            return Some(d);
        }
    }
    // Debian and Ubuntu keep the server binaries off PATH, one directory per
    // major version: take the newest.
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_str()?.parse::<u32>().ok()?;
            Some((v, e.path().join("bin")))
        })
        .filter(|(_, d)| has_initdb(d))
        .collect();
    versions.sort();
    if let Some((_, d)) = versions.pop() {
        return Some(d);
    }
    std::env::var_os("PATH").and_then(|p| std::env::split_paths(&p).find(|d| has_initdb(d)))
}

fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false")
}

/// True when a throwaway cluster can be started. Without the binaries the
/// caller should skip (a message says so), except under `CI`, where this
/// panics instead: there these tests must run.
pub fn pg_cluster_available() -> bool {
    if pg_bindir().is_some() {
        return true;
    }
    if under_ci() {
        panic!(
            "fault tests must run under CI but no PostgreSQL server binaries (initdb, pg_ctl) \
             were found: install PostgreSQL or set BATON_PG_BINDIR"
        );
    }
    eprintln!("SKIPPED: no initdb/pg_ctl found (install PostgreSQL or set BATON_PG_BINDIR)");
    false
}

fn running_as_root() -> bool {
    // The owner of /proc/self is the process's effective uid.
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// A port nobody listens on right now (the kernel's pick for port 0).
fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    l.local_addr().expect("local address").port()
}

impl PgCluster {
    /// `initdb` and start a new cluster. Panics when that fails; check
    /// [`pg_cluster_available`] first to skip where PostgreSQL is missing.
    pub async fn start() -> PgCluster {
        tokio::task::spawn_blocking(PgCluster::start_blocking)
            .await
            .expect("start the throwaway cluster")
    }

    fn start_blocking() -> PgCluster {
        let bindir = pg_bindir().expect("PostgreSQL server binaries (see pg_cluster_available)");
        let as_postgres = running_as_root();
        let base = std::env::temp_dir().join(format!("baton-pg-{}", uuid::Uuid::now_v7().simple()));
        std::fs::create_dir_all(base.join("sock")).expect("create the cluster directory");
        for dir in [&base, &base.join("sock")] {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
                .expect("chmod 0700 the cluster directory");
        }
        if as_postgres {
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&base)
                .status()
                .expect("run chown");
            assert!(status.success(), "chown the cluster directory to postgres");
        }
        let mut ctl = Ctl {
            port: free_port(),
            bindir,
            base,
            as_postgres,
        };
        let data = ctl.data_dir();
        let out = ctl.run(
            "initdb",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-U".as_ref(),
                "postgres".as_ref(),
                "--auth=trust".as_ref(),
                "--encoding=UTF8".as_ref(),
                "--no-sync".as_ref(),
            ],
        );
        assert!(
            out.status.success(),
            "initdb failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        // The port was free a moment ago; if something took it meanwhile,
        // try another.
        for attempt in 0.. {
            match ctl.start() {
                Ok(()) => break,
                Err(e) if attempt < 3 => {
                    eprintln!("throwaway PostgreSQL did not start on {}: {e}", ctl.port);
                    ctl.port = free_port();
                }
                Err(e) => {
                    let _ = std::fs::remove_dir_all(&ctl.base);
                    panic!("throwaway PostgreSQL did not start: {e}")
                }
            }
        }
        PgCluster { ctl, running: true }
    }

    pub fn port(&self) -> u16 {
        self.ctl.port
    }

    /// The `postgres` database as superuser `postgres` over TCP.
    pub fn url(&self) -> String {
        self.database_url("postgres")
    }

    /// The URL of database `name` on this cluster (it need not exist yet;
    /// see [`PgCluster::create_database`]).
    pub fn database_url(&self, name: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.ctl.port)
    }

    /// Creates database `name` and returns its URL.
    pub async fn create_database(&self, name: &str) -> String {
        let admin = Database::connect(self.url().as_str())
            .await
            .expect("connect to the throwaway cluster");
        admin
            .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
            .await
            .expect("create a database on the throwaway cluster");
        admin.close().await.ok();
        self.database_url(name)
    }

    pub fn is_running(&self) -> bool {
        self.running
    }

    /// The server log (`pg_ctl -l`), for failure messages.
    pub fn log(&self) -> String {
        self.ctl.log()
    }

    /// Stops the server and waits until it is down. The port stays this
    /// cluster's: [`PgCluster::start_again`] reuses it.
    pub async fn stop(&mut self, mode: StopMode) {
        let ctl = self.ctl.clone();
        tokio::task::spawn_blocking(move || ctl.stop(mode))
            .await
            .expect("stop the throwaway cluster");
        self.running = false;
    }

    /// Starts the stopped server again on the same port and waits until
    /// it accepts connections (after crash recovery, if it was stopped
    /// immediately).
    pub async fn start_again(&mut self) {
        let ctl = self.ctl.clone();
        tokio::task::spawn_blocking(move || ctl.start())
            .await
            .expect("start the throwaway cluster")
            .unwrap_or_else(|e| panic!("throwaway PostgreSQL did not start again: {e}"));
        self.running = true;
    }

    /// Stop (in `mode`) then start again on the same port.
    pub async fn restart(&mut self, mode: StopMode) {
        self.stop(mode).await;
        self.start_again().await;
    }
}

impl Ctl {
    fn data_dir(&self) -> PathBuf {
        self.base.join("data")
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.base.join("postgres.log")).unwrap_or_default()
    }

    fn start(&self) -> Result<(), String> {
        let data = self.data_dir();
        let log = self.base.join("postgres.log");
        let options = format!(
            "-p {port} -k {sock} -c listen_addresses=127.0.0.1 -c max_connections=200 \
             -c fsync=off -c full_page_writes=off",
            port = self.port,
            sock = self.base.join("sock").display(),
        );
        let out = self.run(
            "pg_ctl",
            &[
                "start".as_ref(),
                "-w".as_ref(),
                "-t".as_ref(),
                "120".as_ref(),
                "-D".as_ref(),
                data.as_os_str(),
                "-l".as_ref(),
                log.as_os_str(),
                "-o".as_ref(),
                options.as_ref(),
            ],
        );
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{}{}\n--- server log ---\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr),
                self.log()
            ))
        }
    }

    fn stop(&self, mode: StopMode) {
        let data = self.data_dir();
        let out = self.run(
            "pg_ctl",
            &[
                "stop".as_ref(),
                "-w".as_ref(),
                "-t".as_ref(),
                "60".as_ref(),
                "-m".as_ref(),
                mode.as_str().as_ref(),
                "-D".as_ref(),
                data.as_os_str(),
            ],
        );
        assert!(
            out.status.success(),
            "pg_ctl stop -m {} failed: {}{}",
            mode.as_str(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        // `pg_ctl stop -w` returns once postmaster.pid is gone; the port is
        // then free for the next start.
        std::thread::sleep(Duration::from_millis(50));
    }

    /// Runs one of the server binaries, as `postgres` when we are root.
    fn run(&self, program: &str, args: &[&std::ffi::OsStr]) -> Output {
        let bin = self.bindir.join(program);
        let mut cmd = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(bin);
            c
        } else {
            Command::new(bin)
        };
        cmd.args(args)
            // Never let pg_ctl hold the test's stdout/stderr pipes open via
            // the postmaster it forks (`-l` takes the server's output).
            .stdin(std::process::Stdio::null())
            .current_dir(&self.base)
            .output()
            .unwrap_or_else(|e| panic!("run {program}: {e}"))
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        if self.running {
            let data = self.ctl.data_dir();
            let _ = self.ctl.run(
                "pg_ctl",
                &[
                    "stop".as_ref(),
                    "-w".as_ref(),
                    "-m".as_ref(),
                    "immediate".as_ref(),
                    "-D".as_ref(),
                    data.as_os_str(),
                ],
            );
        }
        let _ = std::fs::remove_dir_all(&self.ctl.base);
    }
}
