from __future__ import annotations

import asyncio
import csv
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from assistant.hris.csv_source import CsvFileInvalid, CsvSource, decode_csv, detect_delimiter, read_csv_people
from assistant.hris.records import parse_date
from assistant.hris.source import SourceBatch
from assistant.people.mapping import MappingConfig, SourceMapping, load_mapping
from assistant.people.models import PersonStatus
from tests.support import shared_path

EXAMPLE_MAPPING = Path(__file__).resolve().parents[2] / "config" / "mapping.example.yaml"
TODAY = date(2026, 12, 4)


def _config(**mapping: object) -> MappingConfig:
    return MappingConfig(sources={"csv": SourceMapping.model_validate(mapping)})


def _plain_config(**overrides: object) -> MappingConfig:
    fields = {
        "employee_id": "employee_id",
        "given_name": "first_name",
        "family_name": "last_name",
        "email": "email",
        "manager_employee_id": "manager_id",
    }
    return _config(fields=fields, **overrides)


class TestRealWorldCases:
    """The CSV cases that broke earlier HR-to-Moodle imports, with their expected outcome."""

    def test_bom_glued_to_first_header(self) -> None:
        data = b"\xef\xbb\xbffirstname,lastname,email\nAna,Test,ana@example.test"
        config = _config(fields={"employee_id": "email", "given_name": "firstname", "family_name": "lastname"})

        batch = read_csv_people(data, config)

        assert batch.rejected == []
        assert batch.records[0].given_name == "Ana"
        assert batch.records[0].family_name == "Test"

    def test_leading_zeros_kept(self) -> None:
        data = b'employee_id\n00042\n"0100"\n'
        config = _config(fields={"employee_id": "employee_id"})

        batch = read_csv_people(data, config)

        assert [record.employee_id for record in batch.records] == ["00042", "0100"]

    def test_semicolon_delimiter(self) -> None:
        data = b"employee_id;name;email\n00042;Ana Test;ana@example.test\n"
        config = _config(fields={"employee_id": "employee_id", "display_name": "name", "email": "email"})

        batch = read_csv_people(data, config)

        assert len(batch.records) == 1
        record = batch.records[0]
        assert record.employee_id == "00042"
        assert record.display_name == "Ana Test"
        assert record.email == "ana@example.test"

    def test_cp1252_umlaut(self) -> None:
        data = b"employee_id,first_name,last_name\n00042,J\xfcrgen,Test\n"
        config = _config(fields={"employee_id": "employee_id", "given_name": "first_name", "family_name": "last_name"})

        batch = read_csv_people(data, config)

        assert batch.records[0].given_name == "J\u00fcrgen"
        assert "\ufffd" not in batch.records[0].given_name
        assert batch.warnings == ["the file is not UTF-8; it was read as cp1252"]

    def test_multiline_quoted_field(self) -> None:
        data = b'employee_id;first_name;note\n00042;Ana;"line1\nline2"\n00043;Ben;single\n'
        config = _config(
            fields={"employee_id": "employee_id", "given_name": "first_name"},
            extra={"note": "note"},
        )

        batch = read_csv_people(data, config)

        assert len(batch.records) == 2
        assert batch.records[0].extra == {"note": "line1\nline2"}
        assert batch.records[1].employee_id == "00043"

    def test_whitespace_and_nbsp_trimmed(self) -> None:
        data = "employee_id , email\u00a0,first_name\n\u00a000042 ,ANA@example.test \u00a0,Ana\n".encode()

        batch = read_csv_people(data, _config(fields={"employee_id": "employee_id", "email": "email", "given_name": "first_name"}))

        assert batch.rejected == []
        assert batch.records[0].employee_id == "00042"
        assert batch.records[0].email == "ana@example.test"

    def test_duplicate_rows_processed_once(self) -> None:
        data = b"employee_id,email,first_name\n00042,ana@example.test,Ana\n00042,ANA@example.test,Ana\n00043,ben@example.test,Ben\n"
        config = _config(fields={"employee_id": "employee_id", "email": "email", "given_name": "first_name"})

        batch = read_csv_people(data, config)

        assert [record.employee_id for record in batch.records] == ["00042", "00043"]
        assert len(batch.rejected) == 1
        assert batch.rejected[0].row == 3
        assert batch.rejected[0].employee_id == "00042"
        assert "duplicate of row 2" in batch.rejected[0].reason

    def test_unknown_and_empty_manager(self) -> None:
        data = (
            b"employee_id,first_name,last_name,email,manager_id\n"
            b"00043,Ben,Test,ben@example.test,00099\n"
            b'00044,Cy,Test,cy@example.test,""\n'
        )

        batch = read_csv_people(data, _plain_config())

        assert [record.employee_id for record in batch.records] == ["00043", "00044"]
        assert batch.records[0].manager_employee_id == "00099"
        assert batch.records[1].manager_employee_id is None
        assert len(batch.warnings) == 1
        assert "manager ID '00099' is unknown" in batch.warnings[0]
        assert "row 2" in batch.warnings[0]


