"""Conversation metrics without a model."""

from __future__ import annotations

import pytest

from assistant.roleplay.metrics import classify_question, compute_metrics, is_advice, is_reflection, metric_evidence
from assistant.roleplay.transcript import Turn


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("What brings you here today?", "open"),
        ("How do you feel about that?", "open"),
        ("Tell me more about the weekends.", None),
        ("Can you tell me more about the weekends?", "open"),
        ("Could you walk me through a busy morning", "open"),
        ("So, aside from the price, what matters most to you?", "open"),
        ("And-and your wife, what does she say?", "open"),
        ("How many drinks do you have a day?", "closed"),
        ("Do you drink every day?", "closed"),
        ("Was it hard?", "closed"),
        ("Is price the only issue?", "closed"),
        ("You drink after every shift, right?", "closed"),
        ("Was halten Sie davon?", "open"),
        ("Haben Sie das schon versucht?", "closed"),
        ("Comment vous sentez-vous ?", "open"),
        ("¿Cómo se siente usted con eso?", "open"),
        ("It sounds like you are worried.", None),
    ],
)
def test_classify_question(sentence: str, expected: str | None) -> None:
    assert classify_question(sentence) == expected


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("It sounds like the team matters a lot to you.", True),
        ("You're worried about your daughter.", True),
        ("So you want more energy at weekends.", True),
        ("You should stop drinking.", False),
        ("Are you worried?", False),
        ("The weather is nice.", False),
    ],
)
def test_is_reflection(sentence: str, expected: bool) -> None:
    assert is_reflection(sentence) is expected


def test_is_advice_in_several_languages() -> None:
    assert is_advice("You need to cut down to 14 units.")
    assert is_advice("Sie sollten weniger trinken.")
    assert is_advice("Vous devez arrêter.")
    assert not is_advice("What would you like to change?")


TRANSCRIPT = [
    Turn(1, "persona", "Hello, what is this about?"),
    Turn(2, "learner", "Thanks for your time. What does a normal day look like for you? Do you use spreadsheets?"),
    Turn(3, "persona", "We use spreadsheets for everything and it is slow."),
    Turn(4, "learner", "It sounds like the spreadsheets slow you down."),
    Turn(5, "persona", "Yes, a lot."),
    Turn(6, "learner", "You should buy our tool."),
]


def test_compute_metrics_counts() -> None:
    metrics = compute_metrics(TRANSCRIPT)

    assert metrics.learner_turns == 3
    assert metrics.persona_turns == 3
    assert metrics.learner_words == 30
    assert metrics.persona_words == 17
    assert metrics.learner_talk_share == pytest.approx(30 / 47, abs=1e-4)
    assert metrics.questions_asked == 2
    assert metrics.open_questions == 1
    assert metrics.closed_questions == 1
    assert metrics.open_question_share == 0.5
    assert metrics.reflections == 1
    assert metrics.reflection_to_question_ratio == 0.5
    assert metrics.advice_statements == 1
    assert metrics.advice_per_turn == pytest.approx(1 / 3, abs=1e-4)
    assert metrics.longest_monologue_words == 17


def test_longest_monologue_joins_consecutive_learner_turns() -> None:
    turns = [Turn(1, "learner", "one two three"), Turn(2, "learner", "four five"), Turn(3, "persona", "ok"), Turn(4, "learner", "six")]

    assert compute_metrics(turns).longest_monologue_words == 5


def test_metrics_of_empty_transcript_are_zero() -> None:
    metrics = compute_metrics([Turn(1, "persona", "Hello?")])

    assert metrics.learner_turns == 0
    assert metrics.learner_talk_share == 0.0
    assert metrics.open_question_share == 0.0
    assert metrics.advice_per_turn == 0.0


def test_metric_evidence_lists_counted_sentences() -> None:
    evidence = metric_evidence(TRANSCRIPT, "open_question_share")

    assert [(sentence.turn, sentence.text) for sentence in evidence] == [(2, "What does a normal day look like for you?")]
    assert [sentence.turn for sentence in metric_evidence(TRANSCRIPT, "reflections")] == [4]
    assert metric_evidence(TRANSCRIPT, "learner_talk_share") == []
