"""One full cycle against the sandboxes: HR pull, provisioning, paths and enrolment, some
simulated learning, one roleplay attempt, collection and write-back to HR.

Every step talks to the sandboxes over loopback HTTP through the same clients the
service uses against real Moodle and BambooHR.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr
from sqlalchemy.engine import Engine

from assistant.auth.models import Role
from assistant.auth.service import create_token
from assistant.config import Environment, Settings
from assistant.db import session_scope
from assistant.demo.sandboxes import DEMO_CATALOGUE, Sandboxes
from assistant.hris.bamboohr.client import BambooHRClient
from assistant.hris.bamboohr.source import BambooHRSource
from assistant.hris.csv_source import CsvSource
from assistant.hris.source import HRSource
from assistant.moodle.client import MoodleClient
from assistant.paths.engine import path_engine_for
from assistant.paths.sync import sync_catalogue
from assistant.paths.tasks import create_request, process_request
from assistant.people.mapping import MappingConfig, load_mapping
from assistant.people.models import PersonStatus
from assistant.people.service import list_people
from assistant.provisioning.service import moodle_user_id_for, run_sync
from assistant.results.catalogue_rules import load_course_rules
from assistant.results.tasks import collect_moodle_results, collect_roleplay_results, deliver_outbox

Say = Callable[[str], None]

# Fixture activities of the Moodle sandbox. Completing the Code of Conduct page (cmid 6)
# completes COC-101 at once, and grading the IT Security assignment (cmid 7, out of 100)
# completes ITSEC-101.
CODE_OF_CONDUCT_PAGE = 6
IT_SECURITY_ASSIGNMENT = 7
# One weak and one strong grade, so the re-plan shows reinforcement and skipping ahead.
DEMO_GRADES = (45.0, 96.0)

# Scenarios the learner lines below suit, in order of preference.
PREFERRED_SCENARIOS = ("sales-discovery-call", "price-objection", "unhappy-customer")

# Open questions for a customer conversation; the persona answers each.
LEARNER_TURNS = (
    "Hello, thanks for making the time. Before I say anything about us, what made you want to talk today?",
    "What happens on your side when that goes wrong, and who feels it most?",
    "So if I heard you right, the delays cost your team time and patience every week. What would a good outcome look like for you?",
)


@dataclass
class DemoOptions:
    data_dir: Path = Path("var/demo")
    port: int = 8000
    roster: Path | None = None
    mapping: Path | None = None
    catalogue: Path | None = None
    learners: int = 2


@dataclass
class DemoSummary:
    provisioned: dict[str, int] = field(default_factory=dict)
    rejected_rows: int = 0
    catalogue_courses: int = 0
    paths_built: int = 0
    path_failures: int = 0
    enrolments: int = 0
    replanned: int = 0
    learning_events: int = 0
    roleplay: dict[str, Any] = field(default_factory=dict)
    completions_collected: int = 0
    roleplay_results: int = 0
    delivered: int = 0
    dead_letters: int = 0
    training_records: int = 0


def demo_settings(options: DemoOptions, sandboxes: Sandboxes) -> Settings:
    """Point the service at the sandboxes, on SQLite under the demo's data folder."""
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        environment=Environment.DEMO,
        data_dir=options.data_dir,
        moodle_url=sandboxes.moodle.url,
        moodle_token=SecretStr(sandboxes.moodle_token),
        bamboohr_url=sandboxes.bamboohr.url,
        bamboohr_api_key=SecretStr(sandboxes.bamboohr_api_key),
        mapping_file=options.mapping,
        catalogue_file=options.catalogue or DEMO_CATALOGUE,
        # People of a CSV roster are not in the BambooHR sandbox, so their results go to CSV only.
        results_targets="csv" if options.roster else "bamboohr,csv",
        log_level="WARNING",
    )


