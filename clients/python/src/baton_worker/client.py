"""GraphQL clients for Baton: :class:`Client` (blocking) and :class:`AsyncClient`.

Both send ``Authorization: Bearer <token>`` to ``POST {url}/graphql`` and
raise the exceptions of :mod:`baton_worker.errors` on GraphQL errors. Neither
retries: a worker loop decides what to retry (:class:`~baton_worker.Worker`
retries :class:`~baton_worker.TransportError` with backoff).

The operations are written once (:class:`_Operations`); each client only
supplies ``_execute``, which returns the converted value (``Client``) or an
awaitable of it (``AsyncClient``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Iterable, Mapping, TypeVar

import httpx

from .errors import (
    AuthError,
    BatonError,
    RateLimitedError,
    TransportError,
    error_from_graphql,
    retry_after_seconds,
)
from .workflow import Workflow

T = TypeVar("T")

#: The fields every workflow-returning operation selects.
WORKFLOW_FIELDS = """
  id type typeVersion status input output error attempt maxAttempts chainId
  runAfter createdAt startedAt completedAt
  approval {
    id status artifactType artifactVersion artifactSha256 score feedback
    nextWorkflow { id type status }
  }
"""

WORKFLOW_TYPE_FIELDS = """
  name description inputSchema requiresApproval version builtIn outputSchema
  artifactSchema artifactKind configSchema
  nextOnApprove { workflowType input requiresFeedback }
  nextOnReject { workflowType input requiresFeedback }
  timeoutSeconds maxAttempts retryBaseSeconds declaredBy declaredAt
