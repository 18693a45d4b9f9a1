"""Read records (dicts) from a data file or a hub dataset, each with where it came from.

Files: JSON (a list of objects), JSONL, CSV, TSV (header row, no quoting), Parquet; any of them may be gzip-compressed
(`.gz`). A path that does not exist and looks like `org/name` is loaded from the hub with
`datasets` (there it needs network access or the local HF cache). Every error names the file
and the line (JSONL, JSON) or row (CSV, Parquet) with what was expected.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path

import orjson

from xinstruct.errors import DataError

Record = tuple[dict, str]  # (record, "file:line" / "file: row N")


def read_records(path: str | Path, split: str = "train", on_error=None) -> Iterator[Record]:
    """Records of a file or hub dataset. With `on_error(message)`, a malformed JSONL line is
    reported to it and skipped instead of raising."""
    path = Path(path)
    if not path.exists():
        if re.fullmatch(r"[\w.-]+/[\w.-]+", str(path)):
            yield from _read_hub(str(path), split)
            return
        raise DataError(f"{path}: no such file")
    suffixes = [s.lower() for s in path.suffixes]
    compressed = suffixes[-1:] == [".gz"]
    kind = (suffixes[-2] if compressed and len(suffixes) > 1 else suffixes[-1] if suffixes else "").lstrip(".")
    if kind == "parquet":
        yield from _read_parquet(path)
        return
    if kind == "jsonl" or (kind not in ("csv", "tsv", "json") and not _starts_with_bracket(path)):
        yield from _read_jsonl(path, on_error)  # streamed: a million-line file never sits in memory twice
        return
    text = read_text(path)
    if kind == "csv":
        yield from _read_csv(path, text)
    elif kind == "tsv":
        yield from _read_csv(path, text, delimiter="\t")
    else:
        yield from _read_json(path, text)


def _open_binary(path: Path):
    return gzip.open(path, "rb") if path.suffix.lower() == ".gz" else open(path, "rb")


def _starts_with_bracket(path: Path) -> bool:
    try:
        with _open_binary(path) as f:
            return f.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"[")
    except (OSError, EOFError) as e:
        raise DataError(f"{path}: not a readable file ({e})") from None


def read_text(path: Path) -> str:
    """A UTF-8 file's text (gunzipped when it ends in .gz); DataError naming the line otherwise."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file")
    compressed = path.suffix.lower() == ".gz"
    try:
        raw = gzip.decompress(path.read_bytes()) if compressed else path.read_bytes()
    except (OSError, EOFError) as e:
        raise DataError(f"{path}: not a readable gzip file ({e})") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise DataError(
            f"{path}:{line}: not UTF-8 text (byte {e.start}: {e.reason}); convert the file to UTF-8"
        ) from None


def _read_jsonl(path: Path, on_error=None) -> Iterator[Record]:
    prefix = f"{path}:"  # the hot loop below runs a million times for a big file: keep it lean
    try:
        with _open_binary(path) as f:
            for lineno, raw in enumerate(f, 1):
                if raw.isspace():
                    continue
                try:
                    line = raw.decode("utf-8-sig" if lineno == 1 else "utf-8")
                except UnicodeDecodeError as e:
                    raise DataError(
                        f"{path}:{lineno}: not UTF-8 text (byte {e.start} of the line: {e.reason}); "
                        "convert the file to UTF-8"
                    ) from None
                try:
                    row = orjson.loads(line)
                except orjson.JSONDecodeError as e:
                    error = DataError(f"{path}:{lineno}: invalid JSON: {e.msg} (column {e.colno})")
                    if on_error is None:
                        raise error from None
                    on_error(str(error))
                    continue
                if type(row) is not dict:
                    raise DataError(f"{path}:{lineno}: expected a JSON object, got {type(row).__name__}")
                yield row, prefix + str(lineno)
    except (OSError, EOFError) as e:
        raise DataError(f"{path}: not a readable file ({e})") from None


def _read_json(path: Path, text: str) -> Iterator[Record]:
    try:
        items = json.loads(text)
    except json.JSONDecodeError as e:
        raise DataError(f"{path}:{e.lineno}: invalid JSON: {e.msg} (column {e.colno})") from None
    if isinstance(items, dict) and isinstance(items.get("data"), list):
        items = items["data"]
    if not isinstance(items, list):
        raise DataError(f"{path}: expected a JSON list of objects (or JSONL, one object per line)")
    for i, item in enumerate(items):
        yield _object(item, f"{path}: item {i}")


def _read_csv(path: Path, text: str, delimiter: str = ",") -> Iterator[Record]:
    quoting = csv.QUOTE_NONE if delimiter == "\t" else csv.QUOTE_MINIMAL  # TSV corpora quote nothing
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter, quoting=quoting)
    for row in reader:
        if None in row:
            raise DataError(f"{path}:{reader.line_num}: more cells than the {len(reader.fieldnames)} header columns")
        if None in row.values():
            missing = [k for k, v in row.items() if v is None]
            raise DataError(f"{path}:{reader.line_num}: fewer cells than the header; no value for {missing}")
        yield row, f"{path}:{reader.line_num}"


def _read_parquet(path: Path) -> Iterator[Record]:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as e:  # pyarrow raises several types for a broken file
        raise DataError(f"{path}: not a readable Parquet file ({e})") from None
    for i, row in enumerate(table.to_pylist()):
        yield row, f"{path}: row {i}"


def _read_hub(name: str, split: str) -> Iterator[Record]:
    from datasets import load_dataset

    try:
        dataset = load_dataset(name, split=split)
    except Exception as e:  # network, missing dataset, missing split: all reported the same way
        raise DataError(f"{name}: no such file, and loading it as a hub dataset failed: {e}") from None
    for i, row in enumerate(dataset):
        yield dict(row), f"{name} ({split}): row {i}"


def _object(row: object, where: str) -> Record:
    if not isinstance(row, dict):
        raise DataError(f"{where}: expected a JSON object, got {type(row).__name__}")
    return row, where
