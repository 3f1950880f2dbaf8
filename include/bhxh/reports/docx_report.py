"""The consolidated report as a DOCX laid out as a Vietnamese administrative document ("văn bản hành chính",
Nghị định 30/2020/NĐ-CP, Phụ lục I), rendered with docxtpl from templates/reports/consolidated.docx.

The template is built by `bhxh.reports.docx_template`. Rendering runs in a sandboxed Jinja environment with
autoescaping, so text from a submission (a unit name, an error message) can never inject markup or template code.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

from docxtpl import DocxTemplate
from jinja2 import StrictUndefined
from jinja2.sandbox import SandboxedEnvironment
from lxml import etree

from bhxh.calendar.cycles import TZ
from bhxh.calendar.units import UnitRegistry, default_registry
from bhxh.reports.comparison import Cell, Comparison
from bhxh.reports.consolidation import Consolidated
from bhxh.templating import TEMPLATES_DIR, date_vi, number_vi, percent_vi

TEMPLATE = TEMPLATES_DIR / "reports" / "consolidated.docx"
DEFAULT_PARENT = "Bảo hiểm xã hội Việt Nam"
DEFAULT_PLACE = "Hà Nội"


@dataclass(frozen=True)
class Signer:
    """The signature block ("chữ ký"): `authority` is the "KT."/"TL." line when someone signs on another's behalf."""

    title: str = "PHÓ VỤ TRƯỞNG"
    name: str = "(Ký, ghi rõ họ tên)"
    authority: str | None = "KT. VỤ TRƯỞNG"


def date_parts(day: dt.date) -> dict[str, str]:
    """Day and month as Nghị định 30 writes them: a zero before days under 10 and before months 1 and 2."""
    return {
        "day": f"{day.day:02d}",
        "month": f"{day.month:02d}" if day.month < 3 else str(day.month),
        "year": str(day.year),
    }


def _num(value: float | None, kind: str, *, signed: bool = False) -> str:
    if value is None:
        return "—"
    text = number_vi(value, 1 if kind == "percent" else 0)
    return ("+" + text) if signed and value > 0 else text


def _cells(cell: Cell, kind: str) -> dict[str, str]:
    target = "—" if cell.target is None else f"{_num(cell.target, kind)} ({cell.target_year})"
    return {
        "value": _num(cell.value, kind),
        "target": target,
        "gap": _num(cell.gap, kind, signed=True),
        "previous": _num(cell.previous, kind),
        "change": _num(cell.change, kind, signed=True),
    }


def _subject(cons: Consolidated) -> str:
    title = cons.plan.obligation.title_vi
    if title.lower().startswith("báo cáo "):
        title = title[len("báo cáo ") :]
    if not title.lower().startswith("tổng hợp"):
        title = "tổng hợp " + title[:1].lower() + title[1:]
    return f"{title[:1].upper()}{title[1:]} kỳ {cons.plan.cycle.key}"


def _abbr(unit, fallback: str) -> str:
    if unit is not None and unit.abbreviations:
        return unit.abbreviations[0].replace(" ", "").upper()
    return "".join(w[0] for w in fallback.split() if w[:1].isalpha()).upper()


