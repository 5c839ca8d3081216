from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy.engine import Engine

from assistant.db import session_scope
from assistant.results.certifications import (
    CertificationStatus,
    certification_status,
    certifications_for,
    expiry_date,
    refresh_expiry,
)
from assistant.results.models import CourseCompletion
from assistant.results.rules import StaticCourseRules


def _add(engine: Engine, course_code: str, completed: datetime, months: int | None) -> None:
    with session_scope(engine) as session:
        session.add(
            CourseCompletion(
                employee_id="E0001",
                course_id=1,
                course_code=course_code,
                course_name=course_code,
                completed_at=completed,
                validity_months=months,
                expires_on=expiry_date(completed.date(), months),
            )
        )


class TestExpiry:
    def test_months_are_calendar_months(self) -> None:
        assert expiry_date(date(2026, 1, 31), 1) == date(2026, 2, 28)
        assert expiry_date(date(2026, 3, 2), 12) == date(2027, 3, 2)

    def test_no_validity_never_expires(self) -> None:
        assert expiry_date(date(2026, 3, 2), None) is None

    @pytest.mark.parametrize(
        ("on", "expected"),
        [
            (date(2027, 1, 31), CertificationStatus.CURRENT),
            (date(2027, 2, 1), CertificationStatus.DUE_SOON),
            (date(2027, 3, 1), CertificationStatus.DUE_SOON),
            (date(2027, 3, 2), CertificationStatus.EXPIRED),
        ],
    )
    def test_status_around_expiry(self, on: date, expected: CertificationStatus) -> None:
        assert certification_status(date(2027, 3, 2), on=on, due_soon_days=29) == expected

    def test_invalid_validity_is_rejected(self) -> None:
        with pytest.raises(
            ValueError,
            match="validity of course 'COC-101' must be a positive number of months, got 0",
        ):
            StaticCourseRules(validity={"COC-101": 0})


class TestCertificationsFor:
    def test_latest_completion_counts(self, engine: Engine) -> None:
        _add(engine, "COC-101", datetime(2024, 1, 10, tzinfo=UTC), 12)
        _add(engine, "COC-101", datetime(2025, 6, 1, tzinfo=UTC), 12)
        _add(engine, "NEG-201", datetime(2025, 6, 1, tzinfo=UTC), None)

        with session_scope(engine) as session:
            certifications = certifications_for(session, "E0001", on=date(2026, 5, 15))

        coc, neg = certifications
        assert coc.completed_on == date(2025, 6, 1)
        assert coc.expires_on == date(2026, 6, 1)
        assert coc.status == CertificationStatus.DUE_SOON
        assert coc.needs_renewal
        assert neg.status == CertificationStatus.CURRENT
        assert neg.expires_on is None

    def test_expired_certification_needs_renewal(self, engine: Engine) -> None:
        _add(engine, "COC-101", datetime(2024, 1, 10, tzinfo=UTC), 12)

        with session_scope(engine) as session:
            [certification] = certifications_for(session, "E0001", on=date(2025, 2, 1))

        assert certification.status == CertificationStatus.EXPIRED
        assert certification.needs_renewal

    def test_refresh_applies_new_validity(self, engine: Engine) -> None:
        _add(engine, "COC-101", datetime(2025, 6, 1, tzinfo=UTC), None)

        with session_scope(engine) as session:
            changed = refresh_expiry(session, StaticCourseRules(validity={"COC-101": 24}))
        with session_scope(engine) as session:
            [certification] = certifications_for(session, "E0001", on=date(2026, 1, 1))

        assert changed == 1
        assert certification.expires_on == date(2027, 6, 1)
