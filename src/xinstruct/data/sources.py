"""Load a named source into the internal `Example` schema.

Formats (`format:` of a source):
- `lab`: the lab world's English instruction pool (path: `lab`); with `task:`, only that cluster of it
  (ask_attr, ask_yesno, ask_earlier, ask_about: attribute, yes/no, comparison, description questions).
- `alpaca`: {instruction, input, output}; a non-empty input is appended to the instruction.
- `messages`: {messages: [{role, content}, ...]} ending with the assistant's turn.
- `sharegpt`: {conversations: [{from, value}, ...]} with from in human/user/gpt/assistant/system.
- `prompt_completion`: {prompt, completion}; other field names through `prompt_field` and
  `response_field` (the Vietnamese Alpaca uses {prompt, response}).
- `parallel`: sentence pairs (see `parallel.py`), read with `load_pairs` for a language pair.
- `lab_parallel`: the lab world's parallel corpus (path: `lab`; `lab.corpus.parallel_sentences`:
  statements about the train people, the same line in every lab language), read like `parallel`.
- `records`: raw task rows (e.g. KorNLI's sentence1/sentence2/gold_label) of one task cluster,
  read with `load_records`; the `templates` recipe turns them into instructions.
Files: JSON, JSONL, CSV, Parquet, optionally `.gz`, or a hub id (see `readers.py`).
`language: auto` detects each example's language with lingua. Every bad record is reported
with file, line (or row) and field.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from xinstruct.data.parallel import (
    Pair,
    read_aligned_files,
    read_jsonl_pairs,
    read_per_language,
    read_tsv,
)
from xinstruct.data.readers import read_records
from xinstruct.data.schema import Example, chat
from xinstruct.errors import DataError
from xinstruct.progress import warn

if TYPE_CHECKING:  # config imports the tasks, whose records task reads sources: types only here
    from xinstruct.config import SourceConfig

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

        examples = instruction_examples(World(world_config or WorldConfig()))
        if cfg.task is None:
            return examples
        kept = [ex for ex in examples if ex.task == cfg.task]  # one task cluster of the pool
        if not kept:
            clusters = sorted({ex.task for ex in examples})
            raise DataError(f"source {name!r}: the lab pool has no task {cfg.task!r}; its clusters are {clusters}")
        return kept
    if cfg.format not in _MAPPERS:
        raise DataError(f"source {name!r} is format {cfg.format}: not instruction examples (a recipe reads it as such)")
    mapper = _MAPPERS[cfg.format]
    examples = []
    skipped: list[str] = []
    on_error = skipped.append if cfg.skip_invalid else None
    declared, task = cfg.language, cfg.task
    for i, (row, where) in enumerate(read_records(cfg.path, cfg.split, on_error)):
        try:
            messages = mapper(row, where, cfg)
        except DataError as e:
            if not cfg.skip_invalid:
                raise
            skipped.append(str(e))
            continue
        uid = row.get("id")
        uid = f"{name}-{i:06d}" if uid is None or uid == "" else str(uid)
        lang = declared
        if lang == "auto":
            from xinstruct.data.langid import detect_language

            text = " ".join(m["content"] for m in messages)
            lang = detect_language(text, languages)
            if lang is None:
                raise DataError(f"{where}: language: auto could not tell the language of this example")
        examples.append(Example(uid, messages, name, lang, lang, task))
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


def load_pairs(name: str, cfg: SourceConfig, src: str, tgt: str, world_config=None) -> list[Pair]:
    """Sentence pairs src -> tgt of a parallel source (either direction of a two-language corpus)."""
    if cfg.format == "lab_parallel":
        return lab_pairs(name, src, tgt, world_config)
    if cfg.format != "parallel":
        raise DataError(f"source {name!r} is format {cfg.format}, not a parallel corpus")
    if cfg.layout == "per_language":
        return read_per_language(Path(cfg.path), src, tgt)
    if {src, tgt} != {cfg.language, cfg.target_language}:
        raise DataError(
            f"source {name!r} pairs {cfg.language} with {cfg.target_language}; a recipe asked for {src} -> {tgt}"
        )
    if cfg.layout == "files":
        pairs = read_aligned_files(Path(cfg.path), Path(cfg.target_path), cfg.language, cfg.target_language)
    elif cfg.layout == "tsv":
        pairs = read_tsv(Path(cfg.path), cfg.language, cfg.target_language)
    else:
        pairs = read_jsonl_pairs(Path(cfg.path), cfg.language, cfg.target_language, cfg.source_field, cfg.target_field)
    if src == cfg.language:
        return pairs
    return [Pair(p.id, p.target, p.source, p.target_lang, p.source_lang) for p in pairs]


def lab_pairs(name: str, src: str, tgt: str, world_config=None) -> list[Pair]:
    """Pairs src -> tgt of the lab parallel corpus of the world `world_config` (line k is line k in every
    language, so the recipes' one seeded line order is the same for every pair)."""
    from xinstruct.lab.corpus import parallel_sentences
    from xinstruct.lab.world import World, WorldConfig

    world = World(world_config or WorldConfig())
    for lang in (src, tgt):
        if lang not in world.config.languages:
            raise DataError(f"source {name!r} (lab_parallel): {lang!r} is not a language of the lab world")
    lines = parallel_sentences(world)
    return [Pair(f"{name}-{k:05d}", line[src], line[tgt], src, tgt, k) for k, line in enumerate(lines, 1)]


@dataclass(frozen=True)
class TaskRecord:
    """One raw row of a task dataset (fields as strings), before a template makes it an instruction."""

    id: str
    fields: dict[str, str]
    lang: str
    task: str
    where: str


def load_records(name: str, cfg: SourceConfig) -> list[TaskRecord]:
    if cfg.format != "records":
        raise DataError(f"source {name!r} is format {cfg.format}, not task records")
    if cfg.language == "auto":
        raise DataError(f"source {name!r}: records need a declared `language`, not auto")
    rows = [
        TaskRecord(f"{name}-{i:06d}", {k: str(v) for k, v in row.items()}, cfg.language, cfg.task, where)
        for i, (row, where) in enumerate(read_records(cfg.path, cfg.split))
    ]
    if not rows:
        raise DataError(f"{cfg.path}: no records")
    return rows
