"""The course catalogue: courses from Moodle merged with what only the YAML configuration states.

Moodle stores a course's id, names, summary and category. The catalogue file
(`ASSISTANT_CATALOGUE_FILE`) adds what Moodle does not: the skills a course teaches,
its level, its prerequisites, how many months a completion stays valid, the mandatory
rules and configured role profiles. `docs/paths.md` describes the file.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import structlog
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from assistant.errors import InvalidInput
from assistant.paths.skills import matching_skills, split_skill_list

log = structlog.get_logger()

# Coursera's "Level" column. "Mixed" gives no level, so it maps to None.
COURSERA_LEVELS = {"beginner": "introductory", "intermediate": "intermediate", "advanced": "advanced"}


class Level(StrEnum):
    INTRODUCTORY = "introductory"
    INTERMEDIATE = "intermediate"
    ADVANCED = "advanced"

    @property
    def rank(self) -> int:
        return list(Level).index(self)


class CatalogueConfigError(InvalidInput):
    """The catalogue file is missing, is not YAML, or breaks the schema."""


@dataclass(frozen=True)
class CatalogueCourse:
    """One course in the form the index and the path builder use.

    `id` is the Moodle course id (for a CSV catalogue, the row number). `key` is the
    shortname, which rules and prerequisites refer to; `idnumber` is an alternative key.
    """

    id: int
    key: str
    title: str
    summary: str = ""
    category: str = ""
    idnumber: str = ""
    skills: tuple[str, ...] = ()
    level: Level | None = None
    prerequisites: tuple[str, ...] = ()
    validity_months: int | None = None
    tags: tuple[str, ...] = ()

    def index_text(self) -> str:
        """Build the text that is embedded for this course: title, skills, category and summary."""
        parts = [self.title]
        if self.skills:
            parts.append("Skills: " + ", ".join(self.skills))
        if self.category:
            parts.append(self.category)
        if self.summary:
            parts.append(self.summary)
        return ". ".join(parts)

    def content_hash(self) -> str:
        """Return the SHA-256 of the indexed text; equal hashes need no new embedding."""
        return hashlib.sha256(self.index_text().encode("utf-8")).hexdigest()

    def stored_fields(self) -> dict[str, Any]:
        """Return the fields a sync compares and stores, as plain JSON-ready values."""
        return {
            "shortname": self.key,
            "fullname": self.title,
            "summary": self.summary,
            "category_name": self.category,
            "idnumber": self.idnumber,
            "skills": list(self.skills),
            "level": self.level.value if self.level else None,
            "prerequisites": list(self.prerequisites),
            "validity_months": self.validity_months,
            "tags": list(self.tags),
        }


# --- configuration file ---


def _as_list(value: Any) -> Any:
    if isinstance(value, str):
        return [value]
    return value


class CourseSettings(BaseModel):
    """Settings the catalogue file adds to one course."""

    model_config = ConfigDict(extra="forbid")

    skills: list[str] = Field(default_factory=list)
    level: Level | None = None
    prerequisites: list[str] = Field(default_factory=list)
    validity_months: int | None = Field(default=None, ge=1, le=600)
    tags: list[str] = Field(default_factory=list)

    @field_validator("skills", "prerequisites", "tags", mode="before")
    @classmethod
    def _listify(cls, value: Any) -> Any:
        return _as_list(value)

    @field_validator("skills")
    @classmethod
    def _no_blank_skills(cls, skills: list[str]) -> list[str]:
        cleaned = [skill.strip() for skill in skills]
        if any(not skill for skill in cleaned):
            raise ValueError("skills must not contain blank names")
        return cleaned


class MandatoryRule(BaseModel):
    """Courses a group of people must take, due a number of days after hire (or assignment).

    Each pattern is a shell-style glob matched case-insensitively (`Sales*`, `*Engineer*`).
    A field given as a list matches when any pattern does; all given fields must match.
    A rule without patterns applies to everyone.
    """

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    courses: list[str] = Field(min_length=1)
    due_days: int | None = Field(default=None, ge=0, le=3650)
    department: list[str] = Field(default_factory=list)
    division: list[str] = Field(default_factory=list)
    title: list[str] = Field(default_factory=list)
    location: list[str] = Field(default_factory=list)

    @field_validator("courses", "department", "division", "title", "location", mode="before")
    @classmethod
    def _listify(cls, value: Any) -> Any:
        return _as_list(value)

    @property
    def is_company_wide(self) -> bool:
        return not (self.department or self.division or self.title or self.location)


class RoleSettings(BaseModel):
    """A configured role: the job titles it covers and its required skills with weights (0-1]."""

    model_config = ConfigDict(extra="forbid")

    aliases: list[str] = Field(default_factory=list)
    skills: dict[str, float] = Field(default_factory=dict)
    # An O*NET occupation (code such as "41-1012.00", or its exact title) whose skills this role takes.
    occupation: str | None = None

    @field_validator("aliases", mode="before")
    @classmethod
    def _listify(cls, value: Any) -> Any:
        return _as_list(value)

    @field_validator("skills", mode="before")
    @classmethod
    def _list_means_full_weight(cls, value: Any) -> Any:
        if isinstance(value, list):
            return {skill: 1.0 for skill in value}
        return value

    @field_validator("skills")
    @classmethod
    def _weights_in_range(cls, skills: dict[str, float]) -> dict[str, float]:
        for skill, weight in skills.items():
            if not 0 < weight <= 1:
                raise ValueError(f"weight of skill {skill!r} must be above 0 and at most 1, not {weight}")
        return skills

    @model_validator(mode="after")
    def _has_skills_or_occupation(self) -> RoleSettings:
        if not self.skills and not self.occupation:
            raise ValueError("a role needs skills, an occupation, or both")
        return self


class OnetSettings(BaseModel):
    """Location of the O*NET files and the thresholds for an occupation's required skills."""

    model_config = ConfigDict(extra="forbid")

    # Folder with onet_occupations.csv, onet_skills.csv and onet_technology_skills.csv;
    # a relative path is relative to the catalogue file.
    directory: Path
    # O*NET importance runs from 1 to 5; skills below this are not required.
    min_importance: float = Field(default=3.5, ge=1, le=5)
    # O*NET gives tools no importance, so a tool category counts when it lists this many examples.
    min_technology_examples: int = Field(default=3, ge=1)
    max_technology_skills: int = Field(default=8, ge=0)
    # Cosine similarity a job title needs to an occupation title to take its skills.
    min_title_similarity: float = Field(default=0.55, ge=0, le=1)


