"""Arms x languages tables from results rows: markdown for papers, rich for the terminal."""

from __future__ import annotations

import math

from rich.table import Table


def pivot(rows: list[dict], task: str, metric: str) -> tuple[list[str], list[str], list[list[float]]]:
    """(arms, languages, values[arm][language]) for one task and metric; NaN where missing."""
    arms = list(dict.fromkeys(r["arm"] for r in rows if r["task"] == task and r["metric"] == metric))
    langs = list(dict.fromkeys(r["language"] for r in rows if r["task"] == task and r["metric"] == metric))
    cell = {(r["arm"], r["language"]): r["value"] for r in rows if r["task"] == task and r["metric"] == metric}
    return arms, langs, [[cell.get((a, lang), math.nan) for lang in langs] for a in arms]


def _mean(values: list[float]) -> float:
    values = [v for v in values if not math.isnan(v)]
    return sum(values) / len(values) if values else math.nan


def _fmt(value: float) -> str:
    return "-" if math.isnan(value) else f"{100 * value:.1f}"


def markdown_report(rows: list[dict], metric: str, title: str) -> str:
    lines = [f"# {title}", "", "Values are percentages; `avg non-en` averages every language but English.", ""]
    for task in sorted({r["task"] for r in rows}):
        metrics = [metric] + sorted({r["metric"] for r in rows if r["task"] == task} - {metric})
        for m in metrics:
            arms, langs, values = pivot(rows, task, m)
            if not arms:
                continue
            n = {r["language"]: r["n"] for r in rows if r["task"] == task and r["metric"] == m}
            lines += [
                f"## {task}: {m}",
                "",
                "| arm | " + " | ".join(f"{lang} (n={n[lang]})" for lang in langs) + " | avg non-en |",
                "|---" * (len(langs) + 2) + "|",
            ]
            for arm, vals in zip(arms, values, strict=True):
                non_en = _mean([v for lang, v in zip(langs, vals, strict=True) if lang != "en"])
                lines.append(f"| {arm} | " + " | ".join(_fmt(v) for v in vals) + f" | {_fmt(non_en)} |")
            lines.append("")
    return "\n".join(lines)


def rich_table(rows: list[dict], metric: str) -> Table:
    table = Table(title=f"{metric} (%)")
    tasks = sorted({r["task"] for r in rows})
    table.add_column("task")
    table.add_column("arm")
    langs = list(dict.fromkeys(r["language"] for r in rows if r["metric"] == metric))
    for lang in langs:
        table.add_column(lang, justify="right")
    table.add_column("avg non-en", justify="right")
    for task in tasks:
        arms, task_langs, values = pivot(rows, task, metric)
        for arm, vals in zip(arms, values, strict=True):
            by_lang = dict(zip(task_langs, vals, strict=True))
            non_en = _mean([v for lang, v in by_lang.items() if lang != "en"])
            table.add_row(task, arm, *[_fmt(by_lang.get(lang, math.nan)) for lang in langs], _fmt(non_en))
    return table
