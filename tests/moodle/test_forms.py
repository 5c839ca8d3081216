"""Flattening nested parameters into Moodle's bracketed form fields."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from assistant.moodle.forms import flatten
from assistant.moodle.sandbox.errors import WsError
from assistant.moodle.sandbox.params import Multiple, Single, parse_php_form, validate
from assistant.moodle.sandbox.ws_users import CREATE_USER


def test_list_of_users_becomes_indexed_fields() -> None:
    fields = flatten({"users": [{"username": "ana.test", "firstname": "Ana"}, {"username": "ben.test"}]})

    assert fields == [
        ("users[0][username]", "ana.test"),
        ("users[0][firstname]", "Ana"),
        ("users[1][username]", "ben.test"),
    ]


def test_nested_custom_fields_never_nest_brackets() -> None:
    fields = flatten({"users": [{"username": "ana.test", "customfields": [{"type": "dept", "value": "Sales"}]}]})

    assert fields == [
        ("users[0][username]", "ana.test"),
        ("users[0][customfields][0][type]", "dept"),
        ("users[0][customfields][0][value]", "Sales"),
    ]
    assert all("customfields[0" not in key for key, _ in fields)


def test_values_options_and_scalars() -> None:
    fields = flatten(
        {
            "field": "username",
            "values": ["a", "b"],
            "options": {"ids": [2, 3]},
            "suspended": True,
            "createpassword": False,
            "timestart": datetime(2026, 1, 1, tzinfo=UTC),
            "grade": 9.5,
            "skipped": None,
        }
    )

    assert fields == [
        ("field", "username"),
        ("values[0]", "a"),
        ("values[1]", "b"),
        ("options[ids][0]", "2"),
        ("options[ids][1]", "3"),
        ("suspended", "1"),
        ("createpassword", "0"),
        ("timestart", "1767225600"),
        ("grade", "9.5"),
    ]


def test_unsupported_value_names_field() -> None:
    with pytest.raises(TypeError, match=r"users\[0\]\[extra\]"):
        flatten({"users": [{"extra": object()}]})


def test_flattened_users_pass_moodle_validation() -> None:
    fields = flatten(
        {
            "users": [
                {
                    "username": "ana.test",
                    "firstname": "Ana",
                    "lastname": "Test",
                    "email": "ana@example.invalid",
                    "createpassword": True,
                    "customfields": [{"type": "employeeid", "value": "E42"}],
                }
            ]
        }
    )

    params = validate(Single({"users": Multiple(CREATE_USER)}), parse_php_form(fields))

    assert params["users"][0]["customfields"] == [{"type": "employeeid", "value": "E42"}]
    assert params["users"][0]["createpassword"] is True


def test_nested_bracket_notation_is_rejected() -> None:
    fields = [
        ("users[0][username]", "ana.test"),
        ("users[0][firstname]", "Ana"),
        ("users[0][lastname]", "Test"),
        ("users[0][email]", "ana@example.invalid"),
        ("users[0][customfields[0][type]]", "dept"),
    ]

    with pytest.raises(WsError) as raised:
        validate(Single({"users": Multiple(CREATE_USER)}), parse_php_form(fields))

    assert raised.value.debuginfo == (
        "users => Invalid parameter value detected: Unexpected keys (customfields[0) detected in parameter array."
    )


def test_unflattened_list_is_rejected() -> None:
    with pytest.raises(WsError) as raised:
        validate(Single({"users": Multiple(CREATE_USER)}), parse_php_form([("users", "username")]))

    assert raised.value.debuginfo == "users => Invalid parameter value detected: Only arrays accepted. The bad value is: 'username'"