class PathSettings(BaseModel):
    """How many courses a path recommends and how many pending items one enrolment stage takes."""

    model_config = ConfigDict(extra="forbid")

    max_recommended: int = Field(default=8, ge=1, le=50)
    stage_size: int = Field(default=3, ge=1, le=50)


class CatalogueConfig(BaseModel):
    """The whole catalogue file."""

    model_config = ConfigDict(extra="forbid")

    courses: dict[str, CourseSettings] = Field(default_factory=dict)
    mandatory: list[MandatoryRule] = Field(default_factory=list)
    roles: dict[str, RoleSettings] = Field(default_factory=dict)
    onet: OnetSettings | None = None
    paths: PathSettings = Field(default_factory=PathSettings)

    @model_validator(mode="after")
    def _check_prerequisites(self) -> CatalogueConfig:
        for key, course in self.courses.items():
            if key in course.prerequisites:
                raise ValueError(f"course {key!r}: key 'prerequisites' lists the course itself")
        cycle = find_prerequisite_cycle({key: course.prerequisites for key, course in self.courses.items()})
        if cycle:
            raise ValueError(f"prerequisites form a cycle: {' -> '.join(cycle)}; remove one of these links")
        return self


def unlisted_references(config: CatalogueConfig) -> list[str]:
    """List prerequisites and mandatory courses that the file's `courses` section does not name.

    They may still be Moodle courses without settings of their own, so this is a warning,
    but a typo here silently drops a course from every path.
    """
    listed = set(config.courses)
    notes = []
    for key, course in config.courses.items():
        notes.extend(
            f"course {key!r}: prerequisite {prerequisite!r} is not under courses; check the spelling or that Moodle has it"
            for prerequisite in course.prerequisites
            if prerequisite not in listed
        )
    for rule in config.mandatory:
        notes.extend(
            f"mandatory rule {rule.name!r}: course {key!r} is not under courses; check the spelling or that Moodle has it"
            for key in rule.courses
            if key not in listed
        )
    return notes