"""


@dataclass
class Claim:
    """A claimed workflow: run it, then complete or fail it with ``handle``."""

    #: Opaque fencing token; pass it back verbatim.
    handle: str
    #: The workflow as claimed (``id``, ``type``, ``input``, ``attempt``, ...).
    workflow: dict[str, Any] = field(repr=False)
    lease_expires_at: str = ""

    @property
    def id(self) -> str:
        return str(self.workflow["id"])

    @property
    def type(self) -> str:
        return str(self.workflow.get("type") or self.workflow.get("workflowType") or "")

    @property
    def input(self) -> dict[str, Any]:
        return dict(self.workflow.get("input") or {})

    @property
    def attempt(self) -> int:
        return int(self.workflow.get("attempt") or 0)

    @property
    def max_attempts(self) -> int:
        return int(self.workflow.get("maxAttempts") or 0)

    @property
    def chain_id(self) -> str | None:
        return self.workflow.get("chainId")

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Claim":
        return cls(
            handle=data["handle"],
            workflow=dict(data["workflow"]),
            lease_expires_at=data.get("leaseExpiresAt") or "",
        )


def _graphql_url(url: str) -> str:
    url = url.rstrip("/")
    return url if url.endswith("/graphql") else url + "/graphql"


def _headers(token: str | None) -> dict[str, str]:
    h = {"Content-Type": "application/json", "Accept": "application/json"}
    if token:
        h["Authorization"] = f"Bearer {token}"
    return h


def _decode(response: httpx.Response) -> Any:
    """The ``data`` of a GraphQL answer, or the exception it stands for."""
    try:
        body = response.json()
    except (json.JSONDecodeError, ValueError):
        body = None
    retry_after = response.headers.get("Retry-After")
    if isinstance(body, dict) and body.get("errors"):
        raise error_from_graphql(body["errors"], retry_after=retry_after)
    if response.status_code in (401, 403):
        code = "UNAUTHENTICATED" if response.status_code == 401 else "FORBIDDEN"
        raise AuthError(f"HTTP {response.status_code}", code=code)
    if response.status_code == 429:  # a proxy's limit: no GraphQL body
        raise RateLimitedError(
            f"HTTP 429 from {response.url}",
            retry_after_seconds=retry_after_seconds(retry_after) or 1,
        )
    if response.status_code >= 500 or response.status_code == 408:
        raise TransportError(f"HTTP {response.status_code} from {response.url}")
    if not isinstance(body, dict) or "data" not in body:
        raise BatonError(f"HTTP {response.status_code}: not a GraphQL answer")
    return body["data"]


def _claim_timeout(wait_seconds: int, base: httpx.Timeout) -> httpx.Timeout:
    # A long poll holds the request open for up to wait_seconds.
    read = (base.read or 30.0) + wait_seconds
    return httpx.Timeout(base.connect, read=read, write=base.write, pool=base.pool)


class _Operations:
    """Baton's operations, shared by both clients."""

    timeout: httpx.Timeout

    def _execute(
        self,
        query: str,
        variables: Mapping[str, Any] | None,
        convert: Callable[[Any], Any],
        timeout: httpx.Timeout | None = None,
    ) -> Any:  # pragma: no cover - implemented by the clients
        raise NotImplementedError

    def graphql(self, query: str, variables: Mapping[str, Any] | None = None) -> Any:
        """Any operation: returns ``data`` (raises on errors)."""
        return self._execute(query, variables, lambda d: d)

    # ---- types -----------------------------------------------------------

    def declare(self, workflow: Workflow | Mapping[str, Any]) -> Any:
        """``declareWorkflowType`` (ADMIN): returns the ``WorkflowType``.
        Identical content returns the existing version; a change makes a new one."""
        spec = workflow.declaration() if isinstance(workflow, Workflow) else dict(workflow)
        q = (
            "mutation($input: DeclareWorkflowTypeInput!) {"
            f" declareWorkflowType(input: $input) {{ {WORKFLOW_TYPE_FIELDS} }} }}"
        )
        return self._execute(q, {"input": spec}, lambda d: d["declareWorkflowType"])

    def workflow_type(self, name: str, version: int | None = None) -> Any:
        """The declared (or built-in) type, or ``None``."""
        q = (
            "query($name: String!, $version: Int) {"
            f" workflowType(name: $name, version: $version) {{ {WORKFLOW_TYPE_FIELDS} }} }}"
        )
        return self._execute(q, {"name": name, "version": version}, lambda d: d["workflowType"])

    def workflow_types(self) -> Any:
        q = f"query {{ workflowTypes {{ {WORKFLOW_TYPE_FIELDS} }} }}"
        return self._execute(q, None, lambda d: d["workflowTypes"])

    # ---- running and reading workflows -------------------------------------

    def run(
        self,
        type: str,
        input: Mapping[str, Any],
        *,
        idempotency_key: str | None = None,
        wait: bool = False,
        wait_timeout_ms: int | None = None,
    ) -> Any:
        """``runWorkflow``: returns the workflow (with its approval once finished)."""
        run_input: dict[str, Any] = {"type": type, "input": dict(input), "wait": wait}
        if idempotency_key is not None:
            run_input["idempotencyKey"] = idempotency_key
        if wait_timeout_ms is not None:
            run_input["waitTimeoutMs"] = wait_timeout_ms
        q = (
            "mutation($input: RunWorkflowInput!) { runWorkflow(input: $input) {"
            f" workflow {{ {WORKFLOW_FIELDS} }} }} }}"
        )
        timeout = None
        if wait:
            timeout = _claim_timeout(int((wait_timeout_ms or 30_000) / 1000) + 1, self.timeout)
        return self._execute(q, {"input": run_input}, lambda d: d["runWorkflow"]["workflow"], timeout)

    def workflow(self, id: str) -> Any:
        """The workflow, or ``None``."""
        q = f"query($id: ID!) {{ workflow(id: $id) {{ {WORKFLOW_FIELDS} }} }}"
        return self._execute(q, {"id": id}, lambda d: d["workflow"])

    def artifact(self, id: str) -> Any:
        """An artifact version: ``id kind content version sha256 author``."""
        q = (
            "query($id: ID!) { artifact(id: $id) {"
            " id kind content version sha256 author createdAt } }"
        )
        return self._execute(q, {"id": id}, lambda d: d["artifact"])

    def cancel(self, id: str) -> Any:
        q = f"mutation($id: ID!) {{ cancelWorkflow(id: $id) {{ {WORKFLOW_FIELDS} }} }}"
        return self._execute(q, {"id": id}, lambda d: d["cancelWorkflow"])

    # ---- the worker protocol ---------------------------------------------

    def claim(
        self,
        types: Iterable[str],
        limit: int = 1,
        lease_seconds: int = 60,
        wait_seconds: int = 0,
    ) -> Any:
        """``claimWorkflows``: up to ``limit`` claims of ``types`` (declared
        types only). With ``wait_seconds`` > 0 it long-polls: answers as soon
        as something is claimable, or ``[]`` after ``wait_seconds``."""
        q = (
            "mutation($types: [String!]!, $limit: Int!, $lease: Int!, $wait: Int!) {"
            " claimWorkflows(types: $types, limit: $limit, leaseSeconds: $lease,"
            f" waitSeconds: $wait) {{ handle leaseExpiresAt workflow {{ {WORKFLOW_FIELDS} }} }} }}"
        )
        variables = {
            "types": list(types),
            "limit": limit,
            "lease": lease_seconds,
            "wait": wait_seconds,
        }
        return self._execute(
            q,
            variables,
            lambda d: [Claim.from_json(c) for c in d["claimWorkflows"]],
            _claim_timeout(wait_seconds, self.timeout),
        )

    def heartbeat(self, handle: str | Claim, lease_seconds: int | None = None) -> Any:
        """Renews the lease; returns the new expiry. ``ConflictError``: the
        lease was lost (someone else holds the workflow now)."""
        if lease_seconds is None:  # the server's default
            q = "mutation($h: String!) { heartbeat(handle: $h) }"
            variables: dict[str, Any] = {"h": _handle(handle)}
        else:
            q = "mutation($h: String!, $l: Int!) { heartbeat(handle: $h, leaseSeconds: $l) }"
            variables = {"h": _handle(handle), "l": lease_seconds}
        return self._execute(q, variables, lambda d: d["heartbeat"])

    def complete(
        self,
        handle: str | Claim,
        output: Any = None,
        artifact: Any = None,
        score: float | None = None,
    ) -> Any:
        """``completeWorkflow``: returns the workflow (its ``approval`` is
        PENDING when the type requires one). ``BadInputError`` when output or
        artifact break their schema: the claim stays open, fix and call again."""
        q = (
            "mutation($h: String!, $o: JSON, $a: JSON, $s: Float) {"
            " completeWorkflow(handle: $h, output: $o, artifact: $a, score: $s) {"
            f" {WORKFLOW_FIELDS} }} }}"
        )
        variables = {"h": _handle(handle), "o": output, "a": artifact, "s": score}
        return self._execute(q, variables, lambda d: d["completeWorkflow"])

    def fail(self, handle: str | Claim, error: str, retryable: bool = True) -> Any:
        """``failWorkflow``: PENDING again (after backoff) when retryable and
        attempts remain, else FAILED."""
        q = (
            "mutation($h: String!, $e: String!, $r: Boolean!) {"
            f" failWorkflow(handle: $h, error: $e, retryable: $r) {{ {WORKFLOW_FIELDS} }} }}"
        )
        variables = {"h": _handle(handle), "e": error, "r": retryable}
        return self._execute(q, variables, lambda d: d["failWorkflow"])

    # ---- review ------------------------------------------------------------

    def approval(self, id: str) -> Any:
        q = (
            "query($id: ID!) { approval(id: $id) { id status artifactType artifactData"
            " artifactVersion artifactSha256 score feedback nextWorkflowType"
            " artifact { id version sha256 content }"
            " workflow { id type } nextWorkflow { id type status input } } }"
        )
        return self._execute(q, {"id": id}, lambda d: d["approval"])

    def approve(
        self,
        id: str,
        version: int,
        feedback: str | None = None,
        edits: Mapping[str, Any] | None = None,
    ) -> Any:
        """Votes to approve artifact ``version`` (``Approval.artifactVersion``).
        Returns ``{approval, nextWorkflow}``."""
        q = (
            "mutation($id: ID!, $v: Int!, $f: String, $e: JSON) {"
            " approve(id: $id, version: $v, feedback: $f, edits: $e) {"
            " approval { id status feedback artifactVersion }"
            " nextWorkflow { id type status input } } }"
        )
        variables = {"id": id, "v": version, "f": feedback, "e": edits}
        return self._execute(q, variables, lambda d: d["approve"])

    def reject(self, id: str, version: int, feedback: str | None = None) -> Any:
        """Votes to reject; returns ``{approval, nextWorkflow}``."""
        q = (
            "mutation($id: ID!, $v: Int!, $f: String) {"
            " reject(id: $id, version: $v, feedback: $f) {"
            " approval { id status feedback artifactVersion }"
            " nextWorkflow { id type status input } } }"
        )
        return self._execute(q, {"id": id, "v": version, "f": feedback}, lambda d: d["reject"])


