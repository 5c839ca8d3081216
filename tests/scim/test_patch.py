"""PATCH as Microsoft Entra ID and Okta send it, and the RFC 7644 §3.5.2 operations."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine

from assistant.people.models import PersonStatus
from tests.scim.conftest import ENTERPRISE_USER, patch_body
from tests.scim.test_users import load_person


@pytest.fixture
async def ana(create_user: Callable[..., Any]) -> dict[str, Any]:
    return dict(await create_user(employee_number="00042", title="Nurse"))


async def patch(scim: httpx.AsyncClient, user: dict[str, Any], *operations: dict[str, Any]) -> httpx.Response:
    return await scim.patch(f"/Users/{user['id']}", json=patch_body(*operations))


class TestIdentityProviderQuirks:
    @pytest.mark.parametrize("op", ["Replace", "REPLACE", "replace"])
    async def test_op_in_any_case(self, scim: httpx.AsyncClient, ana: dict[str, Any], engine: Engine, op: str) -> None:
        response = await patch(scim, ana, {"op": op, "path": "displayName", "value": "Ana Test"})

        assert response.status_code == 200, response.text
        assert response.json()["displayName"] == "Ana Test"
        person = load_person(engine, "00042")
        assert person is not None
        assert person.display_name == "Ana Test"

    @pytest.mark.parametrize("op", ["Add", "Remove"])
    async def test_add_and_remove_in_title_case(self, scim: httpx.AsyncClient, ana: dict[str, Any], op: str) -> None:
        operation: dict[str, Any] = {"op": op, "path": "nickName"}
        if op == "Add":
            operation["value"] = "Annie"

        response = await patch(scim, ana, operation)

        assert response.status_code == 200, response.text
        assert response.json().get("nickName") == ("Annie" if op == "Add" else None)

    @pytest.mark.parametrize("value", ["False", "false", "FALSE"])
    async def test_boolean_as_string_deactivates(
        self, scim: httpx.AsyncClient, ana: dict[str, Any], engine: Engine, value: str
    ) -> None:
        response = await patch(scim, ana, {"op": "Replace", "path": "active", "value": value})

        assert response.status_code == 200, response.text
        assert response.json()["active"] is False
        person = load_person(engine, "00042")
        assert person is not None
        assert person.status == PersonStatus.LEAVER
        assert person.termination_date is not None

    async def test_true_string_reactivates(self, scim: httpx.AsyncClient, ana: dict[str, Any], engine: Engine) -> None:
        await patch(scim, ana, {"op": "Replace", "path": "active", "value": "False"})

        response = await patch(scim, ana, {"op": "Replace", "path": "active", "value": "True"})

        assert response.json()["active"] is True
        person = load_person(engine, "00042")
        assert person is not None
        assert person.status == PersonStatus.ACTIVE
        assert person.termination_date is None

    async def test_no_path_applies_each_key(self, scim: httpx.AsyncClient, ana: dict[str, Any], engine: Engine) -> None:
        # Okta deactivates with a path-less replace.
        response = await scim.patch(
            f"/Users/{ana['id']}", json={"Operations": [{"op": "replace", "value": {"active": False}}]}
        )

        assert response.status_code == 200, response.text
        assert response.json()["active"] is False
        person = load_person(engine, "00042")
        assert person is not None
        assert person.status == PersonStatus.LEAVER

    async def test_dotted_and_urn_keys_without_path(
        self, scim: httpx.AsyncClient, ana: dict[str, Any], engine: Engine
    ) -> None:
        value = {"name.givenName": "Anna", f"{ENTERPRISE_USER}:department": "Sales"}

        response = await patch(scim, ana, {"op": "replace", "value": value})

        body = response.json()
        assert body["name"]["givenName"] == "Anna"
        assert body[ENTERPRISE_USER]["department"] == "Sales"
        assert body[ENTERPRISE_USER]["employeeNumber"] == "00042"
        person = load_person(engine, "00042")
        assert person is not None
        assert (person.given_name, person.department) == ("Anna", "Sales")

    async def test_urn_key_sets_employee_number_as_text(
        self, scim: httpx.AsyncClient, ana: dict[str, Any], engine: Engine
    ) -> None:
        value = {"name.givenName": "Ana", f"{ENTERPRISE_USER}:employeeNumber": "00043"}

        response = await patch(scim, ana, {"op": "replace", "value": value})

        assert response.json()[ENTERPRISE_USER]["employeeNumber"] == "00043"
        assert load_person(engine, "00043") is not None

    async def test_filtered_path_updates_work_email(
        self, scim: httpx.AsyncClient, ana: dict[str, Any], engine: Engine
    ) -> None:
        operation = {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "ana.new@example.test"}

        response = await patch(scim, ana, operation)

        assert response.json()["emails"] == [{"value": "ana.new@example.test", "type": "work", "primary": True}]
        person = load_person(engine, "00042")
        assert person is not None
        assert person.email == "ana.new@example.test"

    async def test_filtered_path_creates_missing_entry(
        self, scim: httpx.AsyncClient, create_user: Callable[..., Any], engine: Engine
    ) -> None:
        user = await create_user(emails=[{"type": "home", "value": "ana@home.example"}])
        operation = {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "ana@example.test"}

        response = await patch(scim, user, operation)

        assert response.status_code == 200, response.text
        emails = response.json()["emails"]
        assert {"value": "ana@example.test", "type": "work"} in emails
        assert {"value": "ana@home.example", "type": "home"} in emails
        person = load_person(engine, "00042")
        assert person is not None
        assert person.email == "ana@example.test"

    async def test_filtered_add_creates_work_address(
        self, scim: httpx.AsyncClient, ana: dict[str, Any], engine: Engine
    ) -> None:
        operation = {"op": "Add", "path": 'addresses[type eq "work"].locality', "value": "Leeds"}

        response = await patch(scim, ana, operation)

        assert response.json()["addresses"] == [{"locality": "Leeds", "type": "work"}]
        person = load_person(engine, "00042")
        assert person is not None
        assert person.location == "Leeds"

    async def test_manager_as_bare_string(
        self, scim: httpx.AsyncClient, create_user: Callable[..., Any], ana: dict[str, Any], engine: Engine
    ) -> None:
        boss = await create_user(user_name="boss@example.test", employee_number="00001")
        operation = {"op": "Add", "path": f"{ENTERPRISE_USER}:manager", "value": boss["id"]}

        response = await patch(scim, ana, operation)

        assert response.status_code == 200, response.text
        assert response.json()[ENTERPRISE_USER]["manager"]["value"] == boss["id"]
        person = load_person(engine, "00042")
        assert person is not None
        assert person.manager_employee_id == "00001"

    async def test_manager_unknown_id_is_employee_id(
        self, scim: httpx.AsyncClient, ana: dict[str, Any], engine: Engine
    ) -> None:
        operation = {"op": "replace", "path": f"{ENTERPRISE_USER}:manager.value", "value": "00099"}

        await patch(scim, ana, operation)

        person = load_person(engine, "00042")
        assert person is not None
        assert person.manager_employee_id == "00099"

    async def test_remove_with_value_selects_entry(self, scim: httpx.AsyncClient, create_user: Callable[..., Any]) -> None:
        emails = [{"type": "work", "value": "ana@example.test"}, {"type": "home", "value": "ana@home.example"}]
        user = await create_user(emails=emails)
        operation = {"op": "Remove", "path": "emails", "value": [{"value": "ana@home.example"}]}

        response = await patch(scim, user, operation)

        assert response.json()["emails"] == [{"value": "ana@example.test", "type": "work"}]


class TestOperations:
    async def test_add_simple_attribute(self, scim: httpx.AsyncClient, ana: dict[str, Any]) -> None:
        response = await patch(scim, ana, {"op": "add", "path": "preferredLanguage", "value": "en-GB"})

        assert response.json()["preferredLanguage"] == "en-GB"

    async def test_replace_simple_attribute(self, scim: httpx.AsyncClient, ana: dict[str, Any], engine: Engine) -> None:
        response = await patch(scim, ana, {"op": "replace", "path": "title", "value": "Matron"})

        assert response.json()["title"] == "Matron"
        person = load_person(engine, "00042")
        assert person is not None
        assert person.job_title == "Matron"

    async def test_remove_simple_attribute(self, scim: httpx.AsyncClient, ana: dict[str, Any], engine: Engine) -> None:
        response = await patch(scim, ana, {"op": "remove", "path": "title"})

        assert "title" not in response.json()
        person = load_person(engine, "00042")
        assert person is not None
        assert person.job_title is None

    async def test_replace_complex_attribute(self, scim: httpx.AsyncClient, ana: dict[str, Any], engine: Engine) -> None:
        value = {"givenName": "Anna", "familyName": "Smith"}

        response = await patch(scim, ana, {"op": "replace", "path": "name", "value": value})

        assert response.json()["name"] == value
        person = load_person(engine, "00042")
        assert person is not None
        assert (person.given_name, person.family_name) == ("Anna", "Smith")

    async def test_replace_sub_attribute(self, scim: httpx.AsyncClient, ana: dict[str, Any]) -> None:
        response = await patch(scim, ana, {"op": "replace", "path": "name.familyName", "value": "Smith"})

        assert response.json()["name"] == {"givenName": "Ana", "familyName": "Smith"}

    async def test_remove_complex_attribute(self, scim: httpx.AsyncClient, ana: dict[str, Any], engine: Engine) -> None:
        response = await patch(scim, ana, {"op": "remove", "path": "name"})

        assert "name" not in response.json()
        person = load_person(engine, "00042")
        assert person is not None
        assert (person.given_name, person.family_name) == ("", "")

    async def test_add_to_multi_valued_attribute(self, scim: httpx.AsyncClient, ana: dict[str, Any]) -> None:
        value = [{"type": "mobile", "value": "+44 7700 900123"}]

        response = await patch(scim, ana, {"op": "add", "path": "phoneNumbers", "value": value})
        again = await patch(scim, ana, {"op": "add", "path": "phoneNumbers", "value": [{"type": "work", "value": "+44 113 496 0000"}]})

        assert response.json()["phoneNumbers"] == value
        assert len(again.json()["phoneNumbers"]) == 2

    async def test_replace_multi_valued_attribute(self, scim: httpx.AsyncClient, ana: dict[str, Any], engine: Engine) -> None:
        value = [{"type": "work", "value": "ana.test@example.test", "primary": True}]

        response = await patch(scim, ana, {"op": "replace", "path": "emails", "value": value})

        assert response.json()["emails"] == value
        person = load_person(engine, "00042")
        assert person is not None
        assert person.email == "ana.test@example.test"

    async def test_remove_filtered_entry(self, scim: httpx.AsyncClient, create_user: Callable[..., Any], engine: Engine) -> None:
        emails = [{"type": "work", "value": "ana@example.test"}, {"type": "home", "value": "ana@home.example"}]
        user = await create_user(emails=emails)

        response = await patch(scim, user, {"op": "remove", "path": 'emails[type eq "work"]'})

        assert response.json()["emails"] == [{"value": "ana@home.example", "type": "home"}]
        person = load_person(engine, "00042")
        assert person is not None
        assert person.email == "ana@home.example"

    async def test_remove_whole_multi_valued_attribute(self, scim: httpx.AsyncClient, ana: dict[str, Any], engine: Engine) -> None:
        response = await patch(scim, ana, {"op": "remove", "path": "emails"})

        assert "emails" not in response.json()
        person = load_person(engine, "00042")
        assert person is not None
        assert person.email is None

    async def test_operations_apply_in_order(self, scim: httpx.AsyncClient, ana: dict[str, Any]) -> None:
        response = await patch(
            scim,
            ana,
            {"op": "replace", "path": "title", "value": "First"},
            {"op": "replace", "path": "title", "value": "Second"},
        )

        assert response.json()["title"] == "Second"

    async def test_failed_operation_changes_nothing(self, scim: httpx.AsyncClient, ana: dict[str, Any], engine: Engine) -> None:
        response = await patch(
            scim,
            ana,
            {"op": "replace", "path": "title", "value": "Matron"},
            {"op": "replace", "path": "userName", "value": 12},
        )

        assert response.status_code == 400
        fetched = (await scim.get(f"/Users/{ana['id']}")).json()
        assert fetched["title"] == "Nurse"
        person = load_person(engine, "00042")
        assert person is not None
        assert person.job_title == "Nurse"

    async def test_removing_employee_number_is_rejected(self, scim: httpx.AsyncClient, ana: dict[str, Any]) -> None:
        response = await patch(scim, ana, {"op": "remove", "path": f"{ENTERPRISE_USER}:employeeNumber"})

        assert response.status_code == 400
        assert response.json()["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]

    async def test_unknown_operation_is_invalid(self, scim: httpx.AsyncClient, ana: dict[str, Any]) -> None:
        response = await patch(scim, ana, {"op": "move", "path": "title", "value": "x"})

        assert response.status_code == 400
        assert response.json()["status"] == "400"

    async def test_unchanged_patch_keeps_version(self, scim: httpx.AsyncClient, ana: dict[str, Any]) -> None:
        response = await patch(scim, ana, {"op": "replace", "path": "title", "value": "Nurse"})

        assert response.json()["meta"]["version"] == ana["meta"]["version"]

    async def test_patch_bumps_version(self, scim: httpx.AsyncClient, ana: dict[str, Any]) -> None:
        response = await patch(scim, ana, {"op": "replace", "path": "title", "value": "Matron"})

        assert response.json()["meta"]["version"] == 'W/"2"'
        assert response.headers["etag"] == 'W/"2"'

    async def test_patch_unknown_user_is_404(self, scim: httpx.AsyncClient) -> None:
        response = await scim.patch("/Users/missing", json=patch_body({"op": "replace", "path": "title", "value": "x"}))

        assert response.status_code == 404
