"""The authorization matrix: every route of the app, for every role, against the rule table.

The routes come from the app itself, so a route added without a rule in
`assistant.auth.rules.RULES` fails `test_every_route_has_a_rule`, and a router
included without the authorization dependency fails the matrix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from assistant.app import create_app
from assistant.auth.models import Role
from assistant.auth.rules import Rule, rule_for
from tests.auth.conftest import SCIM_TOKEN, make_settings
from tests.auth.factories import TOKEN_HOLDERS, Org

ANONYMOUS = "anonymous"
CALLERS = [*Role, ANONYMOUS]
# Errors this layer raises. Any other response means that the request passed authorization.
AUTH_ERRORS = {"NotAuthenticated", "RoleNotAllowed", "OutOfScope", "NoAccessRule", "CsrfRejected"}


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str


def app_endpoints(app: FastAPI) -> list[Endpoint]:
    """List (method, path template) of every route; mounts count as GET."""
    endpoints = []
    for route in iter_route_contexts(app.routes):
        methods = route.methods or {"GET"}
        for method in sorted(methods - {"HEAD"}):
            endpoints.append(Endpoint(method, str(route.path)))
    return endpoints


def concrete_path(template: str, caller_id: str) -> str:
    """Fill path parameters: employee IDs with the caller's own, anything else with a dummy value."""

    def fill(match: re.Match[str]) -> str:
        name = match.group(1).split(":")[0]
        return caller_id if "employee_id" in name else "1"

    return re.sub(r"\{([^}]+)\}", fill, template)


def expected(rule: Rule, caller: Role | str) -> str:
    if rule.delegated:
        return "delegated"
    if rule.public:
        return "allowed"
    if caller == ANONYMOUS:
        return "NotAuthenticated"
    return "allowed" if caller in rule.roles else "RoleNotAllowed"


def observed(response_status: int, error: str | None) -> str:
    if error in AUTH_ERRORS:
        return str(error)
    return "allowed"


def call(client: TestClient, endpoint: Endpoint, headers: dict[str, str], caller_id: str) -> tuple[int, str | None]:
    path = concrete_path(endpoint.path, caller_id)
    body = {"employee_id": caller_id} if endpoint.method in ("POST", "PUT", "PATCH") else None
    response = client.request(
        endpoint.method,
        path,
        params={"employee_id": caller_id},
        json=body,
        headers={"Accept": "application/json", **headers},
        follow_redirects=False,
    )
    error = None
    if response.headers.get("content-type", "").startswith("application/json"):
        payload = response.json()
        error = payload.get("error") if isinstance(payload, dict) else None
    return response.status_code, error


def session_csrf_token(client: TestClient) -> str:
    """Open the sign-in page and return the CSRF token it puts in the page's meta tag."""
    page = client.get("/auth/login").text
    match = re.search(r'<meta name="csrf-token" content="([^"]+)">', page)
    assert match is not None, "the sign-in page has no CSRF meta tag"
    return match.group(1)


def test_every_route_has_a_rule(tmp_path: Path, engine: Engine) -> None:
    for environment in ("demo", "production"):
        app = create_app(make_settings(tmp_path, environment=environment), engine=engine)

        missing = [f"{e.method} {e.path}" for e in app_endpoints(app) if rule_for(e.method, e.path) is None]

        assert missing == [], f"routes without an access rule in assistant/auth/rules.py ({environment})"


@pytest.mark.parametrize("caller", CALLERS, ids=str)
def test_matrix(caller: Role | str, app: FastAPI, client: TestClient, org: Org) -> None:
    caller_id = TOKEN_HOLDERS[caller] if isinstance(caller, Role) else "2001"

    mismatches = []
    for endpoint in app_endpoints(app):
        rule = rule_for(endpoint.method, endpoint.path)
        assert rule is not None, f"no rule for {endpoint.method} {endpoint.path}"
        # Anonymous form posts carry the session's CSRF token, so that they are judged on access alone.
        headers = org.headers(caller) if isinstance(caller, Role) else {"X-CSRF-Token": session_csrf_token(client)}
        status, error = call(client, endpoint, headers, caller_id)

        want = expected(rule, caller)
        if want == "delegated":
            got = "delegated" if status == 401 and error not in AUTH_ERRORS else f"{status} {error}"
        else:
            got = observed(status, error)
        if got != want:
            mismatches.append(f"{endpoint.method} {endpoint.path}: expected {want}, got {got} (HTTP {status})")

    assert mismatches == []


def test_scim_token_passes_delegated_routes(client: TestClient) -> None:
    response = client.get("/scim/v2/ServiceProviderConfig", headers={"Authorization": f"Bearer {SCIM_TOKEN}"})

    assert response.status_code == 200