def _handle(h: str | Claim) -> str:
    return h.handle if isinstance(h, Claim) else h


class Client(_Operations):
    """A blocking client::

        with Client("http://127.0.0.1:8080", token) as baton:
            wf = baton.run("summarize", {"text": "..."})
    """

    def __init__(
        self,
        url: str,
        token: str | None = None,
        *,
        timeout: float | httpx.Timeout = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = _graphql_url(url)
        self.timeout = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
        self._http = httpx.Client(headers=_headers(token), timeout=self.timeout, transport=transport)

    def _execute(self, query, variables, convert, timeout=None):  # type: ignore[override]
        body = {"query": query, "variables": dict(variables or {})}
        try:
            response = self._http.post(self.url, json=body, timeout=timeout or self.timeout)
        except httpx.HTTPError as e:
            raise TransportError(f"{type(e).__name__}: {e}") from e
        return convert(_decode(response))

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:  # never shows the token
        return f"<Client {self.url}>"


class AsyncClient(_Operations):
    """The same operations as :class:`Client`, each a coroutine::

        async with AsyncClient(url, token) as baton:
            claims = await baton.claim(["summarize"], wait_seconds=20)
    """

    def __init__(
        self,
        url: str,
        token: str | None = None,
        *,
        timeout: float | httpx.Timeout = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
        max_connections: int = 100,
    ) -> None:
        self.url = _graphql_url(url)
        self.timeout = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
        self._http = httpx.AsyncClient(
            headers=_headers(token),
            timeout=self.timeout,
            transport=transport,
            limits=httpx.Limits(max_connections=max_connections),
        )

    def _execute(self, query, variables, convert, timeout=None) -> Awaitable[Any]:  # type: ignore[override]
        async def go() -> Any:
            body = {"query": query, "variables": dict(variables or {})}
            try:
                response = await self._http.post(self.url, json=body, timeout=timeout or self.timeout)
            except httpx.HTTPError as e:
                raise TransportError(f"{type(e).__name__}: {e}") from e
            return convert(_decode(response))

        return go()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> "AsyncClient":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:  # never shows the token
        return f"<AsyncClient {self.url}>"
