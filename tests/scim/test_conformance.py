"""scim2-tester's RFC 7643/7644 conformance checks against the app on a loopback server."""

from __future__ import annotations

import httpx2
from fastapi import FastAPI
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server

from tests.scim.conftest import SCIM_TOKEN
from tests.support import LiveServer

PASSED = {Status.SUCCESS, Status.COMPLIANT, Status.ACCEPTABLE}

# scim2-tester 0.5.2 runs 110 checks against this service; far fewer means discovery broke.
MIN_CHECKS = 100


def test_scim2_tester_passes_every_check(scim_app: FastAPI) -> None:
    with LiveServer(scim_app) as server:
        headers = {"Authorization": f"Bearer {SCIM_TOKEN}"}
        with httpx2.Client(base_url=f"{server.url}/scim/v2", headers=headers, timeout=30) as http:
            results = check_server(SyncSCIMClient(http))

    # A skipped check counts as failed, so that a check cannot silently stop running.
    failed = [f"{result.status.name} {result.title}: {result.reason}" for result in results if result.status not in PASSED]
    assert failed == [], "\n".join(failed)
    assert len(results) >= MIN_CHECKS
