"""Turning one source row into a canonical person record, and collecting a batch of them.

Every source hands `BatchBuilder` its rows as plain `column -> text` mappings. The builder applies
the source's mapping (columns, name format, date formats, status values, canonical values),
rejects invalid rows with a reason, drops in-file duplicates and checks manager references once
all rows are in.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from pydantic import ValidationError

from assistant.hris.source import RejectedRow, SourceBatch
from assistant.people.mapping import CANONICAL_FIELDS, MappingConfig, SourceMapping, canonicalise
from assistant.people.models import PersonStatus
from assistant.people.schemas import PersonRecord, clean_text

# A two-digit year resolves to the century that puts the date at most this many years after
# today. Python's own rule maps 00-68 to 2000-2068, which turns a birth date of "12/27/58" into 2058.
TWO_DIGIT_YEAR_LOOKAHEAD_YEARS = 10

_DATE_FIELDS = ("hire_date", "termination_date")
_TEXT_FIELDS = ("email", "job_title", "department", "division", "location", "manager_employee_id")

# How many example row numbers a grouped warning lists.
_EXAMPLE_ROWS = 5


class RowInvalid(ValueError):
    """A row's values cannot become a person record; the message is the reason reported for the row."""


def parse_date(value: str, formats: list[str], *, today: date | None = None) -> date:
    """Parse a date with the first format that matches.

    A format with `%y` gives a two-digit year, which is placed in the century that puts the date
    no more than TWO_DIGIT_YEAR_LOOKAHEAD_YEARS after today. Raises RowInvalid when no format matches.
    """
    today = today or date.today()
    for date_format in formats:
        try:
            parsed = datetime.strptime(value, date_format).date()
        except ValueError:
            continue
        if "%y" in date_format and parsed.year > today.year + TWO_DIGIT_YEAR_LOOKAHEAD_YEARS:
            parsed = parsed.replace(year=parsed.year - 100)
        return parsed
    raise RowInvalid(f"{value!r} matches none of the date formats {', '.join(formats)}")


def split_last_comma_first(value: str) -> tuple[str, str]:
    """Split "Last, First Middle" into (given name, family name), collapsing runs of spaces.

    Only the first comma splits, so "Doe, Jane, Jr." gives ("Jane, Jr.", "Doe"). Raises
    RowInvalid when there is no comma, because a guess could swap the two names.
    """
    family, comma, given = value.partition(",")
    if not comma:
        raise RowInvalid(f"name {value!r} is not in the form 'Last, First'")
    return " ".join(given.split()), " ".join(family.split())


@dataclass
class _BuiltRecord:
    record: PersonRecord
    # (person field, value) pairs that are not canonical values.
    unknown_values: list[tuple[str, str]] = field(default_factory=list)


def build_record(
    values: Mapping[str, str | None],
    mapping: SourceMapping,
    config: MappingConfig,
    *,
    today: date | None = None,
) -> _BuiltRecord:
    """Map one row's `column -> text` values to a PersonRecord; raise RowInvalid naming the column at fault."""
    today = today or date.today()
    data: dict[str, Any] = {}
    unknown_values: list[tuple[str, str]] = []

    data["employee_id"] = _required_value(values, mapping, "employee_id")
    data.update(_names(values, mapping))

    for field_name in _TEXT_FIELDS:
        data[field_name] = _value(values, mapping, field_name)

    for field_name in CANONICAL_FIELDS:
        canonical_value, known = canonicalise(config, field_name, data.get(field_name))
        if not known and canonical_value is not None:
            unknown_values.append((field_name, canonical_value))
        data[field_name] = canonical_value

    for field_name in _DATE_FIELDS:
        data[field_name] = _date_value(values, mapping, field_name, today=today)

    data["status"] = _status(values, mapping, data["termination_date"], today=today)
    data["extra"] = _extra(values, mapping)

    try:
        record = PersonRecord.model_validate(data)
    except ValidationError as exc:
        raise RowInvalid(_describe_validation_error(exc, mapping)) from None
    return _BuiltRecord(record, unknown_values)


def _value(values: Mapping[str, str | None], mapping: SourceMapping, field_name: str) -> str | None:
    column = mapping.fields.get(field_name)
    if column is None:
        return None
    return clean_text(values.get(column))


