//! The server as a separate OS process, for what needs one: SIGKILL in
//! the middle of a run (and a restart after it), and several processes on
//! one database.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
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
    spawn: Spawn,
    /// Its stderr lines, when started with [`ServerProcess::start_capturing`]
    /// (kept across restarts).
    stderr: Arc<Mutex<Vec<String>>>,
}

/// How a `baton serve` is started (again, after a kill).
#[derive(Clone)]
struct Spawn {
    database_url: String,
    env: Vec<(String, String)>,
    capture: bool,
    dir: Option<PathBuf>,
}

impl ServerProcess {
    /// Starts `baton serve` on a free port with extra environment variables.
    pub async fn start(database_url: &str, env: &[(&str, &str)]) -> ServerProcess {
        Self::start_with(database_url, env, false, None).await
    }

    /// As [`ServerProcess::start`], keeping its stderr lines (still echoed to
    /// this test's stderr) for [`ServerProcess::stderr_lines`].
    pub async fn start_capturing(database_url: &str, env: &[(&str, &str)]) -> ServerProcess {
        Self::start_with(database_url, env, true, None).await
    }

    /// Starts it with `dir` as its working directory.
    pub async fn start_in_dir(
        database_url: &str,
        env: &[(&str, &str)],
        dir: &Path,
    ) -> ServerProcess {
        Self::start_with(database_url, env, false, Some(dir)).await
    }

    async fn start_with(
        database_url: &str,
        env: &[(&str, &str)],
        capture: bool,
        dir: Option<&Path>,
    ) -> ServerProcess {
        let spawn = Spawn {
            database_url: database_url.to_string(),
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            capture,
            dir: dir.map(Path::to_path_buf),
        };
        let stderr: Arc<Mutex<Vec<String>>> = Arc::default();
        let (child, address) = try_spawn_serve(&spawn, "127.0.0.1:0", &stderr)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        ServerProcess {
            address,
            child,
            spawn,
            stderr,
        }
    }

    /// The stderr lines written so far (empty unless started capturing).
    pub fn stderr_lines(&self) -> Vec<String> {
        self.stderr
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
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
            match try_spawn_serve(&self.spawn, &listen, &self.stderr).await {
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

/// Starts `baton serve --listen LISTEN` and reads the address it printed;
/// an error when it exits first (e.g. the port is taken).
async fn try_spawn_serve(
    spawn: &Spawn,
    listen: &str,
    captured: &Arc<Mutex<Vec<String>>>,
) -> Result<(Child, SocketAddr), String> {
    let mut cmd = Command::new(baton_bin());
    if let Some(dir) = &spawn.dir {
        cmd.current_dir(dir);
    }
    cmd.args(["serve", "--listen", listen])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("BATON_DATABASE_URL", &spawn.database_url)
        .env("BATON_POLL_MS", "100")
        .env("BATON_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(if spawn.capture {
            Stdio::piped()
        } else {
            Stdio::inherit()
        })
        .kill_on_drop(true);
    for (k, v) in &spawn.env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("start baton serve");
    if let Some(stderr) = child.stderr.take() {
        let into = captured.clone();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(l)) = lines.next_line().await {
                eprintln!("{l}");
                into.lock().unwrap_or_else(|p| p.into_inner()).push(l);
            }
        });
    }
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

/// Owned `(name, value)` pairs for an environment built from computed
/// values (a fake model's URL, say), to keep and extend.
pub fn env_of(pairs: &[(&str, String)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

/// The borrowed form [`ServerProcess::start`] and [`WorkerProcess::start`] take.
pub fn as_refs(env: &[(String, String)]) -> Vec<(&str, &str)> {
    env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}
