"""The one authorization dependency that every route of the app runs.

`create_app` passes `Depends(authorize)` to FastAPI, so it runs before each route
handler. Route handlers that need the caller take `CurrentPrincipal`, which reuses
the same call because FastAPI caches a dependency within one request.
"""

from __future__ import annotations

from typing import Annotated

import structlog
from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from sqlmodel import Session

from assistant.auth.csrf import check_csrf
from assistant.auth.exceptions import NoAccessRule, NotAuthenticated, OutOfScope, RoleNotAllowed
from assistant.auth.models import Role
from assistant.auth.principal import Principal
from assistant.auth.rules import Rule, rule_for
from assistant.auth.scope import check_scope, check_self_fields, named_employees, request_fields
from assistant.auth.service import find_active_token
from assistant.db import SessionDep
from assistant.people.service import get_person

log = structlog.get_logger()

SESSION_EMPLOYEE_KEY = "employee_id"
SESSION_ROLE_KEY = "role"


def route_path(request: Request) -> str:
    """Return the full path template of the matched route (`/people/{employee_id}/path`).

    FastAPI 0.165 puts the route as declared in `scope["route"]`, without the prefixes
    given to `include_router`; the effective route context carries the full template.
    """
    effective = request.scope.get("fastapi", {}).get("effective_route_context")
    path_format = getattr(effective, "path_format", None)
    if path_format:
        return str(path_format)
    route = request.scope.get("route")
    return str(getattr(route, "path", request.url.path))


def _token_principal(session: Session, header: str) -> Principal:
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        raise NotAuthenticated("invalid Authorization header: send 'Authorization: Bearer <API token>'")

    token = find_active_token(session, credentials.strip())
    if token is None:
        raise NotAuthenticated("invalid or revoked API token; create one with `assistant tokens create`")
    return Principal(token.employee_id, Role(token.role), "token", token.id)


def session_principal(request: Request, session: Session) -> Principal | None:
    """Return the person signed in through the session cookie, or None.

    A person whom HR no longer lists as active loses the session at the next request.
    """
    if "session" not in request.scope:
        return None
    employee_id = request.session.get(SESSION_EMPLOYEE_KEY)
    role = request.session.get(SESSION_ROLE_KEY)
    if not employee_id or role not in set(Role):
        return None

    person = get_person(session, employee_id)
    if person is None or not person.is_active:
        request.session.clear()
        log.info("auth.session.ended", employee_id=employee_id, reason="not an active person")
        return None
    return Principal(employee_id, Role(role), "session")


def resolve_principal(request: Request, session: Session) -> Principal | None:
    """Return the caller from the bearer token, else from the session cookie; None when anonymous."""
    header = request.headers.get("authorization")
    if header:
        return _token_principal(session, header)
    return session_principal(request, session)


def _check_role(principal: Principal, rule: Rule, method: str, path: str) -> None:
    if principal.role in rule.roles:
        return
    allowed = ", ".join(sorted(role.value for role in rule.roles)) or "nobody"
    raise RoleNotAllowed(f"role {principal.role.value!r} may not call {method} {path}; allowed roles: {allowed}")


def _owner_employees(request: Request, session: Session, principal: Principal, rule: Rule) -> list[str]:
    if rule.owner is None:
        return []
    value = request.path_params.get(rule.owner.param)
    owner = rule.owner.lookup(session, str(value)) if value is not None else None
    if owner is None:
        return []

    if rule.owner.owner_only and principal.is_scoped and owner != principal.employee_id:
        raise OutOfScope(
            f"{rule.owner.param} {value!r} belongs to employee {owner!r}; only that employee may do this"
        )
    return [owner]


async def _check_subjects(request: Request, session: Session, principal: Principal, rule: Rule) -> None:
    fields = await request_fields(request)
    check_self_fields(principal, fields, rule)
    await run_in_threadpool(_check_named_employees, request, session, principal, rule, fields)


def _check_named_employees(request: Request, session: Session, principal: Principal, rule: Rule, fields: object) -> None:
    employees = named_employees(fields, rule) + _owner_employees(request, session, principal, rule)  # type: ignore[arg-type]
    if rule.require_subject and principal.is_scoped and not employees:
        raise OutOfScope(
            f"name an employee for this list: a {principal.role.value} may list only their own "
            "records or their reports'"
        )
    check_scope(session, principal, employees)


async def authorize(request: Request, session: SessionDep) -> Principal | None:
    """Check the caller against the route's rule; return the caller, or None on a public route.

    Raises NotAuthenticated (401) without a valid credential, and NoAccessRule,
    RoleNotAllowed, OutOfScope or CsrfRejected (403) with a detail naming the reason.
    Database work runs in the thread pool: on the event loop, a request waiting for a
    pooled connection would stall every other request.
    """
    method, path = request.method, route_path(request)
    rule = rule_for(method, path)
    if rule is None:
        log.warning("auth.rule.missing", method=method, path=path)
        raise NoAccessRule(f"no access rule for {method} {path}; add one to assistant/auth/rules.py")

    if rule.delegated:
        return None
    if rule.public:
        await check_csrf(request)
        request.state.principal = await run_in_threadpool(session_principal, request, session)
        return request.state.principal

    principal = await run_in_threadpool(resolve_principal, request, session)
    if principal is None:
        raise NotAuthenticated(
            "sign-in required: send 'Authorization: Bearer <API token>' or sign in at /auth/login"
        )
    request.state.principal = principal

    _check_role(principal, rule, method, path)
    await check_csrf(request)
    await _check_subjects(request, session, principal, rule)
    return principal


def require_principal(principal: Annotated[Principal | None, Depends(authorize)]) -> Principal:
    """Return the caller of a route that needs one; raises NotAuthenticated on a public route."""
    if principal is None:
        raise NotAuthenticated("sign-in required: sign in at /auth/login")
    return principal


CurrentPrincipal = Annotated[Principal, Depends(require_principal)]

# Pass as `app.include_router(router, dependencies=AUTHORIZED)` for every router of the app.
AUTHORIZED = [Depends(authorize)]
