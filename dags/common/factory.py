"""The DAG factory of the reporting calendar ("lịch báo cáo"): one DAG per obligation of the catalogue.

Each run is one cycle: prepare (who must report) -> validate each unit (one mapped task per unit, named by
unit) -> consolidate and render -> completeness (read from the store) -> notify by e-mail and chat.
"""

from __future__ import annotations

import datetime as dt

import pendulum
from airflow.sdk import Asset, AssetOrTimeSchedule, Param, dag, get_current_context, task

from bhxh.steps.dags import dag_id_for, doc_md, feeders, first_interval_start
from bhxh_timetable import ReportingCycleTimetable

# Up to BATCH_FROM expected units, one mapped `validate` per unit (the grid names each province); above it
# (3,500 communes), mapped batches of BATCH_SIZE units named by their first and last unit. Every unit is still
# validated in its own transaction with its state in the store, printed in the batch's log, and re-runnable
# alone with the param `units`.
BATCH_FROM, BATCH_SIZE = 200, 100
RECURRENCE_TAG = {"yearly": "hằng năm", "half-yearly": "6 tháng", "quarterly": "hằng quý", "once": "một lần"}


def consolidated_asset(obligation_id: str) -> Asset:
    """A cycle's consolidated unit data ("số liệu tổng hợp của kỳ"): feeds the next deadline's consolidation."""
    return Asset(name=f"bhxh_{obligation_id}_consolidated", uri=f"bhxh://consolidated/{obligation_id}")


