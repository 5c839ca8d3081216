"""A BambooHR sandbox: the parts of API v1 the service uses, in memory, for tests and demos.

It follows BambooHR's documented contract where the service depends on it:

- Basic auth with the API key as user name; a wrong key gives 401 and failures carry an
  `X-BambooHR-Error-Message` header.
- `POST reports/custom?format=JSON` needs `Content-Type: application/json` exactly, returns every
  employee, active or not, and leaves out unknown fields without an error.
- `GET employees/changed?since=` lists changes at or after `since` with the newest as `latest`.
- Training records: a cost is written as an object and read back as "10.00 USD". Numbers
  are read back as strings and an empty list is `[]`. An unknown training type gives 400.
- A key without training-settings access gets 403 on the training type endpoints.

Under `/_sandbox/` (no auth) tests load employees, inject faults and read request counts.
Empty dates are "0000-00-00", as BambooHR sends them.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import random
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from importlib import resources
from typing import Any, Literal

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

ROSTER_RESOURCE = "sample_roster.json"
DEFAULT_API_KEY = "sandbox-key"
EMPTY_DATE = "0000-00-00"
ERROR_HEADER = "X-BambooHR-Error-Message"
API_PREFIX = "/api/v1/"

# Fields the sandbox stores. A report or employee request drops any other field.
KNOWN_FIELDS = (
    "id",
    "employeeNumber",
    "firstName",
    "lastName",
    "displayName",
    "workEmail",
    "jobTitle",
    "department",
    "division",
    "location",
    "supervisorEId",
    "supervisor",
    "hireDate",
    "terminationDate",
    "status",
)
_DATE_FIELDS = {"hireDate", "terminationDate"}


class FaultConfig(BaseModel):
    """Faults injected into API requests; `/_sandbox/faults` sets and clears them."""

    # Status of the injected response. With `count`, only the next `count` matching requests get it.
    status: Literal[429, 500, 502, 503, 504] | None = None
    count: int | None = Field(default=None, ge=0)
    # Seconds sent in the Retry-After header of injected 429 and 503 responses.
    retry_after: int | None = Field(default=None, ge=0)
    # Seconds to wait before responding. A delay longer than the client's timeout simulates a timeout.
    delay: float = Field(default=0.0, ge=0)
    # Share of matching requests that get a 503, drawn from a generator seeded with `seed`.
    failure_rate: float = Field(default=0.0, ge=0, le=1)
    seed: int | None = None
    # Only requests whose path contains this text are affected.
    path_contains: str | None = None


class EmployeeLoad(BaseModel):
    employees: list[dict[str, Any]]
    # True replaces the roster; false adds or updates the given employees.
    replace: bool = False


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def sample_roster() -> list[dict[str, Any]]:
    """Return the invented employees the sandbox starts with."""
    text = resources.files(__package__).joinpath(ROSTER_RESOURCE).read_text(encoding="utf-8")
    return list(json.loads(text)["employees"])


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return Response(status_code=status, headers={ERROR_HEADER: message, **(headers or {})})


class _SandboxState:
    def __init__(self, employees: list[dict[str, Any]]) -> None:
        self.seed_employees = [dict(employee) for employee in employees]
        self.reset()

    def reset(self) -> None:
        self.employees: dict[str, dict[str, Any]] = {}
        self.changes: dict[str, tuple[str, str]] = {}
        for employee in self.seed_employees:
            self._store(dict(employee), action="Inserted", when=employee.get("lastChanged") or _now())
        self.training_types: dict[int, dict[str, Any]] = {}
        self.training_records: dict[int, dict[str, Any]] = {}
        self.categories: dict[str, int] = {}
        self.next_id = 1
        self.faults = FaultConfig()
        self.random = random.Random()
        self.stats: Counter[str] = Counter()

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id - 1

    def _store(self, employee: dict[str, Any], *, action: str, when: str) -> None:
        employee_id = str(employee["id"])
        employee["id"] = employee_id
        employee.pop("lastChanged", None)
        self.employees[employee_id] = employee
        self.changes[employee_id] = (action, when)

    def load(self, employees: list[dict[str, Any]], *, replace: bool) -> int:
        if replace:
            for employee_id in list(self.employees):
                self.delete(employee_id)
        when = _now()
        for employee in employees:
            if "id" not in employee:
                raise ValueError("every employee needs an 'id'")
            employee_id = str(employee["id"])
            current = self.employees.get(employee_id)
            action = "Updated" if current is not None else "Inserted"
            self._store({**(current or {}), **employee}, action=action, when=when)
        return len(employees)

    def delete(self, employee_id: str) -> bool:
        if self.employees.pop(employee_id, None) is None:
            return False
        self.changes[employee_id] = ("Deleted", _now())
        return True

    def field_value(self, employee: dict[str, Any], name: str) -> Any:
        if name == "displayName":
            return employee.get("displayName") or f"{employee.get('firstName', '')} {employee.get('lastName', '')}".strip()
        if name == "supervisor":
            manager = self.employees.get(str(employee.get("supervisorEId")))
            return self.field_value(manager, "displayName") if manager else None
        value = employee.get(name)
        if name in _DATE_FIELDS and not value:
            return EMPTY_DATE
        return value


def create_bamboohr_sandbox(
    *,
    api_key: str = DEFAULT_API_KEY,
    employees: list[dict[str, Any]] | None = None,
    admin: bool = True,
) -> FastAPI:
    """Build the sandbox app; `employees` defaults to the sample roster, and `admin=False` gives a key without training-settings access."""
    state = _SandboxState(sample_roster() if employees is None else employees)
    app = FastAPI(title="BambooHR sandbox", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.sandbox = state

    @app.middleware("http")
    async def _api_guard(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        if not request.url.path.startswith(API_PREFIX):
            return await call_next(request)

        state.stats["requests"] += 1
        state.stats[f"{request.method} {request.url.path.removeprefix(API_PREFIX)}"] += 1
        fault = await _injected_fault(state, request.url.path)
        if fault is not None:
            state.stats["faults_injected"] += 1
            return fault
        if not _authorised(request, api_key):
            state.stats["auth_failures"] += 1
            return _error(401, "Invalid API key", {"WWW-Authenticate": 'Basic realm="BambooHR sandbox"'})
        if "application/json" not in request.headers.get("accept", "") and request.method == "GET":
            body = '<?xml version="1.0"?><error>Send Accept: application/json to receive JSON</error>'
            return Response(body, media_type="text/xml")
        return await call_next(request)

    _add_employee_routes(app, state)
    _add_training_type_routes(app, state, admin=admin)
    _add_training_record_routes(app, state)
    _add_control_routes(app, state)
    return app


async def _injected_fault(state: _SandboxState, path: str) -> Response | None:
    faults = state.faults
    if faults.path_contains and faults.path_contains not in path:
        return None
    if faults.delay:
        await asyncio.sleep(faults.delay)

    headers = {"Retry-After": str(faults.retry_after)} if faults.retry_after is not None else {}
    if faults.status is not None and (faults.count is None or faults.count > 0):
        if faults.count is not None:
            faults.count -= 1
        return _error(faults.status, f"Sandbox fault: HTTP {faults.status}", headers)
    if faults.failure_rate and state.random.random() < faults.failure_rate:
        return _error(503, "Sandbox fault: random failure", headers)
    return None


def _authorised(request: Request, api_key: str) -> bool:
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        user, _, _ = base64.b64decode(encoded).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return False
    return user == api_key


async def _json_body(request: Request) -> Any:
    try:
        return await request.json()
    except ValueError:
        return None


def _add_employee_routes(app: FastAPI, state: _SandboxState) -> None:
    @app.get("/api/v1/employees/directory")
    async def directory() -> Response:
        fields = ["displayName", "firstName", "lastName", "jobTitle", "workEmail", "department", "division", "location", "supervisor"]
        people = [
            {"id": employee_id, **{name: state.field_value(employee, name) for name in fields}}
            for employee_id, employee in state.employees.items()
            if employee.get("status") == "Active"
        ]
        return JSONResponse({"fields": [{"id": name, "type": "text", "name": name} for name in fields], "employees": people})

    @app.get("/api/v1/employees/changed")
    async def changed(since: str = "", type: str = "") -> Response:
        try:
            moment = datetime.fromisoformat(since)
        except ValueError:
            return _error(400, f"Invalid 'since' value {since!r}; use ISO 8601 such as 2011-07-04T13:05:00Z")
        if moment.tzinfo is None:
            return _error(400, f"'since' value {since!r} has no time zone offset")

        wanted = {"inserted": "Inserted", "updated": "Updated", "deleted": "Deleted"}.get(type.lower())
        entries = {
            employee_id: {"id": employee_id, "action": action, "lastChanged": when}
            for employee_id, (action, when) in state.changes.items()
            if datetime.fromisoformat(when) >= moment and (wanted is None or action == wanted)
        }
        latest = max((entry["lastChanged"] for entry in entries.values()), default=None, key=datetime.fromisoformat)
        return JSONResponse({"latest": latest, "employees": entries or []})

    @app.get("/api/v1/employees/{employee_id}")
    async def get_employee(employee_id: str, fields: str = "firstName,lastName") -> Response:
        employee = state.employees.get(employee_id)
        if employee is None:
            return _error(404, f"Employee {employee_id} not found")
        names = [name for name in fields.split(",") if name in KNOWN_FIELDS]
        return JSONResponse({"id": employee_id, **{name: state.field_value(employee, name) for name in names}})

    @app.post("/api/v1/reports/custom")
    async def custom_report(request: Request, format: str = "") -> Response:
        if request.headers.get("content-type") != "application/json":
            return _error(400, "Malformed XML")
        if format.lower() != "json":
            return _error(400, "The sandbox supports format=JSON only")
        body = await _json_body(request)
        if not isinstance(body, dict) or not isinstance(body.get("fields"), list):
            return _error(400, "The report needs a 'fields' list")

        names = [name for name in dict.fromkeys(body["fields"]) if name in KNOWN_FIELDS and name != "id"]
        rows = [
            {"id": employee_id, **{name: state.field_value(employee, name) for name in names}}
            for employee_id, employee in state.employees.items()
        ]
        fields = [{"id": name, "type": "date" if name in _DATE_FIELDS else "text", "name": name} for name in names]
        return JSONResponse({"title": body.get("title", "Report"), "fields": fields, "employees": rows})


def _training_type_view(training_type: dict[str, Any]) -> dict[str, Any]:
    # BambooHR reads numbers back as strings and an absent number as "".
    view = dict(training_type)
    view["id"] = str(view["id"])
    for name in ("frequency", "dueFromHireDate"):
        view[name] = "" if view.get(name) is None else str(view[name])
    category = view.get("category")
    view["category"] = {"id": str(category["id"]), "name": category["name"]} if category else ""
    return view


def _validate_training_type(body: Any, state: _SandboxState) -> tuple[dict[str, Any] | None, str | None]:
    if not isinstance(body, dict) or not isinstance(body.get("name"), str) or not body["name"].strip():
        return None, "Training type 'name' is required"
    renewable = bool(body.get("renewable", False))
    required = bool(body.get("required", False))
    frequency = body.get("frequency")
    if renewable and not isinstance(frequency, int):
        return None, "A renewable training type needs 'frequency' in months"
    due = body.get("dueFromHireDate")
    if due is not None and not required:
        return None, "'dueFromHireDate' is valid only for a required training type"

    category = None
    raw_category = body.get("category")
    if isinstance(raw_category, dict) and raw_category.get("name"):
        name = str(raw_category["name"])
        category_id = state.categories.setdefault(name, len(state.categories) + 1)
        category = {"id": category_id, "name": name}
    elif isinstance(raw_category, dict) and raw_category.get("id") is not None:
        by_id = {category_id: name for name, category_id in state.categories.items()}
        if raw_category["id"] not in by_id:
            return None, f"Training category {raw_category['id']} does not exist"
        category = {"id": raw_category["id"], "name": by_id[raw_category["id"]]}

    return {
        "name": body["name"].strip(),
        "renewable": renewable,
        "frequency": frequency if renewable else None,
        "required": required,
        "dueFromHireDate": due,
        "category": category,
        "linkUrl": body.get("linkUrl"),
        "description": body.get("description"),
        "allowEmployeesToMarkComplete": bool(body.get("allowEmployeesToMarkComplete", False)),
    }, None


def _add_training_type_routes(app: FastAPI, state: _SandboxState, *, admin: bool) -> None:
    no_access = "The API key's user has no access to training settings"

    @app.get("/api/v1/training/type")
    async def list_types() -> Response:
        if not admin:
            return _error(403, no_access)
        views = {str(type_id): _training_type_view(item) for type_id, item in state.training_types.items()}
        return JSONResponse(views or [])

    @app.post("/api/v1/training/type")
    async def add_type(request: Request) -> Response:
        if not admin:
            return _error(403, no_access)
        values, problem = _validate_training_type(await _json_body(request), state)
        if values is None:
            return _error(400, problem or "Invalid training type")
        type_id = state.new_id()
        state.training_types[type_id] = {"id": type_id, **values}
        return JSONResponse(_training_type_view(state.training_types[type_id]), status_code=201)

    @app.put("/api/v1/training/type/{type_id}")
    async def update_type(type_id: int, request: Request) -> Response:
        if not admin:
            return _error(403, no_access)
        if type_id not in state.training_types:
            return _error(404, f"Training type {type_id} not found")
        values, problem = _validate_training_type(await _json_body(request), state)
        if values is None:
            return _error(400, problem or "Invalid training type")
        state.training_types[type_id] = {"id": type_id, **values}
        return JSONResponse(_training_type_view(state.training_types[type_id]))

    @app.delete("/api/v1/training/type/{type_id}")
    async def delete_type(type_id: int) -> Response:
        if not admin:
            return _error(403, no_access)
        if type_id not in state.training_types:
            return _error(404, f"Training type {type_id} not found")
        if any(record["type"] == type_id for record in state.training_records.values()):
            return _error(400, f"Training type {type_id} still has employee training records; delete them first")
        del state.training_types[type_id]
        return Response(status_code=200)


def _record_view(record: dict[str, Any]) -> dict[str, Any]:
    # Written as {"currency": "USD", "cost": "10.00"}, a cost reads back as "10.00 USD".
    cost = record.get("cost")
    return {
        "id": str(record["id"]),
        "employeeId": str(record["employeeId"]),
        "completed": record["completed"],
        "cost": f"{cost['cost']} {cost['currency']}" if cost else "",
        "instructor": record.get("instructor") or "",
        "hours": "" if record.get("hours") is None else str(record["hours"]),
        "credits": "" if record.get("credits") is None else str(record["credits"]),
        "notes": record.get("notes") or "",
        "type": str(record["type"]),
    }


def _validate_record(body: Any, state: _SandboxState, *, type_required: bool) -> tuple[dict[str, Any] | None, str | None]:
    if not isinstance(body, dict):
        return None, "The body must be a JSON object"
    completed = body.get("completed")
    try:
        date.fromisoformat(str(completed))
    except ValueError:
        return None, "'completed' is required and must be in yyyy-mm-dd format"

    type_id = body.get("type")
    if type_id is None and type_required:
        return None, "'type' is required: the id of an existing training type"
    if type_id is not None and type_id not in state.training_types:
        return None, f"Training type {type_id} does not exist"

    cost = body.get("cost")
    if cost is not None:
        if not isinstance(cost, dict) or "currency" not in cost or "cost" not in cost:
            return None, "'cost' must be an object with 'currency' and 'cost'"
        cost = {"currency": str(cost["currency"]), "cost": f"{float(cost['cost']):.2f}"}

    values = {"completed": str(completed), "cost": cost, "type": type_id}
    for name in ("instructor", "notes", "hours", "credits"):
        values[name] = body.get(name)
    return values, None


def _add_training_record_routes(app: FastAPI, state: _SandboxState) -> None:
    @app.get("/api/v1/training/record/employee/{employee_id}")
    async def list_records(employee_id: str, type: int | None = None) -> Response:
        if employee_id not in state.employees:
            return _error(404, f"Employee {employee_id} not found")
        views = {
            str(record_id): _record_view(record)
            for record_id, record in state.training_records.items()
            if str(record["employeeId"]) == employee_id and (type is None or record["type"] == type)
        }
        return JSONResponse(views or [])

    @app.post("/api/v1/training/record/employee/{employee_id}")
    async def add_record(employee_id: str, request: Request) -> Response:
        if employee_id not in state.employees:
            return _error(404, f"Employee {employee_id} not found")
        values, problem = _validate_record(await _json_body(request), state, type_required=True)
        if values is None:
            return _error(400, problem or "Invalid training record")
        record_id = state.new_id()
        state.training_records[record_id] = {"id": record_id, "employeeId": employee_id, **values}
        return JSONResponse(_record_view(state.training_records[record_id]), status_code=201)

    @app.put("/api/v1/training/record/{record_id}")
    async def update_record(record_id: int, request: Request) -> Response:
        current = state.training_records.get(record_id)
        if current is None:
            return _error(404, f"Training record {record_id} not found")
        values, problem = _validate_record(await _json_body(request), state, type_required=False)
        if values is None:
            return _error(400, problem or "Invalid training record")
        values["type"] = values["type"] if values["type"] is not None else current["type"]
        current.update(values)
        return JSONResponse(_record_view(current))

    @app.delete("/api/v1/training/record/{record_id}")
    async def delete_record(record_id: int) -> Response:
        if state.training_records.pop(record_id, None) is None:
            return _error(404, f"Training record {record_id} not found")
        return Response(status_code=200)


def _add_control_routes(app: FastAPI, state: _SandboxState) -> None:
    @app.post("/_sandbox/reset")
    async def reset() -> dict[str, int]:
        state.reset()
        return {"employees": len(state.employees)}

    @app.get("/_sandbox/employees")
    async def list_employees() -> list[dict[str, Any]]:
        return list(state.employees.values())

    @app.post("/_sandbox/employees")
    async def load_employees(load: EmployeeLoad) -> Response:
        try:
            count = state.load(load.employees, replace=load.replace)
        except ValueError as exc:
            return JSONResponse({"error": str(exc)}, status_code=422)
        return JSONResponse({"loaded": count, "employees": len(state.employees)})

    @app.delete("/_sandbox/employees/{employee_id}")
    async def delete_employee(employee_id: str) -> Response:
        if not state.delete(employee_id):
            return JSONResponse({"error": f"no employee {employee_id}"}, status_code=404)
        return JSONResponse({"deleted": employee_id})

    @app.get("/_sandbox/faults")
    async def get_faults() -> FaultConfig:
        return state.faults

    @app.post("/_sandbox/faults")
    async def set_faults(faults: FaultConfig) -> FaultConfig:
        state.faults = faults
        state.random = random.Random(faults.seed)
        return faults

    @app.delete("/_sandbox/faults")
    async def clear_faults() -> FaultConfig:
        state.faults = FaultConfig()
        return state.faults

    @app.get("/_sandbox/stats")
    async def stats() -> dict[str, int]:
        return dict(state.stats)
