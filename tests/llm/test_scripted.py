"""The scripted provider: replies by learner turn, keyword rules, languages and structured output."""

from __future__ import annotations

from pydantic import BaseModel, Field

from assistant.llm.base import ChatMessage
from assistant.llm.language import detect_language
from assistant.llm.scripted import DEFAULT_LINE, PersonaScript, ScriptedChat, ScriptRule

SCRIPT = PersonaScript(
    lines=["First line.", {"en": "Second line.", "de": "Zweite Zeile."}, "Last line."],
    rules=[ScriptRule(when_any=["price"], reply="Price is not the point.")],
)


def _conversation(*learner: str) -> list[ChatMessage]:
    messages: list[ChatMessage] = [{"role": "system", "content": "You are Dana.\nScript: demo\nStay in character."}]
    for text in learner:
        messages.append({"role": "user", "content": text})
        messages.append({"role": "assistant", "content": ScriptedChat({"demo": SCRIPT}).reply_for(messages)})
    return messages[:-1]


def test_reply_follows_learner_turn() -> None:
    llm = ScriptedChat({"demo": SCRIPT})

    assert llm.reply_for(_conversation("Hello")) == "First line."
    assert llm.reply_for(_conversation("Hello", "How are you doing?")) == "Second line."
    assert llm.reply_for(_conversation("a", "b", "c", "d", "e")) == "Last line."


def test_rule_answers_once() -> None:
    llm = ScriptedChat({"demo": SCRIPT})

    assert llm.reply_for(_conversation("What about the price?")) == "Price is not the point."
    assert llm.reply_for(_conversation("What about the price?", "And the price again?")) == "Second line."


def test_reply_in_learner_language() -> None:
    llm = ScriptedChat({"demo": SCRIPT})

    reply = llm.reply_for(_conversation("Hallo", "Wie ist das bei Ihnen und was machen Sie?"))

    assert reply == "Zweite Zeile."


def test_unknown_script_gets_default_line() -> None:
    messages: list[ChatMessage] = [{"role": "system", "content": "No marker."}, {"role": "user", "content": "Hi"}]

    assert ScriptedChat({"demo": SCRIPT}).reply_for(messages) == DEFAULT_LINE


async def test_stream_concatenates_to_reply() -> None:
    llm = ScriptedChat({"demo": SCRIPT})

    chunks = [chunk async for chunk in llm.stream_chat(_conversation("Hello there"))]

    assert len(chunks) == 2
    assert "".join(chunks) == "First line."


class Shape(BaseModel):
    label: str = Field(min_length=2)
    level: int = Field(ge=1, le=5)
    tags: list[str]
    nested: list[Shape] = Field(default_factory=list)


async def test_structured_builds_valid_instance() -> None:
    result = await ScriptedChat().structured([{"role": "user", "content": "x"}], Shape)

    assert result == Shape(label="xx", level=1, tags=[], nested=[])


def test_detect_language() -> None:
    assert detect_language("What do you think about the price?") == "en"
    assert detect_language("Was halten Sie von dem Preis und wie ist die Lage?") == "de"
    assert detect_language("Comment allez-vous et que pensez-vous du prix ?") == "fr"
    assert detect_language("¿Qué piensa usted del precio y cómo está la situación?") == "es"
    assert detect_language("12345") == "en"
