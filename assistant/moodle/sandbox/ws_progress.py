"""Completion and grade functions: core_completion_* and gradereport_*."""

from __future__ import annotations

from typing import Any

from assistant.moodle.sandbox.errors import invalid_parameter, missing_record, moodle_exception
from assistant.moodle.sandbox.params import Value
from assistant.moodle.sandbox.registry import Caller, ws_function
from assistant.moodle.sandbox.state import (
    COMPLETE_STATES,
    CRITERION_SELF,
    Activity,
    Course,
    SandboxState,
    User,
)
from assistant.moodle.sandbox.ws_courses import course_or_error


def user_or_error(state: SandboxState, userid: int) -> User:
    user = state.active_user(userid)
    if user is None:
        raise missing_record("user", "id = ?", [userid])
    return user


def _number(value: float) -> int | float:
    # PHP's json_encode writes whole floats without a fraction in Moodle's output.
    return int(value) if float(value).is_integer() else value


def course_progress(state: SandboxState, userid: int, course: Course) -> int | float | None:
    """Return the percentage of completion-tracked activities the user completed, or None without any."""
    tracked = [a for a in state.course_activities(course.id) if a.completion != "none"]
    if not tracked:
        return None
    done = sum(1 for a in tracked if _activity_state(state, userid, a) in COMPLETE_STATES)
    return _number(round(done * 100 / len(tracked), 5))


def _activity_state(state: SandboxState, userid: int, activity: Activity) -> int:
    record = state.activity_states.get((userid, activity.cmid))
    return record.state if record else 0


# --- course completion ---


