"""Course rules that results reads: certification validity and mandatory courses.

The path engine owns the catalogue configuration and sits above results, so results
never imports it. Callers (the API, the CLI, the path engine) pass an object that
satisfies `CourseRules`; `StaticCourseRules` is the plain implementation for
configuration that is already loaded and for tests.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from assistant.people.models import Person


class CourseRules(Protocol):
    def validity_months(self, course_code: str) -> int | None:
        """Return how many months a completion of the course stays valid; None means for good."""
        ...

    def mandatory_courses(self, person: Person) -> Sequence[str]:
        """Return the codes of the courses this person must hold."""
        ...


@dataclass(frozen=True)
class StaticCourseRules:
    """Course rules given as plain mappings.

    `mandatory_by_department` adds courses for people of one department on top of
    `mandatory_for_all`. Department names match exactly as HR spells them.
    """

    validity: Mapping[str, int] = field(default_factory=dict)
    mandatory_for_all: Sequence[str] = ()
    mandatory_by_department: Mapping[str, Sequence[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for code, months in self.validity.items():
            if months <= 0:
                raise ValueError(
                    f"validity of course {code!r} must be a positive number of months, got {months}"
                )

    def validity_months(self, course_code: str) -> int | None:
        return self.validity.get(course_code)

    def mandatory_courses(self, person: Person) -> Sequence[str]:
        courses = list(self.mandatory_for_all)
        for code in self.mandatory_by_department.get(person.department or "", ()):
            if code not in courses:
                courses.append(code)
        return courses
