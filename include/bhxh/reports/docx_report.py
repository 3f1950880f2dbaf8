"""The consolidated report as a DOCX laid out as a Vietnamese administrative document ("văn bản hành chính",
Nghị định 30/2020/NĐ-CP, Phụ lục I), rendered with docxtpl from templates/reports/consolidated.docx.

The body is what a department signs: prose and a few short tables (the indicators against the targets and the
previous cycle, the units to watch, the plan's tasks behind); every unit's data goes in the XLSX appendix the
body cites. The template is built by `bhxh.reports.docx_template`; its sentences are Jinja in the template, the
context holds the data. Rendering runs in a sandboxed Jinja environment with autoescaping, so text from a
submission (a unit name, an error message) can never inject markup or template code.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Sequence
from dataclasses import asdict
from functools import lru_cache
from pathlib import Path

from docxtpl import DocxTemplate
from jinja2 import StrictUndefined
from jinja2.sandbox import SandboxedEnvironment
from lxml import etree

from bhxh.reports.comparison import Cell, Comparison
from bhxh.reports.consolidation import Consolidated
from bhxh.reports.issuer import Issuer
from bhxh.reports.stable import normalised_zip
from bhxh.templating import TEMPLATES_DIR, date_vi, number_vi, percent_vi
from bhxh.yamlio import load_yaml

TEMPLATE = TEMPLATES_DIR / "reports" / "consolidated.docx"
INDICATORS_FILE = Path(__file__).parent / "data" / "indicators.yaml"
ATTENTION_LIMIT = 5  # units named per indicator in the body; the appendix has them all
TASK_ROWS = 10
MAX_REASONS = 2  # error messages shown per invalid unit in the body


def date_parts(day: dt.date) -> dict[str, str]:
    """Day and month as Nghị định 30 writes them: a zero before days under 10 and before months 1 and 2."""
    return {
        "day": f"{day.day:02d}",
        "month": f"{day.month:02d}" if day.month < 3 else str(day.month),
        "year": str(day.year),
    }


@lru_cache(maxsize=2)
def _indicator_data(path: str = str(INDICATORS_FILE)) -> dict:
    return load_yaml(Path(path).read_text(encoding="utf-8")) or {}


def document_kind(document: str) -> str:
    """The kind of a document from its number: "1541/QĐ-BHXH" -> "Quyết định"; a công văn's number ("1257/BHXH-PC")
    has no kind abbreviation (Nghị định 30/2020, Phụ lục III)."""
    kinds = _indicator_data()["document_kinds"]
    symbol = document.split("/", 1)[1] if "/" in document else ""
    return kinds.get(symbol.split("-", 1)[0], kinds["_other"])


def _num(value: float | None, kind: str, *, signed: bool = False) -> str:
    if value is None:
        return "—"
    text = number_vi(value, 1 if kind == "percent" else 0)
    return ("+" + text) if signed and value > 0 and text.strip("0,") else text


def _cells(cell: Cell, kind: str) -> dict[str, str]:
    target = "—" if cell.target is None else f"{_num(cell.target, kind)} ({cell.target_year})"
    return {
        "value": _num(cell.value, kind),
        "target": target,
        "gap": _num(cell.gap, kind, signed=True),
        "previous": _num(cell.previous, kind),
        "change": _num(cell.change, kind, signed=True),
    }


def subject(cons: Consolidated) -> str:
    title = cons.plan.obligation.title_vi.rstrip(" .")
    if title.lower().startswith("báo cáo "):
        title = title[len("báo cáo ") :]
    if not title.lower().startswith("tổng hợp"):
        title = "tổng hợp " + title[:1].lower() + title[1:]
    return f"{title[:1].upper()}{title[1:]} kỳ {cons.plan.cycle.key}"


_LOCATION = re.compile(r"^(?:Sheet|Dòng|Cột|Tệp)[^:]{0,120}:\s+")
_ADVICE = re.compile(r"\s+(?:Hãy|Vui lòng)\s.*$", flags=re.DOTALL)


def reason(message: str) -> str:
    """An intake error as the body of a report upward says it: without the cell it names and the advice to the
    unit ("Sheet 'Chỉ tiêu', dòng 6, ...: Tỷ lệ 104.5% vượt quá 100%. Hãy nhập ..." -> "Tỷ lệ 104.5% vượt quá 100%")."""
    text = _ADVICE.sub("", _LOCATION.sub("", " ".join(message.split())))
    return text.rstrip(" .;:") or message.strip().rstrip(" .;:")


def _invalid_rows(cons: Consolidated) -> list[dict]:
    rows = []
    for r in cons.rows:
        if r.state != "invalid":
            continue
        reasons = list(dict.fromkeys(reason(e.get("message_vi", "")) for e in r.errors if e.get("message_vi")))
        text = "; ".join(reasons[:MAX_REASONS]) or "Báo cáo không đọc được"
        if len(reasons) > MAX_REASONS:
            text += f" và {len(reasons) - MAX_REASONS} lỗi khác"
        rows.append({"stt": str(len(rows) + 1), "name": r.unit.name, "reasons": text + "."})
    return rows


def _unit_groups(cons: Consolidated) -> list[dict]:
    groups = []
    missing = [r.unit.name for r in cons.rows if r.state == "missing"]
    late = [f"{r.unit.name} (nhận ngày {r.received_at.split(' ', 1)[-1]})" if r.received_at else r.unit.name
            for r in cons.rows if r.state == "late"]
    if missing:
        groups.append({"label": "Đơn vị chưa gửi báo cáo", "names": missing})
    if late:
        groups.append({"label": "Đơn vị gửi báo cáo trễ hạn", "names": late})
    return groups


def attention_rows(comparison: Comparison, limit: int = ATTENTION_LIMIT) -> list[dict]:
    """Per indicator, the units to watch: below the target; else lower than last cycle; else, for a percentage or
    an indicator where less is better, the extremes. Indicators with nothing to judge by are left out."""
    lower_better = set(_indicator_data().get("lower_is_better", []))
    rows = []
    for info in comparison.indicators:
        cells = [(u.unit_name, u.cells[info.code]) for u in comparison.units if u.cells[info.code].value is not None]
        if not cells:
            continue
        down = info.code in lower_better
        if info.target is not None:
            hit = [(n, c) for n, c in cells if (c.value > info.target if down else c.value < info.target)]
            hit.sort(key=lambda x: -x[1].value if down else x[1].value)
            rule = {"rule": "above_target" if down else "below_target", "target": _num(info.target, info.kind),
                    "year": info.target_year}
        elif any(c.previous is not None for _, c in cells):
            hit = [(n, c) for n, c in cells if c.change is not None and (c.change > 0 if down else c.change < 0)]
            hit.sort(key=lambda x: -x[1].change if down else x[1].change)
            rule = {"rule": "up_from_previous" if down else "down_from_previous"}
        elif info.kind == "percent" or down:
            hit = sorted(cells, key=lambda x: -x[1].value if down else x[1].value)[:limit]
            rule = {"rule": "highest" if down else "lowest"}
        else:
            continue
        if not hit:
            continue
        rows.append({
            "stt": str(len(rows) + 1),
            "name": f"{info.name} ({info.measure})",
            **rule,
            "units": [{"name": n, "value": _num(c.value, info.kind)} for n, c in hit[:limit]],
            "more": max(0, len(hit) - limit),
        })
    return rows


def _task_context(tasks) -> dict | None:
    """The plan's tasks in the body: the totals, those past due, the units most behind (TaskConsolidation)."""
    if tasks is None:
        return None
    assign = tasks.assignments
    status = assign["status"]
    past_due = tasks.past_due
    late_by_unit = past_due.groupby("lead").size().to_dict() if len(past_due) else {}
    rates = tasks.unit_rates
    ranked = []
    for r in rates.to_dict(orient="records"):
        rate = r.get("rate")
        rate = None if rate is None or rate != rate else float(rate)
        late = int(late_by_unit.get(r["unit"], 0))
        if r["assigned"] and (late or (rate is not None and rate < 100)):
            ranked.append((-late, rate if rate is not None else -1.0, r["name"], r, rate, late))
    ranked.sort(key=lambda x: x[:3])
    rows = [
        {"stt": str(i), "name": r["name"], "assigned": str(int(r["assigned"])), "completed": str(int(r["completed"])),
         "rate": percent_vi(rate) if rate is not None else "Chưa báo cáo", "past_due": str(late)}
        for i, (_, _, _, r, rate, late) in enumerate(ranked[:TASK_ROWS], start=1)
    ]
    total = len(assign)
    done = int(assign["completed"].sum())
    return {
        "source": f"{document_kind(tasks.plan.source)} số {tasks.plan.source}",
        "table": tasks.plan.table,
        "assigned": str(total),
        "completed": str(done),
        "rate": percent_vi(100.0 * done / total) if total else "—",
        "on_schedule": str(int((status == "Đúng tiến độ").sum())),
        "behind": str(int((status == "Chậm tiến độ").sum())),
        "not_started": str(int((status == "Chưa triển khai").sum())),
        "not_reported": str(int(status.isna().sum())) if int(status.isna().sum()) else "",
        "past_due": str(len(past_due)) if len(past_due) else "",
        "past_due_units": str(len(late_by_unit)),
        "rows": rows,
    }


