"""Conversation metrics computed without a model.

Questions are classified as in motivational-interviewing practice: an open question
invites a wide range of answers, and a closed one requests yes/no or a specific fact. Here that is decided by the first words of the
sentence, in English, German, French and Spanish. Reflections and advice (the
"righting reflex") are recognised by their opening or fixed phrases, which catches the
common forms and misses subtle ones.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Literal

from assistant.llm.language import detect_language
from assistant.roleplay.transcript import LEARNER, PERSONA, Sentence, Turn, learner_sentences, word_count

QuestionKind = Literal["open", "closed"]

# Words that may precede the real start of a sentence ("So, what ...", "Okay and how ...").
_FILLERS = {
    "so", "and", "but", "well", "okay", "ok", "now", "then", "alright", "right", "um", "uh", "hmm", "mm", "yeah", "yes",
    "oh", "also", "und", "alors", "et", "donc", "bueno", "y", "entonces",
}
_OPEN_STARTS = {
    "en": (
        "what", "how", "why", "where", "who", "tell me", "describe", "explain", "help me understand", "walk me through",
        "in what way", "talk about", "talk to me", "say more", "i wonder", "i'm wondering", "i am wondering",
    ),
    "de": ("was", "wie", "warum", "wieso", "weshalb", "welche", "erzählen", "beschreiben"),
    "fr": ("qu'est-ce", "que", "quoi", "comment", "pourquoi", "racontez", "décrivez", "quel", "quelle"),
    "es": ("qué", "cómo", "por qué", "cuál", "cuéntame", "cuénteme", "describa"),
}
# Wh-questions that ask for a number or a fact, so they count as closed.
_CLOSED_WH = (
    "how many", "how much", "how long", "how often", "how old", "what time",
    "wie viel", "wie oft", "wie lange", "combien", "cuánto", "cuántos",
)
_REQUEST_OPEN = re.compile(
    r"^(can|could|would|will)\s+you\s+(please\s+)?(tell|describe|explain|say more|walk me|talk|help me understand|share)"
    r"|^(können|könnten)\s+sie\s+(mir\s+)?(erzählen|beschreiben|erklären)"
    r"|^(pouvez|pourriez)-vous\s+(me\s+)?(dire|décrire|expliquer|raconter)",
    re.IGNORECASE,
)

_REFLECTION_STARTS = (
    "it sounds", "sounds like", "it seems", "you feel", "you're feeling", "you are feeling", "so you", "you're saying",
    "you are saying", "what i'm hearing", "what i hear", "on one hand", "on the one hand", "part of you", "you're worried",
    "you are worried", "you've", "you're", "you are", "you want", "you'd like", "you don't", "you really", "you wish",
    "sie fühlen", "es klingt", "sie machen sich sorgen", "vous vous sentez", "on dirait", "si je comprends bien",
    "parece que", "usted siente",
)
_ADVICE = re.compile(
    r"\b(you should|you need to|you have to|you must|you ought to|i recommend|i'd recommend|i would recommend|i suggest|"
    r"i'd suggest|my advice|why don't you|the best thing (is|would be|to do)|make sure you|it's important that you|"
    r"sie sollten|du solltest|sie müssen|du musst|vous devez|vous devriez|usted debe|debería|tienes que)\b",
    re.IGNORECASE,
)
_LEADING_PUNCTUATION = re.compile(r"^[\s¿¡\"'“‘(\-–—,.]+")
# Stutters in transcribed speech: "And-and", "I-I".
_STUTTER = re.compile(r"\b(\w+)-\1\b", re.IGNORECASE)

METRIC_NAMES = (
    "learner_turns",
    "learner_talk_share",
    "questions_asked",
    "open_questions",
    "closed_questions",
    "open_question_share",
    "reflections",
    "reflection_to_question_ratio",
    "advice_statements",
    "advice_per_turn",
    "longest_monologue_words",
)


def _strip_fillers(sentence: str) -> str:
    words = _LEADING_PUNCTUATION.sub("", _STUTTER.sub(r"\1", sentence)).split()
    while words and words[0].lower().strip(",.;:") in _FILLERS:
        words = words[1:]
    return " ".join(words).lower()


def is_question(sentence: str) -> bool:
    stripped = sentence.rstrip()
    return stripped.endswith(("?", "？")) or stripped.startswith("¿")


def _is_open_clause(clause: str, open_starts: tuple[str, ...]) -> bool:
    start = _strip_fillers(clause)
    if start.startswith(_CLOSED_WH):
        return False
    return start.startswith(open_starts) or _REQUEST_OPEN.match(start) is not None


def classify_question(sentence: str) -> QuestionKind | None:
    """Return "open" or "closed" for a question, None for a sentence that is not one.

    Each comma-separated clause is checked, so a lead-in ("And your wife, what does
    she say?") does not hide the interrogative.
    """
    asks = is_question(sentence) or _REQUEST_OPEN.match(_strip_fillers(sentence)) is not None
    if not asks:
        return None
    open_starts = _OPEN_STARTS[detect_language(sentence)]
    clauses = re.split(r"[,;:]\s*", sentence)
    return "open" if any(_is_open_clause(clause, open_starts) for clause in clauses) else "closed"


def is_reflection(sentence: str) -> bool:
    """Tell whether a statement reads like a reflection of the other person's words."""
    if is_question(sentence) or is_advice(sentence):
        return False
    return _strip_fillers(sentence).startswith(_REFLECTION_STARTS)


def is_advice(sentence: str) -> bool:
    return _ADVICE.search(sentence) is not None


@dataclass(frozen=True)
class ConversationMetrics:
    """Counts and shares over a transcript; shares are 0..1 and 0 when their denominator is 0."""

    learner_turns: int
    persona_turns: int
    learner_words: int
    persona_words: int
    learner_talk_share: float
    questions_asked: int
    open_questions: int
    closed_questions: int
    open_question_share: float
    reflections: int
    reflection_to_question_ratio: float
    advice_statements: int
    advice_per_turn: float
    longest_monologue_words: int

    def as_dict(self) -> dict[str, float]:
        return {name: float(value) for name, value in asdict(self).items()}

    def value(self, name: str) -> float:
        return float(getattr(self, name))


def _share(part: float, whole: float) -> float:
    return round(part / whole, 4) if whole else 0.0


def _longest_monologue(turns: Sequence[Turn]) -> int:
    """Words in the longest run of consecutive learner turns."""
    longest = current = 0
    for turn in turns:
        current = current + word_count(turn.text) if turn.speaker == LEARNER else 0
        longest = max(longest, current)
    return longest


def compute_metrics(turns: Sequence[Turn]) -> ConversationMetrics:
    """Compute the metrics of a transcript from the learner's point of view."""
    sentences = learner_sentences(turns)
    kinds = [classify_question(sentence.text) for sentence in sentences]
    learner_words = sum(word_count(turn.text) for turn in turns if turn.speaker == LEARNER)
    persona_words = sum(word_count(turn.text) for turn in turns if turn.speaker == PERSONA)
    learner_count = sum(turn.speaker == LEARNER for turn in turns)

    questions = sum(kind is not None for kind in kinds)
    open_questions = sum(kind == "open" for kind in kinds)
    reflections = sum(is_reflection(sentence.text) for sentence in sentences)
    advice = sum(is_advice(sentence.text) for sentence in sentences)

    return ConversationMetrics(
        learner_turns=learner_count,
        persona_turns=sum(turn.speaker == PERSONA for turn in turns),
        learner_words=learner_words,
        persona_words=persona_words,
        learner_talk_share=_share(learner_words, learner_words + persona_words),
        questions_asked=questions,
        open_questions=open_questions,
        closed_questions=questions - open_questions,
        open_question_share=_share(open_questions, questions),
        reflections=reflections,
        reflection_to_question_ratio=round(reflections / questions, 4) if questions else float(reflections),
        advice_statements=advice,
        advice_per_turn=_share(advice, learner_count),
        longest_monologue_words=_longest_monologue(turns),
    )


def metric_evidence(turns: Sequence[Turn], name: str) -> list[Sentence]:
    """Return the learner sentences that a metric counted, for metrics that count sentences."""
    sentences = learner_sentences(turns)
    if name in ("questions_asked",):
        return [sentence for sentence in sentences if classify_question(sentence.text) is not None]
    if name in ("open_questions", "open_question_share"):
        return [sentence for sentence in sentences if classify_question(sentence.text) == "open"]
    if name in ("reflections", "reflection_to_question_ratio"):
        return [sentence for sentence in sentences if is_reflection(sentence.text)]
    return []
