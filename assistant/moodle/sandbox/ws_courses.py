"""Course and category functions: core_course_* and core_enrol_get_course_enrolment_methods."""

from __future__ import annotations

import json
from typing import Any

from assistant.moodle.sandbox.errors import invalid_parameter, missing_record, moodle_exception
from assistant.moodle.sandbox.params import Multiple, Single, Value, optional
from assistant.moodle.sandbox.registry import Caller, ws_function
from assistant.moodle.sandbox.state import Category, Course, SandboxState

NAME_VALUE = Single({"name": Value("alpha"), "value": Value("raw")})
KEY_VALUE = Single({"key": Value("alpha"), "value": Value("raw")})
SECTION_COUNT = 2


# --- course records in the shapes of the different functions ---


def course_record(state: SandboxState, course: Course) -> dict[str, Any]:
    """Build a course as core_course_get_courses returns it."""
    return {
        "id": course.id,
        "shortname": course.shortname,
        "categoryid": course.categoryid,
        "categorysortorder": course.sortorder,
        "fullname": course.fullname,
        "displayname": course.fullname,
        "idnumber": course.idnumber,
        "summary": course.summary,
        "summaryformat": 1,
        "format": course.format,
        "showgrades": 1,
        "newsitems": 1,
        "startdate": course.startdate,
        "enddate": course.enddate,
        "numsections": SECTION_COUNT,
        "maxbytes": 0,
        "showreports": 0,
        "visible": int(course.visible),
        "hiddensections": 1,
        "groupmode": 0,
        "groupmodeforce": 0,
        "defaultgroupingid": 0,
        "timecreated": course.timecreated,
        "timemodified": course.timemodified,
        "enablecompletion": int(course.enablecompletion),
        "completionnotify": 0,
        "lang": "",
        "forcetheme": "",
        "courseformatoptions": [{"name": "hiddensections", "value": 1}, {"name": "coursedisplay", "value": 0}],
        "showactivitydates": False,
        "showcompletionconditions": True,
    }


def front_page_record(state: SandboxState) -> dict[str, Any]:
    site = state.site
    return {
        "id": 1,
        "shortname": site["shortname"],
        "categoryid": 0,
        "categorysortorder": 1,
        "fullname": site["sitename"],
        "displayname": site["sitename"],
        "idnumber": "",
        "summary": site["summary"],
        "summaryformat": 1,
        "format": "site",
        "showgrades": 1,
        "newsitems": 3,
        "startdate": 0,
        "enddate": 0,
        "numsections": 1,
        "maxbytes": 0,
        "showreports": 0,
        "visible": 1,
        "groupmode": 0,
        "groupmodeforce": 0,
        "defaultgroupingid": 0,
        "timecreated": site["timecreated"],
        "timemodified": site["timemodified"],
        "enablecompletion": 0,
        "completionnotify": 0,
        "lang": "",
        "forcetheme": "",
        "courseformatoptions": [{"name": "numsections", "value": 1}],
        "showactivitydates": False,
        "showcompletionconditions": None,
    }


def course_image(caller: Caller, course: Course) -> str:
    return f"{caller.siteurl}/pluginfile.php/{course.contextid}/course/generated/course.svg"


def public_course_record(state: SandboxState, caller: Caller, course: Course) -> dict[str, Any]:
    """Build a course as core_course_search_courses returns it."""
    return {
        "id": course.id,
        "fullname": course.fullname,
        "displayname": course.fullname,
        "shortname": course.shortname,
        "courseimage": course_image(caller, course),
        "categoryid": course.categoryid,
        "categoryname": state.categories[course.categoryid].name,
        "sortorder": course.sortorder,
        "summary": course.summary,
        "summaryformat": 1,
        "summaryfiles": [],
        "overviewfiles": [],
        "showactivitydates": False,
        "showcompletionconditions": True,
        "contacts": [],
        "enrollmentmethods": list(course.enrolment_methods),
    }


