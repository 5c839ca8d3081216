"""Replay every request recorded on a real Moodle 5.1 site against the sandbox.

The recorded pairs form one session: later calls depend on earlier ones (user 7 is
created, suspended, enrolled, deleted). A module fixture replays them once in
recorded order and snapshots the sandbox before each pair, so each test restores
the state its pair met on the real site and replays only that pair. Pairs named
`*.debug` were recorded with debugging on and are replayed with the sandbox in debug mode.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from starlette.testclient import TestClient

from assistant.moodle.sandbox import SandboxState, create_sandbox_app
from tests.support import SHARED_DIR

RECORDED_DIR = SHARED_DIR / "moodle" / "recorded"
REST_PATH = "/webservice/rest/server.php"

# Values that legitimately differ between the real site and the sandbox: clock
# readings, and a per-user secret.
VOLATILE_KEYS = frozenset(
    {"timecreated", "timemodified", "timecompleted", "gradedategraded", "gradedatesubmitted", "userprivateaccesskey"}
)

# core_course_get_courses without ids has no ORDER BY, so the real site listed the
# courses in PostgreSQL's storage order; these bodies are compared sorted by id.
UNORDERED_PAIRS = frozenset({"get_courses_all"})

# The real site ran the completion cron between these two recordings.
CRON_BEFORE = frozenset({"self_complete_status_after_cron"})


def _pair_names() -> list[str]:
    index = RECORDED_DIR / "_index.json"
    if not index.exists():
        return []
    return [entry["name"] for entry in json.loads(index.read_text(encoding="utf-8"))]


PAIR_NAMES = _pair_names()


def _load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((RECORDED_DIR / f"{name}.json").read_text(encoding="utf-8"))
    return data


def _send(client: TestClient, pair: dict[str, Any]) -> Any:
    body = urlencode([(key, value) for key, value in pair["request"]["form"]])
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    return client.post(REST_PATH, content=body, headers=headers)


class Replay:
    """The sandbox plus its state before each recorded pair."""

    def __init__(self) -> None:
        self.app = create_sandbox_app()
        self.state: SandboxState = self.app.state.sandbox
        self.client = TestClient(self.app, base_url="http://127.0.0.1:8088")
        self.before: dict[str, dict[str, Any]] = {}

    def record_session(self) -> None:
        for name in PAIR_NAMES:
            if name in CRON_BEFORE:
                self.state.run_cron(at=self.state.now() + 1)
            self.before[name] = self.state.snapshot()
            if not name.endswith(".debug"):
                _send(self.client, _load(name))

    def replay(self, name: str) -> Any:
        self.state.restore(self.before[name])
        self.state.debug = name.endswith(".debug")
        return _send(self.client, _load(name))


@pytest.fixture(scope="module")
def replay() -> Iterator[Replay]:
    if not PAIR_NAMES:
        pytest.skip(f"{RECORDED_DIR} is absent; these tests replay the shared Moodle recordings")
    session = Replay()
    with session.client:
        session.record_session()
        yield session


def assert_same_shape(expected: Any, actual: Any, path: str = "$") -> None:
    """Assert that two JSON values have the same keys, lengths and types, and equal stable values."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{path}: expected an object, got {actual!r}"
        assert sorted(actual) == sorted(expected), f"{path}: keys differ: {sorted(actual)} != {sorted(expected)}"
        for key in expected:
            if key in VOLATILE_KEYS and _same_type(expected[key], actual[key]):
                continue
            assert_same_shape(expected[key], actual[key], f"{path}.{key}")
        return
    if isinstance(expected, list):
        assert isinstance(actual, list), f"{path}: expected a list, got {actual!r}"
        assert len(actual) == len(expected), f"{path}: {len(actual)} items, expected {len(expected)}"
        for position, (left, right) in enumerate(zip(expected, actual, strict=True)):
            assert_same_shape(left, right, f"{path}[{position}]")
        return
    assert _same_type(expected, actual), f"{path}: type {type(actual).__name__}, expected {type(expected).__name__}"
    assert actual == expected, f"{path}: {actual!r} != {expected!r}"


def _same_type(left: Any, right: Any) -> bool:
    def kind(value: Any) -> str:
        if isinstance(value, bool):
            return "bool"
        if isinstance(value, int | float):
            return "number"
        return type(value).__name__

    return kind(left) == kind(right)


@pytest.mark.parametrize("name", PAIR_NAMES)
def test_recorded_pair_replays(replay: Replay, name: str) -> None:
    pair = _load(name)
    expected = pair["response"]

    response = replay.replay(name)

    assert response.status_code == expected["http_status"]
    assert response.headers["content-type"] == expected["content_type"]
    if not expected["content_type"].startswith("application/json"):
        assert response.text == expected["body"]
        return
    recorded, answered = json.loads(expected["body"]), response.json()
    if name in UNORDERED_PAIRS:
        recorded, answered = _by_id(recorded), _by_id(answered)
    assert_same_shape(recorded, answered)


def _by_id(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(items, key=lambda item: item["id"])


def test_grade_items_without_view_capability(replay: Replay) -> None:
    pair = _load("grade_items_WITHOUT_mod_view_caps")
    replay.state.restore(replay.before[PAIR_NAMES[0]])
    for token in replay.state.tokens.values():
        token.mod_view = False

    response = _send(replay.client, pair)

    assert_same_shape(json.loads(pair["response"]["body"]), response.json())
