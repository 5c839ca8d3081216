"""Cohort, role and competency functions: core_cohort_*, core_role_* and core_competency_*.

The competency functions respond as a site without competency frameworks does.
"""

from __future__ import annotations

from typing import Any

from assistant.moodle.sandbox.errors import invalid_parameter, missing_record
from assistant.moodle.sandbox.params import Multiple, Single, Value, optional
from assistant.moodle.sandbox.registry import Caller, ws_function
from assistant.moodle.sandbox.state import Cohort, SandboxState, User
from assistant.moodle.sandbox.ws_progress import user_or_error

TYPE_VALUE = Single({"type": Value("alpha"), "value": Value("raw")})

CREATE_COHORT = Single(
    {
        "categorytype": Single({"type": Value("text"), "value": Value("raw")}),
        "name": Value("raw"),
        "idnumber": Value("raw"),
        "description": optional(Value("raw")),
        "descriptionformat": Value("int", "default", 1),
        "visible": optional(Value("bool")),
        "theme": optional(Value("plugin")),
    }
)


def _cohort_record(cohort: Cohort, *, with_customfields: bool) -> dict[str, Any]:
    record: dict[str, Any] = {
        "id": cohort.id,
        "name": cohort.name,
        "idnumber": cohort.idnumber,
        "description": cohort.description,
        "descriptionformat": 1,
        "visible": cohort.visible,
        "theme": "",
    }
    if with_customfields:
        record["customfields"] = []
    return record


@ws_function("core_cohort_create_cohorts", {"cohorts": Multiple(CREATE_COHORT)})
def create_cohorts(state: SandboxState, caller: Caller, params: dict[str, Any]) -> list[dict[str, Any]]:
    for entry in params["cohorts"]:
        if entry["categorytype"]["type"] not in ("system", "id", "idnumber"):
            raise invalid_parameter("category type must be id, idnumber or system")
        if any(c.idnumber == entry["idnumber"] for c in state.cohorts.values()):
            raise invalid_parameter(f"record already exists: idnumber {entry['idnumber']}")

    created = []
    for entry in params["cohorts"]:
        cohort = Cohort(
            id=state.next_id("cohort"),
            name=entry["name"],
            idnumber=entry["idnumber"],
            description=entry.get("description", ""),
            visible=entry.get("visible", True),
        )
        state.cohorts[cohort.id] = cohort
        created.append(_cohort_record(cohort, with_customfields=False))
    return created


