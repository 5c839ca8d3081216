"""The Okta and Microsoft Entra ID provisioning flows end to end, down to the Moodle account.

Both apps run on loopback servers: the service with its SCIM endpoint, and the Moodle
sandbox it provisions into. The Moodle sync runs in a background task after each SCIM
response, so the checks on Moodle poll until the change arrives.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy.engine import Engine

from assistant.app import create_app
from assistant.moodle.sandbox import DEFAULT_TOKEN, SandboxState, create_sandbox_app
from assistant.moodle.sandbox.state import User as MoodleUser
from assistant.people.models import PersonStatus
from tests.scim.conftest import CORE_USER, ENTERPRISE_USER, PATCH_OP, SCIM_TOKEN, scim_settings
from tests.scim.test_users import load_person
from tests.support import LiveServer

# Seconds to wait for the background Moodle sync.
SYNC_TIMEOUT = 15.0


@pytest.fixture
def moodle() -> Iterator[tuple[str, SandboxState]]:
    sandbox = create_sandbox_app()
    with LiveServer(sandbox) as server:
        yield server.url, sandbox.state.sandbox


@pytest.fixture
def scim_http(engine: Engine, moodle: tuple[str, SandboxState]) -> Iterator[httpx.Client]:
    moodle_url, _ = moodle
    settings = scim_settings(moodle_url=moodle_url, moodle_token=SecretStr(DEFAULT_TOKEN))
    with LiveServer(create_app(settings, engine=engine)) as server:
        headers = {"Authorization": f"Bearer {SCIM_TOKEN}"}
        with httpx.Client(base_url=f"{server.url}/scim/v2", headers=headers, timeout=30) as client:
            yield client


def moodle_user(state: SandboxState, employee_id: str) -> MoodleUser | None:
    with state.lock:
        return next((user for user in state.users.values() if user.idnumber == employee_id), None)


def wait_for_moodle(state: SandboxState, employee_id: str, check: Callable[[MoodleUser], bool]) -> MoodleUser:
    """Poll the sandbox until the employee's Moodle user passes `check`, and fail after SYNC_TIMEOUT seconds."""
    deadline = time.monotonic() + SYNC_TIMEOUT
    while time.monotonic() < deadline:
        user = moodle_user(state, employee_id)
        if user is not None and check(user):
            return user
        time.sleep(0.05)
    raise AssertionError(f"Moodle user {employee_id} did not reach the expected state: {moodle_user(state, employee_id)}")


