"""Wiring of sign-in and pages into the app."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from assistant.auth.dependencies import AUTHORIZED
from assistant.auth.oidc import build_oauth
from assistant.auth.ratelimit import SignInLimiter
from assistant.auth.router import router as auth_router
from assistant.config import Settings
from assistant.web import admin, learner, manager, roleplay, signin
from assistant.web.errors import install_page_errors
from assistant.web.templating import STATIC_DIR

SESSION_COOKIE = "assistant_session"
# Seconds a web session lasts without signing in again: one working day.
SESSION_MAX_AGE = 8 * 60 * 60


def install_web(app: FastAPI, settings: Settings) -> None:
    """Add the session cookie, sign-in, the pages and the static files to the app.

    Call it after `install_error_handlers`, because it replaces the handler of
    AssistantError with one that renders HTML on pages.
    """
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.secret_key.get_secret_value(),
        session_cookie=SESSION_COOKIE,
        max_age=SESSION_MAX_AGE,
        same_site="lax",
        https_only=settings.is_production,
    )
    app.state.oauth = build_oauth(settings)
    app.state.sign_in_limiter = SignInLimiter()
    install_page_errors(app)

    app.include_router(auth_router, dependencies=AUTHORIZED)
    app.include_router(signin.router, dependencies=AUTHORIZED)
    if settings.is_demo:
        app.include_router(signin.dev_router, dependencies=AUTHORIZED)
    app.include_router(learner.router, dependencies=AUTHORIZED)
    app.include_router(manager.router, dependencies=AUTHORIZED)
    app.include_router(roleplay.router, dependencies=AUTHORIZED)
    app.include_router(admin.router, dependencies=AUTHORIZED)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
