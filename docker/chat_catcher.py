"""The try-out chat channel: keeps every JSON POST (apprise `json://chat-catcher:8525/chat`) as a file in
/opt/airflow/out/chat, like the loopback sink the tests use, but listening on all interfaces of its container."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

from bhxh.devservers import WebhookSink

if __name__ == "__main__":
    port = int(os.environ.get("CHAT_CATCHER_PORT", "8525"))
    folder = Path(os.environ.get("CHAT_CATCHER_DIR", "/opt/airflow/out/chat"))
    sink = WebhookSink(folder, port, host="0.0.0.0")  # noqa: S104 (inside its container only)
    sink.start()
    print(f"chat webhook listening on :{port}, messages in {folder}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    sink.stop()
