"""Load a named source into the internal `Example` schema.

Formats (issue 3 covers these; more arrive with the data stage):
- `lab`: the lab world's English instruction pool (path: `lab`).
- `alpaca`: JSON list or JSONL of {instruction, input, output}.
- `messages`: JSONL/JSON of {messages: [{role, content}, ...]}.
Every bad record is reported with file, line (or item) and field.
"""

from __future__ import annotations

import json
from pathlib import Path

from xinstruct.config import Experiment, SourceConfig
from xinstruct.data.schema import Example, chat
from xinstruct.errors import DataError


def load_source(name: str, cfg: SourceConfig, exp: Experiment) -> list[Example]:
    if cfg.format == "lab":
        from xinstruct.lab.corpus import instruction_examples
        from xinstruct.lab.world import World

        return instruction_examples(World(exp.world_config()))
    rows = _read_records(Path(cfg.path))
    if cfg.format == "alpaca":
        return [_from_alpaca(row, where, f"{name}-{i:06d}", name, cfg.language) for i, (row, where) in enumerate(rows)]
    return [_from_messages(row, where, f"{name}-{i:06d}", name, cfg.language) for i, (row, where) in enumerate(rows)]


def _read_records(path: Path) -> list[tuple[dict, str]]:
    """(record, "file:line") pairs from a JSON list or a JSONL file."""
    if not path.exists():
        raise DataError(f"{path}: no such file (a source's path must be a local file here)")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise DataError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from None
    if text.lstrip().startswith("["):
        try:
            items = json.loads(text)
        except json.JSONDecodeError as e:
            raise DataError(f"{path}:{e.lineno}: invalid JSON: {e.msg}") from None
        rows = [(item, f"{path}: item {i}") for i, item in enumerate(items)]
    else:
        rows = []
        for lineno, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                rows.append((json.loads(line), f"{path}:{lineno}"))
            except json.JSONDecodeError as e:
                raise DataError(f"{path}:{lineno}: invalid JSON: {e.msg} (column {e.colno})") from None
    for row, where in rows:
        if not isinstance(row, dict):
            raise DataError(f"{where}: expected a JSON object, got {type(row).__name__}")
    return rows


def _field(row: dict, key: str, where: str, allow_empty: bool = False) -> str:
    if key not in row:
        raise DataError(f"{where}: missing field {key!r}")
    value = row[key]
    if not isinstance(value, str):
        raise DataError(f"{where}: field {key!r}: expected a string, got {type(value).__name__}")
    if not allow_empty and not value.strip():
        raise DataError(f"{where}: field {key!r}: expected non-empty text")
    return value


def _from_alpaca(row: dict, where: str, uid: str, source: str, lang: str) -> Example:
    instruction = _field(row, "instruction", where)
    extra = _field(row, "input", where, allow_empty=True) if "input" in row else ""
    prompt = f"{instruction}\n\n{extra}" if extra.strip() else instruction
    return Example(uid, chat(prompt, _field(row, "output", where)), source, lang, lang)


def _from_messages(row: dict, where: str, uid: str, source: str, lang: str) -> Example:
    messages = row.get("messages")
    if not isinstance(messages, list) or len(messages) < 2:
        raise DataError(f"{where}: field 'messages': expected a list of at least 2 {{role, content}} objects")
    out = []
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or m.get("role") not in ("system", "user", "assistant"):
            raise DataError(f"{where}: field messages[{i}].role: expected 'system', 'user' or 'assistant'")
        out.append({"role": m["role"], "content": _field(m, "content", f"{where}: messages[{i}]")})
    if out[-1]["role"] != "assistant":
        raise DataError(f"{where}: field 'messages': the last message must be the assistant's response")
    return Example(str(row.get("id", uid)), tuple(out), source, lang, lang)
