"""The SCIM 2.0 service provider at /scim/v2 (RFC 7643, RFC 7644).

Every route hands the request to scim2-server's `ScimHandler`, which validates it,
applies PUT and PATCH, pages searches and renders SCIM errors. `PersonStorage` keeps
the users in SQL and writes each change through to the person record. After the
commit, the people whose record changed are synced to Moodle in a background task,
so the SCIM response does not wait for Moodle.

Errors are SCIM Error bodies (RFC 7644 §3.12) with `application/scim+json`, never the
API's own error format and never a traceback.
"""

from __future__ import annotations

import hmac
import json
from functools import cache
from typing import Any

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import Response
from scim2_models import PayloadTooLargeException, SCIMException, UnauthorizedException
from scim2_server.handler import ScimHandler
from scim2_server.requests import ScimRequest
from scim2_server.responses import ScimResponse
from sqlalchemy.engine import Engine
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from assistant.config import Settings
from assistant.db import session_scope
from assistant.scim.protocol import IdentityProviderService
from assistant.scim.schemas import build_provider
from assistant.scim.storage import ConcurrentWrite, PersonStorage
from assistant.scim.tasks import sync_people_to_moodle

log = structlog.get_logger()

PREFIX = "/scim/v2"

# Largest request body accepted, in bytes. A SCIM user is a few kilobytes.
MAX_BODY_BYTES = 1_048_576

# Attempts for a write that lost a race with a concurrent write to the same user.
MAX_WRITE_ATTEMPTS = 3

_LOCKING_METHODS = frozenset({"PUT", "PATCH", "DELETE"})


class ScimNotConfigured(SCIMException):
    """No bearer token is configured, so every SCIM request is rejected."""

    status = 503
    _default_detail = "SCIM is not configured: set ASSISTANT_SCIM_TOKEN to the bearer token the identity provider sends"


class ScimBusy(SCIMException):
    """Concurrent writes to the same user won every attempt, so the client should retry."""

    status = 503
    _default_detail = f"The user changed {MAX_WRITE_ATTEMPTS} times during this request; retry it"


@cache
def get_service() -> IdentityProviderService:
    """Return the protocol service, built once per process."""
    return IdentityProviderService(build_provider())


router = APIRouter(prefix=PREFIX, tags=["scim"])


@router.get("/ServiceProviderConfig")
async def get_service_provider_config(request: Request) -> Response:
    """Return the supported SCIM features (RFC 7643 §5)."""
    return await serve(request)


@router.get("/ResourceTypes")
async def list_resource_types(request: Request) -> Response:
    """List the resource types (RFC 7643 §6)."""
    return await serve(request)


@router.get("/ResourceTypes/{resource_type_id}")
async def get_resource_type(request: Request, resource_type_id: str) -> Response:
    """Return one resource type."""
    return await serve(request)


@router.get("/Schemas")
async def list_schemas(request: Request) -> Response:
    """List the schemas (RFC 7643 §7)."""
    return await serve(request)


@router.get("/Schemas/{schema_id}")
async def get_schema(request: Request, schema_id: str) -> Response:
    """Return one schema."""
    return await serve(request)


@router.get("/Users")
async def list_users(request: Request) -> Response:
    """List users, with filter, startIndex, count, attributes and excludedAttributes (RFC 7644 §3.4.2)."""
    return await serve(request)


@router.post("/Users/.search")
async def search_users(request: Request) -> Response:
    """Search users with a SearchRequest body (RFC 7644 §3.4.3)."""
    return await serve(request)


@router.post("/Users")
async def create_user(request: Request) -> Response:
    """Create a user and its person record (RFC 7644 §3.3)."""
    return await serve(request)


@router.get("/Users/{user_id}")
async def get_user(request: Request, user_id: str) -> Response:
    """Return one user (RFC 7644 §3.4.1)."""
    return await serve(request)


@router.put("/Users/{user_id}")
async def replace_user(request: Request, user_id: str) -> Response:
    """Replace a user, ignoring read-only attributes in the body (RFC 7644 §3.5.1)."""
    return await serve(request)


