"""Notifications: 5,000 e-mails through the outbox (bhxh.notify.enqueue + deliver_pending with apprise_sender)
to a loopback SMTP server (bhxh.devservers.MailSink). Messages per second, and every message received exactly
once, counted by its deduplication key (carried in the subject). A second delivery pass must send nothing.
"""

from __future__ import annotations

import email
import email.policy
import json
import re
import sys
import time
from collections import Counter
from pathlib import Path

from bhxh_bench.common import cleanup, free_port, tmp_dir

KEY_RE = re.compile(r"\[key:([^\]]+)\]")


def messages(count: int, obligation: str = "bench_notify", partitions: int = 1):
    from bhxh.notify.outbox import Message

    for i in range(count):
        unit = f"xa_{i:05d}"
        cycle = f"2025-p{i % partitions}"
        m = Message(obligation, cycle, unit, "acknowledgement", "email", f"{unit}@vss.example", "", "")
        yield Message(
            obligation, cycle, unit, "acknowledgement", "email", m.recipient,
            f"Xác nhận đã nhận báo cáo kỳ {cycle} [key:{m.dedup_key}]",
            f"Kính gửi {unit},\nBảo hiểm xã hội Việt Nam xác nhận đã nhận báo cáo kỳ {cycle}.\n",
        )


def received_keys(folder: Path) -> Counter:
    keys: Counter = Counter()
    for path in folder.glob("*.eml"):
        msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        match = KEY_RE.search(str(msg["subject"] or ""))
        keys[match.group(1) if match else f"<no key: {path.name}>"] += 1
    return keys


def _deliver(maker, send, workers: int) -> dict:
    """deliver_pending in `workers` threads, each over its own share (cycle key) of the outbox."""
    from concurrent.futures import ThreadPoolExecutor

    from bhxh.notify.outbox import deliver_pending

    def one(i: int) -> dict:
        try:
            return deliver_pending(maker, send, obligation_id="bench_notify", cycle_key=f"2025-p{i}")
        except Exception as exc:  # DeliveryError: counted, the messages stay pending
            return {"sent": 0, "failed": -1, "error": str(exc)[:300]}

    with ThreadPoolExecutor(workers) as pool:
        results = list(pool.map(one, range(workers)))
    return {"sent": sum(r["sent"] for r in results), "errors": [r["error"] for r in results if "error" in r]}


def run(quick: bool = False, count: int | None = None, workers: int | None = None) -> dict:
    from bhxh.devservers import MailSink
    from bhxh.notify.channels import apprise_sender
    from bhxh.notify.outbox import deliver_pending, enqueue
    from bhxh.store.engine import init_store, session_factory

    count = count or (500 if quick else 5_000)
    workers = workers or 4
    work = tmp_dir("notify")
    url = f"sqlite:///{work / 'store.sqlite'}"
    init_store(url)
    maker = session_factory(url)
    sink = MailSink(work / "mail", free_port())
    port = sink.start()
    send = apprise_sender({"email": [f"mailto://127.0.0.1:{port}?from=baocao@vss.example&name=BHXH"]})
    try:
        started = time.perf_counter()
        with maker() as session, session.begin():
            queued = enqueue(session, messages(count, partitions=workers))
        enqueue_s = time.perf_counter() - started
        started = time.perf_counter()
        first = _deliver(maker, send, workers)
        deliver_s = time.perf_counter() - started
        with maker() as session, session.begin():
            requeued = enqueue(session, messages(count, partitions=workers))  # a re-run: nothing new
        again = deliver_pending(maker, send, obligation_id="bench_notify")
        time.sleep(1.0)  # the sink writes the last file after answering 250
    finally:
        sink.stop()
    keys = received_keys(work / "mail")
    result = {
        "messages": count,
        "delivery_workers": workers,
        "queued": queued,
        "enqueue_s": round(enqueue_s, 2),
        "deliver_s": round(deliver_s, 2),
        "messages_per_s": round(count / deliver_s, 1),
        "enqueue_per_s": round(count / enqueue_s, 1),
        "sent": first["sent"],
        "delivery_errors": first["errors"],
        "second_pass_new": requeued,
        "second_pass_sent": again["sent"],
        "received": sum(keys.values()),
        "distinct_keys_received": len(keys),
        "duplicates": sum(n - 1 for n in keys.values() if n > 1),
        "meets_goal": sum(keys.values()) == count and len(keys) == count,
    }
    cleanup(work)
    return result


if __name__ == "__main__":
    print(json.dumps(run(quick="--quick" in sys.argv), indent=1))
