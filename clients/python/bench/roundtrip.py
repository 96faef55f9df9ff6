"""Benchmark: external Python workers, claim -> complete -> approval visible,
beside Baton's built-in workers in the same invocation.

Not run in CI. It needs a running ``baton serve`` on PostgreSQL, an admin
token (to declare the type and read the results) and, optionally, a worker
token (a service token of role submitter; default: the admin token).
``scripts/bench-workers`` does all of this on a fresh database (release
build, 8 worker processes, N=2000); by hand::

    createdb -h 127.0.0.1 -U postgres baton_bench
    export BATON_DATABASE_URL=postgres://postgres@127.0.0.1:5432/baton_bench
    baton migrate && baton user add admin --role admin
    ADMIN=$(baton token create --name bench --role admin --user admin)
    WORKER=$(baton token create --name bench-worker --role submitter --service bench)
    BATON_LOG=warn BATON_DRAFT_CANDIDATES=1 baton serve --listen 127.0.0.1:8080 &
    python clients/python/bench/roundtrip.py --url http://127.0.0.1:8080 \\
        --token "$ADMIN" --worker-token "$WORKER" --workers 8 --count 2000 \\
        --server-pid $! --pg-cpu

(``pip install ./clients/python`` first; env fallbacks ``BATON_URL``,
``BATON_TOKEN``, ``BATON_WORKER_TOKEN``.)

Two phases, one after the other (``--order`` picks which goes first):

**external**: declares a fresh no-op type ``bench_noop_<random>`` that
requires approval. It starts K ``baton-worker`` processes running it (each
with ``--concurrency`` slots), submits N workflows over GraphQL
(``--in-flight`` at a time, default 16) and waits until none is pending or
running. Then it reads every workflow back with its approval.

**builtin**: submits N workflows of the built-in type ``generate_draft``
(input ``{"prompt": "bench <i>"}``) the same way, with the same in-flight
limit; Baton's own workers (``BATON_WORKERS``, default 4, inside the server
process) run them. Start the server with ``BATON_DRAFT_CANDIDATES=1`` and
the offline model: a run is then one offline draft call plus the rubric
judge's call, each recorded as an ``llm_calls`` row, so a built-in run does
*more* work than the external no-op and the comparison is conservative for
the external path. The phase expects no other ``generate_draft`` activity
on the server (it waits until none is pending or running).

Both phases report the same figures from the same timestamps:

- **throughput** = N / (wall time from the first submission until all N are
  completed), in workflows/s. Submission overlaps with processing, as it
  would in production.
- **latency** per workflow = the approval's ``createdAt`` minus the
  workflow's ``startedAt``. Both are the server's clock: ``startedAt`` is
  stamped by the claim; the approval's ``createdAt`` when the server starts
  storing the completion (the ``completeWorkflow`` resolver, or the built-in
  worker once ``execute`` returned). So it covers the claim's answer, the
  worker's round trip (or the built-in run) and the completion request up to
  its transaction; the approval is visible a few ms later, when that
  transaction commits, just before ``completeWorkflow`` answers. p50 and
  p99 in ms.
- **end to end** = approval ``createdAt`` minus workflow ``createdAt``
  (adds the time queued before the claim), p50 and p99: informational.
- **claim->complete** (external only, from the worker side): in each worker
  process, the time from the ``claimWorkflows`` answer to the
  ``completeWorkflow`` answer for that claim (wrapped client methods, one
  temp file per process, aggregated), p50 and p99.
- **CPU ms per workflow** (optional): CPU time (user+system, from
  ``/proc/<pid>/stat``) during the phase, divided by N, of the server
  (``--server-pid``), of PostgreSQL (``--pg-cpu``: every local process
  named ``postgres`` plus the CPU of exited backends, read from the
  postmaster's reaped-children counters), of the Python worker processes
  and of this driver (which submits and polls in both phases).

It ends with one line per phase and a side-by-side table::

    RESULT scenario=external_worker_roundtrip workers=8 concurrency=4 n=2000 value=... unit=workflows/s p50_ms=... p99_ms=... claim_complete_p50_ms=... claim_complete_p99_ms=...
    RESULT scenario=builtin_worker_roundtrip workers=4 n=2000 value=... unit=workflows/s p50_ms=... p99_ms=...

Compare figures measured in the same session: absolute numbers on shared
machines drift.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import math
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from baton_worker import AsyncClient, Client, Result, workflow

# ---- the no-op type, as the worker processes load it ------------------------------


@workflow(name=os.environ.get("BENCH_TYPE", "bench_noop"), requires_approval=True)
async def noop(input):
    return Result(output={"n": input.get("n")}, artifact={"title": f"noop {input.get('n')}"})


def _install_worker_timing(directory: str) -> None:
    """In a worker process: times claimWorkflows answer -> completeWorkflow
    answer per claim, written to ``directory/worker-<pid>.txt`` at exit (the
    worker exits normally on SIGTERM)."""
    claimed: dict[str, float] = {}
    took_ms: list[float] = []
    orig_claim, orig_complete = AsyncClient.claim, AsyncClient.complete

    async def claim(self, *args, **kw):  # type: ignore[no-untyped-def]
        claims = await orig_claim(self, *args, **kw)
        now = time.perf_counter()
        for c in claims:
            claimed[c.handle] = now
        return claims

    async def complete(self, handle, *args, **kw):  # type: ignore[no-untyped-def]
        answer = await orig_complete(self, handle, *args, **kw)
        t0 = claimed.pop(getattr(handle, "handle", handle), None)
        if t0 is not None:
            took_ms.append((time.perf_counter() - t0) * 1000)
        return answer

    AsyncClient.claim = claim  # type: ignore[method-assign]
    AsyncClient.complete = complete  # type: ignore[method-assign]

    def dump() -> None:
        path = Path(directory) / f"worker-{os.getpid()}.txt"
        path.write_text("".join(f"{x:.3f}\n" for x in took_ms))

    atexit.register(dump)


if __name__ != "__main__" and os.environ.get("BENCH_TIMINGS_DIR"):
    _install_worker_timing(os.environ["BENCH_TIMINGS_DIR"])


# ---- CPU accounting from /proc -----------------------------------------------------

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _stat(pid: int) -> tuple[str, int, float, float] | None:
    """(comm, ppid, own CPU s, reaped children's CPU s) of ``pid``, or None."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    comm = raw[raw.index("(") + 1 : raw.rindex(")")]
    f = raw[raw.rindex(")") + 2 :].split()
    # f[0] is field 3 (state): utime=14, stime=15, cutime=16, cstime=17.
    own = (int(f[11]) + int(f[12])) / _TICK
    children = (int(f[13]) + int(f[14])) / _TICK
    return comm, int(f[1]), own, children


def _postgres_cpu() -> float:
    """CPU seconds of every local PostgreSQL process, exited backends included
    (a postmaster reaps its backends, so their CPU lands in its cutime)."""
    procs: dict[int, tuple[str, int, float, float]] = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            s = _stat(int(d))
            if s is not None and s[0] == "postgres":
                procs[int(d)] = s
    total = 0.0
    for pid, (_, ppid, own, children) in procs.items():
        total += own
        if ppid not in procs:  # a postmaster
            total += children
    return total


@dataclass
class _Cpu:
    server: float | None = None
    postgres: float | None = None
    workers: float | None = None
    driver: float = 0.0

    @staticmethod
    def snapshot(server_pid: int | None, pg: bool, worker_pids: list[int]) -> "_Cpu":
        c = _Cpu()
        if server_pid:
            s = _stat(server_pid)
            c.server = s[2] if s else None
        if pg:
            c.postgres = _postgres_cpu()
        if worker_pids:
            stats = [_stat(p) for p in worker_pids]
            c.workers = sum(s[2] for s in stats if s)
        t = os.times()
        c.driver = t.user + t.system
        return c

    def minus(self, before: "_Cpu") -> "_Cpu":
        def d(a: float | None, b: float | None) -> float | None:
            return None if a is None or b is None else a - b

        return _Cpu(d(self.server, before.server), d(self.postgres, before.postgres),
                    d(self.workers, before.workers), self.driver - before.driver)


# ---- the driver -------------------------------------------------------------------


def _ts(s: str) -> float:
    return datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()


def _pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    if not xs:
        return float("nan")
    k = min(len(xs) - 1, max(0, round(p / 100 * (len(xs) - 1))))
    return xs[k]


async def _submit(client: AsyncClient, type_: str, inputs: list[dict], in_flight: int) -> list[str]:
    sem = asyncio.Semaphore(in_flight)

    async def one(inp: dict) -> str:
        async with sem:
            return str((await client.run(type_, inp))["id"])

    return list(await asyncio.gather(*(one(i) for i in inputs)))


def _count(admin: Client, type_: str, status: str) -> int:
    q = ("query($f: WorkflowFilter) { workflows(filter: $f, first: 1) { edges { cursor } } }")
    data = admin.graphql(q, {"f": {"type": type_, "status": status}})
    return len(data["workflows"]["edges"])


def _read_all(admin: Client, type_: str, status: str, extra: str = "") -> list[dict]:
    q = (
        "query($f: WorkflowFilter, $after: String) { workflows(filter: $f, first: 100, after: $after) {"
        f" edges {{ node {{ id status createdAt startedAt completedAt approval {{ status createdAt }} {extra} }} }}"
        " pageInfo { hasNextPage endCursor } } }"
    )
    rows, after = [], None
    while True:
        page = admin.graphql(q, {"f": {"type": type_, "status": status}, "after": after})["workflows"]
        rows.extend(e["node"] for e in page["edges"])
        if not page["pageInfo"]["hasNextPage"]:
            return rows
        after = page["pageInfo"]["endCursor"]


@dataclass
class Phase:
    scenario: str
    label: str
    requested: int
    done: int = 0
    failed: int = 0
    submitted_s: float = 0.0
    wall: float = 0.0
    lat: list[float] = field(default_factory=list)
    e2e: list[float] = field(default_factory=list)
    rt: list[float] = field(default_factory=list)  # worker-side claim -> complete
    cpu: _Cpu | None = None
    llm_calls: float | None = None  # per workflow
    timed_out: bool = False

    @property
    def thr(self) -> float:
        return self.done / self.wall if self.wall > 0 else 0.0


def _run_phase(args: argparse.Namespace, admin: Client, phase: Phase, type_: str,
               inputs: list[dict], worker_pids: list[int], extra: str = "") -> None:
    """Submits ``inputs`` as workflows of ``type_``, waits until none is
    pending or running, and fills ``phase`` from the server's timestamps."""
    cpu0 = _Cpu.snapshot(args.server_pid, args.pg_cpu, worker_pids)
    t0 = time.monotonic()

    async def submit() -> list[str]:
        async with AsyncClient(args.url, args.token) as c:
            return await _submit(c, type_, inputs, args.in_flight)

    ids = set(asyncio.run(submit()))
    phase.submitted_s = time.monotonic() - t0
    deadline = t0 + args.timeout
    while _count(admin, type_, "PENDING") or _count(admin, type_, "RUNNING"):
        if time.monotonic() > deadline:
            print(f"{phase.label}: timed out after {args.timeout}s", file=sys.stderr)
            phase.timed_out = True
            break
        time.sleep(0.1)
    phase.wall = time.monotonic() - t0
    phase.cpu = _Cpu.snapshot(args.server_pid, args.pg_cpu, worker_pids).minus(cpu0)

    rows = [r for r in _read_all(admin, type_, "COMPLETED", extra) if r["id"] in ids]
    phase.failed = sum(1 for r in _read_all(admin, type_, "FAILED") if r["id"] in ids)
    phase.lat = [(_ts(r["approval"]["createdAt"]) - _ts(r["startedAt"])) * 1000 for r in rows
                 if r.get("approval") and r.get("startedAt")]
    phase.e2e = [(_ts(r["approval"]["createdAt"]) - _ts(r["createdAt"])) * 1000 for r in rows
                 if r.get("approval") and r.get("createdAt")]
    phase.done = sum(1 for r in rows if r.get("approval"))
    if extra and rows:
        phase.llm_calls = statistics.fmean(len(r.get("llmCalls") or []) for r in rows)
    print(
        f"{phase.label}: submitted {len(ids)} in {phase.submitted_s:.2f}s; {phase.done} completed with an "
        f"approval in {phase.wall:.2f}s ({phase.failed} failed); latency mean "
        f"{statistics.fmean(phase.lat) if phase.lat else float('nan'):.1f} ms",
        file=sys.stderr,
    )


def _external(args: argparse.Namespace, admin: Client) -> Phase:
    phase = Phase("external_worker_roundtrip",
                  f"external ({args.workers} procs x {args.concurrency} slots)", args.count)
    type_ = f"bench_noop_{uuid.uuid4().hex[:6]}"
    admin.declare(workflow(name=type_, requires_approval=True)(lambda i: {}))
    timings = tempfile.mkdtemp(prefix="baton-bench-rt-") if args.worker_timings else None
    env = dict(os.environ, BATON_URL=args.url, BATON_TOKEN=args.worker_token or args.token,
               BENCH_TYPE=type_, BATON_WORKER_LOG="warning")
    if timings:
        env["BENCH_TIMINGS_DIR"] = timings
    cmd = [sys.executable, "-m", "baton_worker", "--concurrency", str(args.concurrency),
           "--wait-seconds", "10", f"{Path(__file__).resolve()}:noop"]
    procs = [subprocess.Popen(cmd, env=env) for _ in range(args.workers)]
    try:
        time.sleep(1.5)  # the workers start and begin to long-poll
        _run_phase(args, admin, phase, type_, [{"n": i} for i in range(args.count)],
                   [p.pid for p in procs])
    finally:
        for pr in procs:
            pr.send_signal(signal.SIGTERM)
        for pr in procs:
            try:
                pr.wait(timeout=40)
            except subprocess.TimeoutExpired:
                pr.kill()
    if timings:
        files = sorted(Path(timings).glob("worker-*.txt"))
        for f in files:
            phase.rt.extend(float(x) for x in f.read_text().split())
        if len(files) < args.workers:
            print(f"claim->complete: only {len(files)} of {args.workers} worker processes wrote "
                  "their timings", file=sys.stderr)
        shutil.rmtree(timings, ignore_errors=True)
    return phase


def _builtin(args: argparse.Namespace, admin: Client) -> Phase:
    phase = Phase("builtin_worker_roundtrip", f"builtin ({args.builtin_workers} server workers)",
                  args.count)
    _run_phase(args, admin, phase, args.builtin_type,
               [{"prompt": f"bench {i}"} for i in range(args.count)], [],
               extra="llmCalls { purpose }")
    return phase


def _f(x: float | None, digits: int = 1) -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


def _report(args: argparse.Namespace, phases: list[Phase]) -> None:
    ext = next((p for p in phases if p.scenario == "external_worker_roundtrip"), None)
    bi = next((p for p in phases if p.scenario == "builtin_worker_roundtrip"), None)
    print()
    if bi is not None:
        print(f"NOTE: {args.builtin_type} does more work per run than the external no-op: with "
              "BATON_DRAFT_CANDIDATES=1 it makes two offline model calls (draft + judge), each stored "
              "as an llm_calls row, and reads the deployed draft config. The external path's figures "
              "are therefore conservative against the built-in ones.")
        if bi.llm_calls is not None:
            print(f"      measured: {bi.llm_calls:.2f} llm_calls rows per {args.builtin_type} run.")
        print()

    def per_wf(p: Phase, attr: str) -> str:
        if p.cpu is None or p.done == 0:
            return "-"
        v = getattr(p.cpu, attr)
        return "-" if v is None else f"{v * 1000 / p.done:.2f}"

    def total_ms(p: Phase) -> float | None:
        if p.cpu is None or p.done == 0:
            return None
        parts = [p.cpu.server, p.cpu.postgres, p.cpu.workers, p.cpu.driver]
        return sum(x for x in parts if x is not None) * 1000 / p.done

    def busy(p: Phase) -> float | None:
        t = total_ms(p)
        return None if t is None or p.wall <= 0 else t * p.done / 1000 / p.wall

    rows = [
        ("throughput (workflows/s)", lambda p: _f(p.thr)),
        ("completed / failed", lambda p: f"{p.done}/{p.failed}"),
        ("wall s (submission s)", lambda p: f"{p.wall:.2f} ({p.submitted_s:.2f})"),
        ("drain after last submission s", lambda p: f"{p.wall - p.submitted_s:.2f}"),
        ("latency p50 ms", lambda p: _f(_pct(p.lat, 50))),
        ("latency p99 ms", lambda p: _f(_pct(p.lat, 99))),
        ("end-to-end p50 ms", lambda p: _f(_pct(p.e2e, 50))),
        ("end-to-end p99 ms", lambda p: _f(_pct(p.e2e, 99))),
        ("claim->complete p50 ms (worker)", lambda p: _f(_pct(p.rt, 50)) if p.rt else "-"),
        ("claim->complete p99 ms (worker)", lambda p: _f(_pct(p.rt, 99)) if p.rt else "-"),
        ("CPU ms/wf: baton server", lambda p: per_wf(p, "server")),
        ("CPU ms/wf: postgres", lambda p: per_wf(p, "postgres")),
        ("CPU ms/wf: python workers", lambda p: per_wf(p, "workers")),
        ("CPU ms/wf: bench driver", lambda p: per_wf(p, "driver")),
        ("CPU ms/wf: all of the above", lambda p: _f(total_ms(p), 2)),
        ("cores busy (all CPU / wall)", lambda p: _f(busy(p), 2)),
    ]
    width = max(len(r[0]) for r in rows) + 2
    cols = [p.label for p in phases]
    cw = max(24, *(len(c) + 2 for c in cols))
    print(f"{'':<{width}}" + "".join(f"{c:>{cw}}" for c in cols))
    for name, fn in rows:
        print(f"{name:<{width}}" + "".join(f"{fn(p):>{cw}}" for p in phases))
    if ext is not None and bi is not None and bi.thr > 0:
        print(f"{'throughput ratio external/builtin':<{width}}{ext.thr / bi.thr:>{cw}.2f}")
    if any(p.wall - p.submitted_s < 0.5 for p in phases):
        print(f"(a drain near 0 s means the workers kept up with submission ({args.in_flight} runWorkflow "
              "calls in flight): that phase's throughput is the rate the driver could submit at, "
              "a lower bound of what its workers could do with the submissions coming from elsewhere)")
    if any(busy(p) is not None for p in phases):
        print(f"(cores busy counts the server, PostgreSQL, the worker processes and this driver only; "
              f"this machine has {os.cpu_count()} CPUs: a value near that means the phase was CPU-bound)")
    print()
    if ext is not None:
        extra = ""
        if ext.rt:
            extra = f" claim_complete_p50_ms={_pct(ext.rt, 50):.1f} claim_complete_p99_ms={_pct(ext.rt, 99):.1f}"
        print(
            f"RESULT scenario=external_worker_roundtrip workers={args.workers} concurrency={args.concurrency} "
            f"n={ext.done} value={ext.thr:.1f} unit=workflows/s p50_ms={_pct(ext.lat, 50):.1f} "
            f"p99_ms={_pct(ext.lat, 99):.1f}{extra}"
        )
    if bi is not None:
        print(
            f"RESULT scenario=builtin_worker_roundtrip workers={args.builtin_workers} type={args.builtin_type} "
            f"n={bi.done} value={bi.thr:.1f} unit=workflows/s p50_ms={_pct(bi.lat, 50):.1f} "
            f"p99_ms={_pct(bi.lat, 99):.1f}"
        )


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--url", default=os.environ.get("BATON_URL", "http://127.0.0.1:8080"))
    p.add_argument("--token", default=os.environ.get("BATON_TOKEN"), help="admin token")
    p.add_argument("--worker-token", default=os.environ.get("BATON_WORKER_TOKEN"))
    p.add_argument("--workers", "-k", type=int, default=8, help="worker processes (default 8)")
    p.add_argument("--concurrency", type=int, default=4, help="slots per worker process (default 4)")
    p.add_argument("--count", "-n", type=int, default=2000, help="workflows per phase (default 2000)")
    p.add_argument("--in-flight", type=int, default=16,
                   help="runWorkflow calls in flight while submitting, both phases (default 16)")
    p.add_argument("--timeout", type=float, default=600, help="per phase, seconds")
    p.add_argument("--order", choices=("external-first", "builtin-first"), default="external-first")
    p.add_argument("--no-builtin", dest="builtin", action="store_false",
                   help="skip the built-in baseline")
    p.add_argument("--builtin-type", default="generate_draft")
    p.add_argument("--builtin-workers", default=os.environ.get("BATON_WORKERS", "4"),
                   help="the server's BATON_WORKERS, for the report only (default: env or 4)")
    p.add_argument("--no-worker-timings", dest="worker_timings", action="store_false",
                   help="skip the worker-side claim->complete timing")
    p.add_argument("--server-pid", type=int, default=None,
                   help="pid of the local baton serve: report its CPU per workflow")
    p.add_argument("--pg-cpu", action="store_true",
                   help="report the CPU of the local PostgreSQL processes per workflow")
    args = p.parse_args()
    if not args.token:
        p.error("give --token (admin) or set BATON_TOKEN")

    admin = Client(args.url, args.token)
    runs = [_external, _builtin] if args.order == "external-first" else [_builtin, _external]
    if not args.builtin:
        runs = [_external]
    phases = [run(args, admin) for run in runs]
    _report(args, phases)
    ok = all(ph.done == ph.requested and not ph.timed_out for ph in phases)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
