"""Scoring a transcript against its scenario's rubric.

For each criterion the judge gives a verdict and quotes. Quotes are checked against
the learner's own turn (verbatim once white space is normalised) and dropped when they
do not match. A criterion that earns points but keeps no quote is judged once more;
still without one, it is marked unsupported and earns nothing. The overall score is
the weighted sum of the criteria on 0..100.

Judge output that stays invalid after the provider's retries marks the attempt
`needs_review` with no overall score, instead of scoring it 0. With a model judge, an
overall score within `NEAR_PASS_MARK` points of the pass mark gets every criterion
judged `REPEAT_RUNS` times in all, keeping each criterion's median. Learner turns that
try to steer the scorer are scored with and without, and the lower result is kept.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import structlog

from assistant.llm import LLMRejected
from assistant.roleplay.injection import flagged_turns
from assistant.roleplay.judge import CriterionJudgement, Judge, Quote
from assistant.roleplay.metrics import ConversationMetrics, compute_metrics
from assistant.roleplay.scenarios import Criterion, Scenario
from assistant.roleplay.transcript import LEARNER, Turn, normalise_whitespace, quote_in_turn, without_turns

log = structlog.get_logger()

NEAR_PASS_MARK = 5.0
REPEAT_RUNS = 3


@dataclass(frozen=True)
class CriterionScore:
    """The kept result for one criterion. `verdict` is yes/no, 1..5, "unsupported" or "invalid"."""

    criterion_id: str
    kind: str
    verdict: str
    score: int | None
    points: float
    max_points: float
    evidence: list[Quote]
    supported: bool
    runs: list[int] = field(default_factory=list)
    dropped_quotes: int = 0
    feedback: str = ""

    @property
    def invalid(self) -> bool:
        return self.verdict == "invalid"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ScoreResult:
    overall: float | None
    passed: bool | None
    pass_mark: float
    criteria: list[CriterionScore]
    metrics: dict[str, float]
    needs_review: bool
    judge_provider: str
    judge_model: str
    prompt_version: str
    injection_suspected: bool = False
    flagged_turns: list[int] = field(default_factory=list)


def _verdict_label(criterion: Criterion, score: int) -> str:
    if criterion.kind == "yes_no":
        return "yes" if score == 1 else "no"
    return str(score)


def _verified_quotes(evidence: Sequence[Quote], learner_text: dict[int, str]) -> tuple[list[Quote], int]:
    """Keep quotes found verbatim in the learner turn they name; return them and the number dropped."""
    kept: list[Quote] = []
    for quote in evidence:
        text = learner_text.get(quote.turn)
        if text is not None and quote_in_turn(quote.quote, text):
            kept.append(Quote(quote.turn, normalise_whitespace(quote.quote)))
    return kept, len(evidence) - len(kept)


def _scored(criterion: Criterion, judgement: CriterionJudgement, evidence: list[Quote], dropped: int) -> CriterionScore:
    return CriterionScore(
        criterion_id=criterion.id,
        kind=criterion.kind,
        verdict=_verdict_label(criterion, judgement.score),
        score=judgement.score,
        points=round(criterion.weight * criterion.fraction(judgement.score), 4),
        max_points=criterion.weight,
        evidence=evidence,
        supported=True,
        runs=[judgement.score],
        dropped_quotes=dropped,
        feedback=judgement.feedback,
    )


def _unscored(criterion: Criterion, verdict: str, feedback: str, dropped: int = 0) -> CriterionScore:
    return CriterionScore(
        criterion_id=criterion.id,
        kind=criterion.kind,
        verdict=verdict,
        score=None if verdict == "invalid" else criterion.min_score,
        points=0.0,
        max_points=criterion.weight,
        evidence=[],
        supported=False,
        dropped_quotes=dropped,
        feedback=feedback,
    )


async def _judge_criterion(
    judge: Judge, scenario: Scenario, criterion: Criterion, turns: Sequence[Turn], metrics: ConversationMetrics, *, run: int
) -> CriterionScore:
    """Judge one criterion, once more if it earned points without a verified quote."""
    learner_text = {turn.n: turn.text for turn in turns if turn.speaker == LEARNER}
    dropped_total = 0
    for attempt in range(2):
        try:
            judgement = await judge.judge(scenario, criterion, turns, metrics, run=run * 2 + attempt)
        except LLMRejected as exc:
            log.warning("roleplay.score.invalid_output", criterion=criterion.id, judge=judge.provider, error=exc.message)
            return _unscored(criterion, "invalid", exc.message)

        evidence, dropped = _verified_quotes(judgement.evidence, learner_text)
        dropped_total += dropped
        if judgement.score == criterion.min_score or evidence:
            return _scored(criterion, judgement, evidence, dropped_total)
        log.info("roleplay.score.evidence_missing", criterion=criterion.id, attempt=attempt + 1, dropped=dropped)

    return _unscored(criterion, "unsupported", "no quote from the learner's turns supports this verdict", dropped_total)


def _overall(scenario: Scenario, criteria: Sequence[CriterionScore]) -> float | None:
    if any(criterion.invalid for criterion in criteria):
        return None
    return round(100 * sum(criterion.points for criterion in criteria) / scenario.rubric.total_weight, 1)


def _median_run(runs: Sequence[CriterionScore]) -> CriterionScore:
    """Keep the run with the median points; the kept result lists every run's score."""
    valid = [run for run in runs if not run.invalid]
    if not valid:
        return runs[0]
    ordered = sorted(valid, key=lambda run: run.points)
    median = ordered[(len(ordered) - 1) // 2]
    return replace(median, runs=[run.score for run in valid if run.score is not None])


async def _repeat_near_pass_mark(
    judge: Judge, scenario: Scenario, turns: Sequence[Turn], metrics: ConversationMetrics, first: list[CriterionScore]
) -> list[CriterionScore]:
    criteria = scenario.rubric.criteria
    extra = await asyncio.gather(
        *(
            _judge_criterion(judge, scenario, criterion, turns, metrics, run=run)
            for run in range(1, REPEAT_RUNS)
            for criterion in criteria
        )
    )
    by_criterion = [[first[index], *extra[index :: len(criteria)]] for index in range(len(criteria))]
    return [_median_run(runs) for runs in by_criterion]


async def _score_once(scenario: Scenario, turns: Sequence[Turn], judge: Judge) -> ScoreResult:
    metrics = compute_metrics(turns)
    criteria = list(
        await asyncio.gather(
            *(_judge_criterion(judge, scenario, criterion, turns, metrics, run=0) for criterion in scenario.rubric.criteria)
        )
    )
    overall = _overall(scenario, criteria)

    near = overall is not None and abs(overall - scenario.rubric.pass_mark) <= NEAR_PASS_MARK
    if near and not judge.deterministic:
        log.info("roleplay.score.repeat", scenario_id=scenario.id, overall=overall, runs=REPEAT_RUNS)
        criteria = await _repeat_near_pass_mark(judge, scenario, turns, metrics, criteria)
        overall = _overall(scenario, criteria)

    return ScoreResult(
        overall=overall,
        passed=None if overall is None else overall >= scenario.rubric.pass_mark,
        pass_mark=scenario.rubric.pass_mark,
        criteria=criteria,
        metrics=metrics.as_dict(),
        needs_review=overall is None,
        judge_provider=judge.provider,
        judge_model=judge.model,
        prompt_version=judge.prompt_version,
    )


def _lower(first: ScoreResult, second: ScoreResult) -> ScoreResult:
    if first.needs_review or second.needs_review:
        return first if first.needs_review else second
    assert first.overall is not None and second.overall is not None
    return second if second.overall < first.overall else first


async def score_transcript(scenario: Scenario, turns: Sequence[Turn], judge: Judge) -> ScoreResult:
    """Score a transcript; see the module docstring for the rules."""
    flagged = flagged_turns(turns)
    full = await _score_once(scenario, turns, judge)
    if not flagged:
        return full

    log.warning("roleplay.score.injection_suspected", scenario_id=scenario.id, turns=sorted(flagged))
    clean = await _score_once(scenario, without_turns(turns, flagged), judge)
    kept = _lower(full, clean)
    return replace(kept, injection_suspected=True, flagged_turns=sorted(flagged))
