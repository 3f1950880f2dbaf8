"""A parcel (the signed report and its data appendix) goes through the same intake as every channel: one
submission, the document kept byte for byte, recorded once per delivery, held when the sender is not the unit's,
and a required signature missing or broken is an error with its reason."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from bhxh.calendar.catalogue import Catalogue, default_catalogue
from bhxh.intake.parcels import Delivery, IncomingFile, release, safe_name, sniff, sort_files, take
from bhxh.store.models import Parcel, ParcelFile, StoredFile, Submission

from .conftest import CYCLE, OB

RECEIVED = dt.datetime(2019, 11, 6, 3, 0, tzinfo=dt.UTC)  # before the 2019 deadline (end of 14/11/2019)


def catalogue_with(policy: str) -> Catalogue:
    obligations = [ob.model_copy(update={"signature": policy}) if ob.id == OB else ob for ob in default_catalogue()]
    return Catalogue(obligations)


def files(sample, document: bytes | None = None, name: str = "Bao cao co chu ky.pdf") -> list[IncomingFile]:
    out = [IncomingFile.of(sample.path.name, sample.content)]
    if document is not None:
        out.append(IncomingFile.of(name, document))
    return out


def mail(ref: str, sender: str | None = None, when: dt.datetime = RECEIVED) -> Delivery:
    return Delivery("mailbox", ref, when, sender)


def test_files_are_told_apart_by_content_and_names_are_only_labels(pki, samples):
    xlsx = samples[0].content
    assert sniff(pki.signed) == "pdf" and sniff(xlsx) == "xlsx" and sniff(b"a;b\n1;2", "x.CSV") == "csv"
    assert sniff(xlsx, "report.pdf") == "xlsx"  # a name saying otherwise does not change what it is
    assert sniff(b"MZ\x90\x00 executable", "bao_cao.xlsx") == "other"
    assert safe_name("../../etc/passwd") == "passwd"
    assert safe_name("C:\\Users\\a\\bao cao\x00\x07.xlsx") == "bao cao.xlsx"
    assert safe_name("") == "tep" and safe_name("...") == "tep"
    long = safe_name("x" * 500 + ".xlsx")
    assert len(long) <= 120 and long.endswith(".xlsx")
    parcel = sort_files([IncomingFile.of("a.xlsx", xlsx), IncomingFile.of("b.docx", b"PK\x03\x04"), IncomingFile.of("c.pdf", pki.signed),
                         IncomingFile.of("anh.jpg", b"\xff\xd8\xff")])
    assert parcel.appendix.name == "a.xlsx" and parcel.document.name == "c.pdf"  # a PDF is preferred as the signed report
    assert {(f.name, why) for f, why in parcel.ignored} == {("anh.jpg", "not_a_report_file"), ("b.docx", "not_a_report_file")}
    assert sort_files([]).refusal == "no_files"
    assert sort_files([IncomingFile.of("c.pdf", pki.signed)]).refusal == "no_appendix"
    assert sort_files([IncomingFile.of("a.xlsx", xlsx), IncomingFile.of("b.xlsx", samples[1].content)]).refusal == "several_appendices"
    assert sort_files([IncomingFile.of(f"{i}.pdf", pki.pdf) for i in range(11)]).refusal == "too_many_files"


def test_a_parcel_is_one_submission_with_its_document_kept_byte_for_byte(store, pki, samples):
    _url, maker = store
    sample = samples[0]
    with maker() as session, session.begin():
        outcome = take(session, files(sample, pki.signed), mail("<m1@x>#a", sample.email), roots=pki.roots,
                       verify_sender=lambda unit: unit == sample.unit_id)
    assert outcome.state == "stored" and outcome.accepted and outcome.result.late is False
    assert (outcome.unit_id, outcome.obligation_id, outcome.cycle_key) == (sample.unit_id, OB, CYCLE)
    assert outcome.signature.state == "valid" and outcome.receipt_number == f"BN2019-{outcome.parcel_id:06d}"
    assert [(f.role, f.kind) for f in outcome.files] == [("appendix", "xlsx"), ("document", "pdf")]
    with maker() as session:
        sub = session.get(Submission, outcome.result.submission_id)
        assert sub.received_at == RECEIVED and sub.document_sha256 == outcome.files[1].sha256
        assert session.get(StoredFile, outcome.files[1].sha256).content == pki.signed  # byte for byte
        assert session.get(StoredFile, outcome.files[0].sha256).content == sample.content


def test_the_same_delivery_is_recorded_once(store, pki, samples):
    _url, maker = store
    sample = samples[1]
    for _ in range(3):  # a second pull of the message, a retried task
        with maker() as session, session.begin():
            outcome = take(session, files(sample, pki.signed), mail("<same@x>#b", sample.email), roots=pki.roots, verify_sender=lambda u: True)
    assert outcome.already is True and outcome.state == "stored"
    with maker() as session:
        assert session.scalar(select(func.count()).select_from(Parcel)) == 1
        assert session.scalar(select(func.count()).select_from(Submission)) == 1
        assert session.scalar(select(func.count()).select_from(ParcelFile)) == 2


def test_the_same_appendix_with_a_newly_signed_document_is_a_new_version(store, pki, samples):
    """A unit that forgot to sign sends the same workbook again with the signed PDF: a new version, counted."""
    _url, maker = store
    sample, required = samples[2], catalogue_with("required")
    with maker() as session, session.begin():
        first = take(session, files(sample), mail("<v1@x>#1"), catalogue=required, verify_sender=lambda u: True)
    assert first.result.status == "rejected" and [e.code for e in first.result.errors] == ["signature_absent"]
    with maker() as session, session.begin():
        second = take(session, files(sample, pki.signed), mail("<v2@x>#2", when=RECEIVED + dt.timedelta(hours=2)),
                      roots=pki.roots, catalogue=required, verify_sender=lambda u: True)
    assert second.result.status == "accepted" and not second.result.duplicate
    assert second.result.submission_id != first.result.submission_id


@pytest.mark.parametrize(("document", "code"), [("tampered", "signature_modified"), ("untrusted", "signature_untrusted"), ("pdf", "signature_unsigned")])
def test_a_required_signature_broken_rejects_the_submission_with_its_reason(store, pki, samples, document, code):
    _url, maker = store
    with maker() as session, session.begin():
        outcome = take(session, files(samples[3], getattr(pki, document)), mail(f"<{document}@x>#r"), roots=pki.roots,
                       catalogue=catalogue_with("required"), verify_sender=lambda u: True)
    assert outcome.result.status == "rejected"
    assert [e.code for e in outcome.result.errors] == [code]
    # recommended (the default): accepted, the receipt shows the signature's state (another unit's workbook: the
    # same appendix with the same document would be the same version, already rejected)
    with maker() as session, session.begin():
        recommended = take(session, files(samples[5], getattr(pki, document)), mail(f"<{document}@x>#rec"), roots=pki.roots,
                           verify_sender=lambda u: True)
    assert recommended.result.status == "accepted" and recommended.signature.state == code.removeprefix("signature_")


def test_a_parcel_from_an_unregistered_sender_is_held_not_counted_until_released(store, pki, samples):
    _url, maker = store
    sample = samples[4]
    with maker() as session, session.begin():
        held = take(session, files(sample, pki.signed), mail("<spoof@x>#h", "ke.gia.mao@example.com"), roots=pki.roots,
                    verify_sender=lambda unit: False)
    assert held.state == "held" and held.reason == "unregistered_sender" and held.result is None
    assert held.unit_id == sample.unit_id and held.receipt_number
    with maker() as session:
        assert session.scalar(select(func.count()).select_from(Submission)) == 0  # not counted: no submission at all
        assert all(f.kept for f in session.scalars(select(ParcelFile)))  # but kept
    with maker() as session, session.begin():
        released = release(session, held.parcel_id, roots=pki.roots)
    assert released.state == "released" and released.accepted
    with maker() as session:
        sub = session.get(Submission, released.result.submission_id)
        assert sub.received_at == RECEIVED  # the time the department's side received it
    with maker() as session, session.begin(), pytest.raises(ValueError):
        release(session, held.parcel_id)


def test_refused_parcels_keep_no_bytes(store, pki):
    _url, maker = store
    with maker() as session, session.begin():
        outcome = take(session, [IncomingFile.of("chi_co_van_ban.pdf", pki.signed)], mail("<nodata@x>#n", "a@b.vn"))
    assert outcome.state == "refused" and outcome.reason == "no_appendix" and outcome.receipt_number is None
    with maker() as session:
        assert session.scalar(select(func.count()).select_from(StoredFile)) == 0
        assert [f.kept for f in session.scalars(select(ParcelFile))] == [False]


def test_an_invalid_appendix_is_rejected_by_the_intake_with_its_errors(store, pki, invalid_sample):
    _url, maker = store
    with maker() as session, session.begin():
        outcome = take(session, [IncomingFile.of(invalid_sample.name, invalid_sample.read_bytes()), IncomingFile.of("bc.pdf", pki.signed)],
                       mail("<bad@x>#i"), roots=pki.roots, verify_sender=lambda u: True)
    assert outcome.state == "stored" and outcome.result.status == "rejected"
    assert outcome.result.errors and all(e.code != "signature_valid" for e in outcome.result.errors)


def test_an_appendix_over_the_limit_is_refused_and_its_content_not_kept(store, pki):
    from bhxh.intake.reading import MAX_FILE_BYTES

    _url, maker = store
    big = IncomingFile.of(f"{OB}__{CYCLE}__bhxh_tinh_yen_bai.csv", b"a;b\n" * (MAX_FILE_BYTES // 4 + 1))
    with maker() as session, session.begin():
        outcome = take(session, [big, IncomingFile.of("bc.pdf", pki.signed)], mail("<big@x>#z"), roots=pki.roots, verify_sender=lambda u: True)
    assert outcome.result.status == "rejected" and [e.code for e in outcome.result.errors] == ["file_too_large"]
    with maker() as session:
        assert session.get(StoredFile, big.sha256).content is None  # its name, size and checksum only
        assert {f.role: f.kept for f in session.scalars(select(ParcelFile))} == {"appendix": False, "document": True}
