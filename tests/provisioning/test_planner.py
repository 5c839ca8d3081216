from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from assistant.moodle.schemas import CustomField, MoodleUser
from assistant.people.mapping import MappingConfig, default_mapping
from assistant.people.models import Person, PersonStatus
from assistant.provisioning.models import LinkedBy, ProvisioningAccount
from assistant.provisioning.planner import (
    MappingNotUsable,
    MoodleState,
    check_mapping,
    plan_person,
    resolve_shared_users,
    target_for,
)
from assistant.provisioning.schemas import PlanAction


def _person(employee_id: str = "00042", **fields: Any) -> Person:
    values: dict[str, Any] = {
        "given_name": "Ana",
        "family_name": "Test",
        "display_name": "Ana Test",
        "email": "ana@example.test",
        "department": "Sales",
        "status": PersonStatus.ACTIVE,
    }
    values.update(fields)
    return Person(employee_id=employee_id, **values)


def _user(user_id: int = 7, idnumber: str = "00042", **fields: Any) -> MoodleUser:
    values: dict[str, Any] = {
        "username": "00042",
        "firstname": "Ana",
        "lastname": "Test",
        "email": "ana@example.test",
        "department": "Sales",
        "customfields": [CustomField(shortname="employeeid", value=idnumber)] if idnumber else [],
    }
    values.update(fields)
    return MoodleUser(id=user_id, idnumber=idnumber, **values)


def _account(employee_id: str = "00042", user_id: int = 7, **pushed: str) -> ProvisioningAccount:
    return ProvisioningAccount(
        employee_id=employee_id, moodle_user_id=user_id, username=employee_id, linked_by="created", pushed_values=pushed
    )


def _state(*users: MoodleUser) -> MoodleState:
    state = MoodleState()
    state.add(users)
    return state


def _mapping(**ownership: str) -> MappingConfig:
    mapping = default_mapping()
    return mapping.model_copy(update={"ownership": ownership})


class TestPlanPerson:
    def test_new_person_created(self) -> None:
        planned = plan_person(_person(), None, _state(), default_mapping())

        assert planned.item.action is PlanAction.CREATE
        changed = {change.field: change.after for change in planned.item.changes}
        assert changed["idnumber"] == "00042"
        assert changed["profile_field_employeeid"] == "00042"
        assert changed["department"] == "Sales"

    def test_matching_user_unchanged(self) -> None:
        planned = plan_person(_person(), _account(city=""), _state(_user()), default_mapping())

        assert planned.item.action is PlanAction.UNCHANGED
        assert planned.item.changes == []

    def test_changed_department_updated(self) -> None:
        planned = plan_person(_person(department="Marketing"), _account(city=""), _state(_user()), default_mapping())

        assert planned.item.action is PlanAction.UPDATE
        assert [(c.field, c.before, c.after) for c in planned.item.changes] == [("department", "Sales", "Marketing")]

    def test_moodle_owned_field_never_overwritten(self) -> None:
        mapping = _mapping(department="moodle")

        planned = plan_person(_person(department="Marketing"), _account(city=""), _state(_user()), mapping)

        assert planned.item.action is PlanAction.UNCHANGED

    def test_owned_by_person_field_name(self) -> None:
        mapping = _mapping(given_name="moodle")

        planned = plan_person(_person(given_name="Anna"), _account(city=""), _state(_user()), mapping)

        assert planned.item.action is PlanAction.UNCHANGED

    def test_email_case_is_not_a_change(self) -> None:
        user = _user(email="Ana@Example.TEST")

        planned = plan_person(_person(), _account(city=""), _state(user), default_mapping())

        assert planned.item.action is PlanAction.UNCHANGED

    def test_changed_email_updates_same_user(self) -> None:
        planned = plan_person(_person(email="ana.new@example.test"), _account(city=""), _state(_user()), default_mapping())

        assert planned.item.action is PlanAction.UPDATE
        assert planned.item.moodle_user_id == 7
        assert [change.field for change in planned.item.changes] == ["email"]

    def test_unreadable_field_falls_back_to_pushed(self) -> None:
        # MoodleUser does not carry city, so the value last pushed decides.
        person = _person(location="Berlin")

        same = plan_person(person, _account(city="Berlin"), _state(_user()), default_mapping())
        never_pushed = plan_person(person, _account(), _state(_user()), default_mapping())

        assert same.item.action is PlanAction.UNCHANGED
        assert never_pushed.item.action is PlanAction.UPDATE
        assert [change.field for change in never_pushed.item.changes] == ["city"]

    def test_unknown_field_without_hr_value_is_left_alone(self) -> None:
        planned = plan_person(_person(location=None), _account(), _state(_user()), default_mapping())

        assert planned.item.action is PlanAction.UNCHANGED

    def test_leaver_suspended_with_reason(self) -> None:
        person = _person(status=PersonStatus.LEAVER, termination_date=date(2026, 10, 31))

        planned = plan_person(person, _account(), _state(_user()), default_mapping())

        assert planned.item.action is PlanAction.SUSPEND
        assert planned.item.reason == "leaver since 2026-10-31"

    def test_suspended_leaver_unchanged(self) -> None:
        person = _person(status=PersonStatus.LEAVER)

        planned = plan_person(person, _account(), _state(_user(suspended=True)), default_mapping())

        assert planned.item.action is PlanAction.UNCHANGED

    def test_leaver_without_account_skipped(self) -> None:
        planned = plan_person(_person(status=PersonStatus.LEAVER), None, _state(), default_mapping())

        assert planned.item.action is PlanAction.SKIP
        assert "not created" in (planned.item.reason or "")

    def test_rehire_reactivated(self) -> None:
        planned = plan_person(_person(), _account(), _state(_user(suspended=True)), default_mapping())

        assert planned.item.action is PlanAction.REACTIVATE
        assert ("suspended", "1", "0") in [(c.field, c.before, c.after) for c in planned.item.changes]

    def test_moodle_owned_suspension_left_alone(self) -> None:
        mapping = _mapping(suspended="moodle")

        leaver = plan_person(_person(status=PersonStatus.LEAVER), _account(), _state(_user()), mapping)
        rehire = plan_person(_person(), _account(), _state(_user(suspended=True)), mapping)

        assert leaver.item.action is PlanAction.UNCHANGED
        assert rehire.item.action is PlanAction.UNCHANGED

    def test_missing_from_source_suspended(self) -> None:
        planned = plan_person(_person(), _account(), _state(_user()), default_mapping(), missing_from_source=True)

        assert planned.item.action is PlanAction.SUSPEND
        assert "missing" in (planned.item.reason or "")

    def test_no_email_is_invalid(self) -> None:
        planned = plan_person(_person(email=None), None, _state(), default_mapping())

        assert planned.item.action is PlanAction.INVALID
        assert "email" in (planned.item.reason or "")


