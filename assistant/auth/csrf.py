"""CSRF protection for requests that a browser authenticates with the session cookie.

The session (signed by SessionMiddleware) carries a random token. Forms send it back
in the `csrf_token` field and scripts in the `X-CSRF-Token` header. Requests with an
`Authorization` header are exempt, because a browser never adds that header on its own.
"""

from __future__ import annotations

import hmac
import secrets

from fastapi import Request

from assistant.auth.exceptions import CsrfRejected

SESSION_KEY = "csrf_token"
FORM_FIELD = "csrf_token"
HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


def csrf_token(request: Request) -> str:
    """Return the session's CSRF token, creating it on first use."""
    token = request.session.get(SESSION_KEY)
    if not token:
        token = secrets.token_urlsafe(32)
        request.session[SESSION_KEY] = token
    return str(token)


async def _submitted_token(request: Request) -> str:
    header = request.headers.get(HEADER)
    if header:
        return header

    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        value = form.get(FORM_FIELD)
        return value if isinstance(value, str) else ""
    return ""


async def check_csrf(request: Request) -> None:
    """Raise CsrfRejected unless an unsafe request carries the session's token."""
    if request.method in SAFE_METHODS or "authorization" in request.headers:
        return

    expected = request.session.get(SESSION_KEY)
    if not expected:
        raise CsrfRejected("CSRF check failed: the session has no CSRF token; reload the page and submit again")

    submitted = await _submitted_token(request)
    if not submitted:
        raise CsrfRejected(
            f"CSRF check failed: the request has no {FORM_FIELD!r} form field or {HEADER} header; "
            "reload the page and submit again"
        )
    if not hmac.compare_digest(submitted, str(expected)):
        raise CsrfRejected("CSRF check failed: the CSRF token does not match this session; reload the page")
