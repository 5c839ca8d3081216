"""A small OpenAI-compatible server for tests: chat completions (plain and streamed) and the model list.

Each request goes to a responder function that returns a `FakeReply`, so a test can
answer by request content (which criterion, which attempt) and see every request it got.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse

MODEL = "fake-model"


@dataclass
class FakeReply:
    content: str = "Hello."
    status: int = 200
    # OpenAI-style error message for non-200 replies.
    error: str = "error"
    error_code: str | None = None
    # Seconds to wait before answering, to provoke client timeouts.
    delay: float = 0.0
    # Send a body that is not JSON.
    malformed: bool = False
    prompt_tokens: int = 11
    completion_tokens: int = 7


Responder = Callable[[dict[str, Any]], FakeReply]


@dataclass
class FakeOpenAI:
    responder: Responder = field(default=lambda request: FakeReply())
    # When true, any request whose response_format is json_schema gets a 400, as older servers answer.
    reject_json_schema: bool = False
    requests: list[dict[str, Any]] = field(default_factory=list)

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/v1/models")
        async def list_models() -> dict[str, Any]:
            return {"object": "list", "data": [{"id": MODEL, "object": "model", "created": 0, "owned_by": "tests"}]}

        @app.post("/v1/chat/completions")
        async def chat_completions(request: Request) -> Response:
            body = await request.json()
            self.requests.append(body)
            return await self._answer(body)

        return app

    async def _answer(self, body: dict[str, Any]) -> Response:
        response_format = body.get("response_format") or {}
        if self.reject_json_schema and response_format.get("type") == "json_schema":
            return _error(400, "response_format of type json_schema is not supported by this server", "invalid_request_error")

        reply = self.responder(body)
        if reply.delay:
            await asyncio.sleep(reply.delay)
        if reply.status != 200:
            return _error(reply.status, reply.error, reply.error_code)
        if reply.malformed:
            return PlainTextResponse("this is not json", media_type="application/json")
        if body.get("stream"):
            return StreamingResponse(_stream(reply, body), media_type="text/event-stream")
        return JSONResponse(_completion(reply))


def _error(status: int, message: str, code: str | None) -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": "invalid_request_error", "code": code}}, status_code=status)


def _completion(reply: FakeReply) -> dict[str, Any]:
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": MODEL,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": reply.content}, "finish_reason": "stop"}],
        "usage": {
            "prompt_tokens": reply.prompt_tokens,
            "completion_tokens": reply.completion_tokens,
            "total_tokens": reply.prompt_tokens + reply.completion_tokens,
        },
    }


def _chunk(delta: dict[str, Any], finish: str | None = None, usage: dict[str, int] | None = None) -> str:
    choices = [] if usage is not None else [{"index": 0, "delta": delta, "finish_reason": finish}]
    payload = {"id": "chatcmpl-test", "object": "chat.completion.chunk", "created": 0, "model": MODEL, "choices": choices, "usage": usage}
    return f"data: {json.dumps(payload)}\n\n"


async def _stream(reply: FakeReply, body: dict[str, Any]) -> AsyncIterator[str]:
    yield _chunk({"role": "assistant", "content": ""})
    words = reply.content.split(" ")
    for index, word in enumerate(words):
        yield _chunk({"content": word if index == len(words) - 1 else word + " "})
    yield _chunk({}, finish="stop")
    if (body.get("stream_options") or {}).get("include_usage"):
        usage = {"prompt_tokens": reply.prompt_tokens, "completion_tokens": reply.completion_tokens, "total_tokens": reply.prompt_tokens + reply.completion_tokens}
        yield _chunk({}, usage=usage)
    yield "data: [DONE]\n\n"
