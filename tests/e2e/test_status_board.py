"""The status board plugin against a running Airflow api-server, in Debian's headless Chromium.

The store holds the demo's sample data for nq51_action_programme 2019, every unit checked in-process with
bhxh.steps.cycle.validate_unit (what the cycle run's `validate` tasks do). The test logs in through Airflow's API
(SimpleAuthManager, POST /auth/token with the generated admin password), checks that the page refuses a
request without a valid token, then loads it in Chromium with the token in the `_token` cookie, as the Airflow
UI sets it after login, and compares the counts shown with bhxh.reports.consolidation.completeness.

Chromium is driven through the DevTools protocol over `--remote-debugging-pipe` (stdlib only: no selenium, no
websocket client): the cookie is set with Network.setCookie, the page is loaded, its DOM read and a screenshot
kept in out/test-artifacts/status_board.png. Install the browser with scripts/install_chromium.sh.

The helpers here (AirflowProcess, Chromium) are also used by test_rerun_rest.py.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from bhxh.devservers import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "out" / "test-artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
OB, CYCLE = "nq51_action_programme", "2019"


# -- a real Airflow on loopback -------------------------------------------------------------------------
class AirflowProcess:
    """`airflow api-server` (or `airflow standalone`) with a throw-away AIRFLOW_HOME, stopped with all it started."""

    def __init__(self, home: Path, *, command: str = "api-server", env: dict[str, str] | None = None) -> None:
        self.home = home
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.command = command
        self.proc: subprocess.Popen | None = None
        self.log = home / f"{command}.log"
        self.env = {
            **os.environ,
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DEFAULT_TIMEZONE": "Asia/Ho_Chi_Minh",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.base}/execution/",
            "AIRFLOW__API__PORT": str(self.port),
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__API_AUTH__JWT_SECRET": "bhxh-e2e-" + home.name,
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
            "BHXH_TEMPLATES_DIR": str(ROOT / "templates"),
            **(env or {}),
        }

    def start(self, timeout: float = 150) -> AirflowProcess:
        self.home.mkdir(parents=True, exist_ok=True)
        subprocess.run(["airflow", "db", "migrate"], env=self.env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        args = ["airflow", "standalone"] if self.command == "standalone" else ["airflow", "api-server", "--port", str(self.port)]
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(args, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"airflow {self.command} exited: {self.log.read_text(errors='replace')[-3000:]}")
            try:
                with urllib.request.urlopen(f"{self.base}/api/v2/monitor/health", timeout=3) as r:  # noqa: S310 (http on loopback)
                    if r.status == 200 and self.password_file.exists():
                        return self
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(1)
        raise RuntimeError(f"airflow {self.command} not ready in {timeout}s: {self.log.read_text(errors='replace')[-3000:]}")

    @property
    def password_file(self) -> Path:
        return self.home / "simple_auth_manager_passwords.json.generated"

    def login(self, username: str = "admin") -> str:
        """A JWT from Airflow's login endpoint, with the password the SimpleAuthManager generated."""
        password = json.loads(self.password_file.read_text())[username]
        status, body, _ = http("POST", f"{self.base}/auth/token", {"username": username, "password": password})
        assert status in (200, 201), body
        return json.loads(body)["access_token"]

    def stop(self) -> None:
        """SIGTERM to the process group started here, then SIGKILL; then any process left behind that runs
        with this AIRFLOW_HOME (LocalExecutor workers can outlive `standalone`)."""
        if self.proc is None:
            return
        pgid = self.proc.pid
        for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
            try:
                os.killpg(pgid, sig)
            except ProcessLookupError:
                break
            try:
                self.proc.wait(wait)
                time.sleep(1)
            except subprocess.TimeoutExpired:
                continue
        for pid in _pids_with_env("AIRFLOW_HOME", str(self.home)):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.proc = None


