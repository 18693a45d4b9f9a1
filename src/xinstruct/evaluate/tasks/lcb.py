"""lcb: the Language Confusion Benchmark (Marchisio et al. 2024) as generation tasks, and its output files.

Data: `language_confusion/test_sets/{monolingual,crosslingual}/SOURCE/LANG.csv` (columns `prompt`,
`source`, `language`; the cross-lingual files add `location`, `phrasing`), as in the benchmark's
test_sets.zip. Each prompt is sent as it is, as the user turn; greedy; at most 100 new tokens as in the
paper (the task's `max_new_tokens`, which the runner prefers to `eval.max_new_tokens`).

Tasks, each one result row per language and metric (`lpr`, `acc`, and `wpr` for ar/hi/ja/ko/ru/zh):

- `lcb_monolingual`, `lcb_crosslingual`: every source of the setting that has the language; the value is
  the benchmark's per-language row ("all", LANG): the unweighted mean of the per-source values;
- `lcb_<setting>_<source>` (e.g. `lcb_crosslingual_sharegpt`): one source, the benchmark's (SOURCE, LANG) cell.

Example ids name setting, source and language (`lcb-crosslingual-sharegpt-ja-007`); `limit` takes the
first N examples of each source.

Per-example scores (what the report's confidence intervals resample) are defined so that their mean is
the reported value. LPR and WPR are ratios over the completions the script counts, so only those carry a
score: LPR/acc the non-skipped completions (a line of 5+ tokens), WPR the non-skipped ones without line
errors; where a source has none, the script's value is a vacuous 1.0 and every completion of that source
carries it. With several sources the reported value is a mean of per-source ratios, so a completion of
source s carries its 0/1 (or line share) times C / (S * c_s), C the carriers in all S sources and c_s in
s: their mean is exactly the mean of the per-source values. With one source the weight is exactly 1.
Unweighted values stay in each prediction's details (`line_pass`, `line_acc`, `word_pass`).

`read_outputs` / `score_outputs` / `confusion_report` serve `xinstruct confusion`: completions in the
benchmark's own output layout (`model, completion, task, source, language`), scored and printed as its
compute_metrics.py prints them.
"""

from __future__ import annotations

import csv
import io
import itertools
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from xinstruct.errors import DataError
from xinstruct.evaluate.tasks.common import TaskContext, check_language, data_root, require
from xinstruct.metrics.language_confusion import (
    LCB_LANGUAGES,
    LID176_LANGUAGES,
    Judgement,
    LidSpec,
    aggregate_table,
    average_metrics,
    judge,
    language_confusion,
    lid_model_for,
    summarize,
)

VERSION = 1
MAX_NEW_TOKENS = 100  # the paper: "at most 100 tokens per prompt"
LID_ENV = "XINSTRUCT_LCB_LID_MODEL"  # a fastText LID model for the tasks (e.g. lid.176.bin); default lid.176.ftz
DATA = Path("language_confusion") / "test_sets"
OUTPUT_COLUMNS = ("model", "completion", "task", "source", "language")  # the benchmark's outputs/*.csv
TIDY_COLUMNS = ("task", "model", "source", "language", "metric", "value", "n")

# setting -> source directory -> languages, as in test_sets.zip (checked against the files by the tests)
SOURCES: dict[str, dict[str, tuple[str, ...]]] = {
    "monolingual": {
        "aya": ("ar", "en", "pt", "tr", "zh"),
        "dolly": ("ar", "es", "fr", "hi", "ru"),
        "native": ("es", "fr", "ja", "ko"),
        "okapi": ("ar", "de", "en", "es", "fr", "id", "it", "pt", "vi", "zh"),
    },
    "crosslingual": {
        source: tuple(lang for lang in LCB_LANGUAGES if lang != "en")
        for source in ("complex_prompts", "okapi", "sharegpt")
    },
}

# the per-example value each metric averages (None: the example does not count for it)
_VALUE: dict[str, Callable[[Judgement], float | None]] = {
    "acc": lambda j: j.line_acc,
    "lpr": lambda j: j.line_pass,
    "wpr": lambda j: j.word_pass,
}


