"""Reading JSON out of model replies.

Models wrap JSON in Markdown fences, put a sentence before it, or write numbers as
text. Replies are parsed with the standard JSON parser and never unescaped by hand,
so backslashes in valid JSON (LaTeX such as `\\(x^2\\)`) reach the caller unchanged.
"""

from __future__ import annotations

import json
import re
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

ModelT = TypeVar("ModelT", bound=BaseModel)

_FENCE = re.compile(r"```(?:json|JSON)?[ \t]*\n?(.*?)```", re.DOTALL)
_FRACTION = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*/\s*(\d+(?:\.\d+)?)\s*$")


class ReplyParseError(ValueError):
    """A model reply that contains no JSON value, or one that does not match the expected schema."""


def _candidates(text: str) -> list[str]:
    fenced = [match.group(1).strip() for match in _FENCE.finditer(text)]
    return [*fenced, text.strip()]


def _decode_first_value(text: str) -> Any:
    """Decode the first JSON object or array in `text`, ignoring prose around it."""
    decoder = json.JSONDecoder()
    for start, char in enumerate(text):
        if char not in "{[":
            continue
        try:
            value, _ = decoder.raw_decode(text, start)
        except json.JSONDecodeError:
            continue
        return value
    raise ReplyParseError("the reply contains no JSON object")


def parse_json_reply(text: str) -> Any:
    """Return the JSON value in a model reply: a fenced block, the whole reply, or the first object in it."""
    last_error: ReplyParseError | None = None
    for candidate in _candidates(text):
        try:
            return json.loads(candidate)
        except json.JSONDecodeError:
            pass
        try:
            return _decode_first_value(candidate)
        except ReplyParseError as exc:
            last_error = exc
    raise last_error or ReplyParseError("the reply is empty")


def parse_model_reply(text: str, schema: type[ModelT]) -> ModelT:
    """Parse a reply as `schema`; raise `ReplyParseError` naming the first invalid field."""
    value = parse_json_reply(text)
    try:
        return schema.model_validate(value)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "(root)"
        raise ReplyParseError(f"{schema.__name__}.{where}: {first['msg']}") from exc


def coerce_score(value: Any, *, minimum: int, maximum: int) -> int:
    """Turn a model's score into an int within [minimum, maximum].

    Accepts 8, 8.0, "8" and "8/<maximum>". Raises ValueError for anything else, for
    fractions over another maximum and for values out of range, because clipping a
    wrong score would store a guess.
    """
    number = _score_number(value, maximum=maximum)
    if number != int(number):
        raise ValueError(f"score {value!r} is not a whole number")
    if not minimum <= number <= maximum:
        raise ValueError(f"score {value!r} is outside the range {minimum}..{maximum}")
    return int(number)


def _score_number(value: Any, *, maximum: int) -> float:
    if isinstance(value, bool):
        raise ValueError(f"score {value!r} is a boolean, expected a number")
    if isinstance(value, int | float):
        return float(value)
    if not isinstance(value, str):
        raise ValueError(f"score {value!r} is not a number")

    fraction = _FRACTION.match(value)
    if fraction:
        numerator, denominator = float(fraction.group(1)), float(fraction.group(2))
        if denominator != maximum:
            raise ValueError(f"score {value!r} is out of {denominator:g}, expected out of {maximum}")
        return numerator
    try:
        return float(value.strip())
    except ValueError:
        raise ValueError(f"score {value!r} is not a number") from None
