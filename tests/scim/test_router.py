"""Authentication, discovery endpoints, media types and SCIM error bodies at /scim/v2."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy.engine import Engine

from assistant.app import create_app
from assistant.scim.router import MAX_BODY_BYTES
from tests.scim.conftest import ENTERPRISE_USER, ERROR, scim_settings, user_body


def client_for(app: FastAPI, headers: dict[str, str] | None = None) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app)
    return httpx.AsyncClient(transport=transport, base_url="http://testserver/scim/v2", headers=headers or {})


class TestAuthentication:
    async def test_missing_token_is_401(self, scim_app: FastAPI) -> None:
        async with client_for(scim_app) as client:
            response = await client.get("/Users")

        assert response.status_code == 401
        assert response.headers["content-type"] == "application/scim+json"
        assert response.headers["www-authenticate"] == 'Bearer realm="SCIM"'
        assert response.json() == {
            "schemas": [ERROR],
            "status": "401",
            "detail": "Missing bearer token: send 'Authorization: Bearer <token>'",
        }

    async def test_wrong_token_is_401(self, scim_app: FastAPI) -> None:
        async with client_for(scim_app, {"Authorization": "Bearer wrong"}) as client:
            response = await client.get("/Users")

        assert response.status_code == 401
        assert response.json()["detail"] == "Invalid bearer token"

    async def test_basic_scheme_is_401(self, scim_app: FastAPI) -> None:
        async with client_for(scim_app, {"Authorization": "Basic c2NpbTpzY2lt"}) as client:
            response = await client.get("/Users")

        assert response.status_code == 401

    async def test_wrong_token_cannot_create(self, scim_app: FastAPI, scim: httpx.AsyncClient) -> None:
        async with client_for(scim_app, {"Authorization": "Bearer wrong"}) as client:
            response = await client.post("/Users", json=user_body())

        assert response.status_code == 401
        listing = await scim.get("/Users")
        assert listing.json()["totalResults"] == 0

    async def test_scheme_name_is_case_insensitive(self, scim_app: FastAPI) -> None:
        async with client_for(scim_app, {"Authorization": "bearer scim-test-token"}) as client:
            response = await client.get("/Users")

        assert response.status_code == 200

    @pytest.mark.parametrize("path", ["/Users", "/ServiceProviderConfig", "/Schemas"])
    async def test_unconfigured_token_closes_every_endpoint(self, engine: Engine, path: str) -> None:
        app = create_app(scim_settings(scim_token=SecretStr("")), engine=engine)

        async with client_for(app, {"Authorization": "Bearer "}) as client:
            response = await client.get(path)

        assert response.status_code == 503
        assert response.json()["status"] == "503"
        assert "ASSISTANT_SCIM_TOKEN" in response.json()["detail"]


class TestDiscovery:
    async def test_service_provider_config(self, scim: httpx.AsyncClient) -> None:
        response = await scim.get("/ServiceProviderConfig")

        body = response.json()
        assert response.status_code == 200
        assert body["patch"] == {"supported": True}
        assert body["bulk"]["supported"] is False
        assert body["filter"] == {"supported": True, "maxResults": 200}
        assert body["etag"] == {"supported": True}
        assert body["authenticationSchemes"][0]["type"] == "oauthbearertoken"

    async def test_resource_types(self, scim: httpx.AsyncClient) -> None:
        listing = (await scim.get("/ResourceTypes")).json()
        user = (await scim.get("/ResourceTypes/User")).json()

        assert listing["totalResults"] == 1
        assert user["endpoint"] == "/Users"
        assert user["schemaExtensions"] == [{"schema": ENTERPRISE_USER, "required": True}]

    async def test_schemas(self, scim: httpx.AsyncClient) -> None:
        listing = (await scim.get("/Schemas")).json()
        enterprise = (await scim.get(f"/Schemas/{ENTERPRISE_USER}")).json()

        assert {schema["id"] for schema in listing["Resources"]} == {
            "urn:ietf:params:scim:schemas:core:2.0:User",
            ENTERPRISE_USER,
        }
        employee_number = next(attribute for attribute in enterprise["attributes"] if attribute["name"] == "employeeNumber")
        assert employee_number["required"] is True

    async def test_unknown_schema_is_404(self, scim: httpx.AsyncClient) -> None:
        response = await scim.get("/Schemas/urn:example:unknown")

        assert response.status_code == 404
        assert response.json()["schemas"] == [ERROR]


class TestErrors:
    async def test_unknown_endpoint_is_scim_404(self, scim: httpx.AsyncClient) -> None:
        response = await scim.get("/Groups")

        assert response.status_code == 404
        assert response.headers["content-type"] == "application/scim+json"
        assert response.json()["schemas"] == [ERROR]

    async def test_wrong_method_is_scim_405(self, scim: httpx.AsyncClient) -> None:
        response = await scim.delete("/Users")

        assert response.status_code == 405
        assert response.json()["status"] == "405"
        assert "GET" in response.headers["allow"]

    async def test_bulk_is_501(self, scim: httpx.AsyncClient) -> None:
        response = await scim.post("/Bulk", json={"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"]})

        assert response.status_code == 501
        assert response.json()["status"] == "501"

    async def test_malformed_json_is_invalid_syntax(self, scim: httpx.AsyncClient) -> None:
        response = await scim.post("/Users", content=b'{"userName": ')

        assert response.status_code == 400
        assert response.json()["scimType"] in {"invalidSyntax", "invalidValue"}

    async def test_plain_json_media_type_is_accepted(self, scim: httpx.AsyncClient) -> None:
        response = await scim.post("/Users", json=user_body(), headers={"Content-Type": "application/json"})

        assert response.status_code == 201

    async def test_non_json_media_type_is_415(self, scim: httpx.AsyncClient) -> None:
        response = await scim.post("/Users", content=b"userName=ana", headers={"Content-Type": "text/plain"})

        assert response.status_code == 415
        assert response.json()["schemas"] == [ERROR]

    async def test_oversized_body_is_413(self, scim: httpx.AsyncClient) -> None:
        body = user_body(title="x" * (MAX_BODY_BYTES + 1))

        response = await scim.post("/Users", json=body)

        assert response.status_code == 413
        assert response.json()["status"] == "413"

    async def test_error_never_contains_traceback(self, scim: httpx.AsyncClient) -> None:
        response = await scim.post("/Users", content=b"[1, 2, 3]")

        assert response.status_code == 400
        assert "Traceback" not in response.text