class TestOkta:
    def test_okta_flow_suspends_moodle_account(
        self, scim_http: httpx.Client, moodle: tuple[str, SandboxState], engine: Engine
    ) -> None:
        _, state = moodle
        user_name = "ana.test@okta.local"

        # Okta's SCIM test plan starts by listing one user and filtering on an unknown userName.
        listing = scim_http.get("/Users", params={"startIndex": 1, "count": 1})
        assert listing.status_code == 200
        unknown = scim_http.get("/Users", params={"filter": f'userName eq "{user_name}"'})
        assert unknown.json()["totalResults"] == 0

        created = scim_http.post("/Users", json=_okta_user(user_name))
        assert created.status_code == 201, created.text
        user_id = created.json()["id"]
        account = wait_for_moodle(state, "00042", lambda user: True)
        assert (account.firstname, account.email, account.suspended) == ("Ana", user_name, False)

        found = scim_http.get("/Users", params={"filter": f'userName eq "{user_name}"', "startIndex": 1, "count": 100})
        assert [user["id"] for user in found.json()["Resources"]] == [user_id]
        duplicate = scim_http.post("/Users", json=_okta_user(user_name))
        assert duplicate.status_code == 409
        missing = scim_http.get(f"/Users/{uuid.uuid4()}")
        assert missing.status_code == 404

        renamed = scim_http.put(f"/Users/{user_id}", json=_okta_user(user_name, given_name="Anna") | {"id": user_id})
        assert renamed.status_code == 200
        wait_for_moodle(state, "00042", lambda user: user.firstname == "Anna")

        deactivate = {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": {"active": False}}]}
        deactivated = scim_http.patch(f"/Users/{user_id}", json=deactivate)
        assert deactivated.status_code == 200
        assert deactivated.json()["active"] is False
        wait_for_moodle(state, "00042", lambda user: user.suspended)
        person = load_person(engine, "00042")
        assert person is not None
        assert person.status == PersonStatus.LEAVER


class TestEntra:
    def test_entra_flow_suspends_moodle_account(
        self, scim_http: httpx.Client, moodle: tuple[str, SandboxState], engine: Engine
    ) -> None:
        _, state = moodle
        external_id = str(uuid.uuid4())

        unknown = scim_http.get("/Users", params={"filter": 'userName eq "Test_User_ab6490ee"'})
        assert unknown.json()["totalResults"] == 0

        created = scim_http.post("/Users", json=_entra_user(external_id))
        assert created.status_code == 201, created.text
        user_id = created.json()["id"]
        assert created.json()["active"] is True
        wait_for_moodle(state, "00042", lambda user: user.email == "test_user_ab6490ee@contoso.test")

        found = scim_http.get("/Users", params={"filter": f'externalId eq "{external_id}"'})
        assert [user["id"] for user in found.json()["Resources"]] == [user_id]

        manager = scim_http.post("/Users", json=_entra_user(str(uuid.uuid4()), user_name="Boss_User", employee_number="00001"))
        update = {
            "schemas": [PATCH_OP],
            "Operations": [
                {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "ana.new@contoso.test"},
                {"op": "Replace", "path": "name.familyName", "value": "Updated"},
                {"op": "Add", "path": f"{ENTERPRISE_USER}:manager", "value": manager.json()["id"]},
            ],
        }
        updated = scim_http.patch(f"/Users/{user_id}", json=update)
        assert updated.status_code == 200, updated.text
        wait_for_moodle(state, "00042", lambda user: user.email == "ana.new@contoso.test" and user.lastname == "Updated")
        person = load_person(engine, "00042")
        assert person is not None
        assert person.manager_employee_id == "00001"

        disable = {"schemas": [PATCH_OP], "Operations": [{"op": "Replace", "path": "active", "value": "False"}]}
        disabled = scim_http.patch(f"/Users/{user_id}", json=disable)
        assert disabled.status_code == 200
        wait_for_moodle(state, "00042", lambda user: user.suspended)

        deleted = scim_http.delete(f"/Users/{user_id}")
        assert deleted.status_code == 204
        assert scim_http.get(f"/Users/{user_id}").status_code == 404
        person = load_person(engine, "00042")
        assert person is not None
        assert person.status == PersonStatus.LEAVER

    def test_entra_delete_suspends_active_account(
        self, scim_http: httpx.Client, moodle: tuple[str, SandboxState]
    ) -> None:
        _, state = moodle
        created = scim_http.post("/Users", json=_entra_user(str(uuid.uuid4())))
        wait_for_moodle(state, "00042", lambda user: not user.suspended)

        deleted = scim_http.delete(f"/Users/{created.json()['id']}")

        assert deleted.status_code == 204
        wait_for_moodle(state, "00042", lambda user: user.suspended)


def _okta_user(user_name: str, *, given_name: str = "Ana") -> dict[str, Any]:
    """Return a user as Okta's SCIM 2.0 connector creates it, with employeeNumber mapped."""
    return {
        "schemas": [CORE_USER, ENTERPRISE_USER],
        "userName": user_name,
        "name": {"givenName": given_name, "familyName": "Test"},
        "emails": [{"primary": True, "value": user_name, "type": "work"}],
        "displayName": f"{given_name} Test",
        "locale": "en-US",
        "externalId": "00ujl29u0le5T6Aj10h7",
        "groups": [],
        "password": "1mz050nq",
        "active": True,
        ENTERPRISE_USER: {"employeeNumber": "00042"},
    }


def _entra_user(external_id: str, *, user_name: str = "Test_User_ab6490ee", employee_number: str = "00042") -> dict[str, Any]:
    """Return a user as Microsoft Entra ID's provisioning service creates it."""
    return {
        "schemas": [CORE_USER, ENTERPRISE_USER],
        "externalId": external_id,
        "userName": user_name,
        "active": True,
        "emails": [{"primary": True, "type": "work", "value": f"{user_name}@contoso.test"}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": "Ana Test", "familyName": "Test", "givenName": "Ana"},
        "roles": [],
        ENTERPRISE_USER: {"employeeNumber": employee_number, "department": "Sales"},
    }
