"""The cycle's plain steps: who is expected, which cycle a feeding obligation feeds, approval requests."""

from __future__ import annotations

from sqlalchemy import select

from bhxh.calendar.catalogue import default_catalogue, fed_cycle, feeders_of
from bhxh.calendar.expected import plan_cycle
from bhxh.steps.messages import approval_messages


def test_recipient_does_not_report_to_itself():
    plan = plan_cycle("nq51_action_programme", "2019")
    ids = {u.id for u in plan.units}
    assert plan.recipient.id == "vu_khdt"
    assert "vu_khdt" not in ids
    assert sum(1 for u in plan.units if u.group == "provincial") == 63


def test_cycle_2026_flags_recipient_without_successor():
    plan = plan_cycle("nq51_action_programme", "2026")
    assert plan.recipient is None
    assert any("Vụ Kế hoạch và Đầu tư" in f and "successor" in f for f in plan.flags)
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


def test_intake_answers_each_file_once(tmp_path):
    import datetime as dt

    from bhxh.calendar.forms import file_name, get_form
    from bhxh.intake.forms_xlsx import form_rows, write_report_xlsx
    from bhxh.intake.submission import ingest
    from bhxh.notify.outbox import enqueue
    from bhxh.steps.messages import intake_messages
    from bhxh.store.engine import init_store, session_factory

    url = f"sqlite:///{tmp_path / 's.sqlite'}"
    init_store(url)
    form = get_form("nq51_indicators")
    meta = {"unit": "bhxh_tinh_yen_bai", "obligation": "nq51_action_programme", "period": "2019"}
    rows = form_rows(form, {"NHIEM_VU_GIAO": 5, "NHIEM_VU_HT": 7})  # completed > assigned, and indicators missing
    path = write_report_xlsx(tmp_path / file_name("nq51_action_programme", "2019", "bhxh_tinh_yen_bai"), form, meta, rows)
    maker = session_factory(url)
    received = dt.datetime(2019, 11, 10, 9, tzinfo=dt.UTC)
    with maker() as session, session.begin():
        first = ingest(session, path.read_bytes(), path.name, received)
        again = ingest(session, path.read_bytes(), path.name, received)
        messages = intake_messages([first, again])
        assert enqueue(session, messages) == 1  # the same file twice is answered once
    assert first.status == "rejected" and again.duplicate
    body = messages[0].body
    assert "Kính gửi: BHXH tỉnh Yên Bái" in body and "chưa hợp lệ" in body
    assert "Sheet 'Chỉ tiêu'" in body
    assert body.count("Sheet 'Chỉ tiêu', dòng") == body.count("- Sheet 'Chỉ tiêu', dòng")  # location said once per error


def _store_and_vu_tccb_report(tmp_path):
    """An empty store and a valid 2019 Resolution 51 report of Vụ Tổ chức cán bộ: (session maker, file)."""
    from bhxh.calendar.forms import file_name, get_form
    from bhxh.intake.forms_xlsx import form_rows, write_report_xlsx
    from bhxh.store.engine import init_store, session_factory
    from bhxh_bench.hostile_files import fill_tasks

    url = f"sqlite:///{tmp_path / 's.sqlite'}"
    init_store(url)
    form = get_form("nq51_indicators")
    meta = {"unit": "vu_tccb", "obligation": "nq51_action_programme", "period": "2019"}
    path = write_report_xlsx(tmp_path / file_name("nq51_action_programme", "2019", "vu_tccb"), form, meta,
                             form_rows(form, {"NHIEM_VU_GIAO": 9, "NHIEM_VU_HT": 7}))
    fill_tasks(path, "vu_tccb")  # a plan-based report carries its task sheets (issue 18)
    return session_factory(url), path


def test_validate_trusts_intake_unless_asked_to_read_files_again(tmp_path):
    import datetime as dt

    from sqlalchemy import update

    from bhxh.intake.submission import ingest
    from bhxh.steps.cycle import validate_unit
    from bhxh.store.models import StoredFile

    maker, path = _store_and_vu_tccb_report(tmp_path)
    with maker() as session, session.begin():
        result = ingest(session, path.read_bytes(), path.name, dt.datetime(2019, 11, 1, tzinfo=dt.UTC))
        assert result.status == "accepted"
        # the stored bytes no longer parse: only a re-read of the files can notice
        session.execute(update(StoredFile).values(content=b""))
    plan = plan_cycle("nq51_action_programme", "2019")
    with maker() as session, session.begin():
        assert validate_unit(session, plan, "vu_tccb").state == "on_time"
    with maker() as session, session.begin():
        outcome = validate_unit(session, plan, "vu_tccb", revalidate=True)
    assert outcome.state == "invalid" and outcome.errors[0]["code"] == "empty_file"


def test_a_report_received_late_evening_in_hanoi_stays_on_time(tmp_path):
    """23:30 (+07:00) on the last allowed day is on time; SQLite keeps no offset, so the store must."""
    import datetime as dt

    from bhxh.calendar.cycles import TZ
    from bhxh.intake.submission import ingest
    from bhxh.steps.cycle import validate_unit
    from bhxh.store.models import Submission

    maker, path = _store_and_vu_tccb_report(tmp_path)
    received = dt.datetime(2019, 11, 14, 23, 30, tzinfo=TZ)  # the last allowed day is 14/11/2019
    with maker() as session, session.begin():
        assert ingest(session, path.read_bytes(), path.name, received).late is False
    with maker() as session:
        assert session.scalars(select(Submission.received_at)).one() == received
    with maker() as session, session.begin():
        assert validate_unit(session, plan_cycle("nq51_action_programme", "2019"), "vu_tccb").state == "on_time"
