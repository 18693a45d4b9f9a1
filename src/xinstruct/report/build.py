"""Report stage: results.csv, then report.md, report.html and transfer.png, from saved outputs only.

`results.csv` is the raw truth (the stable schema: arm, task, language, metric, value, n,
task_version); everything else is rendered from it and the per-example scores in the arms'
predictions (`xinstruct.report.evidence`), so `xinstruct report DIR` regenerates a report without
recomputing anything. Several directories are runs of one experiment with different seeds: the
report goes into the first and shows means over runs, with intervals that resample every run.
"""

from __future__ import annotations

from pathlib import Path

from rich.table import Table

from xinstruct.artifacts import atomic_write_text
from xinstruct.evaluate.runner import write_results
from xinstruct.report.analysis import Analysis
from xinstruct.report.evidence import RESULTS, load_runs
from xinstruct.report.html import html_report
from xinstruct.report.plots import heatmap_png
from xinstruct.report.tables import markdown_report, rich_table


def make_report(out: Path, metric: str = "accuracy", title: str = "experiment", seeds: list[Path] = ()) -> Table:
    """Write results.csv (from the arms' metrics), report.md, report.html and transfer.png into `out`."""
    out = Path(out)
    runs = load_runs([out, *seeds])
    if list(out.glob("*/eval/metrics.csv")) or list(out.glob("*/judge/metrics.csv")):
        write_results(runs[0].rows, out / RESULTS)
    analysis = Analysis(runs, metric)
    atomic_write_text(out / "report.md", markdown_report(analysis, title))
    atomic_write_text(out / "report.html", html_report(analysis, title))
    task = analysis.tasks[0]
    png = heatmap_png(analysis, task, analysis.headline[task], f"{title}: {task} {analysis.headline[task]}")
    tmp = out / "transfer.png.tmp"
    tmp.write_bytes(png)
    tmp.replace(out / "transfer.png")
    return rich_table(analysis.rows, metric)
