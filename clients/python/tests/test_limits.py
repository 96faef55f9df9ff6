"""Rate limits seen from Python, against a real ``baton serve`` whose
budgets are one run and one vote: the second of each is a
:class:`RateLimitedError` (a :class:`TransportError`: nothing was done) that
says when to try again."""

from __future__ import annotations

import uuid

import pytest

from baton_worker import NotFoundError, RateLimitedError, TransportError, workflow
from support import BatonServer, unique


@pytest.fixture(scope="module")
def limited():
    # One run and one vote per minute, no burst beyond it: nothing refills
    # while the module runs. The limiter is in-process, so one backend does.
    server = BatonServer(
        "sqlite",
        {
            "BATON_RATE_RUNS_PER_MIN": "1",
            "BATON_RATE_RUNS_BURST": "1",
            "BATON_RATE_DECISIONS_PER_MIN": "1",
            "BATON_RATE_DECISIONS_BURST": "1",
        },
    )
    try:
        server.start()
    except BaseException:
        server.stop()
        raise
    yield server
    server.stop()


def test_a_run_over_the_rate_is_rate_limited_with_retry_after_seconds(limited: BatonServer):
    name = unique("limited")
    limited.admin.declare(workflow(name=name)(lambda i: {}))
    assert limited.admin.run(name, {})["status"] == "PENDING"

    with pytest.raises(RateLimitedError) as info:
        limited.admin.run(name, {})
    err = info.value
    assert isinstance(err, TransportError)
    assert err.code == "RATE_LIMITED"
    assert 1 <= err.retry_after_seconds <= 60
    assert err.retry_after_seconds == err.extensions["retryAfterSeconds"]
    assert "BATON_RATE_RUNS_PER_MIN" in err.message


def test_votes_over_the_rate_are_rate_limited_whatever_their_outcome(limited: BatonServer):
    missing = str(uuid.uuid4())
    with pytest.raises(NotFoundError):
        limited.admin.approve(missing, 1)
    with pytest.raises(RateLimitedError) as info:
        limited.admin.approve(missing, 1)
    assert info.value.retry_after_seconds >= 1
    assert "BATON_RATE_DECISIONS_PER_MIN" in info.value.message
