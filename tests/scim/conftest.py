"""Fixtures for the SCIM tests: the app on the test database and an authenticated SCIM client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy.engine import Engine

from assistant.app import create_app
from assistant.config import Settings

SCIM_TOKEN = "scim-test-token"
CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE_USER = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


def scim_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {"scim_token": SecretStr(SCIM_TOKEN), "log_level": "WARNING", **overrides}
    return Settings(**values)


@pytest.fixture
def scim_app(engine: Engine) -> FastAPI:
    return create_app(scim_settings(), engine=engine)


@pytest.fixture
async def scim(scim_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client for /scim/v2 that sends the bearer token."""
    transport = httpx.ASGITransport(app=scim_app)
    headers = {"Authorization": f"Bearer {SCIM_TOKEN}", "Content-Type": "application/scim+json"}
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver/scim/v2", headers=headers) as client:
        yield client


def user_body(
    user_name: str = "ana@example.test",
    employee_number: str | None = "00042",
    **extra: Any,
) -> dict[str, Any]:
    """Return a POST /Users body shaped like the ones Okta sends."""
    body: dict[str, Any] = {
        "schemas": [CORE_USER, ENTERPRISE_USER],
        "userName": user_name,
        "name": {"givenName": "Ana", "familyName": "Test"},
        "emails": [{"primary": True, "value": user_name, "type": "work"}],
        "active": True,
    }
    if employee_number is not None:
        body[ENTERPRISE_USER] = {"employeeNumber": employee_number}
    body.update(extra)
    return body


def patch_body(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH_OP], "Operations": list(operations)}


@pytest.fixture
def create_user(scim: httpx.AsyncClient) -> Callable[..., Any]:
    """Create a user through POST /Users and return the response body."""

    async def create(**kwargs: Any) -> dict[str, Any]:
        response = await scim.post("/Users", json=user_body(**kwargs))
        assert response.status_code == 201, response.text
        return dict(response.json())

    return create
