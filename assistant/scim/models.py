"""Tables of the SCIM service provider."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


# One SCIM User resource as an identity provider last wrote it, linked to the person
# record by employee ID. The person record stays when the resource is deleted.
class ScimUserRecord(SQLModel, table=True):
    __tablename__ = "scim_user"

    # The SCIM "id": a UUID the service assigns (RFC 7643 §3.1).
    id: str = Field(primary_key=True, max_length=36)
    employee_id: str = Field(max_length=64, unique=True, index=True, foreign_key="people_person.employee_id")
    user_name: str = Field(max_length=320)
    # userName in lowercase (NFC), because SCIM compares userName case-insensitively.
    user_name_key: str = Field(max_length=320, unique=True, index=True)
    external_id: str | None = Field(default=None, max_length=320, index=True)
    # Number of writes so far. meta.version and the ETag are W/"<version>".
    version: int = Field(default=1)
    # The resource without id, meta and password, as the SCIM JSON the IdP sent.
    resource: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