async def provision(settings: Settings, engine: Engine, moodle: MoodleClient, options: DemoOptions, say: Say, summary: DemoSummary) -> None:
    mapping = load_mapping(settings.mapping_file)
    async with BambooHRClient.from_settings(settings) as bamboohr:
        source: HRSource = CsvSource(options.roster, mapping) if options.roster else BambooHRSource(bamboohr, mapping)
        say(f"1/6 HR pull and provisioning from {'the CSV roster ' + str(options.roster) if options.roster else 'the BambooHR sandbox'}")
        report = await run_sync(engine, moodle, source, mapping=mapping, dry_run=False, force=False)

    summary.provisioned = {name: count for name, count in report.counts.items() if count}
    summary.rejected_rows = len(report.people.rejected)
    say(f"    people read {report.people.records}, rejected rows {summary.rejected_rows}; Moodle accounts: {summary.provisioned}")
    for failure in report.failures[:5]:
        say(f"    failed {failure.employee_id}: {failure.reason}")


def _active_ids(engine: Engine) -> list[str]:
    with session_scope(engine) as session:
        people = list_people(session, status=PersonStatus.ACTIVE)
        return [person.employee_id for person in people if moodle_user_id_for(session, person.employee_id)]


async def build_paths(settings: Settings, engine: Engine, moodle: MoodleClient, say: Say, summary: DemoSummary) -> list[str]:
    say("2/6 Catalogue sync, learning paths and enrolment")
    paths = path_engine_for(settings, engine)
    with session_scope(engine) as session:
        catalogue = await sync_catalogue(session, paths, moodle)
    summary.catalogue_courses = len(catalogue.added) + len(catalogue.changed) + catalogue.unchanged

    employee_ids = _active_ids(engine)
    request = create_request(engine, employee_ids, enrol=True)
    finished = await process_request(engine, paths, request.id, moodle=moodle)
    outcomes = list(finished.outcomes.values())
    summary.paths_built = sum(1 for outcome in outcomes if outcome.get("status") in ("built", "unchanged"))
    summary.path_failures = sum(1 for outcome in outcomes if outcome.get("status") == "failed")
    summary.enrolments = sum(
        1 for outcome in outcomes for state in (outcome.get("enrolment") or {}).values() if state in ("enrolled", "already_enrolled")
    )
    say(f"    {summary.catalogue_courses} courses indexed; {summary.paths_built} paths, {summary.enrolments} enrolments")
    return employee_ids


async def simulate_learning(settings: Settings, engine: Engine, moodle: MoodleClient, employee_ids: list[str], options: DemoOptions, say: Say, summary: DemoSummary) -> None:
    learners = employee_ids[: options.learners]
    say(f"3/6 Simulated learning in Moodle for {', '.join(learners) or 'nobody'}, then a re-plan")
    async with httpx.AsyncClient(base_url=settings.moodle_url, timeout=10) as sandbox:
        for position, employee_id in enumerate(learners):
            with session_scope(engine) as session:
                user_id = moodle_user_id_for(session, employee_id)
            grade = DEMO_GRADES[position % len(DEMO_GRADES)]
            await _post(sandbox, "/_sandbox/activity-completion", {"userid": user_id, "cmid": CODE_OF_CONDUCT_PAGE, "state": 1})
            await _post(sandbox, "/_sandbox/grade", {"userid": user_id, "cmid": IT_SECURITY_ASSIGNMENT, "grade": grade})
            summary.learning_events += 2
            say(f"    {employee_id}: completed COC-101, scored {grade:g}/100 in ITSEC-101")

    paths = path_engine_for(settings, engine)
    request = create_request(engine, learners, enrol=True)
    finished = await process_request(engine, paths, request.id, moodle=moodle)
    summary.replanned = sum(1 for outcome in finished.outcomes.values() if outcome.get("status") == "built")
    say(f"    {summary.replanned} paths re-planned into a new version after the new grades")


