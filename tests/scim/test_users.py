"""Create, read, replace and delete SCIM users, and what each does to the person record."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import httpx
from sqlalchemy.engine import Engine

from assistant.db import session_scope
from assistant.people.models import Person, PersonStatus
from assistant.people.schemas import PersonRecord
from assistant.people.service import get_person, upsert_person
from tests.scim.conftest import ENTERPRISE_USER, ERROR, patch_body, user_body


def load_person(engine: Engine, employee_id: str) -> Person | None:
    with session_scope(engine) as session:
        return get_person(session, employee_id)


class TestCreate:
    async def test_create_writes_person_record(self, scim: httpx.AsyncClient, engine: Engine) -> None:
        body = user_body(title="Nurse", addresses=[{"type": "work", "locality": "Leeds"}])
        body[ENTERPRISE_USER].update({"department": "Ward 3", "division": "Clinical"})

        response = await scim.post("/Users", json=body)

        assert response.status_code == 201, response.text
        assert response.headers["content-type"] == "application/scim+json"
        created = response.json()
        assert response.headers["location"] == f"http://testserver/scim/v2/Users/{created['id']}"
        assert created["meta"]["version"] == 'W/"1"'
        person = load_person(engine, "00042")
        assert person is not None
        assert (person.given_name, person.family_name, person.display_name) == ("Ana", "Test", "Ana Test")
        assert person.email == "ana@example.test"
        assert (person.job_title, person.department, person.division, person.location) == (
            "Nurse",
            "Ward 3",
            "Clinical",
            "Leeds",
        )
        assert person.status == PersonStatus.ACTIVE
        assert person.source == "scim"

    async def test_employee_number_keeps_leading_zeros(self, create_user: Callable[..., Any], engine: Engine) -> None:
        created = await create_user(employee_number="000107")

        assert created[ENTERPRISE_USER]["employeeNumber"] == "000107"
        assert load_person(engine, "000107") is not None

    async def test_missing_employee_number_is_invalid_value(self, scim: httpx.AsyncClient) -> None:
        response = await scim.post("/Users", json=user_body(employee_number=None))

        assert response.status_code == 400
        error = response.json()
        assert error["schemas"] == [ERROR]
        assert error["scimType"] == "invalidValue"
        assert f"{ENTERPRISE_USER}:employeeNumber is required" in error["detail"]

    async def test_blank_employee_number_is_invalid_value(self, scim: httpx.AsyncClient) -> None:
        response = await scim.post("/Users", json=user_body(employee_number="   "))

        assert response.status_code == 400
        assert "employeeNumber is required" in response.json()["detail"]

    async def test_numeric_employee_number_is_invalid_value(self, scim: httpx.AsyncClient) -> None:
        body = user_body()
        body[ENTERPRISE_USER]["employeeNumber"] = 42

        response = await scim.post("/Users", json=body)

        assert response.status_code == 400
        assert response.json()["scimType"] == "invalidValue"
        assert "must be a string, not int" in response.json()["detail"]

    async def test_invalid_work_email_names_attribute(self, scim: httpx.AsyncClient, engine: Engine) -> None:
        body = user_body(emails=[{"type": "work", "value": "not-an-address"}])

        response = await scim.post("/Users", json=body)

        assert response.status_code == 400
        assert response.json()["scimType"] == "invalidValue"
        assert response.json()["detail"].startswith('emails[type eq "work"].value is invalid')
        assert load_person(engine, "00042") is None

    async def test_reserved_email_domains_are_accepted(self, create_user: Callable[..., Any], engine: Engine) -> None:
        # Okta's own test users live under okta.local, which pydantic's e-mail check rejects.
        await create_user(user_name="test.user@okta.local")

        person = load_person(engine, "00042")
        assert person is not None
        assert person.email == "test.user@okta.local"

    async def test_too_long_title_names_attribute(self, scim: httpx.AsyncClient) -> None:
        response = await scim.post("/Users", json=user_body(title="x" * 201))

        assert response.status_code == 400
        assert response.json()["detail"] == "title is 201 characters long; the maximum is 200"

    async def test_links_person_created_by_hr(self, scim: httpx.AsyncClient, engine: Engine) -> None:
        with session_scope(engine) as session:
            record = PersonRecord(employee_id="00042", given_name="Ana", family_name="Test", location="York")
            upsert_person(session, record, source="csv")
        body = user_body()

        response = await scim.post("/Users", json=body)

        assert response.status_code == 201, response.text
        person = load_person(engine, "00042")
        assert person is not None
        assert person.location == "York"
        assert person.email == "ana@example.test"

    async def test_password_is_never_stored_or_returned(self, scim: httpx.AsyncClient, engine: Engine) -> None:
        response = await scim.post("/Users", json=user_body(password="1mz050nq"))

        assert response.status_code == 201
        assert "password" not in response.json()
        with engine.connect() as connection:
            stored = connection.exec_driver_sql("SELECT resource FROM scim_user").scalar_one()
        assert "1mz050nq" not in str(stored)

    async def test_read_only_attributes_in_body_are_ignored(self, scim: httpx.AsyncClient) -> None:
        # Entra sends meta, Okta sends groups; both are read-only (RFC 7643 §3.1, §4.1.2).
        body = user_body(meta={"resourceType": "User"}, groups=[], roles=[])

        response = await scim.post("/Users", json=body)

        assert response.status_code == 201, response.text
        assert "groups" not in response.json()


class TestUniqueness:
    async def test_case_variant_user_name_conflicts(self, scim: httpx.AsyncClient, create_user: Callable[..., Any]) -> None:
        existing = await create_user(user_name="ana@example.test")

        response = await scim.post("/Users", json=user_body(user_name="Ana@Example.test", employee_number="00043"))

        assert response.status_code == 409
        body = response.json()
        assert set(body) == {"schemas", "status", "scimType", "detail"}
        assert body["schemas"] == [ERROR]
        assert body["status"] == "409"
        assert body["scimType"] == "uniqueness"
        assert existing["id"] in body["detail"]

    async def test_unicode_user_name_compares_like_filter(
        self, scim: httpx.AsyncClient, create_user: Callable[..., Any]
    ) -> None:
        await create_user(user_name="Straße@example.test", employee_number="00042")

        upper = await scim.post("/Users", json=user_body(user_name="STRAßE@EXAMPLE.TEST", employee_number="00043"))
        spelled = await scim.post("/Users", json=user_body(user_name="strasse@example.test", employee_number="00044"))
        found = await scim.get("/Users", params={"filter": 'userName eq "STRAßE@example.test"'})

        assert upper.status_code == 409
        assert spelled.status_code == 201
        assert found.json()["totalResults"] == 1

    async def test_same_post_twice_conflicts(self, scim: httpx.AsyncClient) -> None:
        first = await scim.post("/Users", json=user_body())
        second = await scim.post("/Users", json=user_body())

        assert first.status_code == 201
        assert second.status_code == 409
        assert second.json()["scimType"] == "uniqueness"
        listing = await scim.get("/Users")
        assert listing.json()["totalResults"] == 1

    async def test_employee_number_linked_twice_conflicts(
        self, scim: httpx.AsyncClient, create_user: Callable[..., Any]
    ) -> None:
        await create_user(user_name="ana@example.test", employee_number="00042")

        response = await scim.post("/Users", json=user_body(user_name="other@example.test", employee_number="00042"))

        assert response.status_code == 409
        assert "employeeNumber '00042' is already linked" in response.json()["detail"]

    async def test_rename_to_taken_user_name_conflicts(
        self, scim: httpx.AsyncClient, create_user: Callable[..., Any]
    ) -> None:
        await create_user(user_name="ana@example.test", employee_number="00042")
        other = await create_user(user_name="ben@example.test", employee_number="00043")
        operation = {"op": "replace", "path": "userName", "value": "ANA@example.test"}

        response = await scim.patch(f"/Users/{other['id']}", json=patch_body(operation))

        assert response.status_code == 409
        assert response.json()["scimType"] == "uniqueness"


class TestRead:
    async def test_get_returns_created_user(self, scim: httpx.AsyncClient, create_user: Callable[..., Any]) -> None:
        created = await create_user()

        response = await scim.get(f"/Users/{created['id']}")

        assert response.status_code == 200
        assert response.json() == created
        assert response.headers["etag"] == 'W/"1"'

    async def test_unknown_id_is_404(self, scim: httpx.AsyncClient) -> None:
        response = await scim.get("/Users/does-not-exist")

        assert response.status_code == 404
        assert response.json() == {
            "schemas": [ERROR],
            "status": "404",
            "detail": "User 'does-not-exist' not found",
        }

    async def test_attributes_limits_returned_attributes(
        self, scim: httpx.AsyncClient, create_user: Callable[..., Any]
    ) -> None:
        created = await create_user()

        response = await scim.get(f"/Users/{created['id']}", params={"attributes": "userName"})

        body = response.json()
        assert body["userName"] == "ana@example.test"
        assert body["id"] == created["id"]
        assert "name" not in body
        assert "emails" not in body

    async def test_excluded_attributes_drops_them(self, scim: httpx.AsyncClient, create_user: Callable[..., Any]) -> None:
        created = await create_user()

        response = await scim.get(f"/Users/{created['id']}", params={"excludedAttributes": "emails,name"})

        body = response.json()
        assert "emails" not in body
        assert "name" not in body
        assert body["userName"] == "ana@example.test"

    async def test_if_none_match_current_version_is_304(
        self, scim: httpx.AsyncClient, create_user: Callable[..., Any]
    ) -> None:
        created = await create_user()

        response = await scim.get(f"/Users/{created['id']}", headers={"If-None-Match": 'W/"1"'})

        assert response.status_code == 304


class TestPaging:
    async def test_defaults_return_every_user(self, scim: httpx.AsyncClient, create_user: Callable[..., Any]) -> None:
        await create_user(user_name="a@example.test", employee_number="1")
        await create_user(user_name="b@example.test", employee_number="2")

        response = await scim.get("/Users")

        body = response.json()
        assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:ListResponse"]
        assert body["totalResults"] == 2
        assert body["startIndex"] == 1
        assert body["itemsPerPage"] == 2
        assert [user["userName"] for user in body["Resources"]] == ["a@example.test", "b@example.test"]

    async def test_page_past_the_end_is_empty(self, scim: httpx.AsyncClient, create_user: Callable[..., Any]) -> None:
        await create_user(user_name="a@example.test", employee_number="1")
        await create_user(user_name="b@example.test", employee_number="2")

        response = await scim.get("/Users", params={"startIndex": 101, "count": 100})

        body = response.json()
        assert response.status_code == 200
        assert body["totalResults"] == 2
        assert body["itemsPerPage"] == 0
        assert body["startIndex"] == 101
        assert body.get("Resources", []) == []

    async def test_count_limits_page(self, scim: httpx.AsyncClient, create_user: Callable[..., Any]) -> None:
        for number in range(3):
            await create_user(user_name=f"user{number}@example.test", employee_number=str(number))

        first = (await scim.get("/Users", params={"startIndex": 1, "count": 2})).json()
        second = (await scim.get("/Users", params={"startIndex": 3, "count": 2})).json()

        assert (first["totalResults"], first["itemsPerPage"]) == (3, 2)
        assert (second["totalResults"], second["itemsPerPage"]) == (3, 1)
        names = [user["userName"] for user in first["Resources"] + second["Resources"]]
        assert names == ["user0@example.test", "user1@example.test", "user2@example.test"]

    async def test_count_above_maximum_is_capped(self, scim: httpx.AsyncClient, create_user: Callable[..., Any]) -> None:
        await create_user()

        response = await scim.get("/Users", params={"count": 100000})

        assert response.status_code == 200
        assert response.json()["itemsPerPage"] == 1

    async def test_count_zero_returns_only_total(self, scim: httpx.AsyncClient, create_user: Callable[..., Any]) -> None:
        await create_user()

        body = (await scim.get("/Users", params={"count": 0})).json()

        assert body["totalResults"] == 1
        assert body["itemsPerPage"] == 0

    async def test_filtered_page_counts_matches(self, scim: httpx.AsyncClient, create_user: Callable[..., Any]) -> None:
        for number in range(3):
            await create_user(user_name=f"user{number}@example.test", employee_number=str(number))

        params = {"filter": 'userName sw "user"', "startIndex": 2, "count": 1}
        body = (await scim.get("/Users", params=params)).json()

        assert body["totalResults"] == 3
        assert body["itemsPerPage"] == 1
        assert body["Resources"][0]["userName"] == "user1@example.test"


class TestReplace:
    async def test_put_replaces_and_ignores_read_only(
        self, scim: httpx.AsyncClient, create_user: Callable[..., Any], engine: Engine
    ) -> None:
        created = await create_user()
        replacement = user_body(title="Charge nurse", displayName="Ana T.")
        replacement["name"] = {"givenName": "Ana", "familyName": "Test-Smith"}
        replacement["id"] = created["id"]
        replacement["meta"] = {"resourceType": "User", "created": "2001-01-01T00:00:00Z", "version": 'W/"99"'}

        response = await scim.put(f"/Users/{created['id']}", json=replacement)

        assert response.status_code == 200, response.text
        body = response.json()
        assert body["title"] == "Charge nurse"
        assert body["name"] == {"givenName": "Ana", "familyName": "Test-Smith"}
        assert body["meta"]["created"] == created["meta"]["created"]
        assert body["meta"]["version"] == 'W/"2"'
        person = load_person(engine, "00042")
        assert person is not None
        assert (person.family_name, person.job_title, person.display_name) == ("Test-Smith", "Charge nurse", "Ana T.")

    async def test_put_drops_attributes_left_out(
        self, scim: httpx.AsyncClient, create_user: Callable[..., Any], engine: Engine
    ) -> None:
        created = await create_user(title="Nurse")

        response = await scim.put(f"/Users/{created['id']}", json=user_body())

        assert response.status_code == 200
        assert "title" not in response.json()
        person = load_person(engine, "00042")
        assert person is not None
        assert person.job_title is None

    async def test_active_set_by_idp_is_echoed(self, scim: httpx.AsyncClient, create_user: Callable[..., Any]) -> None:
        created = await create_user()

        fetched = (await scim.get(f"/Users/{created['id']}")).json()
        replaced = await scim.put(f"/Users/{created['id']}", json=user_body(active=True))

        assert created["active"] is True
        assert fetched["active"] is True
        assert replaced.json()["active"] is True

    async def test_put_unknown_id_is_404(self, scim: httpx.AsyncClient) -> None:
        response = await scim.put("/Users/missing", json=user_body())

        assert response.status_code == 404
        assert response.json()["schemas"] == [ERROR]

    async def test_stale_if_match_is_412(self, scim: httpx.AsyncClient, create_user: Callable[..., Any]) -> None:
        created = await create_user()
        await scim.put(f"/Users/{created['id']}", json=user_body(title="Nurse"))

        response = await scim.put(f"/Users/{created['id']}", json=user_body(), headers={"If-Match": 'W/"1"'})

        assert response.status_code == 412
        assert response.json()["status"] == "412"

    async def test_new_employee_number_relinks_person(
        self, scim: httpx.AsyncClient, create_user: Callable[..., Any], engine: Engine
    ) -> None:
        created = await create_user(employee_number="00042")

        response = await scim.put(f"/Users/{created['id']}", json=user_body(employee_number="00077"))

        assert response.status_code == 200
        relinked = load_person(engine, "00077")
        previous = load_person(engine, "00042")
        assert relinked is not None
        assert relinked.email == "ana@example.test"
        assert previous is not None


class TestDelete:
    async def test_delete_makes_leaver_and_hides_user(
        self, scim: httpx.AsyncClient, create_user: Callable[..., Any], engine: Engine
    ) -> None:
        created = await create_user()

        deleted = await scim.delete(f"/Users/{created['id']}")
        fetched = await scim.get(f"/Users/{created['id']}")

        assert deleted.status_code == 204
        assert fetched.status_code == 404
        person = load_person(engine, "00042")
        assert person is not None
        assert person.status == PersonStatus.LEAVER
        assert person.termination_date == datetime.now(UTC).date()

    async def test_delete_keeps_termination_date_from_hr(
        self, scim: httpx.AsyncClient, create_user: Callable[..., Any], engine: Engine
    ) -> None:
        created = await create_user()
        with session_scope(engine) as session:
            record = PersonRecord(employee_id="00042", termination_date=date(2026, 1, 31))
            upsert_person(session, record, source="csv", fields={"termination_date"})

        await scim.delete(f"/Users/{created['id']}")

        person = load_person(engine, "00042")
        assert person is not None
        assert person.termination_date == date(2026, 1, 31)

    async def test_delete_unknown_id_is_404(self, scim: httpx.AsyncClient) -> None:
        response = await scim.delete("/Users/missing")

        assert response.status_code == 404

    async def test_create_after_delete_rehires(
        self, scim: httpx.AsyncClient, create_user: Callable[..., Any], engine: Engine
    ) -> None:
        created = await create_user()
        await scim.delete(f"/Users/{created['id']}")

        again = await scim.post("/Users", json=user_body())

        assert again.status_code == 201
        assert again.json()["id"] != created["id"]
        person = load_person(engine, "00042")
        assert person is not None
        assert person.status == PersonStatus.ACTIVE
        assert person.termination_date is None


class TestSearchWithBody:
    async def test_post_search_filters(self, scim: httpx.AsyncClient, create_user: Callable[..., Any]) -> None:
        await create_user(user_name="a@example.test", employee_number="1")
        await create_user(user_name="b@example.test", employee_number="2")
        request = {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
            "filter": 'userName eq "b@example.test"',
            "attributes": ["userName"],
        }

        response = await scim.post("/Users/.search", json=request)

        body = response.json()
        assert response.status_code == 200
        assert body["totalResults"] == 1
        assert body["Resources"][0]["userName"] == "b@example.test"
        assert "emails" not in body["Resources"][0]