class TestCsvRows:
    def test_duplicate_email_other_id(self) -> None:
        data = b"employee_id,first_name,last_name,email,manager_id\n1,Ana,A,ana@example.test,\n2,Ann,A,Ana@Example.test,\n"

        batch = read_csv_people(data, _plain_config())

        assert [record.employee_id for record in batch.records] == ["1"]
        assert batch.rejected[0].row == 3
        assert "e-mail address already used by employee ID '1'" in batch.rejected[0].reason

    def test_manager_later_in_file(self) -> None:
        data = b"employee_id,first_name,last_name,email,manager_id\n2,Ben,B,,1\n1,Ana,A,,\n"

        batch = read_csv_people(data, _plain_config())

        assert batch.records[0].manager_employee_id == "1"
        assert batch.warnings == []

    def test_manager_known_from_database(self) -> None:
        data = b"employee_id,first_name,last_name,email,manager_id\n2,Ben,B,,1\n"

        batch = read_csv_people(data, _plain_config(), known_employee_ids={"1"})

        assert batch.warnings == []

    def test_own_manager_dropped(self) -> None:
        data = b"employee_id,first_name,last_name,email,manager_id\n7,Ben,B,,7\n"

        batch = read_csv_people(data, _plain_config())

        assert batch.records[0].manager_employee_id is None
        assert "their own manager" in batch.warnings[0]

    def test_short_row_rejected_with_line(self) -> None:
        data = b"employee_id,first_name,last_name,email,manager_id\n1,Ana,A,,\n2,Ben,B\n3,Cy,C,,\n"

        batch = read_csv_people(data, _plain_config())

        assert [record.employee_id for record in batch.records] == ["1", "3"]
        assert batch.rejected[0].row == 3
        assert batch.rejected[0].employee_id == "2"
        assert "3 values but the header has 5 columns" in batch.rejected[0].reason

    def test_invalid_email_rejected(self) -> None:
        data = b"employee_id,first_name,last_name,email,manager_id\n1,Ana,A,not-an-address,\n"

        batch = read_csv_people(data, _plain_config())

        assert batch.records == []
        assert batch.rejected[0].reason == "email: email 'not-an-address' is not a valid address"

    def test_blank_lines_skipped(self) -> None:
        data = b"employee_id,first_name,last_name,email,manager_id\n\n1,Ana,A,,\n,,,,\n2,Ben,B,,\n"

        batch = read_csv_people(data, _plain_config())

        assert [record.employee_id for record in batch.records] == ["1", "2"]
        assert batch.rejected == []

    def test_crlf_line_endings(self) -> None:
        data = b"employee_id;first_name\r\n00042;Ana\r\n00043;Ben\r\n"

        batch = read_csv_people(data, _config(fields={"employee_id": "employee_id", "given_name": "first_name"}))

        assert [record.given_name for record in batch.records] == ["Ana", "Ben"]

    def test_unknown_status_rejected(self) -> None:
        data = b"employee_id,first_name,status\n1,Ana,Active\n2,Ben,On leave\n"
        config = _config(
            fields={"employee_id": "employee_id", "given_name": "first_name", "status": "status"},
            status_map={"Active": "active"},
        )

        batch = read_csv_people(data, config)

        assert [record.employee_id for record in batch.records] == ["1"]
        assert "status 'On leave' is not in the mapping's status_map" in batch.rejected[0].reason

    def test_status_from_termination_date(self) -> None:
        data = b"employee_id,first_name,left\n1,Ana,2026-01-31\n2,Ben,2027-06-30\n3,Cy,\n"
        config = _config(fields={"employee_id": "employee_id", "given_name": "first_name", "termination_date": "left"})

        batch = read_csv_people(data, config, today=TODAY)

        statuses = [record.status for record in batch.records]
        assert statuses == [PersonStatus.LEAVER, PersonStatus.ACTIVE, PersonStatus.ACTIVE]

    def test_bad_date_rejected(self) -> None:
        data = b"employee_id,first_name,hired\n1,Ana,31/12/2020\n"
        config = _config(fields={"employee_id": "employee_id", "given_name": "first_name", "hire_date": "hired"})

        batch = read_csv_people(data, config)

        assert batch.rejected[0].reason == "hired: '31/12/2020' matches none of the date formats %Y-%m-%d"

    def test_two_digit_year_hire_date(self) -> None:
        data = b"employee_id,first_name,hired\n1,Ana,07/10/83\n2,Ben,7/5/2011\n"
        config = _config(
            fields={"employee_id": "employee_id", "given_name": "first_name", "hire_date": "hired"},
            date_formats=["%m/%d/%Y", "%m/%d/%y"],
        )

        batch = read_csv_people(data, config, today=TODAY)

        assert batch.records[0].hire_date == date(1983, 7, 10)
        assert batch.records[1].hire_date == date(2011, 7, 5)

    def test_unknown_canonical_value_reported(self) -> None:
        data = b"employee_id,first_name,dept\n1,Ana,Production   \n2,Ben,Prodution\n3,Cy,prodution\n"
        config = MappingConfig(
            sources={"csv": SourceMapping(fields={"employee_id": "employee_id", "given_name": "first_name", "department": "dept"})},
            canonical={"department": {"Production": []}},
        )

        batch = read_csv_people(data, config)

        assert [record.department for record in batch.records] == ["Production", "Prodution", "prodution"]
        assert len(batch.warnings) == 2
        assert "department 'Prodution' is not a canonical value (1 row(s): row 3)" in batch.warnings[0]


