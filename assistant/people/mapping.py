"""The field mapping: how each HR source's columns become person fields, and how people become Moodle accounts.

One YAML file (`ASSISTANT_MAPPING_FILE`) contains every source's column names, date formats and
status values, the canonical spellings of departments and other list values, which system owns
each field, and the Moodle account policy. `docs/mapping.md` documents every key.
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator, model_validator

from assistant.errors import InvalidInput
from assistant.people.models import PersonStatus
from assistant.people.schemas import clean_text

# Person fields a source may feed. `full_name` is a single "Last, First" column that the source splits.
SOURCE_FIELDS = frozenset(
    {
        "employee_id",
        "given_name",
        "family_name",
        "display_name",
        "full_name",
        "email",
        "job_title",
        "department",
        "division",
        "location",
        "manager_employee_id",
        "hire_date",
        "termination_date",
        "status",
    }
)

# Person fields whose values can have canonical spellings.
CANONICAL_FIELDS = frozenset({"job_title", "department", "division", "location"})

# Person fields a Moodle user field or profile field may be filled from.
MOODLE_SOURCE_FIELDS = frozenset(
    {
        "employee_id",
        "given_name",
        "family_name",
        "display_name",
        "email",
        "job_title",
        "department",
        "division",
        "location",
        "manager_employee_id",
    }
)

# Characters Moodle allows in usernames while extended username characters are off, its default.
_MOODLE_USERNAME_CHARS = re.compile(r"^[a-z0-9_.@-]*$")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class MappingError(InvalidInput):
    """The mapping file is missing, unreadable or invalid. The message names the file and the key."""


class SourceMapping(BaseModel):
    """Column mapping of one source: person field names, date formats, status values and CSV options."""

    model_config = ConfigDict(extra="forbid")

    # Person field -> source column or API field name, for example employee_id: EmpID.
    fields: dict[str, str]
    # "last_comma_first" splits a single `full_name` column such as "Doe, Jane".
    name_format: Literal["separate", "last_comma_first"] = "separate"
    # strptime formats, tried in order.
    date_formats: list[str] = Field(default_factory=lambda: ["%Y-%m-%d"])
    # Source status value -> active or leaver. Values are compared trimmed and case-insensitively.
    status_map: dict[str, PersonStatus] = Field(default_factory=dict)
    # CSV only. None means detect from the file.
    delimiter: str | None = None
    encoding: str | None = None
    # A full export: people missing from it become leavers.
    complete: bool = True
    # Extra attribute name -> source column. Values are kept as text.
    extra: dict[str, str] = Field(default_factory=dict)

    @field_validator("fields")
    @classmethod
    def _check_fields(cls, fields: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(fields) - SOURCE_FIELDS)
        if unknown:
            raise ValueError(f"unknown person field(s) {unknown}; use one of {sorted(SOURCE_FIELDS)}")
        if "employee_id" not in fields:
            raise ValueError("employee_id must be mapped: it is the key every system matches people on")
        blank = sorted(name for name, column in fields.items() if not column.strip())
        if blank:
            raise ValueError(f"empty column name for {blank}")
        return {name: column.strip() for name, column in fields.items()}

    @field_validator("date_formats")
    @classmethod
    def _check_date_formats(cls, formats: list[str]) -> list[str]:
        if not formats:
            raise ValueError("give at least one strptime format, for example '%Y-%m-%d'")
        invalid = [text for text in formats if "%" not in text]
        if invalid:
            raise ValueError(f"{invalid} contain no strptime directive such as %Y, %m or %d")
        return formats

    @field_validator("delimiter")
    @classmethod
    def _check_delimiter(cls, delimiter: str | None) -> str | None:
        if delimiter is not None and len(delimiter) != 1:
            raise ValueError(f"delimiter must be one character, not {delimiter!r}; write a tab as \"\\t\"")
        return delimiter

    @field_validator("encoding")
    @classmethod
    def _check_encoding(cls, encoding: str | None) -> str | None:
        if encoding is None:
            return None
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise ValueError(f"unknown encoding {encoding!r}; use a Python codec name such as utf-8 or cp1252") from None
        return encoding

    @field_validator("extra")
    @classmethod
    def _check_extra(cls, extra: dict[str, str]) -> dict[str, str]:
        invalid = sorted(name for name in extra if not _NAME.match(name))
        if invalid:
            raise ValueError(f"extra attribute names {invalid} must be lowercase letters, digits and underscores")
        return {name: column.strip() for name, column in extra.items()}

    @model_validator(mode="after")
    def _check_name_format(self) -> SourceMapping:
        has_full_name = "full_name" in self.fields
        if self.name_format == "last_comma_first" and not has_full_name:
            raise ValueError("name_format last_comma_first needs fields.full_name, the column that contains 'Last, First'")
        if self.name_format == "separate" and has_full_name:
            raise ValueError("fields.full_name needs name_format: last_comma_first; map given_name and family_name instead")
        return self

    def status_for(self, value: str | None) -> PersonStatus | None:
        """Look a source status value up in status_map, ignoring case and surrounding space."""
        key = _status_key(value)
        for source_value, status in self.status_map.items():
            if _status_key(source_value) == key:
                return status
        return None


class MoodleAccountPolicy(BaseModel):
    """Moodle account policy: the username rule, the auth plugin and the user fields filled from a person."""

    model_config = ConfigDict(extra="forbid")

    username_rule: Literal["employee_id", "email_local_part"] = "employee_id"
    # Prepended to the username, for example "emp" gives "emp00042".
    username_prefix: str = ""
    # Moodle auth plugin: "manual", or an SSO plugin such as "oauth2", "saml2", "oidc" or "ldap".
    auth: str = "manual"
    # For auth=manual only: Moodle e-mails a password ("createpassword") or the service sets a random one.
    password: Literal["createpassword", "generate"] = "createpassword"
    # Moodle user field -> person field.
    fields: dict[str, str] = Field(
        default_factory=lambda: {
            "firstname": "given_name",
            "lastname": "family_name",
            "email": "email",
            "department": "department",
            "institution": "division",
            "city": "location",
        }
    )
    # Moodle custom profile field shortname -> person field.
    custom_fields: dict[str, str] = Field(default_factory=lambda: {"employeeid": "employee_id"})
    # Moodle requires an e-mail address. For HR exports without one, this template makes a
    # placeholder such as "emp{employee_id}@noreply.example.com"; None leaves such people
    # unprovisioned with a reason. The placeholder is never used to match accounts.
    email_fallback: str | None = None

    @field_validator("username_prefix")
    @classmethod
    def _check_prefix(cls, prefix: str) -> str:
        if not _MOODLE_USERNAME_CHARS.match(prefix):
            raise ValueError(f"{prefix!r} is not valid in a Moodle username: use lowercase letters, digits, _ - . @")
        return prefix

    @field_validator("email_fallback")
    @classmethod
    def _check_email_fallback(cls, template: str | None) -> str | None:
        if template is None:
            return None
        if template.count("@") != 1 or "{employee_id}" not in template.split("@")[0]:
            raise ValueError(
                f"{template!r} must be one address with {{employee_id}} before the @, e.g. emp{{employee_id}}@noreply.example.com"
            )
        return template

    @field_validator("auth")
    @classmethod
    def _check_auth(cls, auth: str) -> str:
        if not _NAME.match(auth):
            raise ValueError(f"{auth!r} is not a Moodle auth plugin name such as manual, oauth2, saml2, oidc or ldap")
        return auth

    @field_validator("fields", "custom_fields")
    @classmethod
    def _check_person_fields(cls, mapping: dict[str, str]) -> dict[str, str]:
        unknown = sorted({value for value in mapping.values() if value not in MOODLE_SOURCE_FIELDS})
        if unknown:
            raise ValueError(f"unknown person field(s) {unknown}; use one of {sorted(MOODLE_SOURCE_FIELDS)}")
        return mapping


class MappingConfig(BaseModel):
    """The whole mapping file."""

    model_config = ConfigDict(extra="forbid")

    sources: dict[str, SourceMapping]
    # Person field -> canonical value -> variants. Variants match trimmed, ignoring case and spaces.
    canonical: dict[str, dict[str, list[str]]] = Field(default_factory=dict)
    # Person or Moodle field -> owner. The sync never overwrites a field that Moodle owns.
    ownership: dict[str, Literal["hr", "moodle"]] = Field(default_factory=dict)
    moodle: MoodleAccountPolicy = Field(default_factory=MoodleAccountPolicy)

    # Person field -> comparison key -> canonical value, built once after validation.
    _canonical_index: dict[str, dict[str, str]] = PrivateAttr(default_factory=dict)

    @field_validator("sources")
    @classmethod
    def _check_sources(cls, sources: dict[str, SourceMapping]) -> dict[str, SourceMapping]:
        if not sources:
            raise ValueError("define at least one source, for example 'csv'")
        return sources

    @field_validator("canonical")
    @classmethod
    def _check_canonical_fields(cls, canonical: dict[str, dict[str, list[str]]]) -> dict[str, dict[str, list[str]]]:
        unknown = sorted(set(canonical) - CANONICAL_FIELDS)
        if unknown:
            raise ValueError(f"canonical values are supported for {sorted(CANONICAL_FIELDS)}, not {unknown}")
        return canonical

    @model_validator(mode="after")
    def _build_canonical_index(self) -> MappingConfig:
        for field_name, values in self.canonical.items():
            index: dict[str, str] = {}
            for canonical_value, variants in values.items():
                for variant in [canonical_value, *variants]:
                    key = _comparison_key(variant)
                    previous = index.get(key)
                    if previous is not None and previous != canonical_value:
                        raise ValueError(
                            f"canonical.{field_name}: {variant!r} is listed under both {previous!r} and {canonical_value!r}"
                        )
                    index[key] = canonical_value
            self._canonical_index[field_name] = index
        return self

    def source(self, name: str) -> SourceMapping:
        """Return one source's mapping, or raise MappingError naming the sources that exist."""
        try:
            return self.sources[name]
        except KeyError:
            raise MappingError(f"the mapping has no source {name!r}; it defines {sorted(self.sources)}") from None

    def owner_of(self, field_name: str) -> Literal["hr", "moodle"]:
        """Return which system owns a field. Fields not listed belong to HR."""
        return self.ownership.get(field_name, "hr")


