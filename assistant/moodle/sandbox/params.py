"""Moodle's web service parameter handling: PHP form parsing and external API validation.

Moodle parses `users[0][customfields][0][type]=x` into nested PHP arrays and then checks
them against each function's description (`external_function_parameters`). The
sandbox does the same so that a malformed request fails the way it fails on a real
site, with the same `debuginfo` text (Moodle 5.1, `core_external\\external_api`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from assistant.moodle.sandbox.errors import WsError, invalid_parameter

Presence = Literal["required", "optional", "default"]


@dataclass(frozen=True)
class Value:
    """A scalar parameter of a PARAM_* type."""

    type: str
    presence: Presence = "required"
    default: Any = None


@dataclass(frozen=True)
class Single:
    """A structure with named keys (external_single_structure)."""

    keys: dict[str, Spec]
    presence: Presence = "required"
    default: Any = None


@dataclass(frozen=True)
class Multiple:
    """A list of one kind of value or structure (external_multiple_structure)."""

    content: Spec
    presence: Presence = "required"
    default: Any = field(default_factory=list)


@dataclass(frozen=True)
class AnyParams:
    """Parameters the sandbox accepts without checking, for functions whose response is always empty."""


Spec = Value | Single | Multiple


def optional(spec: Value) -> Value:
    return Value(spec.type, "optional")


def parse_php_form(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Nest bracketed form keys as PHP does; a later duplicate key wins.

    A key such as `users[0][customfields[0][type]]` yields the segment
    `customfields[0`, as in PHP, which the validation then reports as unexpected.
    """
    root: dict[str, Any] = {}
    for key, value in pairs:
        name, segments = _split_key(key)
        if not name:
            continue
        keys = [name, *segments]
        target = root
        for position, segment in enumerate(keys):
            # An empty segment (`values[]`) appends, as in PHP.
            segment = segment or str(len(target))
            if position == len(keys) - 1:
                target[segment] = value
                break
            child = target.get(segment)
            if not isinstance(child, dict):
                child = {}
                target[segment] = child
            target = child
    return root


def _split_key(key: str) -> tuple[str, list[str]]:
    opening = key.find("[")
    if opening <= 0:
        return key, []
    name, rest = key[:opening], key[opening:]
    segments: list[str] = []
    while rest.startswith("["):
        closing = rest.find("]")
        if closing < 0:
            break
        segments.append(rest[1:closing])
        rest = rest[closing + 1 :]
    return name, segments


def validate(spec: Spec | AnyParams, value: Any) -> Any:
    """Check `value` against `spec` and return the cleaned value; raise WsError like Moodle does."""
    if isinstance(spec, AnyParams):
        return value
    if isinstance(spec, Value):
        return _validate_value(spec, value)
    if isinstance(spec, Single):
        return _validate_single(spec, value)
    return _validate_multiple(spec, value)


def _validate_single(spec: Single, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise invalid_parameter(f"Only arrays accepted. The bad value is: '{_php_string(value)}'")

    remaining = dict(value)
    result: dict[str, Any] = {}
    for key, child in spec.keys.items():
        if key not in remaining:
            if child.presence == "required":
                raise invalid_parameter(f"Missing required key in single structure: {key}")
            if child.presence == "default":
                result[key] = child.default
            continue
        try:
            result[key] = validate(child, remaining.pop(key))
        except WsError as exc:
            raise invalid_parameter(f"{key} => Invalid parameter value detected: {exc.debuginfo}") from exc

    if remaining:
        raise invalid_parameter(f"Unexpected keys ({', '.join(remaining)}) detected in parameter array.")
    return result


def _validate_multiple(spec: Multiple, value: Any) -> list[Any]:
    if not isinstance(value, dict):
        raise invalid_parameter(f"Only arrays accepted. The bad value is: '{_php_string(value)}'")
    return [validate(spec.content, item) for item in value.values()]


def _validate_value(spec: Value, value: Any) -> Any:
    if isinstance(value, dict):
        raise invalid_parameter("Invalid external api parameter: the value is an array")
    cleaned = _CLEANERS.get(spec.type, _same)(value)
    if cleaned is None:
        raise invalid_parameter(
            f'Invalid external api parameter: the value is "{value}", the server was expecting "{spec.type}" type'
        )
    return cleaned


def _php_string(value: Any) -> str:
    if isinstance(value, dict):
        return "Array"
    return str(value)


# Each cleaner returns the typed value, or None when Moodle's clean_param would change
# the value (Moodle then rejects it).


def _int(value: str) -> int | None:
    return int(value) if re.fullmatch(r"-?(0|[1-9][0-9]*)", value) else None


def _bool(value: str) -> bool | None:
    # PARAM_BOOL cleans "true" and "yes" to 1, which then differs from the raw value.
    return {"0": False, "1": True}.get(value)


def _float(value: str) -> float | None:
    return float(value) if re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", value) else None


def _unchanged_by(clean: Callable[[str], str]) -> Callable[[str], str | None]:
    return lambda value: value if clean(value) == value else None


def _keep_only(pattern: str) -> Callable[[str], str | None]:
    compiled = re.compile(pattern)
    return _unchanged_by(lambda value: "".join(compiled.findall(value)))


def _same(value: str) -> str:
    return value


_CLEANERS: dict[str, Callable[[str], Any]] = {
    "int": _int,
    "bool": _bool,
    "float": _float,
    "alpha": _keep_only(r"[a-zA-Z]"),
    "alphanum": _keep_only(r"[a-zA-Z0-9]"),
    "alphanumext": _keep_only(r"[a-zA-Z0-9_-]"),
    "plugin": _keep_only(r"[a-z0-9_]"),
    "username": _unchanged_by(lambda value: re.sub(r"[^-.@_a-z0-9]", "", value.strip().lower())),
    "raw_trimmed": _unchanged_by(str.strip),
    "notags": _unchanged_by(lambda value: re.sub(r"<[^>]*>", "", value)),
    "text": _unchanged_by(lambda value: re.sub(r"<[^>]*>", "", value)),
    "raw": _same,
}
