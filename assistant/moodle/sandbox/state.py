"""The sandbox's in-memory Moodle site: users, courses, enrolments, completion, grades, cohorts.

`SandboxState` contains the data and the admin operations that tests and demos use
(`reset`, `set_activity_completion`, `set_grade`, `run_cron`, `add_fault`,
`add_courses`, `stats`). Every public method takes one re-entrant lock, so the
sandbox served in one thread and a test calling these methods from another never
see half an update.

Completion follows Moodle's rules: a course completes when all its criteria are
complete (aggregation "all"). An activity criterion completes the course at once. A
self-completion criterion completes only at the next cron run
(`\\core\\task\\completion_regular_task`), which picks up marks made strictly before
the second the run started.
"""

from __future__ import annotations

import copy
import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

FIXTURE_PATH = Path(__file__).with_name("fixture.json")

# Moodle's course completion criterion types (COMPLETION_CRITERIA_TYPE_*).
CRITERION_SELF = 1
CRITERION_ACTIVITY = 4

# Moodle's activity completion states (COMPLETION_*).
COMPLETION_INCOMPLETE = 0
COMPLETION_COMPLETE = 1
COMPLETION_COMPLETE_PASS = 2
COMPLETE_STATES = (COMPLETION_COMPLETE, COMPLETION_COMPLETE_PASS)

FaultMode = Literal["timeout", "status", "429", "exception"]

# The attributes `reset` fills from the fixture and `snapshot` copies.
_DATA_ATTRIBUTES = (
    "site", "function_versions", "services", "other_site_functions", "tokens", "roles", "profile_fields",
    "categories", "courses", "activities", "users", "enrolments", "grades", "activity_states", "cohorts",
    "self_marks", "reaggregate", "course_completions", "_next_ids",
)


@dataclass
class User:
    id: int
    username: str
    firstname: str
    lastname: str
    email: str
    auth: str = "manual"
    idnumber: str = ""
    department: str = ""
    institution: str = ""
    city: str = ""
    country: str = ""
    password: str = ""
    lang: str = "en"
    timezone: str = "99"
    suspended: bool = False
    deleted: bool = False
    customfields: dict[str, str] = field(default_factory=dict)

    @property
    def fullname(self) -> str:
        return f"{self.firstname} {self.lastname}"


@dataclass
class Category:
    id: int
    name: str
    idnumber: str | None
    description: str = ""
    sortorder: int = 0
    timemodified: int = 0
    parent: int = 0


@dataclass
class Activity:
    cmid: int
    courseid: int
    modname: str
    instance: int
    name: str
    section: int = 1
    # "none", "manual" (the learner ticks it) or "grade" (complete when graded).
    completion: str = "manual"
    grade_item_id: int | None = None
    grademax: float = 100.0
    visible: bool = True


@dataclass
class Course:
    id: int
    shortname: str
    fullname: str
    idnumber: str
    categoryid: int
    sortorder: int
    contextid: int
    summary: str = ""
    startdate: int = 0
    enddate: int = 0
    timecreated: int = 0
    timemodified: int = 0
    visible: bool = True
    format: str = "topics"
    enablecompletion: bool = True
    enrolment_methods: list[str] = field(default_factory=lambda: ["manual"])
    grade_category_id: int = 0
    course_grade_item_id: int = 0
    completion_criteria: list[dict[str, int]] = field(default_factory=list)


@dataclass
class Enrolment:
    userid: int
    courseid: int
    roleid: int
    timestart: int = 0
    timeend: int = 0
    # 0 active, 1 suspended (ENROL_USER_ACTIVE / ENROL_USER_SUSPENDED).
    status: int = 0


@dataclass
class ActivityState:
    state: int
    timecompleted: int
    overrideby: int | None = None


@dataclass
class Grade:
    grade: float | None
    dategraded: int | None
    datesubmitted: int | None = None


@dataclass
class Cohort:
    id: int
    name: str
    idnumber: str
    description: str = ""
    visible: bool = True
    members: list[int] = field(default_factory=list)


@dataclass
class Token:
    token: str
    userid: int
    service: str
    mod_view: bool = True


@dataclass
class Fault:
    """A planned failure of the next `count` web service calls that match `function` and `params`."""

    mode: FaultMode
    count: int = 1
    status: int = 503
    retry_after: float = 1.0
    delay: float = 10.0
    function: str | None = None
    params: dict[str, str] = field(default_factory=dict)
    exception: dict[str, str] = field(default_factory=dict)

    def matches(self, function: str, form: dict[str, str]) -> bool:
        if self.function is not None and self.function != function:
            return False
        return all(form.get(key) == value for key, value in self.params.items())


