"""Airflow plugin: the status board ("Bảng theo dõi báo cáo") inside the Airflow UI.

A FastAPI app mounted by the api-server under /bang-theo-doi and a menu entry (external view) that shows it
inside the UI. For a chosen obligation it shows the matrix units x cycles (bhxh.reports.status), the reporting and
on-time rates per cycle, and links from each cell to the unit's mapped `validate` task instance of the cycle's
run and to the submitted file.

Plugin FastAPI apps get no authentication from Airflow by themselves: every route here depends on
`_current_user`, which runs Airflow's own `get_user` (the Bearer token, else the UI's `_token` cookie,
validated by the auth manager's JWT validator). Without a valid token the answer is 401 (with a link and a
browser redirect to the login page); the user must also be allowed to read the obligation DAG's task
instances (auth manager's `is_authorized_dag`).

Imports of Airflow's API internals and of the domain package stay inside the functions: plugins are loaded by
every Airflow component, and only the api-server needs them.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import unicodedata
from pathlib import PurePosixPath, PureWindowsPath
from typing import Annotated, Any
from urllib.parse import quote, urlparse

from airflow.plugins_manager import AirflowPlugin
from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

log = logging.getLogger(__name__)

URL_PREFIX = "/bang-theo-doi"
MENU_NAME = "Bảng theo dõi báo cáo"
STORE_CONN_ID = "bhxh_store"  # the same connection dags/common/wiring.py reads
TEMPLATE = "status/board.html.j2"
MEDIA_TYPES = {
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".csv": "text/csv; charset=utf-8",
}

_bearer = HTTPBearer(auto_error=False)

app = FastAPI(
    title="Bảng theo dõi báo cáo BHXH",
    docs_url=None,
    redoc_url=None,
    openapi_url=None,
)


class NotLoggedIn(Exception):
    def __init__(self, detail: str) -> None:
        self.detail = detail


def _login_url(next_url: str | None = None) -> str:
    try:
        from airflow.api_fastapi.app import get_auth_manager

        return get_auth_manager().get_url_login(next_url=next_url)
    except Exception:  # an auth manager without a login page
        return _ui_base() + "/"


@app.exception_handler(NotLoggedIn)
async def _not_logged_in(request: Request, exc: NotLoggedIn) -> HTMLResponse:
    from markupsafe import escape

    login = escape(_login_url(str(request.url)))
    body = (
        "<!doctype html><html lang='vi'><head><meta charset='utf-8'>"
        f"<meta http-equiv='refresh' content='2;url={login}'><title>Cần đăng nhập</title></head><body>"
        "<p>Cần đăng nhập Airflow để xem bảng theo dõi báo cáo. / Log in to Airflow to see the status board.</p>"
        f"<p><a href='{login}' target='_top'>Đăng nhập / Log in</a></p></body></html>"
    )
    return HTMLResponse(body, status_code=401, headers={"WWW-Authenticate": "Bearer", "Cache-Control": "no-store"})


async def _current_user(
    request: Request, bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Any:
    """The logged-in Airflow user, through Airflow's own dependency (Bearer header, else `_token` cookie)."""
    from airflow.api_fastapi.core_api.security import get_user

    try:
        return await get_user(request, None, bearer)
    except HTTPException as exc:
        if exc.status_code in (401, 403):  # missing, expired or forged token: not logged in
            raise NotLoggedIn(str(exc.detail)) from None
        raise


UserDep = Annotated[Any, Depends(_current_user)]


def _may_read(user: Any, dag_id: str) -> bool:
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity, DagDetails

    return get_auth_manager().is_authorized_dag(
        method="GET", access_entity=DagAccessEntity.TASK_INSTANCE, details=DagDetails(id=dag_id), user=user
    )


def _ui_base() -> str:
    """The UI's path prefix ('' when Airflow is served at the root), from [api] base_url."""
    from airflow.configuration import conf

    return urlparse(conf.get("api", "base_url", fallback="") or "").path.rstrip("/")


