"""The Moodle readiness check."""

from __future__ import annotations

import pytest

from assistant.moodle.client import MoodleClient
from assistant.moodle.exceptions import MoodleAccessDenied, MoodleUnavailable
from assistant.moodle.health import moodle_readiness_check
from assistant.moodle.sandbox import DEFAULT_TOKEN, create_sandbox_app
from assistant.moodle.sandbox.state import load_fixture
from tests.support import LiveServer, free_port


async def test_ready_names_site_and_release() -> None:
    with LiveServer(create_sandbox_app()) as server:
        async with MoodleClient(server.url, DEFAULT_TOKEN) as client:
            detail = await moodle_readiness_check(client).probe()

    assert detail == "HR Integration Lab, Moodle 5.1+ (Build: 20251017)"


async def test_missing_function_fails_check() -> None:
    fixture = load_fixture(None)
    fixture["services"]["hr_integration"].remove("enrol_manual_enrol_users")

    with LiveServer(create_sandbox_app(fixture=fixture)) as server:
        async with MoodleClient(server.url, DEFAULT_TOKEN) as client:
            with pytest.raises(MoodleAccessDenied, match="enrol_manual_enrol_users"):
                await moodle_readiness_check(client).probe()


async def test_unreachable_site_fails_check() -> None:
    async with MoodleClient(f"http://127.0.0.1:{free_port()}", DEFAULT_TOKEN, max_retries=0) as client:
        with pytest.raises(MoodleUnavailable):
            await moodle_readiness_check(client).probe()
