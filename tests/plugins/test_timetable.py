"""ReportingCycleTimetable without a running Airflow: serialization, next_dagrun_info (catchup on and off, after a
backfill, restriction.latest), one-off obligations, manual runs."""

from __future__ import annotations

import datetime as dt
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
os.environ.setdefault("AIRFLOW_HOME", str(ROOT / "airflow_home"))
sys.path.insert(0, str(ROOT / "plugins"))

import pendulum  # noqa: E402
from airflow.timetables.base import DataInterval, TimeRestriction  # noqa: E402
from pendulum import DateTime  # noqa: E402

from bhxh_timetable import ReportingCycleTimetable  # noqa: E402

pdt = pendulum.datetime

UTC = dt.UTC


def _utc(y: int, m: int, d: int, h: int = 0) -> DateTime:
    return pdt(y, m, d, h, tz="UTC")


def _local_midnight(day: str) -> DateTime:
    """00:00 Asia/Ho_Chi_Minh of `day`, in UTC (17:00 the day before)."""
    y, m, d = map(int, day.split("-"))
    return pdt(y, m, d, tz="Asia/Ho_Chi_Minh").in_timezone("UTC")


def _interval(start: str, end_exclusive: str) -> DataInterval:
    return DataInterval(_local_midnight(start), _local_midnight(end_exclusive))


NQ51 = "nq51_action_programme"
NQ51_FIRST = _local_midnight("2016-10-15")  # the DAG's start_date: the first cycle's period start


def test_serialize_round_trip() -> None:
    tt = ReportingCycleTimetable(NQ51)
    data = tt.serialize()
    assert data == {"obligation_id": NQ51}
    back = ReportingCycleTimetable.deserialize(data)
    assert isinstance(back, ReportingCycleTimetable) and back.obligation_id == NQ51
    assert back.serialize() == data and back.summary == tt.summary and back.description == tt.description
    assert back.periodic  # backfill refuses non-periodic timetables


def test_unknown_obligation_raises() -> None:
    from bhxh.errors import CalendarError

    with pytest.raises(CalendarError):
        ReportingCycleTimetable("khong_co")


def test_catchup_from_nothing_gives_the_first_cycle() -> None:
    info = ReportingCycleTimetable(NQ51).next_dagrun_info(
        last_automated_data_interval=None, restriction=TimeRestriction(NQ51_FIRST, None, catchup=True)
    )
    assert info is not None
    assert info.data_interval == _interval("2016-10-15", "2017-10-15")
    assert info.run_after == _local_midnight("2017-11-15")  # trước 15/11/2017 -> hết 14/11 (Tuesday)
    assert info.logical_date == _local_midnight("2016-10-15")


def test_after_a_given_interval_gives_the_next_cycle() -> None:
    info = ReportingCycleTimetable(NQ51).next_dagrun_info(
        last_automated_data_interval=_interval("2018-10-15", "2019-10-15"),
        restriction=TimeRestriction(NQ51_FIRST, None, catchup=True),
    )
    assert info is not None
    assert info.data_interval == _interval("2019-10-15", "2020-10-15")
    # 14/11/2020 is a Saturday: effective Monday 16/11, due_at 17/11/2020 00:00 +07:00
    assert info.run_after == _local_midnight("2020-11-17")


def test_no_catchup_after_an_old_backfilled_interval_does_not_jump_back() -> None:
    now = dt.datetime.now(UTC)
    info = ReportingCycleTimetable(NQ51).next_dagrun_info(
        last_automated_data_interval=_interval("2017-10-15", "2018-10-15"),  # a backfilled 2018 run
        restriction=TimeRestriction(NQ51_FIRST, None, catchup=False),
    )
    assert info is not None
    start = info.data_interval.start
    # The 2025 cycle (due 15/11/2025) has certainly passed: never go back before it.
    assert start >= _local_midnight("2024-10-15")
    # It is the latest cycle already due, or the next one if none is due after the last run.
    if info.run_after <= now:
        later = ReportingCycleTimetable(NQ51).next_dagrun_info(
            last_automated_data_interval=info.data_interval, restriction=TimeRestriction(NQ51_FIRST, None, catchup=False)
        )
        assert later is not None and later.run_after > now


def test_no_catchup_from_nothing_gives_the_latest_due_cycle() -> None:
    now = dt.datetime.now(UTC)
    info = ReportingCycleTimetable("tthc_control_quarterly").next_dagrun_info(
        last_automated_data_interval=None, restriction=TimeRestriction(_local_midnight("2019-03-15"), None, catchup=False)
    )
    assert info is not None and info.run_after <= now
    assert info.data_interval.start >= _local_midnight("2025-09-15")


def test_no_catchup_after_the_latest_run_goes_forward() -> None:
    tt = ReportingCycleTimetable(NQ51)
    restriction = TimeRestriction(NQ51_FIRST, None, catchup=False)
    first = tt.next_dagrun_info(last_automated_data_interval=None, restriction=restriction)
    assert first is not None
    second = tt.next_dagrun_info(last_automated_data_interval=first.data_interval, restriction=restriction)
    assert second is not None and second.data_interval.start == first.data_interval.end
    assert second.run_after > first.run_after


