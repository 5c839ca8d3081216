"""The sign-in rate limit: at most 10 attempts per minute from one client address.

The count lives in this process's memory, so with several workers each keeps its own.
Behind a reverse proxy, run uvicorn with `--proxy-headers` so that the client address
is the browser's and not the proxy's.
"""

from __future__ import annotations

import math
import time

import structlog
from fastapi import Request
from limits import RateLimitItemPerMinute
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from assistant.auth.exceptions import TooManySignInAttempts

log = structlog.get_logger()

SIGN_IN_ATTEMPTS_PER_MINUTE = 10


class SignInLimiter:
    """A moving one-minute window of sign-in attempts per client address."""

    def __init__(self, attempts_per_minute: int = SIGN_IN_ATTEMPTS_PER_MINUTE) -> None:
        self._item = RateLimitItemPerMinute(attempts_per_minute)
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    def hit(self, client: str) -> None:
        """Count one attempt; raise TooManySignInAttempts with the seconds to wait when over the limit."""
        if self._limiter.hit(self._item, "sign-in", client):
            return

        reset_at, _ = self._limiter.get_window_stats(self._item, "sign-in", client)
        retry_after = max(1, math.ceil(reset_at - time.time()))
        log.warning("auth.sign_in.rate_limited", retry_after=retry_after)
        raise TooManySignInAttempts(retry_after)


def limit_sign_in(request: Request) -> None:
    """Dependency for sign-in routes: count the attempt against the caller's address."""
    limiter: SignInLimiter = request.app.state.sign_in_limiter
    client = request.client.host if request.client else "unknown"
    limiter.hit(client)
