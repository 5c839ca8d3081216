"""The OpenAI-compatible provider against a fake server over real loopback HTTP."""

from __future__ import annotations

from collections.abc import Callable, Iterator
import pytest
from pydantic import BaseModel
from structlog.testing import capture_logs

from assistant.llm import LLMRejected, LLMUnavailable
from assistant.llm import openai as openai_provider
from assistant.llm.openai import OpenAIChat
from tests.llm.fake_openai import MODEL, FakeOpenAI, FakeReply
from tests.support import LiveServer, free_port

MESSAGES = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "secret question text"}]


class Feedback(BaseModel):
    feedback: str
    score: int


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    yield FakeOpenAI()


@pytest.fixture
def server(fake: FakeOpenAI) -> Iterator[LiveServer]:
    with LiveServer(fake.app()) as live:
        yield live


def _llm(server: LiveServer, *, timeout: float = 30.0, max_retries: int = 0) -> OpenAIChat:
    return OpenAIChat(base_url=f"{server.url}/v1", model=MODEL, timeout=timeout, max_retries=max_retries)


async def test_chat_returns_text_and_usage(fake: FakeOpenAI, server: LiveServer) -> None:
    fake.responder = lambda request: FakeReply(content="Fine, thanks.", prompt_tokens=12, completion_tokens=3)

    result = await _llm(server).chat(MESSAGES, seed=77)

    assert result.text == "Fine, thanks."
    assert result.usage.prompt_tokens == 12
    assert result.usage.completion_tokens == 3
    assert fake.requests[0]["model"] == MODEL
    assert fake.requests[0]["temperature"] == 0.0
    assert fake.requests[0]["seed"] == 77


async def test_stream_chat_yields_the_reply_in_chunks(fake: FakeOpenAI, server: LiveServer) -> None:
    fake.responder = lambda request: FakeReply(content="We use spreadsheets at every depot.")

    chunks = [chunk async for chunk in _llm(server).stream_chat(MESSAGES)]

    assert len(chunks) > 1
    assert "".join(chunks) == "We use spreadsheets at every depot."
    assert fake.requests[0]["stream"] is True


async def test_call_log_has_tokens_and_no_prompt(fake: FakeOpenAI, server: LiveServer, fresh_logger: Callable[[object], None]) -> None:
    fresh_logger(openai_provider)
    fake.responder = lambda request: FakeReply(content="Sure.", prompt_tokens=21, completion_tokens=2)

    with capture_logs() as logs:
        await _llm(server).chat(MESSAGES)
        [chunk async for chunk in _llm(server).stream_chat(MESSAGES)]

    done = [entry for entry in logs if entry["event"] == "llm.call.done"]
    assert [entry["operation"] for entry in done] == ["chat", "stream_chat"]
    assert all(entry["prompt_tokens"] == 21 and entry["completion_tokens"] == 2 for entry in done)
    assert all(entry["provider"] == "openai" and entry["model"] == MODEL and entry["ms"] >= 0 for entry in done)
    assert "secret question text" not in repr(logs)


async def test_structured_uses_json_schema(fake: FakeOpenAI, server: LiveServer) -> None:
    fake.responder = lambda request: FakeReply(content='{"feedback": "Good.", "score": 4}')

    result = await _llm(server).structured(MESSAGES, Feedback)

    assert result == Feedback(feedback="Good.", score=4)
    assert fake.requests[0]["response_format"]["type"] == "json_schema"
    assert fake.requests[0]["response_format"]["json_schema"]["schema"]["required"] == ["feedback", "score"]


async def test_structured_keeps_latex_backslashes(fake: FakeOpenAI, server: LiveServer) -> None:
    fake.responder = lambda request: FakeReply(content='{"feedback":"Use \\\\(x^2\\\\) here","score":5}')

    result = await _llm(server).structured(MESSAGES, Feedback)

    assert result.feedback == "Use \\(x^2\\) here"
    assert result.score == 5


