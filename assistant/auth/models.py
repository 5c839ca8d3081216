"""Tables of the auth domain: API tokens, stored only as SHA-256 hashes."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class Role(StrEnum):
    """Caller role. Scoping by employee applies to managers and learners only."""

    ADMIN = "admin"
    PROVISIONING = "provisioning"
    MANAGER = "manager"
    LEARNER = "learner"


# One API token. The raw token is shown once at creation; only its SHA-256 hash is kept.
class ApiToken(SQLModel, table=True):
    __tablename__ = "auth_api_token"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(default="", max_length=200)
    role: str = Field(max_length=16)
    employee_id: str = Field(max_length=64, index=True)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    # The first characters of the raw token, so that an operator can tell tokens apart in lists.
    prefix: str = Field(max_length=16)
    created_at: datetime = Field(default_factory=utcnow)
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