@dataclass(frozen=True)
class LCB:
    """One setting of the benchmark, all its sources (`sources` empty) or one of them."""

    setting: str = "monolingual"
    sources: tuple[str, ...] = ()
    name: str = "lcb_monolingual"
    version: int = VERSION
    kind: str = "generation"
    prompt_field: str = "prompt"  # the text the contamination check compares
    fidelity: bool = False  # the task measures the answer language itself (fastText, as the benchmark)
    max_new_tokens: int = MAX_NEW_TOKENS
    languages: tuple[str, ...] = ()  # default: every language of the task's sources

    def __post_init__(self) -> None:
        if not self.languages:
            langs = {lang for source in self.source_dirs for lang in SOURCES[self.setting][source]}
            object.__setattr__(self, "languages", tuple(sorted(langs)))

    @property
    def source_dirs(self) -> tuple[str, ...]:
        return self.sources or tuple(SOURCES[self.setting])

    def load(self, ctx: TaskContext, lang: str) -> list[dict]:
        lang = check_language(self.name, lang, self.languages)  # the files' tag (`zh` for a requested `zh-CN`)
        rows = []
        for source in self.source_dirs:
            if lang not in SOURCES[self.setting][source]:
                continue
            path = require(data_root(ctx.data_dir) / DATA / self.setting / source / f"{lang}.csv", self.name)
            examples = _read_test_set(path, lang)
            if ctx.limit is not None:
                examples = examples[: ctx.limit]
            rows += [
                {
                    "id": f"lcb-{self.setting}-{source}-{lang}-{i:03d}",
                    "messages": [{"role": "user", "content": example["prompt"]}],
                    "prompt": example["prompt"],
                    "source": example["source"],  # the benchmark's name, e.g. aya_human_annotated
                }
                for i, example in enumerate(examples)
            ]
        return rows

    def score(self, ctx: TaskContext, lang: str, rows: list[dict], predictions: list[str]) -> tuple[dict, list[dict]]:
        """The benchmark's metrics for `lang` (mean over sources of each source's value) and per-example
        details whose `lpr`/`acc`/`wpr` average to them (see the module docstring)."""
        lang = check_language(self.name, lang, self.languages)  # the fastText label the lines must carry
        lid = lid_model_for(os.environ.get(LID_ENV) or None)
        judgements = [
            judge(pred, lang, lid_model=lid, data_dir=ctx.data_dir) for _, pred in zip(rows, predictions, strict=True)
        ]
        by_source: dict[str, list[int]] = {}
        for i, row in sorted(enumerate(rows), key=lambda item: item[1]["source"]):  # the script sorts sources
            by_source.setdefault(row["source"], []).append(i)
        cells = {source: summarize([judgements[i] for i in idx], lang) for source, idx in by_source.items()}
        metrics = average_metrics(cells.values())
        details = [
            {
                "source": row["source"],
                "lid_labels": list(j.labels),
                "line_pass": j.line_pass,
                "line_acc": j.line_acc,
                "word_pass": j.word_pass,
            }
            for row, j in zip(rows, judgements, strict=True)
        ]
        for metric in metrics:
            for i, value in _example_values(metric, cells, by_source, judgements).items():
                details[i][metric] = value
        return metrics, details


def _example_values(
    metric: str, cells: dict[str, dict], by_source: dict[str, list[int]], judgements: list[Judgement]
) -> dict[int, float]:
    """Per-example values of `metric` whose mean is the mean over sources of the per-source values."""
    carriers: dict[str, dict[int, float]] = {}
    for source, idx in by_source.items():
        values = {i: v for i in idx if (v := _VALUE[metric](judgements[i])) is not None}
        if not values:  # nothing counted: the script's 1 - 0 / max(1, 0); every completion carries it
            values = dict.fromkeys(idx, cells[source][metric])
        carriers[source] = values
    total, n_sources = sum(len(v) for v in carriers.values()), len(carriers)
    out: dict[int, float] = {}
    for values in carriers.values():
        weight = 1.0 if n_sources == 1 else total / (n_sources * len(values))
        out.update({i: v * weight for i, v in values.items()})
    return out


def _read_test_set(path: Path, lang: str) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        missing = [c for c in ("prompt", "source", "language") if c not in (reader.fieldnames or [])]
        if missing:
            raise DataError(f"{path}: missing column(s) {missing}; the header is {reader.fieldnames}")
        examples = list(reader)
    for i, example in enumerate(examples, 2):
        if example["language"] != lang:
            raise DataError(f"{path}: row {i}: language {example['language']!r}, expected {lang!r}")
    return examples


def _setting_tasks() -> dict[str, LCB]:
    tasks = {}
    for setting, sources in SOURCES.items():
        tasks[f"lcb_{setting}"] = LCB(setting=setting, name=f"lcb_{setting}")
        for source in sources:
            tasks[f"lcb_{setting}_{source}"] = LCB(setting=setting, sources=(source,), name=f"lcb_{setting}_{source}")
    return tasks


LCB_TASKS = _setting_tasks()
lcb_monolingual = LCB_TASKS["lcb_monolingual"]
lcb_crosslingual = LCB_TASKS["lcb_crosslingual"]


# -- xinstruct confusion: the benchmark's own output files ----------------------------------------------------


