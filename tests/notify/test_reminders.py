"""Reminders of a scripted cycle (bhxh.notify.reminders): the Đắk Lắk units' Resolution 28 report of 2020.

"trước 30/11 hằng năm" -> last allowed day Sunday 29/11/2020 -> effective deadline Monday 30/11/2020. With the
catalogue's offsets (call 20, reminders 7/3/1, overdue 1/3 working days), written out by hand:
call Mon 02/11, reminder_7 Thu 19/11, reminder_3 Wed 25/11, reminder_1 Fri 27/11, overdue_1 Tue 01/12,
overdue_3 and the missing summary Thu 03/12.
"""

from __future__ import annotations

import datetime as dt

import pytest

from bhxh.calendar.catalogue import Catalogue, default_catalogue
from bhxh.calendar.cycles import TZ
from bhxh.calendar.expected import plan_cycle
from bhxh.calendar.units import default_registry
from bhxh.calendar.workdays import WorkdayCalendar
from bhxh.notify.outbox import enqueue
from bhxh.notify.reminders import messages_due
from bhxh.store.engine import init_store, session_factory
from bhxh.store.models import OutboxMessage, StoredFile, Submission

OB, KEY = "nq28_dak_lak_units", "2020"
D = dt.date.fromisoformat
SCRIPT = {
    D("2020-11-02"): {"call"},
    D("2020-11-19"): {"reminder_7"},
    D("2020-11-25"): {"reminder_3"},
    D("2020-11-27"): {"reminder_1"},
    D("2020-12-01"): {"overdue_1"},
    D("2020-12-03"): {"overdue_3"},
}
SUBMITTED = "daklak_so_khdt"  # sent a valid report on 20/11
REJECTED = "daklak_so_noi_vu"  # sent an invalid one: still reminded


@pytest.fixture(scope="module")
def catalogue():
    return Catalogue([default_catalogue().get(OB)])


@pytest.fixture(scope="module")
def plan():
    return plan_cycle(OB, KEY)


@pytest.fixture
def session(tmp_path):
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    init_store(url)
    with session_factory(url)() as s:
        yield s


def _submit(session, unit: str, status: str, when: dt.datetime) -> None:
    digest = unit.ljust(64, "0")[:64]
    session.add(StoredFile(sha256=digest, size=1, content=b"x"))
    session.add(
        Submission(
            obligation_id=OB,
            cycle_key=KEY,
            unit_id=unit,
            sha256=digest,
            original_name=f"{OB}__{KEY}__{unit}.xlsx",
            size=1,
            received_at=when,
            status=status,
            late=False,
        )
    )
    session.flush()


def _due(day, catalogue, session, **kw):
    kw.setdefault("today", day)
    return messages_due(day, catalogue=catalogue, registry=default_registry(), session=session, **kw)


def _expected(units, kinds) -> set[tuple[str, str, str]]:
    return {(u.id, k, ch) for u in units for k in kinds for ch in ("email", "chat") if getattr(u, ch)}


def test_scripted_cycle(catalogue, plan, session):
    assert len(plan.units) == 22
    assert all(u.email and u.chat for u in plan.units)
    first = _due(D("2020-11-02"), catalogue, session)
    assert {(m.unit_id, m.kind, m.channel) for m in first} == _expected(plan.units, {"call"})
    pending = [u for u in plan.units if u.id != SUBMITTED]
    for day, kinds in SCRIPT.items():
        if day == D("2020-11-02"):
            continue
        if day == D("2020-11-25"):  # the store as it is after two units sent something on 20/11
            _submit(session, SUBMITTED, "accepted", dt.datetime(2020, 11, 20, 9, tzinfo=TZ))
            _submit(session, REJECTED, "rejected", dt.datetime(2020, 11, 20, 9, tzinfo=TZ))
        got = _due(day, catalogue, session)
        expected = _expected(pending if day > D("2020-11-20") else plan.units, kinds)
        if day == D("2020-12-03"):
            to = plan.recipient
            assert to.id == "daklak_so_ldtbxh"
            expected |= {(to.id, "missing_summary", "email"), (to.id, "missing_summary", "chat")}
        assert {(m.unit_id, m.kind, m.channel) for m in got} == expected, day
        assert len(got) == len(expected)
        assert all(m.obligation_id == OB and m.cycle_key == KEY for m in got)


def test_no_message_on_other_days(catalogue, session):
    day = D("2020-10-20")
    while day <= D("2020-12-10"):
        if day not in SCRIPT:
            assert _due(day, catalogue, session) == [], day
        day += dt.timedelta(days=1)


