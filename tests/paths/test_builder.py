"""The path builder on a 15-course catalogue with the real encoder."""

from __future__ import annotations

from datetime import date

import pytest

from assistant.paths.builder import (
    BuilderOptions,
    Certification,
    CourseRecord,
    IndexSearch,
    LearningHistory,
    PathInputs,
    PathPlan,
    PreviousItem,
    RoleContext,
    build_path,
)
from assistant.paths.catalogue import CatalogueConfig, CatalogueCourse, CatalogueSnapshot, Level
from assistant.paths.index import CourseIndex, MemoryEmbeddingStore, QueryEncoder
from assistant.paths.models import ItemKind, ItemStatus
from assistant.paths.roles import RoleResolver

AS_OF = date(2026, 1, 1)
SALES = RoleContext("E100", title="Area Sales Manager", department="Sales", hire_date=date(2026, 1, 10))
DBA = RoleContext("E200", title="Sr. DBA", department="IT/IS", hire_date=date(2026, 1, 10))


def _plan(
    catalogue: CatalogueSnapshot,
    config: CatalogueConfig,
    search: IndexSearch,
    context: RoleContext,
    history: LearningHistory = LearningHistory(),
    *,
    previous: tuple[PreviousItem, ...] = (),
    options: BuilderOptions | None = None,
) -> PathPlan:
    profile = RoleResolver(config).profile_for(context.title)
    inputs = PathInputs(context, profile, history, AS_OF, previous)
    return build_path(catalogue, config, search, inputs, options)


def _keys(plan: PathPlan) -> list[str]:
    return [item.course.key for item in plan.items]


def _item(plan: PathPlan, key: str):  # type: ignore[no-untyped-def]
    return next(item for item in plan.items if item.course.key == key)


class TestMandatory:
    def test_mandatory_items_come_first_with_due_dates(self, catalogue, config, search) -> None:
        plan = _plan(catalogue, config, search, SALES)

        assert _keys(plan)[:3] == ["COC-101", "ITSEC-101", "CRM-201"]
        assert _item(plan, "COC-101").due_date == date(2026, 2, 9)
        assert _item(plan, "CRM-201").due_date == date(2026, 3, 11)
        assert all(item.kind is ItemKind.MANDATORY for item in plan.items[:3])

    def test_department_rule_skips_other_departments(self, catalogue, config, search) -> None:
        plan = _plan(catalogue, config, search, DBA)

        mandatory = [item.course.key for item in plan.items if item.kind is ItemKind.MANDATORY]
        assert mandatory == ["COC-101", "ITSEC-101"]

    def test_due_date_counts_from_assignment_after_hire(self, catalogue, config, search) -> None:
        veteran = RoleContext("E300", title="Area Sales Manager", department="Sales", hire_date=date(2015, 3, 1))

        plan = _plan(catalogue, config, search, veteran)

        assert _item(plan, "COC-101").due_date == date(2026, 1, 31)

    def test_due_date_kept_from_previous_assignment(self, catalogue, config, search) -> None:
        veteran = RoleContext("E300", title="Area Sales Manager", department="Sales", hire_date=date(2015, 3, 1))
        previous = (PreviousItem("COC-101", date(2025, 12, 1)),)

        plan = _plan(catalogue, config, search, veteran, previous=previous)

        assert _item(plan, "COC-101").due_date == date(2025, 12, 31)
        assert _item(plan, "COC-101").assigned_on == date(2025, 12, 1)

    def test_mandatory_completed_on_path_is_kept_and_explained(self, catalogue, config, search) -> None:
        previous = (PreviousItem("COC-101", date(2025, 12, 20)),)
        history = LearningHistory(records=(CourseRecord("COC-101", True, date(2025, 12, 28), None),))

        plan = _plan(catalogue, config, search, SALES, history, previous=previous)

        item = _item(plan, "COC-101")
        assert item.status is ItemStatus.COMPLETED
        assert "Completed while on this path." in item.explanation
        assert "'company onboarding'" in item.explanation

    def test_explanation_names_rule_and_due_date(self, catalogue, config, search) -> None:
        plan = _plan(catalogue, config, search, SALES)

        explanation = _item(plan, "COC-101").explanation
        assert "'company onboarding'" in explanation
        assert "2026-02-09" in explanation


