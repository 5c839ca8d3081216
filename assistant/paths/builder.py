"""Build one person's learning path from their role, their history and the catalogue.

The steps, in order:
1. mandatory courses whose rules match the person, each with a due date;
2. the skill gap: required role skills that no held course or certification covers;
3. candidates from the index for the role as a whole and for each gap skill, re-ranked
   by relevance, new gap coverage and level fit, with maximal marginal relevance (MMR)
   against courses already chosen;
4. missing prerequisites, then the adaptive steps: a reinforcement course after a weak
   grade and, after a strong grade, the next introductory course on that skill skipped;
5. a topological order: prerequisites first, mandatory courses by due date, then level.

`build_path` is a pure function of its inputs; ties break on course id, so the same
inputs give the same path.
"""

from __future__ import annotations

import fnmatch
import graphlib
import hashlib
import heapq
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from typing import Any, Protocol

import numpy as np
from dateutil.relativedelta import relativedelta

from assistant.paths.catalogue import CatalogueConfig, CatalogueCourse, CatalogueSnapshot, Level, MandatoryRule
from assistant.paths.index import CourseIndex, QueryEncoder
from assistant.paths.models import ItemKind, ItemStatus
from assistant.paths.roles import RoleProfile, seniority_of
from assistant.paths.skills import matching_skills, skills_match

# A course without a level counts as intermediate when levels are compared.
UNKNOWN_LEVEL_RANK = 1


class CandidateSearch(Protocol):
    """Nearest courses for query texts, and cosine similarities between courses and texts."""

    def search(self, texts: Sequence[str], k: int) -> list[list[tuple[int, float]]]: ...

    def query_similarity(self, course_ids: Sequence[int], texts: Sequence[str]) -> np.ndarray: ...

    def course_similarity(self, course_ids: Sequence[int]) -> np.ndarray: ...


class IndexSearch:
    """`CandidateSearch` over a `CourseIndex`, embedding queries through a cache."""

    def __init__(self, index: CourseIndex, queries: QueryEncoder) -> None:
        self.index = index
        self.queries = queries

    def search(self, texts: Sequence[str], k: int) -> list[list[tuple[int, float]]]:
        return self.index.search(self.queries.encode(list(texts)), k)

    def query_similarity(self, course_ids: Sequence[int], texts: Sequence[str]) -> np.ndarray:
        if not course_ids or not texts:
            return np.zeros((len(course_ids), len(texts)), dtype=np.float32)
        return self.index.vectors(course_ids) @ self.queries.encode(list(texts)).T

    def course_similarity(self, course_ids: Sequence[int]) -> np.ndarray:
        vectors = self.index.vectors(course_ids)
        return vectors @ vectors.T


@dataclass(frozen=True)
class RoleContext:
    """The role metadata a path depends on."""

    employee_id: str
    title: str | None = None
    department: str | None = None
    division: str | None = None
    location: str | None = None
    manager_employee_id: str | None = None
    hire_date: date | None = None


@dataclass(frozen=True)
class CourseRecord:
    """One course in a person's history: enrolled or completed, with the course total in percent."""

    course_key: str
    completed: bool
    completed_on: date | None = None
    grade: float | None = None


@dataclass(frozen=True)
class Certification:
    """A certification carried over from HR: for a course, for a skill, or both."""

    course_key: str | None = None
    skill: str | None = None
    issued_on: date | None = None
    expires_on: date | None = None


@dataclass(frozen=True)
class LearningHistory:
    records: tuple[CourseRecord, ...] = ()
    certifications: tuple[Certification, ...] = ()


@dataclass(frozen=True)
class PreviousItem:
    """A course of the person's current path version and the date it was first assigned."""

    course_key: str
    assigned_on: date


@dataclass(frozen=True)
class PathInputs:
    context: RoleContext
    profile: RoleProfile
    history: LearningHistory
    as_of: date
    previous: tuple[PreviousItem, ...] = ()


