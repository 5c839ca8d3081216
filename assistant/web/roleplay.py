"""Roleplay pages: the learner's scenarios and chat, and the manager's transcript review.

The chat page posts each message to the roleplay API (`POST /roleplay/sessions/{id}/turns`)
from `static/chat.js` and shows the streamed reply as it arrives. Starting a session,
ending it and adding a review note are plain form posts handled here.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import ModuleType
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from assistant.auth.dependencies import CurrentPrincipal
from assistant.db import SessionDep
from assistant.llm import LLM, get_llm
from assistant.web import views
from assistant.web.errors import PAGE_TAG
from assistant.web.sources import commit_before_redirect, import_service, unavailable
from assistant.web.templating import render

router = APIRouter(tags=[PAGE_TAG])

SERVICE = "assistant.roleplay.service"
FUNCTIONS = ("scenario_catalogue", "scenarios_for", "start_session", "get_session_detail", "add_review")


def _roleplay() -> ModuleType | None:
    return import_service(SERVICE, *FUNCTIONS)


def _app_llm(request: Request) -> LLM:
    """Return the app's model, created once; the roleplay API keeps it in the same place."""
    state = request.app.state
    if getattr(state, "llm", None) is None:
        state.llm = get_llm(state.settings, http_client=getattr(state, "http_client", None))
    llm: LLM = state.llm
    return llm


@router.get("/learn/roleplay", name="my_roleplay", response_class=HTMLResponse)
async def show_my_roleplay(request: Request, session: SessionDep, principal: CurrentPrincipal) -> HTMLResponse:
    """List the scenarios that suit the caller and their earlier attempts."""
    roleplay = _roleplay()
    if roleplay is None:
        context = {"title": "Roleplay practice", "missing": unavailable("Roleplay practice", SERVICE)}
        return render(request, "learner/roleplay.html", context)

    catalogue: Mapping[str, object] = roleplay.scenario_catalogue(request.app.state.settings)
    context = {
        "title": "Roleplay practice",
        "scenarios": roleplay.scenarios_for(session, catalogue, principal.employee_id),
        "attempts": views.attempts_view(session, principal.employee_id),
    }
    return render(request, "learner/roleplay.html", context)


@router.post("/learn/roleplay", name="start_roleplay")
async def start_roleplay(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    scenario_id: Annotated[str, Form(min_length=1, max_length=100)],
) -> RedirectResponse:
    """Start a session of the chosen scenario as the caller and open the chat."""
    roleplay = _roleplay()
    if roleplay is None:
        return RedirectResponse("/learn/roleplay", status_code=303)

    catalogue = roleplay.scenario_catalogue(request.app.state.settings)
    attempt = roleplay.start_session(
        session, catalogue, _app_llm(request), employee_id=principal.employee_id, scenario_id=scenario_id
    )
    commit_before_redirect(session)
    return RedirectResponse(f"/learn/roleplay/{attempt.id}", status_code=303)


def _session_context(request: Request, session: SessionDep, session_id: str) -> dict[str, object]:
    roleplay = _roleplay()
    if roleplay is None:
        return {"missing": unavailable("Roleplay practice", SERVICE)}

    detail = roleplay.get_session_detail(session, session_id)
    catalogue = roleplay.scenario_catalogue(request.app.state.settings)
    return {
        "attempt": detail.attempt,
        "scenario": catalogue.get(detail.attempt.scenario_id),
        "turns": detail.turns,
        "score": detail.score,
        "reviews": detail.reviews,
    }


@router.get("/learn/roleplay/{session_id}", name="roleplay_chat", response_class=HTMLResponse)
async def show_chat(
    request: Request, session: SessionDep, principal: CurrentPrincipal, session_id: str
) -> HTMLResponse:
    """Show the conversation, the message box while the session is open, and the score once ended."""
    context = _session_context(request, session, session_id)
    attempt = context.get("attempt")
    context["title"] = getattr(attempt, "scenario_title", "") or "Roleplay session"
    context["is_owner"] = attempt is not None and getattr(attempt, "employee_id", None) == principal.employee_id
    return render(request, "learner/chat.html", context)


@router.get("/team/sessions/{session_id}", name="review_session", response_class=HTMLResponse)
async def show_review(request: Request, session: SessionDep, session_id: str) -> HTMLResponse:
    """Show a report's transcript and score with the review notes and a form for a new note."""
    context = _session_context(request, session, session_id)
    attempt = context.get("attempt")
    if attempt is not None:
        person = views.person_summary(session, getattr(attempt, "employee_id"))
        context["person"] = person
        context["title"] = f"Review: {person.label}, {getattr(attempt, 'scenario_title', '')}"
    else:
        context["title"] = "Review"
    return render(request, "manager/review.html", context)


@router.post("/team/sessions/{session_id}/note", name="add_review_note")
async def add_note(
    session: SessionDep,
    principal: CurrentPrincipal,
    session_id: str,
    note: Annotated[str, Form(min_length=1, max_length=10_000)],
) -> RedirectResponse:
    """Store a review note by the caller and return to the review page."""
    roleplay = _roleplay()
    if roleplay is not None:
        roleplay.add_review(session, session_id, reviewer_employee_id=principal.employee_id, note=note)
        commit_before_redirect(session)
    return RedirectResponse(f"/team/sessions/{session_id}#notes", status_code=303)
