"""The worker loop against an in-memory stand-in for Baton's worker protocol.

Fast checks of the loop's decisions (what it completes, fails, retries,
abandons) and of failure injection that is awkward against the real server
(a refused connection on claim). The end-to-end tests check the same against
`baton serve`.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from baton_worker import AsyncClient, FatalError, Result, Worker, workflow


class FakeBaton:
    """Queued workflows, claims with handles, and a log of what the worker sent."""

    def __init__(self) -> None:
        self.queue: list[dict[str, Any]] = []
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.refuse_claims = 0
        self.conflict_heartbeats = False
        self.reject_outputs_with_field: str | None = None
        self._n = 0

    def add(self, type_: str, input: dict[str, Any] | None = None, attempt: int = 1,
            max_attempts: int = 3) -> None:
        self._n += 1
        self.queue.append({"id": f"wf{self._n}", "type": type_, "input": input or {},
                           "attempt": attempt, "maxAttempts": max_attempts})

    def sent(self, op: str) -> list[dict[str, Any]]:
        return [v for o, v in self.calls if o == op]

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    async def handle(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        q, v = body["query"], body["variables"]
        if "claimWorkflows" in q:
            if self.refuse_claims:
                self.refuse_claims -= 1
                raise httpx.ConnectError("connection refused", request=request)
            taken = [w for w in self.queue if w["type"] in v["types"]][: v["limit"]]
            for w in taken:
                self.queue.remove(w)
            if not taken and v["wait"]:
                await asyncio.sleep(0.05)
            self.calls.append(("claim", v))
            claims = [{"handle": f"h-{w['id']}", "leaseExpiresAt": "2030-01-01T00:00:00Z",
                       "workflow": w} for w in taken]
            return _data({"claimWorkflows": claims})
        if "heartbeat(" in q:
            self.calls.append(("heartbeat", v))
            if self.conflict_heartbeats:
                return _error("CONFLICT", "its lease expired and it was claimed again")
            return _data({"heartbeat": "2030-01-01T00:00:00Z"})
        if "completeWorkflow" in q:
            self.calls.append(("complete", v))
            if self.reject_outputs_with_field:
                return _error("BAD_USER_INPUT", "output.title: expected a string",
                              field=self.reject_outputs_with_field)
            return _data({"completeWorkflow": {"id": v["h"][2:], "status": "COMPLETED"}})
        if "failWorkflow" in q:
            self.calls.append(("fail", v))
            return _data({"failWorkflow": {"id": v["h"][2:], "status": "PENDING"}})
        raise AssertionError(f"unexpected operation: {q}")


def _data(d: Any) -> httpx.Response:
    return httpx.Response(200, json={"data": d})


def _error(code: str, message: str, **ext: Any) -> httpx.Response:
    return httpx.Response(200, json={"data": None, "errors": [
        {"message": message, "extensions": {"code": code, **ext}}]})


def make_worker(fake: FakeBaton, workflows: list[Any], **kw: Any) -> Worker:
    client = AsyncClient("http://fake", "t", transport=fake.transport())
    kw.setdefault("wait_seconds", 1)
    kw.setdefault("lease_seconds", 30)
    return Worker(workflows, client=client, **kw)


async def until(pred: Any, timeout: float = 5.0) -> None:
    """Waits for pred() (asyncio.timeout is 3.11+; the package supports 3.10)."""

    async def poll() -> None:
        while not pred():
            await asyncio.sleep(0.01)

    await asyncio.wait_for(poll(), timeout)


async def run_until(worker: Worker, done: Any, timeout: float = 5.0) -> None:
    task = asyncio.create_task(worker.run())
    try:
        await until(done, timeout)
    finally:
        worker.stop()
        await asyncio.wait_for(task, 10)


@workflow(name="ok")
async def ok(input):
    return Result(output={"n": input.get("n")}, artifact={"title": "t"}, score=50)


@workflow(name="boom")
def boom(input):
    raise ValueError("bad luck")


@workflow(name="fatal")
async def fatal(input):
    raise FatalError("cannot work on this")


async def test_each_outcome_becomes_complete_or_a_retryable_or_fatal_fail():
    fake = FakeBaton()
    for t in ("ok", "boom", "fatal"):
        fake.add(t, {"n": 1})
    worker = make_worker(fake, [ok, boom, fatal])
    await run_until(worker, lambda: len(fake.sent("complete")) + len(fake.sent("fail")) == 3)
    assert fake.sent("complete") == [{"h": "h-wf1", "o": {"n": 1}, "a": {"title": "t"}, "s": 50}]
    fails = {f["h"]: (f["e"], f["r"]) for f in fake.sent("fail")}
    assert fails == {"h-wf2": ("ValueError: bad luck", True), "h-wf3": ("cannot work on this", False)}


async def test_a_result_baton_refuses_is_failed_as_not_retryable_with_the_field():
    fake = FakeBaton()
    fake.reject_outputs_with_field = "output.title"
    fake.add("ok")
    worker = make_worker(fake, [ok])
    await run_until(worker, lambda: fake.sent("fail"))
    [f] = fake.sent("fail")
    assert f["r"] is False and "at output.title" in f["e"] and "expected a string" in f["e"]
    assert worker.stats["invalid"] == 1


async def test_a_conflict_on_heartbeat_cancels_the_run_and_sends_nothing_else():
    fake = FakeBaton()
    fake.conflict_heartbeats = True
    cancelled = asyncio.Event()

    @workflow(name="slow", timeout_seconds=6)  # lease 6 s: a heartbeat every 2 s
    async def slow(input):
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    fake.add("slow")
    worker = make_worker(fake, [slow])
    await run_until(worker, cancelled.is_set, timeout=8)
    assert fake.sent("complete") == [] and fake.sent("fail") == []
    assert worker.stats["lost"] == 1


async def test_refused_connections_on_claim_are_retried_with_backoff():
    fake = FakeBaton()
    fake.refuse_claims = 2
    fake.add("ok")
    worker = make_worker(fake, [ok])
    await run_until(worker, lambda: fake.sent("complete"), timeout=10)
    assert len(fake.sent("complete")) == 1


async def test_claims_ask_for_the_free_slots_only():
    fake = FakeBaton()
    release = asyncio.Event()

    @workflow(name="held")
    async def held(input):
        await release.wait()
        return {}

    for _ in range(5):
        fake.add("held")
    worker = make_worker(fake, [held], concurrency=3)
    task = asyncio.create_task(worker.run())
    await until(lambda: len(worker._running) >= 3)
    await asyncio.sleep(0.1)
    assert len(worker._running) == 3 and len(fake.queue) == 2
    release.set()
    await until(lambda: len(fake.sent("complete")) >= 5)
    worker.stop()
    await task
    assert fake.sent("claim")[0]["limit"] == 3


async def test_stopping_fails_runs_past_the_grace_period_as_retryable_except_a_last_attempt():
    fake = FakeBaton()
    started = asyncio.Event()

    @workflow(name="endless")
    async def endless(input):
        started.set()
        await asyncio.sleep(60)

    fake.add("endless", attempt=1, max_attempts=3)
    fake.add("endless", attempt=3, max_attempts=3)
    worker = make_worker(fake, [endless], shutdown_grace=0.2)
    task = asyncio.create_task(worker.run())
    await until(lambda: len(worker._running) >= 2)
    worker.stop()
    await asyncio.wait_for(task, 5)
    [f] = fake.sent("fail")
    assert f["h"] == "h-wf1" and f["r"] is True and "worker shut down" in f["e"]
    assert worker.stats["released"] == 1


async def test_stop_before_run_returns_at_once():
    worker = make_worker(FakeBaton(), [ok])
    worker.stop()
    await asyncio.wait_for(worker.run(), 2)


def test_a_worker_refuses_duplicate_names_and_bad_limits():
    with pytest.raises(ValueError, match="two workflows"):
        Worker([ok, ok], url="http://x")
    with pytest.raises(ValueError, match="lease_seconds"):
        Worker([ok], url="http://x", lease_seconds=2)
