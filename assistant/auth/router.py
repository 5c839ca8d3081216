"""Sign-in routes: OpenID Connect redirect and callback, sign-out and the current caller."""

from __future__ import annotations

from typing import Annotated

import structlog
from authlib.integrations.base_client import OAuthError
from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from joserfc.errors import JoseError

from assistant.auth.csrf import csrf_token
from assistant.auth.dependencies import SESSION_EMPLOYEE_KEY, SESSION_ROLE_KEY, CurrentPrincipal
from assistant.auth.exceptions import SignInFailed
from assistant.auth.models import Role
from assistant.auth.oidc import person_for_claims, require_client
from assistant.auth.principal import web_role_for
from assistant.auth.ratelimit import limit_sign_in
from assistant.auth.schemas import PrincipalRead
from assistant.db import SessionDep

log = structlog.get_logger()

NEXT_KEY = "next_after_sign_in"
HOME = "/"

router = APIRouter(prefix="/auth", tags=["auth"])
RateLimited = Annotated[None, Depends(limit_sign_in)]


def safe_next(value: str | None) -> str:
    """Return `value` when it is a path on this site, else the home page; blocks open redirects."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return HOME
    return value


def start_session(request: Request, employee_id: str, role: Role) -> None:
    """Replace the session with a fresh one for this person, with a new CSRF token."""
    request.session.clear()
    request.session[SESSION_EMPLOYEE_KEY] = employee_id
    request.session[SESSION_ROLE_KEY] = role.value
    csrf_token(request)
    log.info("auth.session.started", employee_id=employee_id, role=role.value)


@router.get("/oidc", name="oidc_start")
async def start_oidc(request: Request, _: RateLimited, next: str | None = None) -> RedirectResponse:
    """Send the browser to the identity provider's sign-in page."""
    client = require_client(request.app.state.oauth)
    request.session[NEXT_KEY] = safe_next(next)
    redirect_uri = str(request.url_for("oidc_callback"))
    response: RedirectResponse = await client.authorize_redirect(request, redirect_uri)
    return response


@router.get("/callback", name="oidc_callback")
async def finish_oidc(request: Request, session: SessionDep, _: RateLimited) -> RedirectResponse:
    """Validate the provider's response, find the employee and start the session."""
    client = require_client(request.app.state.oauth)
    try:
        token = await client.authorize_access_token(request)
    except OAuthError as exc:
        log.warning("auth.oidc.failed", error=exc.error)
        raise SignInFailed(f"sign-in failed at the identity provider: {exc.error}") from exc
    except JoseError as exc:
        log.warning("auth.oidc.id_token_invalid", error=exc.error)
        raise SignInFailed(f"sign-in failed: the identity provider's ID token is invalid ({exc.error})") from exc

    claims = dict(token.get("userinfo") or {})
    person = person_for_claims(session, request.app.state.settings, claims)
    next_url = safe_next(request.session.get(NEXT_KEY))
    start_session(request, person.employee_id, web_role_for(session, request.app.state.settings, person.employee_id))
    return RedirectResponse(next_url, status_code=303)


@router.post("/logout", name="logout")
async def sign_out(request: Request) -> RedirectResponse:
    """End the session and return to the sign-in page."""
    employee_id = request.session.get(SESSION_EMPLOYEE_KEY)
    request.session.clear()
    if employee_id:
        log.info("auth.session.ended", employee_id=employee_id, reason="signed out")
    return RedirectResponse("/auth/login", status_code=303)


@router.get("/me", name="current_caller")
async def read_current_caller(principal: CurrentPrincipal) -> PrincipalRead:
    """Return who the caller is and in which role they act."""
    return PrincipalRead(employee_id=principal.employee_id, role=principal.role, credential=principal.credential)

