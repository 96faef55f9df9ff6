"""The worker loop: claim, execute with heartbeats, complete or fail.

One :class:`Worker` runs a set of workflow types with ``concurrency`` slots
on one asyncio loop:

1. **Claim.** While a slot is free it long-polls
   ``claimWorkflows(types, limit=<free slots>, leaseSeconds, waitSeconds)``.
   Transport errors (Baton restarting, a network blip) are retried with
   exponential backoff and jitter; ``AuthError`` and ``BadInputError`` (e.g. a
   type that was never declared) stop the worker with that error, since
   retrying cannot fix them.
2. **Execute.** ``execute(input)`` runs as a task (``async def``) or in a
   daemon thread (a plain function), with :func:`current_claim` set. Every
   ``lease_seconds / 3`` a heartbeat renews the lease. A heartbeat answered
   with ``CONFLICT`` means the lease was lost (it expired and someone else
   claimed the workflow, or it was cancelled): the run is cancelled and its
   result, if any, discarded. A type's ``timeout_seconds`` bounds the run.
3. **Finish.** A result is sent with ``completeWorkflow``. If Baton refuses it
   (``BAD_USER_INPUT``: the output or artifact breaks its schema) the
   workflow is failed with ``retryable: false`` and Baton's message: the
   same code would produce the same result again. An exception from
   ``execute`` fails it with ``retryable: true`` (Baton retries after a
   backoff while attempts remain), except :class:`FatalError`, which fails it
   for good. Finishing calls are retried on transport errors while the
   heartbeat keeps the lease.

**Shutdown** (SIGTERM/SIGINT with :meth:`run_forever` or the ``baton-worker``
command, or :meth:`stop`): the worker stops claiming at once, lets running
executes finish for ``shutdown_grace`` seconds, then cancels the rest and
*fails them as retryable* ("worker shut down"), so Baton runs them again after
the retry backoff instead of after the lease expires. A run on its last
attempt is not failed that way (a shutdown should not be the reason a
workflow ends FAILED): its lease just expires. A second signal skips the
grace period. A ``kill -9`` skips all of this: the leases expire and the
workflows are claimed again (attempt + 1), which is the crash path.

Delivery is at least once: a run may execute again after a crash or a lost
lease, but Baton accepts one completion per workflow (the claim handle is a
fencing token), so the workflow completes exactly once.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import logging
import random
import signal
import threading
import time
from typing import Any, Awaitable, Callable, Iterable, Mapping

from .client import AsyncClient, Claim
from .errors import (
    AuthError,
    BadInputError,
    BatonError,
    ConflictError,
    FatalError,
    RateLimitedError,
    TransportError,
)
from .workflow import (
    Result,
    Workflow,
    _current_claim,
    _current_client,
    declaration_order,
    is_async_execute,
)

log = logging.getLogger("baton_worker")

_MAX_ERROR_CHARS = 4000


class _Stopped(Exception):
    """The worker was asked to stop while waiting."""


class _Backoff:
    """Exponential backoff with full jitter: 0.5 s, 1 s, 2 s, ... up to ``cap``."""

    def __init__(self, base: float = 0.5, cap: float = 30.0) -> None:
        self.base, self.cap, self.n = base, cap, 0

    def next(self) -> float:
        delay = min(self.cap, self.base * 2**self.n)
        self.n += 1
        return random.uniform(delay / 2, delay)

    def reset(self) -> None:
        self.n = 0

    def after(self, error: TransportError) -> float:
        """The next delay, never shorter than a rate limit's ``Retry-After``."""
        delay = self.next()
        if isinstance(error, RateLimitedError):
            delay = max(delay, float(error.retry_after_seconds))
        return delay