class TestMatching:
    def test_duplicate_idnumber_is_conflict(self) -> None:
        state = _state(_user(7), _user(8, username="other"))

        planned = plan_person(_person(), _account(), state, default_mapping())

        assert planned.item.action is PlanAction.CONFLICT
        assert "7, 8" in (planned.item.reason or "")

    def test_unlinked_user_linked_by_idnumber(self) -> None:
        planned = plan_person(_person(), None, _state(_user()), default_mapping())

        assert planned.item.link is LinkedBy.IDNUMBER
        assert planned.item.moodle_user_id == 7

    def test_same_name_different_id_not_matched(self) -> None:
        state = _state(_user(7, idnumber="00099", email="other@example.test"))

        planned = plan_person(_person(), None, state, default_mapping())

        assert planned.item.action is PlanAction.CREATE

    def test_hand_made_account_linked_by_email(self) -> None:
        user = _user(9, idnumber="", username="ana.manual")

        planned = plan_person(_person(), None, _state(user), default_mapping())

        assert planned.item.link is LinkedBy.EMAIL
        assert planned.item.action is PlanAction.UPDATE
        assert ("idnumber", "", "00042") in [(c.field, c.before, c.after) for c in planned.item.changes]

    def test_email_on_two_users_is_ambiguous(self) -> None:
        state = _state(_user(9, idnumber="", username="a1"), _user(10, idnumber="", username="a2"))

        planned = plan_person(_person(), None, state, default_mapping())

        assert planned.item.action is PlanAction.AMBIGUOUS
        assert "9, 10" in (planned.item.reason or "")

    def test_email_of_user_with_other_idnumber_is_ambiguous(self) -> None:
        state = _state(_user(9, idnumber="00099"))

        planned = plan_person(_person(), None, state, default_mapping())

        assert planned.item.action is PlanAction.AMBIGUOUS
        assert "00099" in (planned.item.reason or "")

    def test_linked_user_without_idnumber_restored(self) -> None:
        planned = plan_person(_person(), _account(), _state(_user(idnumber="")), default_mapping())

        assert planned.item.action is PlanAction.UPDATE
        assert planned.item.link is None
        assert "idnumber" in [change.field for change in planned.item.changes]

    def test_user_claimed_twice_becomes_conflict(self) -> None:
        # Employee 00042 is linked to user 7, but someone moved idnumber 00043 onto user 7.
        moved = _user(7, idnumber="00043")
        state = _state(moved)
        accounts = {"00042": _account()}
        first = plan_person(_person(), accounts["00042"], state, default_mapping())
        second = plan_person(_person("00043", email="ben@example.test"), None, state, default_mapping())

        resolve_shared_users([first, second], accounts)

        assert first.item.action is PlanAction.CONFLICT
        assert second.item.action is PlanAction.CONFLICT


class TestMapping:
    def test_target_contains_idnumber_and_custom_fields(self) -> None:
        target = target_for(_person(manager_employee_id="00001"), default_mapping())

        assert target.values["idnumber"] == "00042"
        assert target.values["profile_field_employeeid"] == "00042"
        assert "idnumber" in target.owned

    def test_default_mapping_has_no_warnings(self) -> None:
        assert check_mapping(default_mapping()) == []


def test_unwritable_mapped_field_raises() -> None:
    mapping = default_mapping()
    mapping.moodle.fields["favourite_colour"] = "department"

    with pytest.raises(MappingNotUsable, match="favourite_colour"):
        check_mapping(mapping)


def test_city_owned_by_moodle_gives_no_warning() -> None:
    mapping = _mapping(city="moodle")

    assert check_mapping(mapping) == []
