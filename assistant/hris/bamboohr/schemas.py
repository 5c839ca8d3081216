"""BambooHR request and response models.

BambooHR writes and reads some values differently, and these models absorb the difference:

- A training record's cost is written as an object, `{"currency": "USD", "cost": "10.00"}`,
  and read back as one string such as `"10.00 USD"`.
- Numbers (ids, hours, credits, frequency) are read back as strings, and an absent number as "".
- A list endpoint with nothing to list returns `[]` instead of an empty object keyed by id.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

_COST_TEXT = re.compile(r"^\s*(?:(?P<before>[A-Za-z]{3})\s+)?(?P<amount>-?[\d,]*\.?\d+)\s*(?P<after>[A-Za-z]{3})?\s*$")


def _blank_to_none(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        return None
    return value


def _yes_no(value: Any) -> Any:
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ("yes", "true", "1"):
            return True
        if lowered in ("no", "false", "0", ""):
            return False
    return value


def _id_keyed(value: Any) -> Any:
    # Lists come back as {"<id>": {...}, ...}, or as [] when empty.
    if isinstance(value, dict):
        return list(value.values())
    return value


OptionalInt = Annotated[int | None, BeforeValidator(_blank_to_none)]
OptionalDecimal = Annotated[Decimal | None, BeforeValidator(_blank_to_none)]
Flag = Annotated[bool, BeforeValidator(_yes_no)]


class _Model(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore")


# --- employees ---


class ReportField(_Model):
    id: str
    type: str | None = None
    name: str | None = None


def _as_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class EmployeeValues(_Model):
    """One employee's requested fields as text; `id` is BambooHR's own employee ID."""

    id: str
    values: dict[str, str | None]

    @classmethod
    def from_raw(cls, raw: dict[str, Any]) -> EmployeeValues:
        if "id" not in raw:
            raise ValueError("an employee object has no 'id'")
        values = {name: _as_text(value) for name, value in raw.items()}
        return cls(id=str(raw["id"]), values=values)


class CustomReport(_Model):
    """Response of `POST reports/custom?format=JSON`."""

    title: str | None = None
    fields: list[ReportField] = Field(default_factory=list)
    employees: list[EmployeeValues] = Field(default_factory=list)

    @field_validator("employees", mode="before")
    @classmethod
    def _employees(cls, value: Any) -> Any:
        if not isinstance(value, list):
            return value
        return [EmployeeValues.from_raw(raw) if isinstance(raw, dict) else raw for raw in value]

    @property
    def field_ids(self) -> set[str]:
        return {field.id for field in self.fields}


class ChangedEmployee(_Model):
    id: str
    action: Literal["Inserted", "Updated", "Deleted"]
    last_changed: str = Field(alias="lastChanged")

    @field_validator("id", mode="before")
    @classmethod
    def _id_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) else value


class ChangedEmployees(_Model):
    """Response of `GET employees/changed`: who changed, how, and the newest change time."""

    latest: str | None = None
    employees: list[ChangedEmployee] = Field(default_factory=list)

    @field_validator("employees", mode="before")
    @classmethod
    def _unwrap(cls, value: Any) -> Any:
        return _id_keyed(value)

    @property
    def deleted_ids(self) -> list[str]:
        return [employee.id for employee in self.employees if employee.action == "Deleted"]

    @property
    def changed_ids(self) -> list[str]:
        return [employee.id for employee in self.employees if employee.action != "Deleted"]


# --- training ---


class TrainingCategory(_Model):
    id: OptionalInt = None
    name: str | None = None


class TrainingType(_Model):
    id: int
    name: str
    renewable: Flag = False
    # Months between renewals.
    frequency: OptionalInt = None
    required: Flag = False
    # Days after the hire date by which a new hire must complete the training.
    due_from_hire_date: OptionalInt = Field(default=None, alias="dueFromHireDate")
    category: TrainingCategory | None = None
    link_url: str | None = Field(default=None, alias="linkUrl")
    description: str | None = None
    allow_employees_to_mark_complete: Flag = Field(default=False, alias="allowEmployeesToMarkComplete")

    @field_validator("category", mode="before")
    @classmethod
    def _empty_category(cls, value: Any) -> Any:
        return None if value in ("", [], {}) else value


class TrainingTypeWrite(_Model):
    """Body of `POST training/type` and `PUT training/type/{id}`."""

    name: str = Field(min_length=1)
    renewable: bool = False
    frequency: int | None = Field(default=None, ge=1)
    required: bool = False
    due_from_hire_date: int | None = Field(default=None, ge=0)
    # A category id or a category name; BambooHR creates a named category that does not exist.
    category: int | str | None = None
    link_url: str | None = None
    description: str | None = None
    allow_employees_to_mark_complete: bool | None = None

    @model_validator(mode="after")
    def _check_dependencies(self) -> TrainingTypeWrite:
        if self.renewable and self.frequency is None:
            raise ValueError("a renewable training type needs a frequency in months")
        if not self.renewable and self.frequency is not None:
            raise ValueError("frequency applies only to a renewable training type")
        if self.due_from_hire_date is not None and not self.required:
            raise ValueError("due_from_hire_date applies only to a required training type")
        return self

    def to_body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"name": self.name, "renewable": self.renewable, "required": self.required}
        optional = {
            "frequency": self.frequency,
            "dueFromHireDate": self.due_from_hire_date,
            "linkUrl": self.link_url,
            "description": self.description,
            "allowEmployeesToMarkComplete": self.allow_employees_to_mark_complete,
        }
        body.update({key: value for key, value in optional.items() if value is not None})
        if isinstance(self.category, int):
            body["category"] = {"id": self.category}
        elif isinstance(self.category, str):
            body["category"] = {"name": self.category}
        return body


class Cost(_Model):
    amount: Decimal
    currency: str = Field(min_length=3, max_length=3)

    def to_body(self) -> dict[str, str]:
        return {"currency": self.currency.upper(), "cost": f"{self.amount:.2f}"}


def parse_cost(value: Any) -> Cost | None:
    """Read a cost as BambooHR returns it: "10.00 USD", "USD 10.00", an object, or "" for none."""
    if value is None or value == "" or value == []:
        return None
    if isinstance(value, dict):
        amount = value.get("cost", value.get("amount"))
        return Cost(amount=Decimal(str(amount)), currency=str(value.get("currency", "")))
    if isinstance(value, str):
        match = _COST_TEXT.match(value)
        currency = match and (match.group("before") or match.group("after"))
        if not match or not currency:
            raise ValueError(f"cost {value!r} is not an amount with a three-letter currency")
        try:
            amount = Decimal(match.group("amount").replace(",", ""))
        except InvalidOperation:
            raise ValueError(f"cost {value!r} has no valid amount") from None
        return Cost(amount=amount, currency=currency.upper())
    raise ValueError(f"cost {value!r} is neither text nor an object")


class TrainingRecord(_Model):
    id: int
    employee_id: int = Field(alias="employeeId")
    # The training type's id.
    type: int
    completed: date
    cost: Cost | None = None
    instructor: str | None = None
    hours: OptionalDecimal = None
    credits: OptionalDecimal = None
    notes: str | None = None

    @field_validator("cost", mode="before")
    @classmethod
    def _read_cost(cls, value: Any) -> Any:
        return parse_cost(value)

    @field_validator("instructor", "notes", mode="before")
    @classmethod
    def _blank_text(cls, value: Any) -> Any:
        return _blank_to_none(value)


class TrainingRecordWrite(_Model):
    """Body of `POST training/record/employee/{employeeId}` and `PUT training/record/{id}`.

    `type_id` is required when adding a record; BambooHR rejects an unknown training type with 400.
    """

    completed: date
    type_id: int | None = None
    cost: Cost | None = None
    instructor: str | None = None
    hours: Decimal | None = Field(default=None, ge=0)
    credits: Decimal | None = Field(default=None, ge=0)
    notes: str | None = None

    def to_body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"completed": self.completed.isoformat()}
        if self.type_id is not None:
            body["type"] = self.type_id
        if self.cost is not None:
            body["cost"] = self.cost.to_body()
        for name in ("instructor", "notes"):
            value = getattr(self, name)
            if value is not None:
                body[name] = value
        for name in ("hours", "credits"):
            value = getattr(self, name)
            if value is not None:
                body[name] = float(value)
        return body


def training_list(value: Any) -> list[Any]:
    """Return the items of a training list response, which is keyed by id or `[]` when empty."""
    unwrapped = _id_keyed(value)
    if not isinstance(unwrapped, list):
        raise ValueError(f"expected an object keyed by id or a list, not {type(value).__name__}")
    return unwrapped
