"""Any OpenAI-compatible chat endpoint: OpenAI, Azure OpenAI, vLLM, Ollama, llama.cpp server.

The `openai` SDK does the HTTP work, including its own retries with backoff on
timeouts, connection errors, 408, 409, 429 and 5xx (`llm_max_retries` times). A
streamed reply is retried only until its first chunk arrives. Errors leave this
module as `LLMUnavailable` or `LLMRejected`.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import httpx
import openai
import structlog
from openai import AsyncOpenAI

from assistant.config import Settings
from assistant.llm.base import DEFAULT_MAX_TOKENS, DEFAULT_SEED, ChatMessage, ChatResult, ModelT, Usage, log_call_done
from assistant.llm.exceptions import LLMRejected, LLMUnavailable
from assistant.llm.parsing import ReplyParseError, parse_model_reply
from assistant.llm.instructions import schema_instruction, with_correction

log = structlog.get_logger()

# Structured-output modes, strongest first. A server that responds with 400 to one mode's
# response_format is asked in the next mode from then on.
STRUCTURED_MODES = ("json_schema", "json_object", "prompt")

# Seconds the readiness probe waits for the model list.
PROBE_TIMEOUT = 5.0


@contextmanager
def _translate_errors(endpoint: str, timeout: float) -> Iterator[None]:
    """Map the SDK's exceptions to `LLMUnavailable` (retryable) or `LLMRejected`."""
    try:
        yield
    except openai.APITimeoutError as exc:
        raise LLMUnavailable(f"the model endpoint {endpoint} did not respond within {timeout:g} s") from exc
    except openai.APIConnectionError as exc:
        raise LLMUnavailable(f"could not connect to the model endpoint {endpoint}; check ASSISTANT_LLM_URL") from exc
    except openai.RateLimitError as exc:
        raise LLMUnavailable(f"the model endpoint {endpoint} is rate limiting (429); try again later") from exc
    except openai.APIStatusError as exc:
        if exc.status_code >= 500:
            raise LLMUnavailable(f"the model endpoint {endpoint} failed with {exc.status_code}; try again later") from exc
        raise LLMRejected(f"the model endpoint {endpoint} rejected the request with {exc.status_code}: {exc.message}") from exc
    except openai.APIError as exc:
        raise LLMRejected(f"the model endpoint {endpoint} returned an unreadable response: {exc.message}") from exc
    except json.JSONDecodeError as exc:
        # The SDK lets a 200 response whose body is not JSON through as the decoder's error.
        raise LLMRejected(f"the model endpoint {endpoint} returned an unreadable response: {exc.msg}") from exc


def _is_response_format_error(exc: LLMRejected) -> bool:
    cause = exc.__cause__
    if not isinstance(cause, openai.BadRequestError):
        return False
    message = cause.message.lower()
    return "response_format" in message or "json_schema" in message or "json_object" in message


def _response_format(mode: str, schema: type[ModelT]) -> dict[str, Any] | None:
    if mode == "json_schema":
        return {
            "type": "json_schema",
            "json_schema": {"name": schema.__name__, "schema": schema.model_json_schema()},
        }
    if mode == "json_object":
        return {"type": "json_object"}
    return None