def report_context(
    cons: Consolidated,
    comparison: Comparison,
    issuer: Issuer,
    *,
    tasks=None,
    actions: Sequence[dict] = (),
    appendix_file: str = "bao_cao_tong_hop.xlsx",
) -> dict:
    """Everything the DOCX template shows, as plain strings and lists."""
    plan = cons.plan
    ob, cycle = plan.obligation, plan.cycle
    kinds = {i.code: i.kind for i in comparison.indicators}
    indicator_rows = [
        {"stt": str(n), "name": i.name, "measure": i.measure, **_cells(comparison.totals[i.code], i.kind)}
        for n, i in enumerate(comparison.indicators, start=1)
    ]
    has_previous = any(c.previous is not None for c in comparison.totals.values()) and bool(kinds)
    lb = ob.legal_basis
    signer = asdict(issuer.signer)
    return {
        "parent_upper": issuer.parent.upper(),
        "issuer": issuer.name,
        "issuer_upper": "\n".join(line.upper() for line in (issuer.name_lines or (issuer.name,))),
        "symbol": issuer.symbol,
        "number": issuer.number or "\u00a0" * 6,
        "place": issuer.place,
        **date_parts(issuer.issued_on),
        "date_short": date_vi(issuer.issued_on),
        "subject": subject(cons),
        "basis": {"kind": document_kind(lb.document), "document": lb.document, "date": date_vi(lb.date),
                  "part": lb.part.rstrip(" .;:"), "wording": lb.wording.strip().rstrip(" .;:")},
        "cycle_key": cycle.key,
        "period_start": date_vi(cycle.period_start),
        "period_end": date_vi(cycle.period_end),
        "last_day": date_vi(cycle.effective_last_day),
        "moved_because": cycle.moved_because or "",
        "expected": cons.expected,
        "reported": cons.counts["on_time"] + cons.counts["late"],
        "counts": cons.counts,
        "reporting_rate": percent_vi(comparison.reporting_rate),
        "on_time_rate": percent_vi(comparison.on_time_rate),
        "previous_cycle_key": comparison.previous_cycle_key or "",
        "previous_reporting_rate": percent_vi(comparison.previous_reporting_rate)
        if comparison.previous_reporting_rate is not None else "",
        "previous_on_time_rate": percent_vi(comparison.previous_on_time_rate)
        if comparison.previous_on_time_rate is not None else "",
        "previous_label": f"Kỳ {comparison.previous_cycle_key}" if comparison.previous_cycle_key else "Kỳ trước",
        "has_previous": has_previous,
        "unit_groups": _unit_groups(cons),
        "invalid_rows": _invalid_rows(cons),
        "target_year": comparison.target_year,
        "indicator_rows": indicator_rows,
        "attention_rows": attention_rows(comparison),
        "attention_limit": ATTENTION_LIMIT,
        "tasks": _task_context(tasks),
        "appendix_file": appendix_file,
        "actions": [{**a, "stt": str(n)} for n, a in enumerate(actions, start=1)],
        "recipients": list(issuer.recipients),
        "signer": signer,
    }


