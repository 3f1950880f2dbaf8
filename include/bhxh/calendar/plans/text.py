"""Repairing the broken line wraps of the seed texts.

The seeds were scraped from web pages whose table cells were split into inline fragments: a word can be cut
anywhere ("tr" / "iển", "Ứ" / "ng dụng", "01/N" / "Q" / "-CP"), and a cell starts on a line of its own. Lines
that begin with two spaces continue the previous line (a soft wrap, joined with one space).

`segments()` turns such a block of lines into *segments*: runs of text that certainly belong together. A
fragment is glued to the previous text without a space when the two halves make one Vietnamese syllable
("tr" + "iển" -> "triển"), one upper-case abbreviation ("B" + "H" + "XH" -> "BHXH"), or when punctuation says
so ("63/NQ-" + "CP", "5" + "." + "7"). Every other non-indented line starts a new segment: it may be a new
table cell or an ordinary word wrap ("thất" / "thoát"); the table parsers decide which, by column.
"""

from __future__ import annotations

import re
import unicodedata

_ONSETS = ("ngh", "ng", "nh", "ch", "gh", "gi", "kh", "ph", "qu", "th", "tr") + tuple("bcdghklmnpqrstvx")
_CODAS = ("ch", "ng", "nh", "c", "m", "n", "p", "t")
_VOWELS = set("aeiouy")
# Vowel clusters that end in an off-glide take no final consonant ("ay" + "m" is not a syllable).
_NO_CODA = {
    "ai",
    "ay",
    "oi",
    "ui",
    "ao",
    "au",
    "eo",
    "eu",
    "iu",
    "uu",
    "ieu",
    "uoi",
    "oai",
    "oay",
    "uay",
    "uya",
}


def base(text: str) -> str:
    """Lower-case letters without diacritics (đ -> d)."""
    out = []
    for ch in unicodedata.normalize("NFD", text.lower()):
        if unicodedata.category(ch) == "Mn":
            continue
        out.append("d" if ch == "đ" else ch)
    return "".join(out)


_TONE_MARKS = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}


def _tones(text: str) -> int:
    return sum(1 for ch in unicodedata.normalize("NFD", text) if ch in _TONE_MARKS)


def is_syllable(word: str) -> bool:
    """True if `word` has the shape of one Vietnamese syllable (onset, vowel cluster, final consonant)."""
    if not word or not word.isalpha() or _tones(word) > 1:
        return False
    if word[0].isupper() and any(ch.isupper() for ch in word[1:]):
        return False
    b = base(word)
    rest = b
    for onset in sorted(_ONSETS, key=len, reverse=True):
        if rest.startswith(onset) and len(rest) > len(onset) and rest[len(onset)] in _VOWELS:
            rest = rest[len(onset) :]
            break
    i = 0
    while i < len(rest) and rest[i] in _VOWELS:
        i += 1
    nucleus, coda = rest[:i], rest[i:]
    if not 1 <= len(nucleus) <= 3:
        return False
    if coda and (coda not in _CODAS or nucleus in _NO_CODA):
        return False
    if coda in ("ch", "nh") and nucleus not in ("a", "e", "i", "y", "oa", "ue", "uy"):
        return False
    return not (coda and nucleus.endswith("o") and nucleus not in ("o", "oo", "uo"))


def _is_onset_prefix(word: str) -> bool:
    """A consonant-only fragment that can begin a syllable ("n" + "h" -> "nh")."""
    b = base(word)
    return bool(b) and word.isalpha() and word.islower() and any(o.startswith(b) for o in _ONSETS)


def _is_caps(word: str) -> bool:
    return word.isalpha() and word.isupper()


_LAST_TOKEN = re.compile(r"(\S*)$")
_FIRST_TOKEN = re.compile(r"^(\S*)")


def _letters_tail(token: str) -> str:
    m = re.search(r"[^\W\d_]+$", token)
    return m.group(0) if m else ""


def _letters_head(token: str) -> str:
    m = re.match(r"[^\W\d_]+", token)
    return m.group(0) if m else ""


def glue(prev: str, line: str) -> bool:
    """True if `line` continues `prev` inside one word (join without a space)."""
    if not prev or not line:
        return False
    if line[0] in ",.;:)%/" and line != "-":
        return True
    if line.startswith("-") and len(line) > 1 and not line[1].isspace() and not prev.endswith(" "):
        return True
    if prev[-1] in "(/":
        return True
    if prev.endswith("-") and len(prev) > 1 and not prev[-2].isspace():
        return True
    if re.search(r"(?:^|\s)\d+\.$", prev) and line[0].isdigit():
        return True
    if prev[-1].isspace() or not prev[-1].isalpha():
        return False
    last = _LAST_TOKEN.search(prev).group(1)
    first = _FIRST_TOKEN.match(line).group(1)
    tail, head = _letters_tail(last), _letters_head(first)
    if not tail or not head:
        return False
    if _is_caps(tail) and _is_caps(head) and len(head) == len(first.rstrip(",;.")):
        return len(tail) <= 3 or len(head) <= 2
    if head[0].isupper() and not (len(tail) == 1 and tail.isupper()):
        return False
    joined = tail + head
    if is_syllable(joined):
        return True
    return (not is_syllable(tail) or not is_syllable(head)) and _is_onset_prefix(joined)


def segments(lines: list[str]) -> list[str]:
    """Join soft wraps and in-word fragments; return the segments (see the module docstring)."""
    out: list[str] = []
    for raw in lines:
        if not raw.strip():
            continue
        indented = raw.startswith("  ")
        line = raw.strip()
        if out and indented:
            out[-1] = f"{out[-1]} {line}"
        elif out and glue(out[-1], line):
            out[-1] = out[-1] + line
        else:
            out.append(line)
    return [clean(s) for s in out]


def clean(text: str) -> str:
    """Collapse white space; no space before a comma or a semicolon."""
    text = re.sub(r"\s+", " ", text).strip()
    return re.sub(r"\s+([,;.])(?=\s|$)", r"\1", text)


def join(parts: list[str]) -> str:
    """Join segments of one cell with spaces (a word wrap between complete words)."""
    return clean(" ".join(p for p in parts if p))