def _comparison_key(value: str) -> str:
    return "".join(value.split()).casefold()


def _status_key(value: str | None) -> str:
    return (clean_text(value) or "").casefold()


def canonicalise(config: MappingConfig, field_name: str, value: str | None) -> tuple[str | None, bool]:
    """Return the canonical spelling of a value and whether the value is known.

    A blank value gives (None, True). A field without a canonical list gives the trimmed value and
    True. A value that matches no variant gives the trimmed value and False, so that the caller can
    report it rather than pass it on silently.
    """
    cleaned = clean_text(value)
    if cleaned is None:
        return None, True

    index = config._canonical_index.get(field_name)
    if index is None:
        return cleaned, True

    canonical_value = index.get(_comparison_key(cleaned))
    if canonical_value is None:
        return cleaned, False
    return canonical_value, True


def default_mapping() -> MappingConfig:
    """Build the mapping used without a mapping file: plain CSV column names and BambooHR's field names."""
    return MappingConfig(
        sources={
            "csv": SourceMapping(
                fields={
                    "employee_id": "employee_id",
                    "given_name": "first_name",
                    "family_name": "last_name",
                    "email": "email",
                    "job_title": "job_title",
                    "department": "department",
                    "division": "division",
                    "location": "location",
                    "manager_employee_id": "manager_id",
                    "hire_date": "hire_date",
                    "termination_date": "termination_date",
                    "status": "status",
                },
                status_map={"active": PersonStatus.ACTIVE, "leaver": PersonStatus.LEAVER, "inactive": PersonStatus.LEAVER},
            ),
            "bamboohr": SourceMapping(
                fields={
                    "employee_id": "id",
                    "given_name": "firstName",
                    "family_name": "lastName",
                    "display_name": "displayName",
                    "email": "workEmail",
                    "job_title": "jobTitle",
                    "department": "department",
                    "division": "division",
                    "location": "location",
                    "manager_employee_id": "supervisorEId",
                    "hire_date": "hireDate",
                    "termination_date": "terminationDate",
                    "status": "status",
                },
                status_map={"Active": PersonStatus.ACTIVE, "Inactive": PersonStatus.LEAVER},
            ),
        }
    )


def load_mapping(path: Path | None) -> MappingConfig:
    """Read and validate a mapping file. None gives default_mapping().

    Raises MappingError naming the file and, for invalid content, each offending key.
    """
    if path is None:
        return default_mapping()

    data = _read_yaml(path)
    try:
        return MappingConfig.model_validate(data)
    except ValidationError as exc:
        raise MappingError(f"mapping file {path} is invalid:\n{_describe_errors(exc)}") from exc


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise MappingError(f"mapping file {path} does not exist; check --mapping or ASSISTANT_MAPPING_FILE") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise MappingError(f"mapping file {path} cannot be read as UTF-8 text: {exc}") from exc

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise MappingError(f"mapping file {path} is not valid YAML: {exc}") from exc

    if not isinstance(data, dict):
        raise MappingError(f"mapping file {path} must contain a mapping with a 'sources' key, not {type(data).__name__}")
    return data


def _describe_errors(exc: ValidationError) -> str:
    lines = []
    for error in exc.errors():
        key = ".".join(str(part) for part in error["loc"]) or "(top level)"
        message = error["msg"].removeprefix("Value error, ")
        lines.append(f"  {key}: {message}")
    return "\n".join(lines)
