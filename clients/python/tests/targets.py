"""Workflows that the `baton-worker` processes of test_process.py run.

Type names come from the environment, so each test declares its own.
Each run writes ``{marker}.{attempt}`` (holding the worker's pid) when it
starts, then sleeps ``sleep`` seconds on attempts below ``finish_on_attempt``
(``short`` seconds otherwise) and returns its attempt and pid.
"""

import asyncio
import os
from pathlib import Path

from baton_worker import Result, current_claim, workflow


@workflow(name=os.environ.get("PY_TEST_TYPE", "py_test_sleepy"), requires_approval=True)
async def sleepy(input):
    claim = current_claim()
    Path(f"{input['marker']}.{claim.attempt}").write_text(str(os.getpid()))
    if claim.attempt < input.get("finish_on_attempt", 1):
        await asyncio.sleep(input["sleep"])
    else:
        await asyncio.sleep(input.get("short", 0))
    out = {"attempt": claim.attempt, "pid": os.getpid()}
    return Result(output=out, artifact={"title": f"attempt {claim.attempt}", **out})
