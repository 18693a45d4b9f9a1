"""`xinstruct data build` and `xinstruct run` killed with SIGKILL mid-stage, then rerun.

Why: stages publish atomically (temp dir, manifest last, rename) and the eval stage resumes from the
request cache; that is only worth something if (1) after a kill at the worst moment nothing that looks
finished is unfinished, and (2) the rerun's outputs are byte for byte those of an uninterrupted run.
The child is paused at a chosen point (`tests/killing.py`), so the kill lands there every time:

- data build: after the second arm's mixture is written into its temp directory, before its
  manifest and rename (the stage's work done, not yet published);
- run: in the second arm's eval stage, after some of its request batches are committed to the cache.

The reference runs into the same `--out` and cache paths first and is moved aside (a Trainer's saved
arguments record the output path, a model card the base model's). Manifests are compared without what
describes the run rather than the result: when it was made, how long it took, how many requests were
sent, what training resumed from; stage logs (`log.txt`: other libraries' progress bars) are left out.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.killing import run_logging_calls, run_until_paused, sigkill
from tests.stubs import cached_requests
from xinstruct import pipeline
from xinstruct.artifacts import MANIFEST, is_complete, sha256_file
from xinstruct.config import load_experiment
from xinstruct.evaluate.cache import FILENAME

RUN_DEPENDENT = {"created", "seconds", "requests_per_rank", "resumed_from"}  # manifest fields about the run
LOGS = {"log.txt"}  # a stage's log of other libraries' output (progress bars with timings): about the run too
REPORT = ("results.csv", "report.md", "report.html", "transfer.png")
EVAL_BATCH = 8  # lab_qa has ~20 questions per language: several cache commits per language


def fresh_cache(root: Path, tiny_lab_model: Path, cache_dir: Path) -> Path:
    """A cache directory with the session's lab base model and nothing else (no request cache)."""
    shutil.copytree(tiny_lab_model, root / tiny_lab_model.relative_to(cache_dir))
    return root


def xinstruct(*args: str) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "xinstruct.cli", *args], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    return result


def snapshot(out: Path) -> dict[str, object]:
    """Every visible file under `out` but logs: its sha256, or for a manifest its fields minus the run-dependent
    ones (and the logs' hashes). Hidden entries (a killed stage's `.NAME.tmp-PID` directory) are left out:
    `assert_nothing_looks_finished` checks those."""
    files: dict[str, object] = {}
    for path in sorted(out.rglob("*")):
        rel = path.relative_to(out)
        if path.is_dir() or path.name in LOGS or any(part.startswith(".") for part in rel.parts):
            continue
        if path.name == MANIFEST:
            manifest = json.loads(path.read_text(encoding="utf-8"))
            manifest["files"] = {k: v for k, v in manifest.get("files", {}).items() if Path(k).name not in LOGS}
            files[str(rel)] = {k: v for k, v in manifest.items() if k not in RUN_DEPENDENT}
        else:
            files[str(rel)] = sha256_file(path)
    return files


def assert_nothing_looks_finished(out: Path, exp, model_id: str, finished: set[tuple[str, str]]) -> None:
    """Exactly the `finished` (arm, stage) directories are complete, and each holds exactly the files its
    manifest lists with those hashes; every other stage directory is absent; leftovers of the killed stage
    are hidden temp directories without a manifest; no report was written."""
    for arm in exp.arms:
        for stage in pipeline.STAGES:
            stage_dir = out / arm / stage
            if (arm, stage) in finished:
                assert is_complete(stage_dir, pipeline.stage_key(exp, arm, stage, model_id)), stage_dir
                listed = json.loads((stage_dir / MANIFEST).read_text())["files"]
                files = {str(p.relative_to(stage_dir)) for p in stage_dir.rglob("*") if p.is_file()}
                present = files - {MANIFEST, "log.txt"}  # the stage's log is not a result (artifacts.write_manifest)
                assert set(listed) == present, stage_dir
                assert all(sha256_file(stage_dir / name) == digest for name, digest in listed.items()), stage_dir
            else:
                assert not stage_dir.exists(), f"{stage_dir} exists but its stage was killed or never ran"
        for leftover in (out / arm).glob(".*"):
            assert ".tmp-" in leftover.name and not list(leftover.rglob(MANIFEST)), leftover
    assert not any((out / name).exists() for name in REPORT)


