"""`xinstruct eval --model M --tasks ... --languages ...`: one model, no experiment file.

Writes `predictions.jsonl`, `metrics.csv` and `results.csv` (the same tidy schema as an
experiment's) into the output directory, atomically; the arm is named after the model. With a
cache directory, model requests go through `<cache_dir>/eval_requests.sqlite`, which lives outside
the (temporary) output directory: a killed evaluation resumes without recomputing finished batches.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from pydantic import TypeAdapter, ValidationError
from rich.table import Table

from xinstruct.artifacts import atomic_dir
from xinstruct.config import Lang
from xinstruct.errors import ConfigError


def evaluate_model(
    model: str,
    tasks: list[str],
    languages: list[str],
    out: Path,
    limit: int | None = None,
    batch_size: int = 32,
    max_new_tokens: int = 64,
    data_dir: str | None = None,
    cache_dir: Path | None = None,
    prompt_language: str = "en",
    engine: str = "auto",
):
    from xinstruct.evaluate.runner import evaluate
    from xinstruct.evaluate.tasks import TASKS
    from xinstruct.evaluate.tasks.common import TaskContext
    from xinstruct.evaluate.vllm_engine import resolve_engine

    unknown = [t for t in tasks if t not in TASKS]
    if unknown:
        raise ConfigError(f"--tasks: unknown task(s) {unknown}; known tasks: {sorted(TASKS)}")
    try:
        languages = [TypeAdapter(Lang).validate_python(lang.strip()) for lang in languages]
    except ValidationError as e:
        raise ConfigError(f"--languages: {e.errors()[0]['msg'].removeprefix('Value error, ')}") from None
    if not Path(model).exists() and "/" not in model:
        raise ConfigError(f"--model: {model!r} is neither a directory nor a hub id (org/name)")
    arm = Path(model).name or model
    resolve_engine(engine)  # a clear error before the model loads
    if prompt_language not in ("en", "native"):
        raise ConfigError(f"--prompt-language: expected en or native, got {prompt_language!r}")
    ctx = TaskContext(
        model_dir=Path(model),
        data_dir=data_dir,
        limit=limit,
        prompt_language=prompt_language,
        candidate_languages=tuple(languages),
    )
    out = Path(out)
    with atomic_dir(out) as tmp:
        rows = evaluate(arm, Path(model), ctx, tasks, languages, max_new_tokens, batch_size, tmp, cache_dir, engine)
        shutil.copy(tmp / "metrics.csv", tmp / "results.csv")
    table = Table(title=f"{arm}")
    for column in ("task", "language", "metric", "value", "n"):
        table.add_column(column, justify="right" if column in ("value", "n") else "left")
    for row in rows:
        table.add_row(row["task"], row["language"], row["metric"], f"{row['value']:.4f}", str(row["n"]))
    return table