@dataclass(frozen=True)
class BuilderOptions:
    max_recommended: int = 8
    # Hits fetched from the index per query before re-ranking.
    candidates_per_query: int = 40
    # MMR trade-off: 1.0 ranks by score alone, lower values favour courses unlike those chosen.
    mmr_lambda: float = 0.7
    # Cosine similarity to the title a course needs when the role has no known skills.
    min_similarity: float = 0.45
    # Stop recommending once no candidate covers a missing skill not yet covered. The eval
    # turns this off to rank a full top 10.
    require_new_coverage: bool = True
    # Cosine similarity at which a course without listed skills counts as covering a skill.
    skill_similarity: float = 0.5
    # Percent grades: below the first adds reinforcement, from the second on skips ahead.
    reinforce_below: float = 60.0
    skip_ahead_above: float = 90.0
    relevance_weight: float = 0.45
    coverage_weight: float = 0.4
    # Weight of all the gap skills a course covers, including those earlier choices cover.
    # NOTE: tuned on the same titles that `python -m evals.paths` reports (no held-out split).
    total_coverage_weight: float = 2.5
    level_weight: float = 0.15


@dataclass
class PlannedItem:
    course: CatalogueCourse
    kind: ItemKind
    assigned_on: date
    due_date: date | None = None
    covered_skills: list[str] = field(default_factory=list)
    similarity: float | None = None
    score: float = 0.0
    status: ItemStatus = ItemStatus.PLANNED
    grade: float | None = None
    reasons: dict[str, Any] = field(default_factory=dict)
    explanation: str = ""


@dataclass
class PathPlan:
    items: list[PlannedItem]
    gap_skills: list[str]
    held_skills: list[str]
    excluded: list[dict[str, Any]]
    warnings: list[str]
    inputs_hash: str

    def signature(self) -> list[tuple[str, str, str | None, str]]:
        """Return what makes two plans the same for a person: courses, kinds, due dates and states, in order."""
        return [
            (item.course.key, item.kind.value, item.due_date.isoformat() if item.due_date else None, item.status.value)
            for item in self.items
        ]


@dataclass(frozen=True)
class _HeldCourse:
    course_key: str
    source: str
    since: date | None
    valid_until: date | None


# --- step 1: completed and certified courses ---


def _valid_until(completed_on: date | None, months: int | None) -> date | None:
    if completed_on is None or months is None:
        return None
    return completed_on + relativedelta(months=months)


def held_courses(
    history: LearningHistory, catalogue: CatalogueSnapshot, as_of: date
) -> tuple[dict[str, _HeldCourse], dict[str, _HeldCourse]]:
    """Split completed and certified courses into (still valid, expired), keyed by course key."""
    valid: dict[str, _HeldCourse] = {}
    expired: dict[str, _HeldCourse] = {}

    for record in sorted(history.records, key=lambda record: record.course_key):
        if not record.completed:
            continue
        course = catalogue.get(record.course_key)
        until = _valid_until(record.completed_on, course.validity_months if course else None)
        held = _HeldCourse(record.course_key, "completed", record.completed_on, until)
        (expired if until is not None and until <= as_of else valid)[record.course_key] = held

    for cert in history.certifications:
        if not cert.course_key:
            continue
        held = _HeldCourse(cert.course_key, "certified", cert.issued_on, cert.expires_on)
        if cert.expires_on is not None and cert.expires_on <= as_of:
            expired.setdefault(cert.course_key, held)
            continue
        valid[cert.course_key] = held
        expired.pop(cert.course_key, None)
    return valid, expired


def held_skills(
    valid: dict[str, _HeldCourse], history: LearningHistory, catalogue: CatalogueSnapshot, as_of: date
) -> list[str]:
    """List the skills taught by valid courses and named by unexpired skill certifications."""
    skills: dict[str, None] = {}
    for key in sorted(valid):
        course = catalogue.get(key)
        for skill in course.skills if course else ():
            skills.setdefault(skill, None)
    for cert in history.certifications:
        if cert.skill and (cert.expires_on is None or cert.expires_on > as_of):
            skills.setdefault(cert.skill, None)
    return list(skills)


def _held_reason(held: _HeldCourse) -> str:
    since = f" on {held.since.isoformat()}" if held.since else ""
    until = f", valid until {held.valid_until.isoformat()}" if held.valid_until else ""
    return f"{held.source}{since}{until}"


# --- step 1: mandatory rules ---


