"""The report: bootstrap CIs and paired tests, seen/unseen, report.md/html from saved outputs only, in a browser."""

from __future__ import annotations

import csv
import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from xinstruct.report.build import make_report
from xinstruct.report.stats import PERMUTATIONS, bootstrap_ci, paired_test

COLUMNS = ["arm", "task", "language", "metric", "value", "n", "task_version"]


def fake_experiment(root: Path, seed: int = 0, n: int = 60) -> Path:
    """Two arms evaluated on lab_qa in en + 2 languages: pinch is better on qaa/qab, equal on en."""
    rng = np.random.default_rng(seed)
    rates = {"english_only": {"en": 0.8, "qaa": 0.2, "qab": 0.25}, "pinch": {"en": 0.8, "qaa": 0.6, "qab": 0.55}}
    seen = {"english_only": {"en->en": 60}, "pinch": {"en->en": 50, "qaa->qaa": 10}}
    for arm, by_lang in rates.items():
        (root / arm / "eval").mkdir(parents=True)
        (root / arm / "data").mkdir(parents=True)
        (root / arm / "data" / "manifest.json").write_text(json.dumps({"counts": {"language_pair": seen[arm]}}))
        rows, predictions = [], []
        for lang, rate in by_lang.items():
            correct = (rng.random(n) < rate).astype(float)
            for i, value in enumerate(correct):
                predictions.append({"arm": arm, "task": "lab_qa", "language": lang, "id": f"q{i}",
                                    "prediction": "x", "scores": {"accuracy": value}})  # fmt: skip
            rows.append([arm, "lab_qa", lang, "accuracy", round(float(correct.mean()), 6), n, 1])
            rows.append([arm, "lab_qa", lang, "fidelity", 0.5, n, 1])  # no per-example values: no CI
        with open(root / arm / "eval" / "metrics.csv", "w", newline="") as f:
            csv.writer(f).writerows([COLUMNS, *rows])
        with open(root / arm / "eval" / "predictions.jsonl", "w") as f:
            f.writelines(json.dumps(p) + "\n" for p in predictions)
    return root


def test_bootstrap_ci_is_a_seeded_percentile_interval():
    values = np.array([1.0] * 30 + [0.0] * 70)
    mean, low, high = bootstrap_ci([[values]], "cell")
    assert mean == pytest.approx(0.3) and low < 0.3 < high and 0.05 < high - low < 0.4
    assert bootstrap_ci([[values]], "cell") == (mean, low, high)  # seeded by the cell's name
    assert bootstrap_ci([[np.ones(5)]], "c") == (1.0, 1.0, 1.0)
    two = bootstrap_ci([[values], [np.ones(10)]], "macro")  # macro over languages
    assert two[0] == pytest.approx((0.3 + 1.0) / 2)


def test_paired_test_finds_real_differences_only():
    rng = np.random.default_rng(0)
    base = (rng.random(200) < 0.3).astype(float)
    same = paired_test([[(base, base)]], "same")
    assert same.difference == 0 and same.p_value == 1.0 and same.pairs == 200
    better = np.maximum(base, (rng.random(200) < 0.4).astype(float))
    result = paired_test([[(better, base)]], "better")
    assert result.difference > 0.2 and result.low > 0 and result.p_value == pytest.approx(1 / (PERMUTATIONS + 1))
    noise = (rng.random(200) < 0.3).astype(float)
    assert paired_test([[(noise, base)]], "noise").p_value > 0.05


def test_report_from_saved_outputs_only(tmp_path):
    out = fake_experiment(tmp_path / "exp")
    make_report(out, "accuracy", title="demo")
    md = (out / "report.md").read_text()
    assert re.search(r"- pinch vs english_only, lab_qa accuracy, 2 non-English languages \(macro\): \+\d", md)
    assert re.search(r"p = 0\.000\d .* \*", md)  # significant, marked
    assert re.search(r"\| english_only \| \d\d\.\d \[\d+\.\d, \d+\.\d\] \|", md)  # value [low, high]
    assert "Seen vs unseen languages" in md and "| seen | unseen | non-en |" in md
    assert "qaa" in md.split("Seen vs unseen")[1].split("\n")[4]  # pinch saw qaa (its manifest)
    with open(out / "results.csv") as f:
        assert len(list(csv.DictReader(f))) == 12  # the raw truth: every metric row, unchanged
    page = (out / "report.html").read_text()
    assert page.count("data:image/png;base64,") == 2 and "<script>" in page and "http" not in page.split("<body>")[1]
    assert (out / "transfer.png").read_bytes()[:4] == b"\x89PNG"
    first = {name: (out / name).read_bytes() for name in ("report.md", "report.html", "transfer.png")}
    shutil.rmtree(out / "english_only" / "data")  # an arm without a manifest: no seen/unseen split for it
    make_report(out, "accuracy", title="demo")
    assert "| english_only | - | - | 18.3" in (out / "report.md").read_text()
    shutil.rmtree(out / "pinch" / "data")
    make_report(out, "accuracy", title="demo")
    assert "| seen |" not in (out / "report.md").read_text()
    shutil.copytree(tmp_path / "exp", tmp_path / "copy")
    fake_experiment(tmp_path / "again")
    make_report(tmp_path / "again", "accuracy", title="demo")
    assert {n: (tmp_path / "again" / n).read_bytes() for n in first} == first  # byte-identical rebuild


