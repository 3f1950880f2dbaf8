"""Helpers of the document tests: a cycle consolidated from a store, and a PDF's text and pages read through
poppler (installed by scripts/install_docs.sh) as its readers see it."""

from __future__ import annotations

import subprocess
from pathlib import Path


def pdf_text(path: Path, *, first: int | None = None, last: int | None = None) -> str:
    """The PDF's text as `pdftotext -layout` reads it (poppler, installed by scripts/install_docs.sh)."""
    cmd = ["pdftotext", "-layout"]
    if first:
        cmd += ["-f", str(first)]
    if last:
        cmd += ["-l", str(last)]
    return subprocess.run([*cmd, str(path), "-"], capture_output=True, text=True, check=True, timeout=60).stdout


def pdf_pages(path: Path) -> int:
    out = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True, timeout=60).stdout
    return int(next(line.split()[-1] for line in out.splitlines() if line.startswith("Pages:")))


def consolidated(url: str, obligation: str, key: str):
    from bhxh.calendar.expected import plan_cycle
    from bhxh.reports.comparison import compare
    from bhxh.reports.consolidation import consolidate
    from bhxh.store.engine import session_factory

    with session_factory(url)() as session:
        cons = consolidate(session, plan_cycle(obligation, key))
        return cons, compare(session, cons)
