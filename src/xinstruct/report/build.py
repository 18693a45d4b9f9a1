"""Report stage: gather every arm's metrics into `results.csv`, then `report.md` and `transfer.png`.

`results.csv` is the raw truth (the stable schema: arm, task, language, metric, value, n,
task_version); everything else is rendered from it, so a report can be regenerated without
recomputing anything.
"""

from __future__ import annotations

from pathlib import Path

from rich.table import Table

from xinstruct.errors import XinstructError
from xinstruct.evaluate.runner import read_results, write_results
from xinstruct.report.plots import plot_transfer
from xinstruct.report.tables import markdown_report, pivot, rich_table

RESULTS = "results.csv"


def collect_results(out: Path) -> list[dict]:
    """Every arm's `eval/metrics.csv` under `out`, in arm-directory order."""
    rows: list[dict] = []
    for metrics in sorted(out.glob("*/eval/metrics.csv")):
        rows.extend(read_results(metrics))
    return rows


def make_report(out: Path, metric: str = "accuracy", title: str = "experiment") -> Table:
    """Write results.csv (when arms have metrics), report.md and transfer.png; return a rich table."""
    out = Path(out)
    rows = collect_results(out)
    if rows:
        write_results(rows, out / RESULTS)
    elif (out / RESULTS).exists():
        rows = read_results(out / RESULTS)
    else:
        raise XinstructError(f"{out}: no results to report (no {RESULTS} and no */eval/metrics.csv)")
    (out / "report.md").write_text(markdown_report(rows, metric, title), encoding="utf-8")
    tasks = sorted({r["task"] for r in rows})
    plot_transfer(pivot(rows, tasks[0], metric), out / "transfer.png", f"{title}: {tasks[0]} {metric}")
    return rich_table(rows, metric)
