"""The parsed-YAML cache: same data as parsing, read back without parsing, never trusted from a folder others
can write, and a broken or missing cache only means parsing again."""

from __future__ import annotations

import datetime as dt
import os

import pytest
import yaml

from bhxh import yamlio

TEXT = """
units:
  - id: bhxh_tinh_ha_giang
    name: BHXH tỉnh Hà Giang
    valid_from: 1995-10-01
    merged_into: null
    tags: [tinh, "63"]
"""


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("BHXH_CACHE_DIR", str(folder))
    return folder


def _no_parsing(monkeypatch):
    def refuse(*_a, **_k):
        raise AssertionError("parsed again")

    monkeypatch.setattr(yamlio, "_parse", refuse)


def test_second_load_reads_the_cache_and_gives_the_same_data(cache, monkeypatch):
    first = yamlio.load_yaml(TEXT)
    assert first == yaml.safe_load(TEXT)
    assert first["units"][0]["valid_from"] == dt.date(1995, 10, 1)
    assert len(list(cache.glob("*.pickle"))) == 1
    assert oct(cache.stat().st_mode & 0o777) == oct(0o700)
    _no_parsing(monkeypatch)
    again = yamlio.load_yaml(TEXT)
    assert again == first and again is not first  # a fresh copy: callers may change it


def test_an_edited_file_is_parsed_again(cache):
    yamlio.load_yaml(TEXT)
    edited = yamlio.load_yaml(TEXT.replace("Hà Giang", "Tuyên Quang"))
    assert edited["units"][0]["name"] == "BHXH tỉnh Tuyên Quang"
    assert len(list(cache.glob("*.pickle"))) == 2


def test_a_broken_cache_file_is_parsed_and_replaced(cache):
    yamlio.load_yaml(TEXT)
    (entry,) = cache.glob("*.pickle")
    entry.write_bytes(b"\x80\x05not a pickle")
    assert yamlio.load_yaml(TEXT) == yaml.safe_load(TEXT)
    assert yamlio.load_yaml(TEXT) == yaml.safe_load(TEXT)


def test_a_folder_others_can_write_is_not_used(cache):
    cache.mkdir(mode=0o700)
    os.chmod(cache, 0o777)  # noqa: S103 (the very case under test)
    assert yamlio.cache_dir() is None
    assert yamlio.load_yaml(TEXT) == yaml.safe_load(TEXT)
    assert not list(cache.glob("*.pickle"))


def test_no_cache_when_the_folder_cannot_be_made(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setenv("BHXH_CACHE_DIR", str(blocker / "cache"))
    assert yamlio.cache_dir() is None
    assert yamlio.load_yaml(TEXT) == yaml.safe_load(TEXT)
