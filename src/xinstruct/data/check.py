"""`xinstruct data check`: validate one source file the way an experiment would read it.

Prints what a user wants to know before an experiment (how many examples, in which languages,
how long) or raises the first error with file, line and field.
"""

from __future__ import annotations

from collections import Counter
from statistics import mean, median

from rich.table import Table

from xinstruct.config import SourceConfig
from xinstruct.data.schema import Example
from xinstruct.data.sources import load_source


def check_source(path: str, fmt: str, language: str = "auto", **fields: str) -> list[Example]:
    """Load every example of the file (raising DataError/ValidationError on the first problem)."""
    cfg = SourceConfig(path=path, format=fmt, language=language, **fields)
    return load_source("check", cfg)


def summary_table(examples: list[Example], path: str) -> Table:
    table = Table(title=f"{path}: {len(examples)} examples")
    table.add_column("what")
    table.add_column("value", overflow="fold")
    langs = Counter(ex.lang for ex in examples)
    table.add_row("languages", ", ".join(f"{lang} {n}" for lang, n in langs.most_common()))
    for what, texts in (
        ("prompt chars", [ex.prompt for ex in examples]),
        ("response chars", [ex.response for ex in examples]),
    ):
        lengths = [len(t) for t in texts]
        table.add_row(
            what, f"min {min(lengths)}  median {median(lengths):.0f}  mean {mean(lengths):.0f}  max {max(lengths)}"
        )
    table.add_row(
        "turns", ", ".join(f"{n} turns: {c}" for n, c in sorted(Counter(len(ex.messages) for ex in examples).items()))
    )
    return table
