"""Reading JSON and scores out of model replies."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from assistant.llm.parsing import ReplyParseError, coerce_score, parse_json_reply, parse_model_reply


class Verdict(BaseModel):
    score: int
    feedback: str = ""


@pytest.mark.parametrize(
    "reply",
    [
        '{"score": 4}',
        '```json\n{"score": 4}\n```',
        '```\n{"score": 4}\n```',
        'Here is my verdict:\n{"score": 4}\nI hope this helps.',
        '  {"score": 4}  ',
    ],
    ids=["plain", "json-fence", "bare-fence", "prose-around", "whitespace"],
)
def test_parse_json_reply_finds_object(reply: str) -> None:
    assert parse_json_reply(reply) == {"score": 4}


def test_parse_keeps_latex_backslashes() -> None:
    value = parse_json_reply('{"feedback":"Use \\\\(x^2\\\\) here","score":5}')

    assert value["feedback"] == "Use \\(x^2\\) here"
    assert value["score"] == 5


def test_parse_skips_brace_in_prose() -> None:
    assert parse_json_reply('Scores use {braces} sometimes: {"score": 2}') == {"score": 2}


@pytest.mark.parametrize("reply", ["", "no json at all", "{not valid json"])
def test_parse_rejects_reply_without_json(reply: str) -> None:
    with pytest.raises(ReplyParseError):
        parse_json_reply(reply)


def test_parse_model_reply_names_invalid_field() -> None:
    with pytest.raises(ReplyParseError, match=r"Verdict\.score"):
        parse_model_reply('{"score": "many"}', Verdict)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(8, 8), (8.0, 8), ("8", 8), (" 8 ", 8), ("8/10", 8), ("0", 0), (10, 10)],
)
def test_coerce_score_accepts(value: object, expected: int) -> None:
    assert coerce_score(value, minimum=0, maximum=10) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (25, "outside the range 0..10"),
        (-3, "outside the range 0..10"),
        ("8/5", "out of 5, expected out of 10"),
        (7.5, "not a whole number"),
        ("eight", "not a number"),
        (True, "boolean"),
        (None, "not a number"),
    ],
)
def test_coerce_score_rejects(value: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        coerce_score(value, minimum=0, maximum=10)