def test_several_seeds_are_averaged(tmp_path):
    runs = [fake_experiment(tmp_path / f"seed{s}", seed=s) for s in range(3)]
    make_report(runs[0], "accuracy", title="seeds", seeds=runs[1:])
    md = (runs[0] / "report.md").read_text()
    assert "(mean over 3 runs)" in md
    values = []
    for run in runs:
        with open(run / "pinch" / "eval" / "metrics.csv") as f:
            values += [float(r["value"]) for r in csv.DictReader(f) if r["arm"] == "pinch" and r["language"] == "qaa"
                       and r["metric"] == "accuracy"]  # fmt: skip
    assert f"{100 * np.mean(values):.1f} [" in md.split("| pinch |")[1].split("\n")[0]


def test_report_cli(tmp_path):
    from xinstruct.cli import app

    out = fake_experiment(tmp_path / "exp")
    result = CliRunner().invoke(app, ["report", str(out)])
    assert result.exit_code == 0, result.output
    assert (out / "report.html").exists()
    missing = CliRunner().invoke(app, ["report", str(tmp_path / "nothing")])
    assert missing.exit_code == 2 and "no results to report" in missing.output


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium on PATH (Debian: apt-get install chromium; .ci/run does)")
def test_report_html_renders_in_headless_chromium(tmp_path):
    out = fake_experiment(tmp_path / "exp")
    make_report(out, "accuracy", title="demo")
    args = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--virtual-time-budget=5000", "--dump-dom", (out / "report.html").as_uri()]  # fmt: skip
    dom = subprocess.run(args, capture_output=True, text=True, timeout=120, check=True).stdout
    assert re.search(r'<body[^>]*data-ready="yes"', dom), dom[:500]
    assert re.search(r'<body[^>]*data-plots="2"', dom)  # both plots decoded and drawn
    assert "pinch vs english_only" in dom
    shot = tmp_path / "shot.png"
    subprocess.run([*args[:-2], f"--screenshot={shot}", "--window-size=1200,2400", (out / "report.html").as_uri()],
                   capture_output=True, timeout=120, check=True)  # fmt: skip
    assert shot.read_bytes()[:4] == b"\x89PNG" and shot.stat().st_size > 20_000  # a page with pictures, not blank


def test_every_pair_of_arms_is_compared(tmp_path):
    from xinstruct.report.analysis import Analysis
    from xinstruct.report.evidence import load_runs

    out = fake_experiment(tmp_path / "exp")
    shutil.copytree(out / "pinch", out / "zz_copy")  # a third arm, identical to pinch
    for name in ("metrics.csv", "predictions.jsonl"):
        path = out / "zz_copy" / "eval" / name
        path.write_text(path.read_text().replace("pinch", "zz_copy"))
    analysis = Analysis(load_runs([out]), "accuracy")
    pooled = {(c.arm, c.baseline): c.result for c in analysis.comparisons("lab_qa", "accuracy") if c.scope == "non-en"}
    assert set(pooled) == {("pinch", "english_only"), ("zz_copy", "english_only"), ("zz_copy", "pinch")}
    assert pooled[("zz_copy", "pinch")].difference == 0 and pooled[("zz_copy", "pinch")].p_value == 1.0


def test_rounded_values_outside_a_degenerate_interval_still_plot(tmp_path):
    """results.csv rounds to 6 decimals; a constant cell's interval is the unrounded mean (regression)."""
    out = fake_experiment(tmp_path / "exp")
    for arm in ("english_only", "pinch"):
        predictions = out / arm / "eval" / "predictions.jsonl"
        lines = [json.loads(line) for line in predictions.read_text().splitlines()]
        for record in lines:
            record["scores"]["accuracy"] = 1 / 3
        predictions.write_text("".join(json.dumps(r) + "\n" for r in lines))
        metrics = out / arm / "eval" / "metrics.csv"
        rows = list(csv.reader(open(metrics)))
        for row in rows[1:]:
            if row[3] == "accuracy":
                row[4] = "0.333333"
        with open(metrics, "w", newline="") as f:
            csv.writer(f).writerows(rows)
    make_report(out, "accuracy", title="constant")
    assert "33.3 [33.3, 33.3]" in (out / "report.md").read_text()