def full_course_record(state: SandboxState, caller: Caller, course: Course) -> dict[str, Any]:
    """Build a course as core_course_get_courses_by_field returns it."""
    record = public_course_record(state, caller, course)
    record.update(
        {
            "idnumber": course.idnumber,
            "format": course.format,
            "showgrades": 1,
            "newsitems": 1,
            "startdate": course.startdate,
            "enddate": course.enddate,
            "maxbytes": 0,
            "showreports": 0,
            "visible": int(course.visible),
            "groupmode": 0,
            "groupmodeforce": 0,
            "defaultgroupingid": 0,
            "enablecompletion": int(course.enablecompletion),
            "completionnotify": 0,
            "lang": "",
            "theme": "",
            "marker": 0,
            "legacyfiles": 0,
            "calendartype": "",
            "timecreated": course.timecreated,
            "timemodified": course.timemodified,
            "requested": 0,
            "cacherev": state.site["themerev"],
            "filters": [
                {"filter": name, "localstate": 0, "inheritedstate": 1}
                for name in ("displayh5p", "activitynames", "mathjaxloader", "emoticon", "urltolink", "mediaplugin")
            ],
            "courseformatoptions": [
                {"name": "hiddensections", "value": 1},
                {"name": "coursedisplay", "value": 0},
                {"name": "indentation", "value": "1"},
            ],
        }
    )
    return record


def course_or_error(state: SandboxState, courseid: int) -> Course:
    course = state.courses.get(courseid)
    if course is None:
        raise missing_record("course", "id = ?", [courseid])
    return course


# --- reading courses ---


@ws_function("core_course_get_courses", {"options": Single({"ids": Multiple(Value("int"), "optional")}, "default", {})})
def get_courses(state: SandboxState, caller: Caller, params: dict[str, Any]) -> list[dict[str, Any]]:
    ids = params["options"].get("ids")
    wanted = sorted(set(ids)) if ids else [1, *sorted(state.courses)]
    records = []
    for courseid in wanted:
        if courseid == 1:
            records.append(front_page_record(state))
        elif courseid in state.courses:
            records.append(course_record(state, state.courses[courseid]))
    return records


