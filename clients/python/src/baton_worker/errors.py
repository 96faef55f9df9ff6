"""Exceptions: what Baton answered, as types a worker can act on.

Baton's GraphQL errors carry ``extensions.code`` from a closed table
(``BAD_USER_INPUT``, ``CONFLICT``, ``UNAUTHENTICATED``, ``FORBIDDEN``,
``NOT_FOUND``, ``INTERNAL_SERVER_ERROR``, ``GRAPHQL_VALIDATION_FAILED``,
``UNAVAILABLE``, ``RATE_LIMITED``); :func:`error_from_graphql` maps the first
error of an answer to one class below. :class:`TransportError` is for
everything that never reached a GraphQL answer (connection refused, timeouts,
5xx without a GraphQL body) and, through its subclasses, for answers that say
"nothing was done, try again later": :class:`UnavailableError` (Baton is up but
its database is not) and :class:`RateLimitedError` (too many runs or votes in a
short time, with ``retry_after_seconds``). The worker loop retries those with
backoff, never sooner than a rate limit's ``retry_after_seconds``.

:class:`FatalError` is different: *your* ``execute`` raises it to say that
retrying cannot help; the worker then fails the workflow with
``retryable: false``.
"""

from __future__ import annotations

import math
from typing import Any


class BatonError(Exception):
    """Base class of every error this package raises about Baton's answers."""

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        field: str | None = None,
        errors: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.field = field
        #: Every GraphQL error of the answer, as Baton sent them.
        self.errors = errors or []

    @property
    def extensions(self) -> dict[str, Any]:
        """The first error's ``extensions`` (e.g. ``currentVersion`` on a stale vote)."""
        if self.errors:
            return dict(self.errors[0].get("extensions") or {})
        return {}


class ConflictError(BatonError):
    """``CONFLICT``: a stale claim handle (the lease expired and someone else
    claimed the workflow, or it was cancelled or already finished), a second
    decision on an approval, a stale artifact version. Nothing was written."""


class BadInputError(BatonError):
    """``BAD_USER_INPUT``: the request was refused and nothing changed.

    ``field`` names what was wrong (e.g. ``output.title``) when Baton said.
    For ``completeWorkflow`` the claim stays open: fix the result and call again.
    """


class AuthError(BatonError):
    """``UNAUTHENTICATED`` (no or bad token) or ``FORBIDDEN`` (the token's role
    may not do this, e.g. a viewer claiming or a non-admin declaring)."""


class NotFoundError(BatonError):
    """``NOT_FOUND``: no such workflow, approval, artifact or type."""


class TransportError(BatonError):
    """No GraphQL answer: connection refused or reset, timeout, or an HTTP
    error without a GraphQL body (e.g. a proxy's 502). Its subclasses are
    answers that say nothing was done (:class:`UnavailableError`,
    :class:`RateLimitedError`). Safe to retry."""


class UnavailableError(TransportError):
    """``UNAVAILABLE``: Baton answered but cannot reach its database right now
    (a PostgreSQL restart, a failover). Nothing was done; retry with backoff."""


class RateLimitedError(TransportError):
    """``RATE_LIMITED``: this token started too many runs or cast too many votes
    in a short time (``BATON_RATE_RUNS_PER_MIN``, ``BATON_RATE_DECISIONS_PER_MIN``),
    or a proxy in front of Baton answered HTTP 429. Nothing was done; the same
    request is taken again after :attr:`retry_after_seconds`."""

    def __init__(self, message: str, *, retry_after_seconds: int = 1, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        #: Whole seconds to wait before trying again (at least 1).
        self.retry_after_seconds = max(1, int(retry_after_seconds))


class FatalError(Exception):
    """Raise it from ``execute`` when a retry cannot help: the worker calls
    ``failWorkflow(retryable: false)`` and the workflow becomes ``FAILED``.
    Any other exception is retried while attempts remain."""


#: Alias: some prefer the name that says what it means for the queue.
NonRetryable = FatalError


_BY_CODE: dict[str, type[BatonError]] = {
    "CONFLICT": ConflictError,
    "BAD_USER_INPUT": BadInputError,
    "UNAUTHENTICATED": AuthError,
    "FORBIDDEN": AuthError,
    "NOT_FOUND": NotFoundError,
    "UNAVAILABLE": UnavailableError,
    "RATE_LIMITED": RateLimitedError,
}


def retry_after_seconds(value: Any) -> int | None:
    """Whole seconds from ``extensions.retryAfterSeconds`` or a ``Retry-After``
    header given in seconds (an HTTP date, or nothing usable, is ``None``)."""
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return None
    if seconds != seconds or seconds < 0:  # NaN or negative
        return None
    return max(1, math.ceil(seconds))


def error_from_graphql(
    errors: list[dict[str, Any]], *, retry_after: str | None = None
) -> BatonError:
    """The exception for a GraphQL ``errors`` list (the first error decides).
    ``retry_after`` is the answer's ``Retry-After`` header, used by a rate
    limit whose error does not say ``retryAfterSeconds``."""
    first = errors[0] if errors else {}
    ext = first.get("extensions") or {}
    code = ext.get("code")
    message = str(first.get("message") or "unknown error")
    cls = _BY_CODE.get(code or "", BatonError)
    field = ext.get("field")
    if cls is RateLimitedError:
        wait = retry_after_seconds(ext.get("retryAfterSeconds")) or retry_after_seconds(retry_after) or 1
        return RateLimitedError(message, code=code, field=field, errors=errors, retry_after_seconds=wait)
    return cls(message, code=code, field=field, errors=errors)
