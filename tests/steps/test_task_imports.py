"""What a mapped `validate` task imports stays light: under a real executor every mapped instance is a fresh
process, and pandas + pandera cost ~0.4 s each time (measured: the 2019 cycle took 84 s instead of 38 s)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_validate_step_imports_neither_pandas_nor_pandera():
    code = (
        "import sys\n"
        "from bhxh.calendar.expected import plan_cycle\n"
        "from bhxh.steps.cycle import validate_batch, validate_unit\n"
        "from bhxh.store.engine import session_factory\n"
        "plan_cycle('nq51_action_programme', '2019')\n"
        "heavy = sorted(m for m in ('pandas', 'pandera', 'openpyxl', 'docxtpl') if m in sys.modules)\n"
        "print(','.join(heavy))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          env={"PYTHONPATH": str(ROOT / "include"), "PATH": "/usr/bin:/bin"})
    assert proc.stdout.strip() == ""
