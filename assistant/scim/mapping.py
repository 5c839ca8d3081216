"""Mapping between a SCIM User resource and the canonical person record.

| person field          | SCIM attribute                                             |
|-----------------------|------------------------------------------------------------|
| employee_id           | enterprise `employeeNumber` (text, leading zeros kept)      |
| given_name            | `name.givenName`                                            |
| family_name           | `name.familyName`                                           |
| display_name          | `displayName`                                               |
| email                 | `emails` entry of type work, else the primary, else the first |
| job_title             | `title`                                                     |
| department, division  | enterprise `department`, `division`                         |
| location              | `addresses` entry of type work (else primary, else first) `.locality` |
| manager_employee_id   | enterprise `manager.value`, resolved by the storage         |
| status                | `active`: false makes a leaver, true an active person       |
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, TypeVar

from pydantic import ValidationError
from scim2_models import InvalidValueException

from assistant.people.models import Person, PersonStatus
from assistant.people.schemas import PersonRecord
from assistant.scim.schemas import ENTERPRISE_USER_SCHEMA, EmployeeExtension, UserResource

EntryT = TypeVar("EntryT")

# The SCIM attribute each person field comes from, as error messages name it.
SCIM_ATTRIBUTE = {
    "employee_id": f"{ENTERPRISE_USER_SCHEMA}:employeeNumber",
    "given_name": "name.givenName",
    "family_name": "name.familyName",
    "display_name": "displayName",
    "email": 'emails[type eq "work"].value',
    "job_title": "title",
    "department": f"{ENTERPRISE_USER_SCHEMA}:department",
    "division": f"{ENTERPRISE_USER_SCHEMA}:division",
    "location": 'addresses[type eq "work"].locality',
    "manager_employee_id": f"{ENTERPRISE_USER_SCHEMA}:manager.value",
    "status": "active",
    "termination_date": "active",
}

MISSING_EMPLOYEE_NUMBER = (
    f"{SCIM_ATTRIBUTE['employee_id']} is required: it is the employee ID that links the user "
    "to the person record. Map the employee ID to employeeNumber in the identity provider."
)

# Person fields that SCIM attributes feed, apart from the status.
MAPPED_FIELDS = (
    "given_name",
    "family_name",
    "display_name",
    "email",
    "job_title",
    "department",
    "division",
    "location",
    "manager_employee_id",
)


def _preferred_entry(entries: list[EntryT] | None) -> EntryT | None:
    """Pick the entry of type work, else the primary one, else the first."""
    if not entries:
        return None
    for entry in entries:
        if str(getattr(entry, "type", "") or "").lower() == "work":
            return entry
    for entry in entries:
        if getattr(entry, "primary", False):
            return entry
    return entries[0]


def employee_number(user: UserResource) -> str | None:
    """Return the trimmed employeeNumber, or None when it is absent or blank."""
    extension = user[EmployeeExtension]
    if extension is None or extension.employee_number is None:
        return None
    return extension.employee_number.strip() or None


def manager_value(user: UserResource) -> str | None:
    extension = user[EmployeeExtension]
    if extension is None or extension.manager is None or extension.manager.value is None:
        return None
    return extension.manager.value.strip() or None


def person_values(user: UserResource) -> dict[str, str | None]:
    """Return the person fields a SCIM user carries, with `manager_employee_id` still the raw manager.value."""
    extension = user[EmployeeExtension]
    email = _preferred_entry(user.emails)
    address = _preferred_entry(user.addresses)
    return {
        "given_name": user.name.given_name if user.name else None,
        "family_name": user.name.family_name if user.name else None,
        "display_name": user.display_name,
        "email": email.value if email else None,
        "job_title": user.title,
        "department": extension.department if extension else None,
        "division": extension.division if extension else None,
        "location": address.locality if address else None,
        "manager_employee_id": manager_value(user),
    }


def status_values(person: Person | None, active: bool) -> dict[str, Any]:
    """Return the status fields for `active`.

    A deactivated person becomes a leaver, with today's date (UTC) as termination date
    unless HR already set one. A reactivated leaver is a rehire, so the old termination
    date goes.
    """
    if not active:
        termination = person.termination_date if person and person.termination_date else _today()
        return {"status": PersonStatus.LEAVER, "termination_date": termination}
    if person is not None and person.status == PersonStatus.LEAVER:
        return {"status": PersonStatus.ACTIVE, "termination_date": None}
    return {"status": PersonStatus.ACTIVE}


def _today() -> date:
    return datetime.now(UTC).date()


def build_record(employee_id: str, person: Person | None, changes: dict[str, Any]) -> PersonRecord:
    """Build the person record: the stored person (if any) with `changes` applied.

    Raises InvalidValueException naming the SCIM attribute when a value is not valid
    for the person record or longer than its column.
    """
    values: dict[str, Any] = {}
    if person is not None:
        values = person.model_dump(exclude={"id", "source", "created_at", "updated_at"})
    values.update({name: ("" if value is None and name in _TEXT_FIELDS else value) for name, value in changes.items()})
    values["employee_id"] = employee_id

    _check_lengths(values)
    try:
        return PersonRecord.model_validate(values)
    except ValidationError as exc:
        raise _invalid_value(exc) from exc


# Person fields that hold "" rather than None when empty.
_TEXT_FIELDS = {"given_name", "family_name", "display_name"}


def _check_lengths(values: dict[str, Any]) -> None:
    for name, value in values.items():
        column = Person.__table__.columns.get(name)  # type: ignore[attr-defined]
        limit = getattr(column.type, "length", None) if column is not None else None
        if isinstance(value, str) and limit is not None and len(value.strip()) > limit:
            attribute = SCIM_ATTRIBUTE.get(name, name)
            raise InvalidValueException(
                detail=f"{attribute} is {len(value.strip())} characters long; the maximum is {limit}"
            )


def _invalid_value(exc: ValidationError) -> InvalidValueException:
    error = exc.errors()[0]
    field = str(error["loc"][0]) if error["loc"] else ""
    attribute = SCIM_ATTRIBUTE.get(field, field)
    message = str(error["msg"]).removeprefix("Value error, ")
    return InvalidValueException(detail=f"{attribute} is invalid: {message}")
