"""API models of the auth domain."""

from __future__ import annotations

from pydantic import BaseModel

from assistant.auth.models import Role
from assistant.auth.principal import Credential


class PrincipalRead(BaseModel):
    employee_id: str
    role: Role
    credential: Credential
