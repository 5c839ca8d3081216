"""run_sync and sync_person against the Moodle sandbox over real HTTP, on both databases."""

from __future__ import annotations

from datetime import date

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from assistant.hris.source import RejectedRow
from assistant.moodle.client import MoodleClient
from assistant.moodle.schemas import UserCreate
from assistant.people.mapping import MappingConfig, default_mapping
from assistant.people.models import Person, PersonStatus
from assistant.people.service import PersonNotFound
from assistant.provisioning.models import ProvisioningAccount, ProvisioningAudit, ProvisioningRun
from assistant.provisioning.schemas import PlanAction, RunReport
from assistant.provisioning.service import employee_id_for, moodle_user_id_for, run_sync, sync_person
from tests.provisioning.conftest import TOKEN, ListSource, Sandbox, person


def _mapping(**ownership: str) -> MappingConfig:
    return default_mapping().model_copy(update={"ownership": ownership})


async def _sync(engine: Engine, client: MoodleClient, source: ListSource, **options: object) -> RunReport:
    mapping = options.pop("mapping", default_mapping())
    dry_run = bool(options.pop("dry_run", False))
    force = bool(options.pop("force", False))
    return await run_sync(engine, client, source, mapping=mapping, dry_run=dry_run, force=force, **options)  # type: ignore[arg-type]


def _actions(report: RunReport) -> dict[str, str]:
    return {item.employee_id: item.action.value for item in report.items}


def _accounts(engine: Engine) -> dict[str, ProvisioningAccount]:
    with Session(engine) as session:
        return {account.employee_id: account for account in session.exec(select(ProvisioningAccount))}


async def _moodle_user(client: MoodleClient, employee_id: str):  # type: ignore[no-untyped-def]
    users = await client.get_users_by_field("idnumber", [employee_id])
    assert len(users) == 1, f"expected one Moodle user with idnumber {employee_id}, found {len(users)}"
    return users[0]


class TestCreateAndIdempotence:
    async def test_first_run_creates_active_people(self, engine: Engine, client: MoodleClient, sandbox: Sandbox) -> None:
        source = ListSource([person("00042", given_name="Ana"), person("00043"), person("00044", status=PersonStatus.LEAVER)])

        report = await _sync(engine, client, source)

        assert report.status == "succeeded"
        assert _actions(report) == {"00042": "create", "00043": "create", "00044": "skip"}
        user = await _moodle_user(client, "00042")
        assert user.username == "00042"
        assert user.firstname == "Ana"
        assert user.department == "Sales"
        assert user.custom_field("employeeid") == "00042"
        assert sandbox.users_with_idnumber("00044") == []
        assert set(_accounts(engine)) == {"00042", "00043"}
        assert _accounts(engine)["00042"].linked_by == "created"

    async def test_second_identical_run_writes_nothing(self, engine: Engine, client: MoodleClient, sandbox: Sandbox) -> None:
        source = ListSource([person(f"{index:05d}") for index in range(1, 26)])
        await _sync(engine, client, source)
        writes_after_first = sandbox.writes()

        report = await _sync(engine, client, source)

        assert writes_after_first > 0
        assert sandbox.writes() == writes_after_first
        assert report.counts["unchanged"] == 25
        assert report.counts["create"] == 0

    async def test_lookups_for_links(self, engine: Engine, client: MoodleClient) -> None:
        await _sync(engine, client, ListSource([person("00042")]))

        with Session(engine) as session:
            user_id = moodle_user_id_for(session, "00042")
            assert user_id is not None
            assert employee_id_for(session, user_id) == "00042"
            assert moodle_user_id_for(session, "99999") is None


