"""The cycle's plain steps: who is expected, which cycle a feeding obligation feeds, approval requests."""

from __future__ import annotations

from bhxh.calendar import default_catalogue, fed_cycle, feeders_of
from bhxh.cycle import approval_messages, plan_cycle


def test_recipient_does_not_report_to_itself():
    plan = plan_cycle("nq51_action_programme", "2019")
    ids = {u.id for u in plan.units}
    assert plan.recipient.id == "vu_khdt"
    assert "vu_khdt" not in ids
    assert sum(1 for u in plan.units if u.group == "provincial") == 63


def test_cycle_2026_flags_recipient_without_successor():
    plan = plan_cycle("nq51_action_programme", "2026")
    assert plan.recipient is None
    assert any("vu_khdt" in f and "successor" in f for f in plan.flags)
    assert sum(1 for u in plan.units if u.group == "provincial") == 34


def test_units_feed_the_next_deadline():
    cat = default_catalogue()
    assert fed_cycle(cat, "cchc_annual_plan_units", "2026").key == "2026"  # 15/12/2025 feeds 25/12/2025
    assert fed_cycle(cat, "cchc_annual_plan_units", "2026").obligation_id == "cchc_annual_plan_consolidated"
    assert fed_cycle(cat, "nq28_dak_lak_units", "2019").key == "2019"  # before 30/11 feeds December
    assert fed_cycle(cat, "one_stop_2019", "2019").key == "2019-Q2"  # before 15/5/2019 feeds Q2's report
    assert fed_cycle(cat, "nq51_action_programme", "2019") is None
    assert {o.id for o in feeders_of(cat, "tthc_control_quarterly")} == {"one_stop_2019"}


def test_approval_request_goes_to_the_department():
    plan = plan_cycle("cchc_annual_plan_consolidated", "2024")
    messages = approval_messages(plan, {"html": "out/reports/r.html"})
    assert {m.channel for m in messages} == {"email", "chat"}
    assert all(m.unit_id == "vu_pc" and m.kind == "approval_request" for m in messages)
    assert "Vụ Pháp chế" in messages[0].body and "trình Lãnh đạo Ngành" in messages[0].body
