"""Generating the persona's reply and keeping it in character.

The whole reply is generated and checked by the guard before any of it is sent. A
break of character can come at the end of a reply ("... but as your coach I'd say"),
so checking a buffered prefix could not stop it. Persona replies are capped at a few
sentences (`limits.reply_tokens`), which keeps the wait short. The router then streams
the checked reply out in word chunks.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import structlog

from assistant.llm import DEFAULT_SEED, LLM, ChatMessage
from assistant.llm.scripted import ScriptedChat
from assistant.roleplay.guard import check_reply, strip_own_label
from assistant.roleplay.prompting import persona_reminder
from assistant.roleplay.scenarios import Scenario

log = structlog.get_logger()

# Generations after the first one when a reply breaks character; then a fallback line is sent.
MAX_REGENERATIONS = 2
# Some variety keeps the persona from sounding canned; the seed keeps a rerun reproducible.
PERSONA_TEMPERATURE = 0.7

_CHUNK = re.compile(r"\s*\S+\s*")


@dataclass(frozen=True)
class PersonaReply:
    text: str
    latency_ms: int
    regenerations: int
    fallback_used: bool
    guard_reasons: list[str] = field(default_factory=list)


# Marks that end a sentence, in the scripts that persona replies use most often.
_SENTENCE_ENDS = ".!?…。！？"


def prepare_llm(llm: LLM, scenario: Scenario) -> None:
    """Give the scripted provider this scenario's script; other providers need nothing."""
    if isinstance(llm, ScriptedChat):
        llm.register_script(scenario.id, scenario.scripted)


async def _generate(llm: LLM, messages: Sequence[ChatMessage], *, seed: int, max_tokens: int) -> str:
    chunks = [chunk async for chunk in llm.stream_chat(messages, temperature=PERSONA_TEMPERATURE, seed=seed, max_tokens=max_tokens)]
    return trim_to_sentence("".join(chunks))


def trim_to_sentence(text: str) -> str:
    """Cut a reply that the token limit stopped mid-sentence back to its last full sentence.

    A reply with no sentence end at all is kept whole rather than emptied.
    """
    text = text.strip()
    if not text or text[-1] in _SENTENCE_ENDS:
        return text
    last_end = max(text.rfind(mark) for mark in _SENTENCE_ENDS)
    return text[: last_end + 1] if last_end > 0 else text


async def generate_reply(
    llm: LLM, scenario: Scenario, messages: Sequence[ChatMessage], *, learner_turn: int, attempt_id: str
) -> PersonaReply:
    """Generate a reply that passes the guard, regenerating up to `MAX_REGENERATIONS` times, else a fallback line.

    Raises `LLMUnavailable` or `LLMRejected` from the provider.
    """
    prepare_llm(llm, scenario)
    started = time.perf_counter()
    seen: list[str] = []
    prompt = list(messages)

    for attempt in range(MAX_REGENERATIONS + 1):
        seed = DEFAULT_SEED + learner_turn * 10 + attempt
        text = strip_own_label(await _generate(llm, prompt, seed=seed, max_tokens=scenario.limits.reply_tokens), scenario.persona.name)
        reasons = check_reply(text, persona_name=scenario.persona.name)
        if not reasons:
            return PersonaReply(text, _elapsed_ms(started), attempt, False, seen)

        seen.extend(reason for reason in reasons if reason not in seen)
        log.warning("roleplay.guard.rejected", attempt_id=attempt_id, turn=learner_turn, generation=attempt + 1, reasons=reasons)
        prompt = [*messages, persona_reminder(scenario)]

    fallback = scenario.fallback_lines[learner_turn % len(scenario.fallback_lines)]
    log.warning("roleplay.guard.fallback", attempt_id=attempt_id, turn=learner_turn, reasons=seen)
    return PersonaReply(fallback, _elapsed_ms(started), MAX_REGENERATIONS, True, seen)


def _elapsed_ms(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)


def stream_chunks(text: str) -> list[str]:
    """Split a checked reply into word chunks whose concatenation is exactly `text`."""
    return _CHUNK.findall(text) or [text]