async def _post(client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> None:
    response = await client.post(path, json=body)
    response.raise_for_status()


async def practise_roleplay(app_url: str, engine: Engine, employee_ids: list[str], say: Say, summary: DemoSummary) -> None:
    say("4/6 One roleplay attempt through the API")
    async with httpx.AsyncClient(base_url=app_url, timeout=300) as api:
        for employee_id in _sales_first(engine, employee_ids):
            headers = _learner_headers(engine, employee_id)
            scenarios = (await api.get("/roleplay/scenarios", params={"employee_id": employee_id}, headers=headers)).json()
            if scenarios:
                break
        else:
            say("    no learner has a scenario that suits their role; skipped")
            return

        scenario_id = _preferred_scenario([scenario["id"] for scenario in scenarios])
        started = await api.post("/roleplay/sessions", json={"employee_id": employee_id, "scenario_id": scenario_id}, headers=headers)
        started.raise_for_status()
        session = started.json()
        say(f"    {employee_id} practises {session.get('scenario_title') or session.get('scenario_id')}")
        for text in LEARNER_TURNS:
            reply = await _send_turn(api, session["id"], text, headers)
            say(f"    learner: {text}\n    persona: {reply}")
            if reply.endswith("[session ended]"):
                break
        ended = await api.post(f"/roleplay/sessions/{session['id']}/end", headers=headers)
        ended.raise_for_status()
        score = ended.json()

    summary.roleplay = {"employee_id": employee_id, "score": score.get("overall"), "passed": score.get("passed")}
    say(f"    score {score.get('overall')} ({'pass' if score.get('passed') else 'not yet a pass'})")


def _preferred_scenario(scenario_ids: list[str]) -> str:
    for scenario_id in PREFERRED_SCENARIOS:
        if scenario_id in scenario_ids:
            return scenario_id
    return scenario_ids[0]


def _sales_first(engine: Engine, employee_ids: list[str]) -> list[str]:
    """Order learners so that sales staff come first: the demo's learner lines suit a sales call."""
    with session_scope(engine) as session:
        people = {person.employee_id: person for person in list_people(session)}
    return sorted(employee_ids, key=lambda employee_id: not (people[employee_id].department or "").startswith("Sales"))


def _learner_headers(engine: Engine, employee_id: str) -> dict[str, str]:
    with session_scope(engine) as session:
        _, raw_token = create_token(session, role=Role.LEARNER, employee_id=employee_id, name="demo")
    return {"Authorization": f"Bearer {raw_token}"}


async def _send_turn(api: httpx.AsyncClient, session_id: str, text: str, headers: dict[str, str]) -> str:
    chunks: list[str] = []
    event = ""
    async with api.stream("POST", f"/roleplay/sessions/{session_id}/turns", json={"text": text}, headers=headers) as response:
        response.raise_for_status()
        async for line in response.aiter_lines():
            if line.startswith("event:"):
                event = line.removeprefix("event:").strip()
            elif line.startswith("data:"):
                data = json.loads(line.removeprefix("data:").strip())
                if event == "token":
                    chunks.append(data["text"])
                elif event == "error":
                    return f"[error: {data.get('detail')}]"
                elif event == "done" and data.get("status") not in (None, "active"):
                    chunks.append(" [session ended]")
    return "".join(chunks).strip()


async def write_back(settings: Settings, engine: Engine, sandboxes: Sandboxes, say: Say, summary: DemoSummary) -> None:
    say("5/6 Collecting results from Moodle and roleplay")
    report = await collect_moodle_results(settings, engine, rules=load_course_rules(settings))
    summary.completions_collected = report.completions_recorded
    summary.roleplay_results = collect_roleplay_results(settings, engine)
    say(f"    {report.courses_read} courses read for {report.people} people, {report.completions_recorded} completions, "
        f"{summary.roleplay_results} roleplay results, {report.errors} errors")

    say(f"6/6 Delivering results to {settings.results_targets.replace(',', ' and ')} (CSV under {settings.data_dir / 'exports'})")
    delivery = await deliver_outbox(settings, engine, once=True)
    summary.delivered = delivery.delivered
    summary.dead_letters = delivery.dead
    summary.training_records = len(sandboxes.bamboohr_state.training_records)
    say(f"    {delivery.delivered} deliveries, {delivery.dead} dead letters; BambooHR now holds {summary.training_records} training records")
