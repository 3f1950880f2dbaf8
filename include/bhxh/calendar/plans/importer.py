"""Importer: reads the task tables of the seed plans (broken line wraps and all) and writes one YAML per plan.

    seeds/002 (1541/QĐ-BHXH)  "NHIỆM VỤ TRỌNG TÂM"                     -> nq51_action_programme.yaml
    seeds/003 (2753/QĐ-UBND)  "PHỤ LỤC KẾ HOẠCH CỤ THỂ"                -> nq28_dak_lak.yaml
    seeds/001 (3035/KH-BHXH)  "NHIỆM VỤ CẢI CÁCH HÀNH CHÍNH 2021-2030"  -> cchc_2021_2030.yaml
    seeds/000 (2596/KH-BHXH)  part B.II (duties per unit, milestones)  -> org_restructuring_2019.yaml

What the importer cannot read with certainty goes to review.yaml (plan, id, field, raw text, reason). A person
settles an item by an entry in overrides.yaml, which the importer applies after parsing; review.yaml then
shows the item as settled, with the override's reason. The output is deterministic (no time stamps, fixed key
order): importing the same seeds twice gives byte-identical files.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bhxh.calendar.plans.model import PLANS_DIR, Plan, Task, dump_yaml
from bhxh.calendar.plans.resolve import UnitResolver
from bhxh.calendar.plans.text import base, clean, join, segments
from bhxh.calendar.plans.timing import parse_timing
from bhxh.errors import DataFileError
from bhxh.yamlio import load_yaml

OVERRIDES_FILE = "overrides.yaml"
REVIEW_FILE = "review.yaml"


@dataclass(frozen=True)
class SeedSpec:
    plan: str
    prefix: str  # the seed file name starts with it
    source: str
    issued: dt.date
    title: str
    table: str


SEEDS = (
    SeedSpec(
        "nq51_action_programme",
        "002_",
        "1541/QĐ-BHXH",
        dt.date(2017, 9, 22),
        "Chương trình hành động của BHXH Việt Nam thực hiện Nghị quyết số 51/NQ-CP",
        "Nhiệm vụ trọng tâm triển khai thực hiện Nghị quyết số 51/NQ-CP",
    ),
    SeedSpec(
        "nq28_dak_lak",
        "003_",
        "2753/QĐ-UBND",
        dt.date(2018, 10, 24),
        "Kế hoạch của UBND tỉnh Đắk Lắk thực hiện Chương trình số 29-CTr/TU (Nghị quyết số 28-NQ/TW)",
        "Phụ lục kế hoạch cụ thể triển khai thực hiện Chương trình số 29-CTr/TU",
    ),
    SeedSpec(
        "cchc_2021_2030",
        "001_",
        "3035/KH-BHXH",
        dt.date(2021, 9, 28),
        "Kế hoạch thực hiện Chương trình tổng thể cải cách hành chính ngành BHXH Việt Nam giai đoạn 2021-2030",
        "Nhiệm vụ cải cách hành chính giai đoạn 2021-2030",
    ),
    SeedSpec(
        "org_restructuring_2019",
        "000_",
        "2596/KH-BHXH",
        dt.date(2019, 7, 19),
        "Kế hoạch thực hiện Quyết định số 856/QĐ-TTg về đổi mới, sắp xếp tổ chức bộ máy của BHXH Việt Nam",
        "Phần B.II: Phân công nhiệm vụ cho các đơn vị liên quan",
    ),
)


@dataclass
class ReviewItem:
    plan: str
    id: str
    field: str
    raw: str | None
    reason: str
    settled: bool = False
    resolution: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "plan": self.plan,
            "id": self.id,
            "field": self.field,
            "raw": self.raw,
            "reason": self.reason,
            "settled": self.settled,
            "resolution": self.resolution,
        }


@dataclass
class Parsed:
    spec: SeedSpec
    seed_name: str
    seed_sha256: str
    items: list[Task] = field(default_factory=list)
    review: list[ReviewItem] = field(default_factory=list)

    def flag(self, task_id: str, field_name: str, raw: str | None, reason: str) -> None:
        self.review.append(ReviewItem(self.spec.plan, task_id, field_name, raw, reason))

    def task(self, **kw: Any) -> Task:
        t = Task(plan=self.spec.plan, source=self.spec.source, **kw)
        self.items.append(t)
        return t


# ---------------------------------------------------------------------------------------------- helpers


def _fill_units(p: Parsed, t: Task, resolver: UnitResolver, *, daklak: bool = False) -> None:
    day = p.spec.issued
    lead = resolver.resolve(t.lead_text, day, daklak=daklak)
    t.lead = lead.ids[0] if lead.ids else None
    t.co_leads = lead.ids[1:]
    coop = resolver.resolve(t.cooperating_text, day, daklak=daklak)
    t.cooperating = [u for u in coop.ids if u not in lead.ids]
    t.unresolved = lead.unresolved + [u for u in coop.unresolved if u not in lead.unresolved]
    for name in lead.unresolved:
        p.flag(t.id, "lead", name, "đơn vị không có trong danh mục / unit not found in the registry")
    for name in coop.unresolved:
        p.flag(t.id, "cooperating", name, "đơn vị không có trong danh mục / unit not found in the registry")
    if t.kind in ("task", "activity") and not t.lead_text:
        p.flag(t.id, "lead", None, "không có đơn vị chủ trì / no lead unit in the table")


def _fill_timing(p: Parsed, t: Task) -> None:
    if not t.timing_text:
        if t.kind in ("task", "activity") and p.spec.plan != "org_restructuring_2019":
            p.flag(t.id, "timing", None, "không có thời gian thực hiện / no completion time in the table")
        return
    timing = parse_timing(t.timing_text)
    if timing is None:
        p.flag(t.id, "timing", t.timing_text, "không đọc được thời gian / completion time not understood")
        return
    t.due, t.starts, t.recurrence, t.due_month = timing.due, timing.starts, timing.recurrence, timing.due_month


def _starts(text: str, words: tuple[str, ...]) -> bool:
    return any(re.match(rf"{re.escape(w)}(?:\b|$)", text) for w in words)


_TT = re.compile(r"^(?:[IVX]+|\d+(?:\.\d+)*)$")
_UNIT_START = (
    "Ban",
    "Vụ",
    "Trung tâm",
    "Văn phòng",
    "Viện",
    "Các",
    "BHXH",
    "Bảo hiểm",
    "Tạp chí",
    "Báo",
    "Sở",
    "Đài",
    "Tổ chức",
    "UBND",
    "Ủy ban",
)


def _rows(segs: list[str]) -> list[tuple[str, list[str]]]:
    rows: list[tuple[str, list[str]]] = []
    for s in segs:
        if _TT.match(s):
            rows.append((s, []))
        elif rows:
            rows[-1][1].append(s)
    return rows


def _table_segments(text: str, start_marker: str, header_last: str) -> list[str]:
    lines = text.split("\n")
    start = next((i for i, ln in enumerate(lines) if ln.strip().startswith(start_marker)), None)
    if start is None:
        raise DataFileError(
            f"Không tìm thấy bảng nhiệm vụ ('{start_marker}')",
            f"Task table not found ('{start_marker}')",
            code="plan_seed",
        )
    end = next((i for i in range(start, len(lines)) if lines[i].startswith("Tải Văn bản")), len(lines))
    segs = segments(lines[start:end])
    head = segs.index(header_last) if header_last in segs else 0
    return segs[head + 1 :]


@dataclass
class _Numbering:
    """Turns the printed row numbers (I, 1, 3.1, II, ...) into stable ids (I, I.1, I.3.1, II, ...)."""

    roman: str | None = None

    def id_of(self, tt: str) -> tuple[str, str | None]:
        if re.fullmatch(r"[IVX]+", tt):
            self.roman = tt
            return tt, None
        parts = tt.split(".")
        full = f"{self.roman}.{tt}" if self.roman else tt
        parent = f"{self.roman}.{'.'.join(parts[:-1])}" if len(parts) > 1 else self.roman
        return full, parent


def _split_columns(
    p: Parsed, task_id: str, body: list[str], starts: list[int]
) -> tuple[str, str | None, str | None]:
    """Content | lead | cooperating, from the segments before the product/programme column."""
    if len(starts) < 2:
        p.flag(task_id, "row", " | ".join(body), "không tách được cột đơn vị / cannot find the unit columns")
        return join(body), None, None
    if len(starts) > 2:
        p.flag(
            task_id,
            "row",
            " | ".join(body),
            "nhiều đoạn có thể là cột đơn vị; đã lấy hai đoạn cuối / several segments look like unit "
            "columns; the last two were taken",
        )
    k_lead, k_coop = starts[-2], starts[-1]
    return join(body[:k_lead]), join(body[k_lead:k_coop]), join(body[k_coop:])


# ------------------------------------------------------------------------------------ seed 002 (1541)


def parse_nq51(p: Parsed, text: str, resolver: UnitResolver) -> None:
    segs = _table_segments(text, "NHIỆM", "Thời gian thực hiện")
    numbering = _Numbering()
    for tt, cells in _rows(segs):
        task_id, parent = numbering.id_of(tt)
        i_time = max((i for i, s in enumerate(cells) if _starts(s, ("Giai đoạn", "Năm"))), default=None)
        if i_time is None or i_time == 0:
            p.task(id=task_id, kind="group", title=join(cells), parent=parent)
            continue
        timing = join(cells[i_time:])
        i_prog = next(
            (i for i, s in enumerate(cells[:i_time]) if i > 0 and _starts(s, ("Chương", "Kế hoạch"))), i_time
        )
        programme = join(cells[i_prog:i_time]) or None
        body = cells[:i_prog]
        starts = [i for i, s in enumerate(body) if i > 0 and _starts(s, _UNIT_START)]
        title, lead, coop = _split_columns(p, task_id, body, starts)
        t = p.task(
            id=task_id,
            kind="task",
            title=title,
            parent=parent,
            lead_text=lead,
            cooperating_text=coop,
            timing_text=timing,
            programme=programme,
            period=timing,
        )
        if programme is None:
            p.flag(task_id, "programme", None, "không ghi chương trình/kế hoạch gốc / no source programme")
        _fill_units(p, t, resolver)
        _fill_timing(p, t)


# ------------------------------------------------------------------------------------ seed 003 (2753)


def parse_nq28(p: Parsed, text: str, resolver: UnitResolver) -> None:
    segs = _table_segments(text, "PHỤ LỤC", "Thời gian hoàn thành")
    numbering = _Numbering()
    for tt, cells in _rows(segs):
        task_id, parent = numbering.id_of(tt)
        i_time = max((i for i, s in enumerate(cells) if _starts(s, ("Quý", "Hằng", "Năm"))), default=None)
        if i_time is None or i_time == 0:
            p.task(id=task_id, kind="group", title=join(cells), parent=parent)
            continue
        timing = join(cells[i_time:])
        i_prod = max(
            (
                i
                for i, s in enumerate(cells[:i_time])
                if i > 0 and _starts(s, ("Đề án", "Nhiệm vụ", "Văn bản"))
            ),
            default=i_time,
        )
        product = join(cells[i_prod:i_time]) or None
        body = cells[:i_prod]
        starts = [i for i, s in enumerate(body) if i > 0 and _starts(s, _UNIT_START)]
        title, lead, coop = _split_columns(p, task_id, body, starts)
        t = p.task(
            id=task_id,
            kind="task",
            title=title,
            parent=parent,
            lead_text=lead,
            cooperating_text=coop,
            product=product,
            timing_text=timing,
        )
        if product is None:
            p.flag(task_id, "product", None, "không có sản phẩm / no product in the table")
        _fill_units(p, t, resolver, daklak=True)
        _fill_timing(p, t)


# ------------------------------------------------------------------------------------ seed 001 (3035)

# The reform areas of 3035/KH-BHXH, part II.2 ("Mục tiêu cụ thể" 2.1 to 2.5), and the direction tasks of
# part IV.1 that close the table.
AREAS = {
    "2.1": "tthc",
    "2.2": "to_chuc_bo_may",
    "2.3": "cong_vu",
    "2.4": "tai_chinh_cong",
    "2.5": "chinh_phu_so",
}
DIRECTION_AREA = "chi_dao"
_LABEL = re.compile(r"^(Mục tiêu|Nhiệm vụ|Hoạt động)(?:\s+(\d+)(?![\d%]))?\s*:?\s*(.*)$", re.S)
_HORIZON = re.compile(r"^\d\.\s*Đến năm (\d{4})$")


def _words(text: str) -> set[str]:
    return set(re.findall(r"\w+", base(text)))


def _body_objectives(text: str) -> list[tuple[str, str]]:
    """(area code, objective text) from part II.2 of the plan."""
    out: list[tuple[str, str]] = []
    area = None
    for line in text.split("\n"):
        s = line.strip().rstrip("|").strip()
        if m := re.match(r"^(2\.[1-5])\.\s*Mục tiêu", s):
            area = AREAS[m.group(1)]
            continue
        if s.startswith("III."):
            break
        if area is None:
            continue
        if s.startswith("- "):
            out.append((area, s[2:]))
        elif area in ("to_chuc_bo_may", "cong_vu") and len(s) > 40:
            out.append((area, s))
    return out


def _area_of(objective: str, body: list[tuple[str, str]]) -> tuple[str | None, float]:
    words = _words(objective)
    best, score = None, 0.0
    for area, text in body:
        other = _words(text)
        jac = len(words & other) / max(1, len(words | other))
        if jac > score:
            best, score = area, jac
    return best, score


def _cells_001(text: str) -> list[str]:
    lines = text.split("\n")
    start = next(i for i, ln in enumerate(lines) if ln.startswith("STT |"))
    end = next((i for i in range(start, len(lines)) if lines[i].startswith("Ý kiến bạn đọc")), len(lines))
    cells: list[str] = []
    for ln in lines[start:end]:
        pieces = ln.split("|")
        cells.extend(clean(c) for c in pieces[:-1])
        if pieces[-1].strip():
            cells.append(clean(pieces[-1]))
    first = next(i for i, c in enumerate(cells) if _HORIZON.match(c))
    return cells[first:]


def parse_cchc(p: Parsed, text: str, resolver: UnitResolver) -> None:
    body = _body_objectives(text)
    cells = _cells_001(text)
    # A "1. Đến năm 2025 / 2. Đến năm 2030" heading applies to the objectives under it until the reform area
    # changes: the sections printed without a heading of their own (tổ chức bộ máy, chế độ công vụ, chỉ đạo)
    # belong to the whole 2021-2030 plan (horizon None), not to the heading of the area above them.
    horizon: str | None = None
    fresh_heading = False
    area: str | None = None
    objective: Task | None = None
    task: Task | None = None
    counters: dict[str, int] = {}

    def is_label(c: str) -> bool:
        return bool(_LABEL.match(c) or _HORIZON.match(c))

    def next_number(key: str, printed: str | None) -> int:
        n = int(printed) if printed else counters.get(key, 0) + 1
        counters[key] = n
        return n

    def new_objective(title: str, printed: str | None) -> Task:
        nonlocal area, horizon, fresh_heading
        found, score = _area_of(title, body)
        matched = found is not None and score >= 0.3
        new_area = found if matched else DIRECTION_AREA
        if new_area != area and not fresh_heading:
            horizon = None
        area, fresh_heading = new_area, False
        n = next_number(f"{area}.{horizon}", printed)
        prefix = f"{area}.{horizon}" if horizon else area
        obj = p.task(id=f"{prefix}.{n}", kind="objective", title=title, horizon=horizon)
        if not matched:
            p.flag(
                obj.id,
                "area",
                title,
                "mục tiêu không khớp phần II.2; xếp vào nhóm chỉ đạo, điều hành / objective does not match part "
                "II.2; filed under the direction tasks",
            )
        return obj

    def read_data(t: Task, i: int) -> int:
        values: list[str] = []
        while len(values) < 5 and i < len(cells) and not is_label(cells[i]):
            values.append(cells[i])
            i += 1
        if len(values) < 5:
            p.flag(t.id, "row", " | ".join(values), "thiếu ô dữ liệu / the row has fewer than 5 data cells")
        values += [""] * (5 - len(values))
        product, lead, coop, timing, funding = (v or None for v in values)
        t.product, t.lead_text, t.cooperating_text, t.timing_text, t.funding = (
            product,
            lead,
            coop,
            timing,
            funding,
        )
        if t.product is None:
            p.flag(t.id, "product", None, "không có sản phẩm / no product in the table")
        _fill_units(p, t, resolver)
        _fill_timing(p, t)
        return i

    i = 0
    while i < len(cells):
        c = cells[i]
        if m := _HORIZON.match(c):
            horizon, fresh_heading = m.group(1), True
            i += 1
            continue
        m = _LABEL.match(c)
        if m is None:
            if not c:
                i += 1
                continue
            # A text cell without a label: an objective whose "Mục tiêu" label was lost (if a task numbered 1
            # or unnumbered follows), else a merged cell that lost its row.
            nxt = next((x for x in cells[i + 1 :] if x), "")
            nm = _LABEL.match(nxt)
            if nm and nm.group(1) == "Nhiệm vụ" and nm.group(2) in (None, "1"):
                objective = new_objective(c, None)
                p.flag(
                    objective.id,
                    "title",
                    c,
                    "hàng mục tiêu không có nhãn 'Mục tiêu' / objective row without label",
                )
                task = None
            else:
                owner = task.id if task else (objective.id if objective else "?")
                p.flag(
                    owner, "orphan_cell", c, "ô không thuộc hàng nào / a cell outside any row (merged cell?)"
                )
            i += 1
            continue
        label, printed, title = m.group(1), m.group(2), clean(m.group(3))
        if label == "Mục tiêu":
            objective = new_objective(title, printed)
            task = None
            i += 1
        elif label == "Nhiệm vụ":
            if objective is None:
                raise DataFileError(
                    "Nhiệm vụ trước mục tiêu", "A task before any objective", code="plan_seed"
                )
            n = next_number(objective.id, printed)
            task = p.task(
                id=f"{objective.id}.{n}", kind="task", title=title, parent=objective.id, horizon=horizon
            )
            i += 1
            nxt = cells[i] if i < len(cells) else ""
            if nxt.startswith("Hoạt động"):
                continue
            if nxt == "":
                i += 1  # the empty activity cell
            i = read_data(task, i)
        else:
            if task is None:
                raise DataFileError(
                    "Hoạt động trước nhiệm vụ", "An activity before any task", code="plan_seed"
                )
            n = next_number(task.id, printed)
            act = p.task(id=f"{task.id}.{n}", kind="activity", title=title, parent=task.id, horizon=horizon)
            i = read_data(act, i + 1)
    # A task with activities is a heading for them; it is not itself reported on.
    parents = {t.parent for t in p.items if t.kind == "activity"}
    for t in p.items:
        if t.kind == "task" and t.id in parents:
            t.kind = "group"


# ------------------------------------------------------------------------------------ seed 000 (2596)

_COOP = re.compile(
    r"phối hợp với (.+?) (?:giúp|tham mưu|thực hiện|rà soát|kiểm tra|theo dõi)\b", re.IGNORECASE
)


def parse_org(p: Parsed, text: str, resolver: UnitResolver) -> None:
    lines = [ln.strip() for ln in text.split("\n")]
    start = next(i for i, ln in enumerate(lines) if ln.startswith("II. Phân công nhiệm vụ"))
    end = next(i for i in range(start, len(lines)) if ln_starts(lines[i], "C. TỔ CHỨC THỰC HIỆN"))
    unit: Task | None = None
    duty: Task | None = None
    counters: dict[str, int] = {}

    def add(parent: Task, kind: str, title: str) -> Task:
        n = counters.get(parent.id, 0) + 1
        counters[parent.id] = n
        lead_text = parent.lead_text
        if m := re.match(r"^(.+?) chủ trì\b", title):
            lead_text = m.group(1)
        coop = _COOP.search(title)
        t = p.task(
            id=f"{parent.id}.{n}",
            kind=kind,
            title=title,
            parent=parent.id,
            lead_text=lead_text,
            cooperating_text=clean(coop.group(1)) if coop else None,
        )
        if when := re.search(r"kể từ ngày (\d{1,2}/\d{1,2}/\d{4})", title):
            t.timing_text = f"kể từ ngày {when.group(1)}"
        _fill_units(p, t, resolver)
        _fill_timing(p, t)
        return t

    for ln in lines[start + 1 : end]:
        if not ln:
            continue
        if m := re.match(r"^(\d+)\.\s+(.+)$", ln):
            heading = clean(m.group(2))
            unit_text = re.sub(r"\s+(?:theo chức năng|có trách nhiệm).*$", "", heading).rstrip(":")
            unit = p.task(id=f"B.II.{m.group(1)}", kind="group", title=heading, lead_text=unit_text)
            _fill_units(p, unit, resolver)
            if len(unit.leads()) > 1:
                p.flag(
                    unit.id, "lead", unit_text, "tiêu đề nêu nhiều đơn vị / the heading names several units"
                )
            duty = None
        elif unit is None:
            continue
        elif ln.startswith("+"):
            if duty is None:
                duty = add(unit, "task", "")
            add(duty, "task", clean(ln[1:]))
        else:
            duty = add(unit, "task", clean(ln.lstrip("- ")))


def ln_starts(line: str, prefix: str) -> bool:
    return line.startswith(prefix)


PARSERS = {
    "nq51_action_programme": parse_nq51,
    "nq28_dak_lak": parse_nq28,
    "cchc_2021_2030": parse_cchc,
    "org_restructuring_2019": parse_org,
}


# ------------------------------------------------------------------------------------ overrides, output


def read_overrides(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    try:
        data = load_yaml(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise DataFileError(
            f"Tệp {path.name} không đọc được: {exc}", f"Cannot read {path.name}: {exc}", code="plan_overrides"
        ) from exc
    entries = data.get("overrides") or []
    for e in entries:
        if not {"plan", "id", "reason"} <= set(e) or not ({"set", "settles"} & set(e)):
            raise DataFileError(
                f"{path.name}: mục {e!r} cần plan, id, reason và set/settles",
                f"{path.name}: entry {e!r} needs plan, id, reason and set/settles",
                code="plan_overrides",
            )
    return entries


# Setting one of these fields settles the review items of the field on the right.
_SETTLES = {
    "due": "timing",
    "starts": "timing",
    "due_month": "timing",
    "recurrence": "timing",
    "timing_text": "timing",
    "lead_text": "lead",
    "co_leads": "lead",
    "cooperating_text": "cooperating",
}


def apply_overrides(parsed: dict[str, Parsed], overrides: list[dict[str, Any]]) -> None:
    for e in overrides:
        p = parsed.get(e["plan"])
        if p is None:
            continue
        target = next((t for t in p.items if t.id == e["id"]), None)
        if target is None:
            raise DataFileError(
                f"overrides.yaml: không có nhiệm vụ {e['id']} trong {e['plan']}",
                f"overrides.yaml: no task {e['id']} in {e['plan']}",
                code="plan_overrides",
            )
        for name, value in (e.get("set") or {}).items():
            if not hasattr(target, name) or name in ("plan", "source", "id"):
                raise DataFileError(
                    f"overrides.yaml: trường '{name}' không sửa được",
                    f"overrides.yaml: field '{name}' cannot be overridden",
                    code="plan_overrides",
                )
            if name in ("due", "starts") and value is not None and not isinstance(value, dt.date):
                value = dt.date.fromisoformat(str(value))
            setattr(target, name, value)
        settles = set(e.get("settles") or [])
        for name in e.get("set") or {}:
            settles.add(_SETTLES.get(name, name))
        for item in p.review:
            if item.id == e["id"] and (item.field in settles or "*" in settles):
                item.settled = True
                item.resolution = e["reason"]


def find_seeds(seeds_dir: Path) -> dict[str, Path]:
    found = {}
    for spec in SEEDS:
        matches = sorted(seeds_dir.glob(f"{spec.prefix}*.txt"))
        if not matches:
            raise DataFileError(
                f"Không thấy tệp nguồn {spec.prefix}*.txt trong {seeds_dir}",
                f"No seed file {spec.prefix}*.txt in {seeds_dir}",
                code="plan_seed",
            )
        found[spec.plan] = matches[0]
    return found


def import_plans(
    seeds_dir: Path, resolver: UnitResolver | None = None, overrides_file: Path | None = None
) -> tuple[dict[str, Plan], list[ReviewItem]]:
    resolver = resolver or UnitResolver()
    paths = find_seeds(seeds_dir)
    parsed: dict[str, Parsed] = {}
    for spec in SEEDS:
        raw = paths[spec.plan].read_bytes()
        p = Parsed(spec, paths[spec.plan].name, hashlib.sha256(raw).hexdigest())
        PARSERS[spec.plan](p, raw.decode("utf-8"), resolver)
        parsed[spec.plan] = p
    overrides_file = overrides_file or PLANS_DIR / OVERRIDES_FILE
    apply_overrides(parsed, read_overrides(overrides_file))
    plans: dict[str, Plan] = {}
    review: list[ReviewItem] = []
    for spec in SEEDS:
        p = parsed[spec.plan]
        plans[spec.plan] = Plan(
            id=spec.plan,
            source=spec.source,
            issued=spec.issued,
            title=spec.title,
            table=spec.table,
            items=p.items,
            seed=p.seed_name,
            seed_sha256=p.seed_sha256,
        )
        review.extend(p.review)
    return plans, review


_HEADER = (
    "# Generated by `python -m bhxh.cli.plans import` from {seed} ({source}); do not edit by hand:\n"
    "# corrections go to overrides.yaml, open questions are listed in review.yaml. See README.md.\n"
)


def render_files(plans: dict[str, Plan], review: list[ReviewItem]) -> dict[str, str]:
    files = {}
    for plan_id, plan in plans.items():
        files[f"{plan_id}.yaml"] = _HEADER.format(seed=plan.seed, source=plan.source) + dump_yaml(
            plan.to_dict()
        )
    open_items = sum(1 for r in review if not r.settled)
    files[REVIEW_FILE] = (
        "# What the importer could not read with certainty, for a person to settle (generated; see README.md).\n"
        "# settled: true means an entry of overrides.yaml decided it (resolution = that entry's reason).\n"
        + dump_yaml({"open": open_items, "items": [r.to_dict() for r in review]})
    )
    return files


def write_files(files: dict[str, str], out_dir: Path) -> list[str]:
    """Write the files; return the names whose content changed."""
    out_dir.mkdir(parents=True, exist_ok=True)
    changed = []
    for name in sorted(files):
        path = out_dir / name
        data = files[name].encode("utf-8")
        if not path.exists() or path.read_bytes() != data:
            path.write_bytes(data)
            changed.append(name)
    return changed


def run_import(
    seeds_dir: Path,
    out_dir: Path = PLANS_DIR,
    resolver: UnitResolver | None = None,
    overrides_file: Path | None = None,
) -> list[str]:
    plans, review = import_plans(seeds_dir, resolver, overrides_file)
    return write_files(render_files(plans, review), out_dir)