def find_prerequisite_cycle(prerequisites: dict[str, Sequence[str]]) -> list[str]:
    """Return one cycle of courses (first course repeated at the end), or [] when there is none."""
    import graphlib

    sorter = graphlib.TopologicalSorter({key: list(needs) for key, needs in prerequisites.items()})
    try:
        sorter.prepare()
    except graphlib.CycleError as exc:
        return [str(key) for key in reversed(exc.args[1])]
    return []


def _describe_location(location: tuple[int | str, ...]) -> str:
    if len(location) >= 2 and location[0] == "courses":
        rest = ".".join(str(part) for part in location[2:]) or "(the course entry)"
        return f"course {location[1]!r}, key {rest!r}"
    if len(location) >= 2 and location[0] == "roles":
        rest = ".".join(str(part) for part in location[2:]) or "(the role entry)"
        return f"role {location[1]!r}, key {rest!r}"
    if len(location) >= 2 and location[0] == "mandatory":
        rest = ".".join(str(part) for part in location[2:]) or "(the rule)"
        return f"mandatory rule #{int(location[1]) + 1}, key {rest!r}"
    return f"key {'.'.join(str(part) for part in location) or '(top level)'!r}"


def _config_error(path: Path, exc: ValidationError) -> CatalogueConfigError:
    problems = []
    for error in exc.errors():
        message = error["msg"].removeprefix("Value error, ")
        problems.append(f"{_describe_location(tuple(error['loc']))}: {message}")
    return CatalogueConfigError(f"invalid catalogue file {path}: " + "; ".join(problems))


def load_catalogue_config(path: Path) -> CatalogueConfig:
    """Read and validate a catalogue file.

    Raises CatalogueConfigError naming the file and, for schema errors, the course, rule
    or role and the key. A relative `onet.directory` is resolved against the file's folder.
    """
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise CatalogueConfigError(f"catalogue file {path} not found; set ASSISTANT_CATALOGUE_FILE") from exc
    except yaml.YAMLError as exc:
        raise CatalogueConfigError(f"catalogue file {path} is not valid YAML: {exc}") from exc

    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise CatalogueConfigError(f"catalogue file {path} must contain a mapping at the top level")

    try:
        config = CatalogueConfig.model_validate(raw)
    except ValidationError as exc:
        raise _config_error(path, exc) from exc

    if config.onet is not None and not config.onet.directory.is_absolute():
        config.onet.directory = (path.parent / config.onet.directory).resolve()
    return config


# --- building catalogue courses ---


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def strip_html(text: str | None) -> str:
    """Return the text of an HTML fragment with tags removed and white space collapsed."""
    if not text:
        return ""
    extractor = _TextExtractor()
    extractor.feed(text)
    extractor.close()
    return " ".join(" ".join(extractor.parts).split())


@dataclass(frozen=True)
class MoodleCourseData:
    """The Moodle side of a course, independent of the Moodle client's types."""

    id: int
    shortname: str
    fullname: str
    summary: str = ""
    idnumber: str = ""
    category: str = ""
    tags: tuple[str, ...] = ()


def settings_for(config: CatalogueConfig, shortname: str, idnumber: str) -> CourseSettings | None:
    """Return the configured settings of a course, looked up by shortname, then by idnumber."""
    if shortname in config.courses:
        return config.courses[shortname]
    if idnumber and idnumber in config.courses:
        return config.courses[idnumber]
    return None


