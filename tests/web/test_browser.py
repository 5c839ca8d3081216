"""End to end in a real headless Chromium (Debian's package) against the app on loopback in demo mode.

`scripts/ensure-browser` installs /usr/bin/chromium; Playwright drives it and never
downloads a browser of its own. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from assistant.app import create_app
from assistant.db import create_db_engine
from tests.auth.conftest import make_settings
from tests.auth.factories import LEARNER_ID, MANAGER_ID, OTHER_LEARNER_ID, seed_people
from tests.support import LiveServer

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCORING_TIMEOUT_MS = 60_000
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is missing; install it with scripts/ensure-browser", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is missing; pip install -e '.[test]'")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    tmp_path = tmp_path_factory.mktemp("browser")
    engine: Engine = create_db_engine(f"sqlite:///{tmp_path / 'browser.db'}")
    app = create_app(make_settings(tmp_path), engine=engine)
    with LiveServer(app) as live:
        seed_people(engine)
        yield live
    engine.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: object, server: LiveServer) -> Iterator[object]:
    context = browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def screenshot(page: object, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)  # type: ignore[attr-defined]


def sign_in(page: object, employee_id: str, role: str = "from-hr") -> None:
    page.goto("/auth/dev")  # type: ignore[attr-defined]
    page.get_by_label("Employee").select_option(employee_id)  # type: ignore[attr-defined]
    page.locator(f'input[name="role"][value="{role}"]').check()  # type: ignore[attr-defined]
    page.get_by_role("button", name="Sign in").click()  # type: ignore[attr-defined]
    page.wait_for_load_state()  # type: ignore[attr-defined]


def test_learner_finishes_roleplay_and_sees_score(page: object) -> None:
    expect = sync_api.expect
    sign_in(page, LEARNER_ID)
    page.goto("/learn/roleplay")  # type: ignore[attr-defined]
    page.get_by_role("button", name="Start this scenario").first.click()  # type: ignore[attr-defined]
    expect(page.get_by_role("heading", level=2, name="Conversation")).to_be_visible()  # type: ignore[arg-type]

    messages = [
        "What is behind the concern about the price?",
        "I hear that your CFO needs a justification. What matters most to you?",
        "We could agree a two-year term with 60 days payment terms.",
    ]
    # The first message goes by keyboard alone: type, Tab to the Send button, press Enter.
    page.get_by_label("Your message").fill(messages[0])  # type: ignore[attr-defined]
    page.keyboard.press("Tab")  # type: ignore[attr-defined]
    expect(page.get_by_role("button", name="Send")).to_be_focused()  # type: ignore[attr-defined]
    page.keyboard.press("Enter")  # type: ignore[attr-defined]
    expect(page.locator("#chat-log .turn-persona")).to_have_count(2)  # type: ignore[attr-defined]
    expect(page.locator("#chat-log")).to_have_attribute("aria-busy", "false")  # type: ignore[attr-defined]

    for text in messages[1:]:
        page.get_by_label("Your message").fill(text)  # type: ignore[attr-defined]
        page.get_by_role("button", name="Send").click()  # type: ignore[attr-defined]
        expect(page.locator("#chat-log")).to_have_attribute("aria-busy", "false")  # type: ignore[attr-defined]
    expect(page.locator("#chat-log .turn-persona")).to_have_count(len(messages) + 1)  # type: ignore[attr-defined]
    screenshot(page, "learner-chat")

    page.get_by_role("button", name="End and score").click()  # type: ignore[attr-defined]
    # Scoring loads the offline judge's sentence encoder on first use, which takes several seconds.
    expect(page.get_by_role("heading", name="Score")).to_be_visible(timeout=SCORING_TIMEOUT_MS)  # type: ignore[attr-defined]
    expect(page.locator(".criteria li").first).to_be_visible()  # type: ignore[attr-defined]
    screenshot(page, "learner-score")


def test_manager_sees_team(page: object) -> None:
    expect = sync_api.expect
    sign_in(page, MANAGER_ID)

    page.goto("/team")  # type: ignore[attr-defined]

    expect(page.get_by_role("heading", level=1, name="My team")).to_be_visible()  # type: ignore[attr-defined]
    expect(page.get_by_role("link", name="Leo Learner")).to_be_visible()  # type: ignore[attr-defined]
    expect(page.get_by_role("link", name="Ivy Indirect")).to_be_visible()  # type: ignore[attr-defined]
    expect(page.get_by_role("link", name="Olga Outside")).to_have_count(0)  # type: ignore[attr-defined]
    screenshot(page, "manager-team")

    page.set_viewport_size({"width": 390, "height": 844})  # type: ignore[attr-defined]
    fits = page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # type: ignore[attr-defined]
    assert fits, "the team page scrolls sideways at phone width"
    screenshot(page, "manager-team-phone")


def test_manager_outside_team_gets_403(page: object) -> None:
    expect = sync_api.expect
    sign_in(page, MANAGER_ID)

    response = page.goto(f"/team/{OTHER_LEARNER_ID}")  # type: ignore[attr-defined]

    assert response.status == 403
    expect(page.get_by_role("heading", level=1, name="Access denied")).to_be_visible()  # type: ignore[attr-defined]
    expect(page.get_by_text("out of scope")).to_be_visible()  # type: ignore[attr-defined]
    screenshot(page, "manager-403")
