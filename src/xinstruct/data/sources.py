"""Load a named source into the internal `Example` schema.

Formats (`format:` of a source):
- `lab`: the lab world's English instruction pool (path: `lab`).
- `alpaca`: {instruction, input, output}; a non-empty input is appended to the instruction.
- `messages`: {messages: [{role, content}, ...]} ending with the assistant's turn.
- `sharegpt`: {conversations: [{from, value}, ...]} with from in human/user/gpt/assistant/system.
- `prompt_completion`: {prompt, completion}; other field names through `prompt_field` and
  `response_field` (the Vietnamese Alpaca uses {prompt, response}).
Files: JSON, JSONL, CSV, Parquet, optionally `.gz`, or a hub id (see `readers.py`).
`language: auto` detects each example's language with lingua. Every bad record is reported
with file, line (or row) and field.
"""

from __future__ import annotations

from xinstruct.config import SourceConfig
from xinstruct.data.readers import read_records
from xinstruct.data.schema import Example, chat
from xinstruct.errors import DataError
from xinstruct.progress import warn

_SHAREGPT_ROLES = {
    "human": "user",
    "user": "user",
    "gpt": "assistant",
    "assistant": "assistant",
    "system": "system",
    "bing": "assistant",
    "chatgpt": "assistant",
}


def load_source(name: str, cfg: SourceConfig, world_config=None, languages: list[str] | None = None) -> list[Example]:
    """All examples of one source. `languages` are the candidates for `language: auto`."""
    if cfg.format == "lab":
        from xinstruct.lab.corpus import instruction_examples
        from xinstruct.lab.world import World, WorldConfig

        return instruction_examples(World(world_config or WorldConfig()))
    mapper = _MAPPERS[cfg.format]
    examples = []
    skipped: list[str] = []
    on_error = skipped.append if cfg.skip_invalid else None
    for i, (row, where) in enumerate(read_records(cfg.path, cfg.split, on_error)):
        try:
            messages = mapper(row, where, cfg)
        except DataError as e:
            if not cfg.skip_invalid:
                raise
            skipped.append(str(e))
            continue
        uid = str(row.get("id") or f"{name}-{i:06d}")
        lang = cfg.language
        if lang == "auto":
            from xinstruct.data.langid import detect_language

            text = " ".join(m["content"] for m in messages)
            lang = detect_language(text, languages)
            if lang is None:
                raise DataError(f"{where}: language: auto could not tell the language of this example")
        examples.append(Example(uid, messages, name, lang, lang))
    if skipped:
        warn(f"{cfg.path}: skipped {len(skipped)} invalid records (skip_invalid: true); first: {skipped[0]}")
    if not examples:
        raise DataError(f"{cfg.path}: no examples")
    return examples


def _text(row: dict, key: str, where: str, allow_empty: bool = False) -> str:
    if key not in row or row[key] is None:
        raise DataError(f"{where}: missing field {key!r} (found fields: {sorted(row)})")
    value = row[key]
    if not isinstance(value, str):
        raise DataError(f"{where}: field {key!r}: expected a string, got {type(value).__name__}")
    if not allow_empty and not value.strip():
        raise DataError(f"{where}: field {key!r}: expected non-empty text, got an empty string")
    return value


def _alpaca(row: dict, where: str, cfg: SourceConfig) -> tuple[dict[str, str], ...]:
    instruction = _text(row, "instruction", where)
    extra = _text(row, "input", where, allow_empty=True) if row.get("input") is not None else ""
    prompt = f"{instruction}\n\n{extra}" if extra.strip() else instruction
    return chat(prompt, _text(row, "output", where))


def _prompt_completion(row: dict, where: str, cfg: SourceConfig) -> tuple[dict[str, str], ...]:
    return chat(_text(row, cfg.prompt_field, where), _text(row, cfg.response_field, where))


def _turns(
    turns: object, where: str, field: str, role_key: str, text_key: str, roles: dict[str, str]
) -> tuple[dict[str, str], ...]:
    if not isinstance(turns, list) or len(turns) < 2:
        raise DataError(f"{where}: field {field!r}: expected a list of at least 2 turns")
    out = []
    for i, turn in enumerate(turns):
        if not isinstance(turn, dict) or turn.get(role_key) not in roles:
            raise DataError(
                f"{where}: field {field}[{i}].{role_key}: expected one of {sorted(roles)}, "
                f"got {turn.get(role_key) if isinstance(turn, dict) else turn!r}"
            )
        out.append({"role": roles[turn[role_key]], "content": _text(turn, text_key, f"{where}: {field}[{i}]")})
    if out[-1]["role"] != "assistant":
        raise DataError(f"{where}: field {field!r}: the last turn must be the assistant's response")
    return tuple(out)


def _messages(row: dict, where: str, cfg: SourceConfig) -> tuple[dict[str, str], ...]:
    roles = {"system": "system", "user": "user", "assistant": "assistant"}
    return _turns(row.get("messages"), where, "messages", "role", "content", roles)


def _sharegpt(row: dict, where: str, cfg: SourceConfig) -> tuple[dict[str, str], ...]:
    return _turns(row.get("conversations"), where, "conversations", "from", "value", _SHAREGPT_ROLES)


_MAPPERS = {"alpaca": _alpaca, "messages": _messages, "sharegpt": _sharegpt, "prompt_completion": _prompt_completion}