def read_outputs(path: Path) -> list[dict]:
    """Completions in the benchmark's output layout; bad input is a DataError naming file, line and column.

    A language must be one that fastText lid.176 can name (else no line could ever pass)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    rows = []
    try:
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            header = reader.fieldnames
            if not header:
                raise DataError(f"{path}: empty file; expected a header with columns {', '.join(OUTPUT_COLUMNS)}")
            missing = [c for c in OUTPUT_COLUMNS if c not in header]
            if missing:
                raise DataError(
                    f"{path}:1: missing column(s) {', '.join(missing)}; the header has {', '.join(header)} "
                    f"(expected {', '.join(OUTPUT_COLUMNS)})"
                )
            start = reader.line_num + 1
            for row in reader:
                where = f"{path}:{start}"  # the record's first line (a completion may span several)
                start = reader.line_num + 1
                if None in row:
                    raise DataError(f"{where}: more fields than the header's {len(header)}")
                empty = [c for c in OUTPUT_COLUMNS if row[c] is None]
                if empty:
                    raise DataError(f"{where}: column {empty[0]!r} missing (fewer fields than the header)")
                if row["language"] not in LID176_LANGUAGES:
                    raise DataError(
                        f"{where}: column 'language': unknown language {row['language']!r} (not a fastText lid.176 "
                        f"label; the benchmark's are {', '.join(LCB_LANGUAGES)})"
                    )
                rows.append({c: row[c] for c in OUTPUT_COLUMNS})
    except UnicodeDecodeError as e:
        raise DataError(f"{path}: not UTF-8 ({e.reason} at byte {e.start})") from None
    except csv.Error as e:
        raise DataError(f"{path}:{reader.line_num}: not CSV ({e})") from None
    if not rows:
        raise DataError(f"{path}: no completions (only a header)")
    return rows


def score_outputs(rows: list[dict], lid_model: LidSpec = None, data_dir: str | None = None) -> list[dict]:
    """Tidy rows (task, model, source, language, metric, value, n) in the order the script prints them:
    per (task, model), sorted; within, the cells sorted by (source, language), then the per-source,
    per-language and overall averages. `n`: the completions a value summarises."""
    lid = lid_model_for(lid_model)
    tidy = []

    def by_model(row: dict) -> tuple[str, str]:
        return row["task"], row["model"]

    def by_cell(row: dict) -> tuple[str, str]:
        return row["source"], row["language"]

    for (task, model), group in itertools.groupby(sorted(rows, key=by_model), key=by_model):
        cells, counts = {}, {}
        for (source, lang), cell in itertools.groupby(sorted(group, key=by_cell), key=by_cell):
            completions = [row["completion"] for row in cell]
            cells[(source, lang)] = language_confusion(completions, lang, lid_model=lid, data_dir=data_dir)
            counts[(source, lang)] = len(completions)
        for (source, lang), metrics in aggregate_table(cells).items():
            n = sum(k for (s, la), k in counts.items() if source in ("all", s) and lang in ("all", la))
            tidy += [
                {"task": task, "model": model, "source": source, "language": lang, "metric": m, "value": v, "n": n}
                for m, v in metrics.items()
            ]
    return tidy


def write_tidy(tidy: list[dict], path: Path) -> None:
    """The tidy CSV, written whole or not at all."""
    from xinstruct.artifacts import atomic_write_text

    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=TIDY_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(tidy)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(Path(path), buffer.getvalue())


def confusion_table(tidy: list[dict], title: str = "Language Confusion Benchmark"):
    """The script's printout as a rich table: task, model, source, language, LPR and WPR as percentages
    with two decimals, "N/A" where WPR is not defined (acc is in the tidy CSV; the script does not print it)."""
    from rich.table import Table

    table = Table(title=title)
    for column in ("task", "model", "source", "language", "lpr", "wpr"):
        table.add_column(column, justify="right" if column in ("lpr", "wpr") else "left")
    rows: dict[tuple, dict] = {}
    for row in tidy:
        rows.setdefault((row["task"], row["model"], row["source"], row["language"]), {})[row["metric"]] = row["value"]
    for key, metrics in rows.items():
        wpr = f"{metrics['wpr']:.2%}" if "wpr" in metrics else "N/A"
        table.add_row(*key, f"{metrics['lpr']:.2%}", wpr)
    return table


def confusion_report(path: Path, out: Path | None = None, lid_model: Path | None = None, data_dir: str | None = None):
    """`xinstruct confusion`: read, score, write the tidy CSV (with `out`), return the table to print."""
    rows = read_outputs(path)
    tidy = score_outputs(rows, lid_model, data_dir)
    if out is not None:
        write_tidy(tidy, out)
    return confusion_table(tidy, title=f"{Path(path).name}: language confusion ({len(rows)} completions)")