class TestUpdates:
    async def test_changed_field_updated_and_audited(self, engine: Engine, client: MoodleClient) -> None:
        source = ListSource([person("00043", department="Sales")])
        await _sync(engine, client, source)

        source.records = [person("00043", department="Marketing")]
        report = await _sync(engine, client, source)

        assert _actions(report) == {"00043": "update"}
        assert [(c.field, c.before, c.after) for c in report.items[0].changes] == [("department", "Sales", "Marketing")]
        assert (await _moodle_user(client, "00043")).department == "Marketing"
        with Session(engine) as session:
            audit = session.exec(select(ProvisioningAudit).where(ProvisioningAudit.run_id == report.run_id)).all()
        assert [(row.action, row.field, row.before, row.after) for row in audit] == [("update", "department", "Sales", "Marketing")]
        assert audit[0].source == "test"
        assert audit[0].at is not None

    async def test_moodle_owned_field_not_overwritten(self, engine: Engine, client: MoodleClient, sandbox: Sandbox) -> None:
        mapping = _mapping(department="moodle")
        source = ListSource([person("00043", department="Sales")])
        await _sync(engine, client, source, mapping=mapping)
        user = await _moodle_user(client, "00043")
        sandbox.state.users[user.id].department = "Edited in Moodle"
        writes = sandbox.writes()

        source.records = [person("00043", department="Marketing")]
        report = await _sync(engine, client, source, mapping=mapping)

        assert _actions(report) == {"00043": "unchanged"}
        assert sandbox.writes() == writes
        assert (await _moodle_user(client, "00043")).department == "Edited in Moodle"

    async def test_hr_field_edited_in_moodle_restored(self, engine: Engine, client: MoodleClient, sandbox: Sandbox) -> None:
        source = ListSource([person("00043", department="Sales")])
        await _sync(engine, client, source)
        user = await _moodle_user(client, "00043")
        sandbox.state.users[user.id].department = "Edited in Moodle"

        report = await _sync(engine, client, source)

        assert _actions(report) == {"00043": "update"}
        assert (await _moodle_user(client, "00043")).department == "Sales"

    async def test_changed_email_updates_not_duplicates(self, engine: Engine, client: MoodleClient, sandbox: Sandbox) -> None:
        source = ListSource([person("00042", email="ana@example.invalid")])
        await _sync(engine, client, source)

        source.records = [person("00042", email="ana.new@example.invalid")]
        report = await _sync(engine, client, source)

        assert _actions(report) == {"00042": "update"}
        assert len(sandbox.users_with_idnumber("00042")) == 1
        assert (await _moodle_user(client, "00042")).email == "ana.new@example.invalid"

    async def test_same_name_stays_two_people(self, engine: Engine, client: MoodleClient, sandbox: Sandbox) -> None:
        twins = [person("00050", given_name="Sam", family_name="Lee"), person("00051", given_name="Sam", family_name="Lee")]

        report = await _sync(engine, client, ListSource(twins))

        assert _actions(report) == {"00050": "create", "00051": "create"}
        assert len(sandbox.users_with_idnumber("00050")) == 1
        assert len(sandbox.users_with_idnumber("00051")) == 1


class TestLeaversAndRehires:
    async def test_leaver_suspended_and_rehire_reactivated(self, engine: Engine, client: MoodleClient) -> None:
        staff = [person(f"{index:05d}") for index in range(1, 21)]
        source = ListSource(staff)
        await _sync(engine, client, source)

        source.records = [*staff[1:], person("00001", status=PersonStatus.LEAVER, termination_date=date(2026, 10, 31))]
        left = await _sync(engine, client, source)

        assert _actions(left)["00001"] == "suspend"
        assert left.items[-1].reason == "leaver since 2026-10-31"
        assert (await _moodle_user(client, "00001")).suspended is True
        assert _accounts(engine)["00001"].suspended is True

        source.records = staff
        back = await _sync(engine, client, source)

        assert _actions(back)["00001"] == "reactivate"
        assert (await _moodle_user(client, "00001")).suspended is False
        assert _accounts(engine)["00001"].suspended is False

    async def test_missing_from_complete_source_suspended(self, engine: Engine, client: MoodleClient) -> None:
        staff = [person(f"{index:05d}") for index in range(1, 21)]
        source = ListSource(staff)
        await _sync(engine, client, source)

        source.records = staff[1:]
        report = await _sync(engine, client, source)

        assert _actions(report)["00001"] == "suspend"
        assert "missing" in (report.items[-1].reason or "")
        assert (await _moodle_user(client, "00001")).suspended is True
        with Session(engine) as session:
            stored = session.exec(select(Person).where(Person.employee_id == "00001")).one()
        assert stored.status == PersonStatus.LEAVER

    async def test_missing_from_delta_source_untouched(self, engine: Engine, client: MoodleClient) -> None:
        staff = [person(f"{index:05d}") for index in range(1, 4)]
        await _sync(engine, client, ListSource(staff))

        report = await _sync(engine, client, ListSource(staff[1:], complete=False))

        assert "00001" not in _actions(report)
        assert (await _moodle_user(client, "00001")).suspended is False

    async def test_suspension_keeps_the_account(self, engine: Engine, client: MoodleClient, sandbox: Sandbox) -> None:
        staff = [person(f"{index:05d}") for index in range(1, 21)]
        source = ListSource(staff)
        await _sync(engine, client, source)
        user_id = (await _moodle_user(client, "00001")).id

        source.records = [*staff[1:], person("00001", status=PersonStatus.LEAVER)]
        await _sync(engine, client, source)

        assert sandbox.calls().get("core_user_delete_users", 0) == 0
        assert sandbox.state.users[user_id].deleted is False


