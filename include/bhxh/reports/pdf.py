"""DOCX (or XLSX) to PDF through LibreOffice headless ("bản PDF"), the form a report goes upward in.

Each conversion runs one `soffice` with a profile of its own in a temporary folder (two conversions sharing a
profile fail silently), bounded in time (the whole process group is killed past the limit), and is judged by its
output, never by its exit code: soffice exits 0 even when it could not load the file. LibreOffice, poppler and
the Liberation fonts (metrics of Times New Roman) come from Debian: scripts/install_docs.sh.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from bhxh.errors import BhxhError

TIMEOUT_S = 180.0
INSTALL_HINT = "scripts/install_docs.sh"


class ConversionError(BhxhError):
    """LibreOffice is missing or could not turn the document into a PDF."""


def soffice() -> str:
    """The LibreOffice binary: $BHXH_SOFFICE, else `soffice` or `libreoffice` on PATH."""
    for candidate in (os.environ.get("BHXH_SOFFICE"), "soffice", "libreoffice"):
        if candidate and (found := shutil.which(candidate)):
            return found
    raise ConversionError(
        f"Không tìm thấy LibreOffice (soffice) để tạo bản PDF. Hãy cài bằng {INSTALL_HINT}.",
        f"LibreOffice (soffice) was not found to make the PDF. Install it with {INSTALL_HINT}.",
        code="no_libreoffice",
    )


def convert(src: Path, dest: Path, *, to: str = "pdf", timeout: float = TIMEOUT_S) -> Path:
    """Convert `src` to `dest` (PDF by default; `to` is LibreOffice's --convert-to argument) and return `dest`.

    Writes `dest` only when the conversion produced a non-empty file of the right kind; raises ConversionError
    otherwise (LibreOffice missing, the file not loadable, past `timeout` seconds).
    """
    binary = soffice()
    src, dest = Path(src), Path(dest)
    work = Path(tempfile.mkdtemp(prefix="bhxh-lo-"))
    try:
        inbox, outdir = work / "in", work / "out"
        inbox.mkdir()
        outdir.mkdir()
        # A copy under a plain name: nothing in the source folder is touched, the output's name is known.
        local = inbox / ("document" + src.suffix.lower())
        shutil.copyfile(src, local)
        cmd = [
            binary,
            f"-env:UserInstallation={(work / 'profile').as_uri()}",
            "--headless", "--norestore", "--nolockcheck", "--nodefault", "--nologo",
            "--convert-to", to, "--outdir", str(outdir), str(local),
        ]
        env = {**os.environ, "HOME": str(work), "TMPDIR": str(work)}
        proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, cwd=work, start_new_session=True
        )
        try:
            output, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise ConversionError(
                f"LibreOffice không chuyển xong {src.name} trong {timeout:.0f} giây.",
                f"LibreOffice did not convert {src.name} within {timeout:.0f} s.",
                code="conversion_timeout",
            ) from exc
        finally:
            _kill_group(proc.pid)
        suffix = "." + to.split(":", 1)[0]
        made = outdir / ("document" + suffix)
        log = output.decode("utf-8", "replace")[-600:].strip()
        if not made.is_file() or made.stat().st_size == 0 or (suffix == ".pdf" and not _is_pdf(made)):
            raise ConversionError(
                f"LibreOffice không tạo được tệp {suffix} từ {src.name} (mã thoát {proc.returncode}): {log}",
                f"LibreOffice made no {suffix} file from {src.name} (exit code {proc.returncode}): {log}",
                code="conversion_failed",
            )
        dest.parent.mkdir(parents=True, exist_ok=True)
        partial = dest.with_name(f".{dest.name}.{os.getpid()}.part")
        shutil.copyfile(made, partial)
        os.replace(partial, dest)
        return dest
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _is_pdf(path: Path) -> bool:
    with path.open("rb") as f:
        head = f.read(5)
    return head == b"%PDF-"


def _kill_group(pid: int) -> None:
    """soffice may leave a child (oosplash, a second soffice.bin) behind: end the whole group we started."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
