from __future__ import annotations

from datetime import UTC, datetime

from assistant.http import parse_retry_after


class TestRetryAfter:
    def test_seconds(self) -> None:
        assert parse_retry_after("30") == 30.0

    def test_http_date(self) -> None:
        now = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)

        assert parse_retry_after("Mon, 02 Mar 2026 14:31:00 GMT", now=now) == 60.0

    def test_garbage_is_ignored(self) -> None:
        assert parse_retry_after("soon") is None