async def test_structured_falls_back_to_json_mode(fake: FakeOpenAI, server: LiveServer) -> None:
    fake.reject_json_schema = True
    fake.responder = lambda request: FakeReply(content='```json\n{"feedback": "Ok.", "score": "3"}\n```')
    llm = _llm(server)

    first = await llm.structured(MESSAGES, Feedback)
    second = await llm.structured(MESSAGES, Feedback)

    assert first == second == Feedback(feedback="Ok.", score=3)
    formats = [request.get("response_format", {}).get("type") for request in fake.requests]
    assert formats == ["json_schema", "json_object", "json_object"]


async def test_structured_retries_invalid_output(fake: FakeOpenAI, server: LiveServer) -> None:
    replies = iter(['{"feedback": "missing score"}', '{"feedback": "Better.", "score": 2}'])
    fake.responder = lambda request: FakeReply(content=next(replies))

    result = await _llm(server, max_retries=1).structured(MESSAGES, Feedback)

    assert result.score == 2
    retry = fake.requests[1]["messages"]
    assert retry[-2] == {"role": "assistant", "content": '{"feedback": "missing score"}'}
    assert "Feedback.score" in retry[-1]["content"]
    assert fake.requests[1]["seed"] == fake.requests[0]["seed"] + 1


async def test_structured_rejects_output_invalid_every_time(fake: FakeOpenAI, server: LiveServer) -> None:
    fake.responder = lambda request: FakeReply(content="I would give it a four.")

    with pytest.raises(LLMRejected, match="invalid Feedback output 2 times"):
        await _llm(server, max_retries=1).structured(MESSAGES, Feedback)


async def test_transient_error_is_retried(fake: FakeOpenAI, server: LiveServer) -> None:
    replies = iter([FakeReply(status=503, error="overloaded"), FakeReply(content="Back again.")])
    fake.responder = lambda request: next(replies)

    result = await _llm(server, max_retries=1).chat(MESSAGES)

    assert result.text == "Back again."
    assert len(fake.requests) == 2


@pytest.mark.parametrize(
    ("reply", "error", "message"),
    [
        (FakeReply(status=500, error="boom"), LLMUnavailable, "failed with 500"),
        (FakeReply(status=429, error="slow down"), LLMUnavailable, "rate limiting"),
        (FakeReply(status=400, error="maximum context length is 4096 tokens", error_code="context_length_exceeded"), LLMRejected, "context length"),
        (FakeReply(status=401, error="bad key"), LLMRejected, "rejected the request with 401"),
        (FakeReply(delay=1.5), LLMUnavailable, "did not respond within 0.5 s"),
        (FakeReply(malformed=True), LLMRejected, "unreadable response"),
    ],
    ids=["500", "429", "400-context-length", "401", "timeout", "malformed-body"],
)
async def test_errors_map_to_llm_errors(
    fake: FakeOpenAI, server: LiveServer, reply: FakeReply, error: type[Exception], message: str
) -> None:
    fake.responder = lambda request: reply
    # A short timeout only where the test provokes one, so a busy machine cannot turn the other cases into timeouts.
    timeout = 0.5 if reply.delay else 30.0

    with pytest.raises(error, match=message):
        await _llm(server, timeout=timeout).chat(MESSAGES)


async def test_connection_refused_is_unavailable() -> None:
    llm = OpenAIChat(base_url=f"http://127.0.0.1:{free_port()}/v1", model=MODEL, timeout=2, max_retries=0)

    with pytest.raises(LLMUnavailable, match="could not connect"):
        await llm.chat(MESSAGES)


async def test_stream_error_maps_to_llm_error(fake: FakeOpenAI, server: LiveServer) -> None:
    fake.responder = lambda request: FakeReply(status=503, error="down")

    with pytest.raises(LLMUnavailable):
        [chunk async for chunk in _llm(server).stream_chat(MESSAGES)]


async def test_probe_names_provider_and_model(server: LiveServer) -> None:
    # A generous timeout: on a loaded two-core machine the default 5 s was seen to run out.
    detail = await _llm(server).probe(timeout=30)

    assert detail == f"openai {MODEL} at {server.url}/v1"

