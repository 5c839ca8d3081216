"""Fixtures of the path tests: a small catalogue, its index, and the encoder loaded once."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from assistant.embeddings import Encoder, get_encoder
from assistant.paths.builder import IndexSearch
from assistant.paths.catalogue import CatalogueConfig, CatalogueCourse, CatalogueSnapshot, Level
from assistant.paths.index import CourseIndex, MemoryEmbeddingStore, QueryEncoder

INTRO, MID, ADV = Level.INTRODUCTORY, Level.INTERMEDIATE, Level.ADVANCED

# The five Moodle sandbox courses (same ids) and a few more, so that recommendations have a choice.
COURSES = [
    CatalogueCourse(2, "COC-101", "Code of Conduct", skills=("Code of Conduct", "Business Ethics"), level=INTRO, validity_months=12),
    CatalogueCourse(3, "ITSEC-101", "IT Security Basics", skills=("Information Security", "Phishing Awareness"), level=INTRO, validity_months=12),
    CatalogueCourse(4, "CRM-201", "CRM Fundamentals", skills=("Customer Relationship Management", "Sales Pipeline"), level=MID),
    CatalogueCourse(5, "NEG-201", "Negotiation Skills", skills=("Negotiation", "Persuasion"), level=MID),
    CatalogueCourse(6, "SALES-301", "Sales Playbook", skills=("Sales", "Negotiation", "Account Management"), level=ADV, prerequisites=("CRM-201", "NEG-201")),
    CatalogueCourse(10, "EXCEL-101", "Spreadsheet Basics", skills=("Microsoft Excel", "Spreadsheet Software"), level=INTRO),
    CatalogueCourse(11, "EXCEL-201", "Advanced Excel Formulas", skills=("Microsoft Excel", "Excel Formulas", "Data Analysis"), level=MID),
    CatalogueCourse(12, "SQL-101", "SQL for Beginners", skills=("SQL", "Relational Databases"), level=INTRO),
    CatalogueCourse(13, "SQL-301", "Database Performance Tuning", skills=("SQL", "Database Administration", "Performance Tuning"), level=ADV, prerequisites=("SQL-101",)),
    CatalogueCourse(14, "PY-101", "Python Programming Basics", skills=("Python Programming",), level=INTRO),
    CatalogueCourse(15, "NEG-101", "Negotiation Fundamentals", skills=("Negotiation", "Active Listening"), level=INTRO),
    CatalogueCourse(16, "PRES-101", "Presentation Skills", skills=("Public Speaking", "Persuasion"), level=INTRO),
    CatalogueCourse(17, "SERV-101", "Customer Service Essentials", skills=("Customer Service", "Communication"), level=INTRO),
    CatalogueCourse(18, "LEAD-201", "Leading Teams", skills=("Leadership", "Coaching"), level=MID),
    CatalogueCourse(19, "NETSEC-201", "Network Security", skills=("Network Security", "Firewalls", "Information Security"), level=MID, prerequisites=("ITSEC-101",)),
]

CONFIG = {
    "mandatory": [
        {"name": "company onboarding", "courses": ["COC-101", "ITSEC-101"], "due_days": 30},
        {"name": "sales enablement", "department": "Sales*", "courses": ["CRM-201"], "due_days": 60},
    ],
    "roles": {
        "Area Sales Manager": {
            "aliases": ["Account Executive"],
            "skills": {"Negotiation": 1.0, "Sales": 1.0, "Customer Relationship Management": 0.8, "Account Management": 0.6},
        },
        "Database Administrator": {"aliases": ["DBA"], "skills": {"SQL": 1.0, "Database Administration": 0.9, "Microsoft Excel": 0.4}},
    },
}


class CountingEncoder:
    """Wraps the real encoder and counts the texts it is asked to embed."""

    def __init__(self, inner: Encoder) -> None:
        self.inner = inner
        self.name = inner.name
        self.dimension = inner.dimension
        self.texts = 0
        self.calls = 0

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += 1
        self.texts += len(texts)
        return self.inner.encode(texts)


class MemoEncoder:
    """The real encoder with a cache of every text it embedded, so tests pay for each text once."""

    def __init__(self, inner: Encoder) -> None:
        self.inner = inner
        self.name = inner.name
        self.dimension = inner.dimension
        self._vectors: dict[str, np.ndarray] = {}

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        missing = [text for text in dict.fromkeys(texts) if text not in self._vectors]
        if missing:
            self._vectors.update(zip(missing, self.inner.encode(missing), strict=True))
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.vstack([self._vectors[text] for text in texts])


@pytest.fixture(scope="session")
def encoder() -> Encoder:
    return MemoEncoder(get_encoder())


@pytest.fixture
def counting_encoder(encoder: Encoder) -> CountingEncoder:
    return CountingEncoder(encoder)


@pytest.fixture(scope="session")
def catalogue() -> CatalogueSnapshot:
    return CatalogueSnapshot(list(COURSES))


@pytest.fixture(scope="session")
def config() -> CatalogueConfig:
    return CatalogueConfig.model_validate(CONFIG)


@pytest.fixture(scope="session")
def queries(encoder: Encoder) -> QueryEncoder:
    return QueryEncoder(encoder)


@pytest.fixture(scope="session")
def search(encoder: Encoder, queries: QueryEncoder, catalogue: CatalogueSnapshot) -> IndexSearch:
    index = CourseIndex(encoder, MemoryEmbeddingStore())
    index.update(catalogue.courses)
    return IndexSearch(index, queries)


# --- database fixtures ---

from datetime import date  # noqa: E402
from pathlib import Path  # noqa: E402

from sqlalchemy.engine import Engine  # noqa: E402
from sqlmodel import Session  # noqa: E402

from assistant.config import Settings  # noqa: E402
from assistant.paths.engine import PathEngine  # noqa: E402
from assistant.people.schemas import PersonRecord  # noqa: E402
from assistant.people.service import upsert_person  # noqa: E402
from assistant.provisioning.models import LinkedBy, ProvisioningAccount  # noqa: E402

# A manager (M1) with two sales reports, one of whom (E0001) manages a DBA (E0003).
PEOPLE = [
    PersonRecord(employee_id="M1", given_name="Mara", family_name="Lead", job_title="Director of Sales", department="Sales"),
    PersonRecord(
        employee_id="E0001", given_name="Alex", family_name="Example", job_title="Area Sales Manager",
        department="Sales", manager_employee_id="M1", hire_date=date(2026, 12, 1),
    ),
    PersonRecord(
        employee_id="E0002", given_name="Sam", family_name="Sample", job_title="Area Sales Manager",
        department="Sales", manager_employee_id="M1", hire_date=date(2026, 12, 1),
    ),
    PersonRecord(
        employee_id="E0003", given_name="Jo", family_name="Placeholder", job_title="Sr. DBA",
        department="IT/IS", manager_employee_id="E0001", hire_date=date(2026, 12, 1),
    ),
]


def seed_people(session: Session, *, accounts: dict[str, int] | None = None) -> None:
    """Add the people and, for the given employee IDs, links to Moodle user ids."""
    for record in PEOPLE:
        upsert_person(session, record, source="test")
    for employee_id, user_id in (accounts or {}).items():
        session.add(
            ProvisioningAccount(
                employee_id=employee_id, moodle_user_id=user_id, username=employee_id.lower(), linked_by=LinkedBy.IDNUMBER
            )
        )
    session.commit()


def make_path_engine(
    tmp_path: Path, engine: Engine, encoder: Encoder, config: CatalogueConfig, **settings: object
) -> tuple[Settings, PathEngine]:
    app_settings = Settings(data_dir=tmp_path / "data", **settings)  # type: ignore[arg-type]
    return app_settings, PathEngine.create(app_settings, encoder=encoder, config=config)