@ws_function("core_cohort_add_cohort_members", {"members": Multiple(Single({"cohorttype": TYPE_VALUE, "usertype": TYPE_VALUE}))})
def add_cohort_members(state: SandboxState, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
    warnings = []
    for member in params["members"]:
        cohort_type, user_type = member["cohorttype"], member["usertype"]
        cohort = _find_cohort(state, cohort_type["type"], cohort_type["value"])
        if cohort is None:
            message = f"cohort {cohort_type['type']}={cohort_type['value']} not exists"
            warnings.append({"warningcode": "1", "message": message})
            continue
        user = _find_user(state, user_type["type"], user_type["value"])
        if user is None:
            message = f"user {user_type['type']}={user_type['value']} not exists"
            warnings.append({"warningcode": "2", "message": message})
            continue
        if user.id not in cohort.members:
            cohort.members.append(user.id)
    return {"warnings": warnings}


def _find_cohort(state: SandboxState, kind: str, value: str) -> Cohort | None:
    if kind not in ("id", "idnumber"):
        raise invalid_parameter("invalid parameter: cohorttype type must be id or idnumber")
    return next((c for c in state.cohorts.values() if str(getattr(c, kind)) == value), None)


def _find_user(state: SandboxState, kind: str, value: str) -> User | None:
    if kind not in ("id", "idnumber", "username"):
        raise invalid_parameter("invalid parameter: usertype type must be id, idnumber or username")
    return next((u for u in state.users.values() if not u.deleted and str(getattr(u, kind)) == value), None)


@ws_function("core_cohort_get_cohorts", {"cohortids": Multiple(Value("int"), "default")})
def get_cohorts(state: SandboxState, caller: Caller, params: dict[str, Any]) -> list[dict[str, Any]]:
    ids = params["cohortids"] or sorted(state.cohorts)
    records = []
    for cohortid in ids:
        if cohortid not in state.cohorts:
            raise missing_record("cohort", "id = ?", [cohortid])
        records.append(_cohort_record(state.cohorts[cohortid], with_customfields=True))
    return records


@ws_function(
    "core_cohort_search_cohorts",
    {
        "query": Value("raw"),
        "context": Single({"contextid": Value("int", "default", 0), "contextlevel": Value("alpha", "default", ""), "instanceid": Value("int", "default", 0)}),
        "includes": Value("alpha", "default", "parents"),
        "limitfrom": Value("int", "default", 0),
        "limitnum": Value("int", "default", 25),
    },
)
def search_cohorts(state: SandboxState, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
    query = params["query"].lower()
    found = [c for c in sorted(state.cohorts.values(), key=lambda c: c.name) if query in f"{c.name} {c.idnumber}".lower()]
    start = params["limitfrom"]
    shown = found[start : start + params["limitnum"]]
    return {"cohorts": [_cohort_record(c, with_customfields=False) for c in shown]}


@ws_function("core_cohort_get_cohort_members", {"cohortids": Multiple(Value("int"))})
def get_cohort_members(state: SandboxState, caller: Caller, params: dict[str, Any]) -> list[dict[str, Any]]:
    result = []
    for cohortid in params["cohortids"]:
        if cohortid not in state.cohorts:
            raise missing_record("cohort", "id = ?", [cohortid])
        result.append({"cohortid": cohortid, "userids": sorted(state.cohorts[cohortid].members)})
    return result


@ws_function(
    "core_cohort_delete_cohort_members",
    {"members": Multiple(Single({"cohortid": Value("int"), "userid": Value("int")}))},
)
def delete_cohort_members(state: SandboxState, caller: Caller, params: dict[str, Any]) -> None:
    for member in params["members"]:
        if member["cohortid"] not in state.cohorts:
            raise missing_record("cohort", "id = ?", [member["cohortid"]])
        user_or_error(state, member["userid"])

    for member in params["members"]:
        cohort = state.cohorts[member["cohortid"]]
        cohort.members = [userid for userid in cohort.members if userid != member["userid"]]
    return None


ROLE_ASSIGNMENT = Single(
    {
        "roleid": Value("int"),
        "userid": Value("int"),
        "contextid": optional(Value("int")),
        "contextlevel": optional(Value("alpha")),
        "instanceid": optional(Value("int")),
    }
)


@ws_function("core_role_assign_roles", {"assignments": Multiple(ROLE_ASSIGNMENT)})
def assign_roles(state: SandboxState, caller: Caller, params: dict[str, Any]) -> None:
    # NOTE: the sandbox checks the role and the user but does not store role
    # assignments outside enrolments.
    _check_assignments(state, params["assignments"])
    return None


@ws_function("core_role_unassign_roles", {"unassignments": Multiple(ROLE_ASSIGNMENT)})
def unassign_roles(state: SandboxState, caller: Caller, params: dict[str, Any]) -> None:
    _check_assignments(state, params["unassignments"])
    return None


def _check_assignments(state: SandboxState, assignments: list[dict[str, Any]]) -> None:
    for assignment in assignments:
        if assignment["roleid"] not in state.roles:
            raise missing_record("role", "id = ?", [assignment["roleid"]])
        user_or_error(state, assignment["userid"])


def _no_competencies(state: SandboxState, caller: Caller, params: dict[str, Any]) -> list[Any]:
    return []


for _name in (
    "core_competency_list_competency_frameworks",
    "core_competency_list_competencies",
    "core_competency_list_course_competencies",
    "core_competency_list_user_plans",
):
    ws_function(_name, any_params=True)(_no_competencies)


@ws_function("core_competency_read_competency", {"id": Value("int")})
def read_competency(state: SandboxState, caller: Caller, params: dict[str, Any]) -> None:
    raise missing_record("competency", "id = ?", [params["id"]])


@ws_function("core_competency_read_plan", {"id": Value("int")})
def read_plan(state: SandboxState, caller: Caller, params: dict[str, Any]) -> None:
    raise missing_record("competency_plan", "id = ?", [params["id"]])
