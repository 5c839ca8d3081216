"""Sync the catalogue from Moodle into `paths_course` and update the index."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import structlog
from sqlmodel import Session, col, select

from assistant.moodle.schemas import Category, Course
from assistant.paths.catalogue import (
    CatalogueCourse,
    MoodleCourseData,
    merge_course,
    unknown_configured_courses,
)
from assistant.paths.engine import PathEngine
from assistant.paths.index import IndexUpdate, SqlEmbeddingStore
from assistant.paths.models import PathCourse, utcnow

log = structlog.get_logger()


class CatalogueReader(Protocol):
    async def get_courses(self, ids: Sequence[int] | None = None) -> list[Course]: ...

    async def get_categories(self) -> list[Category]: ...


@dataclass
class SyncReport:
    """Course shortnames added, changed and removed by one sync, and what the index did."""

    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0
    # Keys the catalogue file names that Moodle does not have.
    unknown_in_config: list[str] = field(default_factory=list)
    index: IndexUpdate | None = None


def moodle_course_data(courses: Sequence[Course], categories: Sequence[Category]) -> list[MoodleCourseData]:
    """Turn the client's course models into catalogue input, with category names filled in."""
    names = {category.id: category.name for category in categories}
    return [
        MoodleCourseData(
            id=course.id,
            shortname=course.shortname,
            fullname=course.fullname,
            summary=course.summary or "",
            idnumber=course.idnumber or "",
            category=course.categoryname or names.get(course.categoryid, ""),
        )
        # TODO(#4): read course tags and competencies (core_competency_list_course_competencies)
        # once the Moodle client exposes them; the catalogue file is the only skill source until then.
        for course in courses
    ]


def store_catalogue(session: Session, courses: Sequence[CatalogueCourse]) -> SyncReport:
    """Upsert the courses, deactivate those no longer present and report what changed. Flushes only."""
    report = SyncReport()
    stored = {row.id: row for row in session.exec(select(PathCourse))}
    now = utcnow()

    for course in sorted(courses, key=lambda course: course.id):
        row = stored.pop(course.id, None)
        fields = course.stored_fields()
        content_hash = course.content_hash()
        if row is None:
            session.add(PathCourse(id=course.id, content_hash=content_hash, synced_at=now, **fields))
            report.added.append(course.key)
            continue
        if row.active and row.content_hash == content_hash and _row_fields(row) == fields:
            report.unchanged += 1
            continue
        for name, value in fields.items():
            setattr(row, name, value)
        row.content_hash = content_hash
        row.active = True
        row.synced_at = now
        report.changed.append(course.key)

    for row in stored.values():
        if row.active:
            row.active = False
            row.synced_at = now
            report.removed.append(row.shortname)

    session.flush()
    return report


def _row_fields(row: PathCourse) -> dict[str, object]:
    return {
        "shortname": row.shortname,
        "fullname": row.fullname,
        "summary": row.summary,
        "category_name": row.category_name,
        "idnumber": row.idnumber,
        "skills": list(row.skills),
        "level": row.level,
        "prerequisites": list(row.prerequisites),
        "validity_months": row.validity_months,
        "tags": list(row.tags),
    }


def active_courses(session: Session) -> list[PathCourse]:
    return list(session.exec(select(PathCourse).where(col(PathCourse.active)).order_by(col(PathCourse.id))))


async def sync_catalogue(session: Session, paths: PathEngine, moodle: CatalogueReader) -> SyncReport:
    """Read Moodle's courses, merge the catalogue file, store them and update the index."""
    courses = await moodle.get_courses()
    categories = await moodle.get_categories()
    merged = [merge_course(course, paths.config) for course in moodle_course_data(courses, categories)]

    report = store_catalogue(session, merged)
    report.unknown_in_config = unknown_configured_courses(paths.config, merged)
    report.index = paths.index.update(merged, store=SqlEmbeddingStore(session))
    paths.index.save()

    log.info(
        "paths.catalogue.synced",
        added=len(report.added),
        changed=len(report.changed),
        removed=len(report.removed),
        unchanged=report.unchanged,
        unknown_in_config=report.unknown_in_config,
    )
    return report
