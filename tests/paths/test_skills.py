"""Skill names matched by their words."""

from __future__ import annotations

import pytest

from assistant.paths.skills import matching_skills, skill_key, skills_match, split_skill_list


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("Negotiation", "Negotiation Skills"),
        ("Writing", "Business Writing"),
        ("Spreadsheet software", "Spreadsheet Software"),
        ("Data base management system software", "Database Management Systems"),
        ("Customer relationship management CRM software", "Customer Relationship Management"),
    ],
)
def test_same_skill_matches(first: str, second: str) -> None:
    assert skills_match(first, second)
    assert skills_match(second, first)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("Development", "Object or component oriented development software"),
        ("Planning", "Enterprise resource planning ERP software"),
        ("Sales", "Marketing"),
        ("Skills", "Negotiation Skills"),
    ],
)
def test_generic_word_does_not_match_long_name(first: str, second: str) -> None:
    assert not skills_match(first, second)


def test_key_drops_filler_and_plural() -> None:
    assert skill_key("Relational Databases") == frozenset({"relational", "database"})
    assert skill_key("Business Analysis") == frozenset({"business", "analysis"})
    assert skill_key("C# Basics") == frozenset({"c#"})


def test_matching_skills_keeps_wanted_order() -> None:
    assert matching_skills(["SQL", "Writing", "Sales"], ["Business Writing", "SQL"]) == ["SQL", "Writing"]


def test_split_skill_list_trims_and_deduplicates() -> None:
    assert split_skill_list(" SQL, sql ,, Python Programming ") == ["SQL", "Python Programming"]