def merge_course(course: MoodleCourseData, config: CatalogueConfig) -> CatalogueCourse:
    """Combine one Moodle course with its entry in the catalogue file (if any)."""
    settings = settings_for(config, course.shortname, course.idnumber) or CourseSettings()
    tags = tuple(dict.fromkeys([*course.tags, *settings.tags]))
    return CatalogueCourse(
        id=course.id,
        key=course.shortname,
        title=course.fullname,
        summary=strip_html(course.summary),
        category=course.category,
        idnumber=course.idnumber or "",
        skills=tuple(settings.skills),
        level=settings.level,
        prerequisites=tuple(settings.prerequisites),
        validity_months=settings.validity_months,
        tags=tags,
    )


def unknown_configured_courses(config: CatalogueConfig, courses: Iterable[CatalogueCourse]) -> list[str]:
    """List course keys that the catalogue file names but the catalogue does not contain."""
    known = {key for course in courses for key in (course.key, course.idnumber) if key}
    named = set(config.courses)
    named.update(key for course in config.courses.values() for key in course.prerequisites)
    named.update(key for rule in config.mandatory for key in rule.courses)
    return sorted(named - known)


def load_coursera_csv(path: Path) -> list[CatalogueCourse]:
    """Read the Coursera export into catalogue courses.

    Skills come from "Gained Skills" and the level from "Level" (Beginner, Intermediate,
    Advanced; "Mixed" and blanks give no level). Keys are `coursera-<row>` because
    titles repeat in the export.
    """
    courses: list[CatalogueCourse] = []
    with path.open(encoding="utf-8-sig", newline="") as handle:
        for row_number, row in enumerate(csv.DictReader(handle), start=1):
            level_name = COURSERA_LEVELS.get((row.get("Level") or "").strip().lower())
            summary = ", ".join(
                part for part in ((row.get("Learning Product") or "").strip(), (row.get("Institution") or "").strip()) if part
            )
            courses.append(
                CatalogueCourse(
                    id=row_number,
                    key=f"coursera-{row_number}",
                    title=(row.get("Title") or "").strip(),
                    summary=summary,
                    category=(row.get("Subject") or "").strip(),
                    skills=tuple(split_skill_list(row.get("Gained Skills") or "")),
                    level=Level(level_name) if level_name else None,
                )
            )
    return courses


@dataclass
class CatalogueSnapshot:
    """Courses by key with the lookups the builder needs."""

    courses: list[CatalogueCourse]
    by_key: dict[str, CatalogueCourse] = field(init=False)
    by_id: dict[int, CatalogueCourse] = field(init=False)
    _fingerprint: str | None = field(default=None, init=False, repr=False)
    _teaching: dict[str, frozenset[int]] = field(default_factory=dict, init=False, repr=False)
    _by_skill: dict[str, set[int]] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.courses = sorted(self.courses, key=lambda course: course.id)
        self.by_id = {course.id: course for course in self.courses}
        self.by_key = {}
        for course in self.courses:
            if course.idnumber:
                self.by_key.setdefault(course.idnumber, course)
        for course in self.courses:
            self.by_key[course.key] = course

    def get(self, key: str) -> CatalogueCourse | None:
        return self.by_key.get(key)

    def teaching(self, skill: str) -> frozenset[int]:
        """Return the ids of the courses with a listed skill that matches `skill` (see `skills_match`)."""
        if skill not in self._teaching:
            if self._by_skill is None:
                self._by_skill = {}
                for course in self.courses:
                    for taught in course.skills:
                        self._by_skill.setdefault(taught, set()).add(course.id)
            matched = matching_skills(list(self._by_skill), [skill])
            self._teaching[skill] = frozenset(cid for name in matched for cid in self._by_skill[name])
        return self._teaching[skill]

    def fingerprint(self) -> str:
        """Return a hash of every course's stored fields, to tell whether two catalogues are equal.

        Computed once: a snapshot's courses are not changed after it is built.
        """
        if self._fingerprint is None:
            payload = [[course.id, course.stored_fields()] for course in self.courses]
            self._fingerprint = hashlib.sha256(json.dumps(payload, sort_keys=True).encode("utf-8")).hexdigest()
        return self._fingerprint
