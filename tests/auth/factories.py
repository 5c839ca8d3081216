"""A small organisation and one API token per role, for the auth and web tests.

Reporting lines (manager above report):

    1000 (admin)
    ├── 2000 (manager) ── 2001 (learner)
    │                 └── 2002 (manager) ── 2003 (learner)
    └── 3000 (manager) ── 3001 (learner)
    9000 (provisioning service account, not in HR data)
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Engine

from assistant.auth.models import Role
from assistant.auth.service import create_token
from assistant.db import session_scope
from assistant.people.schemas import PersonRecord
from assistant.people.service import upsert_person

ADMIN_ID = "1000"
MANAGER_ID = "2000"
LEARNER_ID = "2001"
SUB_MANAGER_ID = "2002"
INDIRECT_REPORT_ID = "2003"
OTHER_MANAGER_ID = "3000"
OTHER_LEARNER_ID = "3001"
PROVISIONING_ID = "9000"

PEOPLE = [
    # employee_id, given, family, manager, job title
    (ADMIN_ID, "Ada", "Admin", None, "Head of People"),
    (MANAGER_ID, "Mira", "Manager", ADMIN_ID, "Sales Manager"),
    (LEARNER_ID, "Leo", "Learner", MANAGER_ID, "Sales Representative"),
    (SUB_MANAGER_ID, "Sam", "Lead", MANAGER_ID, "Sales Team Lead"),
    (INDIRECT_REPORT_ID, "Ivy", "Indirect", SUB_MANAGER_ID, "Sales Representative"),
    (OTHER_MANAGER_ID, "Otto", "Other", ADMIN_ID, "Support Manager"),
    (OTHER_LEARNER_ID, "Olga", "Outside", OTHER_MANAGER_ID, "Support Agent"),
]

TOKEN_HOLDERS = {
    Role.ADMIN: ADMIN_ID,
    Role.PROVISIONING: PROVISIONING_ID,
    Role.MANAGER: MANAGER_ID,
    Role.LEARNER: LEARNER_ID,
}


@dataclass(frozen=True)
class Org:
    tokens: dict[Role, str]

    def headers(self, role: Role) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}


def seed_people(engine: Engine) -> None:
    with session_scope(engine) as session:
        for employee_id, given, family, manager, title in PEOPLE:
            record = PersonRecord(
                employee_id=employee_id,
                given_name=given,
                family_name=family,
                display_name=f"{given} {family}",
                email=f"{given.lower()}.{family.lower()}@example.com",
                manager_employee_id=manager,
                job_title=title,
                department="Sales" if employee_id.startswith("2") else "Support",
            )
            upsert_person(session, record, source="test")


def seed_org(engine: Engine) -> Org:
    """Create the people above and one token per role; return the raw tokens."""
    seed_people(engine)
    tokens = {}
    with session_scope(engine) as session:
        for role, employee_id in TOKEN_HOLDERS.items():
            _, raw = create_token(session, role=role, employee_id=employee_id, name=f"test {role.value}")
            tokens[role] = raw
    return Org(tokens)
