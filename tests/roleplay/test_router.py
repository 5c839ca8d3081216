"""The roleplay API over real loopback HTTP with the scripted provider, on SQLite and PostgreSQL.

Requests carry API tokens because the app applies its authorization rules to every route;
the learner E300 is the default caller.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from sqlalchemy.engine import Engine

from assistant.app import create_app
from assistant.config import LLMProvider, Settings
from tests.support import LiveServer, free_port

SCENARIOS_DIR = Path(__file__).resolve().parents[2] / "prompts" / "scenarios"


def _settings(**values: Any) -> Settings:
    return Settings(_env_file=None, llm_provider=LLMProvider.SCRIPTED, **values)  # type: ignore[call-arg]


@pytest.fixture
def client(people_engine: Engine, tokens: dict[str, dict[str, str]]) -> Iterator[httpx.Client]:
    app = create_app(_settings(), engine=people_engine)
    with LiveServer(app) as server, httpx.Client(base_url=server.url, timeout=60, headers=tokens["learner"]) as http:
        yield http


def post_turn(client: httpx.Client, session_id: str, text: str) -> list[tuple[str, dict[str, Any]]]:
    """Send a turn and collect the server-sent events as (event, data) pairs."""
    events: list[tuple[str, dict[str, Any]]] = []
    with client.stream("POST", f"/roleplay/sessions/{session_id}/turns", json={"text": text}) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        name = "message"
        for line in response.iter_lines():
            if line.startswith("event:"):
                name = line.partition(":")[2].strip()
            elif line.startswith("data:"):
                events.append((name, json.loads(line.partition(":")[2].strip())))
    return events


def reply_text(events: list[tuple[str, dict[str, Any]]]) -> str:
    return "".join(data["text"] for name, data in events if name == "token")


def start(client: httpx.Client, employee_id: str, scenario_id: str | None = None) -> dict[str, Any]:
    body = {"employee_id": employee_id} | ({"scenario_id": scenario_id} if scenario_id else {})
    response = client.post("/roleplay/sessions", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def test_full_session_with_score_and_reviews(client: httpx.Client, tokens: dict[str, dict[str, str]]) -> None:
    listed = client.get("/roleplay/scenarios", params={"employee_id": "E300"})
    assert listed.status_code == 200
    assert "sales-discovery-call" in [scenario["id"] for scenario in listed.json()]
    assert "hidden_goals" not in listed.text

    session = start(client, "E300", "sales-discovery-call")
    assert session["status"] == "active"
    assert [turn["speaker"] for turn in session["turns"]] == ["persona"]
    assert session["turns"][0]["text"].startswith("Hi, Dana here.")
    assert session["provider"] == "scripted"

    first = post_turn(client, session["id"], "How do your depots decide which truck gets which dock slot today?")
    assert reply_text(first).startswith("Right now each depot keeps a spreadsheet")
    assert len([name for name, _ in first if name == "token"]) > 1
    assert first[-1] == ("done", {"turn": 3, "learner_turn": 2, "status": "active", "end_reason": None, "regenerations": 0, "fallback_used": False})

    second = post_turn(client, session["id"], "What happened during the double-booking last quarter, and what did it cost you?")
    assert "double-booked" in reply_text(second)

    third = post_turn(client, session["id"], "Would a 20-minute demo next Tuesday with one of your depot supervisors make sense?")
    assert "Let's set that up" in reply_text(third)
    assert third[-1][1]["status"] == "closed"
    assert third[-1][1]["end_reason"] == "agreement"

    refused = client.post(f"/roleplay/sessions/{session['id']}/turns", json={"text": "One more thing?"})
    assert refused.status_code == 409
    assert refused.json()["error"] == "SessionClosed"
    assert "reached an agreement" in refused.json()["detail"]

    ended = client.post(f"/roleplay/sessions/{session['id']}/end")
    assert ended.status_code == 200, ended.text
    score = ended.json()
    assert 0 <= score["overall"] <= 100
    assert score["passed"] == (score["overall"] >= 65)
    assert score["judge_provider"] == "offline"
    assert {criterion["criterion_id"] for criterion in score["criteria"]} == {
        "open-discovery-questions", "quantifies-impact", "listens-before-pitching", "agrees-next-step",
    }
    assert score["metrics"]["learner_turns"] == 3
    learner_lines = {turn_number: text for turn_number, text in [(2, "How do your depots decide which truck gets which dock slot today?"),
                                                                (4, "What happened during the double-booking last quarter, and what did it cost you?"),
                                                                (6, "Would a 20-minute demo next Tuesday with one of your depot supervisors make sense?")]}
    for criterion in score["criteria"]:
        for quote in criterion["evidence"]:
            assert quote["quote"] in learner_lines[quote["turn"]]

    again = client.post(f"/roleplay/sessions/{session['id']}/end")
    assert again.json() == score

    reviews = f"/roleplay/sessions/{session['id']}/reviews"
    direct = client.post(reviews, json={"reviewer_employee_id": "E200", "note": "Good questions; ask about cost earlier."}, headers=tokens["manager"])
    indirect = client.post(reviews, json={"reviewer_employee_id": "E100", "note": "Agreed."}, headers=tokens["director"])
    outsider = client.post(reviews, json={"reviewer_employee_id": "E400", "note": "Nice."}, headers=tokens["admin"])
    assert direct.status_code == 201
    assert indirect.status_code == 201
    assert outsider.status_code == 403
    assert outsider.json() == {"error": "Forbidden", "detail": "employee 'E400' is not a manager of 'E300' in the HR data, so they cannot review this session"}

    detail = client.get(f"/roleplay/sessions/{session['id']}").json()
    assert [turn["n"] for turn in detail["turns"]] == [1, 2, 3, 4, 5, 6, 7]
    assert [turn["speaker"] for turn in detail["turns"]] == ["persona", "learner"] * 3 + ["persona"]
    assert detail["status"] == "scored"
    assert detail["end_reason"] == "agreement"
    assert detail["ended_at"] is not None
    assert detail["score"]["overall"] == score["overall"]
    assert [review["reviewer_employee_id"] for review in detail["reviews"]] == ["E200", "E100"]
    assert all(turn["latency_ms"] is not None for turn in detail["turns"][2::2])


def test_session_without_scenario_suits_role(client: httpx.Client) -> None:
    suitable = {scenario["id"] for scenario in client.get("/roleplay/scenarios", params={"employee_id": "E300"}).json()}

    first = start(client, "E300")
    second = start(client, "E300")

    assert first["scenario_id"] in suitable
    assert second["scenario_id"] in suitable
    assert second["scenario_id"] != first["scenario_id"]


def test_attempt_history_newest_first(client: httpx.Client) -> None:
    older = start(client, "E300", "price-objection")
    newer = start(client, "E300", "sales-discovery-call")

    history = client.get("/roleplay/attempts", params={"employee_id": "E300"}).json()
    filtered = client.get("/roleplay/attempts", params={"employee_id": "E300", "scenario_id": "price-objection"}).json()

    assert [attempt["id"] for attempt in history] == [newer["id"], older["id"]]
    assert [attempt["id"] for attempt in filtered] == [older["id"]]
    assert history[0]["overall"] is None


@pytest.mark.parametrize("text", ["", "   "])
def test_blank_turn_rejected_and_not_stored(client: httpx.Client, text: str) -> None:
    session = start(client, "E300", "price-objection")

    response = client.post(f"/roleplay/sessions/{session['id']}/turns", json={"text": text})

    assert response.status_code == 422
    assert response.json()["detail"].startswith("please type a reply")
    assert len(client.get(f"/roleplay/sessions/{session['id']}").json()["turns"]) == 1


def test_overlong_turn_rejected_with_limit(client: httpx.Client) -> None:
    session = start(client, "E300", "price-objection")

    response = client.post(f"/roleplay/sessions/{session['id']}/turns", json={"text": "x" * 5000})

    assert response.status_code == 422
    assert "the limit in this scenario is 4,000" in response.json()["detail"]


def test_unknown_session_is_not_found(client: httpx.Client, tokens: dict[str, dict[str, str]]) -> None:
    admin = tokens["admin"]
    for response in (
        client.post("/roleplay/sessions/nope/turns", json={"text": "hi"}, headers=admin),
        client.post("/roleplay/sessions/nope/end", headers=admin),
        client.get("/roleplay/sessions/nope", headers=admin),
        client.post("/roleplay/sessions/nope/reviews", json={"reviewer_employee_id": "E400", "note": "x"}, headers=admin),
    ):
        assert response.status_code == 404
        assert response.json() == {"error": "SessionNotFound", "detail": "no roleplay session with id 'nope'"}


def test_start_errors_name_the_problem(client: httpx.Client, tokens: dict[str, dict[str, str]]) -> None:
    no_fit = client.post("/roleplay/sessions", json={"employee_id": "E400"}, headers=tokens["other_learner"])
    unknown_person = client.post("/roleplay/sessions", json={"employee_id": "E999"}, headers=tokens["admin"])
    unknown_scenario = client.post("/roleplay/sessions", json={"employee_id": "E300", "scenario_id": "juggling"})

    assert no_fit.status_code == 422
    assert no_fit.json()["error"] == "NoSuitableScenario"
    assert "department 'IT/IS', job title 'Network Engineer'" in no_fit.json()["detail"]
    assert unknown_person.status_code == 404
    assert unknown_person.json()["detail"] == "no person with employee ID 'E999'"
    assert unknown_scenario.status_code == 404
    assert unknown_scenario.json()["detail"].startswith("no scenario with id 'juggling'")


def test_end_without_learner_turn_is_rejected(client: httpx.Client) -> None:
    session = start(client, "E300", "price-objection")

    response = client.post(f"/roleplay/sessions/{session['id']}/end")

    assert response.status_code == 422
    assert "no reply from the learner yet" in response.json()["detail"]


def test_turn_limit_closes_session(people_engine: Engine, tokens: dict[str, dict[str, str]], tmp_path: Path) -> None:
    data = yaml.safe_load((SCENARIOS_DIR / "price-objection.yaml").read_text(encoding="utf-8"))
    data["end"]["max_turns"] = 2
    (tmp_path / "price-objection.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    shutil.copy(SCENARIOS_DIR / "sales-discovery-call.yaml", tmp_path)
    app = create_app(_settings(roleplay_scenarios_dir=tmp_path), engine=people_engine)

    with LiveServer(app) as server, httpx.Client(base_url=server.url, timeout=60, headers=tokens["learner"]) as client:
        session = start(client, "E300", "price-objection")
        first = post_turn(client, session["id"], "What does the competitor's offer include?")
        second = post_turn(client, session["id"], "What matters most to you?")
        third = client.post(f"/roleplay/sessions/{session['id']}/turns", json={"text": "And then?"})

    assert first[-1][1]["status"] == "active"
    assert second[-1][1]["status"] == "closed"
    assert second[-1][1]["end_reason"] == "max_turns"
    assert third.status_code == 409
    assert "reached its turn limit" in third.json()["detail"]


def test_model_failure_streams_error_and_stores_nothing(people_engine: Engine, tokens: dict[str, dict[str, str]]) -> None:
    settings = _settings().model_copy(
        update={"llm_provider": LLMProvider.OPENAI, "llm_url": f"http://127.0.0.1:{free_port()}/v1", "llm_model": "absent", "llm_max_retries": 0}
    )

    with LiveServer(create_app(settings, engine=people_engine)) as server, httpx.Client(base_url=server.url, timeout=60, headers=tokens["learner"]) as client:
        session = start(client, "E300", "price-objection")
        events = post_turn(client, session["id"], "What does the competitor's offer include?")
        detail = client.get(f"/roleplay/sessions/{session['id']}").json()

    assert events == [("error", {"error": "LLMUnavailable", "detail": events[0][1]["detail"]})]
    assert "could not connect to the model endpoint" in events[0][1]["detail"]
    assert len(detail["turns"]) == 1
    assert detail["learner_turns"] == 0


def test_readiness_names_llm(client: httpx.Client) -> None:
    response = client.get("/readyz")

    assert response.json()["checks"]["llm"] == {"status": "ok", "detail": "scripted scripted-v1"}