class TestGapAndExclusion:
    def test_gap_excludes_held_skills(self, catalogue, config, search) -> None:
        history = LearningHistory(records=(CourseRecord("NEG-201", True, date(2025, 5, 1), 80.0),))

        plan = _plan(catalogue, config, search, SALES, history)

        assert "Negotiation" not in plan.gap_skills
        assert "Negotiation" in plan.held_skills
        assert "Sales" in plan.gap_skills

    def test_skill_certification_counts_as_held(self, catalogue, config, search) -> None:
        history = LearningHistory(certifications=(Certification(skill="SQL", expires_on=date(2027, 1, 1)),))

        plan = _plan(catalogue, config, search, DBA, history)

        assert "SQL" not in plan.gap_skills
        assert "SQL" in plan.held_skills

    def test_completed_course_is_excluded(self, catalogue, config, search) -> None:
        history = LearningHistory(records=(CourseRecord("ITSEC-101", True, date(2025, 11, 1)),))

        plan = _plan(catalogue, config, search, SALES, history)

        assert "ITSEC-101" not in _keys(plan)
        excluded = {entry["course"]: entry["reason"] for entry in plan.excluded}
        assert excluded["ITSEC-101"] == "completed on 2025-11-01, valid until 2026-11-01"

    def test_expired_completion_returns_as_renewal(self, catalogue, config, search) -> None:
        history = LearningHistory(records=(CourseRecord("COC-101", True, date(2024, 6, 1)),))

        plan = _plan(catalogue, config, search, SALES, history)

        item = _item(plan, "COC-101")
        assert item.status is ItemStatus.PLANNED
        assert "Renewal" in item.explanation

    def test_certified_course_is_excluded_until_expiry(self, catalogue, config, search) -> None:
        valid = LearningHistory(certifications=(Certification(course_key="SQL-101", expires_on=date(2027, 1, 1)),))
        expired = LearningHistory(certifications=(Certification(course_key="SQL-101", expires_on=date(2025, 1, 1)),))

        assert "SQL-101" not in _keys(_plan(catalogue, config, search, DBA, valid))
        assert "SQL-101" in _keys(_plan(catalogue, config, search, DBA, expired))

    def test_every_recommendation_covers_a_missing_skill(self, catalogue, config, search) -> None:
        plan = _plan(catalogue, config, search, DBA)

        recommended = [item for item in plan.items if item.kind is ItemKind.RECOMMENDED]
        assert recommended
        for item in recommended:
            assert item.covered_skills
            assert set(item.covered_skills) <= set(plan.gap_skills)
            assert item.similarity is not None

    def test_all_skills_held_recommends_nothing(self, catalogue, config, search) -> None:
        history = LearningHistory(
            certifications=tuple(Certification(skill=skill) for skill in ("SQL", "Database Administration", "Microsoft Excel"))
        )

        plan = _plan(catalogue, config, search, DBA, history)

        assert plan.gap_skills == []
        assert all(item.kind is ItemKind.MANDATORY for item in plan.items)


class TestSequence:
    def test_prerequisites_come_before_dependants(self, catalogue, config, search) -> None:
        plan = _plan(catalogue, config, search, DBA)
        keys = _keys(plan)

        assert "SQL-301" in keys
        assert keys.index("SQL-101") < keys.index("SQL-301")
        assert _item(plan, "SQL-101").reasons.get("prerequisite_for") == ["SQL-301"] or _item(
            plan, "SQL-101"
        ).kind is ItemKind.RECOMMENDED

    def test_non_mandatory_items_ordered_by_level(self, catalogue, config, search) -> None:
        plan = _plan(catalogue, config, search, DBA)

        others = [item for item in plan.items if item.kind is not ItemKind.MANDATORY]
        ranks = [item.course.level.rank for item in others if item.course.level]
        assert ranks == sorted(ranks)

    def test_prerequisite_cycle_is_reported(self, encoder, queries: QueryEncoder) -> None:
        courses = [
            CatalogueCourse(1, "A-1", "SQL Queries", skills=("SQL",), level=Level.INTRODUCTORY, prerequisites=("B-1",)),
            CatalogueCourse(2, "B-1", "SQL Joins", skills=("SQL Joins",), level=Level.INTRODUCTORY, prerequisites=("A-1",)),
        ]
        catalogue = CatalogueSnapshot(courses)
        index = CourseIndex(encoder, MemoryEmbeddingStore())
        index.update(courses)
        config = CatalogueConfig.model_validate({"roles": {"Analyst": {"skills": {"SQL": 1.0, "SQL Joins": 1.0}}}})

        plan = _plan(catalogue, config, IndexSearch(index, queries), RoleContext("E1", title="Analyst"))

        assert sorted(_keys(plan)) == ["A-1", "B-1"]
        assert any("cycle" in warning and "A-1" in warning and "B-1" in warning for warning in plan.warnings)


