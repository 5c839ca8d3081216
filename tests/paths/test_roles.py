"""Role profiles from the catalogue file and from the O*NET files."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.paths.catalogue import CatalogueConfig, Level, OnetSettings
from assistant.paths.index import QueryEncoder
from assistant.paths.roles import RoleResolver, load_occupations, normalise_title, seniority_of, title_without_grade
from tests.support import shared_path


@pytest.fixture(scope="module")
def onet_resolver(encoder) -> RoleResolver:  # type: ignore[no-untyped-def]
    settings = OnetSettings(directory=shared_path("data", "roles", "onet_skills.csv").parent)
    config = CatalogueConfig.model_validate(
        {"roles": {"Field Seller": {"aliases": ["Account Executive"], "skills": {"Negotiation": 1.0}, "occupation": "Sales Managers"}}}
    )
    return RoleResolver(config, load_occupations(settings), QueryEncoder(encoder), settings.min_title_similarity)


def test_title_normalisation_expands_abbreviations() -> None:
    assert normalise_title("Sr. DBA") == "senior database administrator"
    assert title_without_grade("Senior BI Developer") == "business intelligence developer"
    assert title_without_grade("Production Technician II") == "production technician"


@pytest.mark.parametrize(
    ("title", "level"),
    [("Production Technician I", Level.INTRODUCTORY), ("Data Analyst", Level.INTERMEDIATE), ("Sr. DBA", Level.ADVANCED), (None, Level.INTRODUCTORY)],
)
def test_seniority_from_title(title: str | None, level: Level) -> None:
    assert seniority_of(title) is level


def test_configured_alias_adds_occupation_skills(onet_resolver: RoleResolver) -> None:
    profile = onet_resolver.profile_for("Account Executive")

    assert (profile.source, profile.name, profile.match) == ("configured", "Field Seller", "alias")
    names = [skill.name for skill in profile.skills]
    assert names[0] == "Negotiation"
    assert "Persuasion" in names
    assert names.count("Negotiation") == 1


def test_exact_occupation_match_ignores_grade(onet_resolver: RoleResolver) -> None:
    profile = onet_resolver.profile_for("Sr. DBA")

    assert (profile.source, profile.name, profile.match) == ("onet", "Database Administrators", "exact")
    weights = profile.weights()
    assert weights["Critical Thinking"] == pytest.approx(3.88 / 5, abs=0.001)
    assert all(skill.weight >= 3.5 / 5 for skill in profile.skills if skill.kind == "skill")
    assert any(skill.kind == "technology" for skill in profile.skills)


def test_similar_title_matches_nearest_occupation(onet_resolver: RoleResolver) -> None:
    profile = onet_resolver.profile_for("Production Technician I")

    assert profile.match == "similarity"
    assert profile.name == "Manufacturing Production Technicians"
    assert profile.similarity is not None and profile.similarity >= 0.55


def test_unrelated_title_matches_nothing(onet_resolver: RoleResolver) -> None:
    profile = onet_resolver.profile_for("MA")

    assert profile.source == "none"
    assert profile.skills == ()


def test_missing_onet_folder_falls_back_to_configured_roles(tmp_path: Path) -> None:
    config = CatalogueConfig.model_validate({"onet": {"directory": str(tmp_path)}, "roles": {"Analyst": {"skills": ["SQL"]}}})

    resolver = RoleResolver.from_config(config, None)

    assert resolver.unavailable is not None
    assert "lacks onet_occupations.csv" in resolver.unavailable
    assert resolver.profile_for("Analyst").source == "configured"
    assert resolver.profile_for("Database Administrator").source == "none"
