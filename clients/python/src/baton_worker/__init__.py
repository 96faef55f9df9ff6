"""baton-worker: run Baton workflow types in Python.

Declare a type (its input/output/artifact JSON Schemas, whether a person
reviews it, what runs next), run it in a :class:`Worker` that claims
workflows over GraphQL, heartbeats while ``execute`` runs, and completes or
fails them. See README.md for the protocol.
"""

from .client import AsyncClient, Claim, Client
from .errors import (
    AuthError,
    BadInputError,
    BatonError,
    ConflictError,
    FatalError,
    NonRetryable,
    NotFoundError,
    RateLimitedError,
    TransportError,
    UnavailableError,
)
from .worker import Worker
from .workflow import (
    FunctionWorkflow,
    Result,
    Workflow,
    current_claim,
    current_client,
    workflow,
)

__version__ = "0.1.0"

__all__ = [
    "AsyncClient",
    "AuthError",
    "BadInputError",
    "BatonError",
    "Claim",
    "Client",
    "ConflictError",
    "FatalError",
    "FunctionWorkflow",
    "NonRetryable",
    "NotFoundError",
    "RateLimitedError",
    "Result",
    "TransportError",
    "UnavailableError",
    "Worker",
    "Workflow",
    "current_claim",
    "current_client",
    "workflow",
]
