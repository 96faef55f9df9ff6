"""A LangGraph graph as the body of a Baton workflow, with review between steps.

LangGraph runs *inside* one workflow (outline -> draft, two nodes of a
``StateGraph``); the human review sits *between* workflows, in Baton. There is
no ``interrupt()``, no checkpointer and nothing waiting: ``lg_draft`` runs to
completion and stores its artifact; Baton opens an approval; when a reviewer
approves, Baton starts ``lg_publish`` (declared here too) with the reviewer's
feedback and the approved artifact's id, version and SHA-256.

The model is a deterministic fake unless ``OPENAI_BASE_URL`` is set, in which
case the nodes call that OpenAI-compatible endpoint (``OPENAI_API_KEY``,
``OPENAI_MODEL``) with httpx.

Run it (an admin token declares the two types on start)::

    pip install ./clients/python -r examples/python/requirements.txt
    BATON_URL=http://127.0.0.1:8080 BATON_TOKEN=baton_... \\
        baton-worker --declare examples/python/langgraph_review.py
    # or: python examples/python/langgraph_review.py

then start one from the review app or GraphQL::

    mutation { runWorkflow(input: {type: "lg_draft", input: {topic: "otters"}}) { workflow { id } } }
"""

from __future__ import annotations

import os
from typing import Any, TypedDict

import httpx
from langgraph.graph import END, START, StateGraph

from baton_worker import FatalError, Result, Workflow, current_client, workflow


# ---- the model --------------------------------------------------------------------


def llm(prompt: str) -> str:
    """One chat completion: the OpenAI-compatible endpoint if configured,
    else a deterministic fake (named as such in its answers)."""
    base = os.environ.get("OPENAI_BASE_URL")
    if not base:
        return fake_llm(prompt)
    headers = {}
    if os.environ.get("OPENAI_API_KEY"):
        headers["Authorization"] = f"Bearer {os.environ['OPENAI_API_KEY']}"
    r = httpx.post(
        base.rstrip("/") + "/chat/completions",
        headers=headers,
        json={
            "model": os.environ.get("OPENAI_MODEL", "gpt-4o-mini"),
            "messages": [{"role": "user", "content": prompt}],
            "temperature": 0.7,
        },
        timeout=60,
    )
    if r.status_code == 429 or r.status_code >= 500:
        r.raise_for_status()  # an exception: the worker fails the run as retryable
    if r.status_code >= 400:
        raise FatalError(f"model endpoint refused the request: HTTP {r.status_code} {r.text[:300]}")
    return r.json()["choices"][0]["message"]["content"]


def fake_llm(prompt: str) -> str:
    """Deterministic stand-in for a model (offline demos and tests)."""
    topic = prompt.split("TOPIC:", 1)[-1].split("\n", 1)[0].strip() or "the topic"
    if prompt.startswith("OUTLINE"):
        return f"- Why {topic} matters\n- What most people get wrong about {topic}\n- One thing to try"
    points = [l[2:] for l in prompt.splitlines() if l.startswith("* ")]
    body = " ".join(f"{p}: a short paragraph by the offline fake model." for p in points)
    if "FEEDBACK:" in prompt:
        body += " (Revised after: " + prompt.split("FEEDBACK:", 1)[1].strip() + ")"
    return body


# ---- the graph ----------------------------------------------------------------------


class DraftState(TypedDict, total=False):
    topic: str
    feedback: str
    outline: list[str]
    draft: str


def outline_node(state: DraftState) -> dict[str, Any]:
    text = llm(f"OUTLINE: three bullet points for a short post.\nTOPIC: {state['topic']}")
    points = [l.strip().lstrip("-*• ").strip() for l in text.splitlines() if l.strip()]
    return {"outline": points[:5]}


def draft_node(state: DraftState) -> dict[str, Any]:
    prompt = "DRAFT: write one paragraph per point.\nTOPIC: {}\n{}".format(
        state["topic"], "\n".join(f"* {p}" for p in state["outline"])
    )
    if state.get("feedback"):
        prompt += f"\nFEEDBACK: {state['feedback']}"
    return {"draft": llm(prompt)}


def build_graph() -> Any:
    g = StateGraph(DraftState)
    g.add_node("outline", outline_node)
    g.add_node("draft", draft_node)
    g.add_edge(START, "outline")
    g.add_edge("outline", "draft")
    g.add_edge("draft", END)
    return g.compile()


GRAPH = build_graph()


# ---- the workflow types ------------------------------------------------------------------


class LgDraft(Workflow):
    """Outlines and drafts a short post with a LangGraph graph; a person reviews it."""

    name = "lg_draft"
    description = "Outline and draft a short post (LangGraph), reviewed before publishing"
    input_schema = {
        "type": "object",
        "required": ["topic"],
        "properties": {
            "topic": {"type": "string", "minLength": 1, "title": "Topic"},
            "feedback": {"type": "string", "title": "Notes for the writer"},
        },
    }
    output_schema = {
        "type": "object",
        "required": ["outline_points", "words"],
        "properties": {"outline_points": {"type": "integer"}, "words": {"type": "integer"}},
    }
    artifact_schema = {
        "type": "object",
        "required": ["title", "body"],
        "properties": {
            "title": {"type": "string"},
            "body": {"type": "string"},
            "outline": {"type": "array", "items": {"type": "string"}},
        },
    }
    artifact_kind = "draft"
    requires_approval = True
    next_workflow_type = "lg_publish"
    next_input = {"channel": "blog"}
    timeout_seconds = 300
    max_attempts = 3

    def execute(self, input: dict[str, Any]) -> Result:
        # A plain (sync) execute runs in a thread, so LangGraph's blocking
        # invoke never stalls the worker's heartbeats.
        state = GRAPH.invoke({"topic": input["topic"], "feedback": input.get("feedback", "")})
        return Result(
            output={"outline_points": len(state["outline"]), "words": len(state["draft"].split())},
            artifact={"title": input["topic"].strip().capitalize(), "body": state["draft"],
                      "outline": state["outline"]},
        )


@workflow(
    name="lg_publish",
    description="Publishes an approved lg_draft",
    input_schema={
        "type": "object",
        "required": ["approved", "artifact_id", "artifact_sha256"],
        "properties": {
            "approved": {"type": "boolean"},
            "artifact_id": {"type": "string"},
            "artifact_version": {"type": "integer"},
            "artifact_sha256": {"type": "string"},
            "feedback": {"type": ["string", "null"]},
            "channel": {"type": "string"},
        },
    },
)
async def lg_publish(input: dict[str, Any]) -> dict[str, Any]:
    """Reads exactly the version the reviewer approved (a reviewer's edit is a
    new version) and "publishes" it."""
    artifact = await current_client().artifact(input["artifact_id"])
    if artifact is None or artifact["sha256"] != input["artifact_sha256"]:
        raise FatalError("the approved artifact is not the one Baton named")
    content = artifact["content"]
    return {
        "published": True,
        "channel": input.get("channel", "blog"),
        "title": content["title"],
        "words": len(content["body"].split()),
        "reviewer_feedback": input.get("feedback"),
        "sha256": artifact["sha256"],
    }


WORKFLOWS = [LgDraft, lg_publish]


if __name__ == "__main__":
    import logging

    from baton_worker import Worker

    logging.basicConfig(level=logging.INFO)
    Worker(
        WORKFLOWS,
        url=os.environ.get("BATON_URL", "http://127.0.0.1:8080"),
        token=os.environ["BATON_TOKEN"],
        declare=os.environ.get("BATON_WORKER_DECLARE", "1") == "1",
    ).run_forever()
