"""The worker protocol, call by call, with the blocking client."""

from __future__ import annotations

import time

import pytest

from baton_worker import (
    AuthError,
    BadInputError,
    Client,
    ConflictError,
    Worker,
    workflow,
)
from support import BatonServer, unique

TITLED = {"type": "object", "required": ["title"], "properties": {"title": {"type": "string"}}}


def declare(baton: BatonServer, **attrs) -> str:
    name = unique(attrs.pop("prefix", "proto"))
    baton.admin.declare(workflow(name=name, **attrs)(lambda i: {}))
    return name


def test_a_stale_handle_is_refused_and_changes_nothing(baton: BatonServer):
    t = declare(baton, requires_approval=True, artifact_schema=TITLED)
    wf = baton.admin.run(t, {"n": 1})
    first, second = baton.client(baton.worker_token), baton.client(baton.worker_token)

    [stale] = first.claim([t], lease_seconds=5)
    assert stale.id == wf["id"] and stale.attempt == 1
    time.sleep(5.3)  # the lease runs out
    [fresh] = second.claim([t], lease_seconds=30, wait_seconds=5)
    assert fresh.id == wf["id"] and fresh.attempt == 2

    with pytest.raises(ConflictError):
        first.complete(stale, {"by": "first"}, {"title": "stale"})
    with pytest.raises(ConflictError):
        first.heartbeat(stale)
    with pytest.raises(ConflictError):
        first.fail(stale, "too late")
    now = baton.admin.workflow(wf["id"])
    assert (now["status"], now["output"], now["approval"], now["attempt"]) == ("RUNNING", None, None, 2)

    done = second.complete(fresh, {"by": "second"}, {"title": "fresh"})
    assert done["status"] == "COMPLETED" and done["output"]["by"] == "second"
    assert done["approval"]["status"] == "PENDING"
    with pytest.raises(ConflictError):  # completing twice
        second.complete(fresh, {"by": "second"}, {"title": "again"})
    assert baton.events(wf["id"]).count("workflow.completed") == 1


def test_an_output_that_breaks_its_schema_is_refused_and_the_claim_stays_open(baton: BatonServer):
    t = declare(baton, output_schema=TITLED, artifact_schema=TITLED, requires_approval=True)
    wf = baton.admin.run(t, {})
    worker = baton.client(baton.worker_token)
    [claim] = worker.claim([t])

    with pytest.raises(BadInputError) as bad_output:
        worker.complete(claim, {"title": 5}, {"title": "fine"})
    assert bad_output.value.field is not None and bad_output.value.field.startswith("output")
    with pytest.raises(BadInputError) as bad_artifact:
        worker.complete(claim, {"title": "fine"}, {"body": "no title"})
    assert bad_artifact.value.field is not None and bad_artifact.value.field.startswith("artifact")
    with pytest.raises(BadInputError) as bad_score:
        worker.complete(claim, {"title": "fine"}, {"title": "fine"}, score=101)
    assert bad_score.value.field is not None
    now = baton.admin.workflow(wf["id"])
    assert (now["status"], now["output"], now["approval"]) == ("RUNNING", None, None)

    done = worker.complete(claim, {"title": "fixed"}, {"title": "fixed"}, score=88)
    # Baton adds the stored artifact's id to the output.
    assert done["output"] == {"title": "fixed", "artifact_id": done["output"]["artifact_id"]}
    assert done["status"] == "COMPLETED"
    assert done["approval"]["status"] == "PENDING" and done["approval"]["score"] == 88


def test_a_retryable_failure_makes_it_pending_and_a_fatal_one_failed(baton: BatonServer):
    t = declare(baton, max_attempts=3, retry_base_seconds=0.05)
    wf = baton.admin.run(t, {})
    worker = baton.client(baton.worker_token)

    [first] = worker.claim([t])
    after = worker.fail(first, "flaky upstream", retryable=True)
    assert (after["status"], after["error"], after["attempt"]) == ("PENDING", "flaky upstream", 1)

    [second] = worker.claim([t], wait_seconds=5)
    assert second.id == wf["id"] and second.attempt == 2
    after = worker.fail(second, "bad prompt", retryable=False)
    assert after["status"] == "FAILED" and after["error"].endswith("bad prompt")
    assert worker.claim([t]) == []


def test_retryable_failures_stop_at_max_attempts(baton: BatonServer):
    t = declare(baton, max_attempts=1)
    baton.admin.run(t, {})
    worker = baton.client(baton.worker_token)
    [claim] = worker.claim([t])
    assert worker.fail(claim, "still flaky", retryable=True)["status"] == "FAILED"


def test_a_malformed_handle_or_a_type_that_is_not_declared_is_bad_input(baton: BatonServer):
    worker = baton.client(baton.worker_token)
    with pytest.raises(BadInputError):
        worker.complete("not-a-handle", {})
    with pytest.raises(BadInputError):
        worker.claim([unique("never_declared")])
    with pytest.raises(BadInputError):  # built-in types run inside Baton
        worker.claim(["generate_draft"])
    with pytest.raises(BadInputError):
        worker.claim([declare(baton)], lease_seconds=1)


def test_declaring_the_same_content_keeps_the_version_and_a_change_adds_one(baton: BatonServer):
    name = unique("versioned")
    first = baton.admin.declare(workflow(name=name, description="v1")(lambda i: {}))
    again = baton.admin.declare(workflow(name=name, description="v1")(lambda i: {}))
    changed = baton.admin.declare(workflow(name=name, description="v2")(lambda i: {}))
    assert (first["version"], again["version"], changed["version"]) == (1, 1, 2)
    assert first["builtIn"] is False and first["declaredBy"]
    assert baton.admin.workflow_type(name)["description"] == "v2"
    assert baton.admin.workflow_type(name, 1)["description"] == "v1"
    assert baton.admin.workflow_type(unique("unknown")) is None
    wf = baton.admin.run(name, {})
    assert wf["typeVersion"] == 2


def test_a_viewer_cannot_claim_and_only_an_admin_declares(baton: BatonServer):
    t = declare(baton)
    with pytest.raises(AuthError):
        baton.client(baton.viewer_token).claim([t])
    with pytest.raises(AuthError) as forbidden:
        baton.client(baton.worker_token).declare(workflow(name=unique("nope"))(lambda i: {}))
    assert forbidden.value.code == "FORBIDDEN"
    with pytest.raises(AuthError) as unknown:
        Client(baton.url, "baton_not_a_real_token").claim([t])
    assert unknown.value.code == "UNAUTHENTICATED"


async def test_a_worker_with_a_viewer_token_stops_with_an_auth_error(baton: BatonServer):
    t = declare(baton)
    worker = Worker([workflow(name=t)(lambda i: {})], url=baton.url, token=baton.viewer_token)
    with pytest.raises(AuthError):
        await worker.run()
