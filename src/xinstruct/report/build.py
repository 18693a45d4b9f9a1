"""Report stage: results.csv, then report.md, report.html and transfer.png, from saved outputs only.

`results.csv` is the raw truth (the stable schema: arm, task, language, metric, value, n,
task_version); everything else is rendered from it and the per-example scores in the arms'
predictions (`xinstruct.report.evidence`), so `xinstruct report DIR` regenerates a report without
recomputing anything. Several directories are runs of one experiment with different seeds: the
report goes into the first and shows means over runs, with intervals that resample every run.

A grid's directory (`grid.json`, written by `xinstruct run` for a model list or a seed list) is
reported per model: each model's seeds are its runs, so values are seed means, intervals resample
the examples within every seed and paired tests pair the same examples and seeds. `results.csv`
then holds every cell's rows with `model` and `seed` columns; `transfer-<model>.png` per model.

Declared claims (`claims:` of the experiment, kept in `DIR/experiment.json`) are checked first and
written to `claims.json` (`report.claims`).
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

from rich.table import Table

from xinstruct.artifacts import atomic_write_text
from xinstruct.config import model_slug
from xinstruct.errors import XinstructError
from xinstruct.evaluate.runner import RESULT_COLUMNS, write_results
from xinstruct.pipeline import GRID
from xinstruct.report.analysis import Analysis
from xinstruct.report.claims import CLAIMS, check_claims, claims_html, claims_markdown, declared_claims, write_claims
from xinstruct.report.evidence import RESULTS, load_runs
from xinstruct.report.html import grid_html_report, html_report
from xinstruct.report.plots import heatmap_png
from xinstruct.report.tables import grid_markdown_report, markdown_report, rich_table


def make_report(out: Path, metric: str = "accuracy", title: str = "experiment", seeds: list[Path] = ()) -> Table:
    """Write results.csv (from the arms' metrics), report.md, report.html and transfer.png into `out`."""
    out = Path(out)
    if (out / GRID).exists():
        if seeds:
            raise XinstructError(f"{out} is a grid (grid.json lists its seeds): report it alone")
        return make_grid_report(out, metric, title)
    runs = load_runs([out, *seeds])
    if list(out.glob("*/eval/metrics.csv")) or list(out.glob("*/judge/metrics.csv")):
        write_results(runs[0].rows, out / RESULTS)
    analysis = Analysis(runs, metric)
    claims, note = _claims_and_environment(out, [(None, analysis)], [out, *seeds])
    atomic_write_text(out / "report.md", markdown_report(analysis, title, [*note, *claims_markdown(claims)]))
    atomic_write_text(out / "report.html", html_report(analysis, title, claims_html(claims)))
    _write_heatmap(analysis, out / "transfer.png", title)
    return rich_table(analysis.rows, analysis.headline)


def _claims_and_environment(out: Path, sections: list[tuple[str | None, Analysis]], dirs: list[Path]):
    """(the declared claims checked against every section, written to claims.json where there are any or
    were before; the environment warning's report.md lines for the runs in `dirs`)."""
    claims = check_claims(sections, declared_claims(out))
    if claims or (out / CLAIMS).exists():
        write_claims(out, claims)
    return claims, environment_note(dirs)


def environment_note(dirs: list[Path]) -> list[str]:
    """A warning (printed, and lines for report.md) when the compared arms were trained or evaluated in
    different environments (library versions, device, CPU kernel family): their numbers may differ for
    that reason alone. Read from the stage manifests; nothing when they agree or do not say."""
    from xinstruct.environment import differences
    from xinstruct.progress import warn

    dirs = [Path(d).resolve() for d in dirs]
    root = dirs[0] if len(dirs) == 1 else Path(os.path.commonpath(dirs))  # seeds and cells repeat arm names
    found = {}
    for directory in dirs:
        for manifest in sorted([*directory.glob("*/train/manifest.json"), *directory.glob("*/eval/manifest.json")]):
            env = json.loads(manifest.read_text(encoding="utf-8")).get("environment")
            if env:
                found[manifest.parent.relative_to(root).as_posix()] = env
    diff = differences(found)
    if not diff:
        return []
    text = "; ".join(
        f"{field}: " + ", ".join(f"{who} {v}" for who, v in values.items()) for field, values in diff.items()
    )
    warn(f"the compared arms were produced in different environments ({text})")
    return ["> **Warning**: the compared arms were produced in different environments, which alone can change the "
            f"numbers: {text}.", ""]  # fmt: skip


def _write_heatmap(analysis: Analysis, path: Path, title: str) -> None:
    task = analysis.tasks[0]
    png = heatmap_png(analysis, task, analysis.headline[task], f"{title}: {task} {analysis.headline[task]}")
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(png)
    tmp.replace(path)


def grid_cells(out: Path) -> list[dict]:
    """The cells `grid.json` lists that have results, each {"model", "seed", "path"}."""
    try:
        cells = json.loads((out / GRID).read_text(encoding="utf-8"))["cells"]
    except (json.JSONDecodeError, KeyError) as e:
        raise XinstructError(f"{out / GRID}: not a grid file ({e})") from None
    return [c for c in cells if list((out / c["path"]).glob("*/eval/metrics.csv"))
            or list((out / c["path"]).glob("*/judge/metrics.csv"))]  # fmt: skip


def make_grid_report(out: Path, metric: str, title: str) -> Table:
    """One transfer matrix per model, over its seeds; results.csv with model and seed columns."""
    cells = grid_cells(out)
    if not cells:
        raise XinstructError(f"{out}: no cell of the grid has results yet (run `xinstruct run` or `eval`)")
    models = list(dict.fromkeys(c["model"] for c in cells))
    sections, rows, console_rows = [], [], []
    for model in models:
        mine = [c for c in cells if c["model"] == model]
        runs = load_runs([out / c["path"] for c in mine])
        for cell, run in zip(mine, runs, strict=True):
            rows += [{"model": model, "seed": cell["seed"], **row} for row in run.rows]
        analysis = Analysis(runs, metric)
        sections.append((model, analysis))
        console_rows += [{**row, "arm": f"{model} {row['arm']}"} for row in analysis.rows]
        _write_heatmap(analysis, out / f"transfer-{model_slug(model)}.png", f"{title} ({model})")
    _write_heatmap(sections[0][1], out / "transfer.png", f"{title} ({models[0]})")
    with open(out / (RESULTS + ".tmp"), "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=["model", "seed", *RESULT_COLUMNS])
        writer.writeheader()
        writer.writerows(rows)
    (out / (RESULTS + ".tmp")).replace(out / RESULTS)
    claims, note = _claims_and_environment(out, sections, [out / c["path"] for c in cells])
    atomic_write_text(out / "report.md", grid_markdown_report(sections, title, [*note, *claims_markdown(claims)]))
    atomic_write_text(out / "report.html", grid_html_report(sections, title, claims_html(claims)))
    return rich_table(console_rows, {t: m for _, a in sections for t, m in a.headline.items()})
