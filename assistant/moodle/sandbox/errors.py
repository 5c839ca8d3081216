"""Moodle exceptions as the sandbox raises and renders them.

A real site hides the cause of most errors unless debugging is on: `debuginfo` appears
only in debug mode, and a missing record reports `invalidrecordunknown` with debugging
off but `invaliduser` or `invalidrecord` with it on. `WsError` carries both variants and
`body(debug)` picks one.
"""

from __future__ import annotations

from typing import Any

INVALID_PARAMETER = "core\\exception\\invalid_parameter_exception"
MOODLE_EXCEPTION = "core\\exception\\moodle_exception"
MISSING_RECORD = "dml_missing_record_exception"
ACCESS_EXCEPTION = "webservice_access_exception"


class WsError(Exception):
    """A Moodle exception the web service server reports in its body with HTTP 200."""

    def __init__(
        self,
        exception: str,
        errorcode: str,
        message: str,
        debuginfo: str | None = None,
        *,
        debug_errorcode: str | None = None,
        debug_message: str | None = None,
    ) -> None:
        super().__init__(message)
        self.exception = exception
        self.errorcode = errorcode
        self.message = message
        self.debuginfo = debuginfo
        self.debug_errorcode = debug_errorcode or errorcode
        self.debug_message = debug_message or message

    def body(self, *, debug: bool) -> dict[str, Any]:
        """Return the error body the site sends with debugging on or off."""
        if not debug:
            return {"exception": self.exception, "errorcode": self.errorcode, "message": self.message}
        body: dict[str, Any] = {
            "exception": self.exception,
            "errorcode": self.debug_errorcode,
            "message": self.debug_message,
        }
        if self.debuginfo is not None:
            body["debuginfo"] = self.debuginfo
        return body


def invalid_parameter(debuginfo: str) -> WsError:
    return WsError(INVALID_PARAMETER, "invalidparameter", "Invalid parameter value detected", debuginfo)


def moodle_exception(errorcode: str, message: str, debuginfo: str | None = None) -> WsError:
    return WsError(MOODLE_EXCEPTION, errorcode, message, debuginfo)


def missing_record(table: str, where: str, values: list[Any]) -> WsError:
    """Build the error of `$DB->get_record(..., MUST_EXIST)` finding nothing."""
    sql = f"SELECT * FROM {{{table}}} WHERE {where}"
    dump = "".join(f"  {index} => {_var_export(value)},\n" for index, value in enumerate(values))
    if table == "user":
        debug_errorcode, debug_message = "invaliduser", "Invalid user"
    else:
        debug_errorcode, debug_message = "invalidrecord", f"Can't find data record in database table {table}."
    return WsError(
        MISSING_RECORD,
        "invalidrecordunknown",
        "Can't find data record in database.",
        f"{sql}\n[array (\n{dump})]",
        debug_errorcode=debug_errorcode,
        debug_message=debug_message,
    )


def access_exception(function: str) -> WsError:
    # Moodle 5.1 webservice/lib.php: the text lists every reason a function can be refused.
    debuginfo = (
        f"Access to the function {function}() is not allowed.\n"
        "                     There could be multiple reasons for this:\n"
        "                     1. The service linked to the user token does not contain the function.\n"
        "                     2. The service is user-restricted and the user is not listed.\n"
        "                     3. The service is IP-restricted and the user IP is not listed.\n"
        "                     4. The service is time-restricted and the time has expired.\n"
        "                     5. The token is time-restricted and the time has expired.\n"
        "                     6. The service requires a specific capability which the user does not have.\n"
        "                     7. The function is called with username/password (no user token is sent)\n"
        "                     and none of the services has the function to allow the user.\n"
        "                     These settings can be found in Administration > Site administration\n"
        "                     > Server > Web services > External services and Manage tokens."
    )
    return WsError(ACCESS_EXCEPTION, "accessexception", "Access control exception", debuginfo)


def invalid_token() -> WsError:
    return moodle_exception("invalidtoken", "Invalid token - token not found")


def _var_export(value: Any) -> str:
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    return str(value)
