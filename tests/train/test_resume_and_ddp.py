"""Training killed with SIGKILL resumes to the same weights; 2-process DDP on CPU (gloo) agrees across ranks."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import pytest

from tests.conftest import TINY_EXPERIMENT
from xinstruct import pipeline
from xinstruct.config import parse_experiment

LONG_TRAIN = TINY_EXPERIMENT.replace(
    "train: {method: full, epochs: 1, lr: 1.0e-3, batch_size: 8, max_length: 64, logging_steps: 1}",
    "train: {method: full, epochs: 24, lr: 1.0e-3, batch_size: 8, max_length: 64, logging_steps: 5, "
    "packing: false, checkpoint_steps: 10, loss_by_language: false}",
).replace("  pinch: {recipe: pinch, source: lab_en, n_examples: 40, share: 0.25, languages: [qaa, qac]}\n", "")
ARM = "english_only"


def _experiment_with_data(tmp_path, cache_dir, text: str = LONG_TRAIN):
    path = tmp_path / "exp.yaml"
    path.write_text(text)
    exp = parse_experiment(text)
    pipeline.run(exp, tmp_path / "base", cache_dir, stages=("data",), report=False)
    return path, exp


def _copy_data(tmp_path, name: str):
    out = tmp_path / name
    shutil.copytree(tmp_path / "base" / ARM / "data", out / ARM / "data")
    return out


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "xinstruct.cli", *args]


@pytest.mark.slow
def test_sigkill_mid_training_then_resume_matches_an_uninterrupted_run(tmp_path, cache_dir, tiny_lab_model):
    path, exp = _experiment_with_data(tmp_path, cache_dir)
    reference = _copy_data(tmp_path, "reference")
    pipeline.run(exp, reference, cache_dir, stages=("train",), report=False)
    expected = json.loads((reference / ARM / "train" / "manifest.json").read_text())
    assert expected["steps"] == 120 and expected["resumed_from"] is None

    killed = _copy_data(tmp_path, "killed")
    command = _cli("train", str(path), "--out", str(killed), "--cache-dir", str(cache_dir))
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    checkpoints = killed / ARM / pipeline.CHECKPOINTS
    deadline = time.time() + 300
    while not list(checkpoints.glob("*/checkpoint-30/COMPLETE")):
        assert proc.poll() is None, "training ended before it could be killed"
        assert time.time() < deadline
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (killed / ARM / "train").exists()  # nothing that looks finished

    resumed = subprocess.run(command, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    got = json.loads((killed / ARM / "train" / "manifest.json").read_text())
    assert got["resumed_from"] is not None and int(got["resumed_from"].split("-")[1]) >= 30
    assert got["steps"] == expected["steps"]
    assert got["weights_sha256"] == expected["weights_sha256"]
    final = [json.loads((d / ARM / "train" / "train_log.json").read_text())["loss"][-1] for d in (reference, killed)]
    assert final[0]["step"] == final[1]["step"] and final[0]["loss"] == pytest.approx(final[1]["loss"], abs=1e-6)
    assert not checkpoints.exists()  # published: checkpoints removed


@pytest.mark.slow
def test_two_process_ddp_on_cpu_ranks_agree(tmp_path, cache_dir, tiny_lab_model):
    text = LONG_TRAIN.replace("epochs: 24", "epochs: 2")
    path, exp = _experiment_with_data(tmp_path, cache_dir, text)
    out = _copy_data(tmp_path, "ddp")
    with socket.socket() as probe:  # a free port for the rendezvous (port 0 is not passed on to the ranks)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", str(port)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [*torchrun, "-m", "xinstruct.cli", "train", str(path), "--out", str(out), "--cache-dir", str(cache_dir)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    manifest = json.loads((out / ARM / "train" / "manifest.json").read_text())
    assert manifest["world_size"] == 2 and manifest["ranks_agree"] is True
    # 40 examples, 8 per device, 2 devices: 3 steps per epoch (the last one partial), 2 epochs
    assert manifest["steps"] == 6
