"""A throw-away Dovecot IMAP server on loopback, for the tests, the benchmarks and trying `make pull-mail` out:
its own configuration, maildir and self-signed certificate in a temporary folder, IMAP (STARTTLS offered) and
IMAPS on free ports, one user. Nothing of /etc/dovecot is read. Install Dovecot with scripts/install_dovecot.sh.

    python -m bhxh.devmailbox      starts one and prints its imap:// URL until Ctrl-C

As root, Dovecot's own processes run as the package's users (dovecot, dovenull; imap-login refuses root) and
the mail as nobody; unprivileged, everything runs as the invoking user. The folder's path is kept short:
Dovecot's unix sockets live under it and a socket path cannot exceed 107 bytes.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import grp
import imaplib
import os
import pwd
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
from pathlib import Path

from bhxh.devservers import free_port

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"

CONF = """\
# throw-away Dovecot for bhxh tests: nothing from /etc/dovecot is read
protocols = imap
listen = 127.0.0.1
base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
info_log_path = {d}/dovecot.log
instance_name = bhxh-{imap}
default_internal_user = {internal_user}
default_internal_group = {internal_group}
default_login_user = {login_user}
first_valid_uid = {mail_uid}
last_valid_uid = {mail_uid}
first_valid_gid = {mail_gid}
last_valid_gid = {mail_gid}
mail_uid = {mail_uid}
mail_gid = {mail_gid}
disable_plaintext_auth = no
auth_failure_delay = 0
auth_mechanisms = plain login
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {d}/users
}}
userdb {{
  driver = static
  args = uid={mail_uid} gid={mail_gid} home={d}/mail/%u
}}
mail_location = maildir:~/Maildir
namespace inbox {{
  inbox = yes
  separator = /
}}
ssl = yes
ssl_cert = <{d}/cert.pem
ssl_key = <{d}/key.pem
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {imaps}
    ssl = yes
  }}
}}
service stats {{
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
"""


class Dovecot:
    """`with Dovecot() as server:` a started server; `server.url()` for the pull, `deliver()` to put mail in."""

    def __init__(self, user: str = "khth.khdt@bhxh.test", password: str = "mat-khau-thu") -> None:  # noqa: S107
        if not Path(DOVECOT).exists():
            raise RuntimeError("THIẾU / MISSING: dovecot (/usr/sbin/dovecot): run scripts/install_dovecot.sh (make test does)")
        self.user, self.password = user, password
        self.dir = Path(tempfile.mkdtemp(prefix="dc-"))
        self.imap_port, self.imaps_port = free_port(), free_port()
        self.proc: subprocess.Popen | None = None

    def url(self, *, tls: bool = False, **query: str) -> str:
        from urllib.parse import quote, urlencode

        scheme, port = ("imaps", self.imaps_port) if tls else ("imap", self.imap_port)
        q = ({"cafile": str(self.cafile)} if tls or query.get("starttls") == "1" else {}) | query
        return f"{scheme}://{quote(self.user)}:{quote(self.password)}@127.0.0.1:{port}/INBOX" + (f"?{urlencode(q)}" if q else "")

    @property
    def cafile(self) -> Path:
        return self.dir / "cert.pem"

    def start(self) -> Dovecot:
        d = self.dir
        for sub in ("run", "state", "mail"):
            (d / sub).mkdir(exist_ok=True)
        os.chmod(d, 0o755)  # noqa: S103 (Dovecot's unprivileged processes must reach their sockets)
        if not self.cafile.exists():
            subprocess.run(
                ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
                 "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", str(d / "key.pem"), "-out", str(self.cafile)],
                check=True, capture_output=True,
            )
            (d / "users").write_text(f"{self.user}:{{PLAIN}}{self.password}\n")
        uid, gid = os.getuid(), os.getgid()
        if uid == 0:
            internal_user, internal_group, login_user = "dovecot", "dovecot", "dovenull"
            mail_uid, mail_gid = pwd.getpwnam("nobody").pw_uid, grp.getgrnam("nogroup").gr_gid
        else:
            internal_user, login_user = pwd.getpwuid(uid).pw_name, pwd.getpwuid(uid).pw_name
            internal_group, mail_uid, mail_gid = grp.getgrgid(gid).gr_name, uid, gid
        os.chown(d / "mail", mail_uid, mail_gid)
        (d / "dovecot.conf").write_text(CONF.format(
            d=d, imap=self.imap_port, imaps=self.imaps_port, mail_uid=mail_uid, mail_gid=mail_gid,
            internal_user=internal_user, internal_group=internal_group, login_user=login_user,
        ))
        self.proc = subprocess.Popen([DOVECOT, "-F", "-c", str(d / "dovecot.conf")], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"dovecot exited: {self.log()[-2000:]}")
            if all(_listening(p) for p in (self.imap_port, self.imaps_port)):
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"dovecot did not listen in 15 s: {self.log()[-2000:]}")

    def log(self) -> str:
        path = self.dir / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        """SIGTERM to Dovecot (its master stops its children), SIGKILL to the group if it lingers."""
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(10)
        with contextlib.suppress(ProcessLookupError):  # sessions still open outlive the master: end them too
            os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(5)
        self.proc = None

    def kill(self) -> None:
        """The server goes away at once: SIGKILL to Dovecot and every process it started (open sessions too)."""
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(5)
        self.proc = None

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> Dovecot:
        return self.start()

    def __exit__(self, *_exc) -> None:
        self.cleanup()

    # -- putting mail in and looking at it ----------------------------------------------------------------
    def client(self) -> imaplib.IMAP4:
        imap = imaplib.IMAP4("127.0.0.1", self.imap_port, timeout=30)
        imap.login(self.user, self.password)
        return imap

    def deliver(self, raw: bytes | list[tuple[bytes, dt.datetime]], received_at: dt.datetime | None = None,
                folder: str = "INBOX") -> None:
        """APPEND the message(s) with the server's INTERNALDATE set to `received_at` (as a mail server would)."""
        items = raw if isinstance(raw, list) else [(raw, received_at or dt.datetime.now(dt.UTC))]
        imap = self.client()
        try:
            for message, when in items:
                typ, data = imap.append(folder, None, imaplib.Time2Internaldate(when), message)
                if typ != "OK":
                    raise RuntimeError(f"APPEND: {typ} {data}")
        finally:
            imap.logout()

    def count(self, folder: str = "INBOX") -> int:
        imap = self.client()
        try:
            typ, data = imap.select(f'"{folder}"', readonly=True)
            return int(data[0]) if typ == "OK" else 0
        finally:
            imap.logout()

    def tls_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.cafile))


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.3):
            return True
    except OSError:
        return False


def main() -> int:
    with Dovecot() as server:
        print(f"Hộp thư thử / test mailbox: {server.url()}  (imaps: {server.url(tls=True)})", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            signal.pause()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
