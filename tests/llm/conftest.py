"""Fixtures for the LLM tests."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import structlog


@pytest.fixture
def fresh_logger(monkeypatch: pytest.MonkeyPatch) -> Callable[[object], None]:
    """Give a module a new, uncached logger so that `capture_logs` sees its events.

    `configure_logging` caches each logger on first use with the processor list of that
    moment, and every app start-up installs a new list. A module whose logger was cached
    by an earlier test would write past `capture_logs`.
    """

    def replace(module: object) -> None:
        monkeypatch.setattr(module, "log", structlog.get_logger())

    return replace
