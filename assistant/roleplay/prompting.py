"""Prompts for the persona and the judge, built from the templates in `prompts/roleplay/`.

Each template's version is the first 12 hex digits of its SHA-256, so a stored attempt
or score names the exact prompt text it was produced with.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import jinja2

from assistant.llm import ChatMessage
from assistant.roleplay.scenarios import Criterion, Scenario
from assistant.roleplay.transcript import LEARNER, Turn

# NOTE: like the scenarios, the templates are found beside the package, so only in a source checkout.
PROMPTS_DIR = Path(__file__).resolve().parents[2] / "prompts" / "roleplay"
PERSONA_TEMPLATE = "persona.md.j2"
REMINDER_TEMPLATE = "persona-reminder.md.j2"
JUDGE_TEMPLATE = "judge.md.j2"

# A rough count for budgeting: about four characters per token in English text, plus a
# few tokens of chat-format overhead per message. Real tokenizers differ by model.
CHARS_PER_TOKEN = 4
MESSAGE_OVERHEAD_TOKENS = 4
# The opening line, the learner's first message and the reply to it always stay in the
# prompt, so the persona keeps the start of the conversation in view.
FIRST_EXCHANGE_TURNS = 3

# Sequences that could pass for a transcript marker or a chat-format control token.
_FAKE_DELIMITER = re.compile(
    r"</?\s*transcript[^>]*>|<\|[^|>]*\|>|\[/?INST\]|<<\s*/?SYS\s*>>|\[\s*turn\s+\d+\s*\]", re.IGNORECASE
)


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(PROMPTS_DIR),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # noqa: S701 - prompts are plain text, not HTML
        keep_trailing_newline=False,
    )


@lru_cache(maxsize=8)
def prompt_version(template_name: str) -> str:
    """Return `<name>@<sha256 prefix>` for a template file."""
    digest = hashlib.sha256((PROMPTS_DIR / template_name).read_bytes()).hexdigest()[:12]
    return f"{template_name.split('.')[0]}@{digest}"


def estimate_tokens(text: str) -> int:
    return len(text) // CHARS_PER_TOKEN + MESSAGE_OVERHEAD_TOKENS


def persona_system_prompt(scenario: Scenario) -> str:
    template = _environment().get_template(PERSONA_TEMPLATE)
    return template.render(scenario=scenario, persona=scenario.persona).strip()


def persona_reminder(scenario: Scenario) -> ChatMessage:
    """Build the system message added when a reply broke character and is generated again."""
    template = _environment().get_template(REMINDER_TEMPLATE)
    return {"role": "system", "content": template.render(persona=scenario.persona).strip()}


def _as_message(turn: Turn) -> ChatMessage:
    return {"role": "user" if turn.speaker == LEARNER else "assistant", "content": turn.text}


def trim_history(turns: Sequence[Turn], token_budget: int) -> list[Turn]:
    """Keep the first exchange and as many of the latest turns as fit in `token_budget`.

    The latest turn is always kept, even alone over budget, because the persona replies
    to it. Learner messages are capped in length before they get here.
    """
    if sum(estimate_tokens(turn.text) for turn in turns) <= token_budget:
        return list(turns)

    head = list(turns[:FIRST_EXCHANGE_TURNS])
    rest = list(turns[FIRST_EXCHANGE_TURNS:])
    budget = token_budget - sum(estimate_tokens(turn.text) for turn in head)

    tail: list[Turn] = []
    for turn in reversed(rest):
        cost = estimate_tokens(turn.text)
        if tail and cost > budget:
            break
        tail.insert(0, turn)
        budget -= cost
    return head + tail


def persona_messages(scenario: Scenario, turns: Sequence[Turn]) -> list[ChatMessage]:
    """Build the persona call: the system prompt, then the trimmed conversation in chat roles."""
    history = trim_history(turns, scenario.limits.history_tokens)
    return [{"role": "system", "content": persona_system_prompt(scenario)}, *(_as_message(turn) for turn in history)]


def neutralise_delimiters(text: str) -> str:
    """Replace anything in learner text that looks like a transcript marker or a chat control token."""
    return _FAKE_DELIMITER.sub(lambda match: match.group(0).replace("<", "‹").replace(">", "›").replace("[", "(").replace("]", ")"), text)


def render_transcript(scenario: Scenario, turns: Sequence[Turn], nonce: str) -> str:
    """Render the transcript between per-call markers, one line per turn, for the judge."""
    lines = [f"<transcript-{nonce}>"]
    for turn in turns:
        speaker = "learner" if turn.speaker == LEARNER else scenario.persona.name
        text = neutralise_delimiters(turn.text).replace("\n", " ")
        lines.append(f"[turn {turn.n}] {speaker}: {text}")
    lines.append(f"</transcript-{nonce}>")
    return "\n".join(lines)


def judge_messages(scenario: Scenario, criterion: Criterion, turns: Sequence[Turn], nonce: str) -> list[ChatMessage]:
    """Build the judge call for one criterion; the transcript is data in its own message."""
    template = _environment().get_template(JUDGE_TEMPLATE)
    system = template.render(scenario=scenario, persona=scenario.persona, criterion=criterion, nonce=nonce).strip()
    return [{"role": "system", "content": system}, {"role": "user", "content": render_transcript(scenario, turns, nonce)}]