def _required_value(values: Mapping[str, str | None], mapping: SourceMapping, field_name: str) -> str:
    value = _value(values, mapping, field_name)
    if value is None:
        raise RowInvalid(f"{mapping.fields[field_name]} is empty; every person needs an employee ID")
    return value


def _names(values: Mapping[str, str | None], mapping: SourceMapping) -> dict[str, str]:
    names = {
        "given_name": _value(values, mapping, "given_name") or "",
        "family_name": _value(values, mapping, "family_name") or "",
        "display_name": _value(values, mapping, "display_name") or "",
    }

    if mapping.name_format == "last_comma_first":
        full_name = _value(values, mapping, "full_name")
        if full_name is None:
            raise RowInvalid(f"{mapping.fields['full_name']} is empty; every person needs a name")
        try:
            names["given_name"], names["family_name"] = split_last_comma_first(full_name)
        except RowInvalid as exc:
            raise RowInvalid(f"{mapping.fields['full_name']}: {exc}") from None

    name_columns = [mapping.fields[name] for name in ("given_name", "family_name", "display_name") if name in mapping.fields]
    if name_columns and not any(names.values()):
        raise RowInvalid(f"{' and '.join(name_columns)} are empty; every person needs a name")
    return names


def _date_value(
    values: Mapping[str, str | None], mapping: SourceMapping, field_name: str, *, today: date
) -> date | None:
    value = _value(values, mapping, field_name)
    if value is None:
        return None
    try:
        return parse_date(value, mapping.date_formats, today=today)
    except RowInvalid as exc:
        raise RowInvalid(f"{mapping.fields[field_name]}: {exc}") from None


def _status(
    values: Mapping[str, str | None], mapping: SourceMapping, termination_date: date | None, *, today: date
) -> PersonStatus:
    value = _value(values, mapping, "status")
    if value is not None:
        status = mapping.status_for(value)
        if status is None:
            known = ", ".join(repr(name) for name in mapping.status_map) or "none"
            raise RowInvalid(
                f"{mapping.fields['status']} {value!r} is not in the mapping's status_map (known: {known}); "
                "add it to status_map"
            )
        return status

    # Without a status value, a termination date on or before today means the person has left.
    if termination_date is not None and termination_date <= today:
        return PersonStatus.LEAVER
    return PersonStatus.ACTIVE


def _extra(values: Mapping[str, str | None], mapping: SourceMapping) -> dict[str, str]:
    extra: dict[str, str] = {}
    for name, column in mapping.extra.items():
        value = clean_text(values.get(column))
        if value is not None:
            extra[name] = value
    return extra


def _describe_validation_error(exc: ValidationError, mapping: SourceMapping) -> str:
    parts = []
    for error in exc.errors():
        field_name = str(error["loc"][0]) if error["loc"] else "record"
        column = mapping.fields.get(field_name, field_name)
        parts.append(f"{column}: {error['msg'].removeprefix('Value error, ')}")
    return "; ".join(parts)


