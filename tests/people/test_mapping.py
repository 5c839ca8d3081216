from __future__ import annotations

from pathlib import Path

import pytest

from assistant.people.mapping import (
    MappingConfig,
    MappingError,
    SourceMapping,
    canonicalise,
    default_mapping,
    load_mapping,
)
from assistant.people.models import PersonStatus

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "mapping.example.yaml"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "mapping.yaml"
    path.write_text(text, encoding="utf-8")
    return path


class TestLoadMapping:
    def test_none_gives_default(self) -> None:
        config = load_mapping(None)

        assert config == default_mapping()
        assert config.source("csv").fields["employee_id"] == "employee_id"
        assert config.source("bamboohr").fields["manager_employee_id"] == "supervisorEId"

    def test_example_file_loads(self) -> None:
        config = load_mapping(EXAMPLE)
        csv = config.source("csv")

        assert csv.fields["employee_id"] == "EmpID"
        assert csv.name_format == "last_comma_first"
        assert csv.date_formats == ["%m/%d/%Y", "%m/%d/%y"]
        assert csv.extra == {"zip": "Zip"}
        assert csv.status_for("Voluntarily Terminated") is PersonStatus.LEAVER
        assert config.moodle.username_prefix == "emp"
        assert config.owner_of("city") == "moodle"
        assert config.owner_of("department") == "hr"

    def test_missing_file_named(self, tmp_path: Path) -> None:
        path = tmp_path / "absent.yaml"

        with pytest.raises(MappingError, match="absent.yaml does not exist"):
            load_mapping(path)

    def test_invalid_yaml_named(self, tmp_path: Path) -> None:
        path = _write(tmp_path, "sources: [unclosed\n")

        with pytest.raises(MappingError, match="mapping.yaml is not valid YAML"):
            load_mapping(path)

    def test_top_level_list_rejected(self, tmp_path: Path) -> None:
        path = _write(tmp_path, "- a\n- b\n")

        with pytest.raises(MappingError, match="must contain a mapping"):
            load_mapping(path)

    def test_error_names_key(self, tmp_path: Path) -> None:
        path = _write(tmp_path, "sources:\n  csv:\n    fields:\n      employee_id: EmpID\n      shoe_size: Shoes\n")

        with pytest.raises(MappingError) as caught:
            load_mapping(path)

        message = str(caught.value)
        assert "mapping.yaml" in message
        assert "sources.csv.fields" in message
        assert "shoe_size" in message

    def test_unknown_top_level_key_named(self, tmp_path: Path) -> None:
        path = _write(tmp_path, "sources:\n  csv:\n    fields: {employee_id: id}\nsoruces: {}\n")

        with pytest.raises(MappingError, match="soruces"):
            load_mapping(path)

    def test_unknown_status_value_named(self, tmp_path: Path) -> None:
        path = _write(tmp_path, "sources:\n  csv:\n    fields: {employee_id: id}\n    status_map: {Active: working}\n")

        with pytest.raises(MappingError, match="sources.csv.status_map.Active"):
            load_mapping(path)


class TestSourceMapping:
    def test_employee_id_required(self) -> None:
        with pytest.raises(ValueError, match="employee_id must be mapped"):
            SourceMapping(fields={"email": "mail"})

    def test_full_name_needs_last_comma_first(self) -> None:
        with pytest.raises(ValueError, match="full_name needs name_format"):
            SourceMapping(fields={"employee_id": "id", "full_name": "Name"})

    def test_last_comma_first_needs_full_name(self) -> None:
        with pytest.raises(ValueError, match="needs fields.full_name"):
            SourceMapping(fields={"employee_id": "id"}, name_format="last_comma_first")

    def test_date_format_without_directive(self) -> None:
        with pytest.raises(ValueError, match="no strptime directive"):
            SourceMapping(fields={"employee_id": "id"}, date_formats=["mm/dd/yyyy"])

    def test_unknown_encoding(self) -> None:
        with pytest.raises(ValueError, match="unknown encoding 'latin-9000'"):
            SourceMapping(fields={"employee_id": "id"}, encoding="latin-9000")

    def test_delimiter_one_character(self) -> None:
        with pytest.raises(ValueError, match="delimiter must be one character"):
            SourceMapping(fields={"employee_id": "id"}, delimiter=";;")

    def test_status_lookup_ignores_case_and_space(self) -> None:
        mapping = SourceMapping(fields={"employee_id": "id"}, status_map={"Active": PersonStatus.ACTIVE})

        assert mapping.status_for("  ACTIVE\u00a0") is PersonStatus.ACTIVE
        assert mapping.status_for("Retired") is None


class TestCanonicalise:
    def _config(self) -> MappingConfig:
        return MappingConfig(
            sources={"csv": SourceMapping(fields={"employee_id": "id"})},
            canonical={"department": {"Production": ["Prod"], "IT/IS": ["IT / IS"]}},
        )

    def test_trailing_spaces_match(self) -> None:
        assert canonicalise(self._config(), "department", "Production       ") == ("Production", True)

    def test_case_and_inner_space_ignored(self) -> None:
        assert canonicalise(self._config(), "department", " it /is ") == ("IT/IS", True)

    def test_variant_maps_to_canonical(self) -> None:
        assert canonicalise(self._config(), "department", "PROD") == ("Production", True)

    def test_unknown_value_reported(self) -> None:
        assert canonicalise(self._config(), "department", " Brannon Miller ") == ("Brannon Miller", False)

    def test_blank_is_none(self) -> None:
        assert canonicalise(self._config(), "department", " \u00a0") == (None, True)

    def test_field_without_list_passes(self) -> None:
        assert canonicalise(self._config(), "job_title", " Sr. DBA ") == ("Sr. DBA", True)

    def test_variant_under_two_values_rejected(self) -> None:
        with pytest.raises(ValueError, match="'it' is listed under both 'IT/IS' and 'Tech'"):
            MappingConfig(
                sources={"csv": SourceMapping(fields={"employee_id": "id"})},
                canonical={"department": {"IT/IS": ["IT"], "Tech": ["it"]}},
            )

    def test_unsupported_field_rejected(self) -> None:
        with pytest.raises(ValueError, match="canonical values are supported for"):
            MappingConfig(
                sources={"csv": SourceMapping(fields={"employee_id": "id"})},
                canonical={"email": {"a@example.invalid": []}},
            )


class TestMoodlePolicy:
    def test_prefix_must_suit_username(self, tmp_path: Path) -> None:
        path = _write(tmp_path, "sources:\n  csv:\n    fields: {employee_id: id}\nmoodle:\n  username_prefix: Emp\n")

        with pytest.raises(MappingError, match="moodle.username_prefix"):
            load_mapping(path)

    def test_unknown_person_field_rejected(self, tmp_path: Path) -> None:
        path = _write(tmp_path, "sources:\n  csv:\n    fields: {employee_id: id}\nmoodle:\n  fields: {city: town}\n")

        with pytest.raises(MappingError, match="moodle.fields"):
            load_mapping(path)


class TestEmailFallback:
    def test_template_needs_employee_id_before_at(self) -> None:
        from pydantic import ValidationError

        from assistant.people.mapping import MoodleAccountPolicy

        with pytest.raises(ValidationError, match="employee_id"):
            MoodleAccountPolicy(email_fallback="noreply@example.com")

    def test_valid_template_is_kept(self) -> None:
        from assistant.people.mapping import MoodleAccountPolicy

        policy = MoodleAccountPolicy(email_fallback="emp{employee_id}@noreply.example.com")

        assert policy.email_fallback == "emp{employee_id}@noreply.example.com"
