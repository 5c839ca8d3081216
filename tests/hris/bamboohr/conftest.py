"""One BambooHR sandbox per module, on loopback, reset before every test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from assistant.hris.bamboohr.client import BambooHRClient
from assistant.hris.bamboohr.sandbox import DEFAULT_API_KEY, create_bamboohr_sandbox
from tests.support import LiveServer


class SandboxControl:
    """The sandbox's `/_sandbox/` endpoints, called from tests."""

    def __init__(self, url: str) -> None:
        self.url = url

    def reset(self) -> None:
        httpx.post(f"{self.url}/_sandbox/reset").raise_for_status()

    def faults(self, **faults: Any) -> None:
        httpx.post(f"{self.url}/_sandbox/faults", json=faults).raise_for_status()

    def load(self, *employees: dict[str, Any], replace: bool = False) -> None:
        httpx.post(f"{self.url}/_sandbox/employees", json={"employees": list(employees), "replace": replace}).raise_for_status()

    def delete(self, employee_id: str) -> None:
        httpx.delete(f"{self.url}/_sandbox/employees/{employee_id}").raise_for_status()

    def stats(self) -> dict[str, int]:
        return dict(httpx.get(f"{self.url}/_sandbox/stats").json())


@pytest.fixture(scope="module")
def sandbox_server() -> Iterator[LiveServer]:
    with LiveServer(create_bamboohr_sandbox()) as server:
        yield server


@pytest.fixture
def sandbox(sandbox_server: LiveServer) -> SandboxControl:
    control = SandboxControl(sandbox_server.url)
    control.reset()
    return control


@pytest.fixture
async def client(sandbox: SandboxControl) -> AsyncIterator[BambooHRClient]:
    async with BambooHRClient(sandbox.url, DEFAULT_API_KEY, timeout=5.0, max_retries=2, backoff_base=0.01) as bamboohr:
        yield bamboohr
