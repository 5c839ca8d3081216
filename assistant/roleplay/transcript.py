"""The transcript as the scorer sees it: numbered turns, sentences and verbatim quotes."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

Speaker = Literal["learner", "persona"]

LEARNER: Speaker = "learner"
PERSONA: Speaker = "persona"

_WHITESPACE = re.compile(r"\s+")
# A sentence ends at . ! ? … (or their full-width forms) followed by white space.
_SENTENCE_END = re.compile(r"(?<=[.!?…。！？])\s+")


@dataclass(frozen=True)
class Turn:
    """One message of a conversation; `n` counts every message from 1, whoever speaks."""

    n: int
    speaker: Speaker
    text: str


@dataclass(frozen=True)
class Sentence:
    """A sentence of a learner turn, with the turn it came from."""

    turn: int
    text: str


def normalise_whitespace(text: str) -> str:
    return _WHITESPACE.sub(" ", text).strip()


def split_sentences(text: str) -> list[str]:
    """Split on sentence-ending punctuation; text without any stays one sentence."""
    parts = (normalise_whitespace(part) for part in _SENTENCE_END.split(text))
    return [part for part in parts if part]


def learner_turns(turns: Iterable[Turn]) -> list[Turn]:
    return [turn for turn in turns if turn.speaker == LEARNER]


def learner_sentences(turns: Iterable[Turn]) -> list[Sentence]:
    return [Sentence(turn.n, sentence) for turn in learner_turns(turns) for sentence in split_sentences(turn.text)]


def quote_in_turn(quote: str, turn_text: str) -> bool:
    """Tell whether `quote` appears verbatim in the turn once runs of white space count as one space."""
    needle = normalise_whitespace(quote)
    return bool(needle) and needle in normalise_whitespace(turn_text)


def word_count(text: str) -> int:
    return len(text.split())


def without_turns(turns: Sequence[Turn], excluded: set[int]) -> list[Turn]:
    """Return the transcript without the given learner turns and the persona replies to them."""
    kept: list[Turn] = []
    skip_reply = False
    for turn in turns:
        if turn.n in excluded:
            skip_reply = True
            continue
        if skip_reply and turn.speaker == PERSONA:
            skip_reply = False
            continue
        skip_reply = False
        kept.append(turn)
    return kept
