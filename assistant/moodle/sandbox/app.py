"""The Moodle sandbox as an ASGI app: Moodle's REST endpoint plus a JSON admin interface.

`POST /webservice/rest/server.php` responds the way Moodle 5.1 does: HTTP 200 for every
Moodle error, generic messages unless `debug` is on, XML when `moodlewsrestformat` is
not `json`. The admin interface under `/_sandbox/` needs no token and exists for tests
and demos; `admin=False` turns it off.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape, quoteattr

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

# The ws_* modules register their functions on import.
from assistant.moodle.sandbox import ws_cohorts, ws_courses, ws_enrol, ws_progress, ws_users  # noqa: F401
from assistant.moodle.sandbox.errors import WsError, access_exception, invalid_token, missing_record, moodle_exception
from assistant.moodle.sandbox.params import parse_php_form, validate
from assistant.moodle.sandbox.registry import FUNCTIONS, Caller
from assistant.moodle.sandbox.state import Fault, SandboxState, load_fixture

DEFAULT_TOKEN = "hrlab0000000000000000000000ws001"
INTEGRATION_SERVICE = "hr_integration"
REST_PATH = "/webservice/rest/server.php"
MAX_INPUT_VARS = 5000

# Form fields the REST server consumes itself; the rest are the function's parameters.
RESERVED_FIELDS = frozenset(
    {"wstoken", "wsfunction", "moodlewsrestformat", "moodlewssettingfilter", "moodlewssettingfileurl",
     "moodlewssettinglang", "moodlewssettingraw"}
)


def create_sandbox_app(
    *,
    fixture: Path | dict[str, Any] | None = None,
    token: str = DEFAULT_TOKEN,
    debug: bool = False,
    admin: bool = True,
) -> Starlette:
    """Build a sandbox seeded from `fixture` (the bundled fixture.json by default).

    `token` replaces the integration token of the fixture; `debug` makes errors carry
    `debuginfo` and Moodle's debug-mode error codes. The state is `app.state.sandbox`.
    """
    data = load_fixture(fixture)
    for entry in data["tokens"]:
        if entry["service"] == INTEGRATION_SERVICE:
            entry["token"] = token
    state = SandboxState(data)
    state.debug = debug

    app = Starlette(routes=[Route(REST_PATH, _web_service, methods=["GET", "POST"]), *_admin_routes(admin)])
    app.state.sandbox = state
    return app


# --- the REST endpoint ---


async def _web_service(request: Request) -> Response:
    state: SandboxState = request.app.state.sandbox
    body = (await request.body()).decode("utf-8", errors="replace")
    # PHP drops input variables beyond max_input_vars; Moodle's installer requires at least 5000.
    form = parse_qsl(body, keep_blank_values=True)[:MAX_INPUT_VARS]
    pairs = [*request.query_params.multi_items(), *form]
    fields = dict(pairs)
    function = fields.get("wsfunction", "")
    as_json = fields.get("moodlewsrestformat") == "json"

    fault = state.take_fault(function, fields)
    state.call_started(function)
    try:
        if fault is not None and fault.mode != "timeout":
            return _fault_response(fault, as_json)
        if state.latency:
            await asyncio.sleep(state.latency)

        siteurl = str(request.base_url).rstrip("/")
        response = _render(state, lambda: _dispatch(state, pairs, siteurl), as_json=as_json)
        if fault is not None:
            # The call was applied and only the response is late, as after a real timeout.
            await asyncio.sleep(fault.delay)
        return response
    finally:
        state.call_finished()


def _dispatch(state: SandboxState, pairs: list[tuple[str, str]], siteurl: str) -> Any:
    fields = dict(pairs)
    token = state.tokens.get(fields.get("wstoken", ""))
    if token is None:
        raise invalid_token()
    owner = state.users[token.userid]
    if owner.suspended or owner.deleted:
        raise moodle_exception("wsaccessusersuspended", f"Refused web service access for suspended username: {owner.username}")

    function = fields.get("wsfunction", "")
    site_functions = {name for names in state.services.values() for name in names} | set(state.other_site_functions)
    if function not in site_functions:
        raise missing_record("external_functions", "name = ?", [function])
    if function not in state.services[token.service]:
        raise access_exception(function)
    implementation = FUNCTIONS.get(function)
    if implementation is None:
        raise WsError(
            "coding_exception",
            "codingerror",
            f"Coding error detected, it must be fixed by a programmer: the Moodle sandbox does not implement {function}",
        )

    params = validate(implementation.params, parse_php_form((k, v) for k, v in pairs if k not in RESERVED_FIELDS))
    caller = Caller(userid=token.userid, siteurl=siteurl, debug=state.debug, mod_view=token.mod_view)
    return implementation.handler(state, caller, params)


def _render(state: SandboxState, call: Callable[[], Any], *, as_json: bool) -> Response:
    # One lock for the whole call makes every function a transaction.
    with state.lock:
        try:
            result = call()
        except WsError as exc:
            body = exc.body(debug=state.debug)
            return _json(body) if as_json else _xml_error(body)
    return _json(result) if as_json else _xml_response(result)


def _json(payload: Any) -> Response:
    # PHP's json_encode escapes "/" and non-ASCII characters; Moodle's bodies look the same.
    text = json.dumps(payload, separators=(",", ":"), ensure_ascii=True).replace("/", "\\/")
    return Response(text, media_type="application/json")


def _xml_error(body: dict[str, Any]) -> Response:
    lines = [
        '<?xml version="1.0" encoding="UTF-8" ?>',
        f"<EXCEPTION class={quoteattr(body['exception'])}>",
        f"<ERRORCODE>{escape(body['errorcode'])}</ERRORCODE>",
        f"<MESSAGE>{escape(body['message'])}</MESSAGE>",
    ]
    if "debuginfo" in body:
        lines.append(f"<DEBUGINFO>{escape(body['debuginfo'])}</DEBUGINFO>")
    lines.append("</EXCEPTION>")
    return Response("\n".join(lines) + "\n", media_type="application/xml; charset=utf-8")


def _xml_response(result: Any) -> Response:
    text = '<?xml version="1.0" encoding="UTF-8" ?>\n<RESPONSE>\n' + _xml_value(result) + "</RESPONSE>\n"
    return Response(text, media_type="application/xml; charset=utf-8")


def _xml_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict):
        keys = "".join(f"<KEY name={quoteattr(str(k))}>{_xml_scalar_or_nested(v)}</KEY>\n" for k, v in value.items())
        return f"<SINGLE>\n{keys}</SINGLE>\n"
    if isinstance(value, list):
        return "<MULTIPLE>\n" + "".join(_xml_value(item) or _xml_scalar_or_nested(item) for item in value) + "</MULTIPLE>\n"
    return _xml_scalar_or_nested(value)


def _xml_scalar_or_nested(value: Any) -> str:
    if value is None:
        return '<VALUE null="null"/>'
    if isinstance(value, dict | list):
        return "\n" + _xml_value(value)
    if isinstance(value, bool):
        value = int(value)
    return f"<VALUE>{escape(str(value))}</VALUE>"


def _fault_response(fault: Fault, as_json: bool) -> Response:
    if fault.mode == "429":
        headers = {"Retry-After": f"{fault.retry_after:g}"}
        return Response("Too many requests", status_code=429, headers=headers, media_type="text/plain")
    if fault.mode == "status":
        return Response(f"<html><body>HTTP {fault.status}</body></html>", status_code=fault.status, media_type="text/html")
    body = {
        "exception": fault.exception.get("exception", "core\\exception\\moodle_exception"),
        "errorcode": fault.exception.get("errorcode", "sandboxfault"),
        "message": fault.exception.get("message", "Fault injected by the Moodle sandbox"),
    }
    return _json(body) if as_json else _xml_error(body)


# --- the admin interface ---


class _AdminBody(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ActivityCompletionBody(_AdminBody):
    userid: int
    cmid: int
    state: int = Field(ge=0, le=3)


class GradeBody(_AdminBody):
    userid: int
    cmid: int | None = None
    itemid: int | None = None
    grade: float | None

    @model_validator(mode="after")
    def _one_target(self) -> GradeBody:
        if (self.cmid is None) == (self.itemid is None):
            raise ValueError("give exactly one of cmid and itemid")
        return self


class CronBody(_AdminBody):
    # Unix seconds the run starts at; defaults to now.
    time: float | None = None


class FaultBody(_AdminBody):
    mode: Literal["timeout", "status", "429", "exception"]
    count: int = Field(default=1, ge=1)
    status: int = Field(default=503, ge=400, le=599)
    retry_after: float = Field(default=1.0, ge=0)
    delay: float = Field(default=10.0, ge=0)
    function: str | None = None
    params: dict[str, str] = Field(default_factory=dict)
    exception: dict[str, str] = Field(default_factory=dict)


class CoursesBody(_AdminBody):
    courses: list[dict[str, Any]]


class SettingsBody(_AdminBody):
    debug: bool | None = None
    # Seconds every web service call waits before it runs.
    latency: float | None = Field(default=None, ge=0)


AdminHandler = Callable[[SandboxState, Any], Any]


def _admin_routes(enabled: bool) -> list[Route]:
    handlers: dict[str, tuple[type[BaseModel] | None, AdminHandler]] = {
        "reset": (None, lambda state, body: state.reset()),
        "activity-completion": (ActivityCompletionBody, _set_completion),
        "grade": (GradeBody, lambda state, body: state.set_grade(body.userid, body.grade, cmid=body.cmid, itemid=body.itemid)),
        "cron": (CronBody, lambda state, body: {"reaggregated": state.run_cron(body.time)}),
        "faults": (FaultBody, lambda state, body: state.add_fault(Fault(**body.model_dump()))),
        "courses": (CoursesBody, lambda state, body: {"ids": state.add_courses(body.courses)}),
        "settings": (SettingsBody, _apply_settings),
    }
    routes = [
        Route(f"/_sandbox/{name}", _admin_endpoint(enabled, model, handler), methods=["POST"])
        for name, (model, handler) in handlers.items()
    ]
    routes.append(Route("/_sandbox/stats", _admin_endpoint(enabled, None, lambda state, body: state.stats()), methods=["GET"]))
    return routes


def _admin_endpoint(
    enabled: bool, model: type[BaseModel] | None, handler: AdminHandler
) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        if not enabled:
            return _admin_error(403, "Forbidden", "the sandbox admin interface is turned off (admin=False)")
        state: SandboxState = request.app.state.sandbox
        try:
            body = model.model_validate(await _json_body(request)) if model else None
            result = handler(state, body)
        except (ValidationError, ValueError, KeyError) as exc:
            return _admin_error(422, "InvalidInput", str(exc))
        return JSONResponse(result if result is not None else {"status": "ok"})

    return endpoint


async def _json_body(request: Request) -> Any:
    raw = await request.body()
    if not raw:
        return {}
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise ValueError(f"the request body is not JSON: {exc}") from exc


def _admin_error(status: int, error: str, detail: str) -> JSONResponse:
    return JSONResponse({"error": error, "detail": detail}, status_code=status)


def _set_completion(state: SandboxState, body: ActivityCompletionBody) -> dict[str, Any]:
    if body.cmid not in state.activities:
        raise KeyError(f"no activity with cmid {body.cmid}")
    record = state.set_activity_completion(body.userid, body.cmid, body.state)
    return {"cmid": body.cmid, "userid": body.userid, "state": record.state, "timecompleted": record.timecompleted}


def _apply_settings(state: SandboxState, body: SettingsBody) -> dict[str, Any]:
    if body.debug is not None:
        state.debug = body.debug
    if body.latency is not None:
        state.latency = body.latency
    return {"debug": state.debug, "latency": state.latency}
