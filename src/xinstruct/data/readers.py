"""Read records (dicts) from a data file or a hub dataset, each with where it came from.

Files: JSON (a list of objects), JSONL, CSV, Parquet; any of them may be gzip-compressed
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
    text = read_text(path)
    if kind == "csv":
        yield from _read_csv(path, text)
    elif kind == "json" or (kind != "jsonl" and text.lstrip().startswith("[")):
        yield from _read_json(path, text)
    else:
        yield from _read_jsonl(path, text, on_error)


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


def _read_jsonl(path: Path, text: str, on_error=None) -> Iterator[Record]:
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            error = DataError(f"{path}:{lineno}: invalid JSON: {e.msg} (column {e.colno})")
            if on_error is None:
                raise error from None
            on_error(str(error))
            continue
        yield _object(row, f"{path}:{lineno}")


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


def _read_csv(path: Path, text: str) -> Iterator[Record]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    for row in reader:
        if None in row:
            raise DataError(f"{path}:{reader.line_num}: more cells than the {len(reader.fieldnames)} header columns")
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
