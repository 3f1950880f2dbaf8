"""Hostile input: each file of the suite (bhxh_bench.hostile_files) ingested through the inbox in a child process
held to 500 MB of address space and 10 s of CPU (resource.setrlimit), beside a plain openpyxl read-only load of
the same file (every row of every sheet iterated) in a child with the same memory limit and a 60 s timeout:
once as openpyxl reads it (believing the declared <dimension>, so rows beyond it are never seen) and once with
the dimensions reset (every row in the file, what a reader of hostile files has to do).

Reports, for each file, ours and openpyxl's: seconds, peak RSS, and whether it finished; and which was the
slowest and the heaviest of ours. `run_child` is also what tests/intake/test_hostile.py runs each family with.

    python -m bhxh_bench.hostile [--quick]
"""

from __future__ import annotations

import datetime as dt
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

from bhxh_bench.common import cleanup, tmp_dir
from bhxh_bench.hostile_files import MEANING
from bhxh_bench.hostile_resources import RESOURCES

ALL = RESOURCES + MEANING  # every family of the suite, in the order the tests run them

MEMORY_MB = 500
CPU_S = 10
OPENPYXL_TIMEOUT_S = 60
NOBODY = 65534
RECEIVED = "2019-11-01T09:00:00+07:00"  # the time the child's inbox says it first saw every file


def _limits(memory_mb: int):
    def apply() -> None:  # runs in the child between fork and exec
        resource.setrlimit(resource.RLIMIT_AS, (memory_mb * 1024 * 1024, memory_mb * 1024 * 1024))

    return apply


def _env() -> dict[str, str]:
    from bhxh import PROJECT_ROOT

    return {
        **os.environ, "PYTHONPATH": str(PROJECT_ROOT / "include"), "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
        "BHXH_TEMPLATES_DIR": str(PROJECT_ROOT / "templates"), "PYTHONDONTWRITEBYTECODE": "1",
        "BHXH_CACHE_DIR": os.environ.get("BHXH_CACHE_DIR") or str(Path("/nonexistent")),
    }


def run_child(work: Path, *, memory_mb: int = MEMORY_MB, cpu_s: int = CPU_S, as_nobody: bool = False,
              received: str = RECEIVED, timeout: int = 300) -> dict:
    """Ingest everything in work/inbox (store work/store.sqlite, archive, quarantine beside it) in a child held
    to `memory_mb` of address space and, once imported, `cpu_s` of CPU. Returns what the child says (per file:
    seconds and result), its exit status and its peak RSS; `killed` when a limit stopped it."""
    spec = {"work": str(work), "cpu_s": cpu_s, "received": received, "as_nobody": as_nobody}
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "bhxh_bench.hostile", "--child", json.dumps(spec)],
                          capture_output=True, text=True, timeout=timeout, env=_env(), cwd=str(work),
                          preexec_fn=_limits(memory_mb))
    out: dict = {"returncode": proc.returncode, "stderr": proc.stderr[-4000:], "wall_s": round(time.perf_counter() - started, 2)}
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if lines:
        out.update(json.loads(lines[-1]))
    out["killed"] = proc.returncode != 0 or not lines
    return out


def _child(spec: dict) -> None:
    """The child: ingest the inbox once, each file timed; CPU limited from here on."""
    work = Path(spec["work"])
    from bhxh.intake import inbox as watch
    from bhxh.steps.intake import answer
    from bhxh.store.engine import init_store, session_factory

    url = f"sqlite:///{work / 'store.sqlite'}"
    init_store(url)
    if spec.get("as_nobody") and os.geteuid() == 0:  # root reads every file: read the inbox as nobody instead
        # nobody cannot read the interpreter's own library here (under /root): load what is loaded lazily first
        import codecs
        import tempfile
        import traceback  # noqa: F401

        from bhxh.intake.submission import check_submission
        from bhxh.steps.messages import intake_messages
        from bhxh.templating import environment
        from bhxh_bench.hostile_files import good_report

        codecs.lookup("unicode-escape")
        environment().get_template("intake/quarantined.txt.j2")
        with tempfile.TemporaryDirectory() as tmp:  # a good report read and answered once, as root
            path = good_report(Path(tmp), unit="vu_tccb")
            check_submission(path.read_bytes(), path.name)
            with session_factory(url)() as session:
                from bhxh.intake.submission import ingest

                intake_messages([ingest(session, path.read_bytes(), path.name, dt.datetime.now(dt.UTC))])
                session.rollback()
        for path in [work, *work.rglob("*")]:
            if path.is_dir():
                path.chmod(0o777)
            elif path.name.startswith("store.sqlite"):
                path.chmod(0o666)
        os.setgid(NOBODY)
        os.setuid(NOBODY)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    soft = int(usage.ru_utime + usage.ru_stime + spec["cpu_s"]) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (soft, soft + 5))
    timings: dict[str, float] = {}

    results: dict[str, dict] = {}

    def timed(function):
        def wrapper(session, *args, **kwargs):
            name = args[1] if function is real_ingest else args[0]
            started = time.perf_counter()
            try:
                result = function(session, *args, **kwargs)
                results[name] = result.as_json()
                return result
            finally:
                timings[name] = round(time.perf_counter() - started, 3)
        return wrapper

    real_ingest, real_refused = watch.ingest, watch.ingest_refused
    watch.ingest, watch.ingest_refused = timed(real_ingest), timed(real_refused)
    received = dt.datetime.fromisoformat(spec["received"])
    started = time.perf_counter()
    run = watch.ingest_inbox(work / "inbox", session_factory(url), work / "archive", quarantine=work / "quarantine",
                             quiet=0, answer=answer, now=lambda: received)
    print(json.dumps({
        "run_s": round(time.perf_counter() - started, 3), "timings": timings, "results": results,
        "archived": [Path(path).name for path, _r in run.ingested if path],
        "quarantined": run.quarantined, "failed": run.failed, "unstable": run.unstable, "store_error": run.store_error,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }, ensure_ascii=False, default=str))


