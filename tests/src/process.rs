//! The server as a separate OS process, for what needs one: SIGKILL in
//! the middle of a run (and a restart after it), and several processes on
//! one database.

use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The `baton` binary next to this test executable (cargo builds it for
/// the server crate's own integration tests), or `BATON_BIN`.
pub fn baton_bin() -> std::path::PathBuf {
    if let Ok(p) = std::env::var("BATON_BIN") {
        return p.into();
    }
    let exe = std::env::current_exe().expect("current exe");
    let dir = exe.parent().and_then(|d| d.parent()).expect("target dir");
    let bin = dir.join(format!("baton{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.exists(),
        "{} is missing: run the tests with `cargo test --workspace` (it builds the binary) or set BATON_BIN",
        bin.display()
    );
    bin
}

pub struct ServerProcess {
    pub address: SocketAddr,
    child: Child,
    database_url: String,
    env: Vec<(String, String)>,
}

impl ServerProcess {
    /// Starts `baton serve` on a free port with extra environment variables.
    pub async fn start(database_url: &str, env: &[(&str, &str)]) -> ServerProcess {
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let (child, address) = spawn_serve(database_url, &env, "127.0.0.1:0").await;
        ServerProcess {
            address,
            child,
            database_url: database_url.to_string(),
            env,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.address, path)
    }

    /// The process id (for logs and assertions).
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// SIGKILL: no shutdown path runs.
    pub async fn kill(mut self) {
        self.child.kill().await.expect("kill baton");
    }

    /// SIGKILL, then a new `baton serve` with the same database and
    /// environment on the same address, so clients keep their URL.
    pub async fn kill_and_restart(&mut self) {
        self.child.kill().await.expect("kill baton");
        self.start_again().await;
    }

    /// SIGTERM (a clean exit), then start again on the same address.
    pub async fn terminate_and_restart(&mut self) -> std::process::ExitStatus {
        let status = sigterm_and_wait(&mut self.child).await;
        self.start_again().await;
        status
    }

    async fn start_again(&mut self) {
        let listen = self.address.to_string();
        // The killed process's listening socket is closed with it, but give
        // the kernel a few tries in case the port is briefly held.
        for attempt in 0..20 {
            match try_spawn_serve(&self.database_url, &self.env, &listen).await {
                Ok((child, address)) => {
                    self.child = child;
                    self.address = address;
                    return;
                }
                Err(e) if attempt < 19 => {
                    eprintln!("baton serve did not start again on {listen}: {e}; retrying");
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
                Err(e) => panic!("baton serve did not start again on {listen}: {e}"),
            }
        }
    }

    /// SIGTERM, then wait for a clean exit.
    pub async fn terminate(mut self) -> std::process::ExitStatus {
        sigterm_and_wait(&mut self.child).await
    }
}

async fn spawn_serve(
    database_url: &str,
    env: &[(String, String)],
    listen: &str,
) -> (Child, SocketAddr) {
    try_spawn_serve(database_url, env, listen)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Starts `baton serve --listen LISTEN` and reads the address it printed;
/// an error when it exits first (e.g. the port is taken).
async fn try_spawn_serve(
    database_url: &str,
    env: &[(String, String)],
    listen: &str,
) -> Result<(Child, SocketAddr), String> {
    let mut cmd = Command::new(baton_bin());
    cmd.args(["serve", "--listen", listen])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("BATON_DATABASE_URL", database_url)
        .env("BATON_POLL_MS", "100")
        .env("BATON_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("start baton serve");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut lines = BufReader::new(stdout).lines();
    let line = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
        .await
        .map_err(|_| "baton serve did not print its address within 60 s".to_string())?
        .map_err(|e| format!("reading the stdout of baton serve: {e}"))?;
    let Some(line) = line else {
        let status = child.wait().await.ok();
        return Err(format!(
            "baton serve exited before printing its address: {status:?}"
        ));
    };
    let address = line
        .rsplit("http://")
        .next()
        .and_then(|a| a.trim().parse().ok())
        .unwrap_or_else(|| panic!("unexpected first line: {line}"));
    // Keep draining stdout so the child never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Ok((child, address))
}

/// `baton worker`: workers without HTTP.
pub struct WorkerProcess {
    child: Child,
    database_url: String,
    env: Vec<(String, String)>,
}

impl WorkerProcess {
    pub async fn start(database_url: &str, env: &[(&str, &str)]) -> WorkerProcess {
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        WorkerProcess {
            child: spawn_worker(database_url, &env),
            database_url: database_url.to_string(),
            env,
        }
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// SIGKILL: no shutdown path runs, running work keeps its lease.
    pub async fn kill(mut self) {
        self.child.kill().await.expect("kill baton worker");
    }

    /// SIGKILL, then a new `baton worker` with the same environment.
    pub async fn kill_and_restart(&mut self) {
        self.child.kill().await.expect("kill baton worker");
        self.child = spawn_worker(&self.database_url, &self.env);
    }

    /// True while the process has not exited.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// SIGTERM, then wait for a clean exit.
    pub async fn terminate(mut self) -> std::process::ExitStatus {
        sigterm_and_wait(&mut self.child).await
    }
}

fn spawn_worker(database_url: &str, env: &[(String, String)]) -> Child {
    let mut cmd = Command::new(baton_bin());
    cmd.arg("worker")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("BATON_DATABASE_URL", database_url)
        .env("BATON_POLL_MS", "100")
        .env("BATON_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.spawn().expect("start baton worker")
}

/// Sends SIGTERM and waits (at most 30 s) for the process to exit.
async fn sigterm_and_wait(child: &mut Child) -> std::process::ExitStatus {
    let pid = child.id().expect("running child");
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .expect("send SIGTERM");
    assert!(status.success());
    tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("baton exited within 30 s of SIGTERM")
        .expect("wait for baton")
}
