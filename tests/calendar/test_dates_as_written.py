"""A weekday is only ever written beside the date it is the weekday of (issue 19: the DAG docs read "15/11/2027
(Chủ nhật)", which a reader takes for the weekday of 15/11/2027; it was the weekday of the day the deadline moved
from). Every text the calendar writes about a cycle, 2017-2030, is checked: the deadline sentence, the remarks,
the calendar's JSON and ICS, the e-mails' deadline paragraph and the DAG documentation."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from bhxh.calendar.catalogue import default_catalogue
from bhxh.calendar.remarks import cycle_remarks
from bhxh.templating import render

WEEKDAYS = {"Thứ Hai": 0, "Thứ Ba": 1, "Thứ Tư": 2, "Thứ Năm": 3, "Thứ Sáu": 4, "Thứ Bảy": 5, "Chủ nhật": 6}
_NAME = "|".join(WEEKDAYS)
DATE = r"(\d{2})/(\d{2})/(\d{4})"


def weekday_problems(text: str) -> list[str]:
    """Each weekday name must be followed by the date it is the weekday of ("Chủ nhật 14/11/2027"); a date must
    not be followed by a weekday in brackets ("15/11/2027 (Chủ nhật)"), nor a weekday stand alone."""
    out = []
    for m in re.finditer(rf"({_NAME})(\s+(?:ngày\s+)?{DATE})?", text):
        if not m.group(2):
            out.append(f"«{text[max(0, m.start() - 30):m.end() + 10]}»: a weekday without its date")
            continue
        day = dt.date(int(m.group(5)), int(m.group(4)), int(m.group(3)))
        if day.weekday() != WEEKDAYS[m.group(1)]:
            out.append(f"«{m.group(0)}»: {day:%d/%m/%Y} is not a {m.group(1)}")
    for m in re.finditer(rf"{DATE}\s*\(\s*({_NAME})", text):
        out.append(f"«{m.group(0)}»: a weekday in brackets after a date")
    return out


@pytest.mark.parametrize(
    "bad",
    ["15/11/2027 (Chủ nhật)", "hạn thực tế: hết ngày 15/11/2027 (lùi do Chủ nhật)", "Thứ Hai 14/11/2027", "| 16/12/2019 (Thứ Bảy) |"],
)
def test_the_checker_finds_a_weekday_beside_the_wrong_date(bad: str) -> None:
    assert weekday_problems(bad)


def test_the_checker_accepts_weekdays_beside_their_dates() -> None:
    assert weekday_problems("hết Thứ Hai 15/11/2027 (lùi từ Chủ nhật 14/11/2027)") == []


def _cycles():
    cat = default_catalogue()
    return cat, [c for ob in cat for c in cat.cycles(ob.id, until_year=2030) if c.nominal_due.year <= 2030]


def test_cycle_texts_put_weekdays_beside_their_own_dates() -> None:
    cat, cycles = _cycles()
    moved = 0
    for c in cycles:
        ob = cat.get(c.obligation_id).for_cycle(c.key)
        texts = [c.deadline_text_vi(), *cycle_remarks(ob, c).values(), c.moved_because or "", c.moved_from or ""]
        # the e-mails' deadline paragraph (templates/email/_deadline.txt.j2) reads the same cycle
        texts.append(render("email/_deadline.txt.j2", obligation=ob, cycle=c))
        for text in texts:
            assert weekday_problems(text) == [], (c.cycle_id, text)
        moved += c.moved
    assert moved > 50


def test_calendar_output_puts_weekdays_beside_their_own_dates() -> None:
    from bhxh.cli.calendar import to_ics, year_records

    for year in range(2017, 2031):
        records = year_records(year)
        for r in records:
            for key in ("effective_last_day_vi", "deadline_text_vi", "moved_because", "period_interpretation"):
                assert weekday_problems(r[key] or "") == [], (r["cycle_id"], key)
            assert all(weekday_problems(v) == [] for v in r["remarks"].values()), r["cycle_id"]
        ics = to_ics(records, year).decode("utf-8").replace("\r\n ", "").replace("\\n", "\n").replace("\\,", ",")
        assert weekday_problems(ics) == [], year


def test_dag_docs_put_weekdays_beside_their_own_dates() -> None:
    from bhxh.steps.dags import doc_md, obligations

    seen = set()
    for year in range(2017, 2031):
        for ob in obligations():
            doc = doc_md(ob, today=dt.date(year, 1, 1))
            assert weekday_problems(doc) == [], (ob.id, year)
            seen.update(m.strip() for m in re.findall(r"lùi từ [^|;]+", doc))
    assert "lùi từ Chủ nhật 14/11/2027" in seen  # the example of issue 19, now said right
