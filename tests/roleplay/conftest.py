"""Fixtures for the roleplay tests: the bundled scenarios, people in a reporting line with API tokens, the offline judge."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

import pytest
import structlog
from sqlalchemy.engine import Engine
from sqlmodel import Session

from assistant.auth.models import Role
from assistant.auth.service import create_token
from assistant.people.schemas import PersonRecord
from assistant.people.service import upsert_person
from assistant.roleplay.judge import OfflineJudge
from assistant.roleplay.scenarios import BUNDLED_SCENARIOS_DIR, Scenario, load_scenarios

# A sales rep, their manager and the manager's manager, plus someone outside that line.
PEOPLE = [
    PersonRecord(employee_id="E100", given_name="Ada", family_name="Director", department="Sales", job_title="Director of Sales"),
    PersonRecord(employee_id="E200", given_name="Ben", family_name="Manager", department="Sales", job_title="Sales Manager", manager_employee_id="E100"),
    PersonRecord(employee_id="E300", given_name="Cleo", family_name="Rep", department="Sales", job_title="Area Sales Manager", manager_employee_id="E200"),
    PersonRecord(employee_id="E400", given_name="Dev", family_name="Engineer", department="IT/IS", job_title="Network Engineer", manager_employee_id="E100"),
]


@pytest.fixture(scope="session")
def scenarios() -> Mapping[str, Scenario]:
    return load_scenarios(BUNDLED_SCENARIOS_DIR)


@pytest.fixture(scope="session")
def offline_judge() -> OfflineJudge:
    return OfflineJudge()


# Token holders by name: the learner E300, their direct and indirect managers, another
# learner, and an admin who is nobody's manager (to reach the service's own reviewer check).
TOKEN_HOLDERS = {
    "learner": (Role.LEARNER, "E300"),
    "manager": (Role.MANAGER, "E200"),
    "director": (Role.MANAGER, "E100"),
    "other_learner": (Role.LEARNER, "E400"),
    "admin": (Role.ADMIN, "E400"),
}


@pytest.fixture
def people_engine(engine: Engine) -> Iterator[Engine]:
    """The migrated engine with the people above stored."""
    with Session(engine) as session:
        for record in PEOPLE:
            upsert_person(session, record, source="test")
        session.commit()
    yield engine


@pytest.fixture
def tokens(people_engine: Engine) -> dict[str, dict[str, str]]:
    """Authorization headers for each token holder."""
    headers = {}
    with Session(people_engine) as session:
        for holder, (role, employee_id) in TOKEN_HOLDERS.items():
            _, raw = create_token(session, role=role, employee_id=employee_id, name=f"roleplay test {holder}")
            headers[holder] = {"Authorization": f"Bearer {raw}"}
        session.commit()
    return headers


@pytest.fixture
def fresh_logger(monkeypatch: pytest.MonkeyPatch) -> Callable[[object], None]:
    """Give a module a new, uncached logger so that `capture_logs` sees its events.

    `configure_logging` caches each logger on first use with the processor list of that
    moment, and every app start-up installs a new list. A module whose logger was cached
    by an earlier test would write past `capture_logs`.
    """

    def replace(module: object) -> None:
        monkeypatch.setattr(module, "log", structlog.get_logger())

    return replace
