"""`baton-worker` as a real process: SIGKILL mid-run, SIGTERM with and without time to finish."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

from baton_worker import workflow
from support import TESTS, BatonServer, start_worker_process, unique, wait_file

TARGET = f"{TESTS / 'targets.py'}:sleepy"


def declare_sleepy(baton: BatonServer) -> str:
    t = unique("sleepy")
    baton.admin.declare(workflow(name=t, requires_approval=True)(lambda i: {}))
    return t


def stop(proc: subprocess.Popen[str]) -> str:
    if proc.poll() is None:
        proc.kill()
    _, err = proc.communicate(timeout=10)
    return err


def test_a_killed_worker_s_workflow_is_run_again_by_another_and_completes_once(
    baton: BatonServer, tmp_path: Path
):
    t = declare_sleepy(baton)
    marker = tmp_path / "run"
    env = {"PY_TEST_TYPE": t}
    first = start_worker_process(baton, [TARGET], env, "--lease-seconds", "5")
    second = None
    try:
        wf = baton.admin.run(t, {"marker": str(marker), "sleep": 60, "finish_on_attempt": 2})
        wait_file(Path(f"{marker}.1"))
        assert baton.admin.workflow(wf["id"])["status"] == "RUNNING"
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)

        second = start_worker_process(baton, [TARGET], env, "--lease-seconds", "5")
        done = baton.wait_workflow(wf["id"], lambda w: w["status"] in ("COMPLETED", "FAILED"), timeout=30)
    finally:
        stop(first)
        err = stop(second) if second is not None else ""

    assert (done["status"], done["attempt"]) == ("COMPLETED", 2)
    assert done["output"]["attempt"] == 2 and done["output"]["pid"] == second.pid
    assert done["approval"]["status"] == "PENDING"
    kinds = baton.events(wf["id"])
    assert kinds.count("workflow.completed") == 1
    assert kinds.count("approval.created") == 1
    assert baton.worker_token not in err


def test_sigterm_lets_a_running_workflow_finish_then_exits(baton: BatonServer, tmp_path: Path):
    t = declare_sleepy(baton)
    marker = tmp_path / "run"
    proc = start_worker_process(baton, [TARGET], {"PY_TEST_TYPE": t}, "--grace-seconds", "20")
    try:
        wf = baton.admin.run(t, {"marker": str(marker), "short": 1.5})
        wait_file(Path(f"{marker}.1"))
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
    finally:
        err = stop(proc)
    done = baton.admin.workflow(wf["id"])
    assert (done["status"], done["attempt"]) == ("COMPLETED", 1)
    assert "no more claims" in err and baton.worker_token not in err


def test_sigterm_past_the_grace_period_gives_the_workflow_back_for_a_retry(
    baton: BatonServer, tmp_path: Path
):
    t = declare_sleepy(baton)
    marker = tmp_path / "run"
    proc = start_worker_process(baton, [TARGET], {"PY_TEST_TYPE": t}, "--grace-seconds", "0.5")
    try:
        wf = baton.admin.run(t, {"marker": str(marker), "sleep": 60, "finish_on_attempt": 2})
        wait_file(Path(f"{marker}.1"))
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
    finally:
        err = stop(proc)
    now = baton.admin.workflow(wf["id"])
    assert (now["status"], now["attempt"]) == ("PENDING", 1)
    assert "worker shut down" in now["error"]
    assert "giving back 1 unfinished" in err