@ws_function("core_completion_get_course_completion_status", {"courseid": Value("int"), "userid": Value("int")})
def get_course_completion_status(state: SandboxState, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
    course = course_or_error(state, params["courseid"])
    user = user_or_error(state, params["userid"])
    if not state.is_tracked(user.id, course.id):
        if user.id == caller.userid:
            raise moodle_exception("notenroled", "You are not enrolled in this course")
        raise moodle_exception("usernotenroled", "User is not enrolled in this course")
    if not course.completion_criteria:
        raise moodle_exception("nocriteriaset", "No completion criteria set for this course")

    completions = [_criterion_record(state, caller, user.id, course, c) for c in course.completion_criteria]
    status = {
        "completed": (user.id, course.id) in state.course_completions,
        "aggregation": 1,
        "completions": completions,
    }
    return {"completionstatus": status, "warnings": []}


def _criterion_record(
    state: SandboxState, caller: Caller, userid: int, course: Course, criterion: dict[str, int]
) -> dict[str, Any]:
    timecompleted = state.criterion_completion(userid, course, criterion)
    if criterion["type"] == CRITERION_SELF:
        title, text, requirement = "Self completion", "Self completion", "Marking yourself complete"
    else:
        activity = state.activities[criterion["cmid"]]
        title = "Activity completion"
        url = f"{caller.siteurl}/mod/{activity.modname}/view.php?id={activity.cmid}"
        text = f'<a href="{url}">{activity.name}</a>'
        requirement = "Achieving grade" if activity.completion == "grade" else "Marking yourself complete"
    return {
        "type": criterion["type"],
        "title": title,
        "status": "Yes" if timecompleted else "No",
        "complete": timecompleted is not None,
        "timecompleted": timecompleted,
        "details": {"type": title, "criteria": text, "requirement": requirement, "status": ""},
    }


@ws_function("core_completion_mark_course_self_completed", {"courseid": Value("int")})
def mark_course_self_completed(state: SandboxState, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
    # Moodle applies this to the token's own user, never to someone else.
    course = course_or_error(state, params["courseid"])
    if not course.enablecompletion:
        raise moodle_exception("completionnotenabled", "Completion is not enabled")
    if not state.is_tracked(caller.userid, course.id):
        raise moodle_exception("nottracked", "You are currently not being tracked by completion in this course")
    if not any(c["type"] == CRITERION_SELF for c in course.completion_criteria):
        raise moodle_exception("noselfcompletioncriteria", "No self completion criteria set for this course")
    if (caller.userid, course.id) in state.self_marks:
        raise moodle_exception("useralreadymarkedcomplete", "You have already marked yourself as complete in this course")

    state.mark_self_completed(caller.userid, course.id)
    return {"status": True, "warnings": []}


# --- activity completion ---


@ws_function("core_completion_get_activities_completion_status", {"courseid": Value("int"), "userid": Value("int")})
def get_activities_completion_status(state: SandboxState, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
    course = course_or_error(state, params["courseid"])
    user = user_or_error(state, params["userid"])
    tracked = state.is_tracked(user.id, course.id)
    statuses = [
        _activity_status(state, user.id, activity, tracked)
        for activity in state.course_activities(course.id)
        if activity.completion != "none" and activity.visible
    ]
    return {"statuses": statuses, "warnings": []}


def _activity_status(state: SandboxState, userid: int, activity: Activity, tracked: bool) -> dict[str, Any]:
    record = state.activity_states.get((userid, activity.cmid))
    current = record.state if record else 0
    automatic = activity.completion == "grade"
    details = []
    if automatic:
        rule = {"status": 1 if current in COMPLETE_STATES else 0, "description": "Receive a grade"}
        details.append({"rulename": "completionusegrade", "rulevalue": rule})
    return {
        "cmid": activity.cmid,
        "modname": activity.modname,
        "instance": activity.instance,
        "state": current,
        "timecompleted": record.timecompleted if record else 0,
        "tracking": 2 if automatic else 1,
        "overrideby": record.overrideby if record else None,
        "valueused": False,
        "hascompletion": True,
        "isautomatic": automatic,
        "istrackeduser": tracked,
        "uservisible": True,
        "details": details,
        "isoverallcomplete": current in COMPLETE_STATES,
    }


@ws_function(
    "core_completion_override_activity_completion_status",
    {"userid": Value("int"), "cmid": Value("int"), "newstate": Value("int")},
)
def override_activity_completion_status(state: SandboxState, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
    activity = _activity_or_error(state, params["cmid"])
    user = user_or_error(state, params["userid"])
    if params["newstate"] not in (0, 1):
        raise invalid_parameter(f"newstate => Invalid parameter value detected: {params['newstate']} is not 0 or 1")
    if not state.is_tracked(user.id, activity.courseid):
        raise moodle_exception("nottracked", "You are currently not being tracked by completion in this course")

    record = state.set_activity_completion(user.id, activity.cmid, params["newstate"], overrideby=caller.userid)
    return {
        "cmid": activity.cmid,
        "userid": user.id,
        "state": record.state,
        "timecompleted": record.timecompleted,
        "overrideby": record.overrideby,
        "tracking": 2 if activity.completion == "grade" else 1,
    }


@ws_function(
    "core_completion_update_activity_completion_status_manually",
    {"cmid": Value("int"), "completed": Value("bool")},
)
def update_activity_completion_status_manually(state: SandboxState, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
    activity = _activity_or_error(state, params["cmid"])
    if activity.completion != "manual":
        raise moodle_exception("cannotmanualctrack", "This activity does not support manual completion tracking")
    if not state.is_tracked(caller.userid, activity.courseid):
        raise moodle_exception("nottracked", "You are currently not being tracked by completion in this course")

    state.set_activity_completion(caller.userid, activity.cmid, 1 if params["completed"] else 0)
    return {"status": True, "warnings": []}


def _activity_or_error(state: SandboxState, cmid: int) -> Activity:
    activity = state.activities.get(cmid)
    if activity is None:
        raise missing_record("course_modules", "id = ?", [cmid])
    return activity


# --- grades ---


def course_total(state: SandboxState, userid: int, course: Course) -> tuple[float | None, int | None, float]:
    """Return the user's course total (natural aggregation), when it was last graded, and its maximum."""
    graded = [a for a in state.course_activities(course.id) if a.grade_item_id is not None]
    grades = [state.grades.get((userid, a.grade_item_id or 0)) for a in graded]
    present = [g for g in grades if g is not None and g.grade is not None]
    grademax = sum(a.grademax for a in graded)
    if not present:
        return None, None, grademax
    total = sum(g.grade or 0 for g in present)
    return total, max(g.dategraded or 0 for g in present), grademax


@ws_function(
    "gradereport_user_get_grade_items",
    {"courseid": Value("int"), "userid": Value("int", "default", 0), "groupid": Value("int", "default", 0)},
)
def get_grade_items(state: SandboxState, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
    course = course_or_error(state, params["courseid"])
    if params["userid"]:
        users = [user_or_error(state, params["userid"])]
    else:
        students = sorted(uid for (uid, cid) in state.enrolments if cid == course.id and state.is_tracked(uid, cid))
        users = [state.users[uid] for uid in students]
    return {"usergrades": [_user_grades(state, caller, course, user) for user in users], "warnings": []}


def _user_grades(state: SandboxState, caller: Caller, course: Course, user: User) -> dict[str, Any]:
    items = []
    # Without mod/<module>:view on the caller, Moodle silently leaves out the activity items.
    if caller.mod_view:
        graded = [a for a in state.course_activities(course.id) if a.grade_item_id is not None]
        total_max = sum(a.grademax for a in graded) or 1
        items = [_activity_item(state, course, user.id, a, a.grademax / total_max) for a in graded]
    items.append(_course_item(state, course, user.id))
    return {
        "courseid": course.id,
        "courseidnumber": course.idnumber,
        "userid": user.id,
        "userfullname": user.fullname,
        "useridnumber": user.idnumber,
        "maxdepth": 2,
        "gradeitems": items,
    }


def _activity_item(state: SandboxState, course: Course, userid: int, activity: Activity, weight: float) -> dict[str, Any]:
    grade = state.grades.get((userid, activity.grade_item_id or 0))
    raw = grade.grade if grade else None
    item: dict[str, Any] = {
        "id": activity.grade_item_id,
        "itemname": activity.name,
        "itemtype": "mod",
        "itemmodule": activity.modname,
        "iteminstance": activity.instance,
        "itemnumber": 0,
        "idnumber": "",
        "categoryid": course.grade_category_id,
        "outcomeid": None,
        "scaleid": None,
        "locked": False,
        "cmid": activity.cmid,
        "weightraw": round(weight, 5),
        "weightformatted": f"{weight * 100:.2f} %",
    }
    item.update(_grade_fields(raw, grade.datesubmitted if grade else None, grade.dategraded if grade else None, activity.grademax))
    return item


def _course_item(state: SandboxState, course: Course, userid: int) -> dict[str, Any]:
    total, dategraded, grademax = course_total(state, userid, course)
    item: dict[str, Any] = {
        "id": course.course_grade_item_id,
        "itemname": None,
        "itemtype": "course",
        "itemmodule": None,
        "iteminstance": course.grade_category_id,
        "itemnumber": None,
        "idnumber": None,
        "categoryid": None,
        "outcomeid": None,
        "scaleid": None,
        "locked": False,
    }
    item.update(_grade_fields(total, None, dategraded, grademax))
    return item


def _grade_fields(raw: float | None, submitted: int | None, graded: int | None, grademax: float) -> dict[str, Any]:
    percentage = f"{raw * 100 / grademax:.2f} %" if raw is not None and grademax else "-"
    return {
        "graderaw": None if raw is None else _number(raw),
        "gradedatesubmitted": submitted,
        "gradedategraded": graded,
        "gradehiddenbydate": False,
        "gradeneedsupdate": False,
        "gradeishidden": False,
        "gradeislocked": False,
        "gradeisoverridden": False,
        "gradeformatted": "-" if raw is None else f"{raw:.2f}",
        "grademin": 0,
        "grademax": _number(grademax),
        "rangeformatted": f"0&ndash;{_number(grademax)}",
        "percentageformatted": percentage,
        "feedback": "",
        "feedbackformat": 0 if raw is None else 2,
    }


@ws_function("gradereport_overview_get_course_grades", {"userid": Value("int", "default", 0)})
def get_course_grades(state: SandboxState, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
    user = user_or_error(state, params["userid"] or caller.userid)
    grades = []
    for course in state.user_courses(user.id):
        total, _, _ = course_total(state, user.id, course)
        grades.append(
            {
                "courseid": course.id,
                "grade": "-" if total is None else f"{total:.2f}",
                "rawgrade": None if total is None else f"{total:.5f}",
            }
        )
    return {"grades": grades, "warnings": []}
