"""The DAG factory of the reporting calendar ("lịch báo cáo"): one DAG per obligation of the catalogue.

Each run is one cycle: prepare (who must report) -> validate each unit (one mapped task per unit, named by
unit) -> consolidate and render -> completeness (read from the store) -> notify by e-mail and chat.
"""

from __future__ import annotations

import datetime as dt

import pendulum
from airflow.sdk import Asset, AssetOrTimeSchedule, Param, dag, get_current_context, task

from bhxh.calendar import dag_id_for, default_catalogue, feeders_of
from bhxh_timetable import ReportingCycleTimetable

# Up to BATCH_FROM expected units, one mapped `validate` per unit (the grid names each province); above it
# (3,500 communes), mapped batches of BATCH_SIZE units named by their first and last unit. Every unit is still
# validated in its own transaction with its state in the store, printed in the batch's log, and re-runnable
# alone with the param `units`.
BATCH_FROM, BATCH_SIZE = 200, 100
RECURRENCE_TAG = {"yearly": "hằng năm", "half-yearly": "6 tháng", "quarterly": "hằng quý", "once": "một lần"}


def _doc(ob) -> str:
    cycles = [c for c in default_catalogue().cycles(ob.id) if c.due_at.date() >= dt.date.today()][:3]
    upcoming = "\n".join(
        f"| {c.key} | {c.period_start:%d/%m/%Y} – {c.period_end:%d/%m/%Y} | {c.nominal_due:%d/%m/%Y} | "
        f"{c.effective_last_day:%d/%m/%Y}{' (' + c.moved_because + ')' if c.moved_because else ''} |"
        for c in cycles
    )
    lb = ob.legal_basis
    return f"""### {ob.title_vi}
*{ob.title_en}*

**Căn cứ / Legal basis:** {lb.document} ngày {lb.date:%d/%m/%Y}, {lb.part}

> {lb.wording}

**Đơn vị báo cáo:** {", ".join(ob.reporters.groups + ob.reporters.units)} — **nhận:** `{ob.recipient}`

{"**Kỳ báo cáo (diễn giải):** " + ob.period.interpretation if ob.period.interpretation else ""}

| Kỳ | Kỳ số liệu | Hạn theo văn bản | Hạn thực tế (hết ngày) |
|---|---|---|---|
{upcoming or "| — | — | — | — |"}

Chạy lại một đơn vị: xóa (Clear) đúng ô của đơn vị đó trong lưới; kỳ khác: Trigger với tham số `cycle`.
"""


def consolidated_asset(obligation_id: str) -> Asset:
    """A cycle's consolidated unit data ("số liệu tổng hợp của kỳ"): feeds the next deadline's consolidation."""
    return Asset(name=f"bhxh_{obligation_id}_consolidated", uri=f"bhxh://consolidated/{obligation_id}")


