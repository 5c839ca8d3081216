"""Path versions in the database and enrolment through the Moodle sandbox over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from assistant.moodle.client import MoodleClient
from assistant.moodle.sandbox.app import DEFAULT_TOKEN, create_sandbox_app
from assistant.paths import service
from assistant.paths.catalogue import CatalogueConfig, load_catalogue_config
from assistant.paths.models import EnrolmentState, ItemKind, LearningPath, PathCourse
from assistant.paths.sync import store_catalogue, sync_catalogue
from assistant.people.schemas import PersonRecord
from assistant.people.service import require_person, upsert_person
from tests.paths.conftest import COURSES, PEOPLE, make_path_engine, seed_people
from tests.support import LiveServer

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "catalogue.example.yaml"
AS_OF = date(2026, 12, 1)


@pytest.fixture
def stored(session: Session) -> Session:
    seed_people(session)
    store_catalogue(session, COURSES)
    session.commit()
    return session


class TestVersions:
    async def test_first_build_is_new_hire_version(self, stored, engine, tmp_path, encoder, config) -> None:
        _, paths = make_path_engine(tmp_path, engine, encoder, config)

        outcome = await service.build_path(stored, paths, "E0001", as_of=AS_OF)

        assert outcome.created
        assert (outcome.path.version, outcome.path.reason, outcome.path.is_current) == (1, "new_hire", True)
        items = service.path_items(stored, outcome.path.id)
        assert [item.shortname for item in items][:3] == ["COC-101", "ITSEC-101", "CRM-201"]
        assert items[0].due_date == date(2026, 12, 31)

    async def test_same_inputs_keep_current_version(self, stored, engine, tmp_path, encoder, config) -> None:
        _, paths = make_path_engine(tmp_path, engine, encoder, config)
        first = await service.build_path(stored, paths, "E0001", as_of=AS_OF)

        second = await service.build_path(stored, paths, "E0001", as_of=AS_OF)

        assert not second.created
        assert second.path.id == first.path.id
        assert len(service.list_versions(stored, "E0001")) == 1

    async def test_role_change_adds_version_and_keeps_old(self, stored, engine, tmp_path, encoder, config) -> None:
        _, paths = make_path_engine(tmp_path, engine, encoder, config)
        first = await service.build_path(stored, paths, "E0002", as_of=AS_OF)
        old_items = [item.shortname for item in service.path_items(stored, first.path.id)]
        moved = PEOPLE[2].model_copy(update={"job_title": "Database Administrator", "department": "IT/IS"})
        upsert_person(stored, moved, source="test")

        second = await service.build_path(stored, paths, "E0002", as_of=AS_OF)

        assert (second.path.version, second.path.reason) == (2, "role_change")
        versions = service.list_versions(stored, "E0002")
        assert [(path.version, path.is_current) for path in versions] == [(1, False), (2, True)]
        assert [item.shortname for item in service.path_items(stored, first.path.id)] == old_items
        new_items = [item.shortname for item in service.path_items(stored, second.path.id)]
        assert "CRM-201" not in new_items
        assert service.get_path(stored, first.path.id).job_title == "Area Sales Manager"

    async def test_leaver_gets_no_path(self, stored, engine, tmp_path, encoder, config) -> None:
        _, paths = make_path_engine(tmp_path, engine, encoder, config)
        upsert_person(stored, PEOPLE[3].model_copy(update={"status": "leaver"}), source="test")

        with pytest.raises(service.PersonNotActive, match="E0003"):
            await service.build_path(stored, paths, "E0003", as_of=AS_OF)

    async def test_certification_from_hr_excludes_course(self, stored, engine, tmp_path, encoder, config) -> None:
        _, paths = make_path_engine(tmp_path, engine, encoder, config)
        certified = PEOPLE[1].model_copy(
            update={"extra": {"certifications": [{"course": "ITSEC-101", "issued_on": "2026-06-01", "expires_on": "2027-06-01"}]}}
        )
        upsert_person(stored, certified, source="test")

        outcome = await service.build_path(stored, paths, "E0001", as_of=AS_OF)

        assert "ITSEC-101" not in [item.shortname for item in service.path_items(stored, outcome.path.id)]
        assert {"course": "ITSEC-101", "title": "IT Security Basics", "reason": "certified on 2026-06-01, valid until 2027-06-01"} in outcome.path.excluded

    async def test_invalid_certification_is_a_warning(self, stored, engine, tmp_path, encoder, config) -> None:
        _, paths = make_path_engine(tmp_path, engine, encoder, config)
        upsert_person(stored, PEOPLE[1].model_copy(update={"extra": {"certifications": [{"issued_on": "2026-01-01"}]}}), source="test")

        outcome = await service.build_path(stored, paths, "E0001", as_of=AS_OF)

        assert outcome.path.warnings == ["certification #1 of E0001 was ignored: it names neither 'course' nor 'skill'"]

    async def test_team_paths_cover_indirect_reports(self, stored, engine, tmp_path, encoder, config) -> None:
        _, paths = make_path_engine(tmp_path, engine, encoder, config)
        await service.build_path(stored, paths, "E0001", as_of=AS_OF)
        await service.build_path(stored, paths, "E0003", as_of=AS_OF)

        team = service.team_paths(stored, "M1")

        assert [(person.employee_id, path is not None) for person, path in team] == [
            ("E0001", True), ("E0002", False), ("E0003", True)
        ]


def test_catalogue_store_reports_changes(session: Session) -> None:
    first = store_catalogue(session, COURSES)
    assert len(first.added) == len(COURSES)

    renamed = [course if course.key != "NEG-201" else course.__class__(**{**course.__dict__, "title": "Negotiation II"}) for course in COURSES]
    second = store_catalogue(session, [course for course in renamed if course.key != "PY-101"])

    assert second.changed == ["NEG-201"]
    assert second.removed == ["PY-101"]
    assert second.unchanged == len(COURSES) - 2
    removed = session.get(PathCourse, 14)
    assert removed is not None and removed.active is False


# --- enrolment against the Moodle sandbox ---


@pytest.fixture
def sandbox() -> Iterator[LiveServer]:
    with LiveServer(create_sandbox_app()) as server:
        yield server


async def _client(server: LiveServer) -> MoodleClient:
    return MoodleClient(server.url, DEFAULT_TOKEN, max_retries=0)


def _sandbox_config() -> CatalogueConfig:
    config = load_catalogue_config(EXAMPLE)
    data = config.model_dump()
    data["mandatory"].append({"name": "privacy", "courses": ["PRIV-101"], "due_days": 14})
    data["courses"]["PRIV-101"] = {"skills": ["Data Privacy"], "level": "introductory"}
    return CatalogueConfig.model_validate(data)


async def test_enrolment_through_sandbox(session: Session, engine: Engine, tmp_path: Path, encoder, sandbox) -> None:
    # PRIV-101 exists in Moodle without a manual enrolment method.
    httpx.post(f"{sandbox.url}/_sandbox/courses", json={"courses": [
        {"shortname": "PRIV-101", "fullname": "Data Privacy", "manual_enrolment": False}
    ]}).raise_for_status()
    seed_people(session, accounts={"E0002": 5})
    _, paths = make_path_engine(tmp_path, engine, encoder, _sandbox_config())
    moodle = await _client(sandbox)

    report = await sync_catalogue(session, paths, moodle)
    assert sorted(report.added) == ["COC-101", "CRM-201", "ITSEC-101", "NEG-201", "PRIV-101", "SALES-301"]
    built = await service.build_path(session, paths, "E0002", moodle=moodle)
    now = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)

    first = {o.course: o for o in await service.enrol_stage(session, built.path, moodle, stage_size=3, now=now)}
    second = {o.course: o for o in await service.enrol_stage(session, built.path, moodle, stage_size=3, now=now)}
    await moodle.aclose()

    state = sandbox._server.config.app.state.sandbox
    assert first["COC-101"].state is EnrolmentState.ALREADY_ENROLLED
    assert first["ITSEC-101"].state is EnrolmentState.ENROLLED
    assert first["PRIV-101"].state is EnrolmentState.NO_MANUAL_ENROLMENT
    assert "manual enrolment" in (first["PRIV-101"].detail or "")
    itsec = service.path_items(session, built.path.id)[[i.shortname for i in service.path_items(session, built.path.id)].index("ITSEC-101")]
    enrolment = state.enrolments[(5, 3)]
    assert enrolment.timestart == int(now.timestamp())
    assert enrolment.timeend == int(datetime.combine(itsec.due_date, datetime.max.time(), tzinfo=UTC).replace(microsecond=0).timestamp())
    assert second["ITSEC-101"].state is EnrolmentState.ALREADY_ENROLLED
    assert all(outcome.state is not EnrolmentState.ENROLLED for outcome in second.values())


async def test_role_change_unenrols_nothing(session: Session, engine: Engine, tmp_path: Path, encoder, sandbox) -> None:
    seed_people(session, accounts={"E0002": 5})
    _, paths = make_path_engine(tmp_path, engine, encoder, load_catalogue_config(EXAMPLE))
    moodle = await _client(sandbox)
    await sync_catalogue(session, paths, moodle)
    first = await service.build_path(session, paths, "E0002", moodle=moodle)
    await service.enrol_stage(session, first.path, moodle, stage_size=3)
    state = sandbox._server.config.app.state.sandbox
    enrolled_before = {key for key in state.enrolments if key[0] == 5}

    person = require_person(session, "E0002")
    upsert_person(session, PersonRecord(**{**PEOPLE[2].model_dump(), "job_title": "Accountant", "department": "Finance"}), source="test")
    second = await service.build_path(session, paths, "E0002", moodle=moodle)
    await service.enrol_stage(session, second.path, moodle, stage_size=3)
    await moodle.aclose()

    assert person.department == "Finance"
    assert second.path.reason == "role_change"
    assert "CRM-201" not in [item.shortname for item in service.path_items(session, second.path.id)]
    assert enrolled_before <= {key for key in state.enrolments if key[0] == 5}
    assert (5, 4) in state.enrolments


async def test_weak_grade_in_moodle_adds_reinforcement(session: Session, engine: Engine, tmp_path: Path, encoder, sandbox) -> None:
    # Sandbox user 4 completed SALES-301 with 42 / 100; NEG-201 teaches the same skills.
    seed_people(session, accounts={"E0001": 4})
    _, paths = make_path_engine(tmp_path, engine, encoder, load_catalogue_config(EXAMPLE))
    moodle = await _client(sandbox)
    await sync_catalogue(session, paths, moodle)

    built = await service.build_path(session, paths, "E0001", moodle=moodle)
    await moodle.aclose()

    items = service.path_items(session, built.path.id)
    reinforcement = [item for item in items if item.kind == ItemKind.REINFORCEMENT]
    assert [item.reasons["after"] for item in reinforcement] == ["SALES-301"]
    assert reinforcement[0].reasons["grade"] == pytest.approx(42.0)
    assert "ITSEC-101" not in [item.shortname for item in items]
    assert any(entry["course"] == "ITSEC-101" for entry in built.path.excluded)


def test_path_owner_reads_employee(session: Session) -> None:
    path = LearningPath(employee_id="E1", version=1, reason="new_hire", role_source="none", as_of=AS_OF, inputs_hash="x")
    session.add(path)
    session.commit()

    assert service.path_owner(session, str(path.id)) == "E1"
    assert service.path_owner(session, "999999") is None
    assert service.path_owner(session, "abc") is None
    assert session.exec(select(LearningPath)).first() is not None