class TestMatching:
    async def test_duplicate_idnumber_reported_and_left_alone(self, engine: Engine, client: MoodleClient, sandbox: Sandbox) -> None:
        await client.create_users(
            [
                UserCreate(username="dup.one", firstname="A", lastname="B", email="d1@example.invalid", idnumber="00042", create_password=True),
                UserCreate(username="dup.two", firstname="A", lastname="B", email="d2@example.invalid", idnumber="00042", create_password=True),
            ]
        )
        writes = sandbox.writes()

        report = await _sync(engine, client, ListSource([person("00042")]))

        assert _actions(report) == {"00042": "conflict"}
        assert "idnumber 00042 is on Moodle users" in (report.items[0].reason or "")
        assert sandbox.writes() == writes
        assert len(sandbox.users_with_idnumber("00042")) == 2
        assert _accounts(engine) == {}
        with Session(engine) as session:
            run = session.get(ProvisioningRun, report.run_id)
            assert run is not None
            assert [problem["employee_id"] for problem in run.problems] == ["00042"]

    async def test_hand_made_account_linked_by_email_once(self, engine: Engine, client: MoodleClient, sandbox: Sandbox) -> None:
        created = await client.create_users(
            [UserCreate(username="ana.manual", firstname="Ana", lastname="Manual", email="ana@example.invalid", create_password=True)]
        )
        user_id = created.succeeded[0].id
        source = ListSource([person("00042", email="ana@example.invalid")])

        first = await _sync(engine, client, source)
        second = await _sync(engine, client, source)

        assert first.items[0].link == "email"
        assert first.items[0].moodle_user_id == user_id
        assert _accounts(engine)["00042"].linked_by == "email"
        assert (await _moodle_user(client, "00042")).id == user_id
        assert sandbox.state.users[user_id].username == "ana.manual"
        assert _actions(second) == {"00042": "unchanged"}
        assert second.items[0].link is None

    async def test_email_of_another_employee_is_ambiguous(self, engine: Engine, client: MoodleClient) -> None:
        await client.create_users(
            [UserCreate(username="other", firstname="O", lastname="T", email="ana@example.invalid", idnumber="00099", create_password=True)]
        )

        report = await _sync(engine, client, ListSource([person("00042", email="ana@example.invalid")]))

        assert _actions(report) == {"00042": "ambiguous"}
        assert "00099" in (report.items[0].reason or "")

    async def test_unlinked_user_found_by_idnumber(self, engine: Engine, client: MoodleClient) -> None:
        created = await client.create_users(
            [UserCreate(username="pre", firstname="Ana", lastname="Test00042", email="p00042@example.invalid", idnumber="00042", create_password=True)]
        )

        report = await _sync(engine, client, ListSource([person("00042")]))

        assert report.items[0].link == "idnumber"
        assert report.items[0].moodle_user_id == created.succeeded[0].id
        assert _accounts(engine)["00042"].moodle_user_id == created.succeeded[0].id

    async def test_taken_username_gets_suffix(self, engine: Engine, client: MoodleClient) -> None:
        await client.create_users(
            [UserCreate(username="00042", firstname="Not", lastname="Ana", email="someone@example.invalid", idnumber="X1", create_password=True)]
        )

        report = await _sync(engine, client, ListSource([person("00042")]))

        assert _actions(report) == {"00042": "create"}
        assert (await _moodle_user(client, "00042")).username == "00042_2"

    async def test_username_from_email_is_moodle_safe(self, engine: Engine, client: MoodleClient) -> None:
        mapping = default_mapping()
        mapping.moodle.username_rule = "email_local_part"

        await _sync(engine, client, ListSource([person("00042", email="Ana+LMS@example.invalid")]), mapping=mapping)

        assert (await _moodle_user(client, "00042")).username == "analms"

    async def test_generated_password_passes_policy(self, engine: Engine, client: MoodleClient) -> None:
        mapping = default_mapping()
        mapping.moodle.password = "generate"

        report = await _sync(engine, client, ListSource([person("00042")]), mapping=mapping)

        assert report.items[0].outcome == "applied"
        assert (await _moodle_user(client, "00042")).auth == "manual"

    async def test_sso_account_created_without_password(self, engine: Engine, client: MoodleClient) -> None:
        mapping = default_mapping()
        mapping.moodle.auth = "oauth2"

        report = await _sync(engine, client, ListSource([person("00042")]), mapping=mapping)

        assert report.items[0].outcome == "applied"
        assert (await _moodle_user(client, "00042")).auth == "oauth2"

    async def test_person_without_email_reported_invalid(self, engine: Engine, client: MoodleClient, sandbox: Sandbox) -> None:
        report = await _sync(engine, client, ListSource([person("00042", email=None), person("00043")]))

        assert _actions(report) == {"00042": "invalid", "00043": "create"}
        assert sandbox.users_with_idnumber("00042") == []


