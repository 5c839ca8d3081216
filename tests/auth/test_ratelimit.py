from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from assistant.auth.exceptions import TooManySignInAttempts
from assistant.auth.ratelimit import SignInLimiter
from tests.auth.factories import LEARNER_ID, Org


def test_limiter_allows_ten_then_rejects() -> None:
    limiter = SignInLimiter()
    for _ in range(10):
        limiter.hit("127.0.0.1")

    with pytest.raises(TooManySignInAttempts) as caught:
        limiter.hit("127.0.0.1")

    assert 1 <= caught.value.retry_after <= 60


def test_limiter_counts_each_address() -> None:
    limiter = SignInLimiter(attempts_per_minute=1)
    limiter.hit("10.0.0.1")

    limiter.hit("10.0.0.2")

    with pytest.raises(TooManySignInAttempts):
        limiter.hit("10.0.0.1")


def test_eleventh_sign_in_gets_429(client: TestClient, org: Org) -> None:
    page = client.get("/auth/dev").text
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match is not None
    form = {"employee_id": "no-such-person", "csrf_token": match.group(1)}

    statuses = [client.post("/auth/dev", data=form, follow_redirects=False).status_code for _ in range(10)]
    blocked = client.post("/auth/dev", data={**form, "employee_id": LEARNER_ID}, follow_redirects=False)

    assert statuses == [422] * 10
    assert blocked.status_code == 429
    assert 1 <= int(blocked.headers["retry-after"]) <= 60
    assert "too many sign-in attempts" in blocked.text
