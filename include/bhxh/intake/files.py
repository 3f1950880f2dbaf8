"""A file from outside, opened without trusting its name or its kind ("tệp từ bên ngoài").

- a name that is not valid UTF-8, holds a control character (a line break) or is too long for its archive
  copy is refused before anything else;
- the file is opened with O_NOFOLLOW and O_NONBLOCK and checked on its open descriptor: a symbolic link is
  never followed, a FIFO never blocks, and anything but a regular file with one name (not a hard link to a
  file elsewhere) is refused;
- a file over the size limit is never read into memory: its checksum is computed in chunks, and that, its size
  and the refusal are all that is kept; a smaller one is read once, at most limit + 1 bytes.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from bhxh.intake.limits import MAX_FILE_BYTES
from bhxh.intake.problems import Problem, problem, short

NAME_MAX_BYTES = 255 - 13  # an archive copy may get ".<12 hex digits>" before its suffix
_CHUNK = 1024 * 1024


class FileRefused(Exception):
    """The file is refused before its content is looked at; carries the problem that says why."""

    def __init__(self, reason: Problem) -> None:
        super().__init__(reason.message_en)
        self.problem = reason


@dataclass
class FileRead:
    """What was read of a file: its bytes (None when over the size limit: not read), size and checksum."""

    content: bytes | None
    size: int
    sha256: str
    stat: os.stat_result  # of the open descriptor, after the read

    @property
    def too_large(self) -> bool:
        return self.content is None


def name_problem(name: str) -> Problem | None:
    """Why a file name cannot be taken as it is (None when it can)."""
    try:
        raw = name.encode("utf-8")
    except UnicodeEncodeError:  # os.listdir gives undecodable bytes back as surrogates
        return problem(
            "name_not_utf8",
            "Tên tệp không phải văn bản UTF-8 hợp lệ. Hãy đặt lại tên tệp theo quy ước <mã báo cáo>__<kỳ>__<mã đơn vị>.xlsx và gửi lại.",
            "The file name is not valid UTF-8 text. Rename the file <report>__<period>__<unit>.xlsx and send it again.",
        )
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in name):
        return problem(
            "name_control_chars",
            "Tên tệp chứa ký tự điều khiển (xuống dòng, tab...). Hãy đặt lại tên tệp theo quy ước và gửi lại.",
            "The file name holds control characters (a line break, a tab...). Rename the file by the convention and send it again.",
        )
    if len(raw) > NAME_MAX_BYTES:
        return problem(
            "name_too_long",
            f"Tên tệp dài {len(raw)} byte (tối đa {NAME_MAX_BYTES}). Hãy đặt lại tên tệp theo quy ước và gửi lại.",
            f"The file name is {len(raw)} bytes long (at most {NAME_MAX_BYTES}). Rename the file by the convention and send it again.",
        )
    return None


def kind_problem(st: os.stat_result, name: str) -> Problem | None:
    """Why a file of this kind (from lstat or fstat) is refused: anything but a regular file with one name."""
    if stat.S_ISLNK(st.st_mode):
        return problem(
            "symlink",
            f"'{short(name)}' là liên kết tượng trưng (symbolic link), không phải tệp: không được đọc theo liên kết. Hãy gửi chính tệp báo cáo.",
            f"'{short(name)}' is a symbolic link, not a file, and is never followed. Send the report file itself.",
        )
    if stat.S_ISDIR(st.st_mode):
        return problem("not_a_file", f"'{short(name)}' là thư mục, không phải tệp.", f"'{short(name)}' is a folder, not a file.")
    if not stat.S_ISREG(st.st_mode):
        return problem(
            "not_regular_file",
            f"'{short(name)}' không phải tệp thông thường (FIFO, socket hoặc thiết bị). Hãy gửi tệp báo cáo.",
            f"'{short(name)}' is not a regular file (a FIFO, a socket or a device). Send the report file.",
        )
    if st.st_nlink > 1:
        return problem(
            "hard_link",
            f"'{short(name)}' có {st.st_nlink} tên (liên kết cứng tới một tệp khác): không được đọc. Hãy gửi một bản sao của tệp báo cáo.",
            f"'{short(name)}' has {st.st_nlink} names (a hard link to a file elsewhere) and is not read. Send a copy of the report file.",
        )
    return None


def open_regular(path: Path | str, *, dir_fd: int | None = None) -> int:
    """A descriptor of a regular file with one name, opened without following a link or blocking on a FIFO."""
    name = os.path.basename(str(path)) or str(path)
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        fd = os.open(path, flags, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # the last component is a symbolic link
            raise FileRefused(kind_problem(os.lstat(path, dir_fd=dir_fd), name) or _unreadable(name, exc)) from exc
        if isinstance(exc, FileNotFoundError):
            raise
        raise FileRefused(_unreadable(name, exc)) from exc
    try:
        found = kind_problem(os.fstat(fd), name)
        if found is not None:
            raise FileRefused(found)
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_bounded(fd: int, limit: int = MAX_FILE_BYTES) -> FileRead:
    """Read an open file once: its bytes if it is at most `limit` bytes, else only its checksum (in chunks)."""
    before = os.fstat(fd)
    digest = hashlib.sha256()
    if before.st_size > limit:
        size = 0
        while chunk := os.read(fd, _CHUNK):
            digest.update(chunk)
            size += len(chunk)
        return FileRead(None, size, digest.hexdigest(), os.fstat(fd))
    parts, size = [], 0
    while size <= limit and (chunk := os.read(fd, min(_CHUNK, limit + 1 - size))):
        parts.append(chunk)
        size += len(chunk)
    if size > limit:  # it grew past the limit while read: refused too, its checksum taken over what is there
        for part in parts:
            digest.update(part)
        parts.clear()
        while chunk := os.read(fd, _CHUNK):
            digest.update(chunk)
            size += len(chunk)
        return FileRead(None, size, digest.hexdigest(), os.fstat(fd))
    content = b"".join(parts)
    return FileRead(content, size, hashlib.sha256(content).hexdigest(), os.fstat(fd))


def read_file(path: Path | str, limit: int = MAX_FILE_BYTES) -> FileRead:
    """`open_regular` then `read_bounded` (the hand ingest's way in). Raises FileRefused, FileNotFoundError."""
    fd = open_regular(path)
    try:
        return read_bounded(fd, limit)
    except OSError as exc:
        raise FileRefused(_unreadable(os.path.basename(str(path)), exc)) from exc
    finally:
        os.close(fd)


def _unreadable(name: str, exc: OSError) -> Problem:
    why = exc.strerror or type(exc).__name__
    return problem(
        "unreadable_file",
        f"Không đọc được tệp '{short(name)}' ({why}). Hãy gửi lại tệp.",
        f"The file '{short(name)}' cannot be read ({why}). Send it again.",
    )
