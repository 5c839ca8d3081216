"""Site and user functions: core_webservice_get_site_info and core_user_*."""

from __future__ import annotations

import re
from typing import Any

from assistant.moodle.sandbox.errors import invalid_parameter, missing_record, moodle_exception
from assistant.moodle.sandbox.params import Multiple, Single, Value, optional
from assistant.moodle.sandbox.registry import Caller, ws_function
from assistant.moodle.sandbox.state import SandboxState, User

# Authentication plugins a stock Moodle 5.1 site ships.
AUTH_PLUGINS = frozenset({"manual", "nologin", "email", "webservice", "oauth2", "ldap", "cas", "db", "lti", "mnet", "shibboleth", "none"})

# A simplified form of Moodle's validate_email(): a dot-atom local part, @, and a domain with a dot.
EMAIL_PATTERN = re.compile(
    r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*@([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)+[a-z0-9]([a-z0-9-]*[a-z0-9])?",
    re.IGNORECASE,
)

CUSTOM_FIELD = Single({"type": Value("alphanumext"), "value": Value("raw")})
PREFERENCE = Single({"type": Value("raw"), "value": Value("raw")})

USER_FIELDS_OPTIONAL: dict[str, Any] = {
    "maildisplay": optional(Value("int")),
    "city": optional(Value("notags")),
    "country": optional(Value("alpha")),
    "timezone": optional(Value("raw")),
    "description": optional(Value("raw")),
    "firstnamephonetic": optional(Value("notags")),
    "lastnamephonetic": optional(Value("notags")),
    "middlename": optional(Value("notags")),
    "alternatename": optional(Value("notags")),
    "interests": optional(Value("text")),
    "institution": optional(Value("text")),
    "department": optional(Value("text")),
    "phone1": optional(Value("notags")),
    "phone2": optional(Value("notags")),
    "address": optional(Value("text")),
    "lang": optional(Value("raw")),
    "calendartype": optional(Value("plugin")),
    "theme": optional(Value("plugin")),
    "mailformat": optional(Value("int")),
    "customfields": Multiple(CUSTOM_FIELD, "optional"),
    "preferences": Multiple(PREFERENCE, "optional"),
}

CREATE_USER = Single(
    {
        "createpassword": optional(Value("bool")),
        "username": Value("username"),
        "auth": Value("plugin", "default", "manual"),
        "password": optional(Value("raw")),
        "firstname": Value("notags"),
        "lastname": Value("notags"),
        "email": Value("raw_trimmed"),
        "idnumber": Value("raw", "default", ""),
        **USER_FIELDS_OPTIONAL,
    }
)

UPDATE_USER = Single(
    {
        "id": Value("int"),
        "username": optional(Value("username")),
        "auth": optional(Value("plugin")),
        "suspended": optional(Value("bool")),
        "password": optional(Value("raw")),
        "firstname": optional(Value("notags")),
        "lastname": optional(Value("notags")),
        "email": optional(Value("raw_trimmed")),
        "idnumber": optional(Value("raw")),
        "userpicture": optional(Value("int")),
        **USER_FIELDS_OPTIONAL,
    }
)

SIMPLE_USER_FIELDS = ("firstname", "lastname", "email", "auth", "idnumber", "department", "institution", "city", "country", "lang", "timezone")


# --- site ---


@ws_function("core_webservice_get_site_info", {"serviceshortnames": Multiple(Value("alphanumext"), "default")})
def get_site_info(state: SandboxState, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
    site = state.site
    user = state.users[caller.userid]
    token = next(t for t in state.tokens.values() if t.userid == caller.userid)
    return {
        "sitename": site["sitename"],
        "username": user.username,
        "firstname": user.firstname,
        "lastname": user.lastname,
        "fullname": user.fullname,
        "lang": user.lang,
        "userid": user.id,
        "siteurl": caller.siteurl,
        "userpictureurl": _picture_url(state, caller, "f1"),
        "functions": [{"name": name, "version": function_version(state, name)} for name in state.services[token.service]],
        "downloadfiles": 0,
        "uploadfiles": 0,
        "release": site["release"],
        "version": site["version"],
        "mobilecssurl": "",
        "advancedfeatures": site["advancedfeatures"],
        "usercanmanageownfiles": True,
        "userquota": 104857600,
        "usermaxuploadfilesize": 67108864,
        "userhomepage": 1,
        "userprivateaccesskey": f"{user.id:032x}",
        "siteid": 1,
        "sitecalendartype": "gregorian",
        "usercalendartype": "gregorian",
        "userissiteadmin": False,
        "theme": "boost",
        "limitconcurrentlogins": 0,
        "policyagreed": 0,
    }


def function_version(state: SandboxState, name: str) -> str:
    """Return the version of the component that provides a function (the longest matching prefix wins)."""
    prefixes = sorted(state.function_versions, key=len, reverse=True)
    return next(state.function_versions[prefix] for prefix in prefixes if name.startswith(prefix))


# --- user details, as core_user_get_users_by_field and core_enrol_get_enrolled_users show them ---


def user_details(state: SandboxState, caller: Caller, user: User) -> dict[str, Any]:
    details: dict[str, Any] = _identity(user)
    details.update(
        {
            "firstaccess": 0,
            "lastaccess": 0,
            "auth": user.auth,
            "suspended": user.suspended,
            "confirmed": True,
            "lang": user.lang,
            "theme": "",
            "timezone": user.timezone,
            "mailformat": 1,
            "trackforums": 0,
            "profileimageurlsmall": _picture_url(state, caller, "f2"),
            "profileimageurl": _picture_url(state, caller, "f1"),
        }
    )
    fields = custom_fields(state, user, with_display_value=True)
    if fields:
        details["customfields"] = fields
    return details


def participant_details(state: SandboxState, caller: Caller, user: User) -> dict[str, Any]:
    details: dict[str, Any] = _identity(user)
    details.update(
        {
            "firstaccess": 0,
            "lastaccess": 0,
            "lastcourseaccess": 0,
            "profileimageurlsmall": _picture_url(state, caller, "f2"),
            "profileimageurl": _picture_url(state, caller, "f1"),
        }
    )
    fields = custom_fields(state, user, with_display_value=False)
    if fields:
        details["customfields"] = fields
    return details


def _identity(user: User) -> dict[str, Any]:
    # Moodle leaves out optional profile fields that are empty, except department.
    details: dict[str, Any] = {
        "id": user.id,
        "username": user.username,
        "firstname": user.firstname,
        "lastname": user.lastname,
        "fullname": user.fullname,
        "email": user.email,
        "department": user.department,
    }
    for name in ("institution", "city", "country"):
        if getattr(user, name):
            details[name] = getattr(user, name)
    details["idnumber"] = user.idnumber
    return details


def custom_fields(state: SandboxState, user: User, *, with_display_value: bool) -> list[dict[str, Any]]:
    fields = []
    for shortname, value in user.customfields.items():
        definition = state.profile_fields.get(shortname)
        if definition is None or value == "":
            continue
        entry: dict[str, Any] = {"type": definition["datatype"], "value": value}
        if with_display_value:
            entry["displayvalue"] = value
        entry.update({"name": definition["name"], "shortname": shortname})
        fields.append(entry)
    return fields


def _picture_url(state: SandboxState, caller: Caller, size: str) -> str:
    return f"{caller.siteurl}/theme/image.php/boost/core/{state.site['themerev']}/u/{size}"


# --- create, update, delete ---


@ws_function("core_user_create_users", {"users": Multiple(CREATE_USER)})
def create_users(state: SandboxState, caller: Caller, params: dict[str, Any]) -> list[dict[str, Any]]:
    # One transaction: every user is checked before any is stored.
    staged: list[User] = []
    for entry in params["users"]:
        _check_new_user(state, entry, staged)
        staged.append(_new_user(state, entry))

    for user in staged:
        user.id = state.next_id("user")
        state.add_user(user)
    return [{"id": user.id, "username": user.username} for user in staged]


def _check_new_user(state: SandboxState, entry: dict[str, Any], staged: list[User]) -> None:
    if entry["auth"] not in AUTH_PLUGINS:
        raise invalid_parameter(f"Invalid authentication type: {entry['auth']}")
    username = entry["username"]
    if state.user_by_username(username) or any(u.username == username for u in staged):
        raise invalid_parameter(f"Username already exists: {username}")
    email = entry["email"]
    if not EMAIL_PATTERN.fullmatch(email):
        raise invalid_parameter(f"Email address is invalid: {email}")
    if state.user_by_email(email) or any(u.email.lower() == email.lower() for u in staged):
        raise invalid_parameter(f"Email address already exists: {email}")
    if not entry.get("createpassword") and entry.get("password"):
        problems = password_problems(state, entry["password"])
        if problems:
            html = "".join(f"<div>{problem}</div>" for problem in problems)
            raise moodle_exception(html, f"error/{html}")


def _new_user(state: SandboxState, entry: dict[str, Any]) -> User:
    fields = {name: entry[name] for name in SIMPLE_USER_FIELDS if name in entry}
    user = User(id=0, username=entry["username"], **fields)
    user.password = entry.get("password", "")
    _save_custom_fields(state, user, entry.get("customfields", []))
    return user


def password_problems(state: SandboxState, password: str) -> list[str]:
    """Return the rules of Moodle's password policy that the password breaks, in Moodle's order."""
    policy = state.site["password_policy"]
    problems = []
    if len(password) < policy["minlength"]:
        problems.append(f"Passwords must be at least {policy['minlength']} characters long.")
    if sum(c.isdigit() for c in password) < policy["digits"]:
        problems.append(f"Passwords must have at least {policy['digits']} digit(s).")
    if sum(c.islower() for c in password) < policy["lower"]:
        problems.append(f"Passwords must have at least {policy['lower']} lower case letter(s).")
    if sum(c.isupper() for c in password) < policy["upper"]:
        problems.append(f"Passwords must have at least {policy['upper']} upper case letter(s).")
    if sum(not c.isalnum() for c in password) < policy["nonalphanum"]:
        problems.append(
            f"The password must have at least {policy['nonalphanum']} special character(s) such as *, -, or #."
        )
    return problems


def _save_custom_fields(state: SandboxState, user: User, entries: list[dict[str, str]]) -> None:
    # Moodle's profile_save_data() silently skips shortnames that are not defined.
    for entry in entries:
        if entry["type"] in state.profile_fields:
            user.customfields[entry["type"]] = entry["value"]


@ws_function("core_user_update_users", {"users": Multiple(UPDATE_USER)})
def update_users(state: SandboxState, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
    warnings: list[dict[str, Any]] = []
    changes: list[tuple[User, dict[str, Any]]] = []
    for entry in params["users"]:
        user = state.active_user(entry["id"])
        if user is None:
            warnings.append(_user_warning(entry["id"], "invaliduserid", "Invalid user ID"))
            continue
        warning = _update_problem(state, user, entry)
        if warning:
            warnings.append(warning)
            continue
        changes.append((user, entry))

    for user, entry in changes:
        _apply_update(state, user, entry)
    state.index_users()
    return {"warnings": warnings}


def _update_problem(state: SandboxState, user: User, entry: dict[str, Any]) -> dict[str, Any] | None:
    username = entry.get("username")
    if username and username != user.username and state.user_by_username(username):
        raise invalid_parameter(f"Username already exists: {username}")
    email = entry.get("email")
    if email is not None and email != user.email:
        if not EMAIL_PATTERN.fullmatch(email):
            return _user_warning(user.id, "useremailinvalid", "Invalid email address")
        if state.user_by_email(email):
            return _user_warning(user.id, "useremailduplicate", "Duplicate email address")
    if entry.get("password") and password_problems(state, entry["password"]):
        return _user_warning(user.id, "invalidpassword", " ".join(password_problems(state, entry["password"])))
    return None


def _apply_update(state: SandboxState, user: User, entry: dict[str, Any]) -> None:
    for name in (*SIMPLE_USER_FIELDS, "username", "password"):
        if name in entry:
            setattr(user, name, entry[name])
    if "suspended" in entry:
        user.suspended = bool(entry["suspended"])
    _save_custom_fields(state, user, entry.get("customfields", []))


def _user_warning(userid: int, code: str, message: str) -> dict[str, Any]:
    return {"item": "user", "itemid": userid, "warningcode": code, "message": message}


@ws_function("core_user_delete_users", {"userids": Multiple(Value("int"))})
def delete_users(state: SandboxState, caller: Caller, params: dict[str, Any]) -> None:
    users = []
    for userid in params["userids"]:
        user = state.active_user(userid)
        if user is None:
            raise missing_record("user", "id = ? AND deleted = ?", [userid, 0])
        if user.id in (1, 2):
            raise moodle_exception("useradminodelete", "You can not delete the admin or guest account")
        users.append(user)

    for user in users:
        user.deleted = True
        for key in [key for key in state.enrolments if key[0] == user.id]:
            del state.enrolments[key]
        for cohort in state.cohorts.values():
            cohort.members = [member for member in cohort.members if member != user.id]
    state.index_users()
    return None


# --- lookups ---

LOOKUP_FIELDS = ("id", "idnumber", "username", "email")


@ws_function("core_user_get_users_by_field", {"field": Value("alpha"), "values": Multiple(Value("raw"))})
def get_users_by_field(state: SandboxState, caller: Caller, params: dict[str, Any]) -> list[dict[str, Any]]:
    field = params["field"]
    if field not in LOOKUP_FIELDS:
        raise invalid_parameter(f"The search field '{field}' is not supported, look at the web service documentation")

    values = [_lookup_value(field, value) for value in params["values"]]
    matches = [user for user in state.users.values() if not user.deleted and _field_matches(user, field, values)]
    return [user_details(state, caller, user) for user in sorted(matches, key=lambda u: u.id)]


def _lookup_value(field: str, value: str) -> str:
    cleaned = value
    if field == "id":
        cleaned = value if re.fullmatch(r"[0-9]+", value) else "0"
    if field == "username":
        cleaned = re.sub(r"[^-.@_a-z0-9]", "", value.strip().lower())
    if cleaned != value:
        raise invalid_parameter(f"The field '{field}' value is invalid: {value}(cleaned value: {cleaned})")
    return value


def _field_matches(user: User, field: str, values: list[str]) -> bool:
    if field == "email":
        return user.email.lower() in {value.lower() for value in values}
    return str(getattr(user, field)) in values


@ws_function(
    "core_user_get_users",
    {"criteria": Multiple(Single({"key": Value("alpha"), "value": Value("raw")}))},
)
def get_users(state: SandboxState, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
    warnings: list[dict[str, Any]] = []
    matches = [user for user in state.users.values() if not user.deleted]
    for criterion in params["criteria"]:
        key, value = criterion["key"], criterion["value"]
        if key not in ("id", "lastname", "firstname", "idnumber", "username", "email", "auth"):
            message = f"The search key '{key}' is not supported, look at the web service documentation"
            warnings.append({"item": key, "warningcode": "invalidfieldparameter", "message": message})
            return {"users": [], "warnings": warnings}
        matches = [user for user in matches if _criterion_matches(user, key, value)]
    users = [user_details(state, caller, user) for user in sorted(matches, key=lambda u: u.id)]
    return {"users": users, "warnings": warnings}


def _criterion_matches(user: User, key: str, value: str) -> bool:
    actual = str(getattr(user, key))
    if key in ("firstname", "lastname", "email"):
        # Moodle compares these with a case-insensitive LIKE, so % is a wildcard.
        pattern = "".join(".*" if part == "%" else re.escape(part) for part in re.split(r"(%)", value))
        return re.fullmatch(pattern, actual, re.IGNORECASE) is not None
    return actual == value
