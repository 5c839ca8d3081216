"""Certification state derived from course completions and each course's validity.

A completion of a course with a validity of N months expires N calendar months after
the completion date. From `due_soon_days` before that date the certification is due
for renewal, and from the expiry date on it is expired, which puts the course back on
the person's learning path.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum

import structlog
from dateutil.relativedelta import relativedelta
from sqlmodel import Session, col, select

from assistant.results.models import CourseCompletion
from assistant.results.rules import CourseRules

log = structlog.get_logger()

# Days before expiry from which a certification counts as due for renewal.
DUE_SOON_DAYS = 30


class CertificationStatus(StrEnum):
    CURRENT = "current"
    DUE_SOON = "due_soon"
    EXPIRED = "expired"
    NEVER_COMPLETED = "never_completed"


@dataclass(frozen=True)
class Certification:
    """The latest completion of one course by one person and what it is worth today."""

    employee_id: str
    course_code: str
    course_name: str
    completed_on: date
    # None when the course has no validity: the completion never expires.
    expires_on: date | None
    # First day of the renewal window; None when the completion never expires.
    due_from: date | None
    status: CertificationStatus

    @property
    def needs_renewal(self) -> bool:
        return self.status in (CertificationStatus.DUE_SOON, CertificationStatus.EXPIRED)


def expiry_date(completed_on: date, validity_months: int | None) -> date | None:
    """Add the validity in calendar months; the 31 January plus one month is 28 or 29 February."""
    if validity_months is None:
        return None
    return completed_on + relativedelta(months=validity_months)


def certification_status(
    expires_on: date | None,
    *,
    on: date,
    due_soon_days: int = DUE_SOON_DAYS,
) -> CertificationStatus:
    """Classify a completion on the given day; it is expired from its expiry date on."""
    if expires_on is None:
        return CertificationStatus.CURRENT
    if on >= expires_on:
        return CertificationStatus.EXPIRED
    if on >= expires_on - timedelta(days=due_soon_days):
        return CertificationStatus.DUE_SOON
    return CertificationStatus.CURRENT


def latest_completions(
    session: Session,
    employee_ids: Iterable[str] | None = None,
) -> dict[tuple[str, str], CourseCompletion]:
    """Return the latest completion per (employee_id, course_code), for everyone or the given people."""
    query = select(CourseCompletion).order_by(col(CourseCompletion.completed_at))
    if employee_ids is not None:
        query = query.where(col(CourseCompletion.employee_id).in_(list(employee_ids)))

    latest: dict[tuple[str, str], CourseCompletion] = {}
    for completion in session.exec(query):
        latest[(completion.employee_id, completion.course_code)] = completion
    return latest


def to_certification(
    completion: CourseCompletion,
    *,
    on: date,
    due_soon_days: int = DUE_SOON_DAYS,
) -> Certification:
    expires_on = completion.expires_on
    due_from = expires_on - timedelta(days=due_soon_days) if expires_on else None
    return Certification(
        employee_id=completion.employee_id,
        course_code=completion.course_code,
        course_name=completion.course_name,
        completed_on=_utc_date(completion.completed_at),
        expires_on=expires_on,
        due_from=due_from,
        status=certification_status(expires_on, on=on, due_soon_days=due_soon_days),
    )


def certifications_for(
    session: Session,
    employee_id: str,
    *,
    on: date | None = None,
    due_soon_days: int = DUE_SOON_DAYS,
) -> list[Certification]:
    """List the person's certifications, one per completed course, sorted by course code.

    `on` defaults to today (UTC). The path builder puts a course back on the path when
    its certification `needs_renewal` (due soon or expired).
    """
    today = on or datetime.now(UTC).date()
    latest = latest_completions(session, [employee_id])
    certifications = [
        to_certification(completion, on=today, due_soon_days=due_soon_days)
        for completion in latest.values()
    ]
    return sorted(certifications, key=lambda certification: certification.course_code)


def refresh_expiry(session: Session, rules: CourseRules) -> int:
    """Recompute validity and expiry of every stored completion from the current rules.

    Returns how many completions changed. Run it after the catalogue changes a
    course's validity. The caller commits.
    """
    changed = 0
    for completion in session.exec(select(CourseCompletion)):
        months = rules.validity_months(completion.course_code)
        expires_on = expiry_date(_utc_date(completion.completed_at), months)
        if (completion.validity_months, completion.expires_on) == (months, expires_on):
            continue
        completion.validity_months = months
        completion.expires_on = expires_on
        changed += 1

    session.flush()
    log.info("results.certifications.refreshed", changed=changed)
    return changed


def _utc_date(moment: datetime) -> date:
    if moment.tzinfo is None:
        return moment.date()
    return moment.astimezone(UTC).date()
