from __future__ import annotations

from datetime import UTC, datetime

from assistant.provisioning.guard import GuardVerdict
from assistant.provisioning.render import render_item, render_report
from assistant.provisioning.schemas import FieldChange, ImportSummary, PlanAction, PlanItem, RejectedRecord, RunReport


def _report(items: list[PlanItem], **fields: object) -> RunReport:
    counts = {action.value: sum(1 for item in items if item.action is action) for action in PlanAction}
    counts["failed"] = sum(1 for item in items if item.outcome == "failed")
    values: dict[str, object] = {
        "run_id": "r1",
        "source": "csv",
        "status": "previewed",
        "dry_run": True,
        "forced": False,
        "source_complete": True,
        "started_at": datetime(2026, 12, 1, tzinfo=UTC),
        "counts": counts,
        "items": items,
    }
    values.update(fields)
    return RunReport(**values)  # type: ignore[arg-type]


def test_create_line() -> None:
    item = PlanItem(employee_id="00042", action=PlanAction.CREATE, display_name="Ana Test", department="Sales")

    assert render_item(item) == "+ create 00042 Ana Test (Sales)"


def test_update_line() -> None:
    item = PlanItem(
        employee_id="00043",
        action=PlanAction.UPDATE,
        changes=[FieldChange(field="department", before="Sales", after="Marketing")],
    )

    assert render_item(item) == "~ update 00043 department: Sales -> Marketing"


def test_suspend_line() -> None:
    item = PlanItem(employee_id="00044", action=PlanAction.SUSPEND, reason="leaver since 2026-10-31")

    assert render_item(item) == "- suspend 00044 (leaver since 2026-10-31)"


def test_reactivate_and_conflict_lines() -> None:
    rehire = PlanItem(
        employee_id="00045",
        action=PlanAction.REACTIVATE,
        changes=[FieldChange(field="suspended", before="1", after="0")],
    )
    conflict = PlanItem(employee_id="00046", action=PlanAction.CONFLICT, reason="idnumber 00046 is on Moodle users 7, 8")

    assert render_item(rehire) == "^ reactivate 00045"
    assert render_item(conflict) == "! conflict 00046 (idnumber 00046 is on Moodle users 7, 8)"


def test_empty_values_are_visible() -> None:
    item = PlanItem(
        employee_id="00047",
        action=PlanAction.UPDATE,
        changes=[FieldChange(field="institution", before="", after="Europe"), FieldChange(field="city", before=None, after="")],
        link="email",
    )

    assert render_item(item) == "~ update 00047 institution: (empty) -> Europe, city: (unknown) -> (empty) [linked by email]"


def test_report_lists_changes_and_counts() -> None:
    items = [
        PlanItem(employee_id="2", action=PlanAction.UPDATE, changes=[FieldChange(field="lastname", before="A", after="B")]),
        PlanItem(employee_id="1", action=PlanAction.CREATE, display_name="Ana Test"),
        PlanItem(employee_id="3", action=PlanAction.UNCHANGED),
    ]
    people = ImportSummary(records=3, created=1, rejected=[RejectedRecord(row=5, reason="EmpID is empty")])

    text = render_report(_report(items, people=people))
    lines = text.splitlines()

    assert lines[0] == "dry run r1 from csv: previewed"
    assert lines.index("+ create 1 Ana Test") < lines.index("~ update 2 lastname: A -> B")
    assert "summary: 1 create, 1 update, 0 reactivate, 0 suspend, 1 unchanged, 0 skip, 0 conflict, 0 ambiguous, 0 invalid" in lines
    assert "rejected row 5: EmpID is empty" in lines
    assert "unchanged 3" not in text


def test_report_shows_guard_and_failures() -> None:
    failed = PlanItem(employee_id="9", action=PlanAction.CREATE, outcome="failed", error="username 9 already exists")
    guard = GuardVerdict(reasons=["the run would suspend 5 of 10 active Moodle users"], forced=True)

    text = render_report(_report([failed], status="partial", dry_run=False, guard=guard))

    assert "guard overridden by --force: the run would suspend 5 of 10 active Moodle users" in text
    assert "1 failed" in text
    assert "failed create 9: username 9 already exists" in text


def test_no_changes() -> None:
    text = render_report(_report([PlanItem(employee_id="1", action=PlanAction.UNCHANGED)]))

    assert "(no changes)" in text.splitlines()