def test_restriction_latest() -> None:
    tt = ReportingCycleTimetable(NQ51)
    restriction = TimeRestriction(NQ51_FIRST, _utc(2018, 1, 1), catchup=True)
    info = tt.next_dagrun_info(last_automated_data_interval=_interval("2016-10-15", "2017-10-15"), restriction=restriction)
    assert info is not None and info.data_interval == _interval("2017-10-15", "2018-10-15")
    assert tt.next_dagrun_info(last_automated_data_interval=info.data_interval, restriction=restriction) is None


def test_restriction_earliest_skips_earlier_cycles() -> None:
    info = ReportingCycleTimetable(NQ51).next_dagrun_info(
        last_automated_data_interval=None, restriction=TimeRestriction(_utc(2017, 1, 1), None, catchup=True)
    )
    assert info is not None and info.data_interval == _interval("2017-10-15", "2018-10-15")


def _iterate(tt: ReportingCycleTimetable, earliest: DateTime, latest: DateTime) -> list:
    """What `airflow backfill create` does (SerializedDAG.iter_dagrun_infos_between)."""
    restriction = TimeRestriction(earliest, latest, catchup=True)
    infos, last = [], None
    while (info := tt.next_dagrun_info(last_automated_data_interval=last, restriction=restriction)) is not None:
        infos.append(info)
        last = info.data_interval
        assert len(infos) < 200
    return infos


@pytest.mark.parametrize(
    ("ob_id", "start", "end", "due_at"),
    [
        # data to 12/12/2019 (Điều 8 khoản 5, catalogue.yaml); 14/12/2019 Sat -> Mon 16/12
        ("org_restructuring_2019", "2019-07-19", "2019-12-13", "2019-12-17"),
        ("one_stop_2019", "2018-12-15", "2019-03-15", "2019-05-15"),
    ],
)
def test_one_off_gives_exactly_one_run(ob_id: str, start: str, end: str, due_at: str) -> None:
    tt = ReportingCycleTimetable(ob_id)
    for catchup in (True, False):
        restriction = TimeRestriction(_utc(2017, 1, 1), None, catchup=catchup)
        info = tt.next_dagrun_info(last_automated_data_interval=None, restriction=restriction)
        assert info is not None and info.data_interval == _interval(start, end)
        assert info.run_after == _local_midnight(due_at)
        assert tt.next_dagrun_info(last_automated_data_interval=info.data_interval, restriction=restriction) is None
    assert len(_iterate(tt, _utc(2017, 1, 1), _utc(2026, 11, 1))) == 1


def test_backfill_iteration_yearly_and_quarterly() -> None:
    infos = _iterate(ReportingCycleTimetable(NQ51), _local_midnight("2016-10-15"), _utc(2026, 11, 1))
    # By logical date (= period start) in [earliest, latest]: cycles 2017..2027 (the 2027 cycle starts 15/10/2026);
    # `backfill create` then keeps only intervals already ended (the e2e test checks 2017..2026).
    assert [i.data_interval.start for i in infos] == [_local_midnight(f"{y}-10-15") for y in range(2016, 2027)]
    assert [i.run_after for i in infos][:4] == [_local_midnight(d) for d in ("2017-11-15", "2018-11-15", "2019-11-15", "2020-11-17")]
    infos = _iterate(ReportingCycleTimetable("tthc_control_quarterly"), _utc(2019, 1, 1), _utc(2020, 12, 31))
    # 2019-Q2 .. 2021-Q1 start within 2019-2020 (2021-Q1 starts 15/12/2020)
    assert len(infos) == 8
    assert infos[0].data_interval == _interval("2019-03-15", "2019-06-15")


def test_infer_manual_data_interval() -> None:
    tt = ReportingCycleTimetable(NQ51)
    # On 1/1/2020 the latest cycle whose deadline has passed is 2019
    assert tt.infer_manual_data_interval(run_after=_utc(2020, 1, 1)) == _interval("2018-10-15", "2019-10-15")
    # Just before the 2019 deadline passes (15/11/2019 00:00 +07), it is still 2018
    assert tt.infer_manual_data_interval(run_after=_utc(2019, 11, 14, 16)) == _interval("2017-10-15", "2018-10-15")
    # Before any deadline: the first cycle
    assert tt.infer_manual_data_interval(run_after=_utc(2017, 1, 1)) == _interval("2016-10-15", "2017-10-15")
    one = ReportingCycleTimetable("org_restructuring_2019")
    assert one.infer_manual_data_interval(run_after=_utc(2026, 1, 1)) == _interval("2019-07-19", "2019-12-13")


def test_dag_serializes_with_the_timetable() -> None:
    """The DAG file's timetable goes through Airflow's own encoder and back."""
    from airflow.serialization.encoders import encode_timetable

    encoded = encode_timetable(ReportingCycleTimetable(NQ51))
    assert encoded["__var"] == {"obligation_id": NQ51}
    assert encoded["__type"].endswith("ReportingCycleTimetable")