def _openpyxl_child(path: str, reset: bool) -> None:
    import openpyxl

    started = time.perf_counter()
    wb = openpyxl.load_workbook(path, read_only=True)
    cells = 0
    for ws in wb.worksheets:
        if reset:  # read-only mode believes the declared <dimension>: rows beyond it are never seen unless reset
            ws.reset_dimensions()
        for row in ws.iter_rows(values_only=True):
            cells += len(row)
    wb.close()
    print(json.dumps({"seconds": round(time.perf_counter() - started, 3), "cells": cells,
                      "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}))


def openpyxl_load(path: Path, *, reset: bool = False, memory_mb: int = MEMORY_MB, timeout: int = OPENPYXL_TIMEOUT_S) -> dict:
    """A plain openpyxl read-only load of the file, every row of every sheet (`reset`: ignoring the declared
    dimension, as a reader of hostile files must), in a limited child."""
    started = time.perf_counter()
    try:
        proc = subprocess.run([sys.executable, "-m", "bhxh_bench.hostile", "--openpyxl", str(path)] + (["--reset"] if reset else []), capture_output=True,
                              text=True, timeout=timeout, env=_env(), preexec_fn=_limits(memory_mb))
    except subprocess.TimeoutExpired:
        return {"finished": False, "why": f"still running after {timeout} s", "seconds": timeout}
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        last = (proc.stderr.strip().splitlines() or ["killed"])[-1][:120]
        return {"finished": False, "why": last, "seconds": round(time.perf_counter() - started, 2)}
    return {"finished": True, **json.loads(lines[-1])}


def prepare(work: Path, hostile) -> tuple[Path, Path]:
    """work/inbox with the hostile file and, after it in name order, a good report of Vụ Tổ chức cán bộ."""
    from bhxh_bench.hostile_files import good_report

    inbox = work / "inbox"
    inbox.mkdir(parents=True, exist_ok=True)
    built = hostile.build(work / "build")
    target = inbox / built.name
    (work / "original").mkdir(exist_ok=True)
    shutil.copy(built, work / "original" / built.name)  # what the inbox gets, kept for the openpyxl comparison
    shutil.move(str(built), target)
    good = good_report(inbox, unit="vu_tccb")
    return target, good


def run(quick: bool = False) -> dict:

    families = [h for h in RESOURCES if not quick or h.heavy or h.id in ("far_cell", "false_dimension")]
    base = tmp_dir("hostile")
    rows = []
    for hostile in families:
        work = base / hostile.id
        (work / "build").mkdir(parents=True)
        target, good = prepare(work, hostile)
        size = target.stat().st_size
        ours = run_child(work)
        result = ours.get("results", {}).get(target.name) or next(iter(ours.get("results", {}).values()), {})
        row = {
            "file": hostile.id, "size_mb": round(size / 1e6, 2),
            "seconds": ours.get("timings", {}).get(target.name), "peak_rss_mb": ours.get("peak_rss_mb"),
            "codes": sorted({e["code"] for e in result.get("errors", [])}), "killed": ours["killed"],
            "good_file_accepted": ours.get("results", {}).get(good.name, {}).get("status") == "accepted",
        }
        if target.suffix == ".xlsx":
            row["openpyxl"] = openpyxl_load(work / "original" / target.name)
            row["openpyxl_reset_dimensions"] = openpyxl_load(work / "original" / target.name, reset=True)
        rows.append(row)
    cleanup(base)
    timed = [r for r in rows if r["seconds"] is not None]
    slowest = max(timed, key=lambda r: r["seconds"]) if timed else None
    heaviest = max(rows, key=lambda r: r["peak_rss_mb"] or 0) if rows else None
    return {
        "files": rows,
        "slowest": slowest,
        "heaviest": heaviest,
        "limits": {"memory_mb": MEMORY_MB, "cpu_s": CPU_S},
        "meets_goal": bool(rows) and all(not r["killed"] and r["good_file_accepted"] for r in rows)
        and (slowest is None or slowest["seconds"] < CPU_S),
    }


if __name__ == "__main__":
    if "--child" in sys.argv:
        _child(json.loads(sys.argv[sys.argv.index("--child") + 1]))
    elif "--openpyxl" in sys.argv:
        _openpyxl_child(sys.argv[sys.argv.index("--openpyxl") + 1], "--reset" in sys.argv)
    else:
        print(json.dumps(run(quick="--quick" in sys.argv), indent=1, ensure_ascii=False))
