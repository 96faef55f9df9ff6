"""The Worker in this process: a reviewed chain, and each way a run can end."""

from __future__ import annotations

import asyncio
import time

from baton_worker import (
    AsyncClient,
    FatalError,
    Result,
    Workflow,
    current_claim,
    workflow,
)
from support import BatonServer, running, unique

NEXT_KEYS = {"feedback", "approved", "decision", "approval_id", "artifact_id",
             "artifact_version", "artifact_sha256"}


def completed(wf):
    return wf["status"] == "COMPLETED"


def finished(wf):
    return wf["status"] in ("COMPLETED", "FAILED")


async def test_a_declared_chain_runs_through_review_and_starts_its_python_next_step(baton: BatonServer):
    draft_t, publish_t = unique("draft"), unique("publish")

    @workflow(
        name=publish_t,
        input_schema={"type": "object", "required": ["approved", "artifact_id", "artifact_sha256"]},
    )
    def publish(input):  # a sync execute: runs in a thread
        return {"received": input}

    class Draft(Workflow):
        name = draft_t
        input_schema = {"type": "object", "required": ["topic"],
                        "properties": {"topic": {"type": "string"}}}
        output_schema = {"type": "object", "required": ["words"]}
        artifact_schema = {"type": "object", "required": ["title", "body"]}
        requires_approval = True
        next_workflow_type = publish_t
        next_input = {"channel": "blog"}

        async def execute(self, input):
            assert current_claim().attempt == 1
            body = f"All about {input['topic']}."
            return Result(output={"words": len(body.split())},
                          artifact={"title": input["topic"].title(), "body": body}, score=72.5)

    # An admin token may declare at start; the declared next type comes first.
    worker = baton.worker([Draft, publish], token=baton.admin_token, declare=True)
    async with running(worker):
        await baton.await_declared(draft_t)
        wf = baton.admin.run(draft_t, {"topic": "otters"})
        done = await baton.await_workflow(wf["id"], completed)
        approval = done["approval"]
        # Baton adds the stored artifact's id to the output.
        assert done["output"] == {"words": 3, "artifact_id": done["output"]["artifact_id"]}
        assert done["typeVersion"] == 1
        assert (approval["status"], approval["artifactVersion"], approval["score"]) == ("PENDING", 1, 72.5)

        decided = baton.admin.approve(approval["id"], approval["artifactVersion"], "tighten the intro")
        assert decided["approval"]["status"] == "APPROVED"
        nxt = decided["nextWorkflow"]
        assert nxt["type"] == publish_t
        after = await baton.await_workflow(nxt["id"], completed)

    got = after["input"]
    assert NEXT_KEYS <= set(got)
    assert (got["feedback"], got["approved"], got["decision"], got["channel"]) == (
        "tighten the intro", True, "approved", "blog")
    assert got["approval_id"] == approval["id"] and got["artifact_version"] == 1
    artifact = baton.admin.artifact(got["artifact_id"])
    assert artifact["sha256"] == got["artifact_sha256"] == approval["artifactSha256"]
    assert artifact["content"] == {"title": "Otters", "body": "All about otters."}
    assert got["artifact_id"] == done["output"]["artifact_id"]
    assert after["output"] == {"received": got}
    assert after["chainId"] == done["chainId"] and after["approval"] is None
    assert worker.stats["completed"] == 2


async def test_an_exception_is_retried_and_the_next_attempt_completes(baton: BatonServer):
    t = unique("flaky")

    @workflow(name=t, max_attempts=3, retry_base_seconds=0.05)
    async def flaky(input):
        if current_claim().attempt == 1:
            raise ConnectionError("upstream reset")
        return {"attempt": current_claim().attempt}

    baton.admin.declare(flaky)
    async with running(baton.worker([flaky])):
        wf = baton.admin.run(t, {})
        done = await baton.await_workflow(wf["id"], finished)
    assert (done["status"], done["attempt"], done["output"]) == ("COMPLETED", 2, {"attempt": 2})
    assert "workflow.retrying" in baton.events(wf["id"])


async def test_a_fatal_error_fails_the_workflow_without_a_retry(baton: BatonServer):
    t = unique("fatal")

    @workflow(name=t, max_attempts=3)
    def fatal(input):
        raise FatalError("the brief is empty")

    baton.admin.declare(fatal)
    async with running(baton.worker([fatal])):
        wf = baton.admin.run(t, {})
        done = await baton.await_workflow(wf["id"], finished)
    assert (done["status"], done["attempt"]) == ("FAILED", 1)
    assert done["error"].endswith("the brief is empty")


