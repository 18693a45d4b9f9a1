"""What a report is computed from, read from an experiment's output directories (one per seed).

- results: every run's `results.csv` (or its arms' `*/eval/metrics.csv` and `*/judge/metrics.csv`),
  the raw truth;
- per-example scores: the `scores` of each line of `predictions.jsonl` (an arm's
  `*/eval/predictions.jsonl` and `*/judge/predictions.jsonl`, or the top-level one
  `xinstruct eval --model` writes): the value of
  each mean-over-examples metric for that example, which the confidence intervals resample;
- seen languages: the languages of each arm's tuning data (instruction or response side), from
  `*/data/manifest.json`; absent when the data stage's outputs are not there. They are the tags the
  manifest writes; whoever compares them with a task's tags does so by language
  (`xinstruct.languages.language_key`: a manifest's `zh` is NTREX's `zh-CN`), never with `==`.
Nothing is recomputed: no model, no data.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from xinstruct.errors import XinstructError
from xinstruct.evaluate.runner import read_results

RESULTS = "results.csv"
Cell = tuple[str, str, str, str]  # arm, task, language, metric


@dataclass
class Run:
    """One output directory: one seed of the experiment."""

    path: Path
    rows: list[dict]
    scores: dict[Cell, dict[str, float]] = field(default_factory=dict)  # cell -> example id -> value
    seen: dict[str, set[str]] = field(default_factory=dict)  # arm -> languages in its tuning data


def load_run(path: Path) -> Run:
    path = Path(path)
    metrics = sorted([*path.glob("*/eval/metrics.csv"), *path.glob("*/judge/metrics.csv")])
    if metrics:
        rows = [row for file in metrics for row in read_results(file)]
    elif (path / RESULTS).exists():
        rows = read_results(path / RESULTS)
    else:
        raise XinstructError(f"{path}: no results to report (no {RESULTS} and no */eval/metrics.csv)")
    run = Run(path, rows)
    predictions = sorted([*path.glob("*/eval/predictions.jsonl"), *path.glob("*/judge/predictions.jsonl")])
    for file in [*predictions, path / "predictions.jsonl"]:
        if not file.exists():
            continue
        with open(file, encoding="utf-8") as f:
            for line_no, line in enumerate(f, 1):
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as e:
                    raise XinstructError(f"{file}:{line_no}: not JSON ({e.msg})") from None
                for metric, value in record.get("scores", {}).items():
                    cell = (record["arm"], record["task"], record["language"], metric)
                    run.scores.setdefault(cell, {})[str(record["id"])] = float(value)
    for manifest in sorted(path.glob("*/data/manifest.json")):
        counts = json.loads(manifest.read_text(encoding="utf-8")).get("counts", {}).get("language_pair", {})
        run.seen[manifest.parent.parent.name] = {lang for pair in counts for lang in pair.split("->")}
    return run


def load_runs(paths: list[Path]) -> list[Run]:
    return [load_run(p) for p in paths]


def mean_rows(runs: list[Run]) -> list[dict]:
    """The results rows, averaged over runs where several seeds ran (n summed); the first run's order."""
    grouped: dict[Cell, list[dict]] = defaultdict(list)
    for run in runs:
        for row in run.rows:
            grouped[(row["arm"], row["task"], row["language"], row["metric"])].append(row)
    return [
        {**group[0], "value": float(np.mean([r["value"] for r in group])), "runs": len(group)}
        for group in grouped.values()
    ]


def example_values(runs: list[Run], cell: Cell) -> list[np.ndarray]:
    """The cell's per-example values in each run that has them (ids sorted)."""
    values = []
    for run in runs:
        scores = run.scores.get(cell)
        if scores:
            values.append(np.array([scores[i] for i in sorted(scores)]))
    return values


def paired_values(runs: list[Run], cell: Cell, baseline: str) -> list[tuple[np.ndarray, np.ndarray]]:
    """(arm, baseline) values on the examples both have, per run."""
    pairs = []
    for run in runs:
        mine = run.scores.get(cell, {})
        theirs = run.scores.get((baseline, *cell[1:]), {})
        common = sorted(set(mine) & set(theirs))
        if common:
            pairs.append((np.array([mine[i] for i in common]), np.array([theirs[i] for i in common])))
    return pairs


def seen_languages(runs: list[Run], arm: str) -> set[str] | None:
    """Language tags in the arm's tuning data (any run), as the manifests write them; None when no manifest says.

    Compare them with `xinstruct.languages.language_key`/`same_language`, not `in`: tags differ across datasets."""
    found = [run.seen[arm] for run in runs if arm in run.seen]
    return set().union(*found) if found else None
