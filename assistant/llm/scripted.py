"""A deterministic provider for tests, demos and machines without a model.

Persona replies come from scripts that the caller registers under a key (the
roleplay service registers each scenario's `scripted:` section under the scenario
id). The script is chosen by the line `Script: <key>` in the system message. A
keyword rule that matches the learner's last message answers first, once per
conversation; otherwise the reply is the script's line for that learner turn.

Language: the learner's last message is classified as English, German, French or
Spanish by counting common function words. A line written as a mapping of language
codes picks that language's text; a plain line or a missing language stays English.

Structured output is built from the JSON schema alone (first enum value, minimum of
a number range, empty lists), so it validates but carries no judgement.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

import structlog
from pydantic import BaseModel, Field, ValidationError, field_validator

from assistant.llm.base import DEFAULT_MAX_TOKENS, DEFAULT_SEED, ChatMessage, ChatResult, ModelT, Usage, log_call_done
from assistant.llm.exceptions import LLMRejected
from assistant.llm.language import detect_language

log = structlog.get_logger()

SCRIPT_MARKER = "Script: "
MODEL_NAME = "scripted-v1"
DEFAULT_LINE = "I see. Go on."

LocalizedText = str | dict[str, str]


def _in_language(text: LocalizedText, language: str) -> str:
    if isinstance(text, str):
        return text
    return text.get(language) or text["en"]


def _check_localized(value: LocalizedText) -> LocalizedText:
    if isinstance(value, dict) and "en" not in value:
        raise ValueError("a text given per language must include English under the key 'en'")
    return value


class ScriptRule(BaseModel):
    """Reply with `reply` when the learner's message contains any of `when_any` (case-insensitive)."""

    when_any: list[str] = Field(min_length=1)
    reply: LocalizedText

    @field_validator("reply")
    @classmethod
    def _check_reply(cls, reply: LocalizedText) -> LocalizedText:
        return _check_localized(reply)


class PersonaScript(BaseModel):
    """Canned persona replies: `lines[n-1]` answers the learner's n-th message, the last line repeats."""

    lines: list[LocalizedText] = Field(min_length=1)
    rules: list[ScriptRule] = Field(default_factory=list)

    @field_validator("lines")
    @classmethod
    def _check_lines(cls, lines: list[LocalizedText]) -> list[LocalizedText]:
        return [_check_localized(line) for line in lines]


def _script_key(messages: Sequence[ChatMessage]) -> str | None:
    for message in messages:
        if message["role"] != "system":
            continue
        for line in message["content"].splitlines():
            if line.startswith(SCRIPT_MARKER):
                return line[len(SCRIPT_MARKER) :].strip()
    return None


def _matching_rule(script: PersonaScript, learner_text: str, earlier_replies: list[str], language: str) -> str | None:
    lowered = learner_text.lower()
    for rule in script.rules:
        reply = _in_language(rule.reply, language)
        if reply in earlier_replies:
            continue
        if any(keyword.lower() in lowered for keyword in rule.when_any):
            return reply
    return None


def _example_value(schema: dict[str, Any], definitions: dict[str, Any]) -> Any:
    """Build the simplest value that satisfies a JSON schema fragment."""
    if "$ref" in schema:
        return _example_value(definitions[schema["$ref"].rsplit("/", 1)[-1]], definitions)
    if "default" in schema:
        return schema["default"]
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    for combinator in ("anyOf", "oneOf", "allOf"):
        if combinator in schema:
            return _example_value(schema[combinator][0], definitions)

    kind = schema.get("type", "object")
    if kind == "object":
        properties = schema.get("properties", {})
        return {name: _example_value(properties[name], definitions) for name in schema.get("required", properties)}
    if kind == "array":
        minimum = schema.get("minItems", 0)
        return [_example_value(schema.get("items", {}), definitions) for _ in range(minimum)]
    if kind in ("integer", "number"):
        return schema.get("minimum", schema.get("exclusiveMinimum", -1) + 1)
    if kind == "boolean":
        return False
    if kind == "null":
        return None
    return "x" * schema.get("minLength", 0)


class ScriptedChat:
    """Deterministic replies from registered persona scripts."""

    provider = "scripted"
    model = MODEL_NAME

    def __init__(self, scripts: Mapping[str, PersonaScript] | None = None) -> None:
        self._scripts: dict[str, PersonaScript] = dict(scripts or {})

    def register_script(self, key: str, script: PersonaScript) -> None:
        """Add or replace the script that answers system prompts marked `Script: <key>`."""
        self._scripts[key] = script

    def reply_for(self, messages: Sequence[ChatMessage]) -> str:
        """Return the scripted reply to the conversation so far."""
        learner_messages = [message["content"] for message in messages if message["role"] == "user"]
        key = _script_key(messages)
        script = self._scripts.get(key) if key else None
        if script is None or not learner_messages:
            return DEFAULT_LINE

        language = detect_language(learner_messages[-1])
        earlier_replies = [message["content"] for message in messages if message["role"] == "assistant"]
        rule_reply = _matching_rule(script, learner_messages[-1], earlier_replies, language)
        if rule_reply is not None:
            return rule_reply

        index = min(len(learner_messages), len(script.lines)) - 1
        return _in_language(script.lines[index], language)

    async def stream_chat(
        self,
        messages: Sequence[ChatMessage],
        *,
        temperature: float = 0.0,
        seed: int = DEFAULT_SEED,
        max_tokens: int = DEFAULT_MAX_TOKENS,
    ) -> AsyncIterator[str]:
        started = time.perf_counter()
        reply = self.reply_for(messages)
        words = re.findall(r"\S+\s*", reply)
        for word in words:
            yield word
            await asyncio.sleep(0)
        self._log_done("stream_chat", messages, len(words), started)

    async def chat(
        self,
        messages: Sequence[ChatMessage],
        *,
        temperature: float = 0.0,
        seed: int = DEFAULT_SEED,
        max_tokens: int = DEFAULT_MAX_TOKENS,
    ) -> ChatResult:
        started = time.perf_counter()
        reply = self.reply_for(messages)
        usage = self._log_done("chat", messages, len(reply.split()), started)
        return ChatResult(text=reply, usage=usage)

    async def structured(
        self,
        messages: Sequence[ChatMessage],
        schema: type[ModelT],
        *,
        temperature: float = 0.0,
        seed: int = DEFAULT_SEED,
        max_tokens: int = DEFAULT_MAX_TOKENS,
    ) -> ModelT:
        json_schema = schema.model_json_schema()
        value = _example_value(json_schema, json_schema.get("$defs", {}))
        try:
            return schema.model_validate(value)
        except ValidationError as exc:
            raise LLMRejected(f"the scripted provider cannot build a valid {schema.__name__}: {exc.errors()[0]['msg']}") from exc

    async def probe(self) -> str:
        return f"scripted {self.model}"

    def _log_done(self, operation: str, messages: Sequence[ChatMessage], completion_words: int, started: float) -> Usage:
        # Word counts stand in for tokens: there is no tokenizer behind this provider.
        usage = Usage(sum(len(message["content"].split()) for message in messages), completion_words)
        log_call_done(self.provider, self.model, operation, usage, started, level=logging.DEBUG)
        return usage
