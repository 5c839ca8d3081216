"""Course rules read from the path engine's catalogue file, for the results API and CLI.

The path engine sits above results, so only the API and CLI layer of results (router
and cli) use this module, and it imports the path engine inside its functions. Service
code receives a `CourseRules` object and never reads the catalogue itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from assistant.config import Settings
from assistant.errors import InvalidInput
from assistant.people.models import Person
from assistant.results.rules import CourseRules

if TYPE_CHECKING:
    from assistant.paths.catalogue import CatalogueConfig


class CourseRulesMissing(InvalidInput):
    """No catalogue file is configured, so mandatory courses and validities are unknown."""

    status_code = 503


class CatalogueCourseRules:
    """Validity from each course's `validity_months`; mandatory courses from the matching rules.

    Course codes are Moodle shortnames, which the catalogue uses as course keys.
    """

    def __init__(self, config: CatalogueConfig) -> None:
        self._config = config

    def validity_months(self, course_code: str) -> int | None:
        course = self._config.courses.get(course_code)
        return course.validity_months if course is not None else None

    def mandatory_courses(self, person: Person) -> Sequence[str]:
        from assistant.paths.builder import RoleContext, rule_applies

        context = RoleContext(
            employee_id=person.employee_id,
            title=person.job_title,
            department=person.department,
            division=person.division,
            location=person.location,
            manager_employee_id=person.manager_employee_id,
            hire_date=person.hire_date,
        )
        courses: list[str] = []
        for rule in self._config.mandatory:
            if not rule_applies(rule, context):
                continue
            courses.extend(code for code in rule.courses if code not in courses)
        return courses


def load_course_rules(settings: Settings) -> CourseRules:
    """Read the catalogue file named by ASSISTANT_CATALOGUE_FILE.

    Raises CourseRulesMissing when none is set, and the path engine's
    CatalogueConfigError when the file is missing or invalid.
    """
    if settings.catalogue_file is None:
        raise CourseRulesMissing(
            "no catalogue file is configured, so mandatory courses are unknown; set ASSISTANT_CATALOGUE_FILE"
        )
    from assistant.paths.catalogue import load_catalogue_config

    config: Any = load_catalogue_config(settings.catalogue_file)
    return CatalogueCourseRules(config)