@pytest.mark.slow
def test_sigkilled_data_build_leaves_nothing_finished_and_reruns_to_the_same_bytes(
    tiny_experiment_file, tiny_lab_model, cache_dir, tmp_path
):
    exp = load_experiment(tiny_experiment_file)
    out, cache = tmp_path / "out", fresh_cache(tmp_path / "cache", tiny_lab_model, cache_dir)
    command = ["data", "build", str(tiny_experiment_file), "--out", str(out), "--cache-dir", str(cache)]
    xinstruct(*command)  # the uninterrupted reference, moved aside
    reference = snapshot(out)
    out.rename(tmp_path / "reference")

    target = "xinstruct.data.mixture:build_mixture"  # returns once an arm's mixture is in its temp dir
    proc = run_until_paused(tmp_path / "signals", target, 2, command, tmp_path / "log.txt")
    sigkill(proc)
    first, second = list(exp.arms)
    assert list((out / second).glob(".data.tmp-*/mixture.jsonl")), "killed before the second mixture was written"
    assert_nothing_looks_finished(out, exp, "", {(first, "data")})

    def published() -> tuple[bytes, int]:  # a rebuilt stage is a new directory with a new manifest
        return (out / first / "data" / MANIFEST).read_bytes(), (out / first / "data").stat().st_ino

    before = published()
    xinstruct(*command)
    assert snapshot(out) == reference
    assert published() == before  # the finished arm was skipped, not rebuilt


@pytest.mark.slow
def test_sigkilled_run_resumes_its_eval_and_reruns_to_the_same_bytes(
    tiny_experiment_file, tiny_lab_model, cache_dir, tmp_path
):
    sets = [f"eval.batch_size={EVAL_BATCH}"]
    exp = load_experiment(tiny_experiment_file, sets)
    out = tmp_path / "out"
    target = "xinstruct.evaluate.cache:RequestCache.put_many"  # one call per committed batch, logs the model
    cache = fresh_cache(tmp_path / "cache", tiny_lab_model, cache_dir)
    command = ["run", str(tiny_experiment_file), "--out", str(out), "--set", sets[0], "--cache-dir", str(cache)]
    calls = run_logging_calls(tmp_path / "reference-signals", target, command, tmp_path / "reference.txt")
    reference = snapshot(out)
    total = cached_requests(cache / FILENAME)
    out.rename(tmp_path / "reference")  # same paths for the killed run: the base model's path is in model cards
    cache.rename(tmp_path / "reference-cache")
    first_arm_batches = calls.count(calls[0])  # the first arm's model answers its eval's batches, then the second's
    assert len(calls) >= first_arm_batches + 3, calls  # some of the second arm's batches are left after the kill

    fresh_cache(cache, tiny_lab_model, cache_dir)
    proc = run_until_paused(tmp_path / "signals", target, first_arm_batches + 2, command, tmp_path / "log.txt")
    sigkill(proc)
    first, second = list(exp.arms)
    assert 0 < cached_requests(cache / FILENAME) < total  # killed inside the second arm's eval
    model_id = pipeline.resolve_model(exp, cache)[1]
    finished = {(arm, stage) for arm in exp.arms for stage in pipeline.STAGES} - {(second, "eval")}
    assert_nothing_looks_finished(out, exp, model_id, finished)

    xinstruct(*command)
    assert cached_requests(cache / FILENAME) == total
    assert snapshot(out) == reference