def _matches(patterns: list[str], value: str | None) -> bool:
    if not patterns:
        return True
    if value is None:
        return False
    return any(fnmatch.fnmatchcase(value.lower(), pattern.lower()) for pattern in patterns)


def rule_applies(rule: MandatoryRule, context: RoleContext) -> bool:
    """Tell whether every pattern the rule gives matches the person's role metadata."""
    return (
        _matches(rule.department, context.department)
        and _matches(rule.division, context.division)
        and _matches(rule.title, context.title)
        and _matches(rule.location, context.location)
    )


def _due_date(rule: MandatoryRule, hire_date: date | None, assigned_on: date) -> date | None:
    # Count from the hire date for new joiners. For people the rule reaches later (a role
    # change, a new rule), count from the first assignment, so that no one starts overdue.
    if rule.due_days is None:
        return None
    anchor = max(hire_date, assigned_on) if hire_date else assigned_on
    return anchor + timedelta(days=rule.due_days)


# --- the builder ---


class _Builder:
    def __init__(
        self,
        catalogue: CatalogueSnapshot,
        config: CatalogueConfig,
        search: CandidateSearch,
        inputs: PathInputs,
        options: BuilderOptions,
    ) -> None:
        self.catalogue = catalogue
        self.config = config
        self.search = search
        self.inputs = inputs
        self.options = options
        self.items: dict[str, PlannedItem] = {}
        self.excluded: dict[str, dict[str, Any]] = {}
        self.warnings: list[str] = []
        self.previous = {item.course_key: item.assigned_on for item in inputs.previous}
        self.records = {record.course_key: record for record in inputs.history.records}
        self.valid, self.expired = held_courses(inputs.history, catalogue, inputs.as_of)
        self.held = held_skills(self.valid, inputs.history, catalogue, inputs.as_of)
        self.target_level = seniority_of(inputs.context.title)

    # Shared helpers

    def _assigned_on(self, key: str) -> date:
        return self.previous.get(key, self.inputs.as_of)

    def _exclude_if_held(self, course: CatalogueCourse, kind: ItemKind = ItemKind.RECOMMENDED) -> bool:
        """Record a held course as excluded, unless it was in the previous version (kept as completed)."""
        held = self.valid.get(course.key) or (self.valid.get(course.idnumber) if course.idnumber else None)
        if held is None:
            return False
        if course.key in self.previous and course.key not in self.items:
            record = self.records.get(course.key)
            self.items[course.key] = PlannedItem(
                course,
                kind,
                self._assigned_on(course.key),
                status=ItemStatus.COMPLETED,
                grade=record.grade if record else None,
                reasons={"kept": "completed while on this path"},
            )
            return True
        self.excluded.setdefault(course.key, {"course": course.key, "title": course.title, "reason": _held_reason(held)})
        return True

    def _status_of(self, key: str) -> tuple[ItemStatus, float | None]:
        record = self.records.get(key)
        if record is None:
            return ItemStatus.PLANNED, None
        if record.completed and key in self.expired:
            return ItemStatus.PLANNED, record.grade
        return (ItemStatus.COMPLETED if record.completed else ItemStatus.IN_PROGRESS), record.grade

    # Step 1

    def add_mandatory(self) -> None:
        for rule in self.config.mandatory:
            if not rule_applies(rule, self.inputs.context):
                continue
            for key in rule.courses:
                self._add_mandatory_course(rule, key)

    def _add_mandatory_course(self, rule: MandatoryRule, key: str) -> None:
        course = self.catalogue.get(key)
        if course is None:
            self.warnings.append(f"mandatory course {key!r} of rule {rule.name!r} is not in the catalogue")
            return
        if self._exclude_if_held(course, ItemKind.MANDATORY):
            kept = self.items.get(course.key)
            if kept is not None and kept.kind is ItemKind.MANDATORY:
                kept.reasons.setdefault("rules", []).append(rule.name)
            return

        assigned_on = self._assigned_on(course.key)
        due = _due_date(rule, self.inputs.context.hire_date, assigned_on)
        existing = self.items.get(course.key)
        if existing is not None and existing.kind is ItemKind.MANDATORY:
            existing.reasons["rules"].append(rule.name)
            if due is not None and (existing.due_date is None or due < existing.due_date):
                existing.due_date = due
            return

        status, grade = self._status_of(course.key)
        reasons: dict[str, Any] = {"rules": [rule.name], "company_wide": rule.is_company_wide}
        if course.key in self.expired:
            reasons["renewal"] = _held_reason(self.expired[course.key])
        self.items[course.key] = PlannedItem(
            course, ItemKind.MANDATORY, assigned_on, due, status=status, grade=grade, reasons=reasons
        )

    # Step 2

    def gap(self) -> list[tuple[str, float]]:
        return [
            (skill.name, skill.weight)
            for skill in self.inputs.profile.skills
            if not any(skills_match(skill.name, held) for held in self.held)
        ]

    def held_role_skills(self) -> list[str]:
        return [
            skill.name
            for skill in self.inputs.profile.skills
            if any(skills_match(skill.name, held) for held in self.held)
        ]

    # Step 3

    def role_query(self) -> str | None:
        title = self.inputs.profile.name or self.inputs.context.title
        if not title:
            return None
        top = [skill.name for skill in self.inputs.profile.skills[:8]]
        return f"{title}. Skills: {', '.join(top)}" if top else title

    def recommend(self, gap: list[tuple[str, float]]) -> None:
        """Add recommended courses: each covers a missing role skill, or for a role without
        known skills, matches the title at `min_similarity` or more."""
        role_query = self.role_query()
        if role_query is None or (self.inputs.profile.skills and not gap):
            return
        queries = [role_query] + [name for name, _ in gap]
        candidates = self._candidates(queries)
        if not candidates:
            return

        similarity = self.search.query_similarity(candidates, queries)
        coverage = [self._coverage(self.catalogue.by_id[cid], similarity[row, 1:], gap) for row, cid in enumerate(candidates)]
        relevance = self._relevance(similarity, has_gap=bool(gap))
        if gap:
            keep = [row for row in range(len(candidates)) if coverage[row]]
        else:
            keep = [row for row in range(len(candidates)) if similarity[row, 0] >= self.options.min_similarity]
        already = self._covered_by_items(gap)
        selected = self._mmr(candidates, keep, relevance, coverage, gap, already)

        for rank, row in enumerate(selected, start=1):
            self._add_recommended(candidates[row], similarity[row], queries, coverage[row], relevance[row])
            self.items[self.catalogue.by_id[candidates[row]].key].reasons["rank"] = rank

    def _covered_by_items(self, gap: list[tuple[str, float]]) -> set[str]:
        """Mark the gap skills that courses already on the path (mandatory ones) teach, and return them."""
        names = [name for name, _ in gap]
        covered: set[str] = set()
        for item in self.items.values():
            taught = matching_skills(names, item.course.skills)
            if item.status is ItemStatus.PLANNED and taught:
                item.covered_skills = taught
                covered.update(taught)
        return covered

    def _candidates(self, queries: list[str]) -> list[int]:
        hits = self.search.search(queries, self.options.candidates_per_query)
        found = sorted({course_id for row in hits for course_id, _ in row})
        candidates = []
        for course_id in found:
            course = self.catalogue.by_id.get(course_id)
            if course is None or course.key in self.items:
                continue
            if self._exclude_if_held(course):
                continue
            candidates.append(course_id)
        return candidates

    def _coverage(self, course: CatalogueCourse, skill_similarity: np.ndarray, gap: list[tuple[str, float]]) -> set[str]:
        gap_names = [name for name, _ in gap]
        if course.skills:
            return {name for name in gap_names if course.id in self.catalogue.teaching(name)}
        return {name for name, sim in zip(gap_names, skill_similarity, strict=True) if sim >= self.options.skill_similarity}

    def _relevance(self, similarity: np.ndarray, *, has_gap: bool) -> np.ndarray:
        if not has_gap:
            return similarity[:, 0]
        return 0.5 * similarity[:, 0] + 0.5 * similarity[:, 1:].max(axis=1)

    def _level_fit(self, course: CatalogueCourse) -> float:
        target = self.target_level.rank
        rank = course.level.rank if course.level else UNKNOWN_LEVEL_RANK
        return 1.0 - abs(rank - target) / 2

    def _mmr(
        self,
        candidates: list[int],
        rows: list[int],
        relevance: np.ndarray,
        coverage: list[set[str]],
        gap: list[tuple[str, float]],
        already: set[str],
    ) -> list[int]:
        weights = dict(gap)
        total = sum(weights.values()) or 1.0
        pairwise = self.search.course_similarity(candidates)
        options = self.options
        covered = set(already)
        selected: list[int] = []
        remaining = list(rows)

        while remaining and len(selected) < options.max_recommended:
            scored = []
            for row in remaining:
                new = sum(weights[skill] for skill in coverage[row] - covered) / total
                overall = sum(weights[skill] for skill in coverage[row]) / total
                level = self._level_fit(self.catalogue.by_id[candidates[row]])
                base = (
                    options.relevance_weight * relevance[row]
                    + options.coverage_weight * new
                    + options.total_coverage_weight * overall
                    + options.level_weight * level
                )
                redundancy = max((float(pairwise[row, other]) for other in selected), default=0.0)
                gain = options.mmr_lambda * base - (1 - options.mmr_lambda) * redundancy
                scored.append((-round(float(gain), 9), candidates[row], row))
            _, _, best = min(scored)
            if gap and options.require_new_coverage and not coverage[best] - covered:
                break
            selected.append(best)
            covered |= coverage[best]
            remaining.remove(best)
        return selected

    def _add_recommended(
        self, course_id: int, similarity: np.ndarray, queries: list[str], covered: set[str], relevance: float
    ) -> None:
        course = self.catalogue.by_id[course_id]
        best = int(np.argmax(similarity))
        status, grade = self._status_of(course.key)
        ordered = [name for name in queries[1:] if name in covered]
        self.items[course.key] = PlannedItem(
            course,
            ItemKind.RECOMMENDED,
            self._assigned_on(course.key),
            covered_skills=ordered,
            similarity=round(float(similarity[best]), 4),
            score=round(float(relevance), 6),
            status=status,
            grade=grade,
            reasons={"matched_query": "role" if best == 0 else queries[best]},
        )

    # Step 4: prerequisites and adaptation

    def add_prerequisites(self) -> None:
        pending = sorted(self.items)
        while pending:
            key = pending.pop(0)
            for needed in self.items[key].course.prerequisites:
                course = self.catalogue.get(needed)
                if course is None:
                    self.warnings.append(f"prerequisite {needed!r} of {key!r} is not in the catalogue")
                    continue
                if course.key in self.items or course.key in self.valid:
                    continue
                status, grade = self._status_of(course.key)
                self.items[course.key] = PlannedItem(
                    course,
                    ItemKind.PREREQUISITE,
                    self._assigned_on(course.key),
                    status=status,
                    grade=grade,
                    reasons={"prerequisite_for": [key]},
                )
                pending.append(course.key)

    def _graded(self) -> list[tuple[CourseRecord, CatalogueCourse]]:
        graded = []
        for record in sorted(self.records.values(), key=lambda record: record.course_key):
            course = self.catalogue.get(record.course_key)
            if record.grade is not None and course is not None:
                graded.append((record, course))
        return graded

    def add_reinforcement(self) -> None:
        for record, course in self._graded():
            if record.grade is None or record.grade >= self.options.reinforce_below:
                continue
            skills = list(course.skills) or [course.title]
            choice = self._reinforcement_for(course, skills)
            if choice is None:
                self.warnings.append(
                    f"no reinforcement course found for {', '.join(skills)} after a grade of {record.grade:g} % in {course.key!r}"
                )
                continue
            reinforcement, matched, similarity = choice
            reasons = {"after": course.key, "grade": record.grade, "threshold": self.options.reinforce_below}
            existing = self.items.get(reinforcement.key)
            if existing is not None:
                # Already recommended: the same course now serves as the reinforcement.
                existing.kind = ItemKind.REINFORCEMENT
                existing.covered_skills = list(dict.fromkeys([*matched, *existing.covered_skills]))
                existing.reasons.update(reasons)
                continue
            self.items[reinforcement.key] = PlannedItem(
                reinforcement,
                ItemKind.REINFORCEMENT,
                self._assigned_on(reinforcement.key),
                covered_skills=matched,
                similarity=similarity,
                reasons=reasons,
            )

    def _reinforcement_for(
        self, weak: CatalogueCourse, skills: list[str]
    ) -> tuple[CatalogueCourse, list[str], float] | None:
        hits = self.search.search(skills, self.options.candidates_per_query)
        found = [course_id for course_id in sorted({cid for row in hits for cid, _ in row}) if self._may_reinforce(course_id, weak)]
        similarities = self.search.query_similarity(found, skills)
        ranked = []
        weak_rank = weak.level.rank if weak.level else UNKNOWN_LEVEL_RANK
        for course_id, similarity in zip(found, similarities, strict=True):
            course = self.catalogue.by_id[course_id]
            matched = matching_skills(skills, course.skills) if course.skills else [
                skill for skill, sim in zip(skills, similarity, strict=True) if sim >= self.options.skill_similarity
            ]
            if not matched:
                continue
            rank = course.level.rank if course.level else UNKNOWN_LEVEL_RANK
            ranked.append((rank > weak_rank, -len(matched), -round(float(similarity.max()), 6), course_id, matched))
        if not ranked:
            return None
        _, _, negative_similarity, course_id, matched = min(ranked)
        return self.catalogue.by_id[course_id], matched, -negative_similarity

    def _may_reinforce(self, course_id: int, weak: CatalogueCourse) -> bool:
        course = self.catalogue.by_id.get(course_id)
        if course is None or course.key == weak.key or course.key in self.valid or course.key in self.records:
            return False
        existing = self.items.get(course.key)
        return existing is None or (existing.kind is not ItemKind.MANDATORY and existing.status is ItemStatus.PLANNED)

    def skip_ahead(self, ordered: list[PlannedItem]) -> list[PlannedItem]:
        skipped: set[str] = set()
        for record, course in self._graded():
            if record.grade is None or record.grade < self.options.skip_ahead_above:
                continue
            for skill in course.skills:
                target = self._next_fundamentals(ordered, skill, course.key, skipped)
                if target is None:
                    continue
                skipped.add(target.course.key)
                self.excluded[target.course.key] = {
                    "course": target.course.key,
                    "title": target.course.title,
                    "reason": f"skipped: grade of {record.grade:g} % in {course.key} on {skill}",
                }
        return [item for item in ordered if item.course.key not in skipped]

    def _next_fundamentals(
        self, ordered: list[PlannedItem], skill: str, source: str, skipped: set[str]
    ) -> PlannedItem | None:
        for item in ordered:
            if item.course.key in skipped or item.course.key == source:
                continue
            if item.kind not in (ItemKind.RECOMMENDED, ItemKind.PREREQUISITE) or item.status is not ItemStatus.PLANNED:
                continue
            if item.course.level is not Level.INTRODUCTORY:
                continue
            if any(skills_match(skill, taught) for taught in item.course.skills):
                return item
        return None

    # Step 5

    def sequence(self) -> list[PlannedItem]:
        graph = self._graph()
        cycle_free = self._break_cycles(graph)
        sorter = graphlib.TopologicalSorter(cycle_free)
        sorter.prepare()
        heap: list[tuple[Any, ...]] = []
        ordered: list[PlannedItem] = []
        while sorter.is_active():
            for key in sorter.get_ready():
                heapq.heappush(heap, (*self._priority(self.items[key]), key))
            key = heapq.heappop(heap)[-1]
            ordered.append(self.items[key])
            sorter.done(key)
        return ordered

    def _graph(self) -> dict[str, set[str]]:
        graph: dict[str, set[str]] = {key: set() for key in self.items}
        for key, item in self.items.items():
            for needed in item.course.prerequisites:
                course = self.catalogue.get(needed)
                if course is not None and course.key in self.items:
                    graph[key].add(course.key)
            after = item.reasons.get("after")
            if item.kind is ItemKind.REINFORCEMENT and after in self.items:
                graph[key].add(after)
        return graph

    def _break_cycles(self, graph: dict[str, set[str]]) -> dict[str, set[str]]:
        while True:
            try:
                graphlib.TopologicalSorter(graph).prepare()
                return graph
            except graphlib.CycleError as exc:
                cycle = [str(key) for key in exc.args[1]]
                self.warnings.append(
                    f"prerequisites form a cycle ({' -> '.join(reversed(cycle))}); these courses are ordered by level instead"
                )
                members = set(cycle)
                for key in members:
                    graph[key] -= members

    def _priority(self, item: PlannedItem) -> tuple[Any, ...]:
        if item.status is ItemStatus.COMPLETED:
            group = 0
        elif item.kind is ItemKind.MANDATORY:
            group = 1
        else:
            group = 2
        due = item.due_date or date.max
        level = item.course.level.rank if item.course.level else UNKNOWN_LEVEL_RANK
        return (group, due, level, -item.score, item.course.id)

    # Explanations

    def explain(self, item: PlannedItem) -> str:
        parts: list[str] = []
        if item.status is ItemStatus.COMPLETED and "kept" in item.reasons:
            parts.append("Completed while on this path.")
        if item.kind is ItemKind.MANDATORY and item.reasons.get("rules"):
            rules = ", ".join(repr(rule) for rule in item.reasons["rules"])
            parts.append(f"Required by the mandatory rule {rules}.")
            if item.due_date:
                parts.append(f"Due by {item.due_date.isoformat()}.")
            if item.covered_skills:
                parts.append(f"Also covers the missing role skills {', '.join(item.covered_skills)}.")
            if "renewal" in item.reasons:
                parts.append(f"Renewal: the earlier completion has expired ({item.reasons['renewal']}).")
        if item.kind is ItemKind.RECOMMENDED and "kept" not in item.reasons:
            parts.append(self._explain_recommendation(item))
        if item.kind is ItemKind.PREREQUISITE:
            parts.append(f"Prerequisite of {', '.join(item.reasons['prerequisite_for'])}.")
        if item.kind is ItemKind.REINFORCEMENT:
            parts.append(
                f"Reinforcement of {', '.join(item.covered_skills)} after a grade of {item.reasons['grade']:g} % "
                f"in {item.reasons['after']} (below {item.reasons['threshold']:g} %)."
            )
        return " ".join(parts)

    def _explain_recommendation(self, item: PlannedItem) -> str:
        matched = item.reasons.get("matched_query")
        target = "the role as a whole" if matched == "role" else f"the skill {matched!r}"
        similarity = f"similarity {item.similarity:.2f} to {target}"
        if item.covered_skills:
            noun = "skill" if len(item.covered_skills) == 1 else "skills"
            return f"Covers the missing role {noun} {', '.join(item.covered_skills)}; {similarity}."
        return f"Matches the role without naming one of its missing skills; {similarity}."

    def run(self) -> PathPlan:
        self.add_mandatory()
        gap = self.gap()
        self.recommend(gap)
        self.add_prerequisites()
        self.add_reinforcement()
        self.add_prerequisites()
        ordered = self.skip_ahead(self.sequence())
        for item in ordered:
            item.explanation = self.explain(item)
        final_keys = {item.course.key for item in ordered}
        excluded = [entry for key, entry in sorted(self.excluded.items()) if key not in final_keys]
        return PathPlan(
            items=ordered,
            gap_skills=[name for name, _ in gap],
            held_skills=self.held_role_skills(),
            excluded=excluded,
            warnings=list(dict.fromkeys(self.warnings)),
            inputs_hash=inputs_hash(self.catalogue, self.config, self.inputs, self.options),
        )


def _json_default(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"cannot hash {type(value).__name__}")


def inputs_hash(catalogue: CatalogueSnapshot, config: CatalogueConfig, inputs: PathInputs, options: BuilderOptions) -> str:
    """Return the SHA-256 of everything a path depends on."""
    payload = {
        "catalogue": catalogue.fingerprint(),
        "config": config.model_dump(mode="json"),
        "inputs": asdict(inputs),
        "options": asdict(options),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=_json_default).encode("utf-8")).hexdigest()


def build_path(
    catalogue: CatalogueSnapshot,
    config: CatalogueConfig,
    search: CandidateSearch,
    inputs: PathInputs,
    options: BuilderOptions | None = None,
) -> PathPlan:
    """Build the ordered, explained path for one person."""
    return _Builder(catalogue, config, search, inputs, options or BuilderOptions()).run()
