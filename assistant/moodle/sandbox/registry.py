"""The web service functions the sandbox implements, with their parameter descriptions."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from assistant.moodle.sandbox.params import AnyParams, Single, Spec
from assistant.moodle.sandbox.state import SandboxState


@dataclass(frozen=True)
class Caller:
    """The token's user and what the request knows about the site."""

    userid: int
    siteurl: str
    debug: bool
    mod_view: bool = True


Handler = Callable[[SandboxState, Caller, dict[str, Any]], Any]


@dataclass(frozen=True)
class WsFunction:
    name: str
    params: Single | AnyParams
    handler: Handler


FUNCTIONS: dict[str, WsFunction] = {}


def ws_function(name: str, params: dict[str, Spec] | None = None, *, any_params: bool = False) -> Callable[[Handler], Handler]:
    """Register a handler under a Moodle function name with its parameter description."""

    def register(handler: Handler) -> Handler:
        description: Single | AnyParams = AnyParams() if any_params else Single(params or {})
        FUNCTIONS[name] = WsFunction(name, description, handler)
        return handler

    return register
