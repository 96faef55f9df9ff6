"""Workflow types written in Python: a class or a decorated function.

A workflow is a short unit of work that runs to completion and may ask for a
review. This mirrors the server's built-in workflow trait: a name, a JSON
Schema for its input (and optionally for its output and artifact), whether a
person reviews the artifact, and what runs next when they approve or reject.
The review happens *between* workflows: ``execute`` never waits for a person.

Two ways to write one::

    class Summarize(Workflow):
        name = "summarize"
        input_schema = {"type": "object", "required": ["text"],
                        "properties": {"text": {"type": "string"}}}
        requires_approval = True
        next_workflow_type = "publish"

        async def execute(self, input):
            summary = input["text"][:100]
            return Result(output={"chars": len(summary)},
                          artifact={"title": "Summary", "body": summary})

    @workflow(name="publish", input_schema={"type": "object"})
    def publish(input):
        return {"published": input["artifact_id"]}

``execute`` may be ``async def`` (runs on the worker's event loop) or a plain
function (runs in a thread, so it may block). It returns a dict (the output)
or a :class:`Result`. Raise :class:`~baton_worker.FatalError` when a retry
cannot help; any other exception is retried while attempts remain.
"""

from __future__ import annotations

import contextvars
import inspect
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Mapping, Union

if TYPE_CHECKING:  # pragma: no cover
    from .client import AsyncClient, Claim

JSON = Any
ExecuteReturn = Union["Result", Mapping[str, Any], None]


@dataclass
class Result:
    """What a run produced.

    ``output`` is checked against the type's ``output_schema`` and stored on
    the workflow; ``artifact`` (checked against ``artifact_schema``) is what
    the reviewer sees when the type requires approval; ``score`` (0..100) is
    an optional quality score shown with it.
    """

    output: JSON = None
    artifact: JSON = None
    score: float | None = None


class Workflow:
    """Base class of a workflow type run by an external worker.

    Set the class attributes, implement :meth:`execute`. Attribute names are
    the snake_case of ``DeclareWorkflowTypeInput``; ``None`` leaves the
    server's default.
    """

    #: ``^[a-z][a-z0-9_]{0,63}$``, not a built-in type's name.
    name: str = ""
    description: str = ""
    #: JSON Schema of the input; ``runWorkflow`` checks it before storing.
    input_schema: Mapping[str, Any] = {"type": "object"}
    #: Checked on completion; a mismatch fails the run (not retried).
    output_schema: Mapping[str, Any] | None = None
    #: Checked on completion; the review app renders titles from it.
    artifact_schema: Mapping[str, Any] | None = None
    #: The artifact's kind (default on the server: the type's name).
    artifact_kind: str | None = None
    #: Makes the type tunable by ``run_experiment``.
    config_schema: Mapping[str, Any] | None = None
    requires_approval: bool = False
    #: Started when a reviewer approves (must be declared first, or built in).
    next_workflow_type: str | None = None
    #: Merged into the next workflow's input, beside ``feedback``,
    #: ``approved``, ``decision``, ``approval_id``, ``artifact_id``,
    #: ``artifact_version`` and ``artifact_sha256``.
    next_input: Mapping[str, Any] | None = None
    #: Started when a reviewer rejects.
    on_reject_workflow_type: str | None = None
    on_reject_input: Mapping[str, Any] | None = None
    #: Start the rejection follow-up only when the reviewer wrote feedback
    #: (server default: true).
    on_reject_requires_feedback: bool | None = None
    #: Declared to the server and enforced here: a run still going a little
    #: before it (10%, at most 2 s) is cancelled (when ``async``) and failed
    #: as retryable. Baton caps each lease at this deadline.
    timeout_seconds: int | None = None
    max_attempts: int | None = None
    #: Retry backoff base; doubles per attempt, with jitter.
    retry_base_seconds: float | None = None

    def execute(self, input: dict[str, Any]) -> ExecuteReturn | Awaitable[ExecuteReturn]:
        """Run once on ``input``; return the output dict or a :class:`Result`."""
        raise NotImplementedError(f"{type(self).__name__}.execute")

    # ---- declaration -----------------------------------------------------

    def declaration(self) -> dict[str, Any]:
        """The ``DeclareWorkflowTypeInput`` for this type (camelCase, no nulls)."""
        if not self.name:
            raise ValueError(f"{type(self).__name__} has no name")
        d: dict[str, Any] = {
            "name": self.name,
            "description": self.description or "",
            "inputSchema": dict(self.input_schema),
            "requiresApproval": bool(self.requires_approval),
        }
        optional = {
            "outputSchema": self.output_schema,
            "artifactSchema": self.artifact_schema,
            "artifactKind": self.artifact_kind,
            "configSchema": self.config_schema,
            "timeoutSeconds": self.timeout_seconds,
            "maxAttempts": self.max_attempts,
            "retryBaseSeconds": self.retry_base_seconds,
        }
        d.update({k: v for k, v in optional.items() if v is not None})
        if self.next_workflow_type:
            d["nextOnApprove"] = {
                "workflowType": self.next_workflow_type,
                "input": dict(self.next_input or {}),
            }
        if self.on_reject_workflow_type:
            step: dict[str, Any] = {
                "workflowType": self.on_reject_workflow_type,
                "input": dict(self.on_reject_input or {}),
            }
            if self.on_reject_requires_feedback is not None:
                step["requiresFeedback"] = self.on_reject_requires_feedback
            d["nextOnReject"] = step
        return d

    def yaml_declaration(self) -> dict[str, Any]:
        """The same declaration with the snake_case keys of
        ``baton serve --types FILE.yaml``."""
        d = self.declaration()
        out: dict[str, Any] = {}
        for key, value in d.items():
            if key in ("nextOnApprove", "nextOnReject"):
                value = {_snake(k): v for k, v in value.items()}
                key = "next_on_approve" if key == "nextOnApprove" else "next_on_reject"
            out[_snake(key)] = value
        return out

    def next_types(self) -> list[str]:
        """The types this one starts after a decision."""
        return [t for t in (self.next_workflow_type, self.on_reject_workflow_type) if t]

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"