def build_dag(ob):
    first = default_catalogue().cycles(ob.id)[0]
    feeders = feeders_of(default_catalogue(), ob.id)
    schedule = ReportingCycleTimetable(ob.id)
    if feeders:
        # Runs on its own deadline, and as soon as a feeding cycle's consolidated data is ready.
        schedule = AssetOrTimeSchedule(timetable=schedule, assets=[consolidated_asset(f.id) for f in feeders])

    @dag(
        dag_id=dag_id_for(ob.id),
        dag_display_name=f"{ob.title_vi} ({ob.legal_basis.document})",
        description=ob.title_en,
        schedule=schedule,
        start_date=pendulum.instance(first.interval_start),
        catchup=False,
        max_active_runs=3,
        tags=[ob.department, RECURRENCE_TAG[ob.recurrence], ob.legal_basis.document],
        owner_links={},
        default_args={"owner": ob.department, "retries": 1, "retry_delay": dt.timedelta(minutes=1)},
        params={
            "cycle": Param(None, type=["null", "string"], description="Kỳ báo cáo (ví dụ 2019, 2019-Q3); trống = kỳ của lần chạy"),
            "units": Param([], type="array", description="Chỉ kiểm tra lại các đơn vị này (mã đơn vị); trống = tất cả"),
        },
        doc_md=_doc(ob),
    )
    def cycle_dag():
        @task
        def prepare() -> dict:
            """Resolve the cycle and the units expected on its deadline; create or upgrade the store."""
            from bhxh.calendar import cycle_for_interval, fed_cycle
            from bhxh.cycle import plan_cycle
            from bhxh.store import init_store
            from common.wiring import store_url

            ctx = get_current_context()
            key = ctx["params"].get("cycle")
            events = ctx.get("triggering_asset_events") or {}
            if not key and events:
                # Started by a feeding obligation's consolidated data: take the cycle it feeds.
                for asset_events in events.values():
                    for event in asset_events:
                        extra = event.extra or {}
                        fed = fed_cycle(default_catalogue(), extra.get("obligation", ""), extra.get("cycle", ""))
                        if fed is not None and fed.obligation_id == ob.id:
                            key = fed.key
            if not key:
                key = cycle_for_interval(default_catalogue(), ob.id, ctx["data_interval_start"]).key
            init_store(store_url())
            plan = plan_cycle(ob.id, key)
            for flag in plan.flags:
                print("CẢNH BÁO / WARNING:", flag)
            return {"cycle": key, "units": [{"id": u.id, "name": u.name} for u in plan.units], "flags": plan.flags}

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

            from bhxh.cycle import plan_cycle, problems_text, validate_unit
            from bhxh.store import session_factory
            from common.wiring import store_url

            get_current_context()["unit_name"] = batch["label"]
            plan = plan_cycle(ob.id, prepared["cycle"])
            maker = session_factory(store_url())
            invalid, missing = [], []
            for unit in batch["units"]:
                with maker() as session, session.begin():
                    outcome = validate_unit(session, plan, unit["id"])
                print(f"{unit['name']}: {outcome.state}")
                if outcome.state == "invalid":
                    invalid.append(f"{unit['name']}: báo cáo không hợp lệ / invalid report:\n" + problems_text(outcome.errors))
                elif outcome.state == "missing":
                    missing.append(unit["name"])
            if invalid:
                raise AirflowFailException("\n".join(invalid))
            if missing and len(missing) == len(batch["units"]):
                raise AirflowSkipException(f"{', '.join(missing)}: chưa nộp báo cáo / no report received")

        outlets = [consolidated_asset(ob.id)] if ob.feeds else []

        @task(trigger_rule="all_done", outlets=outlets)
        def consolidate(prepared: dict) -> dict:
            """Consolidated report (HTML, XLSX, DOCX) from the store, valid submissions only, compared with the
            targets and the previous cycle."""
            from bhxh.comparison import compare
            from bhxh.cycle import consolidate as build
            from bhxh.cycle import plan_cycle, render_reports
            from bhxh.store import session_factory
            from common.wiring import out_dir, store_url

            plan = plan_cycle(ob.id, prepared["cycle"])
            with session_factory(store_url())() as session:
                cons = build(session, plan)
                comparison = compare(session, cons)
            paths = render_reports(cons, out_dir(), comparison)
            if outlets:
                extra = {"obligation": ob.id, "cycle": plan.cycle.key, "expected": cons.expected, **cons.counts}
                get_current_context()["outlet_events"][outlets[0]].extra = extra
            return paths

        @task(trigger_rule="all_done")
        def completeness(prepared: dict, _reports: dict) -> dict:
            """State who is missing or invalid, from the store, so no unit vanishes silently."""
            from bhxh.cycle import completeness as check
            from bhxh.cycle import plan_cycle
            from bhxh.store import session_factory
            from common.wiring import store_url

            plan = plan_cycle(ob.id, prepared["cycle"])
            with session_factory(store_url())() as session:
                result = check(session, plan)
            print(
                f"Phải báo cáo {result['expected']}: {result['counts']}; chưa nộp: {result['missing']}; "
                f"không hợp lệ: {sorted(result['invalid'])}; chưa kiểm tra: {result['not_checked']}"
            )
            return {k: result[k] for k in ("expected", "counts", "missing", "not_checked")} | {"invalid": sorted(result["invalid"])}

        @task(retries=3, retry_delay=dt.timedelta(seconds=30), retry_exponential_backoff=True)
        def notify(prepared: dict, reports: dict, _complete: dict) -> dict:
            """Queue the cycle's messages in the outbox and deliver them through the apprise connection."""
            from bhxh.cycle import consolidate as build
            from bhxh.cycle import cycle_messages, plan_cycle
            from bhxh.notify import apprise_sender, deliver_pending, enqueue
            from bhxh.store import session_factory
            from common.wiring import channel_urls, store_url

            plan = plan_cycle(ob.id, prepared["cycle"])
            maker = session_factory(store_url())
            with maker() as session, session.begin():
                cons = build(session, plan)
                queued = enqueue(session, cycle_messages(cons, reports))
            result = deliver_pending(maker, apprise_sender(channel_urls()), obligation_id=ob.id, cycle_key=plan.cycle.key)
            print(f"Thêm vào hộp thư đi: {queued}; đã gửi: {result['sent']}")
            return {"queued": queued, **result}

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
                from bhxh.cycle import approval_messages, plan_cycle
                from bhxh.notify import apprise_sender, deliver_pending, enqueue
                from bhxh.store import session_factory
                from common.wiring import channel_urls, store_url

                plan = plan_cycle(ob.id, prepared["cycle"])
                maker = session_factory(store_url())
                with maker() as session, session.begin():
                    enqueue(session, approval_messages(plan, reports))
                return deliver_pending(maker, apprise_sender(channel_urls()), obligation_id=ob.id, cycle_key=plan.cycle.key)

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
