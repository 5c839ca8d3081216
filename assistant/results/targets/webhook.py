"""Signed webhook target: one POST of JSON per result.

Headers: `X-Assistant-Timestamp` (Unix seconds), `X-Assistant-Signature`
(`sha256=` + hex HMAC-SHA256 of `"<timestamp>.<body>"` keyed with the webhook secret)
and `Idempotency-Key`. A receiver verifies with `verify_signature` or the recipe in
docs/writeback.md and drops repeated keys. 2xx means delivered; 429, 5xx, timeouts and
network failures are retried; any other status is a rejection.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable, Sequence
from urllib.parse import urlsplit

import httpx
import structlog

from assistant.http import parse_retry_after
from assistant.results.targets.base import (
    DeliveryItem,
    DeliveryOutcome,
    TargetError,
    TargetRejected,
    TargetUnavailable,
)

log = structlog.get_logger()

SIGNATURE_HEADER = "X-Assistant-Signature"
TIMESTAMP_HEADER = "X-Assistant-Timestamp"
IDEMPOTENCY_HEADER = "Idempotency-Key"
# Receivers should reject a timestamp further than this many seconds from their clock.
DEFAULT_TOLERANCE_SECONDS = 300


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """Return the signature header value for a body sent at `timestamp` (Unix seconds as text)."""
    digest = hmac.new(
        secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256
    )
    return "sha256=" + digest.hexdigest()


def verify_signature(
    secret: str,
    timestamp: str,
    body: bytes,
    signature: str,
    *,
    tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> bool:
    """Tell whether a received webhook is authentic and fresh; compares in constant time."""
    if not timestamp.isdigit():
        return False
    current = time.time() if now is None else now
    if abs(current - int(timestamp)) > tolerance_seconds:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


def encode_body(item: DeliveryItem) -> bytes:
    document = {"idempotency_key": item.key, "result": item.payload.model_dump(mode="json")}
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


class WebhookTarget:
    name = "webhook"
    # One result per request, so that one Idempotency-Key names exactly one result.
    max_batch = 1

    def __init__(
        self,
        url: str,
        secret: str,
        *,
        http_client: httpx.AsyncClient,
        timeout: float = 10.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"webhook URL {url!r} is invalid; give an http:// or https:// URL")
        if not secret:
            raise ValueError("the webhook secret is empty; set ASSISTANT_WEBHOOK_SECRET")
        self._url = url
        self._host = parts.netloc
        self._secret = secret
        self._http = http_client
        self._timeout = timeout
        self._clock = clock

    async def deliver(self, items: Sequence[DeliveryItem]) -> list[DeliveryOutcome]:
        outcomes = []
        for item in items:
            try:
                await self._post(item)
            except TargetError as exc:
                outcomes.append(DeliveryOutcome.failure(item, exc))
                continue
            outcomes.append(DeliveryOutcome.success(item))
        return outcomes

    async def _post(self, item: DeliveryItem) -> None:
        body = encode_body(item)
        timestamp = str(int(self._clock()))
        headers = {
            "Content-Type": "application/json",
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(self._secret, timestamp, body),
            IDEMPOTENCY_HEADER: item.key,
        }
        try:
            response = await self._http.post(
                self._url, content=body, headers=headers, timeout=self._timeout
            )
        except httpx.TimeoutException as exc:
            raise TargetUnavailable(
                f"webhook at {self._host} timed out after {self._timeout:g} s"
            ) from exc
        except httpx.HTTPError as exc:
            raise TargetUnavailable(
                f"webhook at {self._host} is unreachable: {type(exc).__name__}"
            ) from exc
        _raise_for_status(self._host, response)


def _raise_for_status(host: str, response: httpx.Response) -> None:
    status = response.status_code
    if 200 <= status < 300:
        return
    if status == 429 or status >= 500:
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        raise TargetUnavailable(
            f"webhook at {host} responded with HTTP {status}; will retry", retry_after=retry_after
        )
    raise TargetRejected(
        f"webhook at {host} rejected the result with HTTP {status}: {response.text[:200]}"
    )
