"""The safety guard: reject a run that looks like it was fed a broken or truncated HR export.

A bad export (an empty file, half a file, a filter gone wrong) would otherwise suspend
many real employees in Moodle at once. The guard stops such a run before any Moodle
write unless the operator passes `force`.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, Field

# A complete source with fewer records than this share of the last complete run counts as truncated.
MIN_SHARE_OF_LAST_RUN = 0.5


class GuardVerdict(BaseModel):
    """Result of the guard: the reasons it rejects the run, and whether `force` overrode them."""

    reasons: list[str] = Field(default_factory=list)
    forced: bool = False

    @property
    def rejected(self) -> bool:
        return bool(self.reasons) and not self.forced


@dataclass(frozen=True)
class GuardInput:
    """Figures of one planned run that the guard judges."""

    source_records: int
    source_complete: bool
    # Records of the last applied run whose source was complete; None when there was none.
    last_complete_records: int | None
    planned_suspensions: int
    # Moodle users the plan found active and linked (or about to be linked) to an employee.
    active_linked_users: int
    max_suspend_share: float


def check_run(figures: GuardInput, *, force: bool) -> GuardVerdict:
    """Return the guard's reasons to reject the run; `force` keeps the reasons but lets the run go on."""
    reasons = [
        *_empty_source(figures),
        *_truncated_source(figures),
        *_too_many_suspensions(figures),
    ]
    return GuardVerdict(reasons=reasons, forced=force and bool(reasons))


def _empty_source(figures: GuardInput) -> list[str]:
    # An empty delta (a source that is not complete) only means nothing changed, so it is not rejected.
    if figures.source_records > 0 or not figures.source_complete:
        return []
    return ["the source returned no people; check the export, or pass --force to apply anyway"]


def _truncated_source(figures: GuardInput) -> list[str]:
    last = figures.last_complete_records
    if not figures.source_complete or not last or figures.source_records == 0:
        return []
    if figures.source_records >= last * MIN_SHARE_OF_LAST_RUN:
        return []
    return [
        f"the source returned {figures.source_records} people, fewer than {MIN_SHARE_OF_LAST_RUN:.0%} of "
        f"the {last} in the last complete run; check that the export is whole, or pass --force"
    ]


def _too_many_suspensions(figures: GuardInput) -> list[str]:
    if figures.planned_suspensions == 0:
        return []
    limit = figures.max_suspend_share * figures.active_linked_users
    if figures.planned_suspensions <= limit:
        return []
    share = figures.planned_suspensions / max(figures.active_linked_users, 1)
    return [
        f"the run would suspend {figures.planned_suspensions} of {figures.active_linked_users} active Moodle "
        f"users ({share:.0%}), more than the {figures.max_suspend_share:.0%} allowed by "
        "ASSISTANT_MAX_SUSPEND_SHARE; check the leavers in the preview, or pass --force"
    ]
