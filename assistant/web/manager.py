"""Manager pages: team overview, one person's path, transcript review with a note."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from assistant.auth.dependencies import CurrentPrincipal
from assistant.db import SessionDep
from assistant.web import views
from assistant.web.errors import PAGE_TAG
from assistant.web.templating import render

router = APIRouter(tags=[PAGE_TAG])


@router.get("/team", name="team", response_class=HTMLResponse)
async def show_team(request: Request, session: SessionDep, principal: CurrentPrincipal) -> HTMLResponse:
    """Show each report's path progress, overdue mandatory items and latest roleplay score."""
    context = {"title": "My team", "team": views.team_view(session, principal)}
    return render(request, "manager/team.html", context)


@router.get("/team/{employee_id}", name="team_member", response_class=HTMLResponse)
async def show_team_member(
    request: Request, session: SessionDep, principal: CurrentPrincipal, employee_id: str
) -> HTMLResponse:
    """Show one person's path with the explanation of each item, and their roleplay attempts."""
    person = views.person_summary(session, employee_id)
    context = {
        "title": f"Path of {person.label}",
        "person": person,
        "path": views.path_view(session, employee_id),
        "attempts": views.attempts_view(session, employee_id),
    }
    return render(request, "manager/member.html", context)
