"""Scoping, credentials and CSRF through the real app and its roleplay API."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from assistant.auth.models import Role
from assistant.auth.service import create_token, list_tokens, revoke_token
from assistant.db import session_scope
from tests.auth.factories import (
    INDIRECT_REPORT_ID,
    LEARNER_ID,
    MANAGER_ID,
    OTHER_LEARNER_ID,
    Org,
)


def start_session(client: TestClient, org: Org, employee_id: str, role: Role = Role.LEARNER) -> str:
    response = client.post(
        "/roleplay/sessions",
        json={"employee_id": employee_id, "scenario_id": "price-objection"},
        headers=org.headers(role),
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


class TestScope:
    def test_manager_outside_team_gets_403(self, client: TestClient, org: Org) -> None:
        response = client.get("/roleplay/attempts", params={"employee_id": OTHER_LEARNER_ID}, headers=org.headers(Role.MANAGER))

        assert response.status_code == 403
        assert response.json()["error"] == "OutOfScope"
        assert "'3001' is out of scope" in response.json()["detail"]

    @pytest.mark.parametrize("employee_id", [MANAGER_ID, LEARNER_ID, INDIRECT_REPORT_ID])
    def test_manager_sees_self_and_reports(self, client: TestClient, org: Org, employee_id: str) -> None:
        response = client.get("/roleplay/attempts", params={"employee_id": employee_id}, headers=org.headers(Role.MANAGER))

        assert response.status_code == 200

    def test_learner_opening_another_learner_gets_403(self, client: TestClient, org: Org) -> None:
        response = client.get("/roleplay/attempts", params={"employee_id": OTHER_LEARNER_ID}, headers=org.headers(Role.LEARNER))

        assert response.status_code == 403
        assert response.json()["error"] == "OutOfScope"
        assert "a learner sees only their own records" in response.json()["detail"]

    def test_learner_opening_another_path_gets_403(self, client: TestClient, org: Org) -> None:
        response = client.get(f"/people/{OTHER_LEARNER_ID}/path", headers=org.headers(Role.LEARNER))

        assert response.status_code == 403
        assert response.json()["error"] == "OutOfScope"

    def test_manager_opening_path_outside_team_gets_403(self, client: TestClient, org: Org) -> None:
        response = client.get(f"/people/{OTHER_LEARNER_ID}/path", headers=org.headers(Role.MANAGER))

        assert response.status_code == 403
        assert response.json()["error"] == "OutOfScope"

    def test_manager_team_paths_of_other_manager_gets_403(self, client: TestClient, org: Org) -> None:
        response = client.get("/managers/3000/team/paths", headers=org.headers(Role.MANAGER))

        assert response.status_code == 403

    def test_learner_own_path_passes_authorization(self, client: TestClient, org: Org) -> None:
        response = client.get(f"/people/{LEARNER_ID}/path", headers=org.headers(Role.LEARNER))

        assert response.json().get("error") not in ("OutOfScope", "RoleNotAllowed", "NotAuthenticated")

    def test_learner_sees_own_attempts(self, client: TestClient, org: Org) -> None:
        response = client.get("/roleplay/attempts", params={"employee_id": LEARNER_ID}, headers=org.headers(Role.LEARNER))

        assert response.status_code == 200

    def test_admin_is_not_scoped(self, client: TestClient, org: Org) -> None:
        response = client.get("/roleplay/attempts", params={"employee_id": OTHER_LEARNER_ID}, headers=org.headers(Role.ADMIN))

        assert response.status_code == 200

    def test_list_without_subject_is_rejected_for_learner(self, client: TestClient, org: Org) -> None:
        response = client.get("/roleplay/attempts", headers=org.headers(Role.LEARNER))

        assert response.status_code == 403
        assert "name an employee" in response.json()["detail"]

    def test_repeated_query_values_are_all_checked(self, client: TestClient, org: Org) -> None:
        response = client.get(
            "/roleplay/attempts?employee_id=2001&employee_id=3001", headers=org.headers(Role.LEARNER)
        )

        assert response.status_code == 403

    def test_body_employee_is_checked(self, client: TestClient, org: Org) -> None:
        response = client.post(
            "/roleplay/sessions", json={"employee_id": OTHER_LEARNER_ID}, headers=org.headers(Role.LEARNER)
        )

        assert response.status_code == 403
        assert response.json()["error"] == "OutOfScope"

    def test_manager_cannot_start_session_for_report(self, client: TestClient, org: Org) -> None:
        response = client.post("/roleplay/sessions", json={"employee_id": LEARNER_ID}, headers=org.headers(Role.MANAGER))

        assert response.status_code == 403
        assert "must be your own employee ID '2000'" in response.json()["detail"]


class TestOwnedSessions:
    def test_manager_reads_report_session(self, client: TestClient, org: Org) -> None:
        session_id = start_session(client, org, LEARNER_ID)

        response = client.get(f"/roleplay/sessions/{session_id}", headers=org.headers(Role.MANAGER))

        assert response.status_code == 200
        assert response.json()["employee_id"] == LEARNER_ID

    def test_manager_cannot_talk_in_report_session(self, client: TestClient, org: Org) -> None:
        session_id = start_session(client, org, LEARNER_ID)

        response = client.post(
            f"/roleplay/sessions/{session_id}/turns", json={"text": "Hello"}, headers=org.headers(Role.MANAGER)
        )

        assert response.status_code == 403
        assert "only that employee may do this" in response.json()["detail"]

    def test_other_manager_cannot_read_session(self, client: TestClient, org: Org, engine: Engine) -> None:
        session_id = start_session(client, org, LEARNER_ID)
        with session_scope(engine) as session:
            _, other_manager = create_token(session, role=Role.MANAGER, employee_id="3000")

        response = client.get(f"/roleplay/sessions/{session_id}", headers={"Authorization": f"Bearer {other_manager}"})

        assert response.status_code == 403

    def test_review_author_must_be_caller(self, client: TestClient, org: Org) -> None:
        session_id = start_session(client, org, LEARNER_ID)

        response = client.post(
            f"/roleplay/sessions/{session_id}/reviews",
            json={"reviewer_employee_id": "2002", "note": "Good start"},
            headers=org.headers(Role.MANAGER),
        )

        assert response.status_code == 403
        assert "reviewer_employee_id" in response.json()["detail"]


class TestCredentials:
    def test_anonymous_gets_401_with_challenge(self, client: TestClient, org: Org) -> None:
        response = client.get("/roleplay/attempts", params={"employee_id": LEARNER_ID})

        assert response.status_code == 401
        assert response.json()["error"] == "NotAuthenticated"
        assert response.headers["www-authenticate"].startswith("Bearer")

    def test_unknown_token_gets_401(self, client: TestClient, org: Org) -> None:
        response = client.get("/auth/me", headers={"Authorization": "Bearer ast_wrong"})

        assert response.status_code == 401
        assert "invalid or revoked API token" in response.json()["detail"]

    def test_basic_scheme_gets_401(self, client: TestClient, org: Org) -> None:
        response = client.get("/auth/me", headers={"Authorization": "Basic dXNlcjpwYXNz"})

        assert response.status_code == 401
        assert "Bearer" in response.json()["detail"]

    def test_revoked_token_gets_401(self, client: TestClient, org: Org, engine: Engine) -> None:
        with session_scope(engine) as session:
            token_id = next(t.id for t in list_tokens(session) if t.role == Role.LEARNER.value)
            assert token_id is not None
            revoke_token(session, token_id)

        response = client.get("/auth/me", headers=org.headers(Role.LEARNER))

        assert response.status_code == 401

    def test_me_names_token_holder(self, client: TestClient, org: Org) -> None:
        response = client.get("/auth/me", headers=org.headers(Role.MANAGER))

        assert response.json() == {"employee_id": MANAGER_ID, "role": "manager", "credential": "token"}

    def test_role_not_allowed_names_roles(self, client: TestClient, org: Org) -> None:
        response = client.get("/roleplay/attempts", params={"employee_id": "9000"}, headers=org.headers(Role.PROVISIONING))

        assert response.status_code == 403
        assert response.json()["error"] == "RoleNotAllowed"
        assert "allowed roles: admin, learner, manager" in response.json()["detail"]


def sign_in(client: TestClient, employee_id: str, role: str = "from-hr") -> str:
    """Sign in through the demo sign-in form and return the session's CSRF token."""
    page = client.get("/auth/dev").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token is not None
    response = client.post(
        "/auth/dev",
        data={"employee_id": employee_id, "role": role, "csrf_token": token.group(1)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    me = client.get("/auth/login").text
    fresh = re.search(r'<meta name="csrf-token" content="([^"]+)">', me)
    assert fresh is not None
    return fresh.group(1)


class TestCsrf:
    def test_session_post_without_token_is_rejected(self, client: TestClient, org: Org) -> None:
        sign_in(client, LEARNER_ID)

        response = client.post("/roleplay/sessions", json={"employee_id": LEARNER_ID})

        assert response.status_code == 403
        assert response.json()["error"] == "CsrfRejected"
        assert "X-CSRF-Token" in response.json()["detail"]

    def test_session_post_with_wrong_token_is_rejected(self, client: TestClient, org: Org) -> None:
        sign_in(client, LEARNER_ID)

        response = client.post("/roleplay/sessions", json={"employee_id": LEARNER_ID}, headers={"X-CSRF-Token": "forged"})

        assert response.status_code == 403
        assert "does not match" in response.json()["detail"]

    def test_session_post_with_token_passes(self, client: TestClient, org: Org) -> None:
        csrf = sign_in(client, LEARNER_ID)

        response = client.post(
            "/roleplay/sessions",
            json={"employee_id": LEARNER_ID, "scenario_id": "price-objection"},
            headers={"X-CSRF-Token": csrf},
        )

        assert response.status_code == 201

    def test_sign_in_form_without_token_is_rejected(self, client: TestClient, org: Org) -> None:
        client.get("/auth/login")

        response = client.post("/auth/dev", data={"employee_id": LEARNER_ID}, follow_redirects=False)

        assert response.status_code == 403

    def test_session_scope_applies_too(self, client: TestClient, org: Org) -> None:
        sign_in(client, LEARNER_ID)

        response = client.get("/roleplay/attempts", params={"employee_id": OTHER_LEARNER_ID}, headers={"Accept": "application/json"})

        assert response.status_code == 403
        assert response.json()["error"] == "OutOfScope"
