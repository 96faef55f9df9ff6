"""A workflow that drafts text with any OpenAI-compatible endpoint, for review.

It calls ``POST {OPENAI_BASE_URL}/chat/completions`` with httpx (no SDK), so
it works with OpenAI, vLLM, Ollama, llama.cpp's server and the like:

- ``OPENAI_BASE_URL`` (default ``https://api.openai.com/v1``),
- ``OPENAI_API_KEY`` (sent as a bearer token when set),
- ``OPENAI_MODEL`` (default ``gpt-4o-mini``).

The draft is stored as the artifact a reviewer approves or rejects; a
rejection with feedback starts ``openai_draft`` again with that feedback and
the rejected artifact's id, and the revision reads the rejected text back
from Baton. Rate limits and 5xx answers are retried (a plain exception);
other 4xx answers fail the workflow for good (``FatalError``).

Run it::

    BATON_URL=http://127.0.0.1:8080 BATON_TOKEN=baton_... OPENAI_BASE_URL=http://127.0.0.1:11434/v1 \\
        baton-worker --declare examples/python/openai_draft.py:OpenAIDraft
"""

from __future__ import annotations

import os
from typing import Any

import httpx

from baton_worker import FatalError, Result, Workflow, current_client


class OpenAIDraft(Workflow):
    name = "openai_draft"
    description = "Draft text for a brief with an OpenAI-compatible model; a person reviews it"
    input_schema = {
        "type": "object",
        "properties": {
            "brief": {"type": "string", "minLength": 1, "title": "Brief"},
            "max_tokens": {"type": "integer", "minimum": 16, "maximum": 4096},
            # Set by Baton when a rejection starts a revision:
            "feedback": {"type": ["string", "null"]},
            "artifact_id": {"type": "string"},
        },
    }
    output_schema = {
        "type": "object",
        "required": ["model"],
        "properties": {"model": {"type": "string"}, "usage": {"type": "object"}},
    }
    artifact_schema = {
        "type": "object",
        "required": ["title", "body"],
        "properties": {
            "title": {"type": "string"},
            "body": {"type": "string"},
            "brief": {"type": "string"},
            "model": {"type": "string"},
        },
    }
    artifact_kind = "draft"
    requires_approval = True
    # Rejecting with feedback asks for a revision (this same type).
    on_reject_workflow_type = "openai_draft"
    on_reject_requires_feedback = True
    timeout_seconds = 180
    max_attempts = 4
    retry_base_seconds = 2.0

    async def execute(self, input: dict[str, Any]) -> Result:
        brief, previous = input.get("brief"), None
        if input.get("artifact_id"):  # a revision: read the rejected draft back
            art = await current_client().artifact(input["artifact_id"])
            if art is None:
                raise FatalError(f"artifact {input['artifact_id']} is gone")
            previous = art["content"]
            brief = brief or previous.get("brief")
        if not brief:
            raise FatalError("no brief: give input.brief")

        messages = [{"role": "system", "content": "You write clear, concise drafts. First line: a title."}]
        messages.append({"role": "user", "content": brief})
        if previous is not None:
            messages.append({"role": "assistant", "content": previous["body"]})
            messages.append({"role": "user", "content": f"Revise it. Reviewer feedback: {input.get('feedback') or ''}"})

        model = os.environ.get("OPENAI_MODEL", "gpt-4o-mini")
        data = await chat(messages, model=model, max_tokens=input.get("max_tokens", 800))
        text = data["choices"][0]["message"]["content"].strip()
        title, _, body = text.partition("\n")
        return Result(
            output={"model": data.get("model", model), "usage": data.get("usage") or {}},
            artifact={"title": title.strip("# ").strip() or brief[:60], "body": body.strip() or text,
                      "brief": brief, "model": data.get("model", model)},
        )


async def chat(messages: list[dict[str, str]], *, model: str, max_tokens: int) -> dict[str, Any]:
    base = os.environ.get("OPENAI_BASE_URL", "https://api.openai.com/v1").rstrip("/")
    key = os.environ.get("OPENAI_API_KEY")
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    async with httpx.AsyncClient(timeout=httpx.Timeout(120, connect=10)) as http:
        r = await http.post(
            f"{base}/chat/completions",
            headers=headers,
            json={"model": model, "messages": messages, "max_tokens": max_tokens, "temperature": 0.7},
        )
    if r.status_code == 429 or r.status_code >= 500:
        raise RuntimeError(f"model endpoint busy or down: HTTP {r.status_code}")  # retried
    if r.status_code >= 400:
        raise FatalError(f"model endpoint refused the request: HTTP {r.status_code} {r.text[:300]}")
    return r.json()


WORKFLOWS = [OpenAIDraft]