def build_dag(ob):
    schedule = ReportingCycleTimetable(ob.id)
    if feeding := feeders(ob.id):
        # Runs on its own deadline, and as soon as a feeding cycle's consolidated data is ready.
        schedule = AssetOrTimeSchedule(timetable=schedule, assets=[consolidated_asset(f.id) for f in feeding])

    @dag(
        dag_id=dag_id_for(ob.id),
        dag_display_name=f"{ob.title_vi} ({ob.legal_basis.document})",
        description=ob.title_en,
        schedule=schedule,
        start_date=pendulum.instance(first_interval_start(ob.id)),
        catchup=False,
        max_active_runs=3,
        tags=[ob.department, RECURRENCE_TAG[ob.recurrence], ob.legal_basis.document],
        owner_links={},
        default_args={"owner": ob.department, "retries": 1, "retry_delay": dt.timedelta(minutes=1)},
        params={
            "cycle": Param(None, type=["null", "string"], description="Kỳ báo cáo (ví dụ 2019, 2019-Q3); trống = kỳ của lần chạy"),
            "units": Param([], type="array", description="Chỉ kiểm tra lại các đơn vị này (mã đơn vị); trống = tất cả"),
        },
        doc_md=doc_md(ob),
    )
    def cycle_dag():
        @task
        def prepare() -> dict:
            """Resolve the cycle and the units expected on its deadline; create or upgrade the store."""
            from bhxh.steps.cycle import prepare_cycle
            from common.wiring import store_url

            ctx = get_current_context()
            prepared = prepare_cycle(
                ob.id, ctx["params"].get("cycle"), ctx.get("triggering_asset_events"), ctx.get("data_interval_start"), store_url()
            )
            for flag in prepared["flags"]:
                print("CẢNH BÁO / WARNING:", flag)
            return prepared

        @task
        def unit_list(prepared: dict) -> list[dict]:
            """One item per unit, or batches of BATCH_SIZE units when the cycle expects more than BATCH_FROM."""
            units = prepared["units"]
            chosen = set(get_current_context()["params"].get("units") or [])
            if chosen:
                units = [u for u in units if u["id"] in chosen]
            size = 1 if len(prepared["units"]) <= BATCH_FROM else BATCH_SIZE
            batches = [units[i : i + size] for i in range(0, len(units), size)]
            return [
                {"label": b[0]["name"] if len(b) == 1 else f"{b[0]['name']} … {b[-1]['name']} ({len(b)})", "units": b}
                for b in batches
            ]

        @task(map_index_template="{{ unit_name }}", retries=0)
        def validate(batch: dict, prepared: dict) -> None:
            """Check each unit's latest submission (one transaction per unit); fail with the reasons when one is
            invalid, skip when nobody in it has reported. The states go to the store and the log, not to XCom:
            nothing downstream reads them from there (completeness reads the store), and an XCom per mapped
            instance is one more call to the API server each."""
            from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

            from bhxh.steps.cycle import validate_batch
            from common.wiring import store_url

            get_current_context()["unit_name"] = batch["label"]
            outcome = validate_batch(ob.id, prepared["cycle"], batch["units"], store_url())
            if outcome.invalid:
                raise AirflowFailException("\n".join(outcome.invalid))
            if outcome.missing and len(outcome.missing) == len(batch["units"]):
                raise AirflowSkipException(f"{', '.join(outcome.missing)}: chưa nộp báo cáo / no report received")

        outlets = [consolidated_asset(ob.id)] if ob.feeds else []

        @task(trigger_rule="all_done", outlets=outlets)
        def consolidate(prepared: dict) -> dict:
            """Consolidated report (HTML, XLSX, DOCX, PDF, signed when the department's certificate is configured)
            from the store, valid submissions only, compared with the targets and the previous cycle."""
            from bhxh.steps.cycle import consolidate_cycle
            from common.wiring import document_settings, out_dir, store_url

            paths, extra = consolidate_cycle(ob.id, prepared["cycle"], store_url(), out_dir(), document_settings(ob.department))
            if outlets:
                get_current_context()["outlet_events"][outlets[0]].extra = extra
            return paths

        @task(trigger_rule="all_done")
        def completeness(prepared: dict, _reports: dict) -> dict:
            """State who is missing or invalid, from the store, so no unit vanishes silently."""
            from bhxh.steps.cycle import check_completeness
            from common.wiring import store_url

            summary, line = check_completeness(ob.id, prepared["cycle"], store_url())
            print(line)
            return summary

        @task(retries=3, retry_delay=dt.timedelta(seconds=30), retry_exponential_backoff=True)
        def notify(prepared: dict, reports: dict, _complete: dict) -> dict:
            """Queue the cycle's messages in the outbox and deliver them through the apprise connection."""
            from bhxh.steps.cycle import notify_cycle
            from common.wiring import channel_urls, store_url

            result = notify_cycle(ob.id, prepared["cycle"], reports, store_url(), channel_urls())
            print(f"Thêm vào hộp thư đi: {result['queued']}; đã gửi: {result['sent']}")
            return result

        prepared = prepare()
        checked = validate.partial(prepared=prepared).expand(batch=unit_list(prepared))
        reports = consolidate(prepared)
        checked >> reports
        complete = completeness(prepared, reports)
        sent = notify(prepared, reports, complete)
        if ob.approval:

            @task
            def request_approval(prepared: dict, reports: dict) -> dict:
                """Tell the department that a report waits for the leadership's approval in Airflow."""
                from bhxh.steps.cycle import request_approval as run
                from common.wiring import channel_urls, store_url

                return run(ob.id, prepared["cycle"], reports, store_url(), channel_urls())

            # "trình Lãnh đạo Ngành": the report goes upward only after an approval in the UI (Required
            # Actions). Nobody answering within 3 days fails the task: nothing goes upward, the run shows
            # failed, and the operator clears the step once the leadership has decided.
            from airflow.providers.standard.operators.hitl import ApprovalOperator  # costs ~0.5 s: only here

            approve = ApprovalOperator(
                task_id="trinh_lanh_dao_phe_duyet",
                task_display_name="Trình Lãnh đạo Ngành phê duyệt",
                subject=f"Phê duyệt: {ob.title_vi}",
                body=(
                    f"Báo cáo tổng hợp \"{ob.title_vi}\" đã sẵn sàng: "
                    "{{ ti.xcom_pull(task_ids='consolidate')['html'] }}. "
                    f"Phê duyệt để gửi {ob.recipient} ({ob.approval.wording})."
                ),
                response_timeout=dt.timedelta(days=3),
                fail_on_reject=True,
            )
            complete >> request_approval(prepared, reports) >> approve
            approve >> sent

    return cycle_dag()
