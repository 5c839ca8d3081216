"""GET /Users?filter=... as identity providers use it (RFC 7644 §3.4.2.2)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.scim.conftest import ENTERPRISE_USER


@pytest.fixture
async def people(create_user: Callable[..., Any]) -> dict[str, dict[str, Any]]:
    ana = await create_user(
        user_name="ana@example.test",
        employee_number="00042",
        externalId="okta-00u1",
        title="Nurse",
        emails=[{"type": "work", "value": "ana@example.test"}, {"type": "home", "value": "ana@home.example"}],
    )
    ben = await create_user(user_name="ben@example.test", employee_number="00043", externalId="OKTA-00U2", title="Porter")
    cat = await create_user(user_name="cat@example.test", employee_number="00044", active=False)
    return {"ana": ana, "ben": ben, "cat": cat}


async def search(scim: httpx.AsyncClient, expression: str) -> list[str]:
    response = await scim.get("/Users", params={"filter": expression})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["totalResults"] == len(body.get("Resources", []))
    return sorted(user["userName"] for user in body.get("Resources", []))


class TestFilters:
    async def test_user_name_eq_ignores_case(self, scim: httpx.AsyncClient, people: dict[str, Any]) -> None:
        assert await search(scim, 'userName eq "ANA@Example.test"') == ["ana@example.test"]

    async def test_user_name_with_schema_urn(self, scim: httpx.AsyncClient, people: dict[str, Any]) -> None:
        expression = 'urn:ietf:params:scim:schemas:core:2.0:User:userName eq "ben@example.test"'

        assert await search(scim, expression) == ["ben@example.test"]

    async def test_unknown_user_name_is_empty_list(self, scim: httpx.AsyncClient, people: dict[str, Any]) -> None:
        response = await scim.get("/Users", params={"filter": 'userName eq "nobody@example.test"'})

        body = response.json()
        assert response.status_code == 200
        assert body["totalResults"] == 0
        assert body["itemsPerPage"] == 0

    async def test_external_id_eq_is_case_exact(self, scim: httpx.AsyncClient, people: dict[str, Any]) -> None:
        assert await search(scim, 'externalId eq "okta-00u1"') == ["ana@example.test"]
        assert await search(scim, 'externalId eq "OKTA-00U1"') == []

    async def test_id_eq(self, scim: httpx.AsyncClient, people: dict[str, Any]) -> None:
        assert await search(scim, f'id eq "{people["ben"]["id"]}"') == ["ben@example.test"]

    async def test_emails_value_matches_any_entry(self, scim: httpx.AsyncClient, people: dict[str, Any]) -> None:
        assert await search(scim, 'emails.value eq "ana@home.example"') == ["ana@example.test"]

    async def test_emails_value_path_filter(self, scim: httpx.AsyncClient, people: dict[str, Any]) -> None:
        assert await search(scim, 'emails[type eq "work" and value eq "ben@example.test"]') == ["ben@example.test"]
        assert await search(scim, 'emails[type eq "work" and value eq "ana@home.example"]') == []

    async def test_employee_number_with_urn(self, scim: httpx.AsyncClient, people: dict[str, Any]) -> None:
        assert await search(scim, f'{ENTERPRISE_USER}:employeeNumber eq "00043"') == ["ben@example.test"]

    async def test_and(self, scim: httpx.AsyncClient, people: dict[str, Any]) -> None:
        assert await search(scim, 'userName eq "ana@example.test" and title eq "Nurse"') == ["ana@example.test"]
        assert await search(scim, 'userName eq "ana@example.test" and title eq "Porter"') == []

    async def test_or(self, scim: httpx.AsyncClient, people: dict[str, Any]) -> None:
        expression = 'userName eq "ana@example.test" or userName eq "cat@example.test"'

        assert await search(scim, expression) == ["ana@example.test", "cat@example.test"]

    async def test_not_and_boolean(self, scim: httpx.AsyncClient, people: dict[str, Any]) -> None:
        assert await search(scim, "active eq false") == ["cat@example.test"]
        assert await search(scim, "not (active eq false)") == ["ana@example.test", "ben@example.test"]

    async def test_present_and_starts_with(self, scim: httpx.AsyncClient, people: dict[str, Any]) -> None:
        assert await search(scim, "title pr") == ["ana@example.test", "ben@example.test"]
        assert await search(scim, 'userName sw "b"') == ["ben@example.test"]

    async def test_meta_last_modified_comparison(self, scim: httpx.AsyncClient, people: dict[str, Any]) -> None:
        names = await search(scim, 'meta.lastModified gt "2000-01-01T00:00:00Z"')

        assert names == ["ana@example.test", "ben@example.test", "cat@example.test"]


class TestInvalidFilters:
    @pytest.mark.parametrize(
        "expression",
        [
            'userName eq',
            'userName eq "unterminated',
            'userName xx "ana"',
            'shoeSize eq "42"',
        ],
    )
    async def test_invalid_filter_is_400(self, scim: httpx.AsyncClient, expression: str) -> None:
        response = await scim.get("/Users", params={"filter": expression})

        assert response.status_code == 400
        body = response.json()
        assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
        assert body["scimType"] == "invalidFilter"
        assert body["detail"]