# A character docxtpl turns into a tab, line break, new paragraph or page break, and one paragraph of the XML
# (the pattern docxtpl's resolve_listing walks the document with).
_LISTING_CHARS = re.compile(r"[\t\a\n\f]")
_PARAGRAPH = re.compile(r"<w:p(?: [^>]*)?>.*?</w:p>", flags=re.DOTALL)
_COLUMN_LOOP = re.compile(r"\{%-?\s*tc\s")


class ReportTemplate(DocxTemplate):
    """docxtpl's DocxTemplate without two passes that are costly on a document of a hundred table rows and cannot
    change ours (half the rendering time of a 63-province report, measured):

    - `resolve_listing` rewrites every run of every paragraph to turn tabs, line breaks and the like into Word's
      elements; here only the paragraphs holding such a character go through it (the same pattern finds them,
      so the result is the same);
    - `fix_tables` counts the cells of every row to widen tables grown by `{%tc %}` column loops; a template
      without column loops (ours has only `{%tr %}` rows, which copy a row whole) is parsed without it.

    tests/reports/test_docx_report.py renders the same report with both and compares the XML.
    """

    _column_loops = True

    def build_xml(self, context, jinja_env=None):
        text = re.sub(r"<[^>]+>", "", self.get_xml())  # a tag may be split across runs in the XML
        self._column_loops = _COLUMN_LOOP.search(text) is not None
        return super().build_xml(context, jinja_env)

    def fix_tables(self, xml):
        if self._column_loops:
            return super().fix_tables(xml)
        return etree.fromstring(xml, parser=etree.XMLParser(recover=True))

    def resolve_listing(self, xml):
        if not _LISTING_CHARS.search(xml):
            return xml
        pieces, last = [], 0
        for m in _PARAGRAPH.finditer(xml):
            if _LISTING_CHARS.search(m.group(0)):
                pieces += [xml[last : m.start()], super().resolve_listing(m.group(0))]
                last = m.end()
        pieces.append(xml[last:])
        return "".join(pieces)


