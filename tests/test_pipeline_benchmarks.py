"""`xinstruct run` on a real-data experiment: Alpaca in, benchmark tasks out, on the tiny fixture model."""

from __future__ import annotations

import csv

import pytest
from typer.testing import CliRunner

from tests.conftest import SHARED_DATA
from xinstruct.cli import app


@pytest.mark.skipif(not SHARED_DATA.exists(), reason=f"shared data not found at {SHARED_DATA}")
def test_run_with_benchmark_tasks(tiny_lab_model, cache_dir, tmp_path):
    experiment = tmp_path / "exp.yaml"
    experiment.write_text(
        f"""
name: real-tasks
languages: [en, zh, vi]
model: {tiny_lab_model}
data:
  sources:
    alpaca: {{path: {SHARED_DATA}/alpaca/alpaca_data.json, format: alpaca, skip_invalid: true}}
arms:
  english_only: {{recipe: monolingual, source: alpaca, n_examples: 16}}
train: {{method: lora, epochs: 1, batch_size: 8, max_length: 128, loss_by_language: false}}
eval: {{tasks: [xcopa, mgsm, cross_mmlu], languages: [zh, vi], limit: 3, max_new_tokens: 4, data_dir: {SHARED_DATA}}}
report: {{metric: acc}}
"""
    )
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["run", str(experiment), "--out", str(out), "--cache-dir", str(cache_dir)])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(open(out / "results.csv", encoding="utf-8")))
    got = {(r["task"], r["language"], r["metric"]) for r in rows}
    assert {("xcopa", "zh", "acc"), ("mgsm", "zh", "exact_match"), ("cross_mmlu", "all", "ac3_2")} <= got
    assert all(r["arm"] == "english_only" for r in rows)
    assert (out / "report.md").exists()
