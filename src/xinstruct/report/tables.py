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


def cell_text(value: float, low: float = math.nan, high: float = math.nan) -> str:
    """ "45.3 [40.1, 50.2]" (percentages), or "45.3" without an interval."""
    if math.isnan(value):
        return "-"
    return _fmt(value) if math.isnan(low) else f"{_fmt(value)} [{_fmt(low)}, {_fmt(high)}]"


def markdown_report(analysis, title: str, preface: list[str] = ()) -> str:
    """report.md: significance lines, then per task and metric an arms x languages table with CIs
    and the seen / unseen / non-English macro averages."""
    from xinstruct.report.analysis import significance_line

    lines = [f"# {title}", ""]
    runs = len(analysis.runs)
    lines += [
        "Values are percentages; [low, high] is a 95% bootstrap confidence interval over examples"
        + (f" (mean over {runs} runs)" if runs > 1 else "")
        + ". `avg non-en` averages every language but English.",
        "",
    ]
    lines += list(preface)  # the claims, first
    comparisons = [c for task in analysis.tasks for c in analysis.comparisons(task, analysis.headline[task])]
    if comparisons:
        lines += ["## Significance", ""]
        lines += [f"- {significance_line(c)}" for c in comparisons if c.scope == "non-en"]
        lines += ["", "(* p < 0.05; per-language tests are in report.html)", ""]
    for task in analysis.tasks:
        headline = analysis.headline[task]
        metrics = [headline] + sorted({c.metric for c in analysis.cells if c.task == task} - {headline})
        for metric in metrics:
            langs = analysis.languages(task, metric)
            n = {c.language: c.n for c in analysis.cells if (c.task, c.metric) == (task, metric)}
            lines += [
                f"## {task}: {metric}",
                "",
                "| arm | " + " | ".join(f"{lang} (n={n[lang]})" for lang in langs) + " | avg non-en |",
                "|---" * (len(langs) + 2) + "|",
            ]
            for arm in analysis.arms:
                cells = [analysis.cell(arm, task, lang, metric) for lang in langs]
                non_en = _mean([c.value for c in cells if c is not None and c.language not in ("en", "all")])
                texts = ["-" if c is None else cell_text(c.value, c.low, c.high) for c in cells]
                lines.append(f"| {arm} | " + " | ".join(texts) + f" | {_fmt(non_en)} |")
            groups = analysis.groups(task, metric) if metric == headline else []
            if groups:
                names = [name for name in ("seen", "unseen", "non-en") if any(g.group == name for g in groups)]
                lines += ["", f"Seen vs unseen languages ({metric}, macro averages):", ""]
                lines += ["| arm | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
                for arm in analysis.arms:
                    by = {g.group: g for g in groups if g.arm == arm}
                    texts = [
                        cell_text(by[g].value, by[g].low, by[g].high) + f" ({', '.join(by[g].languages)})"
                        if g in by
                        else "-"
                        for g in names
                    ]
                    lines.append(f"| {arm} | " + " | ".join(texts) + " |")
            lines.append("")
    from xinstruct.report.clusters import cluster_section  # records tasks: held-out vs tuned task clusters

    lines += cluster_section(analysis)
    from xinstruct.report.language_check import language_section  # judge: judged language vs measured LPR

    lines += language_section(analysis)
    return "\n".join(lines)


def grid_markdown_report(sections: list[tuple[str, object]], title: str, preface: list[str] = ()) -> str:
    """report.md of a model x seed grid: the single-model report per model, its headings one level down."""
    lines = [f"# {title}", "", "One section per model; each model's values are means over its seeds.", ""]
    lines += list(preface)
    for model, analysis in sections:
        body = markdown_report(analysis, f"model {model}")
        lines += [f"#{line}" if line.startswith("#") else line for line in body.splitlines()]
    return "\n".join(lines) + "\n"


def rich_table(rows: list[dict], metric: str | dict[str, str]) -> Table:
    """The console's arms x languages table (%): per task its headline metric (`metric` may map task -> metric,
    as the report chooses it: `report.metric` where the task has it, else the task's primary one), named in
    the metric column; a task without that metric is left out, never shown empty."""
    headline = metric if isinstance(metric, dict) else {}
    tasks = sorted({r["task"] for r in rows})
    chosen = {task: headline.get(task, metric if isinstance(metric, str) else "") for task in tasks}
    chosen = {t: m for t, m in chosen.items() if any(r["task"] == t and r["metric"] == m for r in rows)}
    names = sorted(set(chosen.values()))
    table = Table(title=f"{names[0] if len(names) == 1 else 'headline metrics'} (%)")
    table.add_column("task")
    if len(names) > 1:  # one metric: the title names it
        table.add_column("metric")
    table.add_column("arm")
    langs = list(dict.fromkeys(r["language"] for r in rows if chosen.get(r["task"]) == r["metric"]))
    for lang in langs:
        table.add_column(lang, justify="right")
    table.add_column("avg non-en", justify="right")
    for task, task_metric in chosen.items():
        arms, task_langs, values = pivot(rows, task, task_metric)
        for arm, vals in zip(arms, values, strict=True):
            by_lang = dict(zip(task_langs, vals, strict=True))
            non_en = _mean([v for lang, v in by_lang.items() if lang not in ("en", "all")])
            cells = [_fmt(by_lang.get(lang, math.nan)) for lang in langs]
            table.add_row(task, *([task_metric] if len(names) > 1 else []), arm, *cells, _fmt(non_en))
    return table