def store_url() -> str:
    """The store URL from the `bhxh_store` connection (extra `url`), else $BHXH_STORE_URL / the default.

    Same lookup as dags/common/wiring.store_url (dags/ is not on the api-server's sys.path), read through the
    server-side secrets backends (environment variables, metadata DB).
    """
    from airflow.models.connection import Connection

    from bhxh.store.engine import default_url

    try:
        conn = Connection.get_connection_from_secrets(STORE_CONN_ID)
    except Exception:  # no such connection
        return default_url()
    return conn.extra_dejson.get("url") or default_url()


def cycle_runs(dag_id: str, cycles: list) -> dict[str, str]:
    """The latest run id of each shown cycle: a run's conf `cycle`, else the cycle whose period is its data interval."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import select

    by_start = {c.interval_start: c.key for c in cycles}
    found: dict[str, str] = {}
    with create_session() as session:
        rows = session.execute(
            select(DagRun.run_id, DagRun.conf, DagRun.data_interval_start).where(DagRun.dag_id == dag_id).order_by(DagRun.id)
        ).all()
    for run_id, conf, start in rows:
        key = (conf or {}).get("cycle") if isinstance(conf, dict) else None
        if not key and start is not None:
            key = by_start.get(start)
        if key:
            found[str(key)] = run_id
    return found


def task_url(dag_id: str, run_id: str | None, map_index: int) -> str:
    """The mapped task instance in the Airflow 3 UI (/dags/D/runs/R/tasks/validate/mapped/I)."""
    base = _ui_base()
    if run_id is None:
        return f"{base}/dags/{quote(dag_id, safe='')}/runs"
    return f"{base}/dags/{quote(dag_id, safe='')}/runs/{quote(run_id, safe='')}/tasks/validate/mapped/{map_index}"


@app.get("/", response_class=HTMLResponse)
def board(
    request: Request,
    user: UserDep,
    obligation: Annotated[str | None, Query(max_length=64)] = None,
    so_ky: Annotated[int, Query(ge=1, le=40)] = 10,
    den_ngay: Annotated[dt.date | None, Query()] = None,
) -> HTMLResponse:
    from bhxh.calendar.catalogue import default_catalogue
    from bhxh.calendar.cycles import TZ
    from bhxh.calendar.units import default_registry
    from bhxh.reports.status import STATE_VI, STATES, dag_id_for, status_matrix
    from bhxh.store.engine import session_factory
    from bhxh.templating import environment

    catalogue = default_catalogue()
    allowed = [ob for ob in catalogue if _may_read(user, dag_id_for(ob.id))]
    if not allowed:
        raise HTTPException(403, "Không có quyền xem nghĩa vụ báo cáo nào / not allowed to read any obligation")
    ids = [ob.id for ob in allowed]
    if obligation is None:
        obligation = ids[0]
    if obligation not in catalogue.obligations:
        raise HTTPException(404, "Không có nghĩa vụ báo cáo này / unknown obligation")
    if obligation not in ids:
        raise HTTPException(403, "Không có quyền xem nghĩa vụ báo cáo này / not allowed")
    today = dt.datetime.now(TZ).date()
    until = den_ngay or today
    now = dt.datetime.now(TZ) if until == today else None
    with session_factory(store_url())() as session:
        matrix = status_matrix(session, obligation, until=until, registry=default_registry(), catalogue=catalogue,
                               limit=so_ky, now=now)
    try:
        runs = cycle_runs(matrix.dag_id, [c.cycle for c in matrix.columns])
    except Exception:  # the page still works without links to runs
        log.exception("status board: cannot read the DAG runs of %s", matrix.dag_id)
        runs = {}
    html = environment().get_template(TEMPLATE).render(
        matrix=matrix,
        obligations=allowed,
        selected=obligation,
        runs=runs,
        task_url=task_url,
        submission_url=lambda sub_id: f"{_ui_base()}{URL_PREFIX}/nop/{int(sub_id)}",
        tasks_url=lambda sub_id: f"{_ui_base()}{URL_PREFIX}/nhiem-vu/{int(sub_id)}",
        page_url=f"{_ui_base()}{URL_PREFIX}/",
        states=STATES,
        state_vi=STATE_VI,
        until=until,
        so_ky=so_ky,
        user_name=getattr(user, "get_name", lambda: "")(),
        generated_at=dt.datetime.now(TZ),
    )
    return HTMLResponse(html, headers={"Cache-Control": "no-store"})


def _safe_names(original: str) -> tuple[str, str]:
    """(ASCII fallback, UTF-8 name) for Content-Disposition: no path, no quotes, no control characters."""
    name = PureWindowsPath(PurePosixPath(original or "").name).name
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C" and ch not in '"\\/;')
    name = name.strip(" .") or "bao_cao"
    ascii_name = unicodedata.normalize("NFKD", name.replace("đ", "d").replace("Đ", "D"))
    ascii_name = re.sub(r"[^A-Za-z0-9._-]+", "_", ascii_name.encode("ascii", "ignore").decode()).strip("._") or "bao_cao"
    return ascii_name[:150], name[:150]


def _readable_submission(session, submission_id: int, user: Any):
    """The submission, if it exists (404) and the user may read its obligation's DAG (403)."""
    from bhxh.calendar.catalogue import dag_id_for
    from bhxh.store.models import Submission

    sub = session.get(Submission, submission_id)
    if sub is None:
        raise HTTPException(404, "Không có bản báo cáo này / no such submission")
    if not sub.obligation_id or not _may_read(user, dag_id_for(sub.obligation_id)):
        raise HTTPException(403, "Không có quyền / not allowed")
    return sub


