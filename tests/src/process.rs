//! The server as a separate OS process, for what needs one: SIGKILL in
//! the middle of a run, and several processes on one database.

use std::net::SocketAddr;
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
    /// Its stderr lines, when started with [`ServerProcess::start_capturing`].
    stderr: Arc<Mutex<Vec<String>>>,
}

impl ServerProcess {
    /// Starts `baton serve` on a free port with extra environment variables.
    pub async fn start(database_url: &str, env: &[(&str, &str)]) -> ServerProcess {
        Self::start_in(database_url, env, false, None).await
    }

    /// As [`ServerProcess::start`], keeping its stderr lines (still echoed to
    /// this test's stderr) for [`ServerProcess::stderr_lines`].
    pub async fn start_capturing(database_url: &str, env: &[(&str, &str)]) -> ServerProcess {
        Self::start_in(database_url, env, true, None).await
    }

    /// Starts it with `dir` as its working directory.
    pub async fn start_in_dir(
        database_url: &str,
        env: &[(&str, &str)],
        dir: &std::path::Path,
    ) -> ServerProcess {
        Self::start_in(database_url, env, false, Some(dir)).await
    }

    /// The stderr lines written so far.
    pub fn stderr_lines(&self) -> Vec<String> {
        self.stderr
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    async fn start_in(
        database_url: &str,
        env: &[(&str, &str)],
        capture: bool,
        dir: Option<&std::path::Path>,
    ) -> ServerProcess {
        let mut cmd = Command::new(baton_bin());
        if let Some(dir) = dir {
            cmd.current_dir(dir);
        }
        cmd.args(["serve", "--listen", "127.0.0.1:0"])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("BATON_DATABASE_URL", database_url)
            .env("BATON_POLL_MS", "100")
            .env("BATON_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(if capture {
                Stdio::piped()
            } else {
                Stdio::inherit()
            })
            .kill_on_drop(true);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start baton serve");
        let captured: Arc<Mutex<Vec<String>>> = Arc::default();
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
            .expect("baton serve printed its address in time")
            .expect("read stdout")
            .expect("a line on stdout");
        let address = line
            .rsplit("http://")
            .next()
            .and_then(|a| a.trim().parse().ok())
            .unwrap_or_else(|| panic!("unexpected first line: {line}"));
        // Keep draining stdout so the child never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        ServerProcess {
            address,
            child,
            stderr: captured,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.address, path)
    }

    /// SIGKILL: no shutdown path runs.
    pub async fn kill(mut self) {
        self.child.kill().await.expect("kill baton");
    }

    /// SIGTERM, then wait for a clean exit.
    pub async fn terminate(mut self) -> std::process::ExitStatus {
        sigterm_and_wait(&mut self.child).await
    }
}

/// `baton worker`: workers without HTTP.
pub struct WorkerProcess {
    child: Child,
}

impl WorkerProcess {
    pub async fn start(database_url: &str, env: &[(&str, &str)]) -> WorkerProcess {
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
        WorkerProcess {
            child: cmd.spawn().expect("start baton worker"),
        }
    }

    /// SIGTERM, then wait for a clean exit.
    pub async fn terminate(mut self) -> std::process::ExitStatus {
        sigterm_and_wait(&mut self.child).await
    }
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
