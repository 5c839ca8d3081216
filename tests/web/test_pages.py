"""Pages rendered through the real app with a signed-in session."""

from __future__ import annotations

import re
from datetime import date, timedelta

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from assistant.db import session_scope
from assistant.paths.models import LearningPath, LearningPathItem
from assistant.results.models import OutboxItem, OutboxStatus
from assistant.web.sources import Unavailable, import_service, unavailable
from tests.auth.factories import ADMIN_ID, INDIRECT_REPORT_ID, LEARNER_ID, MANAGER_ID, OTHER_LEARNER_ID, Org

HTML = {"Accept": "text/html"}


def sign_in(client: TestClient, employee_id: str, role: str = "from-hr") -> str:
    """Sign in through the demo form; return the session's CSRF token."""
    token = csrf_from(client.get("/auth/dev").text)
    response = client.post(
        "/auth/dev", data={"employee_id": employee_id, "role": role, "csrf_token": token}, follow_redirects=False
    )
    assert response.status_code == 303, response.text
    return csrf_from(client.get("/auth/login").text)


def csrf_from(page: str) -> str:
    match = re.search(r'name="csrf[-_]token" (?:content|value)="([^"]+)"', page)
    assert match is not None, "no CSRF token on the page"
    return match.group(1)


def add_path(engine: Engine, employee_id: str) -> None:
    """Store a current path with one overdue mandatory item, one completed item and one planned item."""
    today = date.today()
    with session_scope(engine) as session:
        path = LearningPath(
            employee_id=employee_id,
            version=1,
            reason="new_hire",
            role_source="configured",
            role_name="Sales Representative",
            as_of=today,
            inputs_hash="0" * 64,
        )
        session.add(path)
        session.flush()
        assert path.id is not None
        items = [
            ("SAFE-101", "Workplace safety", "mandatory", today - timedelta(days=3), "planned", "Required for every employee."),
            ("SALES-101", "Negotiation basics", "recommended", today + timedelta(days=30), "completed", "Closes the gap in negotiation."),
            ("SALES-201", "Value selling", "recommended", None, "planned", "Builds on negotiation basics."),
        ]
        for position, (shortname, title, kind, due, status, explanation) in enumerate(items, start=1):
            session.add(
                LearningPathItem(
                    path_id=path.id,
                    position=position,
                    course_id=position,
                    shortname=shortname,
                    title=title,
                    kind=kind,
                    due_date=due,
                    assigned_on=today,
                    explanation=explanation,
                    status=status,
                )
            )


class TestSignIn:
    def test_page_without_session_redirects_to_sign_in(self, client: TestClient, org: Org) -> None:
        response = client.get("/team/2001?tab=path", headers=HTML, follow_redirects=False)

        assert response.status_code == 303
        assert response.headers["location"] == "/auth/login?next=%2Fteam%2F2001%3Ftab%3Dpath"

    def test_demo_cookie_is_httponly_and_lax(self, client: TestClient, org: Org) -> None:
        token = csrf_from(client.get("/auth/dev").text)

        response = client.post("/auth/dev", data={"employee_id": LEARNER_ID, "csrf_token": token}, follow_redirects=False)

        cookie = response.headers["set-cookie"].lower()
        assert "httponly" in cookie
        assert "samesite=lax" in cookie
        assert "secure" not in cookie

    def test_home_sends_each_role_to_its_start(self, client: TestClient, org: Org) -> None:
        for employee_id, role, start in [
            (LEARNER_ID, "from-hr", "/learn/path"),
            (MANAGER_ID, "from-hr", "/team"),
            (LEARNER_ID, "admin", "/admin"),
        ]:
            sign_in(client, employee_id, role)

            response = client.get("/", follow_redirects=False)

            assert response.headers["location"] == start

    def test_sign_out_ends_session(self, client: TestClient, org: Org) -> None:
        token = sign_in(client, LEARNER_ID)

        client.post("/auth/logout", data={"csrf_token": token}, follow_redirects=False)

        assert client.get("/auth/me").status_code == 401


class TestLearnerPages:
    def test_path_shows_progress_and_due_dates(self, client: TestClient, org: Org, engine: Engine) -> None:
        add_path(engine, LEARNER_ID)
        sign_in(client, LEARNER_ID)

        page = client.get("/learn/path").text

        assert "1 of 3 courses completed" in page
        assert "1 mandatory overdue" in page
        assert "Workplace safety" in page
        assert (date.today() - timedelta(days=3)).isoformat() + " (overdue)" in page
        assert "Closes the gap in negotiation." in page

    def test_no_path_yet_says_so(self, client: TestClient, org: Org) -> None:
        sign_in(client, LEARNER_ID)

        page = client.get("/learn/path").text

        assert "You have no learning path yet" in page

    def test_roleplay_lists_suitable_scenarios(self, client: TestClient, org: Org) -> None:
        sign_in(client, LEARNER_ID)

        page = client.get("/learn/roleplay").text

        assert "Handling a price objection at renewal" in page
        assert "No attempts yet." in page

    def test_start_scenario_opens_chat(self, client: TestClient, org: Org) -> None:
        token = sign_in(client, LEARNER_ID)

        response = client.post("/learn/roleplay", data={"scenario_id": "price-objection", "csrf_token": token}, follow_redirects=False)
        chat = client.get(response.headers["location"]).text

        assert response.status_code == 303
        assert 'role="log" aria-live="polite"' in chat
        assert '<label for="message">Your message</label>' in chat
        assert "Thanks for making time." in chat


