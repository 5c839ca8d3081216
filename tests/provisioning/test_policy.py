from __future__ import annotations

import re

import pytest

from assistant.people.mapping import MoodleAccountPolicy
from assistant.provisioning.policy import (
    USERNAME_MAX_LENGTH,
    base_username,
    clean_username,
    generate_password,
    is_valid_username,
    username_candidates,
)


class TestBaseUsername:
    def test_employee_id_lowercased_with_prefix(self) -> None:
        policy = MoodleAccountPolicy(username_rule="employee_id", username_prefix="emp")

        assert base_username(policy, employee_id="EMP-00042", email=None) == "empemp-00042"

    def test_leading_zeros_kept(self) -> None:
        policy = MoodleAccountPolicy()

        assert base_username(policy, employee_id="00042", email="ana@example.test") == "00042"

    @pytest.mark.parametrize(
        ("email", "expected"),
        [
            ("Ana.Test@example.test", "ana.test"),
            ("ana+lms@example.test", "analms"),
            ("o'neil@example.test", "oneil"),
            ("jürgen.müller@example.test", "jurgen.muller"),
        ],
    )
    def test_email_local_part_made_safe(self, email: str, expected: str) -> None:
        policy = MoodleAccountPolicy(username_rule="email_local_part")

        username = base_username(policy, employee_id="00042", email=email)

        assert username == expected
        assert is_valid_username(username)

    def test_email_rule_without_email_uses_id(self) -> None:
        policy = MoodleAccountPolicy(username_rule="email_local_part")

        assert base_username(policy, employee_id="00042", email=None) == "00042"

    def test_id_without_usable_characters(self) -> None:
        policy = MoodleAccountPolicy()

        username = base_username(policy, employee_id="✓✗", email=None)

        assert username.startswith("id")
        assert is_valid_username(username)


def test_clean_username_truncates() -> None:
    assert len(clean_username("a" * 150)) == USERNAME_MAX_LENGTH


def test_candidates_are_deterministic() -> None:
    first = list(username_candidates("ana.test"))

    assert first[:3] == ["ana.test", "ana.test_2", "ana.test_3"]
    assert first == list(username_candidates("ana.test"))
    assert all(len(name) <= USERNAME_MAX_LENGTH for name in username_candidates("x" * USERNAME_MAX_LENGTH))


class TestGeneratePassword:
    def test_meets_every_policy_class(self) -> None:
        for _ in range(200):
            password = generate_password()

            assert len(password) >= 8
            assert re.search(r"[0-9]", password)
            assert re.search(r"[a-z]", password)
            assert re.search(r"[A-Z]", password)
            assert re.search(r"[^A-Za-z0-9]", password)

    def test_passwords_differ(self) -> None:
        assert len({generate_password() for _ in range(50)}) == 50

    def test_too_short_raises(self) -> None:
        with pytest.raises(ValueError, match="too short"):
            generate_password(3)
