"""PersonStorage under concurrent writes: no lost update, and a stale write is detected."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from fastapi import FastAPI
from scim2_models import ResourceType
from sqlalchemy.engine import Engine
from sqlmodel import Session

from assistant.scim.schemas import UserResource
from assistant.scim.storage import ConcurrentWrite, PersonStorage
from tests.scim.conftest import SCIM_TOKEN, patch_body, user_body
from tests.support import LiveServer

USER_TYPE = ResourceType.from_resource(UserResource)


def test_stale_update_raises_concurrent_write(engine: Engine) -> None:
    # The handler passes the version it read; another request wrote in between.
    with Session(engine) as session:
        storage = PersonStorage(session)
        created = storage.create(USER_TYPE, UserResource.model_validate(user_body()))
        session.commit()

    with Session(engine) as first, Session(engine) as second:
        stale = PersonStorage(first).get(USER_TYPE, str(created.id))
        fresh = PersonStorage(second).get(USER_TYPE, str(created.id))
        fresh.title = "Second"
        PersonStorage(second).update(USER_TYPE, fresh)
        second.commit()

        stale.title = "First"
        with pytest.raises(ConcurrentWrite):
            PersonStorage(first).update(USER_TYPE, stale, expected_version=created.meta.version)


async def test_parallel_patches_lose_no_update(scim_app: FastAPI) -> None:
    writers = 8
    with LiveServer(scim_app) as server:
        headers = {"Authorization": f"Bearer {SCIM_TOKEN}"}
        async with httpx.AsyncClient(base_url=f"{server.url}/scim/v2", headers=headers, timeout=60) as client:
            created = (await client.post("/Users", json=user_body())).json()
            operations = [
                patch_body({"op": "add", "path": "phoneNumbers", "value": [{"type": "work", "value": f"+44 113 496 000{n}"}]})
                for n in range(writers)
            ]

            responses = await asyncio.gather(*(client.patch(f"/Users/{created['id']}", json=body) for body in operations))
            final = (await client.get(f"/Users/{created['id']}")).json()

    assert [response.status_code for response in responses] == [200] * writers
    assert len(final["phoneNumbers"]) == writers
    assert final["meta"]["version"] == f'W/"{writers + 1}"'
