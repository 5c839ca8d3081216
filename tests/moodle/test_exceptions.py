"""Mapping of every kind of Moodle failure to the client's error classes."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qsl

import httpx
import pytest

from assistant.moodle.client import MoodleClient
from assistant.moodle.exceptions import (
    MoodleAccessDenied,
    MoodleBadResponse,
    MoodleConfigError,
    MoodleError,
    MoodleNoManualEnrolment,
    MoodleNotFound,
    MoodleRejected,
    MoodleUnavailable,
    MoodleWeakPassword,
    error_from_moodle,
    password_policy_reason,
)

PASSWORD_HTML = (
    "<div>Passwords must be at least 8 characters long.</div>"
    "<div>The password must have at least 1 special character(s) such as *, -, or #.</div>"
)


def moodle_error(exception: str, errorcode: str, message: str = "Some message", **extra: str) -> httpx.Response:
    return httpx.Response(200, json={"exception": exception, "errorcode": errorcode, "message": message, **extra})


def raising(exc: Exception) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc

    return handler


def answering(response: httpx.Response) -> Callable[[httpx.Request], httpx.Response]:
    return lambda request: response


XML_ERROR = (
    '<?xml version="1.0" encoding="UTF-8" ?>\n<EXCEPTION class="core\\exception\\moodle_exception">\n'
    "<ERRORCODE>invalidtoken</ERRORCODE>\n<MESSAGE>Invalid token - token not found</MESSAGE>\n</EXCEPTION>\n"
)

CASES: list[tuple[str, Callable[[httpx.Request], httpx.Response], type[MoodleError]]] = [
    ("read timeout", raising(httpx.ReadTimeout("timed out")), MoodleUnavailable),
    ("connect timeout", raising(httpx.ConnectTimeout("timed out")), MoodleUnavailable),
    ("connect error", raising(httpx.ConnectError("refused")), MoodleUnavailable),
    ("connection dropped", raising(httpx.RemoteProtocolError("closed")), MoodleUnavailable),
    ("http 429", answering(httpx.Response(429, headers={"Retry-After": "120"})), MoodleUnavailable),
    ("http 500", answering(httpx.Response(500, text="PHP Fatal error")), MoodleUnavailable),
    ("http 503", answering(httpx.Response(503)), MoodleUnavailable),
    ("http 404", answering(httpx.Response(404, text="Not found")), MoodleConfigError),
    ("http 403", answering(httpx.Response(403)), MoodleConfigError),
    ("http 400", answering(httpx.Response(400)), MoodleRejected),
    ("http 413", answering(httpx.Response(413)), MoodleRejected),
    (
        "invalid parameter namespaced",
        answering(moodle_error("core\\exception\\invalid_parameter_exception", "invalidparameter")),
        MoodleRejected,
    ),
    (
        "invalid parameter legacy",
        answering(moodle_error("invalid_parameter_exception", "invalidparameter")),
        MoodleRejected,
    ),
    (
        "invalid parameter with debuginfo and unknown key",
        answering(moodle_error("invalid_parameter_exception", "invalidparameter", debuginfo="x", extra="y")),
        MoodleRejected,
    ),
    (
        "missing record debug off",
        answering(moodle_error("dml_missing_record_exception", "invalidrecordunknown")),
        MoodleNotFound,
    ),
    ("missing user debug on", answering(moodle_error("dml_missing_record_exception", "invaliduser")), MoodleNotFound),
    (
        "unknown function debug on",
        answering(
            moodle_error(
                "dml_missing_record_exception",
                "invalidrecord",
                "Can't find data record in database table external_functions.",
            )
        ),
        MoodleAccessDenied,
    ),
    ("invalid token", answering(moodle_error("core\\exception\\moodle_exception", "invalidtoken")), MoodleAccessDenied),
    ("invalid token legacy", answering(moodle_error("moodle_exception", "invalidtoken")), MoodleAccessDenied),
    (
        "function not in service",
        answering(moodle_error("webservice_access_exception", "accessexception")),
        MoodleAccessDenied,
    ),
    (
        "missing capability",
        answering(moodle_error("core\\exception\\required_capability_exception", "nopermissions")),
        MoodleAccessDenied,
    ),
    ("no manual enrolment", answering(moodle_error("moodle_exception", "wsnoinstance")), MoodleNoManualEnrolment),
    (
        "password policy html",
        answering(moodle_error("core\\exception\\moodle_exception", PASSWORD_HTML, f"error/{PASSWORD_HTML}")),
        MoodleWeakPassword,
    ),
    ("maintenance", answering(moodle_error("moodle_exception", "sitemaintenance")), MoodleUnavailable),
    ("xml error body", answering(httpx.Response(200, text=XML_ERROR)), MoodleAccessDenied),
    ("malformed json", answering(httpx.Response(200, text='{"users": [')), MoodleBadResponse),
    ("html login page", answering(httpx.Response(200, text="<html><body>Log in</body></html>")), MoodleBadResponse),
    ("error on http 400", answering(httpx.Response(400, text="{}")), MoodleRejected),
]


@pytest.mark.parametrize(("handler", "expected"), [(h, e) for _, h, e in CASES], ids=[name for name, _, _ in CASES])
async def test_failure_maps_to_error_class(handler: Callable[[httpx.Request], httpx.Response], expected: type[MoodleError]) -> None:
    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    client = MoodleClient("http://moodle.test", "secret-token", http_client=http, max_retries=0)

    with pytest.raises(MoodleError) as raised:
        await client.call("core_user_create_users", {"users": [{"username": "a"}]})

    assert type(raised.value) is expected
    assert raised.value.function == "core_user_create_users"
    assert "secret-token" not in str(raised.value)
    await http.aclose()


async def test_error_fields_and_status_codes() -> None:
    body = {"exception": "dml_missing_record_exception", "errorcode": "invaliduser", "message": "Invalid user", "debuginfo": "SELECT"}
    http = httpx.AsyncClient(transport=httpx.MockTransport(lambda request: httpx.Response(200, json=body)))
    client = MoodleClient("http://moodle.test", "token", http_client=http)

    with pytest.raises(MoodleNotFound) as raised:
        await client.call("core_user_delete_users", {"userids": [999999]})

    assert raised.value.exception_class == "dml_missing_record_exception"
    assert raised.value.errorcode == "invaliduser"
    assert raised.value.debuginfo == "SELECT"
    assert raised.value.status_code == 404
    await http.aclose()


def test_unavailable_is_503_and_retryable() -> None:
    error = error_from_moodle(function="f", exception="moodle_exception", errorcode="sitemaintenance", message="m")

    assert error.status_code == 503
    assert error.retryable is True


async def test_long_retry_after_raised_at_once() -> None:
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(429, headers={"Retry-After": "120"})

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    client = MoodleClient("http://moodle.test", "token", http_client=http, max_retries=3)

    # Longer than the in-call limit: the caller gets the error to reschedule the work.
    with pytest.raises(MoodleUnavailable) as raised:
        await client.get_site_info()

    assert raised.value.retry_after == 120.0
    assert len(calls) == 1
    await http.aclose()


def test_password_reason_is_plain_text() -> None:
    reason = password_policy_reason(PASSWORD_HTML)

    assert reason == (
        "Passwords must be at least 8 characters long. "
        "The password must have at least 1 special character(s) such as *, -, or #."
    )


def test_wsnoinstance_names_course() -> None:
    message = "Manual enrolment plugin instance doesn't exist or is disabled for the course (id = 7)"

    error = error_from_moodle(function="enrol_manual_enrol_users", exception="moodle_exception", errorcode="wsnoinstance", message=message)

    assert "manual enrolment missing in course 7" in error.message.lower()


async def test_json_null_is_success() -> None:
    http = httpx.AsyncClient(transport=httpx.MockTransport(lambda request: httpx.Response(200, text="null")))
    client = MoodleClient("http://moodle.test", "token", http_client=http)

    assert await client.call("enrol_manual_enrol_users", {}) is None
    await http.aclose()


async def test_form_carries_token_in_body_only() -> None:
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(200, json=[])

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    client = MoodleClient("http://moodle.test/", "secret-token", http_client=http)

    await client.get_users_by_field("username", [" Ana.Test "])

    form = parse_qsl(requests[0].content.decode())
    assert str(requests[0].url) == "http://moodle.test/webservice/rest/server.php"
    assert form[:3] == [
        ("wstoken", "secret-token"),
        ("wsfunction", "core_user_get_users_by_field"),
        ("moodlewsrestformat", "json"),
    ]
    assert form[3:] == [("field", "username"), ("values[0]", "ana.test")]
    await http.aclose()
