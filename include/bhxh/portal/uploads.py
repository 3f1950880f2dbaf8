"""Reading an upload with bounds ("tệp tải lên"): the request body is streamed through a counter and refused
(413) the moment it passes MAX_UPLOAD_BYTES, before it is all read; at most two files and a few short fields are
parsed (Starlette's multipart parser spools files to a temporary file past 1 MB); each file is then held to the
intake's per-file limit. The client's file name is only a label (made safe by bhxh.intake.parcels), never a path.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request

from bhxh.errors import BhxhError
from bhxh.intake.parcels import IncomingFile
from bhxh.intake.reading import MAX_FILE_BYTES

MAX_FILES = 2
MAX_UPLOAD_BYTES = 2 * MAX_FILE_BYTES + 256 * 1024  # the two files and the form's fields
MAX_FIELD_BYTES = 2048


class UploadError(BhxhError):
    """An upload the portal refuses before the intake sees it; `status` is the HTTP status to answer."""

    def __init__(self, message_vi: str, message_en: str, *, code: str, status: int = 400) -> None:
        super().__init__(message_vi, message_en, code=code)
        self.status = status


def too_large() -> UploadError:
    mb = MAX_FILE_BYTES // 1024 // 1024
    return UploadError(f"Dữ liệu gửi lên quá lớn: mỗi tệp tối đa {mb} MB.", f"The upload is too large: at most {mb} MB per file.",
                       code="upload_too_large", status=413)


@dataclass
class Upload:
    fields: dict[str, str] = field(default_factory=dict)
    files: dict[str, IncomingFile] = field(default_factory=dict)


async def read_upload(request: Request) -> Upload:
    """The form's fields and files, read within the limits; raises UploadError (400, 413, 415)."""
    ctype = request.headers.get("content-type", "")
    if not ctype.startswith("multipart/form-data"):
        raise UploadError("Hãy gửi biểu mẫu tải tệp (multipart/form-data).", "Send the upload form (multipart/form-data).",
                          code="upload_not_multipart", status=415)
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_UPLOAD_BYTES):
        raise too_large()

    async def capped():
        seen = 0
        async for chunk in request.stream():
            seen += len(chunk)
            if seen > MAX_UPLOAD_BYTES:
                raise too_large()
            yield chunk

    parser = MultiPartParser(request.headers, capped(), max_files=MAX_FILES, max_fields=8, max_part_size=MAX_FIELD_BYTES)
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        raise UploadError("Biểu mẫu tải lên không đọc được.", f"The upload form could not be read ({exc.message}).",
                          code="upload_malformed") from None
    upload = Upload()
    try:
        for key, value in form.multi_items():
            if isinstance(value, UploadFile):
                content = await value.read(MAX_FILE_BYTES + 1)
                if len(content) > MAX_FILE_BYTES:
                    raise too_large()
                if content:
                    upload.files[key] = IncomingFile.of(value.filename, content)
            else:
                upload.fields[key] = value[:MAX_FIELD_BYTES]
    finally:
        await form.close()
    return upload
