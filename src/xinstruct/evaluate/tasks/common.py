"""What benchmark tasks share: where their data lives, and how languages are named in the files.

Data root: `eval.data_dir` in the experiment file, else $XINSTRUCT_DATA, else ../shared/data
(the team's offline copies; see its README). A missing file is a DataError naming the path.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from xinstruct.errors import DataError

DEFAULT_DATA = Path("..") / "shared" / "data"


def data_root(configured: str | None = None) -> Path:
    return Path(configured or os.environ.get("XINSTRUCT_DATA") or DEFAULT_DATA)


def require(path: Path, task: str) -> Path:
    if not path.exists():
        raise DataError(f"{path}: no such file for task {task} (set eval.data_dir or $XINSTRUCT_DATA)")
    return path


def check_language(task: str, lang: str, available: tuple[str, ...]) -> None:
    if lang not in available:
        raise DataError(f"task {task} has no language {lang!r}; it has {list(available)}")


@dataclass(frozen=True)
class TaskContext:
    """What a task may need besides the language: the lab model's world, or where benchmark files live."""

    model_dir: Path | None = None  # the base model (the lab tasks read its world)
    data_dir: str | None = None  # benchmark files (eval.data_dir)
    prompt_language: str = "en"  # en: one English instruction; native: the evaluation language's, where a task has one
    limit: int | None = None  # first N examples per language
    candidate_languages: tuple[str, ...] = ()  # what language ID may answer (the evaluation languages)


def limited(rows: list[dict], ctx: TaskContext) -> list[dict]:
    return rows if ctx.limit is None else rows[: ctx.limit]


def task_prompts(task, exp, lang: str) -> list[str]:
    """A task's evaluation texts for the contamination check: its `prompts`, else the `prompt_field` of its rows."""
    if hasattr(task, "prompts"):
        return task.prompts(exp, lang)
    return [row[task.prompt_field] for row in task.load(TaskContext(data_dir=exp.eval.data_dir), lang)]


def qa_scores(rows: list[dict], predictions: list[str], em_f1) -> tuple[dict, list[dict]]:
    """Mean exact match and F1 (0-1) of generated answers against each row's golds; `em_f1(pred, golds)`."""
    details = []
    for row, pred in zip(rows, predictions, strict=True):
        em, f1 = em_f1(pred, row["golds"])
        details.append({"exact_match": em, "f1": f1})
    n = len(rows)
    return {"exact_match": sum(d["exact_match"] for d in details) / n, "f1": sum(d["f1"] for d in details) / n}, details