class TestGuard:
    async def _twenty_linked(self, engine: Engine, client: MoodleClient) -> list:  # type: ignore[type-arg]
        staff = [person(f"{index:05d}") for index in range(1, 21)]
        await _sync(engine, client, ListSource(staff))
        return staff

    async def test_mass_suspension_rejected(self, engine: Engine, client: MoodleClient, sandbox: Sandbox) -> None:
        staff = await self._twenty_linked(engine, client)
        writes = sandbox.writes()
        leavers = [person(record.employee_id, status=PersonStatus.LEAVER) for record in staff[:3]]

        report = await _sync(engine, client, ListSource([*staff[3:], *leavers]))

        assert report.status == "refused"
        assert "suspend 3 of 20" in report.guard.reasons[0]
        assert sandbox.writes() == writes
        assert (await _moodle_user(client, "00001")).suspended is False
        with Session(engine) as session:
            run = session.get(ProvisioningRun, report.run_id)
            assert run is not None
            assert run.status == "refused"
            assert "suspend 3 of 20" in (run.error or "")
            # The people import was rolled back with the rejected run.
            assert session.exec(select(Person).where(Person.employee_id == "00001")).one().status == PersonStatus.ACTIVE

    async def test_force_applies_mass_suspension(self, engine: Engine, client: MoodleClient) -> None:
        staff = await self._twenty_linked(engine, client)
        leavers = [person(record.employee_id, status=PersonStatus.LEAVER) for record in staff[:3]]

        report = await _sync(engine, client, ListSource([*staff[3:], *leavers]), force=True)

        assert report.status == "succeeded"
        assert report.forced is True
        assert report.counts["suspend"] == 3
        assert (await _moodle_user(client, "00001")).suspended is True

    async def test_empty_source_rejected(self, engine: Engine, client: MoodleClient, sandbox: Sandbox) -> None:
        await self._twenty_linked(engine, client)
        writes = sandbox.writes()

        report = await _sync(engine, client, ListSource([]))

        assert report.status == "refused"
        assert any("no people" in reason for reason in report.guard.reasons)
        assert sandbox.writes() == writes

    async def test_truncated_source_rejected(self, engine: Engine, client: MoodleClient) -> None:
        staff = await self._twenty_linked(engine, client)

        report = await _sync(engine, client, ListSource(staff[:9]))

        assert report.status == "refused"
        assert any("9 people" in reason and "20 in the last complete run" in reason for reason in report.guard.reasons)

    async def test_dry_run_changes_nothing(self, engine: Engine, client: MoodleClient, sandbox: Sandbox) -> None:
        report = await _sync(engine, client, ListSource([person("00042")]), dry_run=True)

        assert report.status == "previewed"
        assert _actions(report) == {"00042": "create"}
        assert sandbox.writes() == 0
        with Session(engine) as session:
            assert session.exec(select(Person)).all() == []
            assert session.exec(select(ProvisioningAccount)).all() == []


class SimulatedKill(BaseException):
    """Stands for the process dying: nothing in the service catches it."""


class KillAfterCreates(httpx.AsyncBaseTransport):
    """Forwards requests to the sandbox and dies right after Moodle returned the Nth create call.

    Moodle has then committed that batch, but the service never receives the response. That is
    the worst moment for a crash, because the new users exist and no link records them yet.
    """

    def __init__(self, creates: int) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self._left = creates

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        if b"wsfunction=core_user_create_users" in request.content:
            self._left -= 1
            if self._left <= 0:
                await response.aclose()
                raise SimulatedKill
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


