"""`python -m bhxh.cli.plans`: one JSON object per task or activity of the kept plan files.

python -m bhxh.cli.plans                  # print the tasks (JSON lines) from include/bhxh/calendar/data/plans/*.yaml
python -m bhxh.cli.plans --plan nq28_dak_lak
python -m bhxh.cli.plans import [SEEDS]   # re-run the importer from the seeds (default: $BHXH_SEEDS_DIR, else
                                      # ../shared/seeds next to the repository) and say what changed
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from bhxh import PROJECT_ROOT
from bhxh.calendar.plans.model import PLANS_DIR, load_plans
from bhxh.errors import BhxhError

REPO_ROOT = PROJECT_ROOT
DEFAULT_SEEDS = REPO_ROOT.parent / "shared" / "seeds"
FIELDS = (
    "plan",
    "source",
    "id",
    "kind",
    "parent",
    "title",
    "lead",
    "co_leads",
    "cooperating",
    "product",
    "timing_text",
    "due",
    "due_month",
    "recurrence",
    "funding",
    "programme",
    "period",
    "unresolved",
)


def seeds_dir(arg: str | None) -> Path:
    if arg:
        return Path(arg)
    env = os.environ.get("BHXH_SEEDS_DIR")
    return Path(env) if env else DEFAULT_SEEDS


def cmd_list(plan: str | None, out_dir: Path) -> int:
    plans = load_plans(out_dir if out_dir != PLANS_DIR else None)
    if plan and plan not in plans:
        print(
            f"Không có kế hoạch '{plan}' / unknown plan '{plan}' ({', '.join(sorted(plans))})",
            file=sys.stderr,
        )
        return 2
    for pid, p in plans.items():
        if plan and pid != plan:
            continue
        for t in p.tasks:
            d = t.to_dict()
            print(json.dumps({k: d[k] for k in FIELDS}, ensure_ascii=False))
    return 0


def cmd_import(seeds: Path, out_dir: Path) -> int:
    from bhxh.calendar.plans.importer import REVIEW_FILE, run_import

    changed = run_import(seeds, out_dir)
    if changed:
        print(f"Đã cập nhật / changed: {', '.join(changed)}")
    else:
        print("Không thay đổi / unchanged: the kept files equal a fresh import")
    review = (out_dir / REVIEW_FILE).read_text(encoding="utf-8")
    first = next((ln for ln in review.splitlines() if ln.startswith("open:")), "open: ?")
    print(f"review.yaml {first} (items a person still has to settle)")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bhxh.cli.plans", description=__doc__.split("\n")[0])
    parser.add_argument("command", nargs="?", choices=["list", "import"], default="list")
    parser.add_argument("seeds", nargs="?", help="seeds folder for 'import'")
    parser.add_argument("--plan", help="only this plan id")
    parser.add_argument("--out", type=Path, default=PLANS_DIR, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        if args.command == "import":
            return cmd_import(seeds_dir(args.seeds), args.out)
        return cmd_list(args.plan, args.out)
    except BhxhError as exc:
        print(f"{exc.message_vi}\n{exc.message_en}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # `python -m bhxh.cli.plans | head`
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
