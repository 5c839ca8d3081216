"""OpenID Connect sign-in against a fake provider served on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from assistant.app import create_app
from tests.auth.conftest import make_settings
from tests.auth.factories import ADMIN_ID, LEARNER_ID, MANAGER_ID, seed_people
from tests.auth.idp import CLIENT_ID, CLIENT_SECRET, FakeIdentityProvider
from tests.support import LiveServer


@pytest.fixture
def idp() -> Iterator[FakeIdentityProvider]:
    provider = FakeIdentityProvider()
    with LiveServer(provider.app) as server:
        provider.issuer = server.url
        yield provider


def oidc_client(engine: Engine, tmp_path: Path, idp: FakeIdentityProvider, **overrides: object) -> TestClient:
    settings = make_settings(
        tmp_path,
        environment="production",
        oidc_discovery_url=f"{idp.issuer}/.well-known/openid-configuration",
        oidc_client_id=CLIENT_ID,
        oidc_client_secret=CLIENT_SECRET,
        **overrides,
    )
    return TestClient(create_app(settings, engine=engine), base_url="https://testserver", raise_server_exceptions=False)


def sign_in_via_idp(client: TestClient, next_path: str = "/team") -> httpx.Response:
    """Follow the redirect to the provider and back, as a browser would; return the callback's response."""
    start = client.get("/auth/oidc", params={"next": next_path}, follow_redirects=False)
    assert start.status_code == 302, start.text
    at_provider = httpx.get(start.headers["location"], follow_redirects=False)
    assert at_provider.status_code == 302
    return client.get(at_provider.headers["location"], follow_redirects=False)


class TestOidcSignIn:
    def test_email_maps_to_employee(self, engine: Engine, tmp_path: Path, idp: FakeIdentityProvider) -> None:
        idp.claims = {"email": "Mira.Manager@example.com", "email_verified": True}
        with oidc_client(engine, tmp_path, idp) as client:
            seed_people(engine)

            callback = sign_in_via_idp(client)
            me = client.get("/auth/me")

        assert callback.status_code == 303
        assert callback.headers["location"] == "/team"
        assert me.json() == {"employee_id": MANAGER_ID, "role": "manager", "credential": "session"}

    def test_cookie_is_secure_outside_demo(self, engine: Engine, tmp_path: Path, idp: FakeIdentityProvider) -> None:
        idp.claims = {"email": "leo.learner@example.com"}
        with oidc_client(engine, tmp_path, idp) as client:
            seed_people(engine)

            callback = sign_in_via_idp(client)

        cookie = callback.headers["set-cookie"].lower()
        assert "secure" in cookie
        assert "httponly" in cookie
        assert "samesite=lax" in cookie

    def test_configured_claim_maps_to_employee(self, engine: Engine, tmp_path: Path, idp: FakeIdentityProvider) -> None:
        idp.claims = {"employee_number": ADMIN_ID}
        with oidc_client(engine, tmp_path, idp, oidc_employee_id_claim="employee_number") as client:
            seed_people(engine)

            sign_in_via_idp(client)
            me = client.get("/auth/me")

        assert me.json()["employee_id"] == ADMIN_ID
        assert me.json()["role"] == "admin"

    def test_learner_role_for_person_without_reports(self, engine: Engine, tmp_path: Path, idp: FakeIdentityProvider) -> None:
        idp.claims = {"email": "leo.learner@example.com"}
        with oidc_client(engine, tmp_path, idp) as client:
            seed_people(engine)

            sign_in_via_idp(client)
            me = client.get("/auth/me")

        assert me.json() == {"employee_id": LEARNER_ID, "role": "learner", "credential": "session"}

    def test_unknown_email_is_rejected(self, engine: Engine, tmp_path: Path, idp: FakeIdentityProvider) -> None:
        idp.claims = {"email": "stranger@example.com"}
        with oidc_client(engine, tmp_path, idp) as client:
            seed_people(engine)

            callback = sign_in_via_idp(client)
            me = client.get("/auth/me")

        assert callback.status_code == 403
        assert "no employee matches the e-mail address" in callback.json()["detail"]
        assert me.status_code == 401

    def test_unverified_email_is_rejected(self, engine: Engine, tmp_path: Path, idp: FakeIdentityProvider) -> None:
        idp.claims = {"email": "leo.learner@example.com", "email_verified": False}
        with oidc_client(engine, tmp_path, idp) as client:
            seed_people(engine)

            callback = sign_in_via_idp(client)

        assert callback.status_code == 403
        assert "not verified" in callback.json()["detail"]

    def test_callback_without_state_is_rejected(self, engine: Engine, tmp_path: Path, idp: FakeIdentityProvider) -> None:
        with oidc_client(engine, tmp_path, idp) as client:
            response = client.get("/auth/callback", params={"code": "forged", "state": "forged"})

        assert response.status_code == 403
        assert response.json()["error"] == "SignInFailed"

    def test_open_redirect_falls_back_home(self, engine: Engine, tmp_path: Path, idp: FakeIdentityProvider) -> None:
        idp.claims = {"email": "leo.learner@example.com"}
        with oidc_client(engine, tmp_path, idp) as client:
            seed_people(engine)

            callback = sign_in_via_idp(client, next_path="//evil.example/steal")

        assert callback.headers["location"] == "/"


def test_dev_sign_in_is_404_outside_demo(engine: Engine, tmp_path: Path) -> None:
    for environment in ("production", "development"):
        settings = make_settings(tmp_path, environment=environment, secret_key="another-real-secret-0123456789")
        with TestClient(create_app(settings, engine=engine)) as client:
            assert client.get("/auth/dev").status_code == 404
            assert client.post("/auth/dev", data={"employee_id": LEARNER_ID}).status_code == 404


def test_oidc_unconfigured_answers_503(engine: Engine, tmp_path: Path) -> None:
    with TestClient(create_app(make_settings(tmp_path), engine=engine)) as client:
        response = client.get("/auth/oidc")

    assert response.status_code == 503
    assert "ASSISTANT_OIDC_DISCOVERY_URL" in response.json()["detail"]
