"""The sign-in page and the demo-only development sign-in."""

from __future__ import annotations

from typing import Annotated

import structlog
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlmodel import Session

from assistant.auth.models import Role
from assistant.auth.principal import web_role_for
from assistant.auth.ratelimit import limit_sign_in
from assistant.auth.router import safe_next, start_session
from assistant.db import SessionDep
from assistant.errors import InvalidInput
from assistant.people.models import PersonStatus
from assistant.people.service import get_person, list_people
from assistant.web.errors import PAGE_TAG
from assistant.web.templating import render

log = structlog.get_logger()

router = APIRouter(prefix="/auth", tags=[PAGE_TAG])
# Included only when the environment is demo, so elsewhere these paths respond with 404.
dev_router = APIRouter(prefix="/auth", tags=[PAGE_TAG])

ROLE_FROM_HR = "from-hr"


@router.get("/login", name="sign_in_page", response_class=HTMLResponse)
async def show_sign_in(request: Request, next: str | None = None) -> HTMLResponse:
    """Show the sign-in choices: the company's identity provider and, in demo, the development sign-in."""
    context = {
        "title": "Sign in",
        "next": safe_next(next),
        "oidc_configured": request.app.state.oauth is not None,
        "dev_sign_in": request.app.state.settings.is_demo,
    }
    return render(request, "signin.html", context)


def _people_choices(session: Session) -> list[dict[str, str]]:
    people = list_people(session, status=PersonStatus.ACTIVE)
    return [
        {"employee_id": person.employee_id, "label": _label(person.display_name, person.employee_id, person.job_title)}
        for person in people
    ]


def _label(display_name: str, employee_id: str, job_title: str | None) -> str:
    title = f", {job_title}" if job_title else ""
    return f"{display_name or employee_id} ({employee_id}{title})"


@dev_router.get("/dev", name="dev_sign_in_page", response_class=HTMLResponse)
async def show_dev_sign_in(request: Request, session: SessionDep, next: str | None = None) -> HTMLResponse:
    """Pick an employee to act as (demo only)."""
    context = {"title": "Development sign-in", "next": safe_next(next), "people": _people_choices(session)}
    return render(request, "dev_signin.html", context)


@dev_router.post("/dev", name="dev_sign_in", dependencies=[Depends(limit_sign_in)])
async def dev_sign_in(
    request: Request,
    session: SessionDep,
    employee_id: Annotated[str, Form()],
    role: Annotated[str, Form()] = ROLE_FROM_HR,
    next: Annotated[str, Form()] = "/",
) -> RedirectResponse:
    """Start a session as the chosen employee (demo only); the role comes from HR data unless admin is chosen."""
    person = get_person(session, employee_id.strip())
    if person is None or not person.is_active:
        raise InvalidInput(f"no active employee with ID {employee_id!r}; pick one from the list")
    if role not in (ROLE_FROM_HR, Role.ADMIN.value):
        raise InvalidInput(f"invalid role choice {role!r}; use {ROLE_FROM_HR!r} or 'admin'")

    settings = request.app.state.settings
    chosen = Role.ADMIN if role == Role.ADMIN.value else web_role_for(session, settings, person.employee_id)
    start_session(request, person.employee_id, chosen)
    log.info("auth.dev_sign_in", employee_id=person.employee_id, role=chosen.value)
    return RedirectResponse(safe_next(next), status_code=303)
