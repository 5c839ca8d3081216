"""Learning history from collected results, HR certifications, and the narrative for managers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import UTC, date, datetime

import pytest
from sqlmodel import Session

from assistant.llm.base import ChatMessage, ChatResult, Usage
from assistant.llm.exceptions import LLMUnavailable
from assistant.paths.builder import CourseRecord
from assistant.paths.history import certifications_from_person, combine, history_from_results
from assistant.paths.models import LearningPath, LearningPathItem
from assistant.paths.narrative import fallback_narrative, manager_narrative
from assistant.people.models import Person
from assistant.results.models import CourseCompletion, CourseState, GradeRecord


def test_results_tables_give_completions_and_percent(session: Session) -> None:
    session.add(CourseState(employee_id="E1", moodle_user_id=4, course_id=6, course_code="SALES-301", status="complete"))
    session.add(CourseState(employee_id="E1", moodle_user_id=4, course_id=5, course_code="NEG-201", status="incomplete"))
    session.add(
        CourseCompletion(employee_id="E1", course_id=6, course_code="SALES-301", completed_at=datetime(2026, 3, 2, 23, 30, tzinfo=UTC), grade=42.0, grade_max=100.0)
    )
    session.add(GradeRecord(employee_id="E1", course_id=5, course_code="NEG-201", item_id=8, item_type="course", grade=9.5, grade_max=10.0, percent=95.0))
    session.commit()

    records = history_from_results(session, "E1")

    assert records["SALES-301"] == CourseRecord("SALES-301", True, date(2026, 3, 2), 42.0)
    assert records["NEG-201"] == CourseRecord("NEG-201", False, None, 95.0)


def test_combine_keeps_grade_when_later_source_has_none() -> None:
    collected = {"A": CourseRecord("A", True, date(2026, 1, 1), 80.0)}
    live = {"A": CourseRecord("A", True, None, None), "B": CourseRecord("B", False)}

    history = combine(collected, live)

    assert history.records == (CourseRecord("A", True, date(2026, 1, 1), 80.0), CourseRecord("B", False))


def test_person_certifications_are_parsed_and_checked() -> None:
    person = Person(
        employee_id="E1",
        extra={"certifications": [{"course": "ITSEC-101", "expires_on": "2027-01-31"}, {"skill": "SQL"}, {"course": "X", "issued_on": "31/01/2026"}, "CPR"]},
    )

    certifications, warnings = certifications_from_person(person)

    assert [(c.course_key, c.skill, c.expires_on) for c in certifications] == [
        ("ITSEC-101", None, date(2027, 1, 31)), (None, "SQL", None)
    ]
    assert len(warnings) == 2
    assert warnings[0].startswith("certification #3 of E1 was ignored: Invalid isoformat string")
    assert warnings[1] == "certification #4 of E1 was ignored: expected an object with 'course' or 'skill'"


def _path() -> tuple[LearningPath, list[LearningPathItem]]:
    path = LearningPath(id=1, employee_id="E1", version=2, reason="role_change", job_title="Area Sales Manager", role_source="configured", as_of=date(2026, 1, 1), inputs_hash="x", gap_skills=["Sales"])
    items = [
        LearningPathItem(path_id=1, position=1, course_id=2, shortname="COC-101", title="Code of Conduct", kind="mandatory", due_date=date(2026, 1, 31), assigned_on=date(2026, 1, 1), explanation="rule"),
        LearningPathItem(path_id=1, position=2, course_id=6, shortname="SALES-301", title="Sales Playbook", kind="recommended", assigned_on=date(2026, 1, 1), covered_skills=["Sales"], explanation="covers Sales"),
    ]
    return path, items


def test_fallback_narrative_names_mandatory_and_skills() -> None:
    path, items = _path()

    text = fallback_narrative(path, items)

    assert text == (
        "Path version 2 for Area Sales Manager: 2 courses to go, 0 completed. "
        "1 mandatory: Code of Conduct, the first due 2026-01-31. The other courses build Sales."
    )


class _FailingModel:
    provider = "openai"
    model = "test-model"

    async def chat(self, messages: Sequence[ChatMessage], **_: object) -> ChatResult:
        raise LLMUnavailable("model endpoint timed out")

    def stream_chat(self, messages: Sequence[ChatMessage], **_: object) -> AsyncIterator[str]:
        raise NotImplementedError


class _EchoModel(_FailingModel):
    def __init__(self) -> None:
        self.messages: list[ChatMessage] = []

    async def chat(self, messages: Sequence[ChatMessage], **_: object) -> ChatResult:
        self.messages = list(messages)
        return ChatResult("Two courses, one mandatory.", Usage(10, 5))


async def test_narrative_falls_back_when_model_fails() -> None:
    path, items = _path()

    assert await manager_narrative(_FailingModel(), path, items) == fallback_narrative(path, items)  # type: ignore[arg-type]


async def test_narrative_puts_path_facts_inside_delimiters() -> None:
    path, items = _path()
    model = _EchoModel()

    text = await manager_narrative(model, path, items)  # type: ignore[arg-type]

    assert text == "Two courses, one mandatory."
    user = model.messages[1]["content"]
    assert user.startswith("<path>\n")
    assert user.endswith("\n</path>")
    assert "Sales Playbook (recommended, planned)" in user


@pytest.mark.parametrize("provider", ["scripted", None])
async def test_narrative_without_suitable_model_uses_template(provider: str | None) -> None:
    path, items = _path()
    model = _EchoModel() if provider else None
    if model is not None:
        model.provider = provider  # type: ignore[assignment]

    assert await manager_narrative(model, path, items) == fallback_narrative(path, items)  # type: ignore[arg-type]
