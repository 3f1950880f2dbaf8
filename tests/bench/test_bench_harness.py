"""`make bench` keeps working: its quick parse and cycle-overhead measurements run end to end and write what
docs/performance.md reads. Nothing here asserts a timing (figures are read as ratios from `make bench`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]


def test_quick_bench_runs_parse_and_cycle_overhead(tmp_path):
    out = tmp_path / "results.json"
    env = os.environ | {"BHXH_BENCH_TMP": str(tmp_path / "work")}
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "bench.py"), "--quick", "--only", "parse,dagtest", "--out", str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    data = json.loads(out.read_text())
    results = data["results"]
    assert "error" not in results["parse"] and "error" not in results["dagtest"], json.dumps(results)[:3000]
    parse = results["parse"]
    assert parse["no_connections_at_import"] is True
    assert {"reporting_cycles.py", "reminders.py", "intake.py"} <= set(parse["per_file"])
    dagtest = results["dagtest"]
    # the 2019 sample cycle ran for real beside the no-op: both succeeded, every acknowledgement went out
    # no-op, cycle, no-op: the counted cycle lies between two no-op runs
    assert dagtest["run_states"] == [["noop", "success"], ["cycle", "success"], ["noop", "success"]]
    # each expected unit gets one e-mail (acknowledgement, its errors, or the missing notice) + the report
    assert dagtest["emails_per_cycle"] == dagtest["units"] + 1
    cycle_s, (before, after) = dagtest["cycle_runs_s"][0], dagtest["noop_runs_s"]
    assert dagtest["overhead_ratio"] == round(round(cycle_s / ((before + after) / 2), 3), 2)
    assert dagtest["validate_states"] == {"failed": 7, "skipped": 4, "success": 71}
    assert "cycle dag.test" in out.read_text() and "measurement" in proc.stdout  # the printed table
    assert not list((tmp_path / "work").glob("bhxh_bench_*"))  # the measurement cleaned up after itself


def test_each_run_is_divided_by_the_no_ops_around_it():
    from bhxh_bench.dagtest import bracketed

    assert bracketed([12.0, 9.0], [8.0, 10.0, 8.0]) == [1.333, 1.0]
    with pytest.raises(ValueError):
        bracketed([12.0, 9.0], [8.0, 10.0])