def _pids_with_env(name: str, value: str) -> list[int]:
    needle = f"{name}={value}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if needle in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def http(method: str, url: str, body: dict | None = None, *, token: str | None = None, cookie: str | None = None):
    headers = {"Content-Type": "application/json"} if body is not None else {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if cookie:
        headers["Cookie"] = f"_token={cookie}"
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310 (http on loopback)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:  # noqa: S310
            return r.status, r.read(), dict(r.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), dict(exc.headers)


# -- headless Chromium over the DevTools pipe --------------------------------------------------------------
class Chromium:
    """Debian's chromium, headless, driven through the DevTools protocol on fds 3/4 (--remote-debugging-pipe)."""

    FLAGS = (
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-dev-shm-usage", "--hide-scrollbars", "--remote-debugging-pipe",
    )

    def __init__(self, profile: Path) -> None:
        to_child_r, self._to_child = os.pipe()
        self._from_child, from_child_w = os.pipe()
        profile.mkdir(parents=True, exist_ok=True)
        # the browser reads commands on fd 3 and answers on fd 4
        self._log = open(profile / "chromium.log", "wb")  # noqa: SIM115 (closed in close())
        script = f'exec "$0" "$@" 3<&{to_child_r} 4>&{from_child_w} {to_child_r}<&- {from_child_w}>&-'
        self.proc = subprocess.Popen(
            ["bash", "-c", script, CHROMIUM, *self.FLAGS, f"--user-data-dir={profile}", "about:blank"],
            pass_fds=(to_child_r, from_child_w), stdout=subprocess.DEVNULL, stderr=self._log,
            start_new_session=True,
        )
        os.close(to_child_r)
        os.close(from_child_w)
        self._next = 0
        self._messages: queue.Queue = queue.Queue()
        self._events: list[dict] = []
        threading.Thread(target=self._read, daemon=True).start()
        self.session: str | None = None

    def _read(self) -> None:
        buf = b""
        while True:
            chunk = os.read(self._from_child, 1 << 16)
            if not chunk:
                self._messages.put(None)
                return
            buf += chunk
            while b"\0" in buf:
                raw, buf = buf.split(b"\0", 1)
                self._messages.put(json.loads(raw))

    def send(self, method: str, params: dict | None = None, *, session: bool = True, timeout: float = 60) -> dict:
        self._next += 1
        msg = {"id": self._next, "method": method, "params": params or {}}
        if session and self.session:
            msg["sessionId"] = self.session
        os.write(self._to_child, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            item = self._messages.get(timeout=max(0.1, deadline - time.monotonic()))
            if item is None:
                raise RuntimeError("chromium closed the DevTools pipe")
            if item.get("id") == self._next:
                if "error" in item:
                    raise RuntimeError(f"{method}: {item['error']}")
                return item.get("result", {})
            self._events.append(item)

    def wait_event(self, method: str, timeout: float = 60) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            for i, ev in enumerate(self._events):
                if ev.get("method") == method:
                    return self._events.pop(i)
            item = self._messages.get(timeout=max(0.1, deadline - time.monotonic()))
            if item is None:
                raise RuntimeError("chromium closed the DevTools pipe")
            self._events.append(item)

    def open_tab(self, width: int = 1600, height: int = 1000) -> None:
        target = self.send("Target.createTarget", {"url": "about:blank"}, session=False)["targetId"]
        self.session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True}, session=False)["sessionId"]
        for method in ("Page.enable", "Network.enable", "Runtime.enable"):
            self.send(method)
        self.send("Emulation.setDeviceMetricsOverride", {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})

    def set_cookie(self, base: str, name: str, value: str) -> None:
        assert self.send("Network.setCookie", {"name": name, "value": value, "url": base + "/", "path": "/", "httpOnly": True, "sameSite": "Lax"}).get("success", True)

    def navigate(self, url: str, timeout: float = 60) -> int:
        """Load `url`; returns the HTTP status of the document."""
        self._events.clear()
        frame = self.send("Page.navigate", {"url": url})
        assert not frame.get("errorText"), frame
        self.wait_event("Page.loadEventFired", timeout)
        statuses = [e["params"]["response"]["status"] for e in self._events if e.get("method") == "Network.responseReceived"
                    and e["params"].get("type") == "Document" and e["params"].get("frameId") == frame["frameId"]]
        return statuses[-1] if statuses else 0

    def evaluate(self, expression: str):
        return self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True})["result"].get("value")

    def screenshot(self, path: Path, full_page: bool = True) -> Path:
        params: dict = {"format": "png"}
        if full_page:
            size = self.send("Page.getLayoutMetrics")["cssContentSize"]
            params |= {"captureBeyondViewport": True,
                       "clip": {"x": 0, "y": 0, "width": min(size["width"], 4000), "height": min(size["height"], 8000), "scale": 1}}
        data = self.send("Page.captureScreenshot", params)["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path

    def close(self) -> None:
        with contextlib.suppress(Exception):  # the browser may already be gone
            self.send("Browser.close", session=False, timeout=5)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)
        for fd in (self._to_child, self._from_child):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._log.close()


