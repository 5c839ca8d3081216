"""Errors raised by the Moodle client, and the one place that classifies Moodle's error bodies.

Moodle's REST server reports almost every failure with HTTP 200 and a body such as
`{"exception": ..., "errorcode": ..., "message": ...[, "debuginfo": ...]}`.
`error_from_moodle` turns such a body into one of these classes::

    MoodleError (AssistantError, 502)
    ├── MoodleUnavailable (503): timeout, network failure, 429, 5xx, maintenance; retryable
    ├── MoodleRejected (502): Moodle refused this input; another input may pass
    │   ├── MoodleNotFound (404): a user, course or other record does not exist
    │   ├── MoodleNoManualEnrolment: the course has no manual enrolment instance
    │   └── MoodleWeakPassword: the password fails the site's password policy
    ├── MoodleConfigError (502): wrong site URL or set-up; an administrator must act
    │   └── MoodleAccessDenied: invalid token, function not in the service, missing capability
    └── MoodleBadResponse (502): the body is neither JSON nor a Moodle error

Only `MoodleRejected` is specific to the items of a call, so only it makes the client
split a batch. Nothing here imports httpx; the client maps transport failures itself.
"""

from __future__ import annotations

import html
import re

from assistant.errors import AssistantError

# Error codes that say the token, the service or the capabilities of the token's user
# are wrong. Moodle 5.1 names: webservice/lib.php and lib/setuplib.php.
ACCESS_ERROR_CODES = frozenset(
    {
        "invalidtoken",
        "invalidtimedtoken",
        "accessexception",
        "servicerequireslogin",
        "servicenotavailable",
        "nopermissions",
        "requireloginerror",
        "usernotfullysetup",
        "wsaccessuserdeleted",
        "wsaccessusersuspended",
        "wsaccessuserexpired",
        "wsaccessusernologin",
        "wsaccessusernotfullysetup",
        "invalidiptoken",
    }
)

# Moodle reports a missing record as `invalidrecordunknown` with debugging off and as
# `invaliduser`, `invalidrecord` and similar with debugging on.
MISSING_RECORD_CODES = frozenset({"invalidrecordunknown", "invalidrecord", "invaliduser", "invalidcourseid"})

# Temporary states of the site: a retry later can succeed.
UNAVAILABLE_ERROR_CODES = frozenset({"sitemaintenance", "dbconnectionfailed"})

_TAG = re.compile(r"<[^>]+>")


class MoodleError(AssistantError):
    """Base of every Moodle failure; carries Moodle's own fields when there were any."""

    status_code = 502
    retryable = False

    def __init__(
        self,
        message: str,
        *,
        function: str | None = None,
        exception: str | None = None,
        errorcode: str | None = None,
        debuginfo: str | None = None,
        status_code: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message, status_code=status_code, headers=headers)
        self.function = function
        self.exception = exception
        self.errorcode = errorcode
        self.debuginfo = debuginfo

    @property
    def exception_class(self) -> str | None:
        """Moodle's exception class without its PHP namespace (`core\\exception\\` and similar)."""
        if self.exception is None:
            return None
        return self.exception.rsplit("\\", 1)[-1]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(function={self.function!r}, errorcode={self.errorcode!r}, message={self.message!r})"


class MoodleUnavailable(MoodleError):
    """Moodle could not be reached or reported a temporary failure, so the call may be retried.

    `retry_after` is the number of seconds from a Retry-After header. `may_have_committed` is
    true when the request reached Moodle and the response was lost (read timeout, 5xx),
    so a write may have been applied.
    """

    status_code = 503
    retryable = True

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        may_have_committed: bool = False,
        **kwargs: object,
    ) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.retry_after = retry_after
        self.may_have_committed = may_have_committed


class MoodleRejected(MoodleError):
    """Moodle refused the input of this call; the same call will fail again."""


class MoodleNotFound(MoodleRejected):
    """A record the call names (user, course, module) does not exist in Moodle."""

    status_code = 404


class MoodleNoManualEnrolment(MoodleRejected):
    """The course has no enabled manual enrolment instance (`wsnoinstance`)."""


class MoodleWeakPassword(MoodleRejected):
    """The password fails the site's password policy; `message` lists the rules it breaks."""


