"""The API's error base and its one exception handler.

Each domain defines subclasses next to the code that raises them, named for the
situation (`PersonNotFound`, `MoodleUnavailable`). The handler renders every one as
`{"error": <class name>, "detail": <message>}` with the class's status code, and
renders anything unexpected as a bare 500 without a traceback.
"""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

log = structlog.get_logger()


class AssistantError(Exception):
    """Base of every error the API turns into a response."""

    status_code: int = 500

    def __init__(self, message: str, *, status_code: int | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status_code is not None:
            self.status_code = status_code
        self.headers = headers

    def to_body(self) -> dict[str, Any]:
        return {"error": type(self).__name__, "detail": self.message}


class NotFound(AssistantError):
    status_code = 404


class InvalidInput(AssistantError):
    status_code = 422


class Conflict(AssistantError):
    status_code = 409


class Forbidden(AssistantError):
    status_code = 403


async def _handle_assistant_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AssistantError)
    if exc.status_code >= 500:
        log.error("api.error", error=type(exc).__name__, path=request.url.path, detail=exc.message)
    return JSONResponse(exc.to_body(), status_code=exc.status_code, headers=exc.headers)


async def _handle_unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    log.exception("api.unexpected_error", path=request.url.path, error=type(exc).__name__)
    body = {"error": "InternalError", "detail": "The server failed to handle this request; see the service log."}
    return JSONResponse(body, status_code=500)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AssistantError, _handle_assistant_error)
    app.add_exception_handler(Exception, _handle_unexpected_error)
