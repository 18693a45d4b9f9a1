"""Seen vs unseen compares languages, not raw tags: NTREX says zh-CN, XQuAD zh, a manifest whatever the recipe got."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from xinstruct.report.analysis import Analysis
from xinstruct.report.build import make_report
from xinstruct.report.evidence import load_runs

COLUMNS = ["arm", "task", "language", "metric", "value", "n", "task_version"]
# A CrossAlpaca-zh arm: English instructions, translation demonstrations en->zh and zh->en.
MANIFESTS = {
    "english_only": {"en->en": 60},
    "crossalpaca_zh": {"en->en": 50, "en->zh": 5, "zh->en": 5},
}
# task -> the tags its data uses
TASK_LANGUAGES = {"ntrex": ("de", "zh-CN"), "xquad": ("en", "zh", "de"), "belebele": ("en", "zh-Hant")}


def write_outputs(root: Path, n: int = 20) -> Path:
    """Two arms' eval outputs and data manifests, as the pipeline writes them (no model, no data)."""
    for arm, pairs in MANIFESTS.items():
        (root / arm / "eval").mkdir(parents=True)
        (root / arm / "data").mkdir(parents=True)
        (root / arm / "data" / "manifest.json").write_text(json.dumps({"counts": {"language_pair": pairs}}))
        rows, predictions = [], []
        for task, languages in TASK_LANGUAGES.items():
            for lang in languages:
                values = [float((i + len(arm)) % 3 == 0) for i in range(n)]
                rows.append([arm, task, lang, "accuracy", sum(values) / n, n, 1])
                predictions += [{"arm": arm, "task": task, "language": lang, "id": f"q{i}", "prediction": "x",
                                 "scores": {"accuracy": v}} for i, v in enumerate(values)]  # fmt: skip
        with open(root / arm / "eval" / "metrics.csv", "w", newline="") as f:
            csv.writer(f).writerows([COLUMNS, *rows])
        with open(root / arm / "eval" / "predictions.jsonl", "w") as f:
            f.writelines(json.dumps(p) + "\n" for p in predictions)
    return root


def split(analysis: Analysis, task: str, arm: str) -> dict[str, tuple[str, ...]]:
    return {g.group: g.languages for g in analysis.groups(task, "accuracy") if g.arm == arm}


def test_a_region_tag_is_seen_when_the_manifest_has_the_bare_language(tmp_path):
    analysis = Analysis(load_runs([write_outputs(tmp_path)]), "accuracy")
    ntrex = split(analysis, "ntrex", "crossalpaca_zh")
    assert ntrex["seen"] == ("zh-CN",) and ntrex["unseen"] == ("de",)  # NTREX's zh-CN is the manifest's zh
    xquad = split(analysis, "xquad", "crossalpaca_zh")
    assert xquad["seen"] == ("en", "zh") and xquad["unseen"] == ("de",)
    assert "zh-CN" in split(analysis, "ntrex", "english_only")["unseen"]


def test_a_different_script_stays_unseen(tmp_path):
    """zh (Simplified) in the tuning data does not make Traditional Chinese seen."""
    analysis = Analysis(load_runs([write_outputs(tmp_path)]), "accuracy")
    belebele = split(analysis, "belebele", "crossalpaca_zh")
    assert belebele["seen"] == ("en",) and belebele["unseen"] == ("zh-Hant",)


def test_the_report_lists_zh_cn_under_seen(tmp_path):
    out = write_outputs(tmp_path)
    make_report(out, "accuracy", title="tags")
    ntrex = (out / "report.md").read_text().split("## ntrex: accuracy")[1].split("\n## ")[0]
    lines = ntrex.split("Seen vs unseen")[1].splitlines()
    header = next(line for line in lines if line.startswith("| arm |"))
    row = next(line for line in lines if line.startswith("| crossalpaca_zh |"))
    cells = dict(zip(header.strip("|").split("|"), row.strip("|").split("|"), strict=True))
    assert cells[" seen "].endswith("(zh-CN) ") and cells[" unseen "].endswith("(de) ")