async def test_a_result_that_breaks_its_schema_fails_without_a_retry_and_names_the_field(baton: BatonServer):
    t = unique("sloppy")

    @workflow(name=t, max_attempts=3, requires_approval=True,
              artifact_schema={"type": "object", "required": ["title"],
                               "properties": {"title": {"type": "string"}}})
    async def sloppy(input):
        return Result(output={}, artifact={"title": 42})

    baton.admin.declare(sloppy)
    worker = baton.worker([sloppy])
    async with running(worker):
        wf = baton.admin.run(t, {})
        done = await baton.await_workflow(wf["id"], finished)
    assert (done["status"], done["attempt"], done["approval"]) == ("FAILED", 1, None)
    assert "artifact" in done["error"] and "refused" in done["error"]
    assert worker.stats["invalid"] == 1


async def test_a_run_past_its_timeout_is_cancelled_and_failed(baton: BatonServer):
    t = unique("slowpoke")
    cancelled = asyncio.Event()

    @workflow(name=t, timeout_seconds=1, max_attempts=1)
    async def slowpoke(input):
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return {}

    baton.admin.declare(slowpoke)
    async with running(baton.worker([slowpoke])):
        wf = baton.admin.run(t, {})
        done = await baton.await_workflow(wf["id"], finished)
    assert done["status"] == "FAILED"
    # The worker fails it just before Baton's deadline; on a loaded machine
    # the lease (capped at the deadline) may lapse first.
    assert "timed out after 1s" in done["error"] or "stopped renewing its lease" in done["error"]
    assert cancelled.is_set()


async def test_heartbeats_hold_the_lease_past_its_length_against_a_second_worker(baton: BatonServer):
    t = unique("long")

    @workflow(name=t, requires_approval=True)
    async def long(input):
        await asyncio.sleep(input["seconds"])
        return Result(output={"attempt": current_claim().attempt}, artifact={"done": True})

    baton.admin.declare(long)
    one = baton.worker([long], lease_seconds=5, concurrency=1)
    two = baton.worker([long], lease_seconds=5, concurrency=1)
    async with running(one), running(two):
        wf = baton.admin.run(t, {"seconds": 6})  # longer than the 5 s lease
        done = await baton.await_workflow(wf["id"], finished, timeout=20)
    assert (done["status"], done["attempt"], done["output"]["attempt"]) == ("COMPLETED", 1, 1)
    assert one.stats["claimed"] + two.stats["claimed"] == 1
    assert one.stats["lost"] + two.stats["lost"] == 0


async def test_a_lost_lease_cancels_the_run_and_discards_its_result(baton: BatonServer):
    t = unique("doomed")
    started, cancelled = asyncio.Event(), asyncio.Event()

    @workflow(name=t)
    async def doomed(input):
        started.set()
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return {}

    baton.admin.declare(doomed)
    worker = baton.worker([doomed], lease_seconds=6)
    async with running(worker):
        wf = baton.admin.run(t, {})
        await asyncio.wait_for(started.wait(), 10)
        baton.admin.cancel(wf["id"])  # the next heartbeat gets CONFLICT
        t0 = time.monotonic()
        await asyncio.wait_for(cancelled.wait(), 10)
        assert time.monotonic() - t0 < 5
    assert worker.stats["lost"] == 1 and worker.stats["completed"] == 0
    assert baton.admin.workflow(wf["id"])["status"] == "CANCELLED"


async def test_a_sync_client_and_an_async_client_see_the_same_workflow(baton: BatonServer):
    t = unique("plain")
    baton.admin.declare(workflow(name=t)(lambda i: {}))
    async with AsyncClient(baton.url, baton.admin_token) as admin:
        wf = await admin.run(t, {"a": 1}, idempotency_key=t)
        again = await admin.run(t, {"a": 1}, idempotency_key=t)
        assert again["id"] == wf["id"]
        assert (await admin.workflow(wf["id"]))["input"] == baton.admin.workflow(wf["id"])["input"]


async def test_run_once_drains_what_is_claimable(baton: BatonServer):
    t = unique("batch")

    @workflow(name=t)
    async def batch(input):
        return {"n": input["n"]}

    baton.admin.declare(batch)
    ids = [baton.admin.run(t, {"n": n})["id"] for n in range(3)]
    worker = baton.worker([batch], concurrency=5)
    try:
        assert await worker.run_once(wait_seconds=2) == 3
        assert await worker.run_once() == 0
    finally:
        await worker.aclose()
    assert [baton.admin.workflow(i)["output"] for i in ids] == [{"n": 0}, {"n": 1}, {"n": 2}]
