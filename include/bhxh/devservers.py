"""Loopback stand-ins for the outside world, for the demo and the tests: an SMTP server (aiosmtpd) that keeps
every message as an .eml file, and a chat webhook receiver that keeps every POST as a .json file.

    python -m bhxh.devservers --dir out/demo/sink --smtp-port 2525 --http-port 8525
"""

from __future__ import annotations

import argparse
import json
import signal
import socket
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (for a sink or server the caller starts next)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MailSink:
    def __init__(self, folder: Path, port: int = 0, host: str = "127.0.0.1") -> None:
        from aiosmtpd.controller import Controller

        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.sessions: set[tuple] = set()  # the client (host, port) of every SMTP session that sent a message
        sink = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
                sink.sessions.add(tuple(session.peer))
                name = f"{time.time_ns()}_{uuid.uuid4().hex[:8]}.eml"
                (sink.folder / name).write_bytes(envelope.original_content or envelope.content)
                (sink.folder / (name + ".rcpt")).write_text("\n".join(envelope.rcpt_tos), encoding="utf-8")
                return "250 Message accepted for delivery"

        self.controller = Controller(Handler(), hostname=host, port=port)

    def start(self) -> int:
        self.controller.start()
        return self.controller.server.sockets[0].getsockname()[1]

    def stop(self) -> None:
        self.controller.stop()

    def messages(self) -> list[Path]:
        return sorted(self.folder.glob("*.eml"))


class WebhookSink:
    """Keeps every JSON POST; `fail_first` answers 500 to that many requests first (a failing channel)."""

    def __init__(self, folder: Path, port: int = 0, host: str = "127.0.0.1", fail_first: int = 0) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.fail_left = fail_first
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                if sink.fail_left > 0:
                    sink.fail_left -= 1
                    self.send_response(500)
                    self.end_headers()
                    return
                name = f"{time.time_ns()}_{uuid.uuid4().hex[:8]}.json"
                (sink.folder / name).write_bytes(body)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> int:
        self.thread.start()
        return self.server.server_address[1]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def messages(self) -> list[dict]:
        return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(self.folder.glob("*.json"))]


class LoopbackSinks:
    """A MailSink and a WebhookSink under `folder` (mail/, chat/), on free ports, started."""

    def __init__(self, folder: Path) -> None:
        self.mail, self.chat = MailSink(folder / "mail", free_port()), WebhookSink(folder / "chat", free_port())
        self.smtp_port, self.http_port = self.mail.start(), self.chat.start()

    def stop(self) -> None:
        self.mail.stop()
        self.chat.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dir", type=Path, required=True)
    parser.add_argument("--smtp-port", type=int, default=2525)
    parser.add_argument("--http-port", type=int, default=8525)
    parser.add_argument("--host", default="127.0.0.1", help="0.0.0.0 inside a container (compose's chat-catcher)")
    parser.add_argument("--only", choices=("mail", "chat"), help="run one of the two sinks")
    args = parser.parse_args()
    sinks = []
    if args.only != "chat":
        sinks.append(MailSink(args.dir / "mail", args.smtp_port, host=args.host))
    if args.only != "mail":
        sinks.append(WebhookSink(args.dir / "chat", args.http_port, host=args.host))
    for sink in sinks:
        sink.start()
    print(f"{args.only or 'mail + chat'} on {args.host} (SMTP :{args.smtp_port}, webhook :{args.http_port}) -> {args.dir}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    for sink in sinks:
        sink.stop()


if __name__ == "__main__":
    main()
