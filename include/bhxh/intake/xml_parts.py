"""The parts of an XLSX workbook parsed by expat ("đọc từng phần của tệp Excel"), for `bhxh.intake.workbook`.

A part is read in chunks into a handler's start/end/text methods, no element tree built; every element counts
against the workbook's budget, a DTD or an entity declaration is refused before it is read, and a cell keeps
at most Excel's 32,767 characters of text while it is read. The handlers: the small parts (relationships, the
workbook, the styles), the shared strings (read only as far as asked), a worksheet (the cells of its first
columns, by row, its formulas and merged ranges, within a row budget).
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass, field
from xml.parsers import expat

from bhxh.intake import limits
from bhxh.intake.problems import Problem, problem, short

_REF = re.compile(r"^\$?([A-Za-z]{1,3})\$?([0-9]{1,7})$")
_CHUNK = 64 * 1024


class WorkbookRefused(Exception):
    """The workbook cannot be read within bounds (or at all); carries the problem that says why."""

    def __init__(self, reason: Problem) -> None:
        super().__init__(reason.message_en)
        self.problem = reason


@dataclass
class SheetRows:
    """What a sheet holds within the columns read: its rows with something in them, in file order."""

    title: str
    rows: list[tuple[int, list]] = field(default_factory=list)  # (row number, values of columns A.. up to the width)
    formulas: list[tuple[int, int]] = field(default_factory=list)  # (row, column index from 0) of formula cells
    merged: list[tuple[int, int, str]] = field(default_factory=list)  # (first row, last row, "D1:E1")
    outside: int = 0  # cells with data beyond the columns read
    outside_refs: list[str] = field(default_factory=list)  # the first few of them ("XFD1048576")


class Shared:
    """A cell's reference to the shared strings, resolved once the sheet is read."""

    __slots__ = ("index",)

    def __init__(self, index: int) -> None:
        self.index = index


def corrupt(exc: BaseException | str) -> WorkbookRefused:
    name = exc if isinstance(exc, str) else type(exc).__name__
    return WorkbookRefused(problem(
        "corrupt_workbook",
        f"Tệp Excel bị hỏng, không mở được ({name}). Hãy mở lại bằng Excel, lưu lại và gửi lại.",
        f"The workbook is corrupt and cannot be opened ({name}). Open it in Excel, save it again and resend.",
    ))


def local_name(name: str) -> str:
    return name.rpartition(":")[2] if ":" in name else name


def english(what: str) -> str:
    """'Sheet 'X'' -> 'the sheet 'X'', 'Tệp Excel' -> 'the workbook' (inside an English sentence)."""
    return "the workbook" if what == "Tệp Excel" else what.replace("Sheet", "the sheet", 1)


def capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


class Part:
    """One part of the zip parsed by expat, in chunks, into a handler's start/end/text methods. Every element
    counts against the workbook's budget; a DTD or an entity declaration is refused before it is read."""

    def __init__(self, book, info: zipfile.ZipInfo, what: str, handler) -> None:
        self.book, self.what, self.handler = book, what, handler
        self.fh = book._zip.open(info)
        self.done = False
        parser = self.parser = expat.ParserCreate()
        parser.buffer_text = True
        parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
        parser.StartDoctypeDeclHandler = self._dtd
        parser.EntityDeclHandler = self._dtd
        parser.StartElementHandler = self._start
        parser.EndElementHandler = lambda name: handler.end(local_name(name))
        parser.CharacterDataHandler = handler.text

    def _dtd(self, *_args) -> None:
        raise WorkbookRefused(problem(
            "xml_doctype",
            f"{self.what} chứa khai báo DOCTYPE/ENTITY, điều mà Excel không bao giờ ghi: tệp đã bị sửa ngoài Excel. Hãy lưu lại từ tệp mẫu.",
            f"{capitalised(english(self.what))} declares a DOCTYPE/ENTITY, which Excel never writes: the file was altered outside Excel. Save it again from the template.",
        ))

    def _start(self, name: str, attrs: dict) -> None:
        book = self.book
        book._elements += 1
        if book._elements > limits.MAX_XML_ELEMENTS:
            raise book._too_many_cells(self.what)
        self.handler.start(local_name(name), attrs)

    def step(self) -> bool:
        """Parse the next chunk; False once the part is read."""
        if self.done:
            return False
        chunk = self.fh.read(_CHUNK)
        self.parser.Parse(chunk, not chunk)
        if not chunk:
            self.close()
        return not self.done

    def run(self) -> None:
        try:
            while self.step():
                pass
        finally:
            self.close()

    def close(self) -> None:
        if not self.done:
            self.done = True
            self.fh.close()

    def rows_left(self) -> int:
        """<row> elements in the raw rest of the part (counted, not parsed): what a refusal says about the size of
        a sheet, at the cost of unpacking it only."""
        count, tail = 0, b""
        while not self.done and (chunk := self.fh.read(1024 * 1024)):
            data = tail + chunk
            count += data.count(b"<row ") + data.count(b"<row>") + data.count(b":row ")
            tail = data[-5:]
        self.close()
        return count


class Collect:
    """A handler that calls `on(name, attrs)` for each element start (the small parts: rels, workbook, styles)."""

    def __init__(self, on) -> None:
        self.start = on

    def end(self, name: str) -> None:
        pass

    def text(self, data: str) -> None:
        pass


