"""The layout the contracts of `lint-imports` (make lint) cannot see: the DAG files reach the domain only
through `bhxh.steps`, and modules stay small enough to hold one idea (docs/architecture.md)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAX_LINES = 400
# Modules over MAX_LINES that are one idea each, with why; a new entry needs a reason as good.
ONE_IDEA = {
    "include/bhxh/calendar/units.py": "the effective-dated registry: its record types, its loader and its queries",
    "include/bhxh/calendar/plans/importer.py": "the seed plans' table parsers, which share the line-wrap repair state",
    "include/bhxh/intake/reading.py": "reading a report file's block and table, XLSX and CSV through one frame builder",
}


def _bhxh_imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        found.update(n for n in names if n == "bhxh" or n.startswith("bhxh."))
    return found


def test_dag_files_reach_the_domain_only_through_the_steps():
    wrong = {
        f"{path.relative_to(ROOT)}: {module}"
        for path in (ROOT / "dags").rglob("*.py")
        for module in _bhxh_imports(path)
        if not module.startswith("bhxh.steps.")
    }
    assert not wrong, sorted(wrong)


def test_the_steps_are_what_the_dags_import():
    # the check above would pass on a dags folder that imports nothing at all
    used = set().union(*(_bhxh_imports(p) for p in (ROOT / "dags").rglob("*.py")))
    assert {"bhxh.steps.cycle", "bhxh.steps.dags", "bhxh.steps.intake", "bhxh.steps.reminders"} <= used


def test_modules_hold_one_idea():
    long = {
        str(path.relative_to(ROOT)): n
        for base in ("include", "dags", "plugins")
        for path in (ROOT / base).rglob("*.py")
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    unexplained = {p: n for p, n in long.items() if p not in ONE_IDEA}
    assert not unexplained, f"over {MAX_LINES} lines: {unexplained}; split by idea or say why in ONE_IDEA"
    stale = set(ONE_IDEA) - set(long)
    assert not stale, f"no longer over {MAX_LINES} lines, remove from ONE_IDEA: {sorted(stale)}"
