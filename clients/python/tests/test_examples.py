"""The examples in examples/python, end to end against the server."""

from __future__ import annotations

import importlib.util
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any, Iterator

import pytest

from baton_worker.cli import main as baton_worker_main
from support import REPO, BatonServer, running

EXAMPLES = REPO / "examples" / "python"


def load_example(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def completed(wf: dict[str, Any]) -> bool:
    return wf["status"] in ("COMPLETED", "FAILED")


async def declare_as_admin(baton: BatonServer, workflows: list[Any]) -> list[dict[str, Any]]:
    admin = baton.worker(workflows, token=baton.admin_token)
    try:
        return await admin.declare_types()
    finally:
        await admin.aclose()


async def test_the_langgraph_example_drafts_is_approved_and_publishes_the_approved_version(
    baton: BatonServer, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)  # the offline fake model
    lg = load_example("langgraph_review")
    declared = await declare_as_admin(baton, lg.WORKFLOWS)
    assert [t["name"] for t in declared] == ["lg_publish", "lg_draft"]
    step = declared[1]["nextOnApprove"]
    assert (step["workflowType"], step["input"]) == ("lg_publish", {"channel": "blog"})

    async with running(baton.worker(lg.WORKFLOWS)):  # the service token
        wf = baton.admin.run("lg_draft", {"topic": "otters"})
        done = await baton.await_workflow(wf["id"], completed)
        assert done["status"] == "COMPLETED", done["error"]
        assert (done["output"]["outline_points"], done["output"]["words"]) == (3, 38)
        approval = baton.admin.approval(done["approval"]["id"])
        assert approval["status"] == "PENDING" and approval["artifactType"] == "draft"
        assert approval["artifactData"]["title"] == "Otters"
        assert len(approval["artifactData"]["outline"]) == 3

        decided = baton.admin.approve(approval["id"], approval["artifactVersion"], "ship it")
        publish = await baton.await_workflow(decided["nextWorkflow"]["id"], completed)

    assert publish["status"] == "COMPLETED", publish["error"]
    out = publish["output"]
    assert (out["published"], out["channel"], out["title"], out["reviewer_feedback"]) == (
        True, "blog", "Otters", "ship it")
    assert out["sha256"] == approval["artifactSha256"]


class FakeOpenAI:
    """An OpenAI-compatible chat completions endpoint on loopback."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.requests.append({"path": self.path, "auth": self.headers.get("Authorization"),
                                      "body": body})
                n = len(fake.requests)
                answer = {
                    "id": f"chatcmpl-{n}", "object": "chat.completion", "model": body["model"],
                    "choices": [{"index": 0, "finish_reason": "stop", "message": {
                        "role": "assistant", "content": f"# Otters, take {n}\nOtters hold hands while they sleep."}}],
                    "usage": {"prompt_tokens": 10 * n, "completion_tokens": 9, "total_tokens": 10 * n + 9},
                }
                data = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake_openai(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOpenAI]:
    fake = FakeOpenAI()
    monkeypatch.setenv("OPENAI_BASE_URL", fake.url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("OPENAI_MODEL", "fake-model")
    yield fake
    fake.close()


async def test_the_openai_example_drafts_and_a_rejection_with_feedback_revises(
    baton: BatonServer, fake_openai: FakeOpenAI
):
    od = load_example("openai_draft")
    # The type's rejection starts itself.
    [declared] = await declare_as_admin(baton, od.WORKFLOWS)
    assert declared["version"] == 1
    assert declared["nextOnReject"]["workflowType"] == "openai_draft"
    assert declared["nextOnReject"]["requiresFeedback"] is True

    async with running(baton.worker(od.WORKFLOWS)):
        wf = baton.admin.run("openai_draft", {"brief": "Write about otters"})
        first = await baton.await_workflow(wf["id"], completed)
        assert first["status"] == "COMPLETED", first["error"]
        assert first["output"]["model"] == "fake-model"
        approval = baton.admin.approval(first["approval"]["id"])
        assert approval["artifactData"]["title"] == "Otters, take 1"

        decided = baton.admin.reject(approval["id"], approval["artifactVersion"], "more facts")
        assert decided["nextWorkflow"]["type"] == "openai_draft"
        second = await baton.await_workflow(decided["nextWorkflow"]["id"], completed)

    assert second["status"] == "COMPLETED", second["error"]
    assert (second["input"]["approved"], second["input"]["decision"], second["input"]["feedback"]) == (
        False, "rejected", "more facts")
    assert second["approval"]["status"] == "PENDING"
    assert baton.admin.approval(second["approval"]["id"])["artifactData"]["title"] == "Otters, take 2"
    first_call, revision = fake_openai.requests
    assert first_call["path"] == "/v1/chat/completions" and first_call["auth"] == "Bearer sk-test"
    assert revision["body"]["messages"][-1]["content"].endswith("more facts")
    assert revision["body"]["messages"][-2]["content"] == "Otters hold hands while they sleep."


def test_print_types_output_is_a_types_file_that_baton_serve_reads(tmp_path: Path, capsys):
    assert baton_worker_main(["--print-types", str(EXAMPLES / "langgraph_review.py"),
                              str(EXAMPLES / "openai_draft.py")]) == 0
    types_file = tmp_path / "types.yaml"
    types_file.write_text(capsys.readouterr().out)  # JSON is YAML
    server = BatonServer("sqlite", {"BATON_TYPES_FILE": str(types_file)})
    try:
        server.start()
        draft = server.admin.workflow_type("lg_draft")
        assert draft is not None and draft["requiresApproval"] is True
        assert draft["nextOnApprove"]["workflowType"] == "lg_publish"
        assert draft["nextOnApprove"]["input"] == {"channel": "blog"}
        assert draft["artifactKind"] == "draft" and draft["timeoutSeconds"] == 300
        revise = server.admin.workflow_type("openai_draft")["nextOnReject"]
        assert (revise["workflowType"], revise["requiresFeedback"]) == ("openai_draft", True)
    finally:
        server.stop()