@router.patch("/Users/{user_id}")
async def patch_user(request: Request, user_id: str) -> Response:
    """Modify a user with add, replace and remove operations (RFC 7644 §3.5.2)."""
    return await serve(request)


@router.delete("/Users/{user_id}")
async def delete_user(request: Request, user_id: str) -> Response:
    """Delete the SCIM user. The person record stays, as a leaver (RFC 7644 §3.6)."""
    return await serve(request)


@router.api_route(
    "/{path:path}",
    methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
    include_in_schema=False,
)
async def serve_other(request: Request, path: str) -> Response:
    """Return a SCIM error (404, 405 or 501) for any other path or method."""
    return await serve(request)


async def serve(request: Request) -> Response:
    """Authenticate and serve one SCIM request, and schedule the Moodle sync of changed people."""
    changed: list[str] = []
    try:
        scim_request = await _read_request(request)
        _authenticate(request.app.state.settings, scim_request)
        response, changed = await run_in_threadpool(_handle, request.app.state.engine, scim_request)
    except Exception as exc:  # noqa: BLE001 - every failure becomes a SCIM error body
        response = _error_response(request, exc)

    background = BackgroundTask(sync_people_to_moodle, request.app, changed) if changed else None
    return _to_response(response, background)


async def _read_request(request: Request) -> ScimRequest:
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > MAX_BODY_BYTES:
            raise PayloadTooLargeException(detail=f"The request body is larger than {MAX_BODY_BYTES} bytes")

    root = str(request.base_url).rstrip("/")
    path = request.url.path.removeprefix(request.scope.get("root_path", "")).removeprefix(PREFIX)
    return ScimRequest(
        method=request.method,
        base_url=f"{root}{PREFIX}",
        path=path or "/",
        query=dict(request.query_params),
        headers=list(request.headers.items()),
        body=bytes(body),
    )


def _authenticate(settings: Settings, request: ScimRequest) -> None:
    """Check the bearer token in constant time. Without a configured token, every request is rejected."""
    expected = settings.scim_token.get_secret_value()
    if not expected:
        raise ScimNotConfigured()

    scheme, _, token = (request.header("Authorization") or "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise UnauthorizedException(detail="Missing bearer token: send 'Authorization: Bearer <token>'")
    if not hmac.compare_digest(token.strip().encode(), expected.encode()):
        raise UnauthorizedException(detail="Invalid bearer token")


def _handle(engine: Engine, request: ScimRequest) -> tuple[ScimResponse, list[str]]:
    """Serve the request in one transaction, retrying when it lost a race with a concurrent write."""
    attempt = 1
    while True:
        try:
            with session_scope(engine) as session:
                storage = PersonStorage(session, lock_rows=request.method.upper() in _LOCKING_METHODS)
                response = ScimHandler(get_service(), storage).handle(request)
            return response, storage.changed_employee_ids
        except ConcurrentWrite as exc:
            log.warning("scim.write.retry", scim_id=str(exc), attempt=attempt)
            if attempt == MAX_WRITE_ATTEMPTS:
                raise ScimBusy() from exc
            attempt += 1


def _error_response(request: Request, exc: Exception) -> ScimResponse:
    if isinstance(exc, SCIMException):
        log.info(
            "scim.request.rejected",
            method=request.method,
            path=request.url.path,
            status=exc.status,
            scim_type=exc.scim_type or None,
        )
    else:
        log.exception("scim.request.failed", method=request.method, path=request.url.path, error=type(exc).__name__)
    return get_service().error_response(exc)


def _to_response(response: ScimResponse, background: BackgroundTask | None) -> Response:
    content = b"" if response.body is None else json.dumps(response.body, default=_json_default).encode()
    headers = dict(response.headers)
    media_type = headers.pop("Content-Type", None)
    if response.body is None:
        media_type = None
    return Response(
        content=content,
        status_code=int(response.status),
        headers=headers,
        media_type=media_type,
        background=background,
    )


def _json_default(value: Any) -> str:
    return str(value)