class TestAdaptive:
    def test_weak_grade_adds_reinforcement(self, catalogue, config, search) -> None:
        history = LearningHistory(records=(CourseRecord("SALES-301", True, date(2025, 6, 1), 42.0),))

        plan = _plan(catalogue, config, search, SALES, history)

        reinforcement = [item for item in plan.items if item.kind is ItemKind.REINFORCEMENT]
        assert len(reinforcement) == 1
        assert reinforcement[0].reasons["after"] == "SALES-301"
        assert set(reinforcement[0].covered_skills) & {"Sales", "Negotiation", "Account Management"}
        assert "42 %" in reinforcement[0].explanation

    def test_passing_grade_adds_no_reinforcement(self, catalogue, config, search) -> None:
        history = LearningHistory(records=(CourseRecord("SALES-301", True, date(2025, 6, 1), 75.0),))

        plan = _plan(catalogue, config, search, SALES, history)

        assert not [item for item in plan.items if item.kind is ItemKind.REINFORCEMENT]

    def test_reinforcement_follows_weak_course_on_path(self, catalogue, config, search) -> None:
        history = LearningHistory(records=(CourseRecord("NEG-201", False, None, 35.0),))

        plan = _plan(catalogue, config, search, SALES, history)
        keys = _keys(plan)

        reinforcement = next(item for item in plan.items if item.kind is ItemKind.REINFORCEMENT)
        assert "NEG-201" in keys
        assert _item(plan, "NEG-201").status is ItemStatus.IN_PROGRESS
        assert keys.index("NEG-201") < keys.index(reinforcement.course.key)

    def test_no_reinforcement_course_is_reported(self, catalogue, config, search) -> None:
        # Every other course on network security is mandatory or the weak course itself.
        history = LearningHistory(records=(CourseRecord("NETSEC-201", True, date(2025, 6, 1), 35.0),))

        plan = _plan(catalogue, config, search, DBA, history)

        assert not [item for item in plan.items if item.kind is ItemKind.REINFORCEMENT]
        assert any("no reinforcement course found" in warning and "NETSEC-201" in warning for warning in plan.warnings)

    def test_strong_grade_skips_next_fundamentals_course(self, catalogue, config, search) -> None:
        junior = RoleContext("E500", title="Junior DBA", department="IT/IS")
        baseline = _plan(catalogue, config, search, junior)
        assert _keys(baseline).index("SQL-101") < _keys(baseline).index("SQL-301")

        # A 95 % grade in the advanced SQL course, still in progress, makes its fundamentals course redundant.
        strong = LearningHistory(records=(CourseRecord("SQL-301", False, None, 95.0),))
        plan = _plan(catalogue, config, search, junior, strong)

        assert "SQL-101" not in _keys(plan)
        assert "SQL-301" in _keys(plan)
        skipped = {entry["course"]: entry["reason"] for entry in plan.excluded}
        assert skipped["SQL-101"] == "skipped: grade of 95 % in SQL-301 on SQL"

    def test_average_grade_skips_nothing(self, catalogue, config, search) -> None:
        junior = RoleContext("E500", title="Junior DBA", department="IT/IS")
        history = LearningHistory(records=(CourseRecord("SQL-301", False, None, 80.0),))

        plan = _plan(catalogue, config, search, junior, history)

        assert "SQL-101" in _keys(plan)
        assert not any(entry["reason"].startswith("skipped") for entry in plan.excluded)


class TestDeterminism:
    def test_same_inputs_give_identical_path(self, catalogue, config, search) -> None:
        history = LearningHistory(records=(CourseRecord("SALES-301", True, date(2025, 6, 1), 42.0),))

        first = _plan(catalogue, config, search, SALES, history)
        second = _plan(catalogue, config, search, SALES, history)

        assert first.signature() == second.signature()
        assert [item.explanation for item in first.items] == [item.explanation for item in second.items]
        assert first.inputs_hash == second.inputs_hash

    def test_fresh_index_gives_identical_path(self, catalogue, config, search, encoder) -> None:
        rebuilt = CourseIndex(encoder, MemoryEmbeddingStore())
        rebuilt.update(list(reversed(catalogue.courses)))

        first = _plan(catalogue, config, search, DBA)
        second = _plan(catalogue, config, IndexSearch(rebuilt, QueryEncoder(encoder)), DBA)

        assert first.signature() == second.signature()

    @pytest.mark.parametrize("title", ["Area Sales Manager", "Sr. DBA", "Unknown Title"])
    def test_different_history_changes_hash(self, catalogue, config, search, title: str) -> None:
        context = RoleContext("E1", title=title)
        history = LearningHistory(records=(CourseRecord("SQL-101", True, date(2025, 9, 1)),))

        assert _plan(catalogue, config, search, context).inputs_hash != _plan(
            catalogue, config, search, context, history
        ).inputs_hash
