"""The unit portal ("cổng nộp báo cáo"): a small web application for reporting units, apart from the Airflow UI
(units never reach Airflow). A unit enters by its personal link (bhxh.intake.links); it sees its open
obligations with both deadlines and the legal wording, downloads its pre-filled template, uploads its signed
report and data appendix in one form, and gets at once the validation result and a receipt, also sent by
e-mail through the outbox; it sees the history of its versions. Uploads go through bhxh.intake.parcels: the
same intake and limits as the mailbox and the inbox folder.

Access: no token -> 401 with a page saying how to get a link; a tampered, expired or revoked token -> 401; a
valid token for another unit (or for another obligation or cycle than its own) -> 403. The token travels in
an HttpOnly cookie set by /vao (or as `Authorization: Bearer` for scripts); forms carry a CSRF token bound to
it. `Accept: application/json` on the upload answers with the receipt as JSON.
"""

from __future__ import annotations

import datetime as dt
import hmac
import re
import secrets
from collections.abc import Callable
from urllib.parse import quote, urlsplit

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool

from bhxh.calendar.catalogue import default_catalogue
from bhxh.calendar.cycles import TZ
from bhxh.calendar.units import default_registry
from bhxh.errors import BhxhError
from bhxh.intake import links
from bhxh.intake.parcels import Delivery, outcome_of, take
from bhxh.intake.reading import MAX_FILE_BYTES
from bhxh.intake.signatures import ABSENT, STATE_TEXT, TrustRoots, check_document
from bhxh.notify.outbox import enqueue
from bhxh.portal import views
from bhxh.portal.uploads import Upload, UploadError, read_upload
from bhxh.steps.receipts import parcel_messages, receipt_context, receipt_json
from bhxh.store.engine import init_store, session_factory
from bhxh.store.models import Parcel
from bhxh.templating import render

COOKIE = "bhxh_portal"
_UPLOAD_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",  # the entry URL carries the token: never sent to another site
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
}


class Refused(BhxhError):
    """An answer other than 200: `status` with a bilingual message (rendered as a page, or JSON)."""

    def __init__(self, status: int, message_vi: str, message_en: str, *, code: str) -> None:
        super().__init__(message_vi, message_en, code=code)
        self.status = status


def wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


