"""Benchmark: external Python workers, claim -> complete -> approval visible.

Not run in CI. It needs a running ``baton serve`` on PostgreSQL, an admin
token (to declare the type and read the results) and, optionally, a worker
token (a service token of role submitter; default: the admin token)::

    createdb -h 127.0.0.1 -U postgres baton_bench
    export BATON_DATABASE_URL=postgres://postgres@127.0.0.1:5432/baton_bench
    baton migrate && baton user add admin --role admin
    ADMIN=$(baton token create --name bench --role admin --user admin)
    WORKER=$(baton token create --name bench-worker --role submitter --service bench)
    BATON_LOG=warn baton serve --listen 127.0.0.1:8080 &
    python clients/python/bench/roundtrip.py --url http://127.0.0.1:8080 \\
        --token "$ADMIN" --worker-token "$WORKER" --workers 8 --count 2000

(``pip install ./clients/python`` first; env fallbacks ``BATON_URL``,
``BATON_TOKEN``, ``BATON_WORKER_TOKEN``.)

What it does: declares a fresh no-op type ``bench_noop_<random>`` that
requires approval. It starts K ``baton-worker`` processes running it (each
with ``--concurrency`` slots). It submits N workflows over GraphQL (16 in
flight) and waits until none is pending or running. Then it reads every
workflow back with its approval.

- **throughput** = N / (wall time from the first submission until all N are
  completed), in workflows/s. Submission overlaps with processing, as it
  would in production.
- **latency** per workflow = the approval's ``createdAt`` minus the
  workflow's ``startedAt``. Both are the server's clock: the claim, the
  worker's round trip, the completion transaction that creates the approval.
  The approval is visible when that transaction commits, just before
  ``completeWorkflow`` answers. It reports p50 and p99 in ms.

It ends with one line::

    RESULT scenario=external_worker_roundtrip workers=8 concurrency=4 n=2000 value=... unit=workflows/s p50_ms=... p99_ms=...

Compare it with a peer (e.g. shared/peers' LangGraph pause/resume figure)
measured in the same session: absolute numbers on shared machines drift.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import time
import uuid
from datetime import datetime
from pathlib import Path

from baton_worker import AsyncClient, Client, Result, workflow

# ---- the no-op type, as the worker processes load it ------------------------------


@workflow(name=os.environ.get("BENCH_TYPE", "bench_noop"), requires_approval=True)
async def noop(input):
    return Result(output={"n": input.get("n")}, artifact={"title": f"noop {input.get('n')}"})


# ---- the driver -------------------------------------------------------------------


def _ts(s: str) -> float:
    return datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()


def _pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    if not xs:
        return float("nan")
    k = min(len(xs) - 1, max(0, round(p / 100 * (len(xs) - 1))))
    return xs[k]


async def _submit(client: AsyncClient, type_: str, n: int, in_flight: int) -> None:
    sem = asyncio.Semaphore(in_flight)

    async def one(i: int) -> None:
        async with sem:
            await client.run(type_, {"n": i})

    await asyncio.gather(*(one(i) for i in range(n)))


def _count(admin: Client, type_: str, status: str) -> int:
    q = ("query($f: WorkflowFilter) { workflows(filter: $f, first: 1) { edges { cursor } } }")
    data = admin.graphql(q, {"f": {"type": type_, "status": status}})
    return len(data["workflows"]["edges"])


def _read_all(admin: Client, type_: str) -> list[dict]:
    q = (
        "query($f: WorkflowFilter, $after: String) { workflows(filter: $f, first: 100, after: $after) {"
        " edges { node { id status startedAt completedAt approval { status createdAt } } }"
        " pageInfo { hasNextPage endCursor } } }"
    )
    rows, after = [], None
    while True:
        page = admin.graphql(q, {"f": {"type": type_, "status": "COMPLETED"}, "after": after})["workflows"]
        rows.extend(e["node"] for e in page["edges"])
        if not page["pageInfo"]["hasNextPage"]:
            return rows
        after = page["pageInfo"]["endCursor"]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--url", default=os.environ.get("BATON_URL", "http://127.0.0.1:8080"))
    p.add_argument("--token", default=os.environ.get("BATON_TOKEN"), help="admin token")
    p.add_argument("--worker-token", default=os.environ.get("BATON_WORKER_TOKEN"))
    p.add_argument("--workers", "-k", type=int, default=8, help="worker processes (default 8)")
    p.add_argument("--concurrency", type=int, default=4, help="slots per worker process (default 4)")
    p.add_argument("--count", "-n", type=int, default=2000, help="workflows (default 2000)")
    p.add_argument("--timeout", type=float, default=600)
    args = p.parse_args()
    if not args.token:
        p.error("give --token (admin) or set BATON_TOKEN")
    worker_token = args.worker_token or args.token
    type_ = f"bench_noop_{uuid.uuid4().hex[:6]}"

    admin = Client(args.url, args.token)
    admin.declare(workflow(name=type_, requires_approval=True)(lambda i: {}))

    env = dict(os.environ, BATON_URL=args.url, BATON_TOKEN=worker_token, BENCH_TYPE=type_,
               BATON_WORKER_LOG="warning")
    cmd = [sys.executable, "-m", "baton_worker", "--concurrency", str(args.concurrency),
           "--wait-seconds", "10", f"{Path(__file__).resolve()}:noop"]
    procs = [subprocess.Popen(cmd, env=env) for _ in range(args.workers)]
    try:
        time.sleep(1.5)  # the workers start and begin to long-poll
        t0 = time.monotonic()

        async def submit() -> None:
            async with AsyncClient(args.url, args.token) as c:
                await _submit(c, type_, args.count, 16)

        asyncio.run(submit())
        submitted = time.monotonic() - t0
        deadline = t0 + args.timeout
        while _count(admin, type_, "PENDING") or _count(admin, type_, "RUNNING"):
            if time.monotonic() > deadline:
                print(f"timed out after {args.timeout}s", file=sys.stderr)
                return 1
            time.sleep(0.1)
        wall = time.monotonic() - t0
    finally:
        for pr in procs:
            pr.send_signal(signal.SIGTERM)
        for pr in procs:
            try:
                pr.wait(timeout=40)
            except subprocess.TimeoutExpired:
                pr.kill()

    rows = _read_all(admin, type_)
    lat = [(_ts(r["approval"]["createdAt"]) - _ts(r["startedAt"])) * 1000 for r in rows
           if r.get("approval") and r.get("startedAt")]
    done = len(rows)
    thr = done / wall if wall > 0 else 0.0
    print(f"submitted {args.count} in {submitted:.2f}s; {done} completed with an approval in {wall:.2f}s; "
          f"latency mean {statistics.fmean(lat) if lat else float('nan'):.1f} ms", file=sys.stderr)
    print(
        f"RESULT scenario=external_worker_roundtrip workers={args.workers} concurrency={args.concurrency} "
        f"n={done} value={thr:.1f} unit=workflows/s p50_ms={_pct(lat, 50):.1f} p99_ms={_pct(lat, 99):.1f}"
    )
    return 0 if done == args.count else 1


if __name__ == "__main__":
    sys.exit(main())
