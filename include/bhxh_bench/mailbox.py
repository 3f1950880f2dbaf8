"""Pulling the department's mailbox: 3,500 messages (350 with --quick), each a unit's signed PDF and its XLSX
appendix, from a Dovecot on loopback (bhxh.devmailbox) into a fresh store by bhxh.intake.mailbox (fetch, parse,
signature check, intake, receipt queued, MOVE), against fetching the same messages with plain imaplib (one UID
FETCH BODY.PEEK[] each, nothing else): the ratio is what taking a message in costs over reading it. Beside it,
the same files validated in-process (bhxh.intake.submission.check_submission and the signature check, no IMAP,
no store): what of that cost is the intake's own work.

The appendices are the demo's valid on-time workbooks of the 2019 Resolution 51 cycle, each message's copy made
distinct (its document properties carry the message number) so that nothing is deduplicated away; the PDFs are
signed once under a throw-away CA the pull trusts.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import imaplib
import io
import json
import sys
import time
import zipfile
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

from bhxh_bench.common import cleanup, tmp_dir


@dataclass(frozen=True)
class Item:
    unit_id: str
    sender: str
    name: str
    appendix: bytes


def variant(xlsx: bytes, n: int) -> bytes:
    """The same workbook with its core properties (docProps/core.xml) naming copy `n`: other bytes, same data."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(xlsx)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = data.replace(b"</cp:coreProperties>", f'<dc:description xmlns:dc="http://purl.org/dc/elements/1.1/">ban {n}</dc:description></cp:coreProperties>'.encode())
            dst.writestr(info, data)
    return out.getvalue()


def corpus(work: Path, count: int) -> tuple[list[Item], bytes, bytes]:
    """`count` distinct appendices over the 2019 cycle's valid units, a signed PDF and its CA (DER)."""
    from bhxh import devpki
    from bhxh.calendar.units import default_registry
    from bhxh.cli.sample import generate

    registry = default_registry()
    base = [s for s in generate(work / "samples", "nq51_action_programme", "2019") if s.scenario == "on_time" and s.path.endswith(".xlsx")]
    items = []
    for n in range(count):
        sample = base[n % len(base)]
        items.append(Item(sample.unit_id, registry.get(sample.unit_id).email, Path(sample.path).name, variant(Path(sample.path).read_bytes(), n)))
    ca = devpki.make_ca()
    pdf = devpki.sign_pdf(devpki.simple_pdf("BAO CAO NQ51 2019"), devpki.make_signer(ca))
    return items, pdf, ca.der


def message(item: Item, pdf: bytes, n: int) -> bytes:
    m = EmailMessage()
    m["From"], m["To"], m["Subject"] = item.sender, "khth.khdt@vss.gov.vn", f"Báo cáo NQ51 năm 2019 ({n})"
    m["Date"] = email.utils.format_datetime(dt.datetime(2019, 11, 6, tzinfo=dt.UTC))
    m["Message-ID"] = f"<bench-{n}@donvi.test>"
    m.set_content("Kính gửi Vụ Kế hoạch và Đầu tư,\nĐơn vị gửi báo cáo có chữ ký số kèm phụ lục số liệu.\n")
    m.add_attachment(pdf, maintype="application", subtype="pdf", filename="Bao cao co chu ky so.pdf")
    m.add_attachment(item.appendix, maintype="application", subtype="vnd.openxmlformats-officedocument.spreadsheetml.sheet", filename=item.name)
    return m.as_bytes()


def fetch_all(server) -> tuple[float, int]:
    """The baseline: every message of the INBOX fetched whole with plain imaplib; (seconds, bytes)."""
    started = time.perf_counter()
    imap = imaplib.IMAP4("127.0.0.1", server.imap_port, timeout=60)
    imap.login(server.user, server.password)
    imap.select("INBOX", readonly=True)
    total = 0
    for uid in imap.uid("SEARCH", None, "ALL")[1][0].split():
        data = imap.uid("FETCH", uid, "(BODY.PEEK[])")[1]
        total += len(data[0][1])
    imap.logout()
    return time.perf_counter() - started, total


