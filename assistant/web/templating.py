"""The Jinja2 environment of the pages and the helper that renders one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from assistant.auth.csrf import csrf_token

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"

templates = Jinja2Templates(directory=TEMPLATES_DIR)


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """Render a page with the caller and the session's CSRF token in its context."""
    page_context = {
        "principal": getattr(request.state, "principal", None),
        "csrf_token": csrf_token(request) if "session" in request.scope else "",
        "environment": request.app.state.settings.environment.value,
        **(context or {}),
    }
    return templates.TemplateResponse(request, template, page_context, status_code=status_code, headers=headers)
