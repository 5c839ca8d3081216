"""An in-memory language model for persona tests: it replies from a list and records each call."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from assistant.llm import ChatMessage, ChatResult, Usage


@dataclass
class ListLLM:
    """Replies with `replies` in order, repeating the last one; `calls` keeps every message list it got."""

    replies: list[str]
    provider: str = "list"
    model: str = "list-v1"
    calls: list[list[ChatMessage]] = field(default_factory=list)

    def _next(self, messages: Sequence[ChatMessage]) -> str:
        self.calls.append(list(messages))
        return self.replies[min(len(self.calls), len(self.replies)) - 1]

    async def stream_chat(self, messages: Sequence[ChatMessage], **options: Any) -> AsyncIterator[str]:
        for word in self._next(messages).split(" "):
            yield word + " "

    async def chat(self, messages: Sequence[ChatMessage], **options: Any) -> ChatResult:
        return ChatResult(self._next(messages), Usage())

    async def structured(self, messages: Sequence[ChatMessage], schema: Any, **options: Any) -> Any:
        raise NotImplementedError("ListLLM only serves persona replies")