class SandboxState:
    """An in-memory Moodle site seeded from a fixture; see the module docstring."""

    def __init__(self, fixture: Path | dict[str, Any] | None = None, *, clock: Any = time.time) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        self._fixture = load_fixture(fixture)
        self.faults: list[Fault] = []
        self.latency = 0.0
        # Debug mode adds debuginfo to errors and uses Moodle's debug-mode error codes.
        self.debug = False
        self.calls: Counter[str] = Counter()
        self.in_flight = 0
        self.max_in_flight = 0
        self.reset()

    # --- set-up ---

    def reset(self) -> None:
        """Restore the fixture and clear faults and call statistics."""
        with self.lock:
            data = copy.deepcopy(self._fixture)
            self.site: dict[str, Any] = data["site"]
            self.function_versions: dict[str, str] = data["function_versions"]
            self.services: dict[str, list[str]] = data["services"]
            self.other_site_functions: list[str] = data["other_site_functions"]
            self.tokens = {entry["token"]: Token(**entry) for entry in data["tokens"]}
            self.roles: dict[int, dict[str, Any]] = {role["id"]: role for role in data["roles"]}
            self.profile_fields: dict[str, dict[str, Any]] = {f["shortname"]: f for f in data["profile_fields"]}
            self.categories = {c["id"]: Category(**c) for c in data["categories"]}
            self.courses = {c["id"]: Course(**c) for c in data["courses"]}
            self.activities = {a["cmid"]: Activity(**a) for a in data["activities"]}
            self.users = {u["id"]: User(**u) for u in data["users"]}
            self.enrolments = {(e["userid"], e["courseid"]): Enrolment(**e) for e in data["enrolments"]}
            self.grades = {(g["userid"], g["itemid"]): Grade(g["grade"], g["dategraded"], g["datesubmitted"]) for g in data["grades"]}
            self.activity_states = {
                (a["userid"], a["cmid"]): ActivityState(a["state"], a["timecompleted"], a.get("overrideby"))
                for a in data["activity_completions"]
            }
            self.cohorts = {c["id"]: Cohort(**c) for c in data["cohorts"]}
            self.self_marks: dict[tuple[int, int], int] = {}
            self.reaggregate: dict[tuple[int, int], int] = {}
            self.course_completions: dict[tuple[int, int], int] = {}
            self.faults = []
            self.calls = Counter()
            self.max_in_flight = 0
            self._next_ids = self._first_free_ids()
            self.index_users()
            for userid, courseid in list(self.enrolments):
                self.aggregate_completion(userid, courseid)

    def snapshot(self) -> dict[str, Any]:
        """Return a deep copy of the site data (not faults, settings or statistics)."""
        with self.lock:
            return copy.deepcopy({name: getattr(self, name) for name in _DATA_ATTRIBUTES})

    def restore(self, snapshot: dict[str, Any]) -> None:
        """Put back site data taken with `snapshot`."""
        with self.lock:
            for name, value in copy.deepcopy(snapshot).items():
                setattr(self, name, value)
            self.index_users()

    def _first_free_ids(self) -> dict[str, int]:
        grade_ids = [a.grade_item_id or 0 for a in self.activities.values()]
        grade_ids += [c.course_grade_item_id for c in self.courses.values()]
        return {
            "user": max(self.users) + 1,
            "course": max([1, *self.courses]) + 1,
            "category": max(self.categories) + 1,
            "cohort": max([0, *self.cohorts]) + 1,
            "cmid": max([0, *self.activities]) + 1,
            "grade_item": max([0, *grade_ids]) + 1,
            "grade_category": max([0, *(c.grade_category_id for c in self.courses.values())]) + 1,
            "context": max([0, *(c.contextid for c in self.courses.values())]) + 1,
            "instance": 100,
        }

    def next_id(self, kind: str) -> int:
        with self.lock:
            value = self._next_ids[kind]
            self._next_ids[kind] = value + 1
            return value

    def now(self) -> int:
        return int(self.clock())

    # --- lookups used by the web service functions ---

    def active_user(self, userid: int) -> User | None:
        user = self.users.get(userid)
        return None if user is None or user.deleted else user

    def index_users(self) -> None:
        """Rebuild the username and e-mail indexes; call it after changing or deleting users."""
        with self.lock:
            active = [user for user in self.users.values() if not user.deleted]
            self._by_username = {user.username: user.id for user in active}
            self._by_email = {user.email.lower(): user.id for user in active}

    def add_user(self, user: User) -> None:
        with self.lock:
            self.users[user.id] = user
            self._by_username[user.username] = user.id
            self._by_email[user.email.lower()] = user.id

    def user_by_username(self, username: str) -> User | None:
        userid = self._by_username.get(username)
        return None if userid is None else self.users[userid]

    def user_by_email(self, email: str) -> User | None:
        userid = self._by_email.get(email.strip().lower())
        return None if userid is None else self.users[userid]

    def course_activities(self, courseid: int) -> list[Activity]:
        return sorted((a for a in self.activities.values() if a.courseid == courseid), key=lambda a: a.cmid)

    def is_enrolled(self, userid: int, courseid: int, *, only_active: bool = True) -> bool:
        enrolment = self.enrolments.get((userid, courseid))
        if enrolment is None:
            return False
        return not only_active or self.enrolment_is_active(enrolment)

    def enrolment_is_active(self, enrolment: Enrolment) -> bool:
        now = self.now()
        if enrolment.status != 0 or "manual" not in self.courses[enrolment.courseid].enrolment_methods:
            return False
        started = enrolment.timestart == 0 or enrolment.timestart <= now
        not_ended = enrolment.timeend == 0 or enrolment.timeend > now
        return started and not_ended

    def is_tracked(self, userid: int, courseid: int) -> bool:
        """Return whether completion is tracked for the user: an active student enrolment."""
        enrolment = self.enrolments.get((userid, courseid))
        return enrolment is not None and enrolment.roleid == 5 and self.enrolment_is_active(enrolment)

    def user_courses(self, userid: int, *, only_active: bool = True) -> list[Course]:
        """Return the user's courses in Moodle's order: category sort order, then course sort order."""
        courses = [self.courses[cid] for (uid, cid) in self.enrolments if uid == userid]
        courses = [c for c in courses if self.is_enrolled(userid, c.id, only_active=only_active)]
        return sorted(courses, key=lambda c: c.sortorder)

    # --- completion ---

    def criterion_completion(self, userid: int, course: Course, criterion: dict[str, int]) -> int | None:
        """Return when the user completed one criterion, or None."""
        if criterion["type"] == CRITERION_SELF:
            return self.self_marks.get((userid, course.id))
        state = self.activity_states.get((userid, criterion["cmid"]))
        if state is None or state.state not in COMPLETE_STATES:
            return None
        return state.timecompleted

    def aggregate_completion(self, userid: int, courseid: int) -> None:
        """Mark the course complete for the user when every criterion is complete."""
        with self.lock:
            course = self.courses[courseid]
            if (userid, courseid) in self.course_completions or not course.completion_criteria:
                return
            times = [self.criterion_completion(userid, course, c) for c in course.completion_criteria]
            if all(t is not None for t in times):
                self.course_completions[(userid, courseid)] = max(t for t in times if t is not None)

    def _aggregates_at_once(self, courseid: int) -> bool:
        return all(c["type"] != CRITERION_SELF for c in self.courses[courseid].completion_criteria)

    def set_activity_completion(self, userid: int, cmid: int, state: int, *, overrideby: int | None = None) -> ActivityState:
        """Set one activity's completion state for a user, as the learner, a teacher or a grade would."""
        with self.lock:
            activity = self.activities[cmid]
            timecompleted = self.now() if state in COMPLETE_STATES else 0
            record = ActivityState(state=state, timecompleted=timecompleted, overrideby=overrideby)
            self.activity_states[(userid, cmid)] = record
            self._after_criteria_change(userid, activity.courseid)
            return record

    def mark_self_completed(self, userid: int, courseid: int) -> None:
        with self.lock:
            now = self.now()
            self.self_marks[(userid, courseid)] = now
            self.reaggregate[(userid, courseid)] = now

    def _after_criteria_change(self, userid: int, courseid: int) -> None:
        if self._aggregates_at_once(courseid):
            self.aggregate_completion(userid, courseid)
        else:
            self.reaggregate[(userid, courseid)] = self.now()

    def run_cron(self, at: float | None = None) -> int:
        """Run the completion task; return how many user-course pairs it re-aggregated.

        Like Moodle, it picks up only marks made strictly before the second the run started.
        """
        with self.lock:
            started = int(at if at is not None else self.clock())
            due = [pair for pair, marked in self.reaggregate.items() if marked < started]
            for userid, courseid in due:
                del self.reaggregate[(userid, courseid)]
                self.aggregate_completion(userid, courseid)
            return len(due)

    # --- grades ---

    def set_grade(self, userid: int, grade: float | None, *, cmid: int | None = None, itemid: int | None = None) -> None:
        """Grade a user on an activity (by cmid or grade item id); grading completes a "grade" activity."""
        with self.lock:
            activity = self._graded_activity(cmid=cmid, itemid=itemid)
            now = self.now()
            self.grades[(userid, activity.grade_item_id or 0)] = Grade(grade, now if grade is not None else None, None)
            if activity.completion == "grade" and grade is not None:
                self.set_activity_completion(userid, activity.cmid, COMPLETION_COMPLETE)

    def _graded_activity(self, *, cmid: int | None, itemid: int | None) -> Activity:
        for activity in self.activities.values():
            if activity.grade_item_id is None:
                continue
            if activity.cmid == cmid or (itemid is not None and activity.grade_item_id == itemid):
                return activity
        raise KeyError(f"no graded activity with cmid={cmid} or grade item id={itemid}")

    # --- courses ---

    def add_courses(self, courses: list[dict[str, Any]]) -> list[int]:
        """Add courses in bulk (for large catalogues); return their ids.

        Each entry needs shortname and fullname; categoryid (default 1), idnumber,
        summary, `manual_enrolment` (default true) and `activities` (a list of
        {"name", "modname", "completion", "grademax"}) are optional. A course with
        activities gets one activity completion criterion per activity that tracks completion.
        """
        with self.lock:
            return [self._add_course(entry) for entry in courses]

    def _add_course(self, entry: dict[str, Any]) -> int:
        _require_keys(entry, ("shortname", "fullname"), "course")
        if any(c.shortname == entry["shortname"] for c in self.courses.values()):
            raise ValueError(f"course shortname {entry['shortname']!r} is already used")
        categoryid = int(entry.get("categoryid", 1))
        if categoryid not in self.categories:
            raise ValueError(f"category {categoryid} does not exist")

        now = self.now()
        course = Course(
            id=self.next_id("course"),
            shortname=entry["shortname"],
            fullname=entry["fullname"],
            idnumber=entry.get("idnumber", ""),
            categoryid=categoryid,
            sortorder=self._next_sortorder(categoryid),
            contextid=self.next_id("context"),
            summary=entry.get("summary", ""),
            startdate=int(entry.get("startdate", 0)),
            timecreated=now,
            timemodified=now,
            visible=bool(entry.get("visible", True)),
            enrolment_methods=["manual"] if entry.get("manual_enrolment", True) else [],
            grade_category_id=self.next_id("grade_category"),
            course_grade_item_id=self.next_id("grade_item"),
        )
        self.courses[course.id] = course
        for activity in entry.get("activities", []):
            self._add_activity(course, activity)
        return course.id

    def _add_activity(self, course: Course, entry: dict[str, Any]) -> Activity:
        _require_keys(entry, ("name",), "activity")
        modname = entry.get("modname", "page")
        graded = modname in ("assign", "quiz")
        activity = Activity(
            cmid=self.next_id("cmid"),
            courseid=course.id,
            modname=modname,
            instance=self.next_id("instance"),
            name=entry["name"],
            completion=entry.get("completion", "grade" if graded else "manual"),
            grade_item_id=self.next_id("grade_item") if graded else None,
            grademax=float(entry.get("grademax", 100)),
        )
        self.activities[activity.cmid] = activity
        if activity.completion != "none":
            course.completion_criteria.append({"type": CRITERION_ACTIVITY, "cmid": activity.cmid})
        return activity

    def _next_sortorder(self, categoryid: int) -> int:
        base = self.categories[categoryid].sortorder
        used = [c.sortorder for c in self.courses.values() if c.categoryid == categoryid]
        return max([base, *used]) + 1

    # --- faults and statistics ---

    def add_fault(self, fault: Fault) -> None:
        """Make the next `fault.count` matching web service calls fail in the fault's mode."""
        with self.lock:
            self.faults.append(fault)

    def take_fault(self, function: str, form: dict[str, str]) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.count > 0 and fault.matches(function, form):
                    fault.count -= 1
                    return fault
            return None

    def call_started(self, function: str) -> None:
        with self.lock:
            self.calls[function] += 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def call_finished(self) -> None:
        with self.lock:
            self.in_flight -= 1

    def stats(self) -> dict[str, Any]:
        """Return web service calls per function, their total and the most calls seen in flight at once."""
        with self.lock:
            return {
                "calls": dict(self.calls),
                "total": sum(self.calls.values()),
                "max_in_flight": self.max_in_flight,
                "users": sum(1 for u in self.users.values() if not u.deleted),
                "courses": len(self.courses),
                "enrolments": len(self.enrolments),
            }


def load_fixture(fixture: Path | dict[str, Any] | None) -> dict[str, Any]:
    if isinstance(fixture, dict):
        return copy.deepcopy(fixture)
    path = fixture or FIXTURE_PATH
    with open(path, encoding="utf-8") as handle:
        data: dict[str, Any] = json.load(handle)
    return data


def _require_keys(entry: dict[str, Any], keys: tuple[str, ...], what: str) -> None:
    missing = [key for key in keys if not entry.get(key)]
    if missing:
        raise ValueError(f"{what} {entry!r} is missing {', '.join(missing)}")