_NUMBER_TOKEN = re.compile(r"[^\s()“”\"',;]*/[^\s()“”\"',;]*")


def hold_document_numbers(body) -> None:
    """Keep document numbers on one line ("51/NQ-CP", "Số: 15/BC-KHĐT"): their hyphens become Word's non-breaking
    hyphen (w:noBreakHyphen, which LibreOffice reads too), so a line never ends in "51/NQ-"."""
    from docx.oxml.ns import qn

    for t in list(body.iter(qn("w:t"))):
        text = t.text or ""
        if "-" not in text or "/" not in text:
            continue
        cuts = [m.start() + i for m in _NUMBER_TOKEN.finditer(text) for i, ch in enumerate(m.group(0)) if ch == "-"]
        if not cuts:
            continue
        pieces, last = [], 0
        for cut in cuts:
            pieces.append(text[last:cut])
            last = cut + 1
        pieces.append(text[last:])
        t.text = pieces[0]
        t.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
        anchor = t
        for piece in pieces[1:]:
            hyphen = etree.SubElement(t.getparent(), qn("w:noBreakHyphen"))
            anchor.addnext(hyphen)
            nxt = etree.SubElement(t.getparent(), qn("w:t"))
            nxt.text = piece
            nxt.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
            hyphen.addnext(nxt)
            anchor = nxt


def _environment() -> SandboxedEnvironment:
    return SandboxedEnvironment(autoescape=True, undefined=StrictUndefined)


def render_docx(
    cons: Consolidated,
    comparison: Comparison,
    out_path: Path,
    issuer: Issuer,
    *,
    tasks=None,
    actions: Sequence[dict] = (),
    appendix_file: str = "bao_cao_tong_hop.xlsx",
    template: Path = TEMPLATE,
    template_class: type[DocxTemplate] = ReportTemplate,
) -> Path:
    """Write the consolidated report as DOCX to `out_path` (the same bytes for the same content) and return it."""
    context = report_context(cons, comparison, issuer, tasks=tasks, actions=actions, appendix_file=appendix_file)
    doc = template_class(str(template))
    doc.render(context, jinja_env=_environment(), autoescape=True)
    hold_document_numbers(doc.docx.element.body)
    buffer = io.BytesIO()
    doc.save(buffer)
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_bytes(normalised_zip(buffer.getvalue()))
    return out_path