@app.get("/nop/{submission_id}", name="submission")
def submission_file(submission_id: int, user: UserDep) -> Response:
    """The file exactly as the unit sent it, always as a download (never rendered in the browser)."""
    from bhxh.store.engine import session_factory
    from bhxh.store.models import StoredFile

    with session_factory(store_url())() as session:
        sub = _readable_submission(session, submission_id, user)
        stored = session.get(StoredFile, sub.sha256)
        content, original = stored.content, sub.original_name
    ascii_name, name = _safe_names(original)
    suffix = PurePosixPath(ascii_name).suffix.lower()
    headers = {
        "Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "sandbox; default-src 'none'",
        "Cache-Control": "private, no-store",
    }
    return Response(content, media_type=MEDIA_TYPES.get(suffix, "application/octet-stream"), headers=headers)


@app.get("/nhiem-vu/{submission_id}", response_class=HTMLResponse, name="task_statuses")
def task_statuses(submission_id: int, user: UserDep) -> HTMLResponse:
    """The task statuses a unit reported in one submission (plan-based reports): the task sheets as read."""
    from bhxh.calendar.units import default_registry
    from bhxh.store.engine import session_factory
    from bhxh.templating import environment

    with session_factory(store_url())() as session:
        sub = _readable_submission(session, submission_id, user)
        tasks = list((sub.data or {}).get("tasks") or [])
        registry = default_registry()
        unit_name = registry.get(sub.unit_id).name if sub.unit_id in registry else sub.unit_id
        html = environment().get_template("status/tasks.html.j2").render(
            sub=sub, tasks=tasks, unit_name=unit_name, errors=sub.errors or [],
            submission_url=f"{_ui_base()}{URL_PREFIX}/nop/{int(submission_id)}", back_url=f"{_ui_base()}{URL_PREFIX}/",
        )
    return HTMLResponse(html, headers={"Cache-Control": "no-store"})


class StatusBoardPlugin(AirflowPlugin):
    name = "bhxh_status_board"
    fastapi_apps = [{"app": app, "url_prefix": URL_PREFIX, "name": MENU_NAME}]
    external_views = [
        {
            "name": MENU_NAME,
            "href": URL_PREFIX + "/",
            "url_route": "bang-theo-doi",
            "destination": "nav",
            "nav_top_level": True,
        }
    ]
