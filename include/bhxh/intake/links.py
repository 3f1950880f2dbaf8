"""A unit's personal link to the portal ("đường dẫn nộp báo cáo"): a token signed for that unit (and optionally one
obligation and cycle) with an expiry, carried by the call for reports and every reminder.

The token is `payload.mac` (base64url): the payload names the unit, the obligation and cycle if any, the unit's
key version and the expiry; the MAC is HMAC-SHA256 under a key derived for that unit from the portal's secret
and the unit's current key version (table portal_keys). Raising the version (`rotate`) changes the unit's key,
so every link it was given stops working and no other unit's link changes. The secret is $BHXH_PORTAL_SECRET;
without it a fixed development secret is used, and only while the portal's address is on loopback.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import ipaddress
import json
import os
import time
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from bhxh.errors import BhxhError
from bhxh.store.engine import utcnow
from bhxh.store.models import PortalKey

DEFAULT_BASE_URL = "http://127.0.0.1:8090"
DEV_SECRET = "bhxh-portal-development-secret-loopback-only"  # noqa: S105 (refused unless the portal is on loopback)
LINK_DAYS = 60  # a call goes out about four weeks before the deadline; its link must outlive the overdue notices
MAX_TOKEN_CHARS = 600


class LinkError(BhxhError):
    """A link that cannot be trusted: tampered, expired, revoked or for no known unit (the portal answers 401)."""


class PortalConfigError(BhxhError):
    """The portal is exposed beyond loopback without its own secret."""


@dataclass(frozen=True)
class PortalSettings:
    base_url: str
    secret: bytes
    link_days: int = LINK_DAYS

    @property
    def secure(self) -> bool:
        return urlsplit(self.base_url).scheme == "https"


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def portal_settings(env: dict[str, str] | None = None) -> PortalSettings:
    """From $BHXH_PORTAL_URL (the address units open, default http://127.0.0.1:$BHXH_PORTAL_PORT, port 8090),
    $BHXH_PORTAL_SECRET and $BHXH_PORTAL_LINK_DAYS. Raises PortalConfigError for a non-loopback address without a secret."""
    env = os.environ if env is None else env
    default = f"http://127.0.0.1:{env['BHXH_PORTAL_PORT']}" if env.get("BHXH_PORTAL_PORT") else DEFAULT_BASE_URL
    base = (env.get("BHXH_PORTAL_URL") or default).rstrip("/")
    secret = env.get("BHXH_PORTAL_SECRET") or ""
    if not secret:
        if not is_loopback(urlsplit(base).hostname):
            raise PortalConfigError(
                f"Cổng nộp báo cáo có địa chỉ {base} nhưng chưa đặt BHXH_PORTAL_SECRET; hãy đặt một chuỗi bí mật dài.",
                f"The portal is at {base} but BHXH_PORTAL_SECRET is not set; set a long random secret.",
                code="portal_secret_missing",
            )
        secret = DEV_SECRET
    days = int(env.get("BHXH_PORTAL_LINK_DAYS") or LINK_DAYS)
    return PortalSettings(base, secret.encode(), days)


# -- key versions ------------------------------------------------------------------------------------------
def key_version(session: Session, unit_id: str) -> int:
    row = session.get(PortalKey, unit_id)
    return row.version if row else 1


def key_versions(session: Session, unit_ids: list[str]) -> dict[str, int]:
    found = dict(session.execute(select(PortalKey.unit_id, PortalKey.version).where(PortalKey.unit_id.in_(unit_ids))).all())
    return {u: found.get(u, 1) for u in unit_ids}


def rotate(session: Session, unit_id: str) -> int:
    """A new key version for the unit: every link it was given so far is revoked. Returns the new version."""
    row = session.get(PortalKey, unit_id)
    if row is None:
        row = PortalKey(unit_id=unit_id, version=1, rotated_at=utcnow())
        session.add(row)
    row.version += 1
    row.rotated_at = utcnow()
    session.flush()
    return row.version


# -- tokens ------------------------------------------------------------------------------------------------
def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _unit_key(secret: bytes, unit_id: str, version: int) -> bytes:
    return hmac.new(secret, f"bhxh-portal-unit|{unit_id}|{version}".encode(), hashlib.sha256).digest()


@dataclass(frozen=True)
class Grant:
    """What a valid token lets its holder do: act as `unit_id`, for one obligation and cycle if they are set."""

    unit_id: str
    obligation_id: str | None
    cycle_key: str | None
    version: int
    expires_at: dt.datetime

    def allows(self, obligation_id: str, cycle_key: str) -> bool:
        return (self.obligation_id in (None, obligation_id)) and (self.cycle_key in (None, cycle_key))


def mint(settings: PortalSettings, unit_id: str, version: int, *, obligation_id: str | None = None,
         cycle_key: str | None = None, now: float | None = None) -> str:
    expires = int((now or time.time()) + settings.link_days * 86400)
    payload = {"u": unit_id, "o": obligation_id, "c": cycle_key, "v": version, "x": expires}
    body = _b64(json.dumps(payload, separators=(",", ":"), ensure_ascii=True).encode())
    mac = hmac.new(_unit_key(settings.secret, unit_id, version), body.encode(), hashlib.sha256).digest()
    return f"{body}.{_b64(mac)}"


def link_url(settings: PortalSettings, token: str) -> str:
    return f"{settings.base_url}/vao?{urlencode({'t': token})}"


def _bad(what_vi: str, what_en: str, code: str) -> LinkError:
    return LinkError(
        f"Đường dẫn không hợp lệ ({what_vi}). Hãy dùng đường dẫn trong thư đề nghị báo cáo hoặc thư nhắc hạn mới nhất.",
        f"The link is not valid ({what_en}). Use the link in the latest call-for-reports or reminder e-mail.",
        code=code,
    )


def verify(settings: PortalSettings, token: str, session: Session, *, now: float | None = None) -> Grant:
    """The grant of a token, or LinkError (tampered, malformed, expired, revoked)."""
    if not token or len(token) > MAX_TOKEN_CHARS or token.count(".") != 1:
        raise _bad("sai định dạng", "malformed", "link_malformed")
    body, mac = token.split(".")
    try:
        payload = json.loads(_unb64(body))
        unit_id, version, expires = payload["u"], payload["v"], payload["x"]
        obligation_id, cycle_key = payload.get("o"), payload.get("c")
        given = _unb64(mac)
    except (ValueError, KeyError, TypeError):
        raise _bad("sai định dạng", "malformed", "link_malformed") from None
    if not (isinstance(unit_id, str) and isinstance(version, int) and isinstance(expires, int)) or len(unit_id) > 64:
        raise _bad("sai định dạng", "malformed", "link_malformed")
    if not all(v is None or (isinstance(v, str) and len(v) <= 64) for v in (obligation_id, cycle_key)):
        raise _bad("sai định dạng", "malformed", "link_malformed")
    current = key_version(session, unit_id)
    expected = hmac.new(_unit_key(settings.secret, unit_id, current), body.encode(), hashlib.sha256).digest()
    if version != current:
        # a rotated key: the old link is revoked (its MAC, made with the old key, is not even looked at)
        raise _bad("đã bị thu hồi", "revoked", "link_revoked")
    if not hmac.compare_digest(expected, given):
        raise _bad("chữ ký không khớp", "signature mismatch", "link_tampered")
    if expires < (now or time.time()):
        raise _bad("đã hết hạn", "expired", "link_expired")
    return Grant(unit_id, obligation_id, cycle_key, version, dt.datetime.fromtimestamp(expires, dt.UTC))


def csrf_token(settings: PortalSettings, token: str) -> str:
    """The form token bound to a session's link token (double submit: a cross-site form cannot know it)."""
    return _b64(hmac.new(settings.secret, b"bhxh-portal-csrf|" + token.encode(), hashlib.sha256).digest())


class UnitLinks:
    """Links for the messages of a run: one key-version query for all the units it writes to."""

    def __init__(self, session: Session, settings: PortalSettings) -> None:
        self.session, self.settings = session, settings
        self._versions: dict[str, int] = {}

    def __call__(self, unit_id: str, obligation_id: str | None = None, cycle_key: str | None = None) -> str:
        if unit_id not in self._versions:
            self._versions[unit_id] = key_version(self.session, unit_id)
        token = mint(self.settings, unit_id, self._versions[unit_id], obligation_id=obligation_id, cycle_key=cycle_key)
        return link_url(self.settings, token)

    def prefetch(self, unit_ids: list[str]) -> None:
        self._versions.update(key_versions(self.session, [u for u in unit_ids if u not in self._versions]))
