"""Moodle's form notation for nested web service parameters.

Moodle reads POST fields the way PHP does, so nested values travel as bracketed keys:
`users[0][username]`, `values[0]`, `options[ids][0]` and, one level deeper,
`users[0][customfields][0][type]`. A bracket never opens inside another bracket.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from enum import Enum
from typing import Any

from pydantic import SecretStr


def flatten(params: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Flatten nested parameters into form fields in input order.

    Mappings add `[key]`, sequences add `[index]`. Booleans become `1`/`0`, datetimes
    become Unix seconds and `None` values are left out (Moodle then applies its default).
    Raises TypeError for a value of any other type.
    """
    fields: list[tuple[str, str]] = []
    for key, value in params.items():
        _flatten_into(fields, str(key), value)
    return fields


def _flatten_into(fields: list[tuple[str, str]], prefix: str, value: Any) -> None:
    if value is None:
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            _flatten_into(fields, f"{prefix}[{key}]", item)
        return
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        for index, item in enumerate(value):
            _flatten_into(fields, f"{prefix}[{index}]", item)
        return
    fields.append((prefix, _scalar(prefix, value)))


def _scalar(key: str, value: Any) -> str:
    # bool before int: bool is a subclass of int, and Moodle's PARAM_BOOL accepts only 1 and 0.
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, int | float | str):
        return str(value)
    if isinstance(value, datetime):
        return str(int(value.timestamp()))
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    raise TypeError(f"form field {key} has a value of type {type(value).__name__}; expected str, int, float, bool or datetime")
