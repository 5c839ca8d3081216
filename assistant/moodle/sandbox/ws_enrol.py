"""Enrolment functions: enrol_manual_* and core_enrol_get_* for users and participants."""

from __future__ import annotations

from typing import Any

from assistant.moodle.sandbox.errors import invalid_parameter, missing_record, moodle_exception
from assistant.moodle.sandbox.params import Multiple, Single, Value, optional
from assistant.moodle.sandbox.registry import Caller, ws_function
from assistant.moodle.sandbox.state import Course, Enrolment, SandboxState
from assistant.moodle.sandbox.ws_courses import course_image, course_or_error
from assistant.moodle.sandbox.ws_progress import course_progress
from assistant.moodle.sandbox.ws_users import participant_details

ENROLMENT = Single(
    {
        "roleid": Value("int"),
        "userid": Value("int"),
        "courseid": Value("int"),
        "timestart": optional(Value("int")),
        "timeend": optional(Value("int")),
        "suspend": optional(Value("int")),
    }
)
UNENROLMENT = Single({"userid": Value("int"), "courseid": Value("int"), "roleid": optional(Value("int"))})


@ws_function("enrol_manual_enrol_users", {"enrolments": Multiple(ENROLMENT)})
def enrol_users(state: SandboxState, caller: Caller, params: dict[str, Any]) -> None:
    # One transaction: one bad enrolment rolls back the whole call.
    for entry in params["enrolments"]:
        _check_enrolment(state, entry)

    for entry in params["enrolments"]:
        key = (entry["userid"], entry["courseid"])
        enrolment = state.enrolments.get(key) or Enrolment(entry["userid"], entry["courseid"], entry["roleid"])
        enrolment.roleid = entry["roleid"]
        enrolment.timestart = entry.get("timestart", enrolment.timestart)
        enrolment.timeend = entry.get("timeend", enrolment.timeend)
        enrolment.status = 1 if entry.get("suspend") else 0
        state.enrolments[key] = enrolment
    return None


def _check_enrolment(state: SandboxState, entry: dict[str, Any]) -> None:
    course = _course_in_context(state, entry["courseid"])
    role = state.roles.get(entry["roleid"])
    if role is None or not role["assignable_in_course"]:
        raise moodle_exception(
            "wsusercannotassign",
            f"You don't have the permission to assign this role ({entry['roleid']}) to this user "
            f"({entry['userid']}) in this course ({entry['courseid']}).",
        )
    _require_manual_instance(course)
    if state.active_user(entry["userid"]) is None:
        raise missing_record("user", "id = ?", [entry["userid"]])


def _course_in_context(state: SandboxState, courseid: int) -> Course:
    course = state.courses.get(courseid)
    if course is None:
        raise invalid_parameter("Context does not exist")
    return course


def _require_manual_instance(course: Course) -> None:
    if "manual" not in course.enrolment_methods:
        raise moodle_exception(
            "wsnoinstance",
            f"Manual enrolment plugin instance doesn't exist or is disabled for the course (id = {course.id})",
        )


@ws_function("enrol_manual_unenrol_users", {"enrolments": Multiple(UNENROLMENT)})
def unenrol_users(state: SandboxState, caller: Caller, params: dict[str, Any]) -> None:
    for entry in params["enrolments"]:
        _require_manual_instance(_course_in_context(state, entry["courseid"]))
        if state.active_user(entry["userid"]) is None:
            raise missing_record("user", "id = ?", [entry["userid"]])

    for entry in params["enrolments"]:
        state.enrolments.pop((entry["userid"], entry["courseid"]), None)
    return None


@ws_function(
    "core_enrol_get_enrolled_users",
    {"courseid": Value("int"), "options": Multiple(Single({"name": Value("alphanumext"), "value": Value("raw")}), "default")},
)
def get_enrolled_users(state: SandboxState, caller: Caller, params: dict[str, Any]) -> list[dict[str, Any]]:
    course = course_or_error(state, params["courseid"])
    options = {option["name"]: option["value"] for option in params["options"]}
    only_active = options.get("onlyactive") == "1"

    # Account suspension does not hide a participant: onlyactive filters on the enrolment.
    participants = [
        state.users[userid]
        for (userid, courseid) in sorted(state.enrolments)
        if courseid == course.id and state.is_enrolled(userid, courseid, only_active=only_active)
    ]
    participants = [user for user in participants if not user.deleted]
    start = int(options.get("limitfrom", "0") or 0)
    limit = int(options.get("limitnumber", "0") or 0)
    participants = participants[start : start + limit] if limit else participants[start:]
    return [_participant(state, caller, course, user.id) for user in participants]


def _participant(state: SandboxState, caller: Caller, course: Course, userid: int) -> dict[str, Any]:
    record = participant_details(state, caller, state.users[userid])
    role = state.roles[state.enrolments[(userid, course.id)].roleid]
    record["roles"] = [{"roleid": role["id"], "name": "", "shortname": role["shortname"], "sortorder": 0}]
    record["enrolledcourses"] = [
        {"id": c.id, "fullname": c.fullname, "shortname": c.shortname} for c in state.user_courses(userid)
    ]
    return record


@ws_function("core_enrol_get_users_courses", {"userid": Value("int"), "returnusercount": Value("bool", "default", True)})
def get_users_courses(state: SandboxState, caller: Caller, params: dict[str, Any]) -> list[dict[str, Any]]:
    userid = params["userid"]
    if state.active_user(userid) is None:
        raise missing_record("user", "id = ?", [userid])
    return [_user_course(state, caller, course, userid, params["returnusercount"]) for course in state.user_courses(userid)]


def _user_course(state: SandboxState, caller: Caller, course: Course, userid: int, with_count: bool) -> dict[str, Any]:
    record: dict[str, Any] = {
        "id": course.id,
        "shortname": course.shortname,
        "fullname": course.fullname,
        "displayname": course.fullname,
    }
    if with_count:
        record["enrolledusercount"] = sum(
            1
            for (uid, cid) in state.enrolments
            if cid == course.id and state.active_user(uid) and state.is_enrolled(uid, cid)
        )
    record.update(
        {
            "idnumber": course.idnumber,
            "visible": int(course.visible),
            "summary": course.summary,
            "summaryformat": 1,
            "format": course.format,
            "courseimage": course_image(caller, course),
            "showgrades": True,
            "lang": "",
            "enablecompletion": course.enablecompletion,
            "completionhascriteria": bool(course.completion_criteria),
            "completionusertracked": state.is_tracked(userid, course.id),
            "category": course.categoryid,
            "progress": course_progress(state, userid, course),
            "completed": (userid, course.id) in state.course_completions,
            "startdate": course.startdate,
            "enddate": course.enddate,
            "marker": 0,
            "lastaccess": None,
            "isfavourite": False,
            "hidden": False,
            "overviewfiles": [],
            "showactivitydates": False,
            "showcompletionconditions": True,
            "timemodified": course.timemodified,
        }
    )
    return record
