"""Detection of learner turns that try to steer the scorer instead of talking to the persona.

Flagged turns set `injection_suspected` on the score, and the transcript is scored with
and without them, keeping the lower result, so such a turn can lower a score but never
raise it. Detection covers common phrasings in English, German, French and Spanish,
fake JSON verdicts and fake transcript or chat markers. Whatever it misses is still
harmless to the offline judge (which only measures similarity to the rubric's examples)
and sits inside per-call markers for the model judge.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from assistant.roleplay.transcript import LEARNER, Turn

_STEERING = re.compile(
    # Overriding instructions.
    r"\b(?:ignore|disregard|forget|override)\s+(?:all\s+|any\s+)?(?:of\s+)?(?:the\s+|your\s+|these\s+|those\s+|my\s+)?"
    r"(?:previous\s+|prior\s+|above\s+|earlier\s+|system\s+|original\s+)?(?:instructions?|rules|prompts?|rubric|guidelines|criteria)\b"
    r"|\byou are now (?:the |an? )?(?:judge|grader|assessor|evaluator|assistant|ai)\b|\bnew instructions?\s*:|\bsystem prompt\b"
    r"|\bdeveloper mode\b|\bact as (?:the |an? )?(?:judge|grader|assessor|evaluator)\b"
    # Asking for a score.
    r"|\b(?:give|award|grant|assign)\b[^.?!\n]{0,25}\b(?:full|maximum|max|top|perfect|highest)\s+(?:marks?|points?|scores?|grades?|ratings?)\b"
    r"|\b(?:give|award|grant|assign)\b[^.?!\n]{0,25}(?:\b100\s*(?:%|points|percent)|\b10/10|\b5/5)"
    r"|\b(?:full|maximum|perfect) (?:marks|points|score)\b|\bscore (?:me|this|it) (?:as |at )?(?:100|10|5|perfect|excellent|full)\b"
    r"|\b(?:mark|rate|grade|score)\b[^.?!\n]{0,30}(?:\b(?:as passed|excellent|perfect|full marks)\b|\b(?:5/5|10/10|100\s*%|100/100))"
    r"|\b(?:to the|dear) (?:judge|grader|assessor|evaluator|scorer)\b"
    # German, French, Spanish.
    r"|\bignoriere?\b[^.?!\n]{0,40}\b(?:anweisungen|regeln|vorgaben)\b|\bvolle punktzahl\b|\bhöchste punktzahl\b|\bbestnote\b"
    r"|\bignore[rz]?\b[^.?!\n]{0,40}\binstructions\b|\bnote maximale\b|\bnote parfaite\b"
    r"|\b(?:donne|donnez|mets|mettez)[- ]moi (?:la note maximale|20/20|100)"
    r"|\bignora[r]?\b[^.?!\n]{0,40}\binstrucciones\b|\bpuntuación (?:máxima|perfecta)\b|\bnota máxima\b|\bdame (?:la )?(?:máxima|100)\b",
    re.IGNORECASE,
)
# A JSON object that carries a verdict-like key.
_FAKE_VERDICT = re.compile(r"\{\s*\"?(?:score|overall|verdict|points|passed|pass|grade|feedback|rating|result)\"?\s*:", re.IGNORECASE)
_FAKE_MARKER = re.compile(
    r"</?\s*transcript|<\|[^|>]*\|>|\[/?INST\]|<<\s*/?SYS\s*>>|^\s*#{2,}\s*(?:system|instruction)|\[\s*turn\s+\d+\s*\]",
    re.IGNORECASE | re.MULTILINE,
)


def steering_reasons(text: str) -> list[str]:
    """List why a learner message looks like an attempt to steer the scorer; empty when it does not."""
    reasons = []
    if _STEERING.search(text):
        reasons.append("instruction")
    if _FAKE_VERDICT.search(text):
        reasons.append("fake_verdict")
    if _FAKE_MARKER.search(text):
        reasons.append("fake_marker")
    return reasons


def flagged_turns(turns: Sequence[Turn]) -> set[int]:
    """Return the numbers of learner turns that look like steering attempts."""
    return {turn.n for turn in turns if turn.speaker == LEARNER and steering_reasons(turn.text)}
