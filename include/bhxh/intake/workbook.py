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

from bhxh.intake import limits
from bhxh.intake.problems import problem, short
from bhxh.intake.xml_parts import (
    Collect,
    Part,
    Shared,
    SheetHandler,
    SheetRows,
    Strings,
    WorkbookRefused,
    blank,
    capitalised,
    corrupt,
    english,
    local_name,
)

__all__ = ["SheetRows", "Workbook", "WorkbookRefused"]
_PERCENT_FORMATS = {9, 10}  # built-in number formats 0% and 0.00%


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
        self._strings = Strings()
        self._strings_part: Part | None = None
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

    def _part(self, name: str, what: str, handler) -> Part:
        try:
            info = self._zip.getinfo(name)
        except KeyError as exc:
            raise corrupt(f"{short(name)} missing") from exc
        if info.file_size > limits.MAX_PART_BYTES:
            raise WorkbookRefused(problem(
                "sheet_too_large" if what.startswith("Sheet") else "part_too_large",
                f"{what} lớn {limits.megabytes(info.file_size)} MB khi giải nén (tối đa {limits.megabytes(limits.MAX_PART_BYTES)} MB): lớn hơn nhiều so với biểu mẫu. Hãy chỉ giữ bảng số liệu theo mẫu.",
                f"{capitalised(english(what))} unpacks to {limits.megabytes(info.file_size)} MB (at most {limits.megabytes(limits.MAX_PART_BYTES)} MB): far larger than the form. Keep only the form's table.",
            ))
        return Part(self, info, what, handler)

    def _too_many_cells(self, what: str) -> WorkbookRefused:
        return WorkbookRefused(problem(
            "too_many_cells",
            f"{what} chứa hơn {limits.thousands_vi(limits.MAX_XML_ELEMENTS)} ô và phần tử (kể cả ô trống có định dạng): lớn hơn nhiều so với biểu mẫu. Hãy chỉ giữ bảng số liệu theo mẫu (xóa các dòng, cột thừa).",
            f"{capitalised(english(what))} holds more than {limits.MAX_XML_ELEMENTS:,} cells and elements (formatted empty cells included): far larger than the form. Keep only the form's table (delete the extra rows and columns).",
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

        self._part(rels, "Tệp Excel", Collect(on)).run()
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
                rid = next((v for k, v in attrs.items() if ":" in k and local_name(k) == "id"), None)
                kind, path = rels.get(rid or "", ("", ""))
                title = attrs.get("name") or ""
                self.sheetnames.append(title)
                self._sheets[title] = path if kind.endswith("/worksheet") and path in self._names else None

        self._part(book, "Tệp Excel", Collect(on)).run()

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
            self._part(self._styles_part, "Tệp Excel", Collect(on)).run()
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
            handler = SheetHandler(self, out, what, max_rows=max_rows, width=width, lines=lines, label=label)
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
                return Shared(int(text)), False
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
                if isinstance(value, Shared):
                    values[i] = self._string(value.index)
            if number in formula_rows or any(not blank(v) for v in values):
                kept.append((number, values))
        out.rows = kept


def _is_percent_format(code: str) -> bool:
    """A number format that shows a value times 100 with a % sign (0%, 0.0%, #,##0.00%), not a literal '%'."""
    text = re.sub(r'"[^"]*"|\\.|\[[^\]]*\]|_.|\*.', "", code)
    return "%" in text


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
