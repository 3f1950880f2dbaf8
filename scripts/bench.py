"""`make bench`: every measurement beside its baseline in the same run; prints a table and writes
out/bench/results.json. See docs/performance.md.

    python scripts/bench.py            full run (~21 min on 2 cores)
    python scripts/bench.py --quick    parse, cycle overhead (dag.test), validation, notification and hostile-input subsets (~5 min)
    python scripts/bench.py --only scale,backfill
    python scripts/bench.py --only mailbox,portal      the units' ways in (Dovecot on loopback, the portal)
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import os
import platform
import statistics
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "include"))
os.environ.setdefault("BHXH_TEMPLATES_DIR", str(ROOT / "templates"))

ALL = ["parse", "dagtest", "scheduler", "scale", "backfill", "throughput", "notifications", "hostile", "mailbox", "portal"]
QUICK = ["parse", "dagtest", "throughput", "notifications", "hostile"]


def _fmt(value, unit: str = "") -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.3g}{unit}" if abs(value) < 100 else f"{value:.0f}{unit}"
    return f"{value}{unit}"


def table(results: dict) -> list[tuple[str, str, str, str, str]]:
    """(measurement, ours, baseline, ratio/figure, goal met)"""
    rows = []
    ok = lambda r: "yes" if r.get("meets_goal") else "NO"  # noqa: E731
    if (r := results.get("parse")) and "error" not in r:
        for name, f in r["per_file"].items():
            rows.append((f"parse {name}", _fmt(f.get("seconds"), " s"), _fmt(r["baseline_s"], " s"),
                         f"pre-imported {_fmt(f.get('seconds_preimported'), ' s')}; {f.get('connections_at_import')} connections",
                         "yes" if f.get("seconds", 9) < 0.5 else "NO"))
        rows.append(("parse dags folder", _fmt(r["folder_s"], " s"), "—", f"{r['folder_dags']} DAGs", "—"))
        rows.append(("DB/network at import", str(r["folder_connections_at_import"]), "0", "", "yes" if r["no_connections_at_import"] else "NO"))
    if (r := results.get("dagtest")) and "error" not in r:
        rows.append((f"cycle dag.test ({r['task_instances']} TIs), median", _fmt(r["cycle_s"], " s"), _fmt(r["noop_s"], " s"),
                     f"overhead_ratio {r['overhead_ratio']} (each cycle / no-ops around it: {r.get('bracketed_ratios')}; "
                     f"minima {r.get('ratio_of_minima')})", ok(r)))
        if r.get("same_states_noop_ratio"):
            rows.append(("… no-op failing/skipping as the cycle / no-op", _fmt(statistics.median(r["noop_same_states_runs_s"]), " s"),
                         _fmt(r["noop_s"], " s"), f"ratio {r['same_states_noop_ratio']} ({r.get('validate_states')})", "—"))
    if (r := results.get("scheduler")) and "error" not in r:
        rows.append((f"cycle scheduler+LocalExecutor ({r['task_instances_per_run']} TIs)", _fmt(r["cycle_s"], " s"),
                     _fmt(r["noop_s"], " s"), f"ratio {r['overhead_ratio']}", ok(r)))
    if (r := results.get("scale")) and "error" not in r:
        rows.append((f"scale {r['units']} units, {r['batches']} batches", _fmt(r.get("cycle_s"), " s"), _fmt(r.get("noop_s"), " s"),
                     f"ratio {r.get('overhead_ratio')}; goal < 300 s", ok(r)))
        if m := r.get("memory"):
            rows.append(("peak RSS scheduler / task", f"{m['scheduler_mb']} MB", "—", f"task {m['task_process_mb']} MB, tree {m['scheduler_tree_mb']} MB", "—"))
    if (r := results.get("backfill")) and "error" not in r:
        rows.append(("backfill 10 yearly cycles", _fmt(r["cycle"]["runs_s"], " s"), _fmt(r["noop"]["runs_s"], " s"),
                     f"per TI {r['cycle']['s_per_task_instance']} vs {r['noop']['s_per_task_instance']} s (x{r['ratio_per_task_instance']})", "—"))
    if (r := results.get("throughput")) and "error" not in r:
        rows.append((f"validation {r['rows']} rows / {r['files']} files", f"{r['rows_per_s']} rows/s",
                     f"{r['pandas_rows_per_s']} rows/s", f"ratio {r['ratio_to_pandas']} (goal ≤ 3)", ok(r)))
    if (r := results.get("notifications")) and "error" not in r:
        rows.append((f"e-mails via outbox ({r['messages']})", f"{r['messages_per_s']} msg/s", "—",
                     f"received {r['received']}, duplicates {r['duplicates']}", ok(r)))
    if (r := results.get("hostile")) and "error" not in r and r.get("slowest"):
        slow, heavy = r["slowest"], r["heaviest"]
        def load(r: dict) -> str:
            return f"{_fmt(r.get('seconds'), ' s')}, {r.get('peak_rss_mb')} MB" if r.get("finished") else str(r.get("why", "—"))

        baseline = (f"openpyxl read-only {load(slow.get('openpyxl') or {})}; "
                    f"dimensions reset {load(slow.get('openpyxl_reset_dimensions') or {})}")
        rows.append((f"hostile input, slowest of {len(r['files'])} files ({slow['file']})",
                     f"{_fmt(slow['seconds'], ' s')}, {slow['peak_rss_mb']} MB", baseline,
                     f"peak RSS {heavy['peak_rss_mb']} MB ({heavy['file']}); limits {r['limits']['memory_mb']} MB, {r['limits']['cpu_s']} s CPU", ok(r)))
    if (r := results.get("mailbox")) and "error" not in r:
        rows.append((f"mailbox pull {r['messages']} messages (PDF + XLSX)", _fmt(r["pull_s"], " s"), _fmt(r["imaplib_fetch_s"], " s"),
                     f"ratio {r['ratio_to_imaplib']} to imaplib fetch; {r['ratio_to_validation']} to in-process validation "
                     f"({r['validate_in_process_s']} s); {r['messages_per_s']} msg/s", "—"))
    if (r := results.get("portal")) and "error" not in r:
        rows.append((f"portal {r['uploads']} uploads, {r['clients']} clients, p95", _fmt(r["p95_s"], " s"), _fmt(r["validate_p95_s"], " s"),
                     f"ratio {r['ratio_p95_to_validation']} to in-process validation p95; {r['uploads_per_s']} uploads/s; "
                     f"HTTP {r['http_status']}", "—"))
    for name, r in results.items():
        if isinstance(r, dict) and "error" in r:
            rows.append((name, "ERROR", "—", r["error"].strip().splitlines()[-1][:80], "NO"))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", help="comma-separated: " + ",".join(ALL))
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "bench" / "results.json")
    args = parser.parse_args()
    names = args.only.split(",") if args.only else (QUICK if args.quick else ALL)
    started = time.monotonic()
    results: dict = {}
    meta = {
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": "python scripts/bench.py" + (" --quick" if args.quick else "") + (f" --only {args.only}" if args.only else ""),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
                    "loadavg_at_start": os.getloadavg()},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    for name in names:
        t0 = time.monotonic()
        print(f"== {name} ...", flush=True)
        try:
            module = importlib.import_module(f"bhxh_bench.{name}")
            results[name] = module.run(quick=args.quick)
        except BaseException as exc:  # one failing measurement must not lose the others
            results[name] = {"error": "".join(traceback.format_exception(exc))[-3000:]}
            if isinstance(exc, KeyboardInterrupt):
                break
        results[name]["elapsed_s"] = round(time.monotonic() - t0, 1)
        results[name]["loadavg_after"] = os.getloadavg()
        print(f"   {name}: {results[name]['elapsed_s']} s", flush=True)
        args.out.write_text(json.dumps({"meta": meta, "results": results}, indent=1, ensure_ascii=False, default=str))
    meta["total_s"] = round(time.monotonic() - started, 1)
    rows = table(results)
    widths = [max(len(r[i]) for r in [("measurement", "ours", "baseline", "ratio / figure", "goal met"), *rows]) for i in range(5)]
    for row in [("measurement", "ours", "baseline", "ratio / figure", "goal met"), *rows]:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))
    meta["table"] = rows
    args.out.write_text(json.dumps({"meta": meta, "results": results}, indent=1, ensure_ascii=False, default=str))
    print(f"\n{args.out}  ({meta['total_s']} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