def validate_in_process(items: list[Item], pdf: bytes, ca_der: bytes) -> float:
    """The intake's and the signature's work on the same files, one after the other, in this process."""
    from bhxh.intake.signatures import check_document
    from bhxh.intake.submission import check_submission

    check_document(pdf, "pdf", (ca_der,))  # the sandbox's helper starts once
    started = time.perf_counter()
    for item in items:
        check_submission(item.appendix, item.name)
        check_document(pdf, "pdf", (ca_der,))
    return time.perf_counter() - started


def run(quick: bool = False) -> dict:
    from sqlalchemy import func, select

    from bhxh.devmailbox import Dovecot
    from bhxh.intake.mailbox import MailboxSettings, pull
    from bhxh.steps.mailbox import answer_with, summarise
    from bhxh.store.engine import init_store, session_factory
    from bhxh.store.models import OutboxMessage, Submission

    count = 350 if quick else 3_500
    work = tmp_dir("mailbox")
    started = time.perf_counter()
    items, pdf, ca_der = corpus(work, count)
    received = dt.datetime(2019, 11, 6, 2, 0, tzinfo=dt.UTC)
    messages = [(message(item, pdf, n), received + dt.timedelta(seconds=n)) for n, item in enumerate(items)]
    prepare_s = time.perf_counter() - started
    validate_s = validate_in_process(items, pdf, ca_der)
    with Dovecot() as server:
        started = time.perf_counter()
        for start in range(0, len(messages), 500):
            server.deliver(messages[start : start + 500])
        deliver_s = time.perf_counter() - started
        fetch_all(server)  # warm the server's caches and index once, for both sides alike
        baseline_s, fetched_bytes = fetch_all(server)
        store = init_store(f"sqlite:///{work / 'store.sqlite'}")
        maker = session_factory(store)
        done = {"n": 0}

        def progress(i: int, n: int) -> None:
            done["n"] = i
            if sys.stderr.isatty() and i % 50 == 0:
                sys.stderr.write(f"\r   mailbox: {i}/{n}")

        settings = MailboxSettings.from_url(server.url())
        pulled_s, runs, summaries = 0.0, 0, []
        while server.count("INBOX") and runs < 20:  # a pull takes at most MAX_MESSAGES_PER_RUN; the DAG runs again
            t0 = time.perf_counter()
            run_ = pull(settings, maker, roots=(ca_der,), answer=answer_with("vu_khdt"), progress=progress)
            pulled_s += time.perf_counter() - t0
            runs += 1
            summaries.append(summarise(run_))
            if run_.unavailable:
                break
        processed = server.count("processed")
    with maker() as session:
        submissions = session.scalar(select(func.count()).select_from(Submission))
        receipts = session.scalar(select(func.count()).select_from(OutboxMessage))
        accepted = session.scalar(select(func.count()).select_from(Submission).where(Submission.status == "accepted"))
    result = {
        "messages": count,
        "message_bytes": round(fetched_bytes / count),
        "prepare_s": round(prepare_s, 1),
        "deliver_s": round(deliver_s, 2),
        "pull_s": round(pulled_s, 2),
        "pull_runs": runs,
        "imaplib_fetch_s": round(baseline_s, 2),
        "messages_per_s": round(count / pulled_s, 1),
        "ratio_to_imaplib": round(pulled_s / baseline_s, 1),
        "validate_in_process_s": round(validate_s, 2),
        "ratio_to_validation": round(pulled_s / validate_s, 2),
        "processed": processed,
        "submissions": submissions,
        "accepted": accepted,
        "receipts_queued": receipts,
        "errors": [s for s in summaries if s["mailbox_error"] or s["store_error"]],
    }
    cleanup(work)
    return result


if __name__ == "__main__":
    print(json.dumps(run(quick="--quick" in sys.argv), indent=1))
