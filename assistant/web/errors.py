"""Error pages: errors raised on a page render as HTML, errors on the API stay JSON.

A page is a route tagged `pages`. A 401 on a page redirects to the sign-in page and
comes back afterwards; other errors show their detail on an error page. A client that
sends `Accept: application/json` gets the JSON body on pages too.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response

from assistant import errors
from assistant.auth.exceptions import NotAuthenticated
from assistant.errors import AssistantError
from assistant.web.templating import render

PAGE_TAG = "pages"

TITLES = {
    401: "Sign-in required",
    403: "Access denied",
    404: "Not found",
    409: "Conflict",
    422: "Invalid input",
    429: "Too many attempts",
    503: "Not available",
}


def is_page(request: Request) -> bool:
    """Tell whether the matched route is a page (tagged `pages`) rather than an API route."""
    effective = request.scope.get("fastapi", {}).get("effective_route_context")
    route = effective if effective is not None else request.scope.get("route")
    return PAGE_TAG in (getattr(route, "tags", None) or [])


async def handle_error(request: Request, exc: Exception) -> Response:
    """Render an AssistantError as an HTML page on pages; hand it to the JSON handler elsewhere."""
    assert isinstance(exc, AssistantError)
    if not is_page(request) or "application/json" in request.headers.get("accept", ""):
        return await errors._handle_assistant_error(request, exc)

    if isinstance(exc, NotAuthenticated):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/auth/login?next={quote(target, safe='')}", status_code=303)

    title = TITLES.get(exc.status_code, "Something went wrong")
    context = {"title": title, "detail": exc.message, "error": type(exc).__name__}
    return render(request, "error.html", context, status_code=exc.status_code, headers=exc.headers)


def install_page_errors(app: FastAPI) -> None:
    app.add_exception_handler(AssistantError, handle_error)
