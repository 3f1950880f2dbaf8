"""Daily reminders of the reporting calendar ("nhắc hạn báo cáo"): calls for reports, reminders before the
deadline, overdue notices after it and the summary of missing units, by e-mail and chat.

The logic is in `bhxh.notify.reminders` (which messages are owed on a day) and `bhxh.notify.outbox` (outbox,
delivery), called through `bhxh.steps.reminders` and `bhxh.steps.delivery`.
"""

from __future__ import annotations

import datetime as dt

import pendulum
from airflow.sdk import Param, dag, get_current_context, task
from airflow.timetables.trigger import CronTriggerTimetable

DOC = """### Nhắc hạn báo cáo / Reporting reminders

Mỗi ngày lúc 08:00 (giờ Việt Nam), với mọi kỳ báo cáo đang mở của lịch báo cáo, chỉ vào ngày làm việc:

- **call**: đề nghị gửi báo cáo khi kỳ mở (`call_working_days_before` ngày làm việc trước hạn thực tế);
- **reminder_7 / reminder_3 / reminder_1**: nhắc hạn trước hạn thực tế (`before_working_days`);
- **overdue_1 / overdue_3**: thông báo quá hạn sau hạn thực tế (`after_working_days`);
- **missing_summary**: ngày thông báo quá hạn cuối cùng, danh sách đơn vị chưa nộp gửi đơn vị tổng hợp.

**Căn cứ / Basis:** các mốc là dữ liệu trong `include/bhxh/calendar/data/catalogue.yaml` (mục `reminders` của từng
nghĩa vụ), hạn thực tế theo văn bản và lịch ngày làm việc (lùi sang ngày làm việc tiếp theo). Chỉ đơn vị
chưa có báo cáo hợp lệ mới được nhắc. Người nhận lấy từ danh mục đơn vị vào ngày hạn.

**Gửi đúng một lần / exactly once:** mọi tin qua hộp thư đi với khóa (nghĩa vụ, kỳ, đơn vị, loại, kênh);
chạy lại, thử lại, Clear không gửi trùng. Kênh e-mail và chat là hai task riêng: một kênh lỗi sẽ thử lại
(backoff), hiện đỏ trong lưới và không chặn kênh kia.

**Tham số `send_past_reminders`** (mặc định `false`): lần chạy cho một ngày đã qua hơn một ngày làm việc
(backfill, chạy bù) không gửi gì, trừ khi bật tham số này. / A run for a day more than one working day in
the past sends nothing unless this is true.
"""


@dag(
    dag_id="nhac_han_bao_cao",
    dag_display_name="Nhắc hạn báo cáo (e-mail, chat)",
    description="Daily calls, reminders, overdue notices and missing-unit summaries of the reporting calendar",
    schedule=CronTriggerTimetable("0 8 * * *", timezone="Asia/Ho_Chi_Minh"),
    start_date=pendulum.datetime(
        2017, 1, 1, tz="Asia/Ho_Chi_Minh"
    ),  # the first cycle: backfills can reach it
    catchup=False,
    max_active_runs=1,
    tags=["nhắc hạn", "thông báo", "hằng ngày"],
    default_args={"owner": "vu_khdt", "retries": 1, "retry_delay": dt.timedelta(minutes=1)},
    params={
        "send_past_reminders": Param(
            False,
            type="boolean",
            title="Gửi nhắc hạn cho ngày đã qua / send reminders for past days",
            description=(
                "Bật khi cần gửi tin cho một ngày đã qua hơn một ngày làm việc (backfill, chạy bù). "
                "Mặc định không gửi. / Send even when the run's day is more than one working day in the past."
            ),
        ),
    },
    doc_md=DOC,
)
def nhac_han_bao_cao():
    @task
    def enqueue() -> dict:
        """Put the messages owed on the run's day into the outbox (no-op for those already there)."""
        from bhxh.steps.reminders import enqueue_reminders
        from common.wiring import store_url

        ctx = get_current_context()
        when = ctx.get("logical_date") or ctx["dag_run"].run_after
        summary, line = enqueue_reminders(when, store_url(), bool(ctx["params"]["send_past_reminders"]))
        print(line)
        return summary

    def deliver(channel: str):
        @task(
            task_id=f"deliver_{channel}",
            retries=3,
            retry_delay=dt.timedelta(seconds=30),
            retry_exponential_backoff=True,
        )
        def _deliver(_queued: dict) -> dict:
            """Deliver the pending messages of one channel; a failure raises so the task retries and shows red."""
            from bhxh.steps.delivery import deliver
            from common.wiring import channel_urls, store_url

            result = deliver(store_url(), channel_urls(), channel=channel)
            print(f"Kênh {channel}: đã gửi {result['sent']}")
            return result

        return _deliver

    queued = enqueue()
    deliver("email")(queued)
    deliver("chat")(queued)


nhac_han_bao_cao()