class TestManagerPages:
    def test_team_lists_reports_only(self, client: TestClient, org: Org, engine: Engine) -> None:
        add_path(engine, LEARNER_ID)
        sign_in(client, MANAGER_ID)

        page = client.get("/team").text

        assert "Leo Learner" in page
        assert "Ivy Indirect" in page
        assert "Olga Outside" not in page
        assert '<span class="overdue">1</span>' in page

    def test_member_page_shows_explanations(self, client: TestClient, org: Org, engine: Engine) -> None:
        add_path(engine, INDIRECT_REPORT_ID)
        sign_in(client, MANAGER_ID)

        page = client.get(f"/team/{INDIRECT_REPORT_ID}").text

        assert "Path of Ivy Indirect" in page
        assert "Required for every employee." in page
        assert "Builds on negotiation basics." in page

    def test_member_outside_team_is_403_page(self, client: TestClient, org: Org) -> None:
        sign_in(client, MANAGER_ID)

        response = client.get(f"/team/{OTHER_LEARNER_ID}", headers=HTML)

        assert response.status_code == 403
        assert "<h1>Access denied</h1>" in response.text
        assert "out of scope" in response.text

    def test_learner_cannot_open_team(self, client: TestClient, org: Org) -> None:
        sign_in(client, LEARNER_ID)

        response = client.get("/team", headers=HTML)

        assert response.status_code == 403
        assert "role &#39;learner&#39; may not call GET /team" in response.text

    def test_review_note_is_stored_as_caller(self, client: TestClient, org: Org) -> None:
        learner_token = sign_in(client, LEARNER_ID)
        started = client.post(
            "/learn/roleplay", data={"scenario_id": "price-objection", "csrf_token": learner_token}, follow_redirects=False
        )
        session_id = started.headers["location"].rsplit("/", 1)[1]
        manager_token = sign_in(client, MANAGER_ID)

        saved = client.post(
            f"/team/sessions/{session_id}/note", data={"note": "Ask more open questions.", "csrf_token": manager_token}, follow_redirects=False
        )
        review = client.get(f"/team/sessions/{session_id}").text

        assert saved.status_code == 303
        assert "Ask more open questions." in review
        assert f"by {MANAGER_ID}" in review


class TestAdminPages:
    def test_outbox_lists_dead_letters_and_retries(self, client: TestClient, org: Org, engine: Engine) -> None:
        with session_scope(engine) as session:
            item = OutboxItem(
                target="csv", idempotency_key="k1", kind="course_completion", employee_id=LEARNER_ID,
                status=OutboxStatus.DEAD, attempts=8, last_error="HR target answered 500",
            )
            session.add(item)
            session.flush()
            item_id = item.id
        token = sign_in(client, ADMIN_ID, "admin")

        page = client.get("/admin/outbox").text
        retried = client.post(f"/admin/outbox/{item_id}/retry", data={"csrf_token": token})

        assert "HR target answered 500" in page
        assert f'aria-label="Retry item {item_id}"' in page
        assert f"Item {item_id} is due again" in retried.text
        assert "No dead letters." in retried.text

    def test_sync_preview_shows_error_when_moodle_missing(self, client: TestClient, org: Org) -> None:
        token = sign_in(client, ADMIN_ID, "admin")

        response = client.post("/admin/sync/preview", data={"source": "csv", "csv": "x\n", "csrf_token": token})

        assert response.status_code == 503
        assert "Moodle is not configured" in response.text

    def test_admin_pages_need_admin(self, client: TestClient, org: Org) -> None:
        sign_in(client, MANAGER_ID)

        for path in ("/admin", "/admin/sync", "/admin/outbox", "/admin/compliance"):
            assert client.get(path, headers=HTML).status_code == 403


class TestMissingService:
    def test_missing_module_is_unavailable(self) -> None:
        assert import_service("assistant.not_built_yet") is None

    def test_missing_function_is_unavailable(self) -> None:
        assert import_service("assistant.people.service", "no_such_function") is None

    def test_present_service_is_returned(self) -> None:
        module = import_service("assistant.people.service", "reports_of")

        assert module is not None

    def test_unavailable_names_the_module(self) -> None:
        gap = unavailable("Learning paths", "assistant.paths.service")

        assert gap == Unavailable("Learning paths", "Learning paths is not available yet: assistant.paths.service is not installed on this server.")
