"""What the DAG files read when they are parsed: the obligations, their DAG ids, feeders, first period and docs.

Parse time only (no store, no connection): the dag-processor parses these files often.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from bhxh.calendar.catalogue import dag_id_for, default_catalogue, feeders_of
from bhxh.calendar.obligations import Obligation

__all__ = ["dag_id_for", "doc_md", "feeders", "first_interval_start", "obligations"]


def obligations() -> Iterator[Obligation]:
    return iter(default_catalogue())


def feeders(obligation_id: str) -> list[Obligation]:
    """The obligations whose consolidated data feed `obligation_id`."""
    return feeders_of(default_catalogue(), obligation_id)


def first_interval_start(obligation_id: str) -> dt.datetime:
    """The start of the first cycle's reporting period: the DAG's start date."""
    return default_catalogue().cycles(obligation_id)[0].interval_start


def doc_md(ob: Obligation) -> str:
    """The DAG's documentation in the UI: title, legal basis with its wording, who reports, the next cycles."""
    cycles = [c for c in default_catalogue().cycles(ob.id) if c.due_at.date() >= dt.date.today()][:3]
    upcoming = "\n".join(
        f"| {c.key} | {c.period_start:%d/%m/%Y} – {c.period_end:%d/%m/%Y} | {c.nominal_due:%d/%m/%Y} | "
        f"{c.effective_last_day:%d/%m/%Y}{' (' + c.moved_because + ')' if c.moved_because else ''} |"
        for c in cycles
    )
    lb = ob.legal_basis
    return f"""### {ob.title_vi}
*{ob.title_en}*

**Căn cứ / Legal basis:** {lb.document} ngày {lb.date:%d/%m/%Y}, {lb.part}

> {lb.wording}

**Đơn vị báo cáo:** {", ".join(ob.reporters.groups + ob.reporters.units)} — **nhận:** `{ob.recipient}`

{"**Kỳ báo cáo (diễn giải):** " + ob.period.interpretation if ob.period.interpretation else ""}

| Kỳ | Kỳ số liệu | Hạn theo văn bản | Hạn thực tế (hết ngày) |
|---|---|---|---|
{upcoming or "| — | — | — | — |"}

Chạy lại một đơn vị: xóa (Clear) đúng ô của đơn vị đó trong lưới; kỳ khác: Trigger với tham số `cycle`.
"""
