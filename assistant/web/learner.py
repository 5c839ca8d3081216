"""Learner pages: my path, my roleplay scenarios and attempts, and the roleplay chat."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from assistant.auth.dependencies import CurrentPrincipal
from assistant.auth.models import Role
from assistant.db import SessionDep
from assistant.web import views
from assistant.web.errors import PAGE_TAG
from assistant.web.templating import render

router = APIRouter(tags=[PAGE_TAG])

HOME_BY_ROLE = {
    Role.ADMIN: "/admin",
    Role.MANAGER: "/team",
    Role.LEARNER: "/learn/path",
    Role.PROVISIONING: "/auth/me",
}


@router.get("/", name="home")
async def go_home(principal: CurrentPrincipal) -> RedirectResponse:
    """Send the caller to the start page of their role."""
    return RedirectResponse(HOME_BY_ROLE[principal.role], status_code=303)


@router.get("/learn/path", name="my_path", response_class=HTMLResponse)
async def show_my_path(request: Request, session: SessionDep, principal: CurrentPrincipal) -> HTMLResponse:
    """Show the caller's current learning path with progress and due dates."""
    context = {"title": "My learning path", "path": views.path_view(session, principal.employee_id)}
    return render(request, "learner/path.html", context)
