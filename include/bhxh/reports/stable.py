"""Byte-stable Office files: the same content gives the same bytes (fixed zip entry times and order, fixed
creation and modification times in docProps/core.xml), so writing the same cycle twice changes no file."""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile

FIXED = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
_CORE_TIMES = re.compile(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:(?:created|modified)>)")


def normalised_zip(data: bytes, when: dt.datetime = FIXED) -> bytes:
    """The same zip with entry times and the document's own created/modified times set to `when`."""
    stamp = when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    src = zipfile.ZipFile(io.BytesIO(data))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in sorted(src.infolist(), key=lambda i: (i.filename != "[Content_Types].xml", i.filename)):
            content = src.read(item.filename)
            if item.filename == "docProps/core.xml":
                content = _CORE_TIMES.sub(lambda m: m.group(1) + stamp + m.group(2), content)
            info = zipfile.ZipInfo(item.filename, date_time=FIXED.timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(info, content)
    return buffer.getvalue()
