"""The demo: sample submissions for the 2019 cycle of the Resolution 51 report, ingested into the store, the
cycle run through Airflow (`airflow dags test`), real e-mails and chat messages delivered to loopback
servers, and a summary printed and written to out/demo/summary.json.

    python -m bhxh.cli.demo         (run by `make demo`; Airflow's environment comes from scripts/airflow_env.sh)
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import func, select

from bhxh import PROJECT_ROOT
from bhxh.calendar.catalogue import dag_id_for
from bhxh.calendar.expected import plan_cycle
from bhxh.cli.sample import generate, read_manifest
from bhxh.devservers import LoopbackSinks
from bhxh.intake.submission import ingest
from bhxh.reports.consolidation import completeness
from bhxh.store.engine import default_url, init_store, session_factory
from bhxh.store.models import OutboxMessage

ROOT = PROJECT_ROOT
OBLIGATION, CYCLE = "nq51_action_programme", "2019"


def apprise_connection(smtp_port: int, http_port: int) -> str:
    """The apprise connection as Airflow reads it from AIRFLOW_CONN_BHXH_APPRISE (JSON)."""
    return json.dumps(
        {
            "conn_type": "apprise",
            "extra": {
                "config": [
                    {"path": f"mailto://127.0.0.1:{smtp_port}?from=baocao@vss.example&name=He thong bao cao BHXH", "tag": "email"},
                    {"path": f"json://127.0.0.1:{http_port}/chat", "tag": "chat"},
                ]
            },
        }
    )


def run(out: Path = ROOT / "out" / "demo", reports_dir: Path | None = None) -> dict:
    started = time.monotonic()
    reports_dir = reports_dir or Path(os.environ.get("BHXH_OUT_DIR") or ROOT / "out" / "reports")
    store_url = default_url()
    inbox = out / "inbox"
    if not (inbox / "manifest.json").exists():
        generate(inbox, OBLIGATION, CYCLE)
    print(f"[1/5] Mẫu báo cáo: {len(read_manifest(inbox))} tệp trong {inbox}", flush=True)
    init_store(store_url)
    maker = session_factory(store_url)
    new = dup = 0
    with maker() as session, session.begin():
        for item in read_manifest(inbox):
            path = Path(item.path)
            result = ingest(session, path.read_bytes(), path.name, dt.datetime.fromisoformat(item.received_at))
            dup += result.duplicate
            new += not result.duplicate
    print(f"[2/5] Tiếp nhận vào kho {store_url}: {new} bản mới, {dup} bản đã có (không lưu lại)", flush=True)
    sink_dir = out / "sink"
    shutil.rmtree(sink_dir, ignore_errors=True)
    sinks = LoopbackSinks(sink_dir)
    smtp_port, http_port = sinks.smtp_port, sinks.http_port
    print(f"[3/5] Máy chủ thư 127.0.0.1:{smtp_port} và webhook chat 127.0.0.1:{http_port} đang chạy", flush=True)
    env = {
        **os.environ,
        "AIRFLOW_CONN_BHXH_APPRISE": apprise_connection(smtp_port, http_port),
        "AIRFLOW_CONN_BHXH_STORE": json.dumps({"conn_type": "generic", "extra": {"url": store_url}}),
        "BHXH_OUT_DIR": str(reports_dir),
    }
    try:
        subprocess.run(["airflow", "db", "migrate"], env=env, check=True, stdout=subprocess.DEVNULL)
        # The run's logical date is the cycle's first day of data, so the UI shows it as the 2019 cycle.
        logical_date = plan_cycle(OBLIGATION, CYCLE).cycle.interval_start.isoformat()
        print(f"[4/5] Chạy kỳ báo cáo qua Airflow: airflow dags test bao_cao_{OBLIGATION} {logical_date}", flush=True)
        proc = subprocess.run(
            ["airflow", "dags", "test", dag_id_for(OBLIGATION), logical_date, "-c", json.dumps({"cycle": CYCLE})],
            env=env, capture_output=True, text=True,
        )
        (out / "airflow_dags_test.log").write_text(proc.stdout + proc.stderr, encoding="utf-8")
        if proc.returncode != 0:
            sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-4000:])
            raise SystemExit(f"airflow dags test failed (exit {proc.returncode}); log in {out / 'airflow_dags_test.log'}")
        time.sleep(0.5)
    finally:
        sinks.stop()
    plan = plan_cycle(OBLIGATION, CYCLE)
    with maker() as session:
        state = completeness(session, plan)
        sent = dict(session.execute(select(OutboxMessage.channel, func.count()).where(OutboxMessage.status == "sent", OutboxMessage.obligation_id == OBLIGATION, OutboxMessage.cycle_key == CYCLE).group_by(OutboxMessage.channel)).all())
        pending = session.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status != "sent"))
    report_dir = reports_dir / OBLIGATION / CYCLE
    summary = {
        "obligation": OBLIGATION,
        "cycle": CYCLE,
        "expected": state["expected"],
        **state["counts"],
        "missing_units": state["missing"],
        "invalid_units": {u: [e["code"] for e in errs] for u, errs in state["invalid"].items()},
        "emails_delivered": sent.get("email", 0),
        "chat_delivered": sent.get("chat", 0),
        "emails_received_this_run": len(sinks.mail.messages()),
        "chat_received_this_run": len(sinks.chat.messages()),
        "outbox_not_sent": pending,
        "reports": {
            "html": str(report_dir / "bao_cao_tong_hop.html"),
            "xlsx": str(report_dir / "bao_cao_tong_hop.xlsx"),
            "docx": str(report_dir / "bao_cao_tong_hop.docx"),
            "pdf": str(report_dir / "bao_cao_tong_hop.pdf"),
            "tasks_html": str(report_dir / "tong_hop_nhiem_vu.html"),
        },
        "seconds": round(time.monotonic() - started, 1),
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8")
    print("[5/5] Tóm tắt / Summary:")
    print(f"  Phải báo cáo {summary['expected']}: đúng hạn {summary['on_time']}, trễ hạn {summary['late']}, "
          f"không hợp lệ {summary['invalid']}, chưa nộp {summary['missing']}")
    print(f"  Thư điện tử đã gửi: {summary['emails_delivered']} (lần chạy này nhận {summary['emails_received_this_run']}); "
          f"tin chat: {summary['chat_delivered']} (lần này {summary['chat_received_this_run']})")
    print("  Báo cáo: " + "\n           ".join(summary["reports"].values()))
    print(f"  JSON: {out / 'summary.json'}  ({summary['seconds']} s)")
    return summary


if __name__ == "__main__":
    run()
