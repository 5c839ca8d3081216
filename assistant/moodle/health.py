"""The `/readyz` check for Moodle: the site responds and the token may call every required function."""

from __future__ import annotations

from assistant.health import ReadinessCheck
from assistant.moodle.client import REQUIRED_FUNCTIONS, MoodleClient
from assistant.moodle.exceptions import MoodleAccessDenied


def moodle_readiness_check(client: MoodleClient) -> ReadinessCheck:
    """Build a check that fails when Moodle is unreachable, the token is invalid or a function is missing."""

    async def probe() -> str:
        info = await client.get_site_info()
        missing = [function for function in REQUIRED_FUNCTIONS if function not in info.function_names]
        if missing:
            raise MoodleAccessDenied(
                f"the Moodle token cannot call {', '.join(missing)}: ask the Moodle administrator to add "
                "them to the token's external service"
            )
        return f"{info.sitename}, Moodle {info.release}"

    return ReadinessCheck("moodle", probe)
