"""Parallel corpora: NTREX from ../shared/data, and each layout with a misaligned input."""

import json

import pytest

from tests.conftest import SHARED_DATA
from xinstruct.data.parallel import language_files, read_aligned_files, read_jsonl_pairs, read_per_language, read_tsv
from xinstruct.errors import DataError

NTREX = SHARED_DATA / "ntrex" / "NTREX-128"


@pytest.mark.skipif(not NTREX.exists(), reason=f"NTREX not found at {NTREX}")
def test_ntrex_codes_are_normalised_and_pairs_aligned():
    files = language_files(NTREX)
    assert set(files) == {"en", "ar", "de", "el", "hi", "it", "ja", "ko", "ru", "es", "th", "tr", "vi", "zh-CN"}
    pairs = read_per_language(NTREX, "en", "de")
    assert len(pairs) == 1997
    assert pairs[0].source_lang == "en" and pairs[0].target_lang == "de" and pairs[0].source and pairs[0].target
    assert read_per_language(NTREX, "zh-CN", "en")[5].target == pairs[5].source
    with pytest.raises(DataError, match="no file for language sw"):
        read_per_language(NTREX, "en", "sw")


def test_layouts_and_misalignment(tmp_path):
    (tmp_path / "a.en").write_text("hello\nworld\n")
    (tmp_path / "a.de").write_text("hallo\nwelt\n")
    assert [p.target for p in read_aligned_files(tmp_path / "a.en", tmp_path / "a.de", "en", "de")] == ["hallo", "welt"]
    (tmp_path / "b.de").write_text("hallo\n")
    with pytest.raises(DataError, match=r"a\.en has 2 lines but .*b\.de has 1"):
        read_aligned_files(tmp_path / "a.en", tmp_path / "b.de", "en", "de")
    (tmp_path / "c.de").write_text("hallo\n\n")
    with pytest.raises(DataError, match=r"a\.en:2 / .*c\.de:2: one side is empty"):
        read_aligned_files(tmp_path / "a.en", tmp_path / "c.de", "en", "de")
    (tmp_path / "p.tsv").write_text("hello\thallo\nworld\n")
    with pytest.raises(DataError, match=r"p\.tsv:2: expected source<TAB>target"):
        read_tsv(tmp_path / "p.tsv", "en", "de")
    (tmp_path / "p.jsonl").write_text(json.dumps({"src": "hello", "tgt": "hallo"}) + "\n")
    assert read_jsonl_pairs(tmp_path / "p.jsonl", "en", "de", "src", "tgt")[0].target == "hallo"
    with pytest.raises(DataError, match=r"p\.jsonl:1: missing text field 'source'"):
        read_jsonl_pairs(tmp_path / "p.jsonl", "en", "de")
