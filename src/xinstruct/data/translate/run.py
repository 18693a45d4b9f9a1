"""`xinstruct data translate`: a source file into other languages, written atomically as internal JSONL."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError
from rich.table import Table

from xinstruct.config import SourceConfig, TranslatorConfig, _check_lang
from xinstruct.data.schema import write_jsonl
from xinstruct.data.sources import load_source
from xinstruct.data.translate import Translator
from xinstruct.errors import ConfigError, DataError

_FLAGS = {"path": "INPUT", "language": "--from", "model": "--model", "base_url": "--base-url"}


def _flag(field: str) -> str:
    return _FLAGS.get(field, "--" + field.replace("_", "-"))


def _validation_error(e: ValidationError, what: str) -> ConfigError:
    messages = []
    for err in e.errors():
        msg = err["msg"].removeprefix("Value error, ")
        if err["loc"]:
            messages.append(f"{_flag(str(err['loc'][0]))}: {msg} (got {err['input']!r})")
        else:  # a cross-field check: name the flags that fix it
            for field in ("model", "base_url"):
                msg = msg.replace(f"`{field}`", f"`{field}` ({_flag(field)})")
            messages.append(f"{what}: {msg}")
    return ConfigError("; ".join(messages))


def parse_targets(value: str) -> list[str]:
    """`de,zh` -> ['de', 'zh'] (BCP-47, standardized); ConfigError naming --to."""
    tags = [t.strip() for t in value.split(",") if t.strip()]
    if not tags:
        raise ConfigError("--to: give one or more target languages, e.g. --to de,zh")
    try:
        return list(dict.fromkeys(_check_lang(t) for t in tags))
    except ValueError as e:
        raise ConfigError(f"--to: {e}") from None


def translator_config(base: TranslatorConfig | None, **flags) -> TranslatorConfig:
    """The experiment's translator (or the defaults) with the flags that were given on top.

    Without --config or --backend, the backend follows the flags: --base-url -> openai, --model -> hf, else lab.
    """
    given = {k: v for k, v in flags.items() if v is not None}
    if base is None and "backend" not in given:
        given["backend"] = "openai" if "base_url" in given else "hf" if "model" in given else "lab"
    if "cache" in given:
        given["cache"] = str(given["cache"])
    try:
        return TranslatorConfig(**{**(base.model_dump() if base else {}), **given})
    except ValidationError as e:
        raise _validation_error(e, "translator") from None


def default_out(input: str, targets: list[str]) -> Path:
    stem = Path(input).name.split(".")[0] or "translated"
    return Path(f"{stem}.{'_'.join(targets)}.jsonl")


@dataclass
class TranslateSummary:
    input: str
    out: Path
    examples: int
    targets: list[str]
    written: int
    segments: int
    hits: int
    misses: int
    seconds: float


def translate_file(
    input: str,
    fmt: str,
    targets: list[str],
    translator: Translator,
    out: Path,
    language: str = "en",
    world_config=None,
    languages: list[str] | None = None,
    **fields,
) -> TranslateSummary:
    """Load `input` as a source, translate every example into every target, write `out` atomically.

    `languages` are the candidates for `language="auto"` (default: every language lingua knows).
    `out` appears only when complete (a temporary file in the same directory, then a rename):
    a killed run leaves no partial output, and its finished batches are in the translation cache.
    """
    t0 = time.perf_counter()
    try:
        cfg = SourceConfig(path=input, format=fmt, language=language, **fields)
    except ValidationError as e:
        raise _validation_error(e, "source") from None
    if Path(input).exists() and out.exists() and out.resolve() == Path(input).resolve():
        raise ConfigError(f"--out {out}: is the input file; write the translations somewhere else")
    examples = load_source(Path(input).name.split(".")[0] or "input", cfg, world_config, languages)
    translated = [ex for tgt in targets for ex in translator.translate_examples(examples, tgt)]
    _write_atomic(translated, out)
    stats = translator.stats
    seconds = time.perf_counter() - t0
    return TranslateSummary(
        input, out, len(examples), targets, len(translated), stats.segments, stats.hits, stats.misses, seconds
    )


def _write_atomic(examples, out: Path) -> None:
    tmp = out.parent / f".{out.name}.{os.getpid()}.tmp"
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        write_jsonl(examples, tmp)
        os.replace(tmp, out)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise DataError(f"--out {out}: cannot write there ({e.strerror or e})") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def summary_table(s: TranslateSummary) -> Table:
    table = Table(title=f"{s.input} -> {s.out}")
    table.add_column("what")
    table.add_column("value", justify="right")
    table.add_row("examples", str(s.examples))
    table.add_row("target languages", ", ".join(s.targets))
    table.add_row("examples written", str(s.written))
    table.add_row("segments", str(s.segments))
    table.add_row("cache hits", str(s.hits))
    table.add_row("misses (translated)", str(s.misses))
    table.add_row("seconds", f"{s.seconds:.1f}")
    return table
