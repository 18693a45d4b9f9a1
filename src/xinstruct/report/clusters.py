"""Task clusters in the report: which records tasks ask about a cluster the arm was tuned on, which one it held out.

The zero-shot question of the `templates` recipe (Han et al. 2024): a model tuned on some task
clusters (nli) is asked about clusters it never saw (sts). Per arm, a records task
(`records:SOURCE@LANG`, `xinstruct.evaluate.tasks.records`) of cluster C is
- "held out" when C is in the arm's data manifest notes `held_out_tasks` (the recipe left it out),
- "seen in tuning" when C is in the notes' `tuned_tasks`, or some tuning example has cluster C
  (`counts.task`: a task-tagged source in any recipe),
- "not in tuning" otherwise, and "unknown" when the arm has no data manifest.
A records task's cluster is in the arm's eval manifest (`record_clusters`). Read from saved outputs
only: `DIR/<arm>/data/manifest.json` and `DIR/<arm>/eval/manifest.json` of each run (the first
run that has them).
"""

from __future__ import annotations

import json
from pathlib import Path

from xinstruct.errors import XinstructError

HELD_OUT = "held out"
SEEN = "seen in tuning"
NOT_TUNED = "not in tuning"
UNKNOWN = "unknown (no data manifest)"


def _manifest(runs, arm: str, stage: str) -> dict | None:
    for run in runs:
        path = Path(run.path) / arm / stage / "manifest.json"
        if path.exists():
            try:
                return json.loads(path.read_text(encoding="utf-8"))
            except json.JSONDecodeError as e:
                raise XinstructError(f"{path}:{e.lineno}: not JSON ({e.msg})") from None
    return None


def cluster_status(data_manifest: dict | None, cluster: str) -> str:
    """Where `cluster` stands in the tuning of the arm whose data manifest this is (held out wins)."""
    if data_manifest is None:
        return UNKNOWN
    notes = data_manifest.get("notes") or {}
    if cluster in (notes.get("held_out_tasks") or []):
        return HELD_OUT
    if cluster in (notes.get("tuned_tasks") or []) or cluster in (data_manifest.get("counts", {}).get("task") or {}):
        return SEEN
    return NOT_TUNED


def record_clusters(runs, arms: list[str]) -> dict[str, str]:
    """{records task: its cluster}, from the arms' eval manifests."""
    found: dict[str, str] = {}
    for arm in arms:
        found.update((_manifest(runs, arm, "eval") or {}).get("record_clusters") or {})
    return found


def cluster_section(analysis) -> list[str]:
    """report.md lines: per arm and records task, the cluster, its status and the headline metric with its CI
    (nothing when the results have no records task with a known cluster)."""
    from xinstruct.report.tables import cell_text

    tasks = [task for task in analysis.tasks if task.startswith("records:")]
    clusters = record_clusters(analysis.runs, analysis.arms) if tasks else {}
    rows = []
    for arm in analysis.arms:
        data = _manifest(analysis.runs, arm, "data")
        for task in tasks:
            if task not in clusters:
                continue
            metric = analysis.headline[task]
            status = cluster_status(data, clusters[task])
            for lang in analysis.languages(task, metric):
                cell = analysis.cell(arm, task, lang, metric)
                if cell is not None and lang != "all":
                    value = cell_text(cell.value, cell.low, cell.high)
                    rows.append(f"| {arm} | {task} | {lang} | {clusters[task]} | {status} | {metric} {value} |")
    if not rows:
        return []
    return [
        "## Task clusters: seen in tuning vs held out",
        "",
        "Records tasks, zero-shot (`records:SOURCE@TEMPLATE_LANGUAGE`, in the data's language). A cluster is "
        f"*{HELD_OUT}* when the arm's recipe held it out, *{SEEN}* when the arm tuned on it.",
        "",
        "| arm | task | language | cluster | status | value |",
        "|---|---|---|---|---|---|",
        *rows,
        "",
    ]