def sample_store(tmp: Path, *, check: bool = True) -> tuple[str, dict]:
    """A store with the demo's sample files for nq51 2019 ingested (and every unit checked); returns (url, manifest)."""
    from bhxh.calendar.expected import plan_cycle
    from bhxh.cli.sample import generate, read_manifest
    from bhxh.intake.submission import ingest
    from bhxh.steps.cycle import validate_unit
    from bhxh.store.engine import init_store, session_factory

    url = init_store(f"sqlite:///{tmp / 'store.sqlite'}")
    inbox = tmp / "inbox"
    generate(inbox, OB, CYCLE)
    manifest = read_manifest(inbox)
    maker = session_factory(url)
    with maker() as session, session.begin():
        for item in manifest:
            path = Path(item.path)
            ingest(session, path.read_bytes(), path.name, dt.datetime.fromisoformat(item.received_at))
        if check:
            plan = plan_cycle(OB, CYCLE)
            for unit in plan.units:
                validate_unit(session, plan, unit.id)
    return url, {"items": manifest, "inbox": inbox}


# -- the test -----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def board_server(tmp_path_factory):
    if not Path(CHROMIUM).exists():
        pytest.fail("THIẾU / MISSING: chromium (/usr/bin/chromium): run scripts/install_chromium.sh (make test does)")
    tmp = tmp_path_factory.mktemp("status_board")
    store_url, _ = sample_store(tmp)
    server = AirflowProcess(tmp / "airflow_home", env={
        "AIRFLOW_CONN_BHXH_STORE": json.dumps({"conn_type": "generic", "extra": {"url": store_url}}),
    })
    try:
        server.start()
        yield {"server": server, "store_url": store_url, "tmp": tmp}
    finally:
        server.stop()


def _counts_from_dom(html: str, cycle: str) -> dict[str, str]:
    return dict(re.findall(rf'<td data-cycle="{cycle}" data-count="(\w+)">([^<]*)</td>', html))


def test_page_requires_airflow_login(board_server):
    base = board_server["server"].base
    status, body, headers = http("GET", f"{base}/bang-theo-doi/?obligation={OB}")
    assert status == 401
    assert "/auth/login" in body.decode()  # points the browser to Airflow's login
    assert http("GET", f"{base}/bang-theo-doi/?obligation={OB}", cookie="not.a.jwt")[0] == 401
    assert http("GET", f"{base}/bang-theo-doi/?obligation={OB}", token="eyJhbGciOiJIUzUxMiJ9.e30.x")[0] == 401  # noqa: S106 (a forged token)
    assert http("GET", f"{base}/bang-theo-doi/nop/1")[0] == 401
    token = board_server["server"].login()
    assert http("GET", f"{base}/bang-theo-doi/?obligation={OB}", token=token)[0] == 200
    # the plugin is registered with its menu entry for the UI
    status, body, _ = http("GET", f"{base}/api/v2/plugins", token=token)
    plugins = {p["name"]: p for p in json.loads(body)["plugins"]}
    assert any(v["name"] == "Bảng theo dõi báo cáo" for v in plugins["bhxh_status_board"]["external_views"])