class TestCsvFile:
    def test_undecodable_byte_named(self) -> None:
        data = b"employee_id,first_name\n1,Ana\n2,B\x81n\n"

        with pytest.raises(CsvFileInvalid, match=r"byte 0x81 at line 3"):
            read_csv_people(data, _config(fields={"employee_id": "employee_id", "given_name": "first_name"}))

    def test_configured_encoding_used(self) -> None:
        data = "employee_id,first_name\n1,\u0141ukasz\n".encode("cp1250")
        config = _config(fields={"employee_id": "employee_id", "given_name": "first_name"}, encoding="cp1250")

        batch = read_csv_people(data, config)

        assert batch.records[0].given_name == "\u0141ukasz"
        assert batch.warnings == []

    def test_missing_column_named(self) -> None:
        data = b"EmployeeNo,first_name\n1,Ana\n"

        with pytest.raises(CsvFileInvalid, match=r"lacks the mapped column\(s\) 'employee_id'.*'EmployeeNo'"):
            read_csv_people(data, _config(fields={"employee_id": "employee_id", "given_name": "first_name"}))

    def test_header_case_ignored(self) -> None:
        data = b"Employee_ID,First_Name\n1,Ana\n"

        batch = read_csv_people(data, _config(fields={"employee_id": "employee_id", "given_name": "first_name"}))

        assert batch.records[0].given_name == "Ana"

    def test_empty_file_rejected(self) -> None:
        with pytest.raises(CsvFileInvalid, match="the file is empty"):
            read_csv_people(b"", _config(fields={"employee_id": "employee_id"}))

    def test_configured_delimiter_wins(self) -> None:
        data = b"employee_id|first_name\n1|Ana\n"
        config = _config(fields={"employee_id": "employee_id", "given_name": "first_name"}, delimiter="|")

        batch = read_csv_people(data, config)

        assert batch.records[0].given_name == "Ana"

    @pytest.mark.parametrize(
        ("header", "expected"),
        [("a,b,c", ","), ("a;b;c", ";"), ("a\tb\tc", "\t"), ("single", ","), ('"x;y",b,c', ",")],
    )
    def test_detect_delimiter(self, header: str, expected: str) -> None:
        assert detect_delimiter(header + "\n1\n") == expected

    def test_utf8_bom_removed(self) -> None:
        text, encoding = decode_csv(b"\xef\xbb\xbfa,b\n")

        assert text == "a,b\n"
        assert encoding == "utf-8"

    def test_source_names_file(self, tmp_path: Path) -> None:
        path = tmp_path / "people.csv"
        path.write_bytes(b"")
        source = CsvSource(path, _config(fields={"employee_id": "employee_id"}))

        with pytest.raises(CsvFileInvalid, match="people.csv: the file is empty"):
            asyncio.run(source.fetch_people())

    def test_source_missing_file(self, tmp_path: Path) -> None:
        source = CsvSource(tmp_path / "absent.csv", _config(fields={"employee_id": "employee_id"}))

        with pytest.raises(CsvFileInvalid, match="cannot read .*absent.csv"):
            asyncio.run(source.fetch_changed("2026-01-01T00:00:00Z"))