class TestCrashSafety:
    async def test_killed_mid_apply_rerun_converges(self, engine: Engine, client: MoodleClient, sandbox: Sandbox) -> None:
        staff = [person(f"{index:05d}") for index in range(1, 31)]
        source = ListSource(staff)

        async with httpx.AsyncClient(transport=KillAfterCreates(2)) as dying_http:
            dying = MoodleClient(sandbox.url, TOKEN, http_client=dying_http, batch_size=10, max_retries=0)
            with pytest.raises(SimulatedKill):
                await _sync(engine, dying, source)
        linked_before_rerun = set(_accounts(engine))
        created_before_rerun = sandbox.calls()["core_user_create_users"]

        rerun = await _sync(engine, client, source)
        again = await _sync(engine, client, source)

        assert len(linked_before_rerun) < 30
        assert created_before_rerun >= 2
        assert rerun.status == "succeeded"
        for record in staff:
            assert len(sandbox.users_with_idnumber(record.employee_id)) == 1
        accounts = _accounts(engine)
        assert set(accounts) == {record.employee_id for record in staff}
        assert len({account.moodle_user_id for account in accounts.values()}) == 30
        assert any(account.linked_by == "idnumber" for account in accounts.values())
        assert again.counts["unchanged"] == 30
        with Session(engine) as session:
            runs = session.exec(select(ProvisioningRun).order_by(col(ProvisioningRun.started_at))).all()
        assert runs[0].status == "failed"
        assert "SimulatedKill" in (runs[0].error or "")

    async def test_failed_batch_reported_then_completed(self, engine: Engine, sandbox: Sandbox) -> None:
        source = ListSource([person(f"{index:05d}") for index in range(1, 31)])
        sandbox.add_fault(mode="status", status=503, count=2, function="core_user_create_users")

        async with MoodleClient(sandbox.url, TOKEN, batch_size=10, max_retries=0) as client:
            first = await _sync(engine, client, source)
            second = await _sync(engine, client, source)

        assert first.status == "partial"
        assert first.counts["failed"] > 0
        assert all(item.error for item in first.failures)
        assert second.status == "succeeded"
        assert second.counts["create"] == first.counts["failed"]
        for index in range(1, 31):
            assert len(sandbox.users_with_idnumber(f"{index:05d}")) == 1

    async def test_rejected_user_fails_alone(self, engine: Engine, client: MoodleClient) -> None:
        source = ListSource([person("00042"), person("00043", email="ana@localhost")])

        report = await _sync(engine, client, source)
        outcomes = {item.employee_id: (item.outcome, item.error) for item in report.items}

        assert report.status == "partial"
        assert outcomes["00042"] == ("applied", None)
        assert outcomes["00043"][0] == "failed"
        assert "e-mail" in (outcomes["00043"][1] or "")
        assert set(_accounts(engine)) == {"00042"}


class TestSyncPerson:
    async def test_deactivated_person_suspended_at_once(self, engine: Engine, client: MoodleClient) -> None:
        await _sync(engine, client, ListSource([person("00042")]))
        with Session(engine) as session:
            stored = session.exec(select(Person).where(Person.employee_id == "00042")).one()
            stored.status = PersonStatus.LEAVER
            session.add(stored)
            session.commit()

        item = await sync_person(engine, client, "00042", mapping=default_mapping(), source="scim")

        assert item.action is PlanAction.SUSPEND
        assert item.outcome == "applied"
        assert (await _moodle_user(client, "00042")).suspended is True
        with Session(engine) as session:
            audit = session.exec(select(ProvisioningAudit).where(col(ProvisioningAudit.employee_id) == "00042")).all()
        assert ("suspend", "suspended", "0", "1", "scim") in [(a.action, a.field, a.before, a.after, a.source) for a in audit]

    async def test_unknown_person_raises(self, engine: Engine, client: MoodleClient) -> None:
        with pytest.raises(PersonNotFound, match="99999"):
            await sync_person(engine, client, "99999", mapping=default_mapping())


async def test_person_outside_batch_never_created(engine: Engine, client: MoodleClient, sandbox: Sandbox) -> None:
    # 00002 is an active person of this source that the complete export stops listing, while a
    # row without an employee ID keeps the import from marking anyone as a leaver.
    await _sync(engine, client, ListSource([person("00001")]))
    source = ListSource([person("00001")])
    source.rejected = [RejectedRow(row=3, employee_id=None, reason="EmpID is empty")]
    with Session(engine) as session:
        session.add(Person(employee_id="00002", given_name="Ben", family_name="Test", email="b@example.invalid", source="test"))
        session.commit()

    report = await _sync(engine, client, source)

    assert "00002" not in _actions(report)
    assert sandbox.users_with_idnumber("00002") == []
