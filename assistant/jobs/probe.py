"""A self-test job: proves a scaled-out deployment runs every job exactly once.

`assistant jobs selftest --count N` defers N probes; each writes one row keyed on its
job key. A probe that runs again after a worker crash finds its row and only counts the
extra execution, so the number of rows must equal N and no key may appear twice.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from assistant.jobs.models import JobProbe
from assistant.jobs.registry import JobContext, register_job


@register_job("jobs.probe")
async def probe(context: JobContext, *, run_id: str, key: str) -> None:
    with Session(context.engine) as session:
        session.add(JobProbe(run_id=run_id, key=key))
        try:
            session.commit()
            return
        except IntegrityError:
            session.rollback()

        session.exec(update(JobProbe).where(col(JobProbe.key) == key).values(executions=JobProbe.executions + 1))  # type: ignore[call-overload]
        session.commit()


def probe_counts(session: Session, run_id: str) -> tuple[int, int]:
    """Return (rows, executions) for one self-test run."""
    rows, executions = session.exec(
        select(func.count(), func.coalesce(func.sum(JobProbe.executions), 0)).where(JobProbe.run_id == run_id)
    ).one()
    return int(rows), int(executions)
