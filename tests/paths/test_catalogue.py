"""Catalogue file validation, HTML stripping and the Coursera loader."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.paths.catalogue import (
    CatalogueConfigError,
    Level,
    MoodleCourseData,
    load_catalogue_config,
    load_coursera_csv,
    merge_course,
    strip_html,
    unknown_configured_courses,
)
from tests.support import shared_path

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "catalogue.example.yaml"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "catalogue.yaml"
    path.write_text(text, encoding="utf-8")
    return path


class TestLoadConfig:
    def test_example_file_loads(self) -> None:
        config = load_catalogue_config(EXAMPLE)

        assert sorted(config.courses) == ["COC-101", "CRM-201", "ITSEC-101", "NEG-201", "SALES-301"]
        assert config.courses["SALES-301"].prerequisites == ["CRM-201", "NEG-201"]
        assert config.courses["COC-101"].validity_months == 12
        assert config.mandatory[0].is_company_wide
        assert config.mandatory[1].department == ["Sales*"]

    def test_unknown_level_names_file_course_and_key(self, tmp_path: Path) -> None:
        path = _write(tmp_path, "courses:\n  NEG-201:\n    level: expert\n")

        with pytest.raises(CatalogueConfigError) as caught:
            load_catalogue_config(path)

        message = caught.value.message
        assert str(path) in message
        assert "course 'NEG-201', key 'level'" in message
        assert "introductory" in message

    def test_unknown_key_is_rejected(self, tmp_path: Path) -> None:
        path = _write(tmp_path, "courses:\n  NEG-201:\n    skils: [Negotiation]\n")

        with pytest.raises(CatalogueConfigError, match="course 'NEG-201', key 'skils'"):
            load_catalogue_config(path)

    def test_negative_validity_is_rejected(self, tmp_path: Path) -> None:
        path = _write(tmp_path, "courses:\n  COC-101:\n    validity_months: -1\n")

        with pytest.raises(CatalogueConfigError, match="course 'COC-101', key 'validity_months'"):
            load_catalogue_config(path)

    def test_rule_without_courses_names_rule(self, tmp_path: Path) -> None:
        path = _write(tmp_path, "mandatory:\n  - name: onboarding\n    courses: []\n")

        with pytest.raises(CatalogueConfigError, match="mandatory rule #1, key 'courses'"):
            load_catalogue_config(path)

    def test_role_weight_out_of_range_names_role(self, tmp_path: Path) -> None:
        path = _write(tmp_path, "roles:\n  Sales Rep:\n    skills: {Negotiation: 3}\n")

        with pytest.raises(CatalogueConfigError, match="role 'Sales Rep'.*Negotiation"):
            load_catalogue_config(path)

    def test_prerequisite_cycle_is_rejected(self, tmp_path: Path) -> None:
        path = _write(tmp_path, "courses:\n  A:\n    prerequisites: [B]\n  B:\n    prerequisites: [A]\n")

        with pytest.raises(CatalogueConfigError, match="cycle: (A -> B -> A|B -> A -> B)"):
            load_catalogue_config(path)

    def test_self_prerequisite_is_rejected(self, tmp_path: Path) -> None:
        path = _write(tmp_path, "courses:\n  A:\n    prerequisites: A\n")

        with pytest.raises(CatalogueConfigError, match="course 'A': key 'prerequisites' lists the course itself"):
            load_catalogue_config(path)

    def test_missing_file_says_which_setting(self, tmp_path: Path) -> None:
        with pytest.raises(CatalogueConfigError, match="not found; set ASSISTANT_CATALOGUE_FILE"):
            load_catalogue_config(tmp_path / "absent.yaml")

    def test_invalid_yaml_names_file(self, tmp_path: Path) -> None:
        path = _write(tmp_path, "courses: [unclosed\n")

        with pytest.raises(CatalogueConfigError, match="is not valid YAML"):
            load_catalogue_config(path)

    def test_relative_onet_directory_resolves_against_file(self, tmp_path: Path) -> None:
        path = _write(tmp_path, "onet:\n  directory: roles\n")

        config = load_catalogue_config(path)

        assert config.onet is not None
        assert config.onet.directory == (tmp_path / "roles").resolve()


class TestMerge:
    def test_moodle_course_gets_configured_fields(self) -> None:
        config = load_catalogue_config(EXAMPLE)
        moodle = MoodleCourseData(6, "SALES-301", "Sales Playbook", summary="<p>Close <b>deals</b>&nbsp;fast</p>")

        course = merge_course(moodle, config)

        assert course.skills[0] == "Sales"
        assert course.level is Level.ADVANCED
        assert course.prerequisites == ("CRM-201", "NEG-201")
        assert course.summary == "Close deals fast"

    def test_lookup_falls_back_to_idnumber(self) -> None:
        config = load_catalogue_config(EXAMPLE)
        moodle = MoodleCourseData(9, "neg-2026", "Negotiation 2026", idnumber="NEG-201")

        assert merge_course(moodle, config).level is Level.INTERMEDIATE

    def test_unknown_configured_courses_are_listed(self) -> None:
        config = load_catalogue_config(EXAMPLE)
        courses = [merge_course(MoodleCourseData(2, "COC-101", "Code of Conduct"), config)]

        assert unknown_configured_courses(config, courses) == ["CRM-201", "ITSEC-101", "NEG-201", "SALES-301"]


def test_strip_html_removes_tags_and_entities() -> None:
    assert strip_html('<p class="x">Fish &amp; chips</p>\n<ul><li>one</li></ul>') == "Fish & chips one"
    assert strip_html(None) == ""


def test_coursera_loader_reads_skills_and_levels() -> None:
    courses = load_coursera_csv(shared_path("data", "catalogue", "coursera_courses.csv"))

    assert len(courses) == 3404
    first = courses[0]
    assert first.key == "coursera-1"
    assert first.title == "Business Analysis & Process Management"
    assert first.level is Level.INTRODUCTORY
    assert "Business Process Management" in first.skills
    assert {course.level for course in courses} == {Level.INTRODUCTORY, Level.INTERMEDIATE, Level.ADVANCED, None}


class TestUnlistedReferences:
    def test_typo_in_rule_and_prerequisite_is_reported(self) -> None:
        from assistant.paths.catalogue import CatalogueConfig, unlisted_references

        config = CatalogueConfig.model_validate(
            {
                "courses": {"CRM-201": {}, "SALES-301": {"prerequisites": ["CRM-201", "NEG-999"]}},
                "mandatory": [{"name": "sales enablement", "courses": ["CRM-2O1"]}],
            }
        )

        notes = unlisted_references(config)

        assert len(notes) == 2
        assert "'NEG-999'" in notes[0]
        assert "'CRM-2O1'" in notes[1]

    def test_listed_references_give_no_notes(self) -> None:
        from assistant.paths.catalogue import CatalogueConfig, unlisted_references

        config = CatalogueConfig.model_validate(
            {"courses": {"A": {}, "B": {"prerequisites": ["A"]}}, "mandatory": [{"name": "all", "courses": ["A"]}]}
        )

        assert unlisted_references(config) == []
