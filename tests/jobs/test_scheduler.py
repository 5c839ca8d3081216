import asyncio
from typing import Any

from assistant.config import Settings
from assistant.jobs.scheduler import ScheduledStage, run_stage, scheduled_stages


class RecordingQueue:
    def __init__(self) -> None:
        self.deferred: list[tuple[str, str | None]] = []

    async def defer(self, name: str, *, lock: str | None = None, **kwargs: Any) -> None:
        self.deferred.append((name, lock))


def _settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def test_no_stage_runs_by_default() -> None:
    assert scheduled_stages(_settings()) == []


def test_stages_need_their_systems() -> None:
    settings = _settings(schedule_sync_minutes=5, schedule_collect_minutes=10, schedule_deliver_minutes=1)

    assert [stage.job for stage in scheduled_stages(settings)] == ["results.deliver"]


def test_configured_stages_are_listed() -> None:
    settings = _settings(
        schedule_sync_minutes=5,
        schedule_collect_minutes=10,
        bamboohr_url="http://127.0.0.1:9",
        moodle_url="http://127.0.0.1:9",
    )

    assert scheduled_stages(settings) == [
        ScheduledStage("provisioning.sync_bamboohr", 5),
        ScheduledStage("results.collect", 10),
    ]


async def test_stage_defers_at_once_and_repeats() -> None:
    queue = RecordingQueue()

    task = asyncio.create_task(run_stage(queue, ScheduledStage("results.deliver", 0.001)))
    await asyncio.sleep(0.3)
    task.cancel()

    assert len(queue.deferred) >= 2
    assert queue.deferred[0] == ("results.deliver", "schedule-results.deliver")


def test_job_queue_setting_rejects_unknown_value() -> None:
    import pytest
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="ASSISTANT_JOB_QUEUE"):
        _settings(job_queue="redis")
