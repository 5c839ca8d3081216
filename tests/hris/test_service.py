from __future__ import annotations

from pathlib import Path

from sqlmodel import Session

from assistant.hris.csv_source import read_csv_people
from assistant.hris.service import get_cursor, import_batch, save_cursor, source_fields
from assistant.hris.source import RejectedRow, SourceBatch
from assistant.people.mapping import SourceMapping, load_mapping
from assistant.people.models import PersonStatus
from assistant.people.schemas import PersonRecord
from assistant.people.service import get_person, history, upsert_person
from tests.support import shared_path

EXAMPLE_MAPPING = Path(__file__).resolve().parents[2] / "config" / "mapping.example.yaml"


def _record(employee_id: str, **values: object) -> PersonRecord:
    return PersonRecord.model_validate({"employee_id": employee_id, "given_name": "Ana", "family_name": "Test", **values})


def _batch(*records: PersonRecord, complete: bool = True, **values: object) -> SourceBatch:
    return SourceBatch(records=list(records), rejected=[], warnings=[], complete=complete, **values)


class TestImportBatch:
    def test_counts_created_updated_unchanged(self, session: Session) -> None:
        import_batch(session, _batch(_record("1"), _record("2")), source="csv")

        report = import_batch(session, _batch(_record("1"), _record("2", job_title="Lead"), _record("3")), source="csv")

        assert report.created == ["3"]
        assert report.updated == ["2"]
        assert report.unchanged == ["1"]
        assert report.counts()["created"] == 1

    def test_missing_people_become_leavers(self, session: Session) -> None:
        import_batch(session, _batch(_record("1"), _record("2")), source="csv")

        report = import_batch(session, _batch(_record("1")), source="csv", run_id="run-2")

        assert report.marked_leavers == ["2"]
        person = get_person(session, "2")
        assert person is not None
        assert person.status == PersonStatus.LEAVER
        last = history(session, "2")[-1]
        assert (last.field, last.after, last.run_id) == ("status", "leaver", "run-2")

    def test_incomplete_batch_marks_nobody(self, session: Session) -> None:
        import_batch(session, _batch(_record("1"), _record("2")), source="csv")

        report = import_batch(session, _batch(_record("1"), complete=False), source="csv")

        assert report.marked_leavers == []

    def test_other_source_untouched(self, session: Session) -> None:
        upsert_person(session, _record("9"), source="scim")

        report = import_batch(session, _batch(_record("1")), source="csv")

        assert report.marked_leavers == []
        person = get_person(session, "9")
        assert person is not None
        assert person.status == PersonStatus.ACTIVE

    def test_rejected_without_id_blocks_leavers(self, session: Session) -> None:
        import_batch(session, _batch(_record("1"), _record("2")), source="csv")
        batch = _batch(_record("1"))
        batch.rejected.append(RejectedRow(row=3, employee_id=None, reason="EmpID is empty"))

        report = import_batch(session, batch, source="csv")

        assert report.marked_leavers == []
        assert "have no employee ID" in report.warnings[-1]

    def test_rejected_with_id_kept_active(self, session: Session) -> None:
        import_batch(session, _batch(_record("1"), _record("2"), _record("3")), source="csv")
        batch = _batch(_record("1"))
        batch.rejected.append(RejectedRow(row=3, employee_id="2", reason="shifted"))

        report = import_batch(session, batch, source="csv")

        assert report.marked_leavers == ["3"]

    def test_empty_batch_marks_nobody(self, session: Session) -> None:
        import_batch(session, _batch(_record("1")), source="csv")

        report = import_batch(session, _batch(), source="csv")

        assert report.marked_leavers == []
        assert "contains nobody" in report.warnings[0]

    def test_share_guard_and_force(self, session: Session) -> None:
        import_batch(session, _batch(*[_record(str(number)) for number in range(10)]), source="csv")
        smaller = _batch(*[_record(str(number)) for number in range(7)])

        guarded = import_batch(session, smaller, source="csv", max_leaver_share=0.10)
        forced = import_batch(session, smaller, source="csv", max_leaver_share=0.10, force=True)

        assert guarded.marked_leavers == []
        assert "would mark 3 of 10 active people" in guarded.warnings[0]
        assert forced.marked_leavers == ["7", "8", "9"]

    def test_removed_become_leavers(self, session: Session) -> None:
        import_batch(session, _batch(_record("1"), _record("2")), source="bamboohr")

        report = import_batch(session, _batch(complete=False, removed=["2", "unknown"]), source="bamboohr")

        assert report.marked_leavers == ["2"]

    def test_unmapped_fields_kept(self, session: Session) -> None:
        upsert_person(session, _record("1", email="ana@example.invalid"), source="scim")
        mapping = SourceMapping(fields={"employee_id": "id", "given_name": "first", "job_title": "title"})

        import_batch(session, _batch(_record("1", job_title="Lead")), source="csv", fields=source_fields(mapping))

        person = get_person(session, "1")
        assert person is not None
        assert person.job_title == "Lead"
        assert person.email == "ana@example.invalid"

    def test_source_fields_derived(self) -> None:
        mapping = SourceMapping(
            fields={"employee_id": "EmpID", "full_name": "Name", "department": "Dept"},
            name_format="last_comma_first",
            extra={"zip": "Zip"},
        )

        fields = source_fields(mapping)

        assert fields == ["given_name", "family_name", "display_name", "department", "status", "extra"]

    def test_cursor_round_trip(self, session: Session) -> None:
        assert get_cursor(session, "bamboohr") is None

        save_cursor(session, "bamboohr", "2026-12-01T10:00:00+00:00", run_id="r1")
        save_cursor(session, "bamboohr", None)

        assert get_cursor(session, "bamboohr") == "2026-12-01T10:00:00+00:00"


class TestHRDatasetImport:
    def test_import_and_reimport(self, session: Session) -> None:
        config = load_mapping(EXAMPLE_MAPPING)
        data = shared_path("data", "hr", "HRDataset_v14.csv").read_bytes()
        batch = read_csv_people(data, config)
        fields = source_fields(config.source("csv"))

        first = import_batch(session, batch, source="csv", fields=fields)
        second = import_batch(session, batch, source="csv", fields=fields)

        assert len(first.created) == 304
        assert len(first.rejected) == 7
        assert len(second.unchanged) == 304
        assert second.updated == []
        person = get_person(session, "10184")
        assert person is not None
        assert person.extra == {"zip": "01013"}
