"""Test support: a real ``baton serve`` per test module and backend.

Each module that uses the ``baton`` fixture gets two servers in turn: one on
a fresh SQLite file, one on a fresh PostgreSQL database (``CREATE DATABASE
baton_py_<random>`` on ``BATON_TEST_DATABASE_URL``, dropped afterwards).
Without PostgreSQL the PostgreSQL half is skipped, except under ``CI=true``
where it fails. Tokens are made with the binary's own CLI on the database
before the server starts: an admin user's token, a service token of role
submitter (what a worker runs with), and a viewer's.

The binary is ``BATON_BIN``, default ``target/debug/baton`` in the repository.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any, AsyncIterator, Callable, Iterator

import pytest

from baton_worker import Client, Worker

REPO = Path(__file__).resolve().parents[3]
TESTS = Path(__file__).resolve().parent
DEFAULT_PG = "postgres://postgres@127.0.0.1:5432/test"


def baton_bin() -> Path:
    p = Path(os.environ.get("BATON_BIN") or REPO / "target" / "debug" / "baton")
    if not p.exists():
        pytest.fail(f"{p} is missing: build it (cargo build -p baton) or set BATON_BIN", pytrace=False)
    return p


def in_ci() -> bool:
    return os.environ.get("CI", "") not in ("", "0", "false")


# ---- PostgreSQL -----------------------------------------------------------------


def pg_admin_url() -> str:
    return os.environ.get("BATON_TEST_DATABASE_URL") or DEFAULT_PG


def _pg_connect(url: str):
    import psycopg

    return psycopg.connect(url, autocommit=True, connect_timeout=3)


def create_pg_database() -> tuple[str, str]:
    """(url, name) of a new empty database; skips (fails under CI) without PostgreSQL."""
    admin = pg_admin_url()
    try:
        conn = _pg_connect(admin)
    except Exception as e:  # noqa: BLE001
        msg = f"PostgreSQL at {admin} is unreachable ({e}); set BATON_TEST_DATABASE_URL"
        if in_ci():
            pytest.fail(msg + " (CI=true: PostgreSQL tests must run)", pytrace=False)
        pytest.skip(msg)
    name = f"baton_py_{uuid.uuid4().hex[:16]}"
    with conn:
        conn.execute(f"CREATE DATABASE {name}")
    base = admin.rsplit("/", 1)[0]
    return f"{base}/{name}", name


def drop_pg_database(name: str) -> None:
    with contextlib.suppress(Exception), _pg_connect(pg_admin_url()) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


# ---- the server -------------------------------------------------------------------


class BatonServer:
    """A ``baton serve`` process on its own database, with tokens."""

    def __init__(self, backend: str, extra_env: dict[str, str] | None = None) -> None:
        self.backend = backend
        self.extra_env = dict(extra_env or {})
        self.bin = baton_bin()
        self._tmp = tempfile.mkdtemp(prefix="baton-py-")
        self._pg_name: str | None = None
        if backend == "sqlite":
            self.db_url = f"sqlite://{self._tmp}/baton.db?mode=rwc"
        else:
            self.db_url, self._pg_name = create_pg_database()
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""
        self.log_path = Path(self._tmp) / "server.log"

    def env(self) -> dict[str, str]:
        return {
            "PATH": os.environ.get("PATH", ""),
            "BATON_DATABASE_URL": self.db_url,
            "BATON_POLL_MS": "100",
            "BATON_LOG": "warn",
            "BATON_NO_BOOTSTRAP_ADMIN": "true",
            **self.extra_env,
        }

    def cli(self, *args: str) -> str:
        out = subprocess.run(
            [str(self.bin), *args], env=self.env(), capture_output=True, text=True, timeout=60
        )
        if out.returncode != 0:
            raise RuntimeError(f"baton {' '.join(args)} failed: {out.stderr.strip()}")
        return out.stdout

    def token(self, *args: str) -> str:
        lines = [l for l in self.cli("token", "create", *args).splitlines() if l.strip()]
        secret = lines[-1].strip()
        assert secret.startswith("baton_"), f"unexpected token output: {lines!r}"
        return secret

    def start(self) -> "BatonServer":
        self.cli("user", "add", "admin", "--role", "admin")  # migrates the fresh database
        self.admin_token = self.token("--name", "py-tests", "--role", "admin", "--user", "admin")
        self.worker_token = self.token("--name", "py-worker", "--role", "submitter", "--service", "py-worker")
        self.viewer_token = self.token("--name", "py-viewer", "--role", "viewer", "--service", "py-viewer")
        log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [str(self.bin), "serve", "--listen", "127.0.0.1:0"],
            env=self.env(), stdout=subprocess.PIPE, stderr=log, text=True,
        )
        assert self.proc.stdout is not None
        line = _readline_with_timeout(self.proc.stdout, 60)
        m = re.search(r"http://(\S+)", line or "")
        if not m:
            log_text = self.log_text()
            self.stop()
            raise RuntimeError(f"baton serve did not start: {line!r}; log: {log_text}")
        self.url = f"http://{m.group(1)}"
        # Keep draining stdout so the server never blocks on a full pipe.
        threading.Thread(target=lambda: [None for _ in self.proc.stdout], daemon=True).start()  # type: ignore[union-attr]
        self.admin = Client(self.url, self.admin_token)
        return self

    def log_text(self) -> str:
        with contextlib.suppress(OSError):
            return self.log_path.read_text()[-4000:]
        return ""

    def client(self, token: str | None = None) -> Client:
        return Client(self.url, token)

    def worker(self, workflows: list[Any], **kw: Any) -> Worker:
        kw.setdefault("token", self.worker_token)
        kw.setdefault("wait_seconds", 2)
        kw.setdefault("lease_seconds", 30)
        return Worker(workflows, url=self.url, **kw)

    def wait_workflow(
        self, id: str, pred: Callable[[dict[str, Any]], bool], timeout: float = 20.0
    ) -> dict[str, Any]:
        """Polls ``workflow(id)`` until ``pred`` holds; fails with the last state."""
        deadline = time.monotonic() + timeout
        wf: dict[str, Any] | None = None
        while time.monotonic() < deadline:
            wf = self.admin.workflow(id)
            if wf is not None and pred(wf):
                return wf
            time.sleep(0.05)
        pytest.fail(f"workflow {id} did not reach the expected state in {timeout}s: {wf}")

    async def await_workflow(
        self, id: str, pred: Callable[[dict[str, Any]], bool], timeout: float = 20.0
    ) -> dict[str, Any]:
        """``wait_workflow`` for async tests (the blocking call runs in a thread)."""
        return await asyncio.to_thread(self.wait_workflow, id, pred, timeout)

    async def await_declared(self, name: str, timeout: float = 10.0) -> dict[str, Any]:
        """Waits until the type ``name`` is declared (e.g. by a worker's ``declare=True``)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            t = await asyncio.to_thread(self.admin.workflow_type, name)
            if t is not None:
                return t
            await asyncio.sleep(0.05)
        pytest.fail(f"type {name} was not declared in {timeout}s")

    def events(self, id: str) -> list[str]:
        data = self.admin.graphql("query($id: ID!) { workflow(id: $id) { events { kind } } }", {"id": id})
        return [e["kind"] for e in data["workflow"]["events"]]

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if getattr(self, "admin", None) is not None:
            self.admin.close()
        if self._pg_name:
            drop_pg_database(self._pg_name)
        shutil.rmtree(self._tmp, ignore_errors=True)


def _readline_with_timeout(stream: Any, timeout: float) -> str | None:
    box: list[str] = []
    t = threading.Thread(target=lambda: box.append(stream.readline()), daemon=True)
    t.start()
    t.join(timeout)
    return box[0] if box else None


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def baton(request: pytest.FixtureRequest) -> Iterator[BatonServer]:
    """A real server for this module, once per backend."""
    server = BatonServer(request.param)
    try:
        server.start()
    except BaseException:
        server.stop()
        raise
    yield server
    server.stop()


# ---- helpers ----------------------------------------------------------------------


def unique(prefix: str) -> str:
    """A type name no other test uses."""
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


@contextlib.asynccontextmanager
async def running(worker: Worker) -> AsyncIterator[Worker]:
    """Runs ``worker`` in the background for the ``async with`` body."""
    task = asyncio.create_task(worker.run())
    try:
        yield worker
    finally:
        worker.stop()
        await asyncio.wait_for(task, timeout=30)


def worker_command() -> list[str]:
    """The installed ``baton-worker`` console script (beside this Python)."""
    script = Path(sys.executable).parent / "baton-worker"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "baton_worker"]


def start_worker_process(
    server: BatonServer, targets: list[str], env: dict[str, str], *args: str
) -> subprocess.Popen[str]:
    """``baton-worker`` as a separate process (stderr captured)."""
    full_env = dict(os.environ)
    full_env.update(env)
    full_env["BATON_URL"] = server.url
    full_env["BATON_TOKEN"] = server.worker_token
    return subprocess.Popen(
        [*worker_command(), "--wait-seconds", "2", *args, *targets],
        env=full_env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )


def wait_file(path: Path, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            pytest.fail(f"{path} did not appear in {timeout}s")
        time.sleep(0.05)
