from __future__ import annotations

from assistant.provisioning.guard import GuardInput, check_run


def _figures(**changes: object) -> GuardInput:
    values: dict[str, object] = {
        "source_records": 100,
        "source_complete": True,
        "last_complete_records": 100,
        "planned_suspensions": 0,
        "active_linked_users": 100,
        "max_suspend_share": 0.10,
    }
    values.update(changes)
    return GuardInput(**values)  # type: ignore[arg-type]


def test_normal_run_passes() -> None:
    verdict = check_run(_figures(planned_suspensions=10), force=False)

    assert verdict.reasons == []
    assert not verdict.rejected


def test_suspensions_above_share_rejected() -> None:
    verdict = check_run(_figures(planned_suspensions=11), force=False)

    assert verdict.rejected
    assert "suspend 11 of 100" in verdict.reasons[0]
    assert "ASSISTANT_MAX_SUSPEND_SHARE" in verdict.reasons[0]


def test_empty_complete_source_rejected() -> None:
    verdict = check_run(_figures(source_records=0), force=False)

    assert verdict.rejected
    assert "no people" in verdict.reasons[0]


def test_empty_delta_source_passes() -> None:
    verdict = check_run(_figures(source_records=0, source_complete=False), force=False)

    assert not verdict.rejected


def test_truncated_source_rejected() -> None:
    verdict = check_run(_figures(source_records=49, last_complete_records=100), force=False)

    assert verdict.rejected
    assert "49 people" in verdict.reasons[0]
    assert "100 in the last complete run" in verdict.reasons[0]


def test_half_of_last_run_passes() -> None:
    assert not check_run(_figures(source_records=50, last_complete_records=100), force=False).rejected


def test_first_run_has_no_truncation_check() -> None:
    assert not check_run(_figures(source_records=3, last_complete_records=None), force=False).rejected


def test_force_keeps_reasons_and_passes() -> None:
    verdict = check_run(_figures(planned_suspensions=50), force=True)

    assert not verdict.rejected
    assert verdict.forced
    assert len(verdict.reasons) == 1
