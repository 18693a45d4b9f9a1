"""The console summary shows what the report shows: each task's headline metric (was empty when no task had a
metric named `accuracy`, e.g. XQuAD + XCOPA on real data)."""

from __future__ import annotations

import csv
import json

from rich.console import Console

from xinstruct.report.build import make_report

COLUMNS = ["arm", "task", "language", "metric", "value", "n", "task_version"]


def test_console_table_heads_each_task_with_its_primary_metric(tmp_path):
    out = tmp_path / "run"
    for arm, shift in (("en_only", 0.0), ("en_zh", 0.1)):
        (out / arm / "eval").mkdir(parents=True)
        rows, predictions = [], []
        for task, metrics in (("xquad", ("exact_match", "f1")), ("xcopa", ("acc",))):
            for lang in ("en", "zh"):
                for metric in metrics:
                    rows.append([arm, task, lang, metric, 0.5 + shift, 4, 1])
                for i in range(4):
                    scores = {m: float(i % 2) for m in metrics}
                    predictions.append({"arm": arm, "task": task, "language": lang, "id": f"q{i}", "scores": scores})
        with open(out / arm / "eval" / "metrics.csv", "w", newline="") as f:
            csv.writer(f).writerows([COLUMNS, *rows])
        (out / arm / "eval" / "predictions.jsonl").write_text("".join(json.dumps(p) + "\n" for p in predictions))
    table = make_report(out, title="real")  # report.metric left at its default, "accuracy": no task has it
    console = Console(width=200, record=True)
    console.print(table)
    text = console.export_text()
    assert "xquad" in text and "exact_match" in text and "xcopa" in text and " acc " in text
    assert text.count("en_zh") == 2 and "60.0" in text  # both tasks' rows, with values
    md = (out / "report.md").read_text()
    assert "## xquad: exact_match" in md and "## xcopa: acc" in md  # the same headlines as the report
