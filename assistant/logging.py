"""structlog set-up: JSON lines in production, readable console lines elsewhere.

Events are dotted and lowercase (`moodle.call.retry`). A processor masks values under
keys that can carry secrets or personal data, so a careless `log.info(..., token=t)`
still never writes the token.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog

# Keys whose values never reach a log line. Ids (employee_id, user_id) stay visible:
# they are how operators trace a record, and they are not personal data on their own.
REDACTED_KEYS = frozenset(
    {
        "token", "wstoken", "api_key", "password", "secret", "authorization", "cookie",
        "email", "name", "firstname", "lastname", "given_name", "family_name", "display_name",
        "prompt", "content", "transcript", "text",
    }
)
REDACTED = "[redacted]"


def _redact(_: Any, __: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    for key in event_dict:
        if key.lower() in REDACTED_KEYS:
            event_dict[key] = REDACTED
    return event_dict


def configure_logging(*, log_format: str = "console", level: str = "INFO") -> None:
    """Route structlog and the standard library's logging through one renderer."""
    renderer: Any
    if log_format == "json":
        renderer = structlog.processors.JSONRenderer()
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())

    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _redact,
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        # Not cached: a cached logger keeps the processors of the first configure() call, so a
        # later reconfiguration (another app in the same process, structlog's capture_logs in
        # tests) would not reach module-level loggers.
        cache_logger_on_first_use=False,
    )

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level.upper())

    # httpx logs every request URL at INFO; URLs can carry tokens (Moodle's wstoken in GET).
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