def test_submission_download_is_an_attachment(board_server):
    from sqlalchemy import select

    from bhxh.store.engine import session_factory
    from bhxh.store.models import Submission

    base, token = board_server["server"].base, board_server["server"].login()
    with session_factory(board_server["store_url"])() as s:
        sub = s.scalars(select(Submission).order_by(Submission.id)).first()
    status, body, headers = http("GET", f"{base}/bang-theo-doi/nop/{sub.id}", token=token)
    assert status == 200
    disposition = headers["content-disposition"]
    assert disposition.startswith("attachment;") and f'filename="{sub.original_name}"' in disposition
    assert headers["x-content-type-options"] == "nosniff"
    assert len(body) == sub.size
    assert http("GET", f"{base}/bang-theo-doi/nop/999999", token=token)[0] == 404


def test_board_in_headless_chromium(board_server, tmp_path):
    from bhxh.calendar.expected import plan_cycle
    from bhxh.reports.consolidation import completeness
    from bhxh.store.engine import session_factory

    server = board_server["server"]
    token = server.login()
    with session_factory(board_server["store_url"])() as s:
        expected = completeness(s, plan_cycle(OB, CYCLE))
    browser = Chromium(tmp_path / "chromium-profile")
    started = time.monotonic()
    try:
        browser.open_tab()
        # without the cookie the browser gets the login redirect page (401)
        assert browser.navigate(f"{server.base}/bang-theo-doi/?obligation={OB}&den_ngay=2019-12-31") == 401
        browser.set_cookie(server.base, "_token", token)
        status = browser.navigate(f"{server.base}/bang-theo-doi/?obligation={OB}&den_ngay=2019-12-31")
        html = browser.evaluate("document.documentElement.outerHTML")
        shot = browser.screenshot(ARTIFACTS / "status_board.png")
        # the same page as the UI shows it: the plugin's menu entry opens it in an iframe
        ui_status = browser.navigate(f"{server.base}/plugin/bang-theo-doi")
        time.sleep(4)
        iframe_src = browser.evaluate("Array.from(document.querySelectorAll('iframe')).map(f => f.src).join(' ')")
        browser.screenshot(ARTIFACTS / "status_board_in_ui.png", full_page=False)
    finally:
        browser.close()
    print(f"chromium: {time.monotonic() - started:.1f}s; screenshot {shot}")
    assert status == 200, html[:2000]
    assert "Bảng theo dõi báo cáo" in html and "Đúng hạn" in html and "Chưa đến hạn" in html
    counts = _counts_from_dom(html, CYCLE)
    assert int(counts["expected"]) == expected["expected"] > 0
    for state, n in expected["counts"].items():
        assert int(counts[state]) == n, state
    assert counts["not_yet_due"] == "0"
    assert counts["checked"] == f"{expected['expected']}/{expected['expected']}"
    # every missing and invalid unit is shown as such, with a link to its mapped task and (if any) its file
    plan = plan_cycle(OB, CYCLE)
    index = {u.id: i for i, u in enumerate(plan.units)}
    for unit_id in expected["missing"]:
        assert re.search(rf'<tr data-unit="{unit_id}">.*?data-cycle="{CYCLE}" data-state="missing" data-map-index="{index[unit_id]}"', html, re.S)
    for unit_id in expected["invalid"]:
        row = re.search(rf'<tr data-unit="{unit_id}">(.*?)</tr>', html, re.S).group(1)
        assert f'data-cycle="{CYCLE}" data-state="invalid"' in row and "/bang-theo-doi/nop/" in row
    assert "/dags/bao_cao_nq51_action_programme/runs" in html
    assert shot.stat().st_size > 10_000
    assert ui_status == 200 and "/bang-theo-doi/" in (iframe_src or ""), iframe_src
