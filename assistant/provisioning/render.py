"""Render a run report as a readable diff with summary counts, for the terminal."""

from __future__ import annotations

from assistant.provisioning.schemas import FieldChange, PlanAction, PlanItem, RunReport

# One marker per action, like a diff: + create, ~ update, - suspend, ^ reactivate, ! problem.
MARKERS = {
    PlanAction.CREATE: "+",
    PlanAction.UPDATE: "~",
    PlanAction.SUSPEND: "-",
    PlanAction.REACTIVATE: "^",
    PlanAction.CONFLICT: "!",
    PlanAction.AMBIGUOUS: "!",
    PlanAction.INVALID: "!",
}
# Actions listed in the diff; unchanged and skipped people only appear in the counts.
_LISTED_ORDER = (
    PlanAction.CREATE,
    PlanAction.UPDATE,
    PlanAction.REACTIVATE,
    PlanAction.SUSPEND,
    PlanAction.CONFLICT,
    PlanAction.AMBIGUOUS,
    PlanAction.INVALID,
)
_SUMMARY_ORDER = (*_LISTED_ORDER[:4], PlanAction.UNCHANGED, PlanAction.SKIP, *_LISTED_ORDER[4:])


def render_report(report: RunReport) -> str:
    """Return the report as text: the guard's verdict, one line per change, the counts and the failures."""
    lines = [_headline(report)]
    lines += _guard_lines(report)
    lines += [""] + render_items(report.items)
    lines += ["", render_summary(report)]
    lines += _people_lines(report)
    lines += _failure_lines(report)
    lines += [f"warning: {warning}" for warning in report.warnings]
    return "\n".join(lines).rstrip() + "\n"


def render_items(items: list[PlanItem]) -> list[str]:
    """Return one line per planned change, creates first, each group in employee ID order."""
    lines: list[str] = []
    for action in _LISTED_ORDER:
        for item in sorted((item for item in items if item.action is action), key=lambda item: item.employee_id):
            lines.append(render_item(item))
    return lines or ["(no changes)"]


def render_item(item: PlanItem) -> str:
    marker = MARKERS.get(item.action, " ")
    head = f"{marker} {item.action.value} {item.employee_id}"
    return f"{head} {_item_detail(item)}".rstrip()


def _item_detail(item: PlanItem) -> str:
    if item.action is PlanAction.CREATE:
        department = f" ({item.department})" if item.department else ""
        return f"{item.display_name}{department}"
    if item.action in (PlanAction.UPDATE, PlanAction.REACTIVATE):
        changes = ", ".join(_render_change(change) for change in item.changes if change.field != "suspended")
        link = f" [linked by {item.link.value}]" if item.link else ""
        return f"{changes}{link}".strip()
    return f"({item.reason})" if item.reason else ""


def _render_change(change: FieldChange) -> str:
    before = "(unknown)" if change.before is None else change.before or "(empty)"
    after = change.after or "(empty)"
    return f"{change.field}: {before} -> {after}"


def render_summary(report: RunReport) -> str:
    """Return the counts per action on one line, plus the failures when the run was applied."""
    parts = [f"{report.counts.get(action.value, 0)} {action.value}" for action in _SUMMARY_ORDER]
    if not report.dry_run and report.status != "refused":
        parts.append(f"{report.counts.get('failed', 0)} failed")
    return "summary: " + ", ".join(parts)


def _headline(report: RunReport) -> str:
    mode = "dry run" if report.dry_run else "run"
    return f"{mode} {report.run_id} from {report.source}: {report.status}"


def _guard_lines(report: RunReport) -> list[str]:
    if not report.guard.reasons:
        return []
    prefix = "guard overridden by --force" if report.guard.forced else "guard rejects this run"
    return [f"{prefix}: {reason}" for reason in report.guard.reasons]


def _people_lines(report: RunReport) -> list[str]:
    people = report.people
    lines = [
        f"people: {people.records} read, {people.created} new, {people.updated} changed, "
        f"{people.unchanged} unchanged, {people.marked_leavers} marked as leavers, {len(people.rejected)} rejected"
    ]
    lines += [f"rejected row {row.row}: {row.reason}" for row in people.rejected]
    return lines


def _failure_lines(report: RunReport) -> list[str]:
    return [f"failed {item.action.value} {item.employee_id}: {item.error}" for item in report.failures]
