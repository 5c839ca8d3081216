"""The results jobs against the Moodle sandbox, with settings as an operator writes them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from assistant.config import Settings
from assistant.db import session_scope
from assistant.jobs.registry import JobContext, run_job
from assistant.moodle.sandbox.app import DEFAULT_TOKEN, create_sandbox_app
from assistant.provisioning.models import ProvisioningAccount
from assistant.results import tasks  # noqa: F401 - importing the module registers its jobs
from assistant.results.models import CourseCompletion, OutboxItem
from tests.support import LiveServer


@pytest.fixture
def moodle_url() -> Iterator[str]:
    with LiveServer(create_sandbox_app()) as server:
        yield server.url


async def test_collect_job_records_results_for_csv(
    engine: Engine, moodle_url: str, tmp_path: Path
) -> None:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        data_dir=tmp_path,
        moodle_url=moodle_url,
        moodle_token=DEFAULT_TOKEN,
        moodle_max_retries=0,
        results_targets="csv",
    )
    with session_scope(engine) as session:
        session.add(
            ProvisioningAccount(
                employee_id="E0001", moodle_user_id=4, username="lab.learner1", linked_by="idnumber"
            )
        )
        session.add(
            ProvisioningAccount(
                employee_id="E0002", moodle_user_id=5, username="lab.learner2", linked_by="idnumber"
            )
        )

    await run_job(
        "results.collect", JobContext(settings=settings, engine=engine), {"employee_ids": ["E0001"]}
    )

    with session_scope(engine) as session:
        completions = list(session.exec(select(CourseCompletion)))
        targets = {row.target for row in session.exec(select(OutboxItem))}
    assert {completion.employee_id for completion in completions} == {"E0001"}
    assert len(completions) == 2
    assert targets == {"csv"}
