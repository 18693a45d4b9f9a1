"""The demo from a cold cache, as a user runs it: the pinch effect must show (slow: minutes)."""

import csv
import subprocess
import sys

import pytest


@pytest.mark.slow
def test_demo_shows_the_pinch_effect(tmp_path):
    out = tmp_path / "demo"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "xinstruct.cli",
            "demo",
            "--seed",
            "0",
            "--out",
            str(out),
            "--cache-dir",
            str(tmp_path / "cache"),
        ],
        capture_output=True,
        text=True,
        timeout=1500,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "where the time goes" in proc.stdout
    console = (proc.stdout + proc.stderr).splitlines()  # quiet: one screen, no other library's noise
    assert len(console) < 40, "\n".join(console)
    assert not [line for line in console if "arning" in line or "it/s" in line or "%|" in line], console
    with open(out / "results.csv") as f:
        acc = {
            (r["arm"], r["language"]): float(r["value"])
            for r in csv.DictReader(f)
            if r["task"] == "lab_qa" and r["metric"] == "accuracy"
        }
    non_en = ["qaa", "qab", "qac", "qad"]
    gain = sum(acc["pinch", lang] - acc["english_only", lang] for lang in non_en) / len(non_en)
    assert gain >= 0.15, acc
    assert acc["pinch", "en"] >= acc["english_only", "en"] - 0.15, acc
    page = (out / "report.html").read_text(encoding="utf-8")  # the report a researcher opens
    assert "Transfer matrix" in page and "Seen vs unseen languages" in page
    assert "pinch vs english_only, lab_qa accuracy, 4 non-English languages (macro): +" in page
    assert page.count("data:image/png;base64,") >= 2
    assert '"holds": true' in (out / "claims.json").read_text()  # the preset's claim, checked
    assert [line for line in console if "pinch > english_only" in line and line.endswith(", holds")], console