class OpenAIChat:
    """A chat model behind an OpenAI-compatible HTTP API."""

    provider = "openai"

    def __init__(
        self,
        *,
        base_url: str,
        model: str,
        api_key: str = "",
        timeout: float = 60.0,
        max_retries: int = 2,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        self.model = model
        self.base_url = base_url
        self._timeout = timeout
        self._max_retries = max_retries
        # Local servers (Ollama, vLLM, llama.cpp) accept any key, but the SDK requires one.
        self._client = AsyncOpenAI(
            base_url=base_url,
            api_key=api_key or "unused",
            timeout=timeout,
            max_retries=max_retries,
            http_client=http_client,
        )
        self._structured_mode = STRUCTURED_MODES[0]

    @classmethod
    def from_settings(cls, settings: Settings, *, http_client: httpx.AsyncClient | None = None) -> OpenAIChat:
        return cls(
            base_url=settings.llm_url,
            model=settings.llm_model,
            api_key=settings.llm_api_key.get_secret_value(),
            timeout=settings.llm_timeout,
            max_retries=settings.llm_max_retries,
            http_client=http_client,
        )

    def _log_done(self, operation: str, usage: Usage, started: float) -> None:
        log_call_done(self.provider, self.model, operation, usage, started)

    async def stream_chat(
        self,
        messages: Sequence[ChatMessage],
        *,
        temperature: float = 0.0,
        seed: int = DEFAULT_SEED,
        max_tokens: int = DEFAULT_MAX_TOKENS,
    ) -> AsyncIterator[str]:
        started = time.perf_counter()
        usage = Usage()
        with _translate_errors(self.base_url, self._timeout):
            stream = await self._client.chat.completions.create(
                model=self.model,
                messages=list(messages),  # type: ignore[arg-type]
                temperature=temperature,
                seed=seed,
                max_tokens=max_tokens,
                stream=True,
                stream_options={"include_usage": True},
            )
            async for chunk in stream:
                if chunk.usage is not None:
                    usage = Usage(chunk.usage.prompt_tokens, chunk.usage.completion_tokens)
                for choice in chunk.choices:
                    if choice.delta.content:
                        yield choice.delta.content
        self._log_done("stream_chat", usage, started)

    async def _complete(
        self,
        messages: Sequence[ChatMessage],
        *,
        temperature: float,
        seed: int,
        max_tokens: int,
        response_format: dict[str, Any] | None = None,
    ) -> ChatResult:
        started = time.perf_counter()
        extra: dict[str, Any] = {"response_format": response_format} if response_format else {}
        with _translate_errors(self.base_url, self._timeout):
            completion = await self._client.chat.completions.create(
                model=self.model,
                messages=list(messages),  # type: ignore[arg-type]
                temperature=temperature,
                seed=seed,
                max_tokens=max_tokens,
                **extra,
            )
        if not completion.choices:
            raise LLMRejected(f"the model endpoint {self.base_url} returned no choices")

        usage = Usage()
        if completion.usage is not None:
            usage = Usage(completion.usage.prompt_tokens, completion.usage.completion_tokens)
        self._log_done("chat", usage, started)
        return ChatResult(text=completion.choices[0].message.content or "", usage=usage)

    async def chat(
        self,
        messages: Sequence[ChatMessage],
        *,
        temperature: float = 0.0,
        seed: int = DEFAULT_SEED,
        max_tokens: int = DEFAULT_MAX_TOKENS,
    ) -> ChatResult:
        return await self._complete(messages, temperature=temperature, seed=seed, max_tokens=max_tokens)

    async def _structured_text(
        self, messages: Sequence[ChatMessage], schema: type[ModelT], *, temperature: float, seed: int, max_tokens: int
    ) -> str:
        """Ask in the strongest structured mode the server accepts, stepping down on a 400 about response_format."""
        while True:
            mode = self._structured_mode
            try:
                result = await self._complete(
                    messages,
                    temperature=temperature,
                    seed=seed,
                    max_tokens=max_tokens,
                    response_format=_response_format(mode, schema),
                )
            except LLMRejected as exc:
                if mode == STRUCTURED_MODES[-1] or not _is_response_format_error(exc):
                    raise
                self._structured_mode = STRUCTURED_MODES[STRUCTURED_MODES.index(mode) + 1]
                log.info("llm.structured.fallback", provider=self.provider, model=self.model, mode=self._structured_mode)
                continue
            return result.text

    async def structured(
        self,
        messages: Sequence[ChatMessage],
        schema: type[ModelT],
        *,
        temperature: float = 0.0,
        seed: int = DEFAULT_SEED,
        max_tokens: int = DEFAULT_MAX_TOKENS,
    ) -> ModelT:
        prompt = [*messages, schema_instruction(schema)]
        attempts = self._max_retries + 1
        for attempt in range(1, attempts + 1):
            text = await self._structured_text(
                prompt, schema, temperature=temperature, seed=seed + attempt - 1, max_tokens=max_tokens
            )
            try:
                return parse_model_reply(text, schema)
            except ReplyParseError as exc:
                error = exc
                log.warning("llm.structured.invalid", provider=self.provider, model=self.model, attempt=attempt, error=str(exc))
                prompt = with_correction([*messages, schema_instruction(schema)], text, str(exc))
        raise LLMRejected(f"the model returned invalid {schema.__name__} output {attempts} times; last error: {error}")

    async def probe(self, *, timeout: float = PROBE_TIMEOUT) -> str:
        """Check that the endpoint responds within `timeout` seconds; return the provider and model for `/readyz`."""
        with _translate_errors(self.base_url, timeout):
            try:
                await self._client.models.list(timeout=timeout)
            except openai.NotFoundError:
                # Some compatible servers serve chat completions without a model list.
                pass
        return f"openai {self.model} at {self.base_url}"
