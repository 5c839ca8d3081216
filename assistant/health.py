"""Liveness and readiness.

`/readyz` runs every registered check and names each failing one, so an operator
sees at once whether the database, Moodle or an HR system is the problem.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.engine import Engine

log = structlog.get_logger()

# Seconds one readiness check may take before it counts as failing.
CHECK_TIMEOUT = 5.0


@dataclass(frozen=True)
class ReadinessCheck:
    """A named probe; it returns a short detail string or raises when the dependency is not usable."""

    name: str
    probe: Callable[[], Awaitable[str]]


def database_check(engine: Engine) -> ReadinessCheck:
    async def probe() -> str:
        def ping() -> None:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))

        await asyncio.to_thread(ping)
        return engine.dialect.name

    return ReadinessCheck("database", probe)


async def _run_check(check: ReadinessCheck) -> dict[str, str]:
    try:
        detail = await asyncio.wait_for(check.probe(), timeout=CHECK_TIMEOUT)
    except TimeoutError:
        log.warning("readyz.check.timeout", check=check.name)
        return {"status": "failing", "detail": f"no answer within {CHECK_TIMEOUT:g} s"}
    except Exception as exc:  # noqa: BLE001 - a readiness probe reports every failure
        log.warning("readyz.check.failed", check=check.name, error=type(exc).__name__)
        return {"status": "failing", "detail": f"{type(exc).__name__}: {exc}"}
    return {"status": "ok", "detail": detail}


router = APIRouter(tags=["health"])


@router.get("/healthz")
async def get_health() -> dict[str, str]:
    """Report that the process is up; checks nothing else."""
    return {"status": "ok"}


@router.get("/readyz")
async def get_readiness(request: Request) -> JSONResponse:
    """Run every readiness check; 503 names the failing ones."""
    checks: list[ReadinessCheck] = request.app.state.readiness_checks
    results = await asyncio.gather(*(_run_check(check) for check in checks))
    by_name = {check.name: result for check, result in zip(checks, results, strict=True)}

    failing = sorted(name for name, result in by_name.items() if result["status"] != "ok")
    body = {"status": "failing" if failing else "ok", "failing": failing, "checks": by_name}
    return JSONResponse(body, status_code=503 if failing else 200)
