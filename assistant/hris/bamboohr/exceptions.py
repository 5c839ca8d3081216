"""Errors raised by the BambooHR client.

BambooHR reports a failure through the HTTP status, with details in the
`X-BambooHR-Error-Message` response header::

    BambooHRError (AssistantError, 502)
    ├── BambooHRUnavailable (503): timeout, network failure, 429 or 5xx. Retryable.
    └── BambooHRRejected (502): 401, 403, 404, other 4xx, or a body that is not the expected JSON.
"""

from __future__ import annotations

from assistant.errors import AssistantError


class BambooHRError(AssistantError):
    """Base of every BambooHR failure; `http_status` is None when no response arrived."""

    status_code = 502
    retryable = False

    def __init__(self, message: str, *, http_status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.http_status = http_status
        self.retry_after = retry_after


class BambooHRUnavailable(BambooHRError):
    """BambooHR could not be reached or responded with a temporary failure, so the call may be retried."""

    status_code = 503
    retryable = True


class BambooHRRejected(BambooHRError):
    """BambooHR rejected the request (credentials, permissions, input) or sent an unusable body; a retry fails again."""