class MoodleConfigError(MoodleError):
    """The site URL, the token or the site's set-up is wrong; retrying will not help."""


class MoodleAccessDenied(MoodleConfigError):
    """The token is invalid, or its service or user may not call the function."""


class MoodleBadResponse(MoodleError):
    """Moodle responded with a body that is neither JSON nor a Moodle error."""


def is_password_policy_error(errorcode: str) -> bool:
    """Return whether the errorcode is Moodle's password-policy HTML (`<div>Passwords must…</div>`)."""
    return errorcode.lstrip().startswith("<") or "</div>" in errorcode


def password_policy_reason(errorcode: str) -> str:
    """Turn the password-policy HTML into plain sentences, one per broken rule."""
    parts = [html.unescape(part).strip() for part in _TAG.split(errorcode)]
    return " ".join(part for part in parts if part)


def error_from_moodle(
    *,
    function: str | None,
    exception: str | None,
    errorcode: str | None,
    message: str | None,
    debuginfo: str | None = None,
) -> MoodleError:
    """Classify one Moodle error body (JSON or XML) and return the matching exception.

    Matches on the exception class with or without its namespace and on sets of
    errorcodes, because Moodle changes some codes with its debug setting.
    """
    exception_class = (exception or "").rsplit("\\", 1)[-1]
    code = errorcode or ""
    text = message or code or "no message"
    fields = {"function": function, "exception": exception, "errorcode": errorcode, "debuginfo": debuginfo}

    if is_password_policy_error(code):
        reason = password_policy_reason(code)
        return MoodleWeakPassword(f"Moodle rejected the password: {reason}", **fields)
    if code in ACCESS_ERROR_CODES or exception_class in {"webservice_access_exception", "required_capability_exception"}:
        return MoodleAccessDenied(_access_denied_message(function, code, text), **fields)
    if _is_missing_function(exception_class, code, text, debuginfo):
        return MoodleAccessDenied(
            f"Moodle has no web service function {function}: ask the Moodle administrator to check the "
            "Moodle version and to install the plugin that provides it.",
            **fields,
        )
    if code == "wsnoinstance":
        course = _course_id_from(text)
        where = f"course {course}" if course else "the course"
        return MoodleNoManualEnrolment(
            f"Manual enrolment missing in {where}: ask the Moodle administrator to add the "
            "'Manual enrolments' method to the course.",
            **fields,
        )
    if code in UNAVAILABLE_ERROR_CODES or exception_class == "dml_connection_exception":
        return MoodleUnavailable(f"Moodle is temporarily unavailable ({code}): {text}", **fields)
    if exception_class == "dml_missing_record_exception" or code in MISSING_RECORD_CODES:
        return MoodleNotFound(f"Moodle found no such record for {function} ({code}): {text}", **fields)
    return MoodleRejected(f"Moodle rejected {function} ({code}): {text}", **fields)


def _access_denied_message(function: str | None, code: str, text: str) -> str:
    if code in {"invalidtoken", "invalidtimedtoken", "invalidiptoken"}:
        return (
            f"Moodle rejected the web service token ({code}): ask the Moodle administrator for a valid "
            "token of the integration's external service and set ASSISTANT_MOODLE_TOKEN."
        )
    if code == "nopermissions":
        return (
            f"The Moodle token's user lacks a capability for {function} ({text}): ask the Moodle administrator "
            "to grant it to the integration user's role."
        )
    return (
        f"The Moodle token may not call {function} ({code}): ask the Moodle administrator to add {function} "
        "to the token's external service (Site administration > Server > Web services > External services) "
        "and to give the token's user the capabilities it needs."
    )


def _is_missing_function(exception_class: str, code: str, text: str, debuginfo: str | None) -> bool:
    # With debugging on, an unknown function names the external_functions table. With
    # debugging off it reads like any missing record, so only the preflight check
    # (`MoodleClient.missing_functions`) can tell the two apart.
    if exception_class != "dml_missing_record_exception":
        return False
    return "external_functions" in text or "external_functions" in (debuginfo or "")


def _course_id_from(text: str) -> str | None:
    match = re.search(r"id\s*=\s*(\d+)", text)
    return match.group(1) if match else None
