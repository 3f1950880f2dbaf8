"""Every legal text the catalogue quotes is the seeds' words: each `wording` (per cycle variant, and the ones the
catalogue takes from the plans' rows), each context, deadline wording, approval wording and note, and each quoted
heading of a `part`, is found in the seed of its own document.

The seeds break lines anywhere, inside words too ("Bảo hi⏎ể⏎m", "khth⏎.⏎kh⏎d⏎t"), and seed 001 is a pipe table,
so the comparison is made on the text with every whitespace character (and the seed's cell separator "|")
removed, NFC-normalised, with an offset map back to the seed:
- a space in the quotation where the seed has none, or no space where the seed has spaces on one line, is a word
  difference (a gap with a line break in the seed is a wrap: either way is accepted);
- "..." (or "…") splits a quotation into fragments that must appear in order, in one passage (at most MAX_GAP
  characters apart) of the one seed, and must leave something out: an ellipsis that omits nothing is a
  misquotation too;
- case and punctuation are compared exactly; a quotation is looked for in its own document's seed only, so words
  assembled from another document ("báo cáo Tổng Giám đốc" is in seed 000) do not pass.

The seeds are read from $BHXH_SEEDS_DIR, else ../shared/seeds beside the repository; without them the test
fails and says where it looked.
"""

from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import pytest

from bhxh.calendar.catalogue import Catalogue, default_catalogue

REPO = Path(__file__).resolve().parents[2]
MAX_GAP = 3000
ELLIPSIS = re.compile(r"\s*(?:\.\.\.|…)\s*")
# The seed of each document the catalogue cites (file name prefix in the seeds folder).
DOCUMENT_SEED = {
    "2596/KH-BHXH": "000_",
    "3035/KH-BHXH": "001_",
    "1541/QĐ-BHXH": "002_",
    "2753/QĐ-UBND": "003_",
    "1257/BHXH-PC": "004_",
}


def seeds_dir() -> Path:
    env = os.environ.get("BHXH_SEEDS_DIR")
    folder = Path(env) if env else REPO.parent / "shared" / "seeds"
    if not folder.is_dir() or not any(folder.glob("00[0-4]_*.txt")):
        pytest.fail(
            f"Không thấy văn bản nguồn (seeds) ở {folder}: đặt BHXH_SEEDS_DIR hoặc để ../shared/seeds cạnh kho mã. "
            f"/ The seed texts are not in {folder}: set BHXH_SEEDS_DIR or put ../shared/seeds beside the clone.",
            pytrace=False,
        )
    return folder


def nfc(text: str) -> str:
    text = unicodedata.normalize("NFC", text)
    for ch in ("\u00a0", "\u202f", "\u2007"):
        text = text.replace(ch, " ")
    for ch in ("\u200b", "\u200c", "\u200d", "\ufeff"):
        text = text.replace(ch, "")
    return text


def squeeze(text: str) -> tuple[str, list[str]]:
    """The text without whitespace, and for each kept character the whitespace that preceded it."""
    chars, gaps, gap = [], [], ""
    for ch in text:
        if ch.isspace():
            gap += ch
            continue
        chars.append(ch)
        gaps.append(gap)
        gap = ""
    return "".join(chars), gaps


class Seed:
    def __init__(self, path: Path) -> None:
        self.name = path.name
        self.raw = nfc(path.read_text(encoding="utf-8")).replace("|", " ")
        self.flat, self.gaps = squeeze(self.raw)

    def find_all(self, needle: str) -> list[int]:
        out, i = [], self.flat.find(needle)
        while i >= 0:
            out.append(i)
            i = self.flat.find(needle, i + 1)
        return out


@dataclass
class Match:
    ok: bool
    problems: list[str]


def spacing_problems(seed: Seed, start: int, fragment: str) -> list[str]:
    flat, gaps = squeeze(fragment)
    out = []
    for k in range(1, len(flat)):
        seed_gap, quote_space = seed.gaps[start + k], bool(gaps[k])
        if quote_space and seed_gap == "":
            out.append(f"a space before «{flat[k:k + 15]}» that the seed does not have")
        if not quote_space and seed_gap and "\n" not in seed_gap:
            out.append(f"no space before «{flat[k:k + 15]}» where the seed has one")
    return out


