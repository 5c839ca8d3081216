"""The Moodle client against the sandbox, over real HTTP on loopback."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import pytest
import structlog
from structlog.testing import capture_logs

from assistant.moodle import client as client_module
from assistant.moodle.client import REQUIRED_FUNCTIONS, MoodleClient
from assistant.moodle.exceptions import MoodleAccessDenied, MoodleNotFound, MoodleRejected, MoodleUnavailable
from assistant.moodle.sandbox import DEFAULT_TOKEN, Fault, SandboxState, create_sandbox_app
from assistant.moodle.schemas import CohortCreate, CohortMember, Enrolment, Unenrolment, UserCreate, UserUpdate
from tests.support import LiveServer

LEARNER_TOKEN = "hrlab00000000000000000learner001"
FIXTURE_USERS = 6


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    with LiveServer(create_sandbox_app()) as live:
        yield live


@pytest.fixture
def sandbox(server: LiveServer) -> SandboxState:
    state: SandboxState = server._server.config.app.state.sandbox  # type: ignore[attr-defined]
    state.reset()
    state.latency = 0.0
    state.debug = False
    return state


@pytest.fixture
async def moodle(server: LiveServer, sandbox: SandboxState) -> AsyncIterator[MoodleClient]:
    async with MoodleClient(server.url, DEFAULT_TOKEN, backoff_base=0.01, timeout=5.0) as client:
        yield client


def new_user(number: int, **changes: str) -> UserCreate:
    fields = {
        "username": f"lab.bulk{number}",
        "firstname": "Bulk",
        "lastname": f"User{number}",
        "email": f"bulk{number}@example.invalid",
        "password": "Newhire#2024",
        "idnumber": f"EMP-9{number:03d}",
        "customfields": {"employeeid": f"E9{number:03d}"},
    }
    fields.update(changes)
    return UserCreate(**fields)  # type: ignore[arg-type]


class TestSite:
    async def test_site_info_names_site_and_release(self, moodle: MoodleClient) -> None:
        info = await moodle.get_site_info()

        assert info.sitename == "HR Integration Lab"
        assert info.release == "5.1+ (Build: 20251017)"
        assert info.version == "2025100600.02"

    async def test_missing_functions_lists_only_unavailable(self, moodle: MoodleClient) -> None:
        assert await moodle.missing_functions() == []
        assert await moodle.missing_functions([*REQUIRED_FUNCTIONS, "core_course_delete_courses"]) == [
            "core_course_delete_courses"
        ]

    async def test_invalid_token_raises_access_denied(self, server: LiveServer, sandbox: SandboxState) -> None:
        async with MoodleClient(server.url, "0123456789abcdef0123456789abcdef") as client:
            with pytest.raises(MoodleAccessDenied, match="ASSISTANT_MOODLE_TOKEN"):
                await client.get_site_info()

    async def test_function_outside_service_names_it(self, moodle: MoodleClient) -> None:
        with pytest.raises(MoodleAccessDenied, match="core_course_delete_courses"):
            await moodle.call("core_course_delete_courses", {"courseids": [4]})


class TestUsers:
    async def test_create_normalises_username(self, moodle: MoodleClient, sandbox: SandboxState) -> None:
        result = await moodle.create_users([new_user(1, username="  Ana.Test ")])

        assert [user.username for user in result.succeeded] == ["ana.test"]
        found = await moodle.get_users_by_field("username", ["ANA.TEST"])
        assert [user.id for user in found] == [result.succeeded[0].id]

    async def test_custom_field_reads_back(self, moodle: MoodleClient) -> None:
        created = (await moodle.create_users([new_user(2)])).succeeded[0]

        user = (await moodle.get_users_by_field("id", [created.id]))[0]

        assert user.custom_field("employeeid") == "E9002"
        assert user.idnumber == "EMP-9002"

    async def test_suspend_reads_back_suspended(self, moodle: MoodleClient) -> None:
        await moodle.suspend_user(6)
        assert (await moodle.get_users_by_field("id", [6]))[0].suspended is True

        await moodle.unsuspend_user(6)
        assert (await moodle.get_users_by_field("id", [6]))[0].suspended is False

    async def test_suspended_user_still_listed_in_course(self, moodle: MoodleClient) -> None:
        await moodle.suspend_user(6)

        participants = await moodle.get_enrolled_users(5)

        assert [user.id for user in participants] == [6]

    async def test_update_unknown_id_fails_that_item(self, moodle: MoodleClient) -> None:
        result = await moodle.update_users([UserUpdate(id=5, lastname="Renamed"), UserUpdate(id=999999, lastname="Ghost")])

        assert [user.id for user in result.succeeded] == [5]
        assert [(failure.index, failure.error.errorcode) for failure in result.failed] == [(1, "invaliduserid")]
        assert (await moodle.get_users_by_field("id", [5]))[0].lastname == "Renamed"

    async def test_suspend_unknown_user_raises(self, moodle: MoodleClient) -> None:
        with pytest.raises(MoodleNotFound):
            await moodle.suspend_user(999999)

    async def test_get_users_by_criteria(self, moodle: MoodleClient) -> None:
        users = await moodle.get_users({"idnumber": "EMP-0002"})

        assert [user.username for user in users] == ["lab.learner2"]

    async def test_delete_then_lookup_finds_nothing(self, moodle: MoodleClient) -> None:
        created = (await moodle.create_users([new_user(3)])).succeeded[0]

        await moodle.delete_users([created.id])

        assert await moodle.get_users_by_field("id", [created.id]) == []
        with pytest.raises(MoodleNotFound):
            await moodle.delete_users([created.id])


class TestBatches:
    async def test_hundred_users_three_invalid(self, moodle: MoodleClient, sandbox: SandboxState) -> None:
        users = [new_user(number) for number in range(100)]
        users[10] = new_user(10, email="not-an-email")
        users[50] = new_user(50, username="ana+lms@example.test")
        users[90] = new_user(90, password="password1")

        result = await moodle.create_users(users)

        assert len(result.succeeded) == 97
        assert [user.username for user in result.succeeded] == [u.username for i, u in enumerate(users) if i not in (10, 50, 90)]
        assert [failure.index for failure in result.failed] == [10, 50, 90]
        reasons = {failure.index: failure.reason for failure in result.failed}
        assert "e-mail" in reasons[10]
        assert "'+'" in reasons[50]
        assert "at least 1 upper case letter" in reasons[90]
        assert "<div>" not in reasons[90]
        assert sandbox.stats()["users"] == FIXTURE_USERS + 97

    async def test_duplicate_username_reason_names_user(self, moodle: MoodleClient) -> None:
        result = await moodle.create_users([new_user(4, username="lab.learner1")])

        assert result.succeeded == []
        assert result.failed[0].reason == "username lab.learner1 already exists in Moodle (user id 4)"

    async def test_rejection_is_not_retried(self, moodle: MoodleClient, sandbox: SandboxState) -> None:
        await moodle.create_users([new_user(5, email="not-an-email")])

        assert sandbox.stats()["calls"]["core_user_create_users"] == 1


class TestCourses:
    async def test_get_courses_leaves_out_front_page(self, moodle: MoodleClient) -> None:
        courses = await moodle.get_courses()

        assert sorted(course.id for course in courses) == [2, 3, 4, 5, 6]

    async def test_get_courses_by_ids_and_field(self, moodle: MoodleClient) -> None:
        assert [course.shortname for course in await moodle.get_courses([2, 3])] == ["COC-101", "ITSEC-101"]
        by_field = await moodle.get_courses_by_field("idnumber", "COC-101")
        assert [course.id for course in by_field] == [2]
        assert by_field[0].enrollmentmethods == ["manual"]

    async def test_categories_and_contents(self, moodle: MoodleClient) -> None:
        categories = await moodle.get_categories()
        sections = await moodle.get_course_contents(3)

        assert [category.idnumber for category in categories] == [None, "CAT-COMP", "CAT-SALES"]
        assert [module.id for section in sections for module in section.modules] == [7, 8]

    async def test_search_courses(self, moodle: MoodleClient) -> None:
        assert [course.id for course in await moodle.search_courses("security")] == [3]

    async def test_manual_enrolment_detected(self, moodle: MoodleClient, sandbox: SandboxState) -> None:
        [course_id] = sandbox.add_courses([{"shortname": "NOMAN-1", "fullname": "No manual", "manual_enrolment": False}])

        assert await moodle.has_manual_enrolment(2) is True
        assert await moodle.has_manual_enrolment(course_id) is False
        assert await moodle.get_enrolment_methods(2) == []


class TestEnrolment:
    async def test_missing_manual_enrolment_fails_one_item(self, moodle: MoodleClient, sandbox: SandboxState) -> None:
        [course_id] = sandbox.add_courses([{"shortname": "NOMAN-2", "fullname": "No manual", "manual_enrolment": False}])
        enrolments = [Enrolment(user_id=6, course_id=3), Enrolment(user_id=6, course_id=course_id)]

        result = await moodle.enrol_users(enrolments)

        assert result.succeeded == [enrolments[0]]
        assert result.failed[0].index == 1
        assert f"manual enrolment missing in course {course_id}" in result.failed[0].reason.lower()
        assert 6 in [user.id for user in await moodle.get_enrolled_users(3)]

    async def test_enrol_twice_and_unenrol(self, moodle: MoodleClient) -> None:
        enrolment = Enrolment(user_id=6, course_id=2)

        assert (await moodle.enrol_users([enrolment])).ok
        assert (await moodle.enrol_users([enrolment])).ok
        assert 2 in [course.id for course in await moodle.get_user_courses(6)]

        assert (await moodle.unenrol_users([Unenrolment(user_id=6, course_id=2)])).ok
        assert 2 not in [course.id for course in await moodle.get_user_courses(6)]

    async def test_unknown_user_fails_alone(self, moodle: MoodleClient) -> None:
        result = await moodle.enrol_users([Enrolment(user_id=999999, course_id=3), Enrolment(user_id=5, course_id=3)])

        assert [item.user_id for item in result.succeeded] == [5]
        assert isinstance(result.failed[0].error, MoodleNotFound)

    async def test_user_courses_report_completion(self, moodle: MoodleClient) -> None:
        courses = {course.id: course for course in await moodle.get_user_courses(4)}

        assert list(courses) == [3, 2, 6]
        assert courses[3].completed is True
        assert courses[3].progress == 100
        assert courses[2].completed is False


class TestCompletion:
    async def test_completed_course_time_is_latest_criterion(self, moodle: MoodleClient) -> None:
        completion = await moodle.get_course_completion(3, 4)

        assert completion.status == "complete"
        assert completion.time_completed == datetime.fromtimestamp(1796414025, tz=UTC)

    async def test_not_enrolled_and_not_configured(self, moodle: MoodleClient, sandbox: SandboxState) -> None:
        [bare] = sandbox.add_courses([{"shortname": "BARE-1", "fullname": "No criteria"}])
        await moodle.enrol_users([Enrolment(user_id=5, course_id=bare)])

        assert (await moodle.get_course_completion(3, 5)).status == "not_enrolled"
        assert (await moodle.get_course_completion(bare, 5)).status == "not_configured"

    async def test_activity_completion_completes_course_at_once(self, moodle: MoodleClient, sandbox: SandboxState) -> None:
        before = await moodle.get_activities_completion(2, 5)
        sandbox.set_activity_completion(5, 6, 1)

        assert [(a.cmid, a.state, a.time_completed) for a in before] == [(6, 0, None)]
        assert (await moodle.get_course_completion(2, 5)).status == "complete"

    async def test_self_completion_waits_for_cron(self, server: LiveServer, moodle: MoodleClient, sandbox: SandboxState) -> None:
        async with MoodleClient(server.url, LEARNER_TOKEN) as learner:
            await learner.call("core_completion_mark_course_self_completed", {"courseid": 4})

        assert (await moodle.get_course_completion(4, 5)).status == "incomplete"
        sandbox.run_cron(at=sandbox.now() + 1)
        assert (await moodle.get_course_completion(4, 5)).status == "complete"


class TestGrades:
    async def test_grade_items_and_course_total(self, moodle: MoodleClient) -> None:
        grades = await moodle.get_grade_items(3, 4)

        assert [(item.cmid, item.grade, item.grade_max) for item in grades.items] == [(7, 85.0, 100.0), (8, 10.0, 10.0)]
        assert grades.course_total is not None
        assert (grades.course_total.grade, grades.course_total.grade_max) == (95.0, 110.0)
        assert grades.course_total.range_formatted == "0–110"

    async def test_no_grade_is_none_never_zero(self, moodle: MoodleClient) -> None:
        grades = await moodle.get_grade_items(2, 5)
        overview = await moodle.get_course_grades_overview(4)

        assert grades.course_total is not None
        assert grades.course_total.grade is None
        assert [(grade.course_id, grade.grade) for grade in overview] == [(3, 95.0), (2, None), (6, 42.0)]

    async def test_one_user_error_marks_only_that_user(self, moodle: MoodleClient, sandbox: SandboxState) -> None:
        await moodle.enrol_users([Enrolment(user_id=5, course_id=3)])
        sandbox.add_fault(
            Fault(
                mode="exception",
                function="gradereport_user_get_grade_items",
                params={"userid": "5"},
                exception={"errorcode": "nopermissiontoviewgrades", "message": "Can not view grades."},
            )
        )

        totals = await moodle.get_course_totals(3, [4, 5, 6])

        assert [(t.user_id, t.status, t.grade) for t in totals] == [
            (4, "graded", 95.0),
            (5, "unavailable", None),
            (6, "not_graded", None),
        ]


class TestCohorts:
    async def test_create_and_add_members(self, moodle: MoodleClient) -> None:
        [cohort] = await moodle.create_cohorts([CohortCreate(name="New hires", idnumber="COH-NEWHIRES")])
        members = [
            CohortMember(cohort_value="COH-NEWHIRES", user_value="lab.learner1"),
            CohortMember(cohort_value="COH-NEWHIRES", user_value="no.such.user"),
        ]

        result = await moodle.add_cohort_members(members)

        assert [cohort.idnumber for cohort in await moodle.get_cohorts()] == ["COH-SALES", "COH-NEWHIRES"]
        assert [member.user_value for member in result.succeeded] == ["lab.learner1"]
        assert result.failed[0].index == 1
        assert "no.such.user not exists" in result.failed[0].reason
        assert cohort.id == 2


class TestRetries:
    async def test_503_then_success(self, moodle: MoodleClient, sandbox: SandboxState) -> None:
        sandbox.add_fault(Fault(mode="status", status=503, count=2))

        info = await moodle.get_site_info()

        assert info.sitename == "HR Integration Lab"
        assert sandbox.stats()["calls"]["core_webservice_get_site_info"] == 3

    async def test_429_honours_retry_after(self, moodle: MoodleClient, sandbox: SandboxState) -> None:
        sandbox.add_fault(Fault(mode="429", retry_after=0.3, count=1))
        started = time.monotonic()

        await moodle.get_site_info()

        assert time.monotonic() - started >= 0.3

    async def test_gives_up_after_max_retries(self, server: LiveServer, sandbox: SandboxState) -> None:
        sandbox.add_fault(Fault(mode="status", status=502, count=10))

        async with MoodleClient(server.url, DEFAULT_TOKEN, max_retries=2, backoff_base=0.01) as client:
            with pytest.raises(MoodleUnavailable):
                await client.get_site_info()

        assert sandbox.stats()["calls"]["core_webservice_get_site_info"] == 3

    async def test_timeout_after_commit_creates_once(self, server: LiveServer, sandbox: SandboxState) -> None:
        sandbox.add_fault(Fault(mode="timeout", delay=1.0, function="core_user_create_users"))
        users = [new_user(1), new_user(2)]

        async with MoodleClient(server.url, DEFAULT_TOKEN, timeout=0.3, backoff_base=0.01) as client:
            result = await client.create_users(users)

        assert [user.username for user in result.succeeded] == ["lab.bulk1", "lab.bulk2"]
        assert result.failed == []
        assert sandbox.stats()["users"] == FIXTURE_USERS + 2
        assert sandbox.stats()["calls"]["core_user_create_users"] == 1

    async def test_unavailable_batch_reports_items(self, server: LiveServer, sandbox: SandboxState) -> None:
        sandbox.add_fault(Fault(mode="status", status=503, count=10, function="enrol_manual_enrol_users"))

        async with MoodleClient(server.url, DEFAULT_TOKEN, max_retries=1, backoff_base=0.01) as client:
            result = await client.enrol_users([Enrolment(user_id=6, course_id=2), Enrolment(user_id=6, course_id=3)])

        assert result.succeeded == []
        assert [(failure.index, failure.retryable) for failure in result.failed] == [(0, True), (1, True)]


class TestConcurrency:
    async def test_limit_is_honoured(self, server: LiveServer, sandbox: SandboxState) -> None:
        # A request another test gave up on may still be in flight in the sandbox.
        deadline = time.monotonic() + 5
        while sandbox.in_flight and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        sandbox.reset()
        sandbox.latency = 0.05

        async with MoodleClient(server.url, DEFAULT_TOKEN, max_concurrency=2) as client:
            await asyncio.gather(*(client.get_site_info() for _ in range(8)))

        assert sandbox.stats()["max_in_flight"] == 2


class TestSecrets:
    async def test_token_never_in_repr_errors_or_logs(
        self, server: LiveServer, sandbox: SandboxState, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        token = "0123456789abcdef0123456789abcdef"
        sandbox.add_fault(Fault(mode="status", status=503, count=1))

        with capture_logs() as logs:
            # A fresh logger proxy: one cached before capture_logs started would bypass it.
            monkeypatch.setattr(client_module, "log", structlog.get_logger())
            async with MoodleClient(server.url, token, backoff_base=0.01) as client:
                with pytest.raises(MoodleAccessDenied) as raised:
                    await client.get_site_info()

        assert token not in repr(client)
        assert token not in str(raised.value)
        assert token not in repr(raised.value)
        assert any(entry["event"] == "moodle.call.retry" for entry in logs)
        assert all(token not in repr(entry) for entry in logs)


def test_client_rejects_bad_settings() -> None:
    with pytest.raises(ValueError, match="ASSISTANT_MOODLE_TOKEN"):
        MoodleClient("http://127.0.0.1:9", "")
    with pytest.raises(ValueError, match="invalid Moodle URL"):
        MoodleClient("127.0.0.1:9", "token")
    with pytest.raises(ValueError, match="query string"):
        MoodleClient("http://127.0.0.1:9/?wstoken=x", "token")


async def test_connection_refused_is_unavailable() -> None:
    from tests.support import free_port

    async with MoodleClient(f"http://127.0.0.1:{free_port()}", "token", max_retries=1, backoff_base=0.01) as client:
        with pytest.raises(MoodleUnavailable, match="could not connect"):
            await client.get_site_info()


async def test_rejected_error_keeps_moodle_fields(moodle: MoodleClient) -> None:
    with pytest.raises(MoodleRejected) as raised:
        await moodle.call("core_user_get_users_by_field", {"field": "idnumber"})

    assert raised.value.errorcode == "invalidparameter"
    assert raised.value.function == "core_user_get_users_by_field"
