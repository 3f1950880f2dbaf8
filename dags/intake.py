"""Intake of units' report files ("tiếp nhận báo cáo"): every 10 minutes, ingest what arrived in the inbox.

A short schedule rather than a sensor: a sensor would hold a worker slot all day to notice a few files, while a
run that finds nothing costs a second; every run is idempotent (the same file is stored once, by checksum), and
a file is archived only after the store committed it, so a store outage leaves files in the inbox for the next
run. Each unit then gets an acknowledgement or its list of errors by e-mail.

Beside it, the department's mailbox (connection `bhxh_mailbox`, else $BHXH_IMAP_URL) is pulled: each message's
attachments (the signed report and its data appendix) become one submission, received at the server's
INTERNALDATE, with a receipt; a message leaves the INBOX for "processed" only once the store committed it.
"""

from __future__ import annotations

import datetime as dt

import pendulum
from airflow.sdk import dag, task


@dag(
    dag_id="tiep_nhan_bao_cao",
    dag_display_name="Tiếp nhận báo cáo của đơn vị (hộp thư đến)",
    description="Ingest units' report files from the inbox folder",
    schedule="*/10 * * * *",
    start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Ho_Chi_Minh"),
    catchup=False,
    max_active_runs=1,
    tags=["tiếp nhận", "thường xuyên"],
    default_args={"owner": "van_phong", "retries": 2, "retry_delay": dt.timedelta(minutes=2)},
    doc_md=__doc__,
)
def tiep_nhan_bao_cao():
    @task
    def ingest_inbox() -> dict:
        """Store every stable file of the inbox with its checksum; leave them all there if the store is down."""
        from bhxh.steps.intake import ingest_inbox as run
        from common.wiring import inbox_dirs, store_url

        summary, line = run(*inbox_dirs(), store_url())
        print(line)
        return summary

    @task
    def pull_mailbox() -> dict:
        """Take every message of the department's mailbox in (one submission and one receipt each), then move it."""
        from bhxh.steps.mailbox import pull_mailbox as run
        from common.wiring import mailbox_url, store_url

        summary, line = run(mailbox_url(), store_url())
        print(line)
        return summary

    # all_done: the inbox's answers go out even while the mailbox is unreachable (and the reverse)
    @task(retries=3, retry_delay=dt.timedelta(seconds=30), retry_exponential_backoff=True, trigger_rule="all_done")
    def send_answers() -> dict:
        from bhxh.steps.delivery import deliver
        from common.wiring import channel_urls, store_url

        return deliver(store_url(), channel_urls(), channel="email")

    [ingest_inbox(), pull_mailbox()] >> send_answers()


tiep_nhan_bao_cao()