def find_quotation(quote: str, seed: Seed) -> Match:
    """Is `quote` in `seed` (see the module's docstring)? The tightest passage wins."""
    quote = nfc(" ".join(quote.replace(" | ", " ").split()))
    fragments = [f for f in ELLIPSIS.split(quote) if f.strip()]
    if not fragments:
        return Match(False, ["empty quotation"])
    best: tuple[int, Match] | None = None
    first = squeeze(fragments[0])[0]
    for start in seed.find_all(first):
        cursor, problems, good = start, spacing_problems(seed, start, fragments[0]), True
        cursor = start + len(first)
        for n, fragment in enumerate(fragments[1:], start=2):
            flat = squeeze(fragment)[0]
            at = seed.flat.find(flat, cursor)
            if at < 0 or at - cursor > MAX_GAP:
                good = False
                break
            if at == cursor:
                problems.append(f"the ellipsis before fragment {n} leaves nothing out")
            problems += spacing_problems(seed, at, fragment)
            cursor = at + len(flat)
        if good:
            width = cursor - start
            candidate = Match(not problems, problems)
            if best is None or (candidate.ok, -width) > (best[1].ok, -best[0]):
                best = (width, candidate)
    if best is None:
        missing = next((f for f in fragments if squeeze(f)[0] not in seed.flat), None)
        why = f"«{missing}» is not in {seed.name}" if missing else f"the fragments are not in one passage of {seed.name}"
        return Match(False, [why])
    return best[1]


@pytest.fixture(scope="module")
def seeds() -> dict[str, Seed]:
    folder = seeds_dir()
    out = {}
    for document, prefix in DOCUMENT_SEED.items():
        found = sorted(folder.glob(f"{prefix}*.txt"))
        assert found, f"no seed {prefix}*.txt for {document} in {folder}"
        out[document] = Seed(found[0])
    return out


def seed_of(document: str, seeds: dict[str, Seed]) -> Seed:
    key = document.split(" ")[0]
    assert key in seeds, f"no seed for document {document!r}: add it to DOCUMENT_SEED"
    return seeds[key]


def quotations(catalogue: Catalogue) -> list[tuple[str, str, str]]:
    """(label, document, quotation) for everything the catalogue quotes."""
    out: list[tuple[str, str, str]] = []
    for base in catalogue:
        versions = [(base.id, base)] + [
            (f"{base.id}[from {v.from_cycle}]", base.for_cycle(str(v.from_cycle))) for v in base.variants
        ]
        for label, ob in versions:
            lb = ob.legal_basis
            out.append((f"{label}.legal_basis.wording", lb.document, lb.wording))
            if lb.context:
                out.append((f"{label}.legal_basis.context", lb.document, lb.context))
            out += [(f"{label}.legal_basis.part «{q}»", lb.document, q) for q in re.findall(r'"([^"]+)"', lb.part)]
            if ob.deadline.wording:
                out.append((f"{label}.deadline.wording", lb.document, ob.deadline.wording))
            if ob.approval:
                out.append((f"{label}.approval.wording", lb.document, ob.approval.wording))
    for note in catalogue.notes:
        out.append((f"notes.{note.id}.wording", note.document, note.wording))
        out += [(f"notes.{note.id}.part «{q}»", note.document, q) for q in re.findall(r'"([^"]+)"', note.part)]
    return out


CATALOGUE_QUOTATIONS = quotations(default_catalogue())


@pytest.mark.parametrize(("label", "document", "quote"), CATALOGUE_QUOTATIONS, ids=[q[0] for q in CATALOGUE_QUOTATIONS])
def test_every_quotation_is_in_its_seed(seeds: dict[str, Seed], label: str, document: str, quote: str) -> None:
    match = find_quotation(quote, seed_of(document, seeds))
    assert match.ok, f"{label}: {'; '.join(match.problems)}\n  quotation: {quote}"


def test_the_catalogue_quotes_every_obligation_and_note() -> None:
    labels = {label.split(".")[0].split("[")[0] for label, *_ in CATALOGUE_QUOTATIONS}
    catalogue = default_catalogue()
    assert {ob.id for ob in catalogue} <= labels
    assert len(catalogue.notes) >= 20 and all(f"notes.{n.id}.wording" in {q[0] for q in CATALOGUE_QUOTATIONS} for n in catalogue.notes)
    # the plan-derived wordings (cashless payment, management cost) are checked per variant, with their context
    assert {"cashless_payment_report[from 2026].legal_basis.context", "management_cost_report.legal_basis.wording"} <= {
        q[0] for q in CATALOGUE_QUOTATIONS
    }


