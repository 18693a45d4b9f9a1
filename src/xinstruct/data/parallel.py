"""Parallel corpora: aligned sentence pairs for translation demonstrations and MT evaluation.

Layouts (`layout:`):
- `files`: two aligned text files, one sentence per line (`path` = source, `target_path` = target).
- `tsv`: one file, source and target in the first two tab-separated columns.
- `jsonl`: one file of {"source": ..., "target": ...} objects (field names configurable).
- `per_language`: a directory with one aligned file per language whose name holds the language
  code, NTREX-style (`newstest2019-ref.deu.txt`); codes such as ISO 639-3 `deu` or `zho-CN` are
  normalised to BCP-47 (`de`, `zh-CN`) by `xinstruct.languages.tag_from_code`.
Misaligned inputs (line counts that differ, empty lines on one side) are errors naming the files.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from xinstruct.data.readers import read_records, read_text
from xinstruct.errors import DataError
from xinstruct.languages import same_language, tag_from_code


@dataclass(frozen=True)
class Pair:
    id: str
    source: str
    target: str
    source_lang: str
    target_lang: str
    line: int = 0  # 1-based line of the aligned files: the same sentence has the same line in every language


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
            out.append(Pair(f"{prefix}-{i:06d}", src.strip(), tgt.strip(), *langs, i))
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
        tag = tag_from_code(code)
        if tag is None:
            continue
        if tag in found:
            raise DataError(f"{directory}: two files for language {tag}: {found[tag].name} and {path.name}")
        found[tag] = path
    if not found:
        raise DataError(f"{directory}: no per-language files (expected names like newstest2019-ref.deu.txt)")
    return found


def read_per_language(directory: Path, source_lang: str, target_lang: str) -> list[Pair]:
    files = language_files(directory)
    found = []
    for lang in (source_lang, target_lang):
        match = [tag for tag in files if same_language(tag, lang)]  # `zh` finds NTREX's `zho-CN` file
        if not match:
            raise DataError(f"{directory}: no file for language {lang}; found {sorted(files)}")
        found.append(files[match[0]])
    return read_aligned_files(found[0], found[1], source_lang, target_lang)
