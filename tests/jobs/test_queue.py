import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from assistant.config import Settings
import assistant.jobs.probe  # noqa: F401 - registers the probe job
from assistant.jobs.probe import probe, probe_counts
from assistant.jobs.queue import InlineQueue
from assistant.jobs.registry import JobContext, UnknownJob


def _context(engine: Engine) -> JobContext:
    return JobContext(settings=Settings(_env_file=None), engine=engine)  # type: ignore[call-arg]


async def test_inline_queue_runs_jobs_in_process(engine: Engine) -> None:
    queue = InlineQueue(_context(engine))

    for n in range(5):
        await queue.defer("jobs.probe", run_id="r1", key=f"r1-{n}")
    await queue.drain()

    with Session(engine) as session:
        assert probe_counts(session, "r1") == (5, 5)


async def test_probe_rerun_counts_execution_without_new_row(engine: Engine) -> None:
    context = _context(engine)

    await probe(context, run_id="r2", key="r2-0")
    await probe(context, run_id="r2", key="r2-0")

    with Session(engine) as session:
        assert probe_counts(session, "r2") == (1, 2)


async def test_unknown_job_is_rejected(engine: Engine) -> None:
    queue = InlineQueue(_context(engine))

    with pytest.raises(UnknownJob, match="no job named 'jobs.nope'"):
        await queue.defer("jobs.nope")


async def test_inline_queue_skips_a_locked_job_still_running(engine: Engine) -> None:
    queue = InlineQueue(_context(engine))

    await queue.defer("jobs.probe", lock="only-one", run_id="r3", key="r3-0")
    await queue.defer("jobs.probe", lock="only-one", run_id="r3", key="r3-1")
    await queue.drain()

    with Session(engine) as session:
        assert probe_counts(session, "r3") == (1, 1)
