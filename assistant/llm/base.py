"""The interface every language-model provider implements, and the values it returns."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, TypeVar, runtime_checkable

import structlog
from pydantic import BaseModel
from typing_extensions import TypedDict

# One seed for every call unless a caller picks another, so that reruns of the same
# request give the same output on providers that honour seeds.
DEFAULT_SEED = 1234
DEFAULT_MAX_TOKENS = 512

ModelT = TypeVar("ModelT", bound=BaseModel)


class ChatMessage(TypedDict):
    """One message in the OpenAI chat format."""

    role: Literal["system", "user", "assistant"]
    content: str


@dataclass(frozen=True)
class Usage:
    """Token counts of one call; zero where the provider reports none."""

    prompt_tokens: int = 0
    completion_tokens: int = 0


@dataclass(frozen=True)
class ChatResult:
    """A complete reply and the tokens it cost."""

    text: str
    usage: Usage


@runtime_checkable
class LLM(Protocol):
    """A chat model. Every method raises `LLMUnavailable` or `LLMRejected` on failure."""

    provider: str
    model: str

    def stream_chat(
        self,
        messages: Sequence[ChatMessage],
        *,
        temperature: float = 0.0,
        seed: int = DEFAULT_SEED,
        max_tokens: int = DEFAULT_MAX_TOKENS,
    ) -> AsyncIterator[str]:
        """Yield the reply in text chunks as the model produces them."""
        ...

    async def chat(
        self,
        messages: Sequence[ChatMessage],
        *,
        temperature: float = 0.0,
        seed: int = DEFAULT_SEED,
        max_tokens: int = DEFAULT_MAX_TOKENS,
    ) -> ChatResult:
        """Return the whole reply."""
        ...

    async def structured(
        self,
        messages: Sequence[ChatMessage],
        schema: type[ModelT],
        *,
        temperature: float = 0.0,
        seed: int = DEFAULT_SEED,
        max_tokens: int = DEFAULT_MAX_TOKENS,
    ) -> ModelT:
        """Return the reply parsed and validated as `schema`; invalid output is retried, then rejected."""
        ...


def log_call_done(
    provider: str, model: str, operation: str, usage: Usage, started: float, *, level: int = logging.INFO
) -> None:
    """Log one finished model call with its token usage and duration; never the prompt or the reply."""
    structlog.get_logger().log(
        level,
        "llm.call.done",
        provider=provider,
        model=model,
        operation=operation,
        prompt_tokens=usage.prompt_tokens,
        completion_tokens=usage.completion_tokens,
        ms=round((time.perf_counter() - started) * 1000),
    )
