from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request, Response

from assistant.results.targets.webhook import (
    IDEMPOTENCY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WebhookTarget,
    sign,
    verify_signature,
)
from tests.results.targets.helpers import completion_item
from tests.support import LiveServer

SECRET = "test-webhook-secret-0123456789"


class _Receiver:
    """A webhook receiver that verifies signatures and responds with scripted statuses."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.statuses = list(statuses or [])
        self.accepted: dict[str, dict[str, Any]] = {}
        self.requests = 0
        self.bad_signatures = 0
        self.app = FastAPI()
        self.app.post("/hook")(self.receive)

    async def receive(self, request: Request) -> Response:
        self.requests += 1
        body = await request.body()
        timestamp = request.headers.get(TIMESTAMP_HEADER, "")
        signature = request.headers.get(SIGNATURE_HEADER, "")
        if not verify_signature(SECRET, timestamp, body, signature):
            self.bad_signatures += 1
            return Response(status_code=401)
        if self.statuses:
            status = self.statuses.pop(0)
            return Response(
                status_code=status, headers={"Retry-After": "7"} if status == 429 else None
            )
        self.accepted[request.headers[IDEMPOTENCY_HEADER]] = json.loads(body)
        return Response(status_code=204)


class TestWebhook:
    async def test_signed_post_is_verified_by_receiver(self) -> None:
        receiver = _Receiver()
        with LiveServer(receiver.app) as server:
            async with httpx.AsyncClient() as client:
                target = WebhookTarget(f"{server.url}/hook", SECRET, http_client=client)
                outcomes = await target.deliver([completion_item()])

        assert outcomes[0].delivered
        assert receiver.bad_signatures == 0
        [(key, body)] = receiver.accepted.items()
        assert key == "completion:E0001:ITSEC-101:2026-03-02T14:30:00Z"
        assert body["result"]["course_code"] == "ITSEC-101"

    async def test_wrong_secret_fails_verification(self) -> None:
        receiver = _Receiver()
        with LiveServer(receiver.app) as server:
            async with httpx.AsyncClient() as client:
                target = WebhookTarget(f"{server.url}/hook", "another-secret", http_client=client)
                outcomes = await target.deliver([completion_item()])

        assert receiver.bad_signatures == 1
        assert not outcomes[0].delivered
        assert outcomes[0].retryable is False
        assert "HTTP 401" in (outcomes[0].error or "")

    @pytest.mark.parametrize(
        ("status", "retryable", "retry_after"),
        [
            (429, True, 7.0),
            (503, True, None),
            (500, True, None),
            (400, False, None),
            (404, False, None),
        ],
    )
    async def test_status_is_classified(
        self, status: int, retryable: bool, retry_after: float | None
    ) -> None:
        receiver = _Receiver([status])
        with LiveServer(receiver.app) as server:
            async with httpx.AsyncClient() as client:
                target = WebhookTarget(f"{server.url}/hook", SECRET, http_client=client)
                [outcome] = await target.deliver([completion_item()])

        assert not outcome.delivered
        assert outcome.retryable is retryable
        assert outcome.retry_after == retry_after

    async def test_timeout_is_retryable(self) -> None:
        def slow(request: httpx.Request) -> httpx.Response:
            raise httpx.ReadTimeout("timed out", request=request)

        async with httpx.AsyncClient(transport=httpx.MockTransport(slow)) as client:
            target = WebhookTarget(
                "http://127.0.0.1:9/hook", SECRET, http_client=client, timeout=0.5
            )
            [outcome] = await target.deliver([completion_item()])

        assert outcome.retryable is True
        assert "timed out after 0.5 s" in (outcome.error or "")

    def test_signature_matches_recipe(self) -> None:
        body = b'{"a":1}'

        signature = sign("key", "1700000000", body)

        assert (
            signature
            == "sha256=" + hmac.new(b"key", b"1700000000." + body, hashlib.sha256).hexdigest()
        )

    def test_stale_timestamp_fails_verification(self) -> None:
        body = b"{}"
        signature = sign(SECRET, "1700000000", body)

        assert verify_signature(SECRET, "1700000000", body, signature, now=1700000000 + 10)
        assert not verify_signature(SECRET, "1700000000", body, signature, now=1700000000 + 301)

    def test_invalid_url_is_rejected(self) -> None:
        with pytest.raises(ValueError, match="webhook URL 'ftp://x' is invalid"):
            WebhookTarget("ftp://x", SECRET, http_client=httpx.AsyncClient())
