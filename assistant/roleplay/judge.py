"""Judges that score one rubric criterion of a transcript.

`LLMJudge` asks a language model for a structured verdict. `OfflineJudge` needs no
chat model: it compares each learner sentence with the criterion's good and weak
examples in sentence-embedding space and blends in the criterion's conversation
metric, so scores with the tiny local model or the scripted provider still follow the
rubric. Its evidence is learner sentences, so every quote is verbatim by construction.
"""

from __future__ import annotations

import asyncio
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

import numpy as np
import structlog
from pydantic import BaseModel, Field, field_validator

from assistant.llm import LLM
from assistant.llm.parsing import coerce_score
from assistant.roleplay.metrics import ConversationMetrics, metric_evidence
from assistant.roleplay.prompting import JUDGE_TEMPLATE, judge_messages, prompt_version
from assistant.roleplay.scenarios import Criterion, Scenario
from assistant.roleplay.transcript import Sentence, Turn, learner_sentences

log = structlog.get_logger()

OFFLINE_MODEL = "all-MiniLM-L6-v2+metrics"
OFFLINE_PROMPT_VERSION = "offline-judge@1"

# Cosine similarity (all-MiniLM-L6-v2) at which a learner sentence starts to count as
# showing a criterion, and at which it counts fully. Chosen by reading matches on the
# bundled scenarios; they are estimates, not fitted on the eval sets.
SIMILARITY_FLOOR = 0.35
SIMILARITY_FULL = 0.70
# How much sentences closer to the weak examples pull the similarity part down.
WEAK_PENALTY = 0.5
MAX_EVIDENCE = 3
ENCODE_CACHE_SIZE = 8192

Encoder = Callable[[Sequence[str]], np.ndarray]


@dataclass(frozen=True)
class Quote:
    turn: int
    quote: str


@dataclass(frozen=True)
class CriterionJudgement:
    """One judge run on one criterion: the raw score (0/1 or 1..5), supporting quotes, feedback."""

    score: int
    evidence: list[Quote]
    feedback: str = ""


class Judge(Protocol):
    provider: str
    model: str
    prompt_version: str
    # True when the same input always gives the same judgement, so repeated runs add nothing.
    deterministic: bool

    async def judge(
        self, scenario: Scenario, criterion: Criterion, turns: Sequence[Turn], metrics: ConversationMetrics, *, run: int
    ) -> CriterionJudgement:
        """Judge one criterion; `run` counts repeated runs from 0 and varies the seed.

        Raises `LLMRejected` when the judge's output stays invalid, `LLMUnavailable` when it cannot be reached.
        """
        ...


class QuoteOut(BaseModel):
    turn: int
    quote: str


class _VerdictOut(BaseModel):
    min_score: ClassVar[int]
    max_score: ClassVar[int]

    score: int
    evidence: list[QuoteOut] = Field(default_factory=list)
    feedback: str = ""

    @field_validator("score", mode="before")
    @classmethod
    def _coerce_score(cls, value: Any) -> int:
        return coerce_score(value, minimum=cls.min_score, maximum=cls.max_score)


class YesNoVerdict(_VerdictOut):
    """A yes_no verdict: 1 for yes, 0 for no; "yes" and "no" are accepted too."""

    min_score: ClassVar[int] = 0
    max_score: ClassVar[int] = 1

    score: int = Field(ge=0, le=1)

    @field_validator("score", mode="before")
    @classmethod
    def _coerce_score(cls, value: Any) -> int:
        if isinstance(value, str) and value.strip().lower() in ("yes", "no"):
            return 1 if value.strip().lower() == "yes" else 0
        return coerce_score(value, minimum=0, maximum=1)


class ScaleVerdict(_VerdictOut):
    """A scale_1_5 verdict."""

    min_score: ClassVar[int] = 1
    max_score: ClassVar[int] = 5

    score: int = Field(ge=1, le=5)


class LLMJudge:
    """A language model scoring each criterion at temperature 0 with a fixed seed per run.

    The judge sees the whole transcript. NOTE: a transcript longer than the model's
    context window is rejected by the endpoint, so that attempt ends up needing review.
    """

    deterministic = False

    def __init__(self, llm: LLM, *, seed: int = 20240601) -> None:
        self._llm = llm
        self._seed = seed
        self.provider = llm.provider
        self.model = llm.model
        self.prompt_version = prompt_version(JUDGE_TEMPLATE)

    async def judge(
        self, scenario: Scenario, criterion: Criterion, turns: Sequence[Turn], metrics: ConversationMetrics, *, run: int
    ) -> CriterionJudgement:
        # A fresh marker per call, so learner text cannot close the transcript by guessing it.
        nonce = secrets.token_hex(6)
        messages = judge_messages(scenario, criterion, turns, nonce)
        schema = ScaleVerdict if criterion.kind == "scale_1_5" else YesNoVerdict
        verdict = await self._llm.structured(messages, schema, temperature=0.0, seed=self._seed + run, max_tokens=400)
        quotes = [Quote(item.turn, item.quote) for item in verdict.evidence]
        return CriterionJudgement(score=verdict.score, evidence=quotes, feedback=verdict.feedback)