# ------------------------------------------------------------------------------ the checker finds what it must
NQ51_OLD = (
    "Định kỳ hàng năm, trước ngày 15 tháng 11, các đơn vị đánh giá tình hình triển khai và kết quả thực hiện, xây "
    "dựng báo cáo thực hiện Chương trình hành động thực hiện Nghị quyết số 51/NQ-CP ... gửi Vụ Kế hoạch và Đầu tư "
    "(khth.khdt@vss.gov.vn) để tổng hợp, báo cáo Tổng Giám đốc."
)


@pytest.mark.parametrize(
    ("document", "quote", "problem"),
    [
        # The catalogue's old ending of the Resolution 51 report: seed 002 says "báo cáo theo quy định".
        ("1541/QĐ-BHXH", NQ51_OLD, "is not in"),
        # "báo cáo Tổng Giám đốc" exists in seed 000, not in 1541's seed.
        ("1541/QĐ-BHXH", "để tổng hợp và báo cáo Tổng Giám đốc", "is not in"),
        # An ellipsis that leaves nothing out.
        ("2753/QĐ-UBND", "định kỳ trước 30/11 hằng năm ... báo cáo tình hình triển khai", "leaves nothing out"),
        # Case: the 2025 row of the management-cost report writes "thường vụ" in lower case.
        (
            "3035/KH-BHXH",
            "Báo cáo Ủy ban Thường vụ Quốc hội và Bộ Tài chính định kỳ về chi phí quản lý BHXH, BHYT, BHTN giai đoạn "
            "| TCKT | Các đơn vị liên quan thuộc BHXH Việt Nam | Hằng năm và kết thúc giai đoạn 3 năm",
            "is not in",
        ),
        # A word fused where the seed has a space on one line, and a space the seed does not have.
        ("2596/KH-BHXH", "báo cáo kết quả thực hiện nhiệm vụ được phân công gửi BHXH Việt Nam quaVụ Tổ chức", "no space before"),
        ("1257/BHXH-PC", "Vụ Pháp chế theo dõi, đôn đốc, kiểm tra việc thực hi ện", "a space before"),
        # The old tthc_control_quarterly wording: an omission without an ellipsis and a "gửi" the seed lacks.
        ("1257/BHXH-PC", "thực hiện việc báo cáo đột xuất, định kỳ hàng quý ... gửi Văn phòng Chính phủ.", "is not in"),
        # A heading in lower case where the seed prints capitals.
        ("1541/QĐ-BHXH", "III. Tổ chức thực hiện", "is not in"),
    ],
    ids=["nq51_old_ending", "other_seed", "empty_ellipsis", "case", "fused_word", "split_word", "tthc_old", "heading_case"],
)
def test_the_checker_rejects(seeds: dict[str, Seed], document: str, quote: str, problem: str) -> None:
    match = find_quotation(quote, seed_of(document, seeds))
    assert not match.ok and any(problem in p for p in match.problems), match.problems


def test_the_checker_accepts_wraps_and_cells(seeds: dict[str, Seed]) -> None:
    # seed 002 wraps "Bảo hi⏎ể⏎m" and the mailbox across seven lines
    assert find_quotation("của Bảo hiểm xã hội Việt Nam ban hành kèm theo Quyết định số 3141/QĐ-BHXH", seeds["1541/QĐ-BHXH"]).ok
    assert find_quotation("gửi Vụ Kế hoạch và Đầu tư (khth.khdt@vss.gov.vn) để tổng hợp, báo cáo theo quy định.", seeds["1541/QĐ-BHXH"]).ok
    # seed 001 is a pipe table: " | " joins cells
    assert find_quotation("Báo cáo Thủ tướng Chính phủ tình hình thực hiện | Báo cáo | TCKT", seeds["3035/KH-BHXH"]).ok


def test_missing_seeds_fail_clearly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BHXH_SEEDS_DIR", str(tmp_path / "khong_co"))
    with pytest.raises(pytest.fail.Exception) as info:
        seeds_dir()
    assert "BHXH_SEEDS_DIR" in str(info.value) and "khong_co" in str(info.value)