class TestParseDate:
    def test_birth_date_in_last_century(self) -> None:
        assert parse_date("12/27/58", ["%m/%d/%y"], today=TODAY) == date(1958, 12, 27)

    def test_near_future_two_digit_year(self) -> None:
        assert parse_date("06/30/27", ["%m/%d/%y"], today=TODAY) == date(2027, 6, 30)

    def test_four_digit_year_untouched(self) -> None:
        assert parse_date("1/2/2058", ["%m/%d/%Y"], today=TODAY) == date(2058, 1, 2)


@pytest.fixture(scope="module")
def batch_and_path() -> tuple[SourceBatch, Path]:
    path = shared_path("data", "hr", "HRDataset_v14.csv")
    config = load_mapping(EXAMPLE_MAPPING)
    return asyncio.run(CsvSource(path, config).fetch_people()), path


class TestHRDataset:
    """HRDataset_v14: 311 rows with the dirt of a real export, read through the worked-example mapping."""

    def test_counts(self, batch_and_path: tuple[SourceBatch, Path]) -> None:
        batch, _ = batch_and_path

        assert len(batch.records) + len(batch.rejected) == 311
        assert len(batch.records) == 304
        assert len(batch.rejected) == 7
        assert batch.complete is True

    def test_rejected_rows_and_reasons(self, batch_and_path: tuple[SourceBatch, Path]) -> None:
        batch, _ = batch_and_path
        empty_id_rows = [row.row for row in batch.rejected if row.reason.startswith("EmpID is empty")]
        shifted = [row for row in batch.rejected if "probably shifted" in row.reason]

        assert empty_id_rows == [2, 3, 4, 5, 6, 24]
        assert len(shifted) == 1
        assert shifted[0].row == 10
        assert shifted[0].employee_id == "10114"

    def test_active_and_leavers(self, batch_and_path: tuple[SourceBatch, Path]) -> None:
        batch, _ = batch_and_path
        statuses = Counter(record.status for record in batch.records)

        assert statuses[PersonStatus.ACTIVE] == 203
        assert statuses[PersonStatus.LEAVER] == 101
        assert all(record.termination_date is not None for record in batch.records if record.status == PersonStatus.LEAVER)

    def test_leading_zero_zip_kept(self, batch_and_path: tuple[SourceBatch, Path]) -> None:
        batch, _ = batch_and_path
        person = next(record for record in batch.records if record.employee_id == "10184")

        assert person.extra == {"zip": "01013"}

    def test_last_comma_first_split(self, batch_and_path: tuple[SourceBatch, Path]) -> None:
        batch, _ = batch_and_path
        person = next(record for record in batch.records if record.employee_id == "10265")

        assert person.given_name == "Francesco A"
        assert person.family_name == "Barone"
        assert person.display_name == "Francesco A Barone"

    def test_departments_canonical(self, batch_and_path: tuple[SourceBatch, Path]) -> None:
        batch, _ = batch_and_path
        departments = {record.department for record in batch.records}

        assert departments == {"Production", "IT/IS", "Software Engineering", "Admin Offices", "Sales", "Executive Office"}
        assert not any("canonical" in warning for warning in batch.warnings)

    def test_manager_numbers_warned(self, batch_and_path: tuple[SourceBatch, Path]) -> None:
        # The data set's ManagerID numbers managers 1-39 rather than pointing at an EmpID.
        batch, _ = batch_and_path
        manager_warnings = [warning for warning in batch.warnings if warning.startswith("manager ID")]

        assert len(manager_warnings) == 23
        assert all(record.manager_employee_id != "" for record in batch.records)

    def test_birth_dates_in_right_century(self, batch_and_path: tuple[SourceBatch, Path]) -> None:
        _, path = batch_and_path
        formats = load_mapping(EXAMPLE_MAPPING).source("csv").date_formats
        with path.open(encoding="utf-8-sig", newline="") as handle:
            rows = [row for row in csv.DictReader(handle) if len(row) == 36 and None not in row]
        births = [parse_date(row["DOB"], formats, today=TODAY) for row in rows if row["DOB"][:2].isdigit()]

        assert len(births) == 310
        assert parse_date("07/10/83", formats, today=TODAY) == date(1983, 7, 10)
        assert min(births).year == 1951
        assert max(births).year == 1992
