"""The caller of a request: who they are, what role they act in and how they proved it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sqlmodel import Session

from assistant.auth.models import Role
from assistant.config import Settings
from assistant.people.service import reports_of

Credential = Literal["token", "session"]


@dataclass(frozen=True)
class Principal:
    employee_id: str
    role: Role
    credential: Credential
    token_id: int | None = None

    @property
    def is_scoped(self) -> bool:
        """Tell whether the caller sees only themselves and their reports."""
        return self.role in (Role.MANAGER, Role.LEARNER)


def web_role_for(session: Session, settings: Settings, employee_id: str) -> Role:
    """Pick the role a person signing in on the web gets.

    Employee IDs listed in `ASSISTANT_ADMIN_EMPLOYEE_IDS` are admins. People with at
    least one direct report in HR data are managers, and everyone else is a learner.
    """
    # NOTE: the role is stored in the session at sign-in, so a change in HR data takes
    # effect at the next sign-in (sessions last 8 hours).
    if employee_id in settings.admin_employee_ids:
        return Role.ADMIN
    if reports_of(session, employee_id, indirect=False):
        return Role.MANAGER
    return Role.LEARNER
