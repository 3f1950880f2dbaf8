"""An XLSX workbook read within bounds ("đọc tệp Excel có giới hạn"), never through a sheet object.

The zip is checked before anything is unpacked (parts, unpacked size, compression ratio); each part is parsed as
a stream by expat (`pyexpat`, no element tree is built) with a budget of XML elements for the whole workbook,
and a sheet keeps only the cells of its first columns, in the rows that hold something, up to a row budget the
caller derives from the form. The declared <dimension> is ignored, far-away cells are counted rather than laid
out, the text kept of a cell is cut at Excel's own limit while it is read, shared strings are read only as far
as a sheet refers to them, and a part that declares a DTD (the way to entity-expansion bombs and external
entities) is refused. Whatever goes wrong is a `WorkbookRefused` carrying the problem that says why, in
Vietnamese and English.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import math
import posixpath
import re
import zipfile
from dataclasses import dataclass, field
from xml.parsers import expat

from bhxh.intake import limits
from bhxh.intake.problems import Problem, problem, short

_REF = re.compile(r"^\$?([A-Za-z]{1,3})\$?([0-9]{1,7})$")
_CHUNK = 64 * 1024
_PERCENT_FORMATS = {9, 10}  # built-in number formats 0% and 0.00%


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


class _Shared:
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


def _local(name: str) -> str:
    return name.rpartition(":")[2] if ":" in name else name


def _en(what: str) -> str:
    """'Sheet 'X'' -> 'the sheet 'X'', 'Tệp Excel' -> 'the workbook' (inside an English sentence)."""
    return "the workbook" if what == "Tệp Excel" else what.replace("Sheet", "the sheet", 1)


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


class _Part:
    """One part of the zip parsed by expat, in chunks, into a handler's start/end/text methods. Every element
    counts against the workbook's budget; a DTD or an entity declaration is refused before it is read."""

    def __init__(self, book: Workbook, info: zipfile.ZipInfo, what: str, handler) -> None:
        self.book, self.what, self.handler = book, what, handler
        self.fh = book._zip.open(info)
        self.done = False
        parser = self.parser = expat.ParserCreate()
        parser.buffer_text = True
        parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
        parser.StartDoctypeDeclHandler = self._dtd
        parser.EntityDeclHandler = self._dtd
        parser.StartElementHandler = self._start
        parser.EndElementHandler = lambda name: handler.end(_local(name))
        parser.CharacterDataHandler = handler.text

    def _dtd(self, *_args) -> None:
        raise WorkbookRefused(problem(
            "xml_doctype",
            f"{self.what} chứa khai báo DOCTYPE/ENTITY, điều mà Excel không bao giờ ghi: tệp đã bị sửa ngoài Excel. Hãy lưu lại từ tệp mẫu.",
            f"{_cap(_en(self.what))} declares a DOCTYPE/ENTITY, which Excel never writes: the file was altered outside Excel. Save it again from the template.",
        ))

    def _start(self, name: str, attrs: dict) -> None:
        book = self.book
        book._elements += 1
        if book._elements > limits.MAX_XML_ELEMENTS:
            raise book._too_many_cells(self.what)
        self.handler.start(_local(name), attrs)

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


class _Collect:
    """A handler that calls `on(name, attrs)` for each element start (the small parts: rels, workbook, styles)."""

    def __init__(self, on) -> None:
        self.start = on

    def end(self, name: str) -> None:
        pass

    def text(self, data: str) -> None:
        pass


class _Strings:
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


class _Sheet:
    """The handler of a worksheet: cells of the first `width` columns, by row; formulas; merged ranges."""

    def __init__(self, book: Workbook, out: SheetRows, what: str, *, max_rows: int, width: int, lines: int, label: str) -> None:
        self.book, self.out, self.what = book, out, what
        self.max_rows, self.width, self.lines, self.label = max_rows, width, lines, label
        self.kinds = book._style_kinds()
        self.part: _Part | None = None
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
                        f"{_cap(_en(self.what))} has more than {limits.MAX_MERGED:,} merged ranges. Unmerge them (Merge & Center > Unmerge) and use the template.",
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
            if not _blank(value) or is_formula:
                self.out.outside += 1
                if len(self.out.outside_refs) < 5:
                    self.out.outside_refs.append(f"{_letters(self.col)}{self.row}")
        elif is_formula:
            self.cells[self.col] = value
            self.formulas.append(self.col - 1)
        elif not _blank(value):
            self.cells[self.col] = value


