from __future__ import annotations

from datetime import date

from sqlmodel import Session

from assistant.people.models import PersonStatus
from assistant.people.schemas import PersonRecord
from assistant.people.service import (
    get_person,
    history,
    is_manager_of,
    list_people,
    manager_chain,
    reports_of,
    upsert_person,
)


def _record(employee_id: str, **values: object) -> PersonRecord:
    defaults: dict[str, object] = {"given_name": "Ana", "family_name": "Test", "job_title": "Analyst"}
    return PersonRecord.model_validate({"employee_id": employee_id, **defaults, **values})


class TestUpsertPerson:
    def test_create_writes_history(self, session: Session) -> None:
        result = upsert_person(session, _record("00042", hire_date=date(2011, 7, 5)), source="csv", run_id="r1")

        assert result.action == "created"
        person = get_person(session, "00042")
        assert person is not None
        assert person.display_name == "Ana Test"
        assert person.source == "csv"
        changes = {change.field: change.after for change in history(session, "00042")}
        assert changes["job_title"] == "Analyst"
        assert changes["hire_date"] == "2011-07-05"

    def test_unchanged_writes_nothing(self, session: Session) -> None:
        upsert_person(session, _record("1"), source="csv")
        before = len(history(session, "1"))

        result = upsert_person(session, _record("1"), source="csv")

        assert result.action == "unchanged"
        assert len(history(session, "1")) == before

    def test_role_change_history(self, session: Session) -> None:
        upsert_person(session, _record("1", job_title="Analyst"), source="csv", run_id="r1")

        result = upsert_person(session, _record("1", job_title="Lead Analyst"), source="csv", run_id="r2")

        assert result.action == "updated"
        assert result.changes == {"job_title": ("Analyst", "Lead Analyst")}
        last = history(session, "1")[-1]
        assert last.field == "job_title"
        assert last.before == "Analyst"
        assert last.after == "Lead Analyst"
        assert last.run_id == "r2"

    def test_manager_change_history(self, session: Session) -> None:
        upsert_person(session, _record("1", manager_employee_id="10"), source="csv")

        upsert_person(session, _record("1", manager_employee_id="11"), source="bamboohr", run_id="r3")

        last = history(session, "1")[-1]
        assert (last.field, last.before, last.after) == ("manager_employee_id", "10", "11")
        assert last.source == "bamboohr"
        person = get_person(session, "1")
        assert person is not None
        assert person.source == "bamboohr"

    def test_leading_zeros_distinct(self, session: Session) -> None:
        upsert_person(session, _record("00042"), source="csv")
        upsert_person(session, _record("42", given_name="Ben"), source="csv")

        first = get_person(session, "00042")
        second = get_person(session, "42")
        assert first is not None
        assert second is not None
        assert first.given_name == "Ana"
        assert second.given_name == "Ben"
        assert get_person(session, "0042") is None

    def test_fields_limit_update(self, session: Session) -> None:
        upsert_person(session, _record("1", email="ana@example.invalid"), source="scim")

        result = upsert_person(session, _record("1", job_title="Lead", email=None), source="csv", fields=["job_title"])

        person = get_person(session, "1")
        assert person is not None
        assert result.changes == {"job_title": ("Analyst", "Lead")}
        assert person.email == "ana@example.invalid"

    def test_extra_change_history(self, session: Session) -> None:
        upsert_person(session, _record("1", extra={"zip": "01960"}), source="csv")

        upsert_person(session, _record("1", extra={"zip": "02148"}), source="csv")

        last = history(session, "1")[-1]
        assert last.field == "extra"
        assert last.before == '{"zip": "01960"}'
        assert last.after == '{"zip": "02148"}'

    def test_list_by_status(self, session: Session) -> None:
        upsert_person(session, _record("1"), source="csv")
        upsert_person(session, _record("2", status=PersonStatus.LEAVER), source="csv")

        leavers = list_people(session, status=PersonStatus.LEAVER)

        assert [person.employee_id for person in leavers] == ["2"]
        assert len(list_people(session)) == 2


class TestManagers:
    def _org(self, session: Session) -> None:
        # 1 manages 2 and 3; 2 manages 4.
        upsert_person(session, _record("1"), source="csv")
        upsert_person(session, _record("2", manager_employee_id="1"), source="csv")
        upsert_person(session, _record("3", manager_employee_id="1"), source="csv")
        upsert_person(session, _record("4", manager_employee_id="2"), source="csv")

    def test_reports_direct_and_indirect(self, session: Session) -> None:
        self._org(session)

        direct = [person.employee_id for person in reports_of(session, "1", indirect=False)]
        everyone = [person.employee_id for person in reports_of(session, "1")]

        assert direct == ["2", "3"]
        assert everyone == ["2", "3", "4"]

    def test_chain_nearest_first(self, session: Session) -> None:
        self._org(session)

        assert manager_chain(session, "4") == ["2", "1"]
        assert is_manager_of(session, "1", "4")
        assert not is_manager_of(session, "3", "4")

    def test_cycle_stops(self, session: Session) -> None:
        upsert_person(session, _record("a", manager_employee_id="b"), source="csv")
        upsert_person(session, _record("b", manager_employee_id="c"), source="csv")
        upsert_person(session, _record("c", manager_employee_id="a"), source="csv")

        assert manager_chain(session, "a") == ["b", "c"]
        assert [person.employee_id for person in reports_of(session, "a")] == ["b", "c"]
        assert is_manager_of(session, "c", "a")

    def test_unknown_manager_ends_chain(self, session: Session) -> None:
        upsert_person(session, _record("1", manager_employee_id="99"), source="csv")

        assert manager_chain(session, "1") == ["99"]
        assert reports_of(session, "99", indirect=False)[0].employee_id == "1"
