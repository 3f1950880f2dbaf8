"""The department's mailbox against a real Dovecot on loopback (started by the test, its own configuration and
maildir): messages with attachments, a duplicate, a spoofed sender, a message with no attachment, one too large,
and a server that goes away in the middle of a pull. `make pull-mail` runs the same pull."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bhxh.intake import mail as mail_module
from bhxh.intake.mailbox import MailboxError, MailboxSettings
from bhxh.steps.mailbox import run_pull, summarise, url_from_connection
from bhxh.store.models import OutboxMessage, Parcel, Submission

from .conftest import CYCLE, OB, message

ROOT = Path(__file__).resolve().parents[2]
VN = dt.timezone(dt.timedelta(hours=7))
BEFORE = dt.datetime(2019, 11, 6, 9, 30, tzinfo=VN)  # the 2019 deadline: end of 14/11/2019 (Vietnam time)
AFTER = dt.datetime(2019, 11, 15, 8, 0, tzinfo=VN)


def outbox(maker) -> list[tuple[str, str]]:
    with maker() as session:
        return sorted((m.kind.split("_")[0] if not m.kind.startswith("held_dept") else "held_dept", m.recipient)
                      for m in session.scalars(select(OutboxMessage)))


def test_settings_from_urls_and_connections():
    tls = MailboxSettings.from_url("imaps://khth.khdt%40vss.gov.vn:p%40ss@mail.vss.gov.vn/INBOX")
    assert (tls.security, tls.port, tls.user, tls.password) == ("tls", 993, "khth.khdt@vss.gov.vn", "p@ss")
    assert MailboxSettings.from_url("imap://u:p@mail.vss.gov.vn/Hop%20thu").security == "starttls"  # never plain outside loopback
    assert MailboxSettings.from_url("imap://u:p@mail.vss.gov.vn/Hop%20thu").folder == "Hop thu"
    assert MailboxSettings.from_url("imap://u:p@127.0.0.1:1143/INBOX").security == "plain"
    assert MailboxSettings.from_url("imap://u:p@127.0.0.1:1143/INBOX?starttls=1&processed=Da%20xu%20ly").processed == "Da xu ly"
    with pytest.raises(MailboxError):
        MailboxSettings.from_url("pop3://u:p@host/INBOX")
    plain = MailboxSettings.from_url("imap://u:p@mail.vss.gov.vn/INBOX?starttls=0")
    from bhxh.intake.mailbox import Mailbox

    with pytest.raises(MailboxError) as refused, Mailbox(plain):
        pass
    assert refused.value.code == "mailbox_plaintext"  # refused before any connection is made
    # an Airflow `imap` connection: TLS unless use_ssl is false (the provider's convention)
    assert url_from_connection("mail.vss.gov.vn", 993, "khth.khdt@vss.gov.vn", "p w", None, {}) == \
        "imaps://khth.khdt%40vss.gov.vn:p%20w@mail.vss.gov.vn:993/INBOX"
    assert MailboxSettings.from_url(url_from_connection("m.vn", 143, "u", "p", "INBOX", {"use_ssl": False})).security == "starttls"


def test_a_pull_takes_each_message_once_at_its_internaldate(dovecot, store, pki, samples):
    url, maker = store
    a, b, c, d = samples[:4]
    dovecot.deliver([
        # Date header says long before the deadline; the server received it after: the server's time counts
        (message(a.email, [(a.path.name, a.content), ("Bao cao.pdf", pki.signed)], date=dt.datetime(2019, 10, 1, tzinfo=dt.UTC)), AFTER),
        (message(f"Văn thư <{b.email.upper()}>", [(b.path.name, b.content)]), BEFORE),  # case does not matter
        (message("ke.gia.mao@example.com", [(c.path.name, c.content), ("bc.pdf", pki.signed)]), BEFORE),  # spoofed
        (message(d.email, []), BEFORE),  # nothing attached
    ])
    run = run_pull(dovecot.url(), url)
    assert not run.unavailable, run
    assert summarise(run) | {"seconds": 0} == {"messages": 4, "stored": 2, "held": 1, "refused": 1, "already": 0, "moved": 4,
                                               "accepted": 2, "mailbox_error": None, "store_error": None, "seconds": 0}
    by_sender = {p.mail.sender: p.outcome for p in run.pulled}
    late = by_sender[a.email]
    assert late.received_at == AFTER and late.result.late is True and late.signature.state == "untrusted"  # no roots configured
    assert by_sender[b.email].result.late is False and by_sender[b.email].sender_verified is True
    spoofed = by_sender["ke.gia.mao@example.com"]
    assert spoofed.state == "held" and spoofed.unit_id == c.unit_id and spoofed.sender_verified is False
    assert by_sender[d.email].state == "refused" and by_sender[d.email].reason == "no_files"
    assert (dovecot.count("INBOX"), dovecot.count("processed")) == (0, 4)  # moved, never deleted
    with maker() as session:
        subs = {s.unit_id: s for s in session.scalars(select(Submission))}
        assert set(subs) == {a.unit_id, b.unit_id}  # the held parcel is not counted
        assert subs[a.unit_id].received_at == AFTER
    # each unit its receipt; the spoofer an answer, the department a notice; the empty message what to send
    assert outbox(maker) == sorted([
        ("receipt", a.email), ("receipt", b.email), ("held", "ke.gia.mao@example.com"), ("held_dept", "khth.khdt@vss.gov.vn"),
        ("refused", d.email),
    ])
    with maker() as session:
        notice = session.scalar(select(OutboxMessage).where(OutboxMessage.kind.like("held_dept%")))
        assert "ke.gia.mao@example.com" in notice.body and "--release" in notice.body
        receipt = session.scalar(select(OutboxMessage).where(OutboxMessage.recipient == a.email))
        assert late.receipt_number in receipt.subject and a.path.name in receipt.body
        assert late.files[1].sha256 in receipt.body and "nhận sau hạn nộp" in receipt.body


def test_a_duplicate_and_a_second_pull_store_nothing_twice_and_answer_once(dovecot, store, samples):
    url, maker = store
    a = samples[0]
    raw = message(a.email, [(a.path.name, a.content)], message_id="<bao-cao-1@donvi.test>")
    dovecot.deliver([(raw, BEFORE), (raw, BEFORE + dt.timedelta(minutes=5))])  # the unit's client sent it twice
    # another message reusing the Message-ID with other attachments is not swallowed by it
    b = samples[1]
    dovecot.deliver(message(b.email, [(b.path.name, b.content)], message_id="<bao-cao-1@donvi.test>"), BEFORE)
    first = run_pull(dovecot.url(), url)
    assert [p.outcome.already for p in first.pulled] == [False, True, False]
    dovecot.deliver(raw, BEFORE)  # and once more, later
    second = run_pull(dovecot.url(), url)
    assert [p.outcome.already for p in second.pulled] == [True]
    with maker() as session:
        assert session.scalar(select(func.count()).select_from(Parcel)) == 2
        assert session.scalar(select(func.count()).select_from(Submission)) == 2
    assert outbox(maker) == sorted([("receipt", a.email), ("receipt", b.email)])
    assert dovecot.count("INBOX") == 0 and dovecot.count("processed") == 4


def test_a_server_that_goes_away_mid_pull_loses_nothing_and_answers_once(dovecot, store, samples):
    """The server dies right after the store committed the second message, before it could be moved."""
    url, maker = store
    units = samples[:5]
    dovecot.deliver([(message(s.email, [(s.path.name, s.content)]), BEFORE + dt.timedelta(minutes=i)) for i, s in enumerate(units)])
    from bhxh.intake import mailbox
    from bhxh.steps import mailbox as step

    answered = []

    def answer_then_die(session, outcome, mail):
        answered.append(outcome.unit_id)
        queued = step.answer_with("vu_khdt")(session, outcome, mail)
        if len(answered) == 2:
            dovecot.kill()  # the commit still happens (the store is fine); the MOVE cannot
        return queued

    run = mailbox.pull(MailboxSettings.from_url(dovecot.url()), maker, answer=answer_then_die)
    assert run.mailbox_error and not run.store_error
    assert run.moved == 1 and answered == [units[0].unit_id, units[1].unit_id]
    with maker() as session:
        assert session.scalar(select(func.count()).select_from(Submission)) == 2
    dovecot.start()  # back, with its maildir: four messages still in the INBOX, one of them already stored
    again = run_pull(dovecot.url(), url)
    assert not again.unavailable
    assert [(p.outcome.unit_id, p.outcome.already) for p in again.pulled] == [(units[1].unit_id, True)] + [(s.unit_id, False) for s in units[2:]]
    with maker() as session:
        assert session.scalar(select(func.count()).select_from(Submission)) == 5
    assert outbox(maker) == sorted(("receipt", s.email) for s in units)  # one receipt each, none twice
    assert (dovecot.count("INBOX"), dovecot.count("processed")) == (0, 5)


def test_tls_starttls_and_a_wrong_password(dovecot, store, samples):
    url, maker = store
    a = samples[0]
    dovecot.deliver(message(a.email, [(a.path.name, a.content)]), BEFORE)
    assert run_pull(dovecot.url(tls=True), url).moved == 1  # imaps, our CA from ?cafile=
    dovecot.deliver(message(a.email, [(a.path.name, a.content)]), BEFORE)
    assert run_pull(dovecot.url(starttls="1"), url).moved == 1
    untrusted = run_pull(dovecot.url(tls=True).split("?")[0], url)  # the server's certificate is not trusted
    assert untrusted.mailbox_error and "CERTIFICATE_VERIFY_FAILED" in untrusted.mailbox_error
    wrong = run_pull(dovecot.url().replace(dovecot.password, "sai-mat-khau"), url)
    assert wrong.mailbox_error and "AUTHENTICATIONFAILED" in wrong.mailbox_error


def test_a_message_too_large_is_not_fetched_and_gets_an_answer(dovecot, store, samples, monkeypatch):
    url, maker = store
    a = samples[0]
    from bhxh.intake import mailbox

    monkeypatch.setattr(mailbox, "MAX_MESSAGE_BYTES", 4096)
    monkeypatch.setattr(mail_module, "MAX_MESSAGE_BYTES", 4096)
    dovecot.deliver(message(a.email, [(a.path.name, a.content)]), BEFORE)
    run = run_pull(dovecot.url(), url)
    outcome = run.pulled[0].outcome
    assert outcome.state == "refused" and outcome.reason == "message_too_large" and outcome.files == []
    assert outbox(maker) == [("refused", a.email)]
    assert dovecot.count("processed") == 1


def test_hostile_headers_and_parts_are_bounded():
    from bhxh.intake.mail import MAX_HEADER_BYTES, MAX_PARTS, parse_mail

    huge = b"Subject: " + b"x" * (MAX_HEADER_BYTES + 10) + b"\r\nFrom: a@b.vn\r\n\r\nbody"
    assert parse_mail(huge).problem == "headers_too_long"
    parts = "".join(f"--b\r\nContent-Type: text/plain\r\n\r\n{i}\r\n" for i in range(MAX_PARTS + 5))
    many = f"From: a@b.vn\r\nMessage-ID: <m@x>\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n{parts}--b--\r\n".encode()
    assert parse_mail(many).problem == "too_many_parts"
    two = parse_mail(b"From: a@b.vn, c@d.vn\r\nSubject: =?utf-8?b?QsOhbyBjw6Fv?=\r\n\r\nx")
    assert two.sender is None and two.subject == "Báo cáo"  # two senders: nobody's to verify
    assert parse_mail(b"From: a@b.vn\r\n\r\nx").message_id.startswith("<sha256:")


def test_authentication_results_are_asked_when_configured(samples):
    from bhxh.intake.mail import parse_mail

    a = samples[0]
    raw = message(a.email, [(a.path.name, a.content)])
    domain = a.email.split("@")[1]
    stamped = f"Authentication-Results: mx.vss.gov.vn; dkim=pass header.d={domain}; spf=fail\r\n".encode() + raw
    assert parse_mail(stamped, authserv_id="mx.vss.gov.vn").authenticated is True
    forged = b"Authentication-Results: attacker.example; dmarc=pass header.from=" + domain.encode() + b"\r\n" + raw
    assert parse_mail(forged, authserv_id="mx.vss.gov.vn").authenticated is False  # only our own server's stamp counts
    assert parse_mail(raw).authenticated is None  # not asked


def test_make_pull_mail_prints_one_object_per_attachment(dovecot, tmp_path, pki, samples):
    a, b = samples[:2]
    dovecot.deliver([(message(a.email, [(a.path.name, a.content), ("Bao cao.pdf", pki.signed)], message_id="<cli-1@x>"), BEFORE),
                     (message("la@example.com", [(b.path.name, b.content)], message_id="<cli-2@x>"), BEFORE),
                     (message(b.email, [], message_id="<cli-3@x>"), BEFORE)])
    env = os.environ | {"BHXH_STORE_URL": f"sqlite:///{tmp_path / 'cli.sqlite'}", "BHXH_IMAP_URL": dovecot.url(),
                        "BHXH_TRUST_DIR": str(tmp_path / "trust"), "PYTHONPATH": str(ROOT / "include")}
    (tmp_path / "trust").mkdir()
    (tmp_path / "trust" / "ca.pem").write_bytes(pki.ca.pem)
    proc = subprocess.run([sys.executable, "-m", "bhxh.cli.pull_mail"], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    objects, summary = lines[:-1], lines[-1]["summary"]
    assert [(o["message_id"], o["file"], o["role"], o["status"]) for o in objects] == [
        ("<cli-1@x>", a.path.name, "appendix", "accepted"), ("<cli-1@x>", "Bao cao.pdf", "document", "accepted"),
        ("<cli-2@x>", b.path.name, "appendix", "held"), ("<cli-3@x>", None, None, "refused"),
    ]
    first = objects[0]
    assert {"unit", "obligation", "period", "errors", "submission_id", "duplicate", "late", "file", "from", "sender_verified"} <= set(first)
    assert (first["unit"], first["obligation"], first["period"], first["from"], first["sender_verified"]) == (a.unit_id, OB, CYCLE, a.email, True)
    assert objects[1]["signature"] == {"state": "valid", "policy": "recommended", "signer": "Nguyễn Văn An"}
    assert objects[2]["sender_verified"] is False
    assert summary["messages"] == 3 and summary["stored"] == 1 and summary["held"] == 1 and summary["refused"] == 1
    # the held parcel, released by hand, counts with the time the mailbox received it
    held_id = objects[2]["receipt_number"].split("-")[1].lstrip("0")
    proc = subprocess.run([sys.executable, "-m", "bhxh.cli.pull_mail", "--release", held_id], env=env, capture_output=True, text=True, timeout=120)
    released = json.loads(proc.stdout)
    assert proc.returncode == 0 and released["state"] == "released" and released["result"]["status"] == "accepted"
    dovecot.stop()
    proc = subprocess.run([sys.executable, "-m", "bhxh.cli.pull_mail"], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 3 and json.loads(proc.stdout.splitlines()[-1])["summary"]["mailbox_error"]
    proc = subprocess.run([sys.executable, "-m", "bhxh.cli.pull_mail"], env=env | {"BHXH_IMAP_URL": ""}, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2


def test_auto_replies_and_bounces_are_not_answered(dovecot, store, samples):
    """An out-of-office reply to a receipt lands in the mailbox: answering it would start a mail loop."""
    url, maker = store
    a = samples[0]
    auto = b"Auto-Submitted: auto-replied\r\n" + message(a.email, [], subject="Vắng mặt: Giấy biên nhận")
    bounce = message("MAILER-DAEMON@mail.donvi.test", [], subject="Undelivered Mail Returned to Sender")
    dovecot.deliver([(auto, BEFORE), (bounce, BEFORE)])
    run = run_pull(dovecot.url(), url)
    assert [p.outcome.state for p in run.pulled] == ["refused", "refused"] and all(p.mail.automatic for p in run.pulled)
    assert outbox(maker) == []
    assert dovecot.count("processed") == 2
