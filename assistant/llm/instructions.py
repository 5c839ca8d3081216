"""Messages that every provider adds when it requests structured output."""

from __future__ import annotations

import json

from pydantic import BaseModel

from assistant.llm.base import ChatMessage


def schema_instruction(schema: type[BaseModel]) -> ChatMessage:
    """Build the system message that requests one JSON object matching `schema`."""
    schema_text = json.dumps(schema.model_json_schema(), ensure_ascii=False)
    content = (
        "Reply with one JSON object and nothing else: no Markdown fence, no text before or after it. "
        f"The object must match this JSON schema: {schema_text}"
    )
    return {"role": "system", "content": content}


def with_correction(messages: list[ChatMessage], invalid_reply: str, error: str) -> list[ChatMessage]:
    """Append the invalid reply and a request to fix it, for the next attempt."""
    correction = f"That reply was invalid ({error}). Reply again with only the corrected JSON object."
    return [*messages, {"role": "assistant", "content": invalid_reply}, {"role": "user", "content": correction}]
