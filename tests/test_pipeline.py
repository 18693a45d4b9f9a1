"""One tiny end-to-end run on a shrunken lab, reruns that skip, and byte-identical data."""

import csv
import json
import subprocess
import sys

from xinstruct import pipeline
from xinstruct.artifacts import read_manifest


def test_run_end_to_end_then_rerun_skips(tiny_experiment, tiny_experiment_file, cache_dir, tmp_path, capsys):
    out = tmp_path / "run"
    timings = pipeline.run(tiny_experiment, out, cache_dir)
    assert {"english_only data", "pinch train", "pinch eval", "report"} <= set(timings.seconds)
    for arm in ("english_only", "pinch"):
        for stage in ("data", "train", "eval"):
            assert read_manifest(out / arm / stage)["key"] == pipeline.stage_key(
                tiny_experiment, arm, stage, pipeline.resolve_model(tiny_experiment, cache_dir)[1]
            )
    with open(out / "results.csv") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["arm", "task", "language", "metric", "value", "n", "task_version"]
    assert {(r["arm"], r["language"]) for r in rows} == {
        (a, lang) for a in ("english_only", "pinch") for lang in ("en", "qaa", "qac")
    }
    assert {r["metric"] for r in rows} == {"accuracy", "fidelity", "value_recall"}
    assert all(0.0 <= float(r["value"]) <= 1.0 and int(r["n"]) > 0 for r in rows)
    assert "| english_only |" in (out / "report.md").read_text()
    assert (out / "transfer.png").read_bytes()[:4] == b"\x89PNG"
    manifest = read_manifest(out / "pinch" / "data")
    assert manifest["counts"]["language"] == {"en": 30, "qaa": 5, "qac": 5}
    for stage in ("data", "train", "eval"):  # every stage records where its numbers came from
        env = read_manifest(out / "pinch" / stage)["environment"]
        assert env["torch"] != "-" and env["device"] == "cpu" and env["cpu_kernels"]
    preds = [json.loads(line) for line in open(out / "pinch" / "eval" / "predictions.jsonl")]
    assert {"prompt", "prediction", "reference", "accuracy", "detected_lang", "scores"} <= set(preds[0])

    # a rerun does no work; changing the eval config reruns eval only
    mtimes = {p: p.stat().st_mtime_ns for p in out.glob("*/*/manifest.json")}
    timings = pipeline.run(tiny_experiment, out, cache_dir)
    assert set(timings.seconds) <= {"lab base model", "report"}
    assert {p: p.stat().st_mtime_ns for p in out.glob("*/*/manifest.json")} == mtimes
    changed = tiny_experiment.model_copy(update={"eval": tiny_experiment.eval.model_copy(update={"max_new_tokens": 4})})
    timings = pipeline.run(changed, out, cache_dir)
    assert {k for k in timings.seconds if k.endswith(("data", "train"))} == set()
    assert {"english_only eval", "pinch eval"} <= set(timings.seconds)


def test_same_config_same_bytes(tiny_experiment, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    pipeline.run(tiny_experiment, a, tmp_path, stages=("data",), report=False)
    pipeline.run(tiny_experiment, b, tmp_path, stages=("data",), report=False)
    for arm in ("english_only", "pinch"):
        assert (a / arm / "data" / "mixture.jsonl").read_bytes() == (b / arm / "data" / "mixture.jsonl").read_bytes()


def test_stage_alone_needs_its_upstream(tiny_experiment_file, tmp_path, cache_dir):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "xinstruct.cli",
            "train",
            str(tiny_experiment_file),
            "--out",
            str(tmp_path / "x"),
            "--cache-dir",
            str(cache_dir),
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2 and "run `xinstruct data build` first" in proc.stderr


def test_killed_stage_leaves_nothing_that_looks_finished(tiny_experiment, tmp_path, monkeypatch):
    def boom(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setitem(pipeline.STAGE_RUNNERS, "data", boom)
    try:
        pipeline.run(tiny_experiment, tmp_path / "out", tmp_path, stages=("data",), report=False)
    except KeyboardInterrupt:
        pass
    arm_dir = tmp_path / "out" / "english_only"
    assert not (arm_dir / "data").exists()
    assert list(arm_dir.iterdir()) == []  # the temp dir was removed too


def test_quiet_by_default_everything_else_in_the_stage_logs(tiny_experiment_file, cache_dir, tmp_path):
    """One line per stage on the console; other libraries' bars, warnings and log dicts in DIR/<arm>/<stage>/log.txt."""
    from typer.testing import CliRunner

    from xinstruct.cli import app

    out = tmp_path / "quiet"
    args = ["run", str(tiny_experiment_file), "--out", str(out), "--cache-dir", str(cache_dir)]
    result = CliRunner().invoke(app, args, terminal_width=120)
    assert result.exit_code == 0, result.output
    noise = ("Tokenizing", "Warning", "warnings.warn", "'loss':", "it/s", "Writing model shards", "Loading weights")
    assert not [line for line in result.output.splitlines() if any(n in line for n in noise)], result.output
    assert "pinch/train: " in result.output and " steps" in result.output  # the stage's one-line summary
    log = (out / "pinch" / "train" / "log.txt").read_text()
    assert '"loss"' in log  # the Trainer's log dicts went to the stage's log
    verbose = CliRunner().invoke(app, ["--verbose", *args[:3], str(tmp_path / "loud"), *args[4:]])
    assert verbose.exit_code == 0 and "running" in verbose.output  # --verbose keeps the old output
