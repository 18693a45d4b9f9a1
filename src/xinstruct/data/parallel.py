"""Parallel corpora: aligned sentence pairs for translation demonstrations and MT evaluation.

Layouts (`layout:`):
- `files`: two aligned text files, one sentence per line (`path` = source, `target_path` = target).
- `tsv`: one file, source and target in the first two tab-separated columns.
- `jsonl`: one file of {"source": ..., "target": ...} objects (field names configurable).
- `per_language`: a directory with one aligned file per language whose name holds the language
  code, NTREX-style (`newstest2019-ref.deu.txt`); codes such as ISO 639-3 `deu` or `zho-CN` are
  normalised to BCP-47 (`de`, `zh-CN`) with langcodes.
Misaligned inputs (line counts that differ, empty lines on one side) are errors naming the files.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import langcodes

from xinstruct.data.readers import read_records, read_text
from xinstruct.errors import DataError


@dataclass(frozen=True)
class Pair:
    id: str
    source: str
    target: str
    source_lang: str
    target_lang: str


def _lines(path: Path) -> list[str]:
    return read_text(Path(path)).splitlines()


def _pairs(
    sources: list[str], targets: list[str], where: tuple[str, str], langs: tuple[str, str], prefix: str
) -> list[Pair]:
    if len(sources) != len(targets):
        raise DataError(
            f"{where[0]} has {len(sources)} lines but {where[1]} has {len(targets)}: "
            "parallel files must be aligned line by line"
        )
    out = []
    for i, (src, tgt) in enumerate(zip(sources, targets, strict=True), 1):
        if bool(src.strip()) != bool(tgt.strip()):
            raise DataError(f"{where[0]}:{i} / {where[1]}:{i}: one side is empty, the other is not (misaligned?)")
        if src.strip():
            out.append(Pair(f"{prefix}-{i:06d}", src.strip(), tgt.strip(), *langs))
    return out


def read_aligned_files(source: Path, target: Path, source_lang: str, target_lang: str) -> list[Pair]:
    return _pairs(
        _lines(Path(source)),
        _lines(Path(target)),
        (str(source), str(target)),
        (source_lang, target_lang),
        Path(target).stem,
    )


def read_tsv(path: Path, source_lang: str, target_lang: str) -> list[Pair]:
    sources, targets = [], []
    for i, line in enumerate(_lines(Path(path)), 1):
        cells = line.split("\t")
        if len(cells) < 2:
            raise DataError(f"{path}:{i}: expected source<TAB>target, found {len(cells)} column")
        sources.append(cells[0])
        targets.append(cells[1])
    return _pairs(sources, targets, (str(path), str(path)), (source_lang, target_lang), Path(path).stem)


def read_jsonl_pairs(
    path: Path, source_lang: str, target_lang: str, source_field: str = "source", target_field: str = "target"
) -> list[Pair]:
    sources, targets = [], []
    for row, where in read_records(Path(path)):
        for key in (source_field, target_field):
            if not isinstance(row.get(key), str):
                raise DataError(f"{where}: missing text field {key!r}")
        sources.append(row[source_field])
        targets.append(row[target_field])
    return _pairs(sources, targets, (str(path), str(path)), (source_lang, target_lang), Path(path).stem)


def language_files(directory: Path) -> dict[str, Path]:
    """{BCP-47 tag: file} for a one-file-per-language directory (code = second-to-last name part)."""
    found: dict[str, Path] = {}
    for path in sorted(Path(directory).glob("*.txt")):
        code = path.name.rsplit(".", 2)[-2] if path.name.count(".") >= 2 else ""
        if not re.fullmatch(r"[a-z]{2,3}(-[A-Za-z0-9]+)*", code) or not langcodes.tag_is_valid(code):
            continue
        tag = langcodes.standardize_tag(code, macro=True)
        if tag in found:
            raise DataError(f"{directory}: two files for language {tag}: {found[tag].name} and {path.name}")
        found[tag] = path
    if not found:
        raise DataError(f"{directory}: no per-language files (expected names like newstest2019-ref.deu.txt)")
    return found


def read_per_language(directory: Path, source_lang: str, target_lang: str) -> list[Pair]:
    files = language_files(directory)
    for lang in (source_lang, target_lang):
        if lang not in files:
            raise DataError(f"{directory}: no file for language {lang}; found {sorted(files)}")
    return read_aligned_files(files[source_lang], files[target_lang], source_lang, target_lang)
