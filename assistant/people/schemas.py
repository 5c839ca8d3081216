"""The canonical person record every HR source produces, and its API views."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from assistant.people.models import PersonStatus

# Characters that real exports leave around keys and e-mail addresses (NBSP, zero-width space, BOM).
_INVISIBLE = "\u00a0\u200b\ufeff"


def clean_text(value: str | None) -> str | None:
    """Trim ordinary and invisible white space; an empty result becomes None."""
    if value is None:
        return None
    cleaned = value.strip().strip(_INVISIBLE).strip()
    return cleaned or None


class PersonRecord(BaseModel):
    """One person as a source reports them, already mapped to canonical field names."""

    model_config = ConfigDict(str_strip_whitespace=True)

    employee_id: str = Field(min_length=1, max_length=64)
    given_name: str = ""
    family_name: str = ""
    display_name: str = ""
    email: str | None = None
    job_title: str | None = None
    department: str | None = None
    division: str | None = None
    location: str | None = None
    manager_employee_id: str | None = None
    hire_date: date | None = None
    termination_date: date | None = None
    status: PersonStatus = PersonStatus.ACTIVE
    extra: dict[str, Any] = Field(default_factory=dict)

    @field_validator("employee_id", mode="before")
    @classmethod
    def _keep_id_as_text(cls, value: Any) -> Any:
        # IDs such as "00042" are text: a number would lose the leading zeros.
        if isinstance(value, int | float):
            raise ValueError("employee_id must be text so that leading zeros survive, not a number")
        return clean_text(value) if isinstance(value, str) else value

    @field_validator("email", mode="before")
    @classmethod
    def _normalise_email(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        cleaned = clean_text(value)
        if cleaned is None:
            return None
        if cleaned.count("@") != 1 or cleaned.startswith("@") or cleaned.endswith("@") or " " in cleaned:
            raise ValueError(f"email {cleaned!r} is not a valid address")
        return cleaned.lower()

    @field_validator("manager_employee_id", "job_title", "department", "division", "location", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        return clean_text(value) if isinstance(value, str) else value

    def model_post_init(self, __context: Any) -> None:
        if not self.display_name:
            self.display_name = " ".join(part for part in (self.given_name, self.family_name) if part)


class PersonRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    employee_id: str
    given_name: str
    family_name: str
    display_name: str
    email: str | None
    job_title: str | None
    department: str | None
    division: str | None
    location: str | None
    manager_employee_id: str | None
    hire_date: date | None
    termination_date: date | None
    status: str
    extra: dict[str, Any]
    updated_at: datetime


class PersonChangeRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    field: str
    before: str | None
    after: str | None
    source: str
    run_id: str | None
    changed_at: datetime