def test_weekend_and_holiday_send_nothing(catalogue, session):
    assert _due(D("2020-11-21"), catalogue, session) == []  # Saturday inside the window
    assert _due(D("2020-11-29"), catalogue, session) == []  # Sunday, the last allowed day as written
    # 19/11 declared a holiday (as an operator override would): nothing then, reminder_7 one working day earlier
    wd = WorkdayCalendar(extra_holidays={D("2020-11-19"): "Nghỉ bù (thử nghiệm)"})
    assert _due(D("2020-11-19"), catalogue, session, workdays=wd) == []
    assert {m.kind for m in _due(D("2020-11-18"), catalogue, session, workdays=wd)} == {"reminder_7"}


def test_backfilled_day_sends_nothing_unless_asked(catalogue, session):
    day = D("2020-11-25")
    assert _due(day, catalogue, session, today=D("2020-12-10")) == []
    assert _due(day, catalogue, session, today=D("2020-11-27")) == []  # two working days late
    assert {m.kind for m in _due(day, catalogue, session, today=D("2020-11-26"))} == {
        "reminder_3"
    }  # one day late: catch up
    assert {m.kind for m in _due(day, catalogue, session, today=D("2020-12-10"), include_past=True)} == {
        "reminder_3"
    }


def test_content_and_dedup(catalogue, plan, session):
    msgs = _due(D("2020-11-25"), catalogue, session)
    unit = plan.units[0]
    mail = next(m for m in msgs if m.unit_id == unit.id and m.channel == "email")
    chat = next(m for m in msgs if m.unit_id == unit.id and m.channel == "chat")
    assert mail.recipient == unit.email and chat.recipient == unit.chat
    assert "Nhắc hạn" in mail.subject and unit.name in mail.subject
    for text in (
        f"Kính gửi: {unit.name}",
        "2753/QĐ-UBND (tỉnh Đắk Lắk) ngày 24/10/2018",  # legal basis
        "định kỳ trước 30/11 hằng năm",  # its wording
        "Hạn theo văn bản: 30/11/2020; hạn thực tế: hết ngày 30/11/2020",
        "Còn 3 ngày làm việc",
        f"{OB}__{KEY}__{unit.id}.xlsx",
        "sheet 'Thông tin'",
        "sheet 'Chỉ tiêu'",
    ):
        assert text in mail.body, text
    assert "30/11/2020" in chat.body and f"{OB}__{KEY}__{unit.id}.xlsx" in chat.body
    # enqueuing the same day twice adds nothing
    assert enqueue(session, msgs) == len(msgs)
    assert enqueue(session, _due(D("2020-11-25"), catalogue, session)) == 0
    assert session.query(OutboxMessage).count() == len(msgs)


def test_summary_lists_missing_units(catalogue, plan, session):
    _submit(session, SUBMITTED, "accepted", dt.datetime(2020, 11, 20, 9, tzinfo=TZ))
    msgs = [m for m in _due(D("2020-12-03"), catalogue, session) if m.kind == "missing_summary"]
    mail = next(m for m in msgs if m.channel == "email")
    assert mail.recipient == plan.recipient.email
    assert "21/22" in mail.subject
    missing = [u for u in plan.units if u.id != SUBMITTED]
    assert all(u.name in mail.body for u in missing)
    assert f"({SUBMITTED})" not in mail.body


def test_all_catalogue_on_a_busy_day(session):
    """The whole catalogue: every message belongs to a cycle whose window contains the day, no kind repeats."""
    msgs = messages_due(
        D("2019-11-13"),
        catalogue=default_catalogue(),
        registry=default_registry(),
        session=session,
        today=D("2019-11-13"),
    )
    keys = [m.dedup_key for m in msgs]
    assert len(keys) == len(set(keys))
    assert {(m.obligation_id, m.kind) for m in msgs} >= {("nq51_action_programme", "reminder_1")}


def test_cycle_overdue_notice_and_reminder_share_one_key():
    """The cycle run's notice to a missing unit and the reminder DAG's first overdue notice are one message."""
    from bhxh.calendar.expected import plan_cycle
    from bhxh.reports.consolidation import Consolidated, UnitRow
    from bhxh.steps.messages import cycle_messages

    plan = plan_cycle("nq51_action_programme", "2019")
    unit = plan.units[0]
    cons = Consolidated(plan, [UnitRow(unit, "missing", None, {}, [])], {}, {"on_time": 0, "late": 0, "invalid": 0, "missing": 1}, [])
    message = next(m for m in cycle_messages(cons, {"html": "a.html", "xlsx": "a.xlsx"}) if m.unit_id == unit.id)
    assert message.kind == "overdue_1"
    assert message.dedup_key == "|".join(["nq51_action_programme", "2019", unit.id, "overdue_1", "email", unit.email])