class Workbook:
    """The sheets of an XLSX file, read on demand within the limits of `bhxh.intake.limits`."""

    def __init__(self, content: bytes) -> None:
        self._elements = 0
        try:
            self._zip = zipfile.ZipFile(io.BytesIO(content))
            infos = self._zip.infolist()
        except Exception as exc:  # any failure of the zip reader means the file is unusable
            raise corrupt(exc) from exc
        self._check_zip(infos)
        self._strings = _Strings()
        self._strings_part: _Part | None = None
        self._styles: list[str | None] | None = None
        try:
            self._open_parts()
        except WorkbookRefused:
            raise
        except Exception as exc:  # a part missing, malformed XML, a bad reference: the workbook is unusable
            raise corrupt(exc) from exc

    # -- the zip ----------------------------------------------------------------------------------------
    def _check_zip(self, infos: list[zipfile.ZipInfo]) -> None:
        if len(infos) > limits.MAX_ZIP_MEMBERS:
            raise WorkbookRefused(problem(
                "zip_members",
                f"Tệp Excel gồm {limits.thousands_vi(len(infos))} thành phần (tối đa {limits.thousands_vi(limits.MAX_ZIP_MEMBERS)}): không phải một bảng tính báo cáo. Hãy lưu lại từ tệp mẫu.",
                f"The workbook has {len(infos):,} parts (at most {limits.MAX_ZIP_MEMBERS:,}): not a report workbook. Save it again from the template.",
            ))
        total = sum(i.file_size for i in infos)
        if total > limits.MAX_UNPACKED_BYTES:
            raise WorkbookRefused(problem(
                "zip_unpacked_size",
                f"Tệp Excel khi giải nén lớn {limits.megabytes(total)} MB, vượt giới hạn {limits.megabytes(limits.MAX_UNPACKED_BYTES)} MB. Hãy chỉ gửi bảng số liệu theo mẫu.",
                f"The workbook unpacks to {limits.megabytes(total)} MB, over the {limits.megabytes(limits.MAX_UNPACKED_BYTES)} MB limit. Send only the form's table.",
            ))
        for info in infos:
            if info.file_size > limits.RATIO_FLOOR_BYTES and info.file_size > limits.MAX_RATIO * max(info.compress_size, 1):
                ratio = info.file_size // max(info.compress_size, 1)
                raise WorkbookRefused(problem(
                    "zip_ratio",
                    f"Thành phần '{short(info.filename)}' của tệp Excel nén {limits.thousands_vi(ratio)} lần (tối đa {limits.MAX_RATIO}): dấu hiệu của tệp 'bom nén', không phải bảng tính. Hãy lưu lại từ tệp mẫu.",
                    f"The part '{short(info.filename)}' of the workbook is compressed {ratio:,} times (at most {limits.MAX_RATIO}): a zip bomb, not a spreadsheet. Save it again from the template.",
                ))

    def _part(self, name: str, what: str, handler) -> _Part:
        try:
            info = self._zip.getinfo(name)
        except KeyError as exc:
            raise corrupt(f"{short(name)} missing") from exc
        if info.file_size > limits.MAX_PART_BYTES:
            raise WorkbookRefused(problem(
                "sheet_too_large" if what.startswith("Sheet") else "part_too_large",
                f"{what} lớn {limits.megabytes(info.file_size)} MB khi giải nén (tối đa {limits.megabytes(limits.MAX_PART_BYTES)} MB): lớn hơn nhiều so với biểu mẫu. Hãy chỉ giữ bảng số liệu theo mẫu.",
                f"{_cap(_en(what))} unpacks to {limits.megabytes(info.file_size)} MB (at most {limits.megabytes(limits.MAX_PART_BYTES)} MB): far larger than the form. Keep only the form's table.",
            ))
        return _Part(self, info, what, handler)

    def _too_many_cells(self, what: str) -> WorkbookRefused:
        return WorkbookRefused(problem(
            "too_many_cells",
            f"{what} chứa hơn {limits.thousands_vi(limits.MAX_XML_ELEMENTS)} ô và phần tử (kể cả ô trống có định dạng): lớn hơn nhiều so với biểu mẫu. Hãy chỉ giữ bảng số liệu theo mẫu (xóa các dòng, cột thừa).",
            f"{_cap(_en(what))} holds more than {limits.MAX_XML_ELEMENTS:,} cells and elements (formatted empty cells included): far larger than the form. Keep only the form's table (delete the extra rows and columns).",
        ))

    # -- the workbook's own parts -------------------------------------------------------------------------
    def _relations(self, name: str) -> dict[str, tuple[str, str]]:
        """Id -> (type, part path) of a part's relationships file."""
        folder = posixpath.dirname(name)
        rels = posixpath.join(folder, "_rels", posixpath.basename(name) + ".rels")
        found: dict[str, tuple[str, str]] = {}
        if rels not in self._names:
            return found

        def on(tag: str, attrs: dict) -> None:
            if tag == "Relationship" and attrs.get("Id") and attrs.get("Target"):
                target = attrs["Target"]
                path = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(folder, target))
                found[attrs["Id"]] = (attrs.get("Type") or "", path)

        self._part(rels, "Tệp Excel", _Collect(on)).run()
        return found

    def _open_parts(self) -> None:
        self._names = set(self._zip.namelist())
        root = self._relations("")
        book = next((p for t, p in root.values() if t.endswith("/officeDocument")), "xl/workbook.xml")
        if book not in self._names:
            raise corrupt("workbook.xml missing")
        rels = self._relations(book)
        self._shared_part = next((p for t, p in rels.values() if t.endswith("/sharedStrings")), None)
        self._styles_part = next((p for t, p in rels.values() if t.endswith("/styles")), None)
        self._epoch = dt.datetime(1899, 12, 30)
        self.sheetnames: list[str] = []
        self._sheets: dict[str, str | None] = {}

        def on(tag: str, attrs: dict) -> None:
            if tag == "workbookPr" and attrs.get("date1904") in ("1", "true"):
                self._epoch = dt.datetime(1904, 1, 1)
            elif tag == "sheet":
                rid = next((v for k, v in attrs.items() if ":" in k and _local(k) == "id"), None)
                kind, path = rels.get(rid or "", ("", ""))
                title = attrs.get("name") or ""
                self.sheetnames.append(title)
                self._sheets[title] = path if kind.endswith("/worksheet") and path in self._names else None

        self._part(book, "Tệp Excel", _Collect(on)).run()

    def _style_kinds(self) -> list[str | None]:
        """'date', 'percent' or None for each cell style (cellXfs) of the workbook."""
        if self._styles is not None:
            return self._styles
        from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format

        formats: dict[int, str] = dict(BUILTIN_FORMATS)
        kinds: list[str | None] = []
        state = {"xfs": False}

        def on(tag: str, attrs: dict) -> None:
            if tag == "numFmt":
                with contextlib.suppress(ValueError):
                    formats[int(attrs.get("numFmtId") or -1)] = attrs.get("formatCode") or ""
            elif tag == "cellXfs":
                state["xfs"] = True
            elif tag == "cellStyles" or tag == "dxfs":
                state["xfs"] = False
            elif tag == "xf" and state["xfs"]:
                try:
                    fid = int(attrs.get("numFmtId") or 0)
                except ValueError:
                    fid = 0
                code = formats.get(fid, "")
                kinds.append("percent" if fid in _PERCENT_FORMATS or _is_percent_format(code) else "date" if code and is_date_format(code) else None)
                if len(kinds) > limits.MAX_STYLES:
                    raise WorkbookRefused(problem(
                        "too_many_styles",
                        f"Tệp Excel có hơn {limits.thousands_vi(limits.MAX_STYLES)} kiểu định dạng ô (Excel cho phép 64.000). Hãy lưu lại từ tệp mẫu.",
                        f"The workbook has more than {limits.MAX_STYLES:,} cell styles (Excel allows 64,000). Save it again from the template.",
                    ))

        if self._styles_part and self._styles_part in self._names:
            self._part(self._styles_part, "Tệp Excel", _Collect(on)).run()
        self._styles = kinds
        return kinds

    def _string(self, index: int) -> str:
        """The shared string at `index`, reading the shared strings part only as far as needed."""
        if index >= limits.MAX_SHARED_STRINGS:
            raise WorkbookRefused(problem(
                "too_many_strings",
                f"Tệp Excel tham chiếu tới hơn {limits.thousands_vi(limits.MAX_SHARED_STRINGS)} chuỗi văn bản khác nhau: lớn hơn nhiều so với biểu mẫu. Hãy lưu lại từ tệp mẫu.",
                f"The workbook refers to more than {limits.MAX_SHARED_STRINGS:,} distinct texts: far larger than the form. Save it again from the template.",
            ))
        strings = self._strings
        if self._strings_part is None and self._shared_part in self._names:
            self._strings_part = self._part(self._shared_part, "Tệp Excel", strings)
        while len(strings.items) <= index:
            if self._strings_part is None or not self._strings_part.step():
                raise corrupt("shared string missing")
        return strings.items[index]

    # -- sheets ---------------------------------------------------------------------------------------------
    def sheet(self, title: str, *, max_rows: int, width: int, lines: int, label: str) -> SheetRows:
        """The sheet's rows with data in columns A to `width`, at most `max_rows` of them (else refused: the form
        has `lines` indicators or tasks, which the message names as `label`)."""
        out = SheetRows(title)
        path = self._sheets.get(title)
        if path is None:
            return out
        what = f"Sheet '{short(title)}'"
        try:
            handler = _Sheet(self, out, what, max_rows=max_rows, width=width, lines=lines, label=label)
            handler.part = self._part(path, what, handler)
            handler.part.run()
            self._resolve(out)
        except WorkbookRefused:
            raise
        except Exception as exc:  # malformed XML, a bad zip stream (CRC), an impossible value: unusable
            raise corrupt(exc) from exc
        return out

    def _cell_value(self, attrs: dict, texts: dict[str, str], kinds: list[str | None]) -> tuple[object, bool]:
        """(value, is a formula) of a cell, as openpyxl would give it (numbers, dates, booleans, text); a number
        in a percentage format is given as Excel shows it, "90.5%" for 0.905."""
        kind = attrs.get("t") or "n"
        if "f" in texts:
            return "=" + texts["f"], True
        if kind == "inlineStr":
            return texts.get("is"), False
        text = texts.get("v")
        if text is None:
            return None, False
        if kind == "s":
            try:
                return _Shared(int(text)), False
            except ValueError:
                return text, False
        if kind in ("str", "e"):
            return text, False
        if kind == "b":
            return text.strip() in ("1", "true"), False
        if kind == "d":
            try:
                return dt.datetime.fromisoformat(text.strip()), False
            except ValueError:
                return text, False
        number = _number(text)
        if isinstance(number, str):
            return number, False
        try:
            style = kinds[int(attrs.get("s") or 0)] if kinds else None
        except (ValueError, IndexError):
            style = None
        if style == "percent":
            return _percent_text(number), False
        if style == "date":
            from openpyxl.utils.datetime import from_excel

            try:
                return from_excel(number, self._epoch), False
            except (ValueError, OverflowError, TypeError):
                return number, False
        return number, False

    def _resolve(self, out: SheetRows) -> None:
        formula_rows = {r for r, _ in out.formulas}
        kept = []
        for number, values in out.rows:
            for i, value in enumerate(values):
                if isinstance(value, _Shared):
                    values[i] = self._string(value.index)
            if number in formula_rows or any(not _blank(v) for v in values):
                kept.append((number, values))
        out.rows = kept


def _is_percent_format(code: str) -> bool:
    """A number format that shows a value times 100 with a % sign (0%, 0.0%, #,##0.00%), not a literal '%'."""
    text = re.sub(r'"[^"]*"|\\.|\[[^\]]*\]|_.|\*.', "", code)
    return "%" in text


def _column_index(letters: str) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n


def _number(text: str) -> int | float | str:
    """A <v> as openpyxl reads it (int unless it has a point or exponent); non-finite or unreadable: the text."""
    text = text.strip()
    try:
        value: int | float = float(text) if any(ch in text for ch in ".eE") else int(text)
    except ValueError:
        return text
    if isinstance(value, float) and not math.isfinite(value):
        return text
    return value


def _percent_text(value: int | float) -> str:
    scaled = round(float(value) * 100, 9)
    if not math.isfinite(scaled):
        return f"{value}%"
    text = f"{scaled:f}".rstrip("0").rstrip(".")
    return f"{text or '0'}%"


def _blank(value: object) -> bool:
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
        f"Too many rows: {_en(what)} has about {rows:,} rows where the form has {lines} {label_en} (at most {budget:,} rows with data are read). Keep only the form's table.",
    ))