class BatchBuilder:
    """Collects one pull's rows into a SourceBatch.

    Rows are mapped as they arrive. The first row for an employee ID wins, and a later row with
    the same ID, or with the same e-mail address ignoring case, is rejected as a duplicate.
    `build()` then checks manager references against everyone in the batch plus
    `known_employee_ids`, so the order of rows never matters.
    """

    def __init__(
        self,
        config: MappingConfig,
        mapping: SourceMapping,
        *,
        known_employee_ids: Collection[str] = (),
        today: date | None = None,
    ) -> None:
        self.config = config
        self.mapping = mapping
        self.known_employee_ids = set(known_employee_ids)
        self.today = today or date.today()
        self.rows_read = 0
        self._records: list[tuple[int, PersonRecord]] = []
        self._rejected: list[RejectedRow] = []
        self._warnings: list[str] = []
        self._row_by_id: dict[str, int] = {}
        self._row_by_email: dict[str, tuple[int, str]] = {}
        # (field, value) -> row numbers of rows with a value outside the canonical list.
        self._unknown_values: dict[tuple[str, str], list[int]] = defaultdict(list)

    def add_row(self, row: int, values: Mapping[str, str | None]) -> PersonRecord | None:
        """Map one row; return its record, or None when the row was rejected."""
        self.rows_read += 1
        try:
            built = build_record(values, self.mapping, self.config, today=self.today)
        except RowInvalid as exc:
            self._reject(row, _probable_id(values, self.mapping), str(exc))
            return None

        record = built.record
        duplicate_reason = self._duplicate_reason(record)
        if duplicate_reason is not None:
            self._reject(row, record.employee_id, duplicate_reason)
            return None

        self._row_by_id[record.employee_id] = row
        if record.email is not None:
            self._row_by_email[record.email] = (row, record.employee_id)
        for pair in built.unknown_values:
            self._unknown_values[pair].append(row)
        self._records.append((row, record))
        return record

    def reject_row(self, row: int, employee_id: str | None, reason: str) -> None:
        """Count a row that the source itself found invalid, such as one with too few values, and reject it."""
        self.rows_read += 1
        self._reject(row, employee_id, reason)

    def _reject(self, row: int, employee_id: str | None, reason: str) -> None:
        self._rejected.append(RejectedRow(row=row, employee_id=employee_id, reason=reason))

    def warn(self, message: str) -> None:
        self._warnings.append(message)

    def build(self, *, complete: bool, cursor: str | None = None, removed: Collection[str] = ()) -> SourceBatch:
        """Finish the batch: check manager references and report values outside the canonical lists."""
        warnings = [*self._warnings, *self._manager_warnings(), *self._unknown_value_warnings()]
        return SourceBatch(
            records=[record for _, record in self._records],
            rejected=sorted(self._rejected, key=lambda rejected: rejected.row),
            warnings=warnings,
            complete=complete,
            cursor=cursor,
            removed=list(removed),
        )

    def _duplicate_reason(self, record: PersonRecord) -> str | None:
        first_row = self._row_by_id.get(record.employee_id)
        if first_row is not None:
            return f"duplicate of row {first_row}: employee ID {record.employee_id!r} appears twice; the first row was imported"

        if record.email is not None and record.email in self._row_by_email:
            first_row, first_id = self._row_by_email[record.email]
            return (
                f"duplicate of row {first_row}: e-mail address already used by employee ID {first_id!r}; "
                "the first row was imported"
            )
        return None

    def _manager_warnings(self) -> list[str]:
        """Drop self-references and warn about managers found neither in the batch nor among the known IDs.

        A person whose manager is unknown keeps the reference, so that the link works as soon as
        the manager is imported.
        """
        batch_ids = set(self._row_by_id)
        rejected_ids = {rejected.employee_id for rejected in self._rejected if rejected.employee_id}
        rows_by_manager: dict[str, list[int]] = defaultdict(list)
        warnings: list[str] = []

        for row, record in self._records:
            manager_id = record.manager_employee_id
            if manager_id is None:
                continue
            if manager_id == record.employee_id:
                record.manager_employee_id = None
                warnings.append(f"row {row}: employee ID {manager_id!r} is listed as their own manager; the reference was dropped")
                continue
            if manager_id not in batch_ids and manager_id not in self.known_employee_ids:
                rows_by_manager[manager_id].append(row)

        for manager_id, rows in sorted(rows_by_manager.items()):
            where = "its own row was rejected" if manager_id in rejected_ids else "no such person in this batch or the people table"
            warnings.append(
                f"manager ID {manager_id!r} is unknown ({where}); {len(rows)} row(s) refer to it "
                f"({_rows_text(rows)}); they were imported with the reference kept"
            )
        return warnings

    def _unknown_value_warnings(self) -> list[str]:
        warnings = []
        for (field_name, value), rows in sorted(self._unknown_values.items()):
            warnings.append(
                f"{field_name} {value!r} is not a canonical value ({len(rows)} row(s): {_rows_text(rows)}); "
                f"add it, or the value it is a variant of, under canonical.{field_name} in the mapping"
            )
        return warnings


def _probable_id(values: Mapping[str, str | None], mapping: SourceMapping) -> str | None:
    return clean_text(values.get(mapping.fields["employee_id"]))


def _rows_text(rows: list[int]) -> str:
    shown = ", ".join(str(row) for row in rows[:_EXAMPLE_ROWS])
    if len(rows) > _EXAMPLE_ROWS:
        shown += ", ..."
    return f"row {shown}" if len(rows) == 1 else f"rows {shown}"