def create_app(
    *,
    store_url: str | None = None,
    settings: links.PortalSettings | None = None,
    clock: Callable[[], dt.datetime] | None = None,
    trust: TrustRoots | None = None,
) -> FastAPI:
    """The portal's application. `clock`: the server's time of receipt (the tests set it; never the client)."""
    settings = settings or links.portal_settings()
    url = init_store(store_url)
    maker = session_factory(url)
    clock = clock or (lambda: dt.datetime.now(dt.UTC))
    trust = trust or TrustRoots()
    catalogue, registry = default_catalogue(), default_registry()
    app = FastAPI(title="Cổng nộp báo cáo BHXH", docs_url=None, redoc_url=None, openapi_url=None)

    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        response = await call_next(request)
        for key, value in HEADERS.items():
            response.headers.setdefault(key, value)
        return response

    @app.exception_handler(Refused)
    async def refused(request: Request, exc: Refused) -> Response:
        if wants_json(request):
            return JSONResponse(exc.as_dict(), status_code=exc.status)
        page = "portal/no_link.html.j2" if exc.status == 401 else "portal/error.html.j2"
        return HTMLResponse(render(page, error=exc, status=exc.status), status_code=exc.status)

    @app.exception_handler(UploadError)
    async def bad_upload(request: Request, exc: UploadError) -> Response:
        return await refused(request, Refused(exc.status, exc.message_vi, exc.message_en, code=exc.code))

    def html(template: str, status: int = 200, **context) -> HTMLResponse:
        return HTMLResponse(render(f"portal/{template}", **context), status_code=status)

    def grant_for(request: Request, unit_id: str) -> tuple[links.Grant, str, bool]:
        """The request's grant, its token and whether it came in the cookie; 401 or 403 otherwise."""
        header = request.headers.get("authorization", "")
        token, via_cookie = (header[7:].strip(), False) if header.lower().startswith("bearer ") else (request.cookies.get(COOKIE, ""), True)
        if not token:
            raise Refused(401, "Cần đường dẫn nộp báo cáo của đơn vị.", "The unit's portal link is needed.", code="no_link")
        try:
            with maker() as session:
                grant = links.verify(settings, token, session)
        except links.LinkError as exc:
            raise Refused(401, exc.message_vi, exc.message_en, code=exc.code) from None
        if grant.unit_id not in registry:
            raise Refused(401, "Đường dẫn không thuộc đơn vị nào trong danh mục.", "The link is for no unit of the registry.", code="link_unknown_unit")
        if grant.unit_id != unit_id:
            raise Refused(403, "Đường dẫn này là của đơn vị khác: mỗi đơn vị chỉ xem và nộp báo cáo của mình.",
                          "This link belongs to another unit: a unit only sees and sends its own reports.", code="other_unit")
        return grant, token, via_cookie

    def allowed(grant: links.Grant, obligation_id: str, cycle_key: str):
        if not grant.allows(obligation_id, cycle_key):
            raise Refused(403, "Đường dẫn này chỉ dùng cho báo cáo và kỳ ghi trong thư đề nghị.",
                          "This link is for the report and period of its call only.", code="other_report")
        plan = views.expected_in(grant.unit_id, obligation_id, cycle_key)
        if plan is None:
            raise Refused(404, "Đơn vị không phải báo cáo kỳ này.", "The unit does not report in this cycle.", code="not_expected")
        if plan.cycle.period_start > clock().astimezone(TZ).date():
            raise Refused(404, "Kỳ báo cáo này chưa bắt đầu.", "This reporting period has not started yet.", code="not_open")
        return plan

    @app.get("/", response_class=HTMLResponse)
    def home() -> HTMLResponse:
        return html("no_link.html.j2", error=None, status=200)

    @app.get("/suc-khoe")
    def health() -> dict:
        return {"ok": True}

    @app.get("/vao")
    def enter(t: str = "") -> Response:
        try:
            with maker() as session:
                grant = links.verify(settings, t, session)
        except links.LinkError as exc:
            raise Refused(401, exc.message_vi, exc.message_en, code=exc.code) from None
        target = f"/don-vi/{quote(grant.unit_id)}"
        if grant.obligation_id and grant.cycle_key:
            target += f"?bao_cao={quote(grant.obligation_id)}&ky={quote(grant.cycle_key)}"
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(COOKIE, t, httponly=True, samesite="lax", secure=settings.secure, path="/")
        return response

    @app.get("/don-vi/{unit_id}", response_class=HTMLResponse)
    def unit_page(request: Request, unit_id: str) -> HTMLResponse:
        grant, token, _ = grant_for(request, unit_id)
        also = (grant.obligation_id, grant.cycle_key) if grant.obligation_id and grant.cycle_key else None
        with maker() as session:
            cycles = views.open_for(session, unit_id, clock(), also=also)
            if grant.obligation_id:
                cycles = [c for c in cycles if grant.allows(c.obligation.id, c.cycle.key)]
            past = views.history(session, unit_id, catalogue)
        unit = registry.get(unit_id)
        return html("unit.html.j2", unit=unit, unit_name=cycles[0].unit_name if cycles else unit.name, grant=grant,
                    cycles=cycles, history=past, csrf=links.csrf_token(settings, token), upload_id=secrets.token_urlsafe(24),
                    state_vi=views.STATE_VI, max_mb=MAX_FILE_BYTES // 1024 // 1024, registry=registry,
                    selected=(request.query_params.get("bao_cao"), request.query_params.get("ky")))

    @app.get("/don-vi/{unit_id}/mau/{obligation_id}/{cycle_key}")
    def template_file(request: Request, unit_id: str, obligation_id: str, cycle_key: str) -> Response:
        grant, _, _ = grant_for(request, unit_id)
        plan = allowed(grant, obligation_id, cycle_key)
        name, content = views.template_xlsx(plan, unit_id)
        return Response(content, media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})

    @app.post("/don-vi/{unit_id}/nop")
    async def upload(request: Request, unit_id: str) -> Response:
        grant, token, via_cookie = await run_in_threadpool(grant_for, request, unit_id)
        origin = request.headers.get("origin")
        if via_cookie and origin and origin not in (_origin(settings.base_url), _origin(str(request.base_url))):
            raise Refused(403, "Yêu cầu không xuất phát từ cổng nộp báo cáo.", "The request did not come from the portal.", code="csrf")
        form = await read_upload(request)
        received_at = clock()  # the whole upload has arrived: this is when the department's side received it
        if via_cookie and not hmac.compare_digest(form.fields.get("csrf", ""), links.csrf_token(settings, token)):
            raise Refused(403, "Biểu mẫu đã hết hiệu lực; hãy tải lại trang và gửi lại.", "The form has expired; reload the page and send again.", code="csrf")
        obligation_id, cycle_key = form.fields.get("obligation", ""), form.fields.get("cycle", "")
        await run_in_threadpool(allowed, grant, obligation_id, cycle_key)
        upload_id = form.fields.get("upload_id") or request.headers.get("idempotency-key") or secrets.token_urlsafe(24)
        if not _UPLOAD_ID.match(upload_id):
            raise Refused(400, "Mã lần gửi không hợp lệ.", "Invalid upload id.", code="upload_id")
        delivery = Delivery("portal", f"{unit_id}:{upload_id}", received_at, None, unit_id, obligation_id, cycle_key)
        outcome = await run_in_threadpool(_store, form, delivery)
        if wants_json(request):
            return JSONResponse(receipt_json(outcome, catalogue, registry), status_code=200 if outcome.already else 201)
        return html("receipt.html.j2", **receipt_context(outcome, catalogue, registry), signature_texts=STATE_TEXT, fresh=True)

    def _store(form: Upload, delivery: Delivery):
        appendix, document = form.files.get("appendix"), form.files.get("document")
        if appendix is None or appendix.kind not in ("xlsx", "csv"):
            raise UploadError("Hãy chọn phụ lục số liệu: tệp .xlsx (hoặc .csv) theo biểu mẫu tải về ở trang này.",
                              "Choose the data appendix: the .xlsx (or .csv) file made from the template on this page.", code="no_appendix")
        if document is not None and document.kind not in ("pdf", "docx"):
            raise UploadError("Văn bản báo cáo có chữ ký phải là tệp PDF (hoặc DOCX).", "The signed report must be a PDF (or DOCX) file.", code="not_a_document")
        signature = check_document(document.content, document.kind, trust.get()) if document else ABSENT
        for attempt in (1, 2):
            try:
                with maker() as session, session.begin():
                    outcome = take(session, [f for f in (appendix, document) if f], delivery, roots=trust.get(), signature=signature,
                                   catalogue=catalogue, registry=registry)
                    enqueue(session, parcel_messages(outcome, catalogue=catalogue, registry=registry))
                return outcome
            except IntegrityError:  # the same form sent twice at once: the other request stored it; answer with its receipt
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    @app.get("/don-vi/{unit_id}/bien-nhan/{number}")
    def receipt_page(request: Request, unit_id: str, number: str) -> Response:
        grant_for(request, unit_id)
        with maker() as session:
            parcel = session.scalar(select(Parcel).where(Parcel.receipt_number == number[:32], Parcel.unit_id == unit_id))
            if parcel is None:
                raise Refused(404, "Không có giấy biên nhận này.", "No such receipt.", code="no_receipt")
            outcome = outcome_of(session, parcel)
        if wants_json(request):
            return JSONResponse(receipt_json(outcome, catalogue, registry))
        return html("receipt.html.j2", **receipt_context(outcome, catalogue, registry), signature_texts=STATE_TEXT, fresh=False)

    return app


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
