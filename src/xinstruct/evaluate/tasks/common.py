"""What benchmark tasks share: where their data lives, and how languages are named in the files.

Data root: `eval.data_dir` in the experiment file, else $XINSTRUCT_DATA, else ../shared/data
(the team's offline copies; see its README). A missing file is a DataError naming the path.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xinstruct.errors import DataError

DEFAULT_DATA = Path("..") / "shared" / "data"


def data_root(configured: str | None = None) -> Path:
    return Path(configured or os.environ.get("XINSTRUCT_DATA") or DEFAULT_DATA)


def require(path: Path, task: str) -> Path:
    if not path.exists():
        raise DataError(f"{path}: no such file for task {task} (set eval.data_dir or $XINSTRUCT_DATA)")
    return path


def check_language(task: str, lang: str, available: tuple[str, ...]) -> str:
    """The task's own tag for `lang`, compared by language (`zh` finds NTREX's `zh-CN`); DataError if none."""
    from xinstruct.languages import same_language

    match = [tag for tag in available if same_language(tag, lang)]
    if not match:
        raise DataError(f"task {task} has no language {lang!r}; it has {list(available)}")
    return match[0]


@dataclass(frozen=True)
class TaskContext:
    """What a task may need besides the language: the lab model's world, or where benchmark files live."""

    model_dir: Path | None = None  # the base model (the lab tasks read its world)
    data_dir: str | None = None  # benchmark files (eval.data_dir)
    prompt_language: str = "en"  # en: one English instruction; native: the evaluation language's, where a task has one
    limit: int | None = None  # first N examples per language
    candidate_languages: tuple[str, ...] = ()  # what language ID may answer (the evaluation languages)
    # records tasks (`records:SOURCE@LANG`): the experiment's sources and `eval.templates`; no fixed task needs them
    record_sources: Mapping[str, Any] = field(default_factory=dict, hash=False)
    record_templates: Mapping[str, Any] = field(default_factory=dict, hash=False)


def limited(rows: list[dict], ctx: TaskContext) -> list[dict]:
    return rows if ctx.limit is None else rows[: ctx.limit]


def task_prompts(task, exp, lang: str) -> list[str]:
    """A task's evaluation texts for the contamination check: its `prompts`, else the `prompt_field` of its rows."""
    if hasattr(task, "prompts"):
        return task.prompts(exp, lang)
    ctx = TaskContext(data_dir=exp.eval.data_dir, limit=exp.eval.limit)  # the examples the evaluation scores
    return [row[task.prompt_field] for row in task.load(ctx, lang)]


def qa_scores(rows: list[dict], predictions: list[str], em_f1) -> tuple[dict, list[dict]]:
    """Mean exact match and F1 (0-1) of generated answers against each row's golds; `em_f1(pred, golds)`."""
    details = []
    for row, pred in zip(rows, predictions, strict=True):
        em, f1 = em_f1(pred, row["golds"])
        details.append({"exact_match": em, "f1": f1})
    n = len(rows)
    return {"exact_match": sum(d["exact_match"] for d in details) / n, "f1": sum(d["f1"] for d in details) / n}, details