class Worker:
    """Runs ``workflows`` against the Baton at ``url`` with ``token``.

    ``token`` must be a service token (role submitter or above) or an admin
    user's; ``declare=True`` declares the types at start and needs an admin.
    Without it the types must already be declared (e.g. by an admin's
    ``Worker(..., declare=True)`` or ``baton serve --types FILE``).
    """

    def __init__(
        self,
        workflows: Iterable[Workflow | type[Workflow]],
        *,
        url: str | None = None,
        token: str | None = None,
        client: AsyncClient | None = None,
        concurrency: int = 4,
        lease_seconds: int = 60,
        wait_seconds: int = 20,
        declare: bool = False,
        shutdown_grace: float = 30.0,
    ) -> None:
        self.workflows: list[Workflow] = [w() if isinstance(w, type) else w for w in workflows]
        if not self.workflows:
            raise ValueError("a worker needs at least one workflow")
        self._by_name: dict[str, Workflow] = {}
        for w in self.workflows:
            if not isinstance(w, Workflow):
                raise TypeError(f"{w!r} is not a baton_worker.Workflow")
            if not w.name:
                raise ValueError(f"{type(w).__name__} has no name")
            if w.name in self._by_name:
                raise ValueError(f"two workflows are named {w.name!r}")
            self._by_name[w.name] = w
        if client is None and url is None:
            raise ValueError("give url (and token) or client")
        if not 1 <= concurrency <= 100:
            raise ValueError("concurrency must be 1..100")
        if not 5 <= lease_seconds <= 3600:
            raise ValueError("lease_seconds must be 5..3600")
        if not 0 <= wait_seconds <= 30:
            raise ValueError("wait_seconds must be 0..30")
        self._url, self._token = url, token
        self.client = client
        self._own_client = client is None
        self.concurrency = concurrency
        self.lease_seconds = lease_seconds
        self.wait_seconds = wait_seconds
        self.declare = declare
        self.shutdown_grace = shutdown_grace
        #: Counters since start: claimed, completed, failed, lost, rejected.
        self.stats: dict[str, int] = dict.fromkeys(
            ("claimed", "completed", "failed", "lost", "invalid", "released"), 0
        )
        self._stopping: asyncio.Event | None = None
        self._hard_stop: asyncio.Event | None = None
        # stop() before run() has made its events: remembered here.
        self._stop_requested = False
        self._stop_now = False
        self._slot_freed: asyncio.Event | None = None
        self._running: dict[asyncio.Task[None], _Run] = {}

    @property
    def types(self) -> list[str]:
        return list(self._by_name)

    # ---- lifecycle ------------------------------------------------------------

    def _ensure_client(self) -> AsyncClient:
        if self.client is None:
            assert self._url is not None
            self.client = AsyncClient(self._url, self._token, max_connections=self.concurrency * 2 + 4)
        return self.client

    async def declare_types(self) -> list[dict[str, Any]]:
        """Declares every type (ADMIN), next steps first. Identical content
        keeps the server's current version. A type that starts itself is
        fine as it is; types in a longer cycle (A starts B, B starts A) that
        do not exist yet are declared first without their next steps, then
        with them."""
        client = self._ensure_client()
        declared: list[dict[str, Any]] = []
        exists: set[str] = set()
        second_pass: list[Workflow] = []
        names = set(self._by_name)
        for wf in declaration_order(self.workflows):
            ahead = [n for n in wf.next_types() if n in names and n not in exists and n != wf.name]
            if ahead:
                if await client.workflow_type(wf.name) is None:
                    stub = wf.declaration()
                    stub.pop("nextOnApprove", None)
                    stub.pop("nextOnReject", None)
                    await client.declare(stub)
                second_pass.append(wf)
            else:
                t = await client.declare(wf)
                declared.append(t)
                log.info("declared %s version %s", t["name"], t["version"])
            exists.add(wf.name)
        for wf in second_pass:
            t = await client.declare(wf)
            declared.append(t)
            log.info("declared %s version %s", t["name"], t["version"])
        return declared

    def stop(self, *, immediately: bool = False) -> None:
        """Stop claiming and shut down (see the module doc). Safe from the
        loop's thread only; signal handlers call it."""
        self._stop_now = self._stop_now or immediately or self._stop_requested
        self._stop_requested = True
        if self._stopping is None or self._hard_stop is None:
            return
        if self._stop_now:
            self._hard_stop.set()
        self._stopping.set()

    def _on_signal(self, signame: str) -> None:
        if self._stopping is not None and self._stopping.is_set():
            log.warning("%s again: stopping now", signame)
            self.stop(immediately=True)
        else:
            log.info(
                "%s: no more claims; waiting up to %.0fs for %d running workflow(s)",
                signame, self.shutdown_grace, len(self._running),
            )
            self.stop()

    def run_forever(self) -> None:
        """Blocking: runs until SIGTERM/SIGINT, then shuts down gracefully."""
        asyncio.run(self.run(install_signal_handlers=True))

    async def run(self, *, install_signal_handlers: bool = False) -> None:
        """Runs until :meth:`stop` (or a signal, when asked to handle them).
        Raises ``AuthError``/``BadInputError`` from claiming: those need a fix."""
        loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        self._hard_stop = asyncio.Event()
        self._slot_freed = asyncio.Event()
        if self._stop_requested:
            self._stopping.set()
        if self._stop_now:
            self._hard_stop.set()
        if install_signal_handlers:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, self._on_signal, sig.name)
        client = self._ensure_client()
        try:
            if self.declare:
                await self.declare_types()
            log.info(
                "worker started: types %s, %d slot(s), lease %ds, url %s",
                ", ".join(self.types), self.concurrency, self.lease_seconds, client.url,
            )
            try:
                await self._poll_loop()
            finally:
                self._stopping.set()
                await self._drain()
        finally:
            if install_signal_handlers:
                for sig in (signal.SIGTERM, signal.SIGINT):
                    loop.remove_signal_handler(sig)
            if self._own_client:
                await client.aclose()
                self.client = None
            self._stop_requested = self._stop_now = False
            log.info("worker stopped: %s", _fmt_stats(self.stats))

    async def run_once(self, wait_seconds: int = 0) -> int:
        """Claims up to ``concurrency`` workflows, runs them to the end, and
        returns how many it ran: for tests and scripts that drain a queue
        step by step."""
        self._stopping = self._stopping or asyncio.Event()
        self._hard_stop = self._hard_stop or asyncio.Event()
        self._slot_freed = self._slot_freed or asyncio.Event()
        client = self._ensure_client()
        claims = await client.claim(
            self.types, limit=self.concurrency, lease_seconds=self.lease_seconds,
            wait_seconds=wait_seconds,
        )
        tasks = [self._start(c) for c in claims]
        if tasks:
            await asyncio.wait(tasks)
        return len(claims)

    async def aclose(self) -> None:
        if self._own_client and self.client is not None:
            await self.client.aclose()
            self.client = None

    # ---- claiming -------------------------------------------------------------

    async def _poll_loop(self) -> None:
        assert self._stopping and self._slot_freed
        client = self._ensure_client()
        backoff = _Backoff()
        while not self._stopping.is_set():
            free = self.concurrency - len(self._running)
            if free <= 0:
                self._slot_freed.clear()
                try:
                    await self._until_stopped(self._slot_freed.wait())
                except _Stopped:
                    return
                continue
            try:
                claims = await self._until_stopped(
                    client.claim(
                        self.types, limit=free, lease_seconds=self.lease_seconds,
                        wait_seconds=self.wait_seconds,
                    )
                )
            except _Stopped:
                return
            except TransportError as e:
                delay = backoff.after(e)
                log.warning("claim failed (%s); retrying in %.1fs", e, delay)
                try:
                    await self._until_stopped(asyncio.sleep(delay))
                except _Stopped:
                    return
                continue
            except BadInputError as e:
                raise BadInputError(
                    f"claimWorkflows refused types {self.types}: {e.message} "
                    "(declare them first: run with declare=True / --declare and an admin token)",
                    code=e.code, field=e.field, errors=e.errors,
                ) from e
            except AuthError:
                raise
            except BatonError as e:  # INTERNAL and friends: Baton's trouble, retry
                delay = backoff.next()
                log.warning("claim failed (%s: %s); retrying in %.1fs", e.code, e, delay)
                try:
                    await self._until_stopped(asyncio.sleep(delay))
                except _Stopped:
                    return
                continue
            backoff.reset()
            for c in claims:
                self._start(c)

    async def _until_stopped(self, aw: Awaitable[Any]) -> Any:
        """Awaits ``aw`` unless the worker is asked to stop first (then
        cancels it and raises ``_Stopped``). A claim answered just as the
        stop came is kept and run."""
        assert self._stopping is not None
        task = asyncio.ensure_future(aw)
        stop = asyncio.ensure_future(self._stopping.wait())
        try:
            await asyncio.wait({task, stop}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
        if task.done():
            return task.result()
        task.cancel()
        try:
            await task
        except (asyncio.CancelledError, Exception):
            pass
        raise _Stopped

    # ---- one claim ------------------------------------------------------------

    def _start(self, claim: Claim) -> asyncio.Task[None]:
        run = _Run(claim)
        task = asyncio.create_task(self._handle(run), name=f"baton:{claim.type}:{claim.id}")
        self._running[task] = run
        self.stats["claimed"] += 1

        def done(t: asyncio.Task[None]) -> None:
            self._running.pop(t, None)
            if self._slot_freed is not None:
                self._slot_freed.set()
            if not t.cancelled() and t.exception() is not None:
                log.error("worker bug handling %s", claim.id, exc_info=t.exception())

        task.add_done_callback(done)
        return task

    async def _handle(self, run: _Run) -> None:
        claim = run.claim
        wf = self._by_name.get(claim.type)
        if wf is None:  # the server handed us a type we did not ask for
            await self._finish(run, "fail", f"this worker does not run {claim.type!r}", True)
            return
        log.info("claimed %s %s (attempt %d/%d)", claim.type, claim.id, claim.attempt, claim.max_attempts)
        started = time.monotonic()
        run.exec_task = asyncio.create_task(self._execute(wf, claim))
        heartbeat = asyncio.create_task(self._heartbeat_loop(run, wf))
        try:
            done, _ = await asyncio.wait({run.exec_task}, timeout=_local_timeout(wf))
            if not done:
                run.exec_task.cancel()
                run.timed_out = True
            outcome = await _settle(run.exec_task)
            took = time.monotonic() - started
            await self._report(run, wf, outcome, took)
        finally:
            heartbeat.cancel()

    async def _execute(self, wf: Workflow, claim: Claim) -> Result:
        _current_claim.set(claim)
        _current_client.set(self.client)
        if is_async_execute(wf):
            value = await wf.execute(claim.input)  # type: ignore[misc]
        else:
            value = await _in_daemon_thread(wf.execute, claim.input)
            if inspect.isawaitable(value):
                value = await value
        return _to_result(value)

    async def _report(self, run: _Run, wf: Workflow, outcome: "_Outcome", took: float) -> None:
        claim = run.claim
        if run.lease_lost.is_set():
            self.stats["lost"] += 1
            log.warning("%s %s: lease lost after %.1fs; run abandoned", claim.type, claim.id, took)
            return
        if outcome.cancelled:
            if run.timed_out:
                msg = f"timed out after {wf.timeout_seconds}s (attempt {claim.attempt})"
                await self._finish(run, "fail", msg, True)
            elif run.shutdown:
                if claim.max_attempts and claim.attempt >= claim.max_attempts:
                    log.warning(
                        "%s %s: shut down on its last attempt; leaving it to lease expiry",
                        claim.type, claim.id,
                    )
                    return
                self.stats["released"] += 1
                await self._finish(
                    run, "fail", f"worker shut down before the run finished (attempt {claim.attempt})", True
                )
            return
        if outcome.error is not None:
            e = outcome.error
            retryable = not isinstance(e, FatalError)
            msg = _error_text(e)
            log.warning(
                "%s %s failed after %.1fs (%s): %s", claim.type, claim.id, took,
                "will retry" if retryable else "fatal", msg,
                exc_info=e if retryable and not isinstance(e, TimeoutError) else None,
            )
            await self._finish(run, "fail", msg, retryable)
            return
        result = outcome.result
        assert result is not None
        try:
            await self._finish(run, "complete", result)
        except BadInputError as e:
            where = f" at {e.field}" if e.field else ""
            msg = f"{claim.type} returned a result Baton refused{where}: {e.message}"
            log.error("%s %s: %s", claim.type, claim.id, msg)
            self.stats["invalid"] += 1
            await self._finish(run, "fail", msg, False)
            return
        log.info("completed %s %s in %.2fs", claim.type, claim.id, took)

    async def _finish(self, run: _Run, verb: str, *args: Any) -> None:
        """completeWorkflow / failWorkflow, retried on transport errors while
        the lease is ours. ``BadInputError`` from complete propagates (the
        caller fails the run); conflicts are logged: someone else has it."""
        client = self._ensure_client()
        claim = run.claim
        backoff = _Backoff(cap=5.0)
        give_up = time.monotonic() + max(60.0, 2 * self.lease_seconds)
        while True:
            try:
                if verb == "complete":
                    r: Result = args[0]
                    await client.complete(claim.handle, r.output, r.artifact, r.score)
                    self.stats["completed"] += 1
                else:
                    msg, retryable = args
                    await client.fail(claim.handle, msg[:_MAX_ERROR_CHARS], retryable)
                    self.stats["failed"] += 1
                return
            except ConflictError as e:
                self.stats["lost"] += 1
                log.warning("%s %s: %s refused, the claim is stale (%s)", claim.type, claim.id, verb, e)
                return
            except BadInputError:
                if verb == "complete":
                    raise
                log.error("%s %s: failWorkflow refused", claim.type, claim.id, exc_info=True)
                return
            except TransportError as e:
                if run.lease_lost.is_set() or time.monotonic() > give_up or (
                    self._hard_stop is not None and self._hard_stop.is_set()
                ):
                    log.error("%s %s: could not %s (%s); its lease will expire", claim.type, claim.id, verb, e)
                    return
                delay = backoff.after(e)
                log.warning("%s %s: %s failed (%s); retrying in %.1fs", claim.type, claim.id, verb, e, delay)
                await asyncio.sleep(delay)
            except BatonError as e:
                log.error("%s %s: %s refused: %s (%s)", claim.type, claim.id, verb, e, e.code)
                return

    async def _heartbeat_loop(self, run: _Run, wf: Workflow) -> None:
        client = self._ensure_client()
        # Baton caps a lease at the type's timeout; beat three times per lease.
        lease = min(self.lease_seconds, wf.timeout_seconds or self.lease_seconds)
        interval = max(lease / 3, 0.2)
        delay = interval
        while True:
            await asyncio.sleep(delay)
            try:
                await client.heartbeat(run.claim.handle, self.lease_seconds)
                delay = interval
            except ConflictError:
                run.lease_lost.set()
                if run.exec_task is not None and not run.exec_task.done():
                    run.exec_task.cancel()
                return
            except (TransportError, BatonError) as e:
                log.warning("%s %s: heartbeat failed (%s)", run.claim.type, run.claim.id, e)
                delay = min(interval, 1.0)

    async def _drain(self) -> None:
        """After a stop: wait for running workflows (grace), then cancel them."""
        assert self._hard_stop is not None
        if not self._running:
            return
        tasks = set(self._running)
        hard = asyncio.ensure_future(self._hard_stop.wait())
        deadline = time.monotonic() + self.shutdown_grace
        while tasks and not self._hard_stop.is_set():
            tasks = {t for t in tasks if not t.done()}
            remaining = deadline - time.monotonic()
            if not tasks or remaining <= 0:
                break
            await asyncio.wait(tasks | {hard}, timeout=remaining, return_when=asyncio.FIRST_COMPLETED)
        hard.cancel()
        still = [t for t in self._running if not t.done()]
        if still:
            log.warning("grace period over: giving back %d unfinished workflow(s)", len(still))
            for t in still:
                run = self._running[t]
                run.shutdown = True
                if run.exec_task is not None and not run.exec_task.done():
                    run.exec_task.cancel()
            await asyncio.wait(still, timeout=15)


class _Run:
    """One claim being worked on."""

    def __init__(self, claim: Claim) -> None:
        self.claim = claim
        self.exec_task: asyncio.Task[Result] | None = None
        self.lease_lost = asyncio.Event()
        self.timed_out = False
        self.shutdown = False


class _Outcome:
    def __init__(self, result: Result | None = None, error: BaseException | None = None,
                 cancelled: bool = False) -> None:
        self.result, self.error, self.cancelled = result, error, cancelled


async def _settle(task: "asyncio.Task[Result]") -> _Outcome:
    try:
        return _Outcome(result=await task)
    except asyncio.CancelledError:
        if task.cancelled():
            return _Outcome(cancelled=True)
        raise  # our own task is being cancelled
    except Exception as e:  # noqa: BLE001 - any failure of user code is reported
        return _Outcome(error=e)


def _local_timeout(wf: Workflow) -> float | None:
    """When to give up on a run here: a little before the type's timeout.
    Baton's deadline counts from the claim and caps the lease at it, so a
    worker that waited the full timeout would find the lease already
    expired (and the error would say the lease lapsed, not that it timed
    out)."""
    if not wf.timeout_seconds:
        return None
    return wf.timeout_seconds - min(0.1 * wf.timeout_seconds, 2.0)


def _to_result(value: Any) -> Result:
    if isinstance(value, Result):
        return value
    if value is None:
        return Result()
    if isinstance(value, Mapping):
        return Result(output=dict(value))
    raise FatalError(
        f"execute returned {type(value).__name__}; expected a dict (the output) or a Result"
    )


def _error_text(e: BaseException) -> str:
    text = str(e)
    name = type(e).__name__
    if isinstance(e, FatalError) and text:
        return text
    return f"{name}: {text}" if text else name


def _in_daemon_thread(fn: Callable[..., Any], *args: Any) -> "asyncio.Future[Any]":
    """Runs a blocking ``execute`` in a daemon thread, so a stuck one never
    keeps the process from exiting after shutdown (a thread pool would)."""
    loop = asyncio.get_running_loop()
    fut: asyncio.Future[Any] = loop.create_future()
    ctx = contextvars.copy_context()

    def settle(ok: bool, value: Any) -> None:
        if fut.done():
            return
        if ok:
            fut.set_result(value)
        else:
            fut.set_exception(value)

    def target() -> None:
        try:
            value = ctx.run(fn, *args)
        except BaseException as e:  # noqa: BLE001 - handed to the loop
            ok, value = False, e
        else:
            ok = True
        try:
            loop.call_soon_threadsafe(settle, ok, value)
        except RuntimeError:  # the loop is closed: nobody waits any more
            pass

    threading.Thread(target=target, daemon=True, name=f"baton-execute-{id(fut):x}").start()
    return fut


def _fmt_stats(stats: Mapping[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in stats.items())