@ws_function("core_course_get_courses_by_field", {"field": Value("alpha", "default", ""), "value": Value("raw", "default", "")})
def get_courses_by_field(state: SandboxState, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
    field, value = params["field"], params["value"]
    courses = sorted(state.courses.values(), key=lambda c: c.id)
    if field:
        courses = [course for course in courses if _course_field_matches(course, field, value)]
    return {"courses": [full_course_record(state, caller, c) for c in courses], "warnings": []}


def _course_field_matches(course: Course, field: str, value: str) -> bool:
    if field == "id":
        return str(course.id) == value
    if field == "ids":
        return str(course.id) in {part.strip() for part in value.split(",")}
    if field == "shortname":
        return course.shortname == value
    if field == "idnumber":
        return course.idnumber == value
    if field == "category":
        return str(course.categoryid) == value
    raise invalid_parameter("Invalid field name")


@ws_function(
    "core_course_search_courses",
    {
        "criterianame": Value("alpha"),
        "criteriavalue": Value("raw"),
        "page": Value("int", "default", 0),
        "perpage": Value("int", "default", 0),
        "requiredcapabilities": Multiple(Value("raw"), "default"),
        "limittoenrolled": Value("bool", "default", False),
        "onlywithcompletion": Value("bool", "default", False),
    },
)
def search_courses(state: SandboxState, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
    if params["criterianame"] != "search":
        raise invalid_parameter("Invalid value for criterianame parameter")

    words = params["criteriavalue"].lower().split()
    found = [c for c in sorted(state.courses.values(), key=lambda c: c.fullname) if _matches_words(c, words)]
    if params["onlywithcompletion"]:
        found = [c for c in found if c.enablecompletion]
    page, perpage = params["page"], params["perpage"]
    shown = found[page * perpage : (page + 1) * perpage] if perpage else found
    return {"total": len(found), "courses": [public_course_record(state, caller, c) for c in shown], "warnings": []}


def _matches_words(course: Course, words: list[str]) -> bool:
    text = " ".join((course.fullname, course.shortname, course.idnumber, course.summary)).lower()
    return all(word in text for word in words)


@ws_function("core_course_get_categories", {"criteria": Multiple(KEY_VALUE, "default"), "addsubcategories": Value("bool", "default", True)})
def get_categories(state: SandboxState, caller: Caller, params: dict[str, Any]) -> list[dict[str, Any]]:
    categories = sorted(state.categories.values(), key=lambda c: c.sortorder)
    for criterion in params["criteria"]:
        key, value = criterion["key"], criterion["value"]
        if key not in ("id", "ids", "name", "parent", "idnumber", "visible", "theme"):
            raise invalid_parameter(f"The key ({key}) is not valid")
        if key == "ids":
            wanted = {part.strip() for part in value.split(",")}
            categories = [c for c in categories if str(c.id) in wanted]
        elif key in ("id", "name", "parent", "idnumber"):
            categories = [c for c in categories if str(getattr(c, key)) == value]
    return [_category_record(state, category.id) for category in categories]


def _category_record(state: SandboxState, categoryid: int) -> dict[str, Any]:
    category = state.categories[categoryid]
    return {
        "id": category.id,
        "name": category.name,
        "idnumber": category.idnumber,
        "description": category.description,
        "descriptionformat": 1,
        "parent": category.parent,
        "sortorder": category.sortorder,
        "coursecount": sum(1 for c in state.courses.values() if c.categoryid == category.id),
        "visible": 1,
        "visibleold": 1,
        "timemodified": category.timemodified,
        "depth": 1,
        "path": f"/{category.id}",
        "theme": "",
    }


@ws_function("core_course_get_contents", {"courseid": Value("int"), "options": Multiple(NAME_VALUE, "default")})
def get_contents(state: SandboxState, caller: Caller, params: dict[str, Any]) -> list[dict[str, Any]]:
    course = course_or_error(state, params["courseid"])
    activities = state.course_activities(course.id)
    sections = []
    for number in range(SECTION_COUNT + 1):
        modules = [_module_record(caller, course, a) for a in activities if a.section == number]
        sections.append(
            {
                "id": course.id * 10 + number,
                "name": "General" if number == 0 else f"Topic {number}",
                "visible": 1,
                "summary": "",
                "summaryformat": 1,
                "section": number,
                "hiddenbynumsections": 0,
                "uservisible": True,
                "modules": modules,
            }
        )
    return sections


def _module_record(caller: Caller, course: Course, activity: Any) -> dict[str, Any]:
    completion = {"none": 0, "manual": 1, "grade": 2}[activity.completion]
    return {
        "id": activity.cmid,
        "url": f"{caller.siteurl}/mod/{activity.modname}/view.php?id={activity.cmid}",
        "name": activity.name,
        "instance": activity.instance,
        "contextid": course.contextid * 100 + activity.cmid,
        "visible": int(activity.visible),
        "uservisible": True,
        "visibleoncoursepage": 1,
        "modicon": f"{caller.siteurl}/theme/image.php/boost/{activity.modname}/1/monologo",
        "modname": activity.modname,
        "purpose": "content" if activity.modname == "page" else "assessment",
        "branded": False,
        "modplural": {"page": "Pages", "assign": "Assignments", "quiz": "Quizzes"}.get(activity.modname, "Activities"),
        "availability": None,
        "indent": 0,
        "onclick": "",
        "afterlink": None,
        "activitybadge": [],
        "customdata": json.dumps(""),
        "noviewlink": False,
        "completion": completion,
        "downloadcontent": 1,
        "dates": [],
    }


@ws_function("core_enrol_get_course_enrolment_methods", {"courseid": Value("int")})
def get_course_enrolment_methods(state: SandboxState, caller: Caller, params: dict[str, Any]) -> list[dict[str, Any]]:
    # Moodle lists only instances whose plugin describes itself through get_enrol_info()
    # (self and guest enrolment); manual enrolment never appears here.
    course_or_error(state, params["courseid"])
    return []


# --- writing courses ---

CREATE_COURSE = Single(
    {
        "fullname": Value("text"),
        "shortname": Value("text"),
        "categoryid": Value("int"),
        "idnumber": optional(Value("raw")),
        "summary": optional(Value("raw")),
        "summaryformat": Value("int", "default", 1),
        "format": Value("plugin", "default", "topics"),
        "startdate": optional(Value("int")),
        "enddate": optional(Value("int")),
        "visible": optional(Value("int")),
        "enablecompletion": optional(Value("int")),
    }
)


@ws_function("core_course_create_courses", {"courses": Multiple(CREATE_COURSE)})
def create_courses(state: SandboxState, caller: Caller, params: dict[str, Any]) -> list[dict[str, Any]]:
    for entry in params["courses"]:
        if entry["categoryid"] not in state.categories:
            raise invalid_parameter("Context does not exist")
        if any(c.shortname == entry["shortname"] for c in state.courses.values()):
            raise moodle_exception("shortnametaken", f"Short name is already used for another course ({entry['shortname']})")
        if entry.get("idnumber") and any(c.idnumber == entry["idnumber"] for c in state.courses.values()):
            raise moodle_exception("courseidnumbertaken", f"ID number is already used for another course ({entry['idnumber']})")

    ids = state.add_courses([{**entry, "visible": entry.get("visible", 1)} for entry in params["courses"]])
    return [{"id": courseid, "shortname": state.courses[courseid].shortname} for courseid in ids]


UPDATE_COURSE = Single(
    {
        "id": Value("int"),
        "fullname": optional(Value("text")),
        "shortname": optional(Value("text")),
        "categoryid": optional(Value("int")),
        "idnumber": optional(Value("raw")),
        "summary": optional(Value("raw")),
        "startdate": optional(Value("int")),
        "enddate": optional(Value("int")),
        "visible": optional(Value("int")),
        "enablecompletion": optional(Value("int")),
    }
)


@ws_function("core_course_update_courses", {"courses": Multiple(UPDATE_COURSE)})
def update_courses(state: SandboxState, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
    warnings = []
    for entry in params["courses"]:
        course = state.courses.get(entry["id"])
        if course is None:
            message = "Course id not found"
            warnings.append({"item": "course", "itemid": entry["id"], "warningcode": "1", "message": message})
            continue
        for name in ("fullname", "shortname", "categoryid", "idnumber", "summary", "startdate", "enddate"):
            if name in entry:
                setattr(course, name, entry[name])
        for name in ("visible", "enablecompletion"):
            if name in entry:
                setattr(course, name, bool(entry[name]))
        course.timemodified = state.now()
    return {"warnings": warnings}


CREATE_CATEGORY = Single(
    {
        "name": Value("text"),
        "parent": Value("int", "default", 0),
        "idnumber": optional(Value("raw")),
        "description": optional(Value("raw")),
        "descriptionformat": Value("int", "default", 1),
        "theme": optional(Value("plugin")),
    }
)


@ws_function("core_course_create_categories", {"categories": Multiple(CREATE_CATEGORY)})
def create_categories(state: SandboxState, caller: Caller, params: dict[str, Any]) -> list[dict[str, Any]]:
    created = []
    for entry in params["categories"]:
        if entry["parent"] and entry["parent"] not in state.categories:
            raise missing_record("course_categories", "id = ?", [entry["parent"]])
        categoryid = state.next_id("category")
        state.categories[categoryid] = Category(
            id=categoryid,
            name=entry["name"],
            idnumber=entry.get("idnumber"),
            description=entry.get("description", ""),
            sortorder=categoryid * 10000,
            timemodified=state.now(),
            parent=entry["parent"],
        )
        created.append({"id": categoryid, "name": entry["name"]})
    return created