class FunctionWorkflow(Workflow):
    """A workflow type whose ``execute`` is a function (see :func:`workflow`).

    The instance stays callable like the function it wraps.
    """

    def __init__(self, fn: Callable[[dict[str, Any]], Any], **attrs: Any) -> None:
        unknown = set(attrs) - _ATTRS
        if unknown:
            raise TypeError(f"unknown workflow attributes: {', '.join(sorted(unknown))}")
        for key, value in attrs.items():
            setattr(self, key, value)
        if not self.name:
            self.name = fn.__name__
        if not self.description and fn.__doc__:
            self.description = inspect.cleandoc(fn.__doc__)
        self.fn = fn
        self.__doc__ = fn.__doc__
        self.__wrapped__ = fn

    def execute(self, input: dict[str, Any]) -> Any:
        return self.fn(input)

    def __call__(self, input: dict[str, Any]) -> Any:
        return self.fn(input)

    def is_async(self) -> bool:
        return inspect.iscoroutinefunction(self.fn)


_ATTRS = {
    "name", "description", "input_schema", "output_schema", "artifact_schema",
    "artifact_kind", "config_schema", "requires_approval", "next_workflow_type",
    "next_input", "on_reject_workflow_type", "on_reject_input",
    "on_reject_requires_feedback", "timeout_seconds", "max_attempts",
    "retry_base_seconds",
}


def workflow(
    fn: Callable[[dict[str, Any]], Any] | None = None, **attrs: Any
) -> Any:
    """Make a function a workflow type: ``@workflow(name=..., input_schema=...,
    requires_approval=..., next_workflow_type=..., ...)`` (any :class:`Workflow`
    attribute). Plain ``@workflow`` uses the function's name.
    """
    if fn is not None:
        return FunctionWorkflow(fn, **attrs)
    return lambda f: FunctionWorkflow(f, **attrs)


def is_async_execute(wf: Workflow) -> bool:
    """Whether ``execute`` is a coroutine function (run on the loop, not in a thread)."""
    if isinstance(wf, FunctionWorkflow):
        return wf.is_async()
    return inspect.iscoroutinefunction(wf.execute)


def declaration_order(workflows: list[Workflow]) -> list[Workflow]:
    """Order for declaring: a type after the types it names as next steps
    (the server requires those to exist; a type may name itself). Types in
    a longer cycle are returned in input order; :meth:`Worker.declare_types`
    declares them in two steps when they do not exist yet."""
    by_name = {w.name: w for w in workflows}
    done: list[Workflow] = []
    state: dict[str, int] = {}  # 1 visiting, 2 done

    def visit(w: Workflow) -> None:
        if state.get(w.name) == 2 or state.get(w.name) == 1:
            return
        state[w.name] = 1
        for n in w.next_types():
            if n in by_name:
                visit(by_name[n])
        state[w.name] = 2
        done.append(w)

    for w in workflows:
        visit(w)
    return done


def _snake(name: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in name)


# ---- what a running execute can ask about its claim -------------------------

_current_claim: contextvars.ContextVar["Claim | None"] = contextvars.ContextVar(
    "baton_current_claim", default=None
)
_current_client: contextvars.ContextVar["AsyncClient | None"] = contextvars.ContextVar(
    "baton_current_client", default=None
)


def current_claim() -> "Claim":
    """The claim being executed (workflow id, attempt, chain, lease), inside
    ``execute``; works in ``async`` and threaded ``execute`` alike."""
    claim = _current_claim.get()
    if claim is None:
        raise RuntimeError("current_claim() is only available inside execute()")
    return claim


def current_client() -> "AsyncClient":
    """The worker's :class:`AsyncClient` (its token), inside an ``async``
    ``execute``: e.g. to read the approved artifact named by ``artifact_id``."""
    client = _current_client.get()
    if client is None:
        raise RuntimeError("current_client() is only available inside execute()")
    return client