class Strings:
    """The shared strings part, read only as far as asked (`upto`)."""

    def __init__(self) -> None:
        self.items: list[str] = []
        self.parts: list[str] | None = None
        self.target = False
        self.size = 0
        self.phonetic = 0

    def start(self, name: str, attrs: dict) -> None:
        if name == "si":
            self.parts, self.size = [], 0
        elif name == "rPh":
            self.phonetic += 1
        elif name == "t" and self.parts is not None and not self.phonetic:
            self.target = True

    def end(self, name: str) -> None:
        if name == "si" and self.parts is not None:
            self.items.append("".join(self.parts))
            self.parts = None
        elif name == "rPh":
            self.phonetic -= 1
        elif name == "t":
            self.target = False

    def text(self, data: str) -> None:
        if self.target and self.size < limits.MAX_TEXT:
            self.parts.append(data[: limits.MAX_TEXT - self.size])
            self.size += len(data)


class SheetHandler:
    """The handler of a worksheet: cells of the first `width` columns, by row; formulas; merged ranges."""

    def __init__(self, book, out: SheetRows, what: str, *, max_rows: int, width: int, lines: int, label: str) -> None:
        self.book, self.out, self.what = book, out, what
        self.max_rows, self.width, self.lines, self.label = max_rows, width, lines, label
        self.kinds = book._style_kinds()
        self.part: Part | None = None
        self.row, self.col, self.rows_seen = 0, 0, 0
        self.cells: dict[int, object] = {}
        self.formulas: list[int] = []
        self.cell: dict | None = None  # the attributes of the <c> being read
        self.texts: dict[str, list[str]] = {}
        self.target: str | None = None
        self.size = self.parts = self.phonetic = 0

    def start(self, name: str, attrs: dict) -> None:
        if self.cell is not None:
            self.parts += 1
            if self.parts > limits.MAX_CELL_PARTS:
                raise self.book._too_many_cells(self.what)
            if name == "rPh":
                self.phonetic += 1
            elif not self.phonetic and name in ("v", "f", "t"):
                self.target = "is" if name == "t" else name
                self.texts.setdefault(self.target, [])
        elif name == "c":
            self.cell, self.texts, self.size, self.parts = attrs, {}, 0, 0
        elif name == "row":
            try:
                self.row = int(attrs.get("r") or self.row + 1)
            except ValueError:
                self.row += 1
            self.col, self.cells, self.formulas = 0, {}, []
        elif name == "mergeCell":
            ref = attrs.get("ref") or ""
            first, _, last = ref.partition(":")
            a, b = _REF.match(first), _REF.match(last or first)
            if a and b:
                self.out.merged.append((int(a[2]), int(b[2]), short(ref)))
                if len(self.out.merged) > limits.MAX_MERGED:
                    raise WorkbookRefused(problem(
                        "too_many_merged",
                        f"{self.what} có hơn {limits.thousands_vi(limits.MAX_MERGED)} vùng ô gộp. Hãy bỏ gộp ô (Merge & Center > Unmerge) và dùng tệp mẫu.",
                        f"{capitalised(english(self.what))} has more than {limits.MAX_MERGED:,} merged ranges. Unmerge them (Merge & Center > Unmerge) and use the template.",
                    ))

    def text(self, data: str) -> None:
        if self.target is not None and self.size < limits.MAX_TEXT:
            self.texts[self.target].append(data[: limits.MAX_TEXT - self.size])
            self.size += len(data)

    def end(self, name: str) -> None:
        if self.cell is not None:
            if name == "c":
                self._cell_done()
            elif name == "rPh":
                self.phonetic -= 1
            elif name in ("v", "f", "t"):
                self.target = None
            return
        if name == "row":
            self.rows_seen += 1
            if self.cells:
                out = self.out
                out.rows.append((self.row, [self.cells.get(i) for i in range(1, max(self.cells) + 1)]))
                out.formulas.extend((self.row, c) for c in self.formulas)
                if len(out.rows) > self.max_rows:
                    raise _too_many_rows(self.what, self.rows_seen + self.part.rows_left(), self.lines, self.label, self.max_rows)

    def _cell_done(self) -> None:
        attrs, self.cell, self.target = self.cell, None, None
        ref = _REF.match(attrs.get("r") or "")
        if ref:
            self.col, self.row = _column_index(ref[1]), int(ref[2])
        else:
            self.col += 1
        texts = {k: "".join(v) for k, v in self.texts.items()}
        value, is_formula = self.book._cell_value(attrs, texts, self.kinds)
        if self.col > self.width:
            if not blank(value) or is_formula:
                self.out.outside += 1
                if len(self.out.outside_refs) < 5:
                    self.out.outside_refs.append(f"{_letters(self.col)}{self.row}")
        elif is_formula:
            self.cells[self.col] = value
            self.formulas.append(self.col - 1)
        elif not blank(value):
            self.cells[self.col] = value


def _column_index(letters: str) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n


def blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _letters(col: int) -> str:
    out = ""
    while col > 0:
        col, rem = divmod(col - 1, 26)
        out = chr(65 + rem) + out
    return out


def _too_many_rows(what: str, rows: int, lines: int, label: str, budget: int) -> WorkbookRefused:
    label_en = {"chỉ tiêu": "indicators", "nhiệm vụ": "tasks", "dòng": "lines"}.get(label, label)
    return WorkbookRefused(problem(
        "too_many_rows",
        f"Quá nhiều dòng: {what} có khoảng {limits.thousands_vi(rows)} dòng trong khi biểu mẫu chỉ có {lines} {label} (đọc tối đa {limits.thousands_vi(budget)} dòng có dữ liệu). Hãy chỉ giữ bảng số liệu theo mẫu.",
        f"Too many rows: {english(what)} has about {rows:,} rows where the form has {lines} {label_en} (at most {budget:,} rows with data are read). Keep only the form's table.",
    ))
