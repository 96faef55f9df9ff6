"""What needs no server: declarations, error mapping, loading targets."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import httpx
import pytest

from baton_worker import (
    AuthError,
    BadInputError,
    BatonError,
    Client,
    ConflictError,
    FatalError,
    NotFoundError,
    RateLimitedError,
    Result,
    TransportError,
    UnavailableError,
    Workflow,
    workflow,
)
from baton_worker.cli import load_target, main
from baton_worker.worker import _Backoff, _to_result
from baton_worker.workflow import declaration_order


class Draft(Workflow):
    name = "draft"
    input_schema = {"type": "object", "required": ["topic"]}
    artifact_schema = {"type": "object", "required": ["title"]}
    requires_approval = True
    next_workflow_type = "publish"
    next_input = {"channel": "blog"}
    on_reject_workflow_type = "draft"
    timeout_seconds = 30
    retry_base_seconds = 0.5

    def execute(self, input):
        return Result(artifact={"title": input["topic"]})


@workflow(name="publish")
def publish(input):
    """Publishes the approved draft."""
    return {"ok": True}


def test_a_class_declares_its_schemas_next_steps_and_limits_in_camel_case():
    d = Draft().declaration()
    assert d == {
        "name": "draft",
        "description": "",
        "inputSchema": {"type": "object", "required": ["topic"]},
        "artifactSchema": {"type": "object", "required": ["title"]},
        "requiresApproval": True,
        "nextOnApprove": {"workflowType": "publish", "input": {"channel": "blog"}},
        "nextOnReject": {"workflowType": "draft", "input": {}},
        "timeoutSeconds": 30,
        "retryBaseSeconds": 0.5,
    }


def test_the_yaml_declaration_uses_the_snake_case_keys_of_serve_types():
    d = Draft().yaml_declaration()
    assert d["input_schema"] == {"type": "object", "required": ["topic"]}
    assert d["next_on_approve"] == {"workflow_type": "publish", "input": {"channel": "blog"}}
    assert d["requires_approval"] is True and d["retry_base_seconds"] == 0.5


def test_a_decorated_function_is_a_workflow_that_stays_callable():
    assert publish.name == "publish"
    assert publish.description == "Publishes the approved draft."
    assert publish.declaration()["requiresApproval"] is False
    assert publish({"x": 1}) == {"ok": True}
    with pytest.raises(TypeError, match="unknown workflow attributes: next_type"):
        workflow(name="x", next_type="y")(lambda i: i)


def test_next_steps_are_declared_before_the_types_that_start_them():
    order = [w.name for w in declaration_order([Draft(), publish])]
    assert order == ["publish", "draft"]


def test_results_are_a_dict_output_a_result_or_nothing():
    assert _to_result({"a": 1}) == Result(output={"a": 1})
    assert _to_result(None) == Result()
    r = Result(output={"a": 1}, artifact={"b": 2}, score=80)
    assert _to_result(r) is r
    with pytest.raises(FatalError, match="expected a dict"):
        _to_result(["not", "a", "dict"])


def _client_answering(status: int, body: object) -> Client:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["authorization"] == "Bearer secret"
        return httpx.Response(status, json=body)

    return Client("http://baton.test", "secret", transport=httpx.MockTransport(handler))


def _error(code: str, **ext: object) -> dict:
    return {"data": None, "errors": [{"message": f"{code} happened", "extensions": {"code": code, **ext}}]}


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        ("CONFLICT", ConflictError),
        ("BAD_USER_INPUT", BadInputError),
        ("UNAUTHENTICATED", AuthError),
        ("FORBIDDEN", AuthError),
        ("NOT_FOUND", NotFoundError),
        ("INTERNAL_SERVER_ERROR", BatonError),
        ("GRAPHQL_VALIDATION_FAILED", BatonError),
        ("UNAVAILABLE", UnavailableError),
        ("RATE_LIMITED", RateLimitedError),
    ],
)
def test_each_error_code_becomes_its_exception(code, cls):
    with pytest.raises(cls) as info:
        _client_answering(200, _error(code, field="output.title")).heartbeat("h")
    assert type(info.value) is cls
    assert info.value.code == code
    assert info.value.field == "output.title"


def test_unavailable_and_rate_limited_are_transport_errors_the_worker_retries():
    assert issubclass(UnavailableError, TransportError)
    assert issubclass(RateLimitedError, TransportError)


def _client_answering_with(status: int, body: object, headers: dict[str, str]) -> Client:
    def handler(request: httpx.Request) -> httpx.Response:
        if isinstance(body, str):
            return httpx.Response(status, text=body, headers=headers)
        return httpx.Response(status, json=body, headers=headers)

    return Client("http://baton.test", "secret", transport=httpx.MockTransport(handler))


def test_a_rate_limit_says_when_to_retry_from_its_extensions_or_the_retry_after_header():
    answer = _error("RATE_LIMITED", retryAfterSeconds=12)
    with pytest.raises(RateLimitedError) as info:
        _client_answering_with(429, answer, {"Retry-After": "99"}).run("t", {})
    assert info.value.retry_after_seconds == 12  # the error's own figure wins

    with pytest.raises(RateLimitedError) as info:
        _client_answering_with(429, _error("RATE_LIMITED"), {"Retry-After": "7"}).run("t", {})
    assert info.value.retry_after_seconds == 7

    # A proxy's 429 has no GraphQL body; an HTTP date is not seconds.
    with pytest.raises(RateLimitedError) as info:
        _client_answering_with(429, "slow down", {"Retry-After": "3"}).workflow("x")
    assert (info.value.retry_after_seconds, info.value.code) == (3, None)
    with pytest.raises(RateLimitedError) as info:
        _client_answering_with(429, "", {"Retry-After": "Wed, 21 Oct 2026 07:28:00 GMT"}).workflow("x")
    assert info.value.retry_after_seconds == 1


def test_the_worker_backs_off_no_sooner_than_a_rate_limit_says():
    limited = RateLimitedError("too many runs", retry_after_seconds=7)
    assert _Backoff().after(limited) >= 7
    assert _Backoff().after(TransportError("reset")) <= 0.5


def test_a_refused_token_is_an_auth_error_even_without_a_graphql_body():
    with pytest.raises(AuthError):
        _client_answering(401, {"unexpected": True}).workflow("x")


def test_a_proxy_error_and_a_refused_connection_are_transport_errors():
    with pytest.raises(TransportError):
        _client_answering(502, "bad gateway").workflow("x")

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    c = Client("http://baton.test", "secret", transport=httpx.MockTransport(refuse))
    with pytest.raises(TransportError, match="connection refused"):
        c.workflow("x")


def test_the_client_posts_to_the_graphql_endpoint_and_never_shows_its_token():
    seen = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen["url"] = str(request.url)
        seen["body"] = json.loads(request.content)
        return httpx.Response(200, json={"data": {"claimWorkflows": []}})

    c = Client("http://baton.test/", "secret", transport=httpx.MockTransport(handler))
    assert c.claim(["a", "b"], limit=3, lease_seconds=10, wait_seconds=5) == []
    assert seen["url"] == "http://baton.test/graphql"
    assert seen["body"]["variables"] == {"types": ["a", "b"], "limit": 3, "lease": 10, "wait": 5}
    assert "secret" not in repr(c)


def test_targets_load_from_a_module_attribute_a_file_or_a_whole_file(tmp_path: Path):
    f = tmp_path / "my_flows.py"
    f.write_text(textwrap.dedent(
        """
        from baton_worker import Workflow, workflow

        class One(Workflow):
            name = "one"
            def execute(self, input):
                return {}

        @workflow(name="two")
        def two(input):
            return {}
        """
    ))
    assert [w.name for w in load_target(f"{f}:One")] == ["one"]
    assert [w.name for w in load_target(f"{f}:two")] == ["two"]
    assert sorted(w.name for w in load_target(str(f))) == ["one", "two"]


def test_print_types_writes_the_yaml_declarations(tmp_path: Path, capsys):
    f = tmp_path / "flows.py"
    f.write_text("from baton_worker import workflow\n"
                 "@workflow(name='solo', requires_approval=True)\n"
                 "def solo(input):\n    return {}\n")
    assert main(["--print-types", str(f)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out == [{"name": "solo", "description": "", "input_schema": {"type": "object"},
                    "requires_approval": True}]


async def test_a_cycle_of_two_types_is_declared_in_two_steps_and_a_self_loop_in_one():
    import httpx as _httpx

    from baton_worker import AsyncClient, Worker

    known: dict[str, dict] = {}
    sent: list[dict] = []

    def handler(request: _httpx.Request) -> _httpx.Response:
        body = json.loads(request.content)
        if "declareWorkflowType" in body["query"]:
            spec = body["variables"]["input"]
            for step in ("nextOnApprove", "nextOnReject"):
                target = (spec.get(step) or {}).get("workflowType")
                if target and target != spec["name"] and target not in known:
                    return _httpx.Response(200, json={"errors": [{"message": f"unknown {target}",
                                           "extensions": {"code": "BAD_USER_INPUT"}}]})
            sent.append(spec)
            known[spec["name"]] = spec
            return _httpx.Response(200, json={"data": {"declareWorkflowType": {"name": spec["name"], "version": len(sent)}}})
        name = body["variables"]["name"]
        return _httpx.Response(200, json={"data": {"workflowType": known.get(name)}})

    a = workflow(name="a", requires_approval=True, next_workflow_type="b")(lambda i: {})
    b = workflow(name="b", requires_approval=True, on_reject_workflow_type="a")(lambda i: {})
    me = workflow(name="me", requires_approval=True, on_reject_workflow_type="me")(lambda i: {})
    client = AsyncClient("http://fake", "t", transport=_httpx.MockTransport(handler))
    await Worker([a, b, me], client=client).declare_types()
    assert [(s["name"], "nextOnApprove" in s or "nextOnReject" in s) for s in sent] == [
        ("b", False), ("a", True), ("me", True), ("b", True)]
