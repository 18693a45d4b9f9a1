"""`xinstruct eval --model M --tasks ... --languages ...`: one model, no experiment file.

Writes `predictions.jsonl`, `metrics.csv` and `results.csv` (the same tidy schema as an
experiment's) and, last, `manifest.json` (settings, device and dtype, `world_size`, `requests_per_rank`,
the files' sha256) into the output directory, atomically; the arm is named after the model. With a
cache directory, model requests go through `<cache_dir>/eval_requests.sqlite`, which lives outside
the (temporary) output directory: a killed evaluation resumes without recomputing finished batches.

Under torchrun / accelerate launch every rank scores its share of the batches (`xinstruct.evaluate.parallel`)
and rank 0 alone writes the directory, with the same results.csv and predictions.jsonl as one process.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

from pydantic import TypeAdapter, ValidationError
from rich.table import Table

from xinstruct.artifacts import atomic_dir, write_manifest
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
    device: str = "auto",
    dtype: str = "auto",
    device_map: str | None = None,
) -> Table | None:
    """Evaluate one model; return the results table to print (None on ranks other than 0 under a launcher)."""
    from xinstruct.evaluate.device import resolve_placement
    from xinstruct.evaluate.parallel import Shards
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
    lab = (Path(model) / "lab_world.json").exists()  # a lab base model: fp32 under dtype auto
    placement = resolve_placement(device, dtype, device_map, lab=lab, where="--")  # clear errors before any load
    engine = resolve_engine(engine, placement)
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
    shards = Shards.from_env()
    settings = {"model": model, "tasks": tasks, "languages": languages, "limit": limit, "batch_size": batch_size,
                "max_new_tokens": max_new_tokens, "prompt_language": prompt_language, "engine": engine}  # fmt: skip
    t0 = time.perf_counter()
    # rank 0 publishes `out`; the other ranks score their shares into a scratch directory
    with atomic_dir(out) if shards.is_main else tempfile.TemporaryDirectory(prefix="xinstruct-eval-") as tmp:
        tmp = Path(tmp)
        rows = evaluate(
            arm, Path(model), ctx, tasks, languages, max_new_tokens, batch_size, tmp, cache_dir, engine, placement,
            shards,
        )  # fmt: skip
        shutil.copy(tmp / "metrics.csv", tmp / "results.csv")
        parallel = shards.summary()  # a collective: every rank takes part
        seconds = round(time.perf_counter() - t0, 2)
        if shards.is_main:
            write_manifest(tmp, {"stage": "eval", "arm": arm, **settings, **placement.describe(), **parallel,
                                 "seconds": seconds})  # fmt: skip
    if not shards.is_main:
        return None
    table = Table(title=f"{arm}")
    for column in ("task", "language", "metric", "value", "n"):
        table.add_column(column, justify="right" if column in ("value", "n") else "left")
    for row in rows:
        table.add_row(row["task"], row["language"], row["metric"], f"{row['value']:.4f}", str(row["n"]))
    return table