class _VectorCache:
    """Embeddings of recently seen texts, so examples and repeated sentences are encoded once."""

    def __init__(self, encode: Encoder, size: int = ENCODE_CACHE_SIZE) -> None:
        self._encode = encode
        self._size = size
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        # Criteria are judged concurrently in worker threads; one encoder call at a time
        # also keeps the encoder from being loaded twice on first use.
        self._lock = threading.Lock()

    def get(self, texts: Sequence[str]) -> np.ndarray:
        with self._lock:
            return self._get(texts)

    def _get(self, texts: Sequence[str]) -> np.ndarray:
        missing = list(dict.fromkeys(text for text in texts if text not in self._vectors))
        if missing:
            for text, vector in zip(missing, self._encode(missing), strict=True):
                self._vectors[text] = vector
        for text in texts:
            self._vectors.move_to_end(text)
        while len(self._vectors) > self._size:
            self._vectors.popitem(last=False)
        return np.stack([self._vectors[text] for text in texts]) if texts else np.zeros((0, 1), dtype=np.float32)


def _similarity_part(good: np.ndarray, weak: np.ndarray) -> float:
    """Score 0..1 from per-sentence best similarities to good and to weak examples."""
    wins = good[good > weak]
    losses = weak[weak >= good]
    good_part = _scaled(np.sort(wins)[-2:].mean()) if wins.size else 0.0
    weak_part = _scaled(np.sort(losses)[-2:].mean()) if losses.size else 0.0
    return min(1.0, max(0.0, good_part - WEAK_PENALTY * weak_part))


def _scaled(similarity: float) -> float:
    return min(1.0, max(0.0, (float(similarity) - SIMILARITY_FLOOR) / (SIMILARITY_FULL - SIMILARITY_FLOOR)))


def _score_from_fraction(criterion: Criterion, fraction: float) -> int:
    if criterion.kind == "yes_no":
        return 1 if fraction >= 0.5 else 0
    return 1 + int(round(fraction * 4))


class OfflineJudge:
    """Example similarity plus conversation metrics; deterministic and model-free apart from the encoder."""

    provider = "offline"
    model = OFFLINE_MODEL
    prompt_version = OFFLINE_PROMPT_VERSION
    deterministic = True

    def __init__(self, encode: Encoder | None = None) -> None:
        if encode is None:
            from assistant.embeddings import encode_texts

            encode = encode_texts
        self._cache = _VectorCache(encode)

    def _vectors(self, texts: Sequence[str]) -> np.ndarray:
        return self._cache.get(texts)

    async def judge(
        self, scenario: Scenario, criterion: Criterion, turns: Sequence[Turn], metrics: ConversationMetrics, *, run: int
    ) -> CriterionJudgement:
        sentences = learner_sentences(turns)
        return await asyncio.to_thread(self._judge_sync, criterion, turns, sentences, metrics)

    def _judge_sync(
        self, criterion: Criterion, turns: Sequence[Turn], sentences: list[Sentence], metrics: ConversationMetrics
    ) -> CriterionJudgement:
        if not sentences:
            return CriterionJudgement(score=criterion.min_score, evidence=[], feedback="The learner said nothing to assess.")

        vectors = self._vectors([sentence.text for sentence in sentences])
        good = (vectors @ self._vectors(criterion.good_examples).T).max(axis=1)
        weak = (vectors @ self._vectors(criterion.weak_examples).T).max(axis=1)
        fraction = _similarity_part(good, weak)

        if criterion.metric is not None:
            metric_part = criterion.metric.normalise(metrics.value(criterion.metric.name))
            fraction = (1 - criterion.metric.weight) * fraction + criterion.metric.weight * metric_part

        score = _score_from_fraction(criterion, fraction)
        # Quotes support a verdict that earns points; the lowest score needs none.
        evidence = self._evidence(criterion, turns, sentences, good, weak) if score > criterion.min_score else []
        feedback = f"similarity and metrics give {fraction:.2f} of the criterion"
        return CriterionJudgement(score=score, evidence=evidence, feedback=feedback)

    def _evidence(
        self, criterion: Criterion, turns: Sequence[Turn], sentences: list[Sentence], good: np.ndarray, weak: np.ndarray
    ) -> list[Quote]:
        """Pick the learner sentences closest to the good examples, then sentences the criterion's metric counted.

        When neither gives a sentence (a criterion about avoiding something, met by a
        transcript without it), the sentences closest to the good examples are used anyway.
        """
        ranked = sorted(range(len(sentences)), key=lambda index: -good[index])
        chosen = [sentences[index] for index in ranked if good[index] > weak[index] and good[index] >= SIMILARITY_FLOOR]
        if criterion.metric is not None:
            chosen += [sentence for sentence in metric_evidence(turns, criterion.metric.name) if sentence not in chosen]
        if not chosen:
            chosen = [sentences[index] for index in ranked]
        return [Quote(sentence.turn, sentence.text) for sentence in chosen[:MAX_EVIDENCE]]
