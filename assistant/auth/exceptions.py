"""Errors of sign-in and permission checks.

`NotAuthenticated` (401) means the request carries no valid credential. The 403
errors name the rule the caller failed: role, employee scope, missing route rule or
CSRF token. `TooManySignInAttempts` (429) carries a Retry-After header.
"""

from __future__ import annotations

from assistant.errors import AssistantError, Forbidden, InvalidInput, NotFound


class AuthError(AssistantError):
    """Base of the errors below; pages render them as HTML, the API as JSON."""


class NotAuthenticated(AuthError):
    status_code = 401

    def __init__(self, message: str) -> None:
        super().__init__(message, headers={"WWW-Authenticate": 'Bearer realm="assistant"'})


class AccessDenied(AuthError, Forbidden):
    status_code = 403


class RoleNotAllowed(AccessDenied):
    pass


class OutOfScope(AccessDenied):
    pass


class NoAccessRule(AccessDenied):
    pass


class CsrfRejected(AccessDenied):
    pass


class SignInFailed(AccessDenied):
    pass


class TooManySignInAttempts(AuthError):
    status_code = 429

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            f"too many sign-in attempts from this address; try again in {retry_after} s",
            headers={"Retry-After": str(retry_after)},
        )
        self.retry_after = retry_after


class TokenNotFound(NotFound):
    def __init__(self, token_id: int) -> None:
        super().__init__(f"no API token with id {token_id}; `assistant tokens list` shows the ids")


class InvalidRole(InvalidInput):
    def __init__(self, role: str, allowed: list[str]) -> None:
        super().__init__(f"invalid role {role!r}; use one of: {', '.join(allowed)}")