def report_context(
    cons: Consolidated,
    comparison: Comparison,
    *,
    number: str,
    place: str,
    signer: Signer | dict,
    issued_on: dt.date | None = None,
    recipients: list[str] | None = None,
    registry: UnitRegistry | None = None,
) -> dict:
    """Everything the DOCX template shows, as plain strings and lists."""
    registry = registry or default_registry()
    plan = cons.plan
    ob, cycle = plan.obligation, plan.cycle
    issued_on = issued_on or dt.datetime.now(TZ).date()
    day = cycle.effective_last_day
    issuer_unit = (
        registry.get(plan.recipient.id) if plan.recipient else registry.successor_on(ob.department, day)
    )
    issuer = (
        plan.recipient.name
        if plan.recipient
        else (issuer_unit.name_on(day) if issuer_unit else ob.department)
    )
    parent = (
        registry.get(issuer_unit.parent).name_on(day)
        if issuer_unit and issuer_unit.parent in registry
        else DEFAULT_PARENT
    )
    abbr = _abbr(issuer_unit, issuer)
    # Nghị định 30: the place is where the issuer sits (a provincial body: its province); central units: Hà Nội.
    parent_unit = registry.get(issuer_unit.parent) if issuer_unit and issuer_unit.parent in registry else None
    place = place or next(
        (u.seat for u in (issuer_unit, parent_unit) if u is not None and u.seat), DEFAULT_PLACE
    )
    if recipients is None:
        recipients = _default_recipients(cons, registry, parent)
    signer = signer if isinstance(signer, Signer) else Signer(**signer)
    kinds = {i.code: i.kind for i in comparison.indicators}
    indicator_rows = [
        {"stt": str(n), "name": i.name, "measure": i.measure, **_cells(comparison.totals[i.code], i.kind)}
        for n, i in enumerate(comparison.indicators, start=1)
    ]
    unit_rows, n = [], 0
    for unit in comparison.units:
        for code, cell in unit.cells.items():
            if cell.value is None and cell.previous is None:
                continue
            n += 1
            unit_rows.append(
                {"stt": str(n), "unit": unit.unit_name, "code": code, **_cells(cell, kinds[code])}
            )
    missing = [r.unit.name for r in cons.rows if r.state == "missing"]
    invalid = [
        {
            "name": r.unit.name,
            "errors": "; ".join(e.get("message_vi", "") for e in r.errors) or "không hợp lệ",
        }
        for r in cons.rows
        if r.state == "invalid"
    ]
    lb = ob.legal_basis
    return {
        "parent_body": parent.upper(),
        "issuer": issuer,
        "issuer_upper": issuer.upper(),
        "abbr": abbr,
        "number": number or "     ",
        "place": place,
        **date_parts(issued_on),
        "subject": _subject(cons),
        "legal": {"document": lb.document, "date": date_vi(lb.date), "part": lb.part, "wording": lb.wording},
        "cycle_key": cycle.key,
        "period_start": date_vi(cycle.period_start),
        "period_end": date_vi(cycle.period_end),
        "nominal_due": date_vi(cycle.nominal_due),
        "effective_last_day": date_vi(cycle.effective_last_day),
        "moved_because": cycle.moved_because or "",
        "expected": cons.expected,
        "reported": cons.counts["on_time"] + cons.counts["late"],
        "counts": cons.counts,
        "reporting_rate": percent_vi(comparison.reporting_rate),
        "on_time_rate": percent_vi(comparison.on_time_rate),
        "previous_cycle_key": comparison.previous_cycle_key or "",
        "previous_reporting_rate": percent_vi(comparison.previous_reporting_rate)
        if comparison.previous_reporting_rate is not None
        else "",
        "previous_on_time_rate": percent_vi(comparison.previous_on_time_rate)
        if comparison.previous_on_time_rate is not None
        else "",
        "missing_names": ", ".join(missing),
        "invalid": invalid,
        "flags": list(plan.flags),
        "notes": list(comparison.notes),
        "target_year": comparison.target_year,
        "indicator_rows": indicator_rows,
        "unit_rows": unit_rows,
        "recipients": recipients,
        "signer": signer,
    }


def _default_recipients(cons: Consolidated, registry: UnitRegistry, parent: str) -> list[str]:
    """Who gets the report: whoever the obligation feeds or the leadership, the co-recipients, the reporting units."""
    ob = cons.plan.obligation
    day = cons.plan.cycle.effective_last_day
    out = []
    if parent == DEFAULT_PARENT:
        out.append("Tổng Giám đốc (để báo cáo)")
    else:
        out.append(f"{parent} (để báo cáo)")
    for unit_id in ob.also_to:
        unit = registry.successor_on(unit_id, day)
        if unit is not None:
            out.append(f"{unit.name_on(day)} (để phối hợp)")
    out.append("Các đơn vị báo cáo (để biết)")
    return out


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

    tests/unit/test_docx_report.py renders the same report with both and compares the XML.
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


def _environment() -> SandboxedEnvironment:
    return SandboxedEnvironment(autoescape=True, undefined=StrictUndefined)


def render_docx(
    cons: Consolidated,
    comparison: Comparison,
    out_path: Path,
    *,
    number: str,
    place: str,
    signer: Signer | dict,
    issued_on: dt.date | None = None,
    recipients: list[str] | None = None,
    registry: UnitRegistry | None = None,
    template: Path = TEMPLATE,
    template_class: type[DocxTemplate] = ReportTemplate,
) -> Path:
    """Write the consolidated report as DOCX to `out_path` and return it."""
    context = report_context(
        cons,
        comparison,
        number=number,
        place=place,
        signer=signer,
        issued_on=issued_on,
        recipients=recipients,
        registry=registry,
    )
    doc = template_class(str(template))
    doc.render(context, jinja_env=_environment(), autoescape=True)
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    doc.save(str(out_path))
    return out_path
