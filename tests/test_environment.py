"""Reproducible CPU numerics and a recorded environment: the kernel family is pinned before torch loads,
every stage manifest records the environment, and the report warns when compared arms differ in it."""

from __future__ import annotations

import json
import platform
import subprocess
import sys

import pytest

from tests.report.test_report import fake_experiment
from xinstruct.report.build import make_report

x86 = pytest.mark.skipif(platform.machine().lower() not in ("x86_64", "amd64"), reason="the pin is for x86 CPUs")


def _in_child(env: dict) -> dict:
    code = (
        "import json, os, xinstruct, torch; "
        "print(json.dumps([os.environ.get('ATEN_CPU_CAPABILITY'), os.environ.get('MKL_CBWR'), "
        "torch.backends.cpu.get_cpu_capability()]))"
    )
    clean = {k: v for k, v in __import__("os").environ.items() if k not in ("ATEN_CPU_CAPABILITY", "MKL_CBWR")}
    out = subprocess.run([sys.executable, "-c", code], env={**clean, **env}, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


@x86
def test_importing_xinstruct_pins_the_avx2_kernels_before_torch_loads():
    aten, mkl, capability = _in_child({})
    assert (aten, mkl) == ("avx2", "AVX2") and capability in ("AVX2", "DEFAULT")  # DEFAULT: a CPU without AVX2
    aten, mkl, _ = _in_child({"XINSTRUCT_CPU_KERNELS": "native"})  # the documented opt-out
    assert (aten, mkl) == (None, None)
    assert _in_child({"ATEN_CPU_CAPABILITY": "default"})[0] == "default"  # the user's own setting is kept


def test_stage_manifests_record_the_environment_and_the_report_warns(tmp_path, capsys):
    from xinstruct.environment import environment

    env = environment()
    assert {"python", "torch", "transformers", "trl", "peft", "datasets", "accelerate", "device", "cpu_kernels",
            "xinstruct_commit"} <= set(env)  # fmt: skip
    out = fake_experiment(tmp_path / "run")
    for arm, kernels in (("english_only", "AVX2"), ("pinch", "AVX512")):
        manifest = {"stage": "eval", "environment": {**env, "cpu_kernels": kernels}}
        (out / arm / "eval" / "manifest.json").write_text(json.dumps(manifest))
    make_report(out, title="env")
    assert "different environments" in capsys.readouterr().err
    md = (out / "report.md").read_text()
    assert "**Warning**" in md and "cpu_kernels: english_only/eval AVX2, pinch/eval AVX512" in md
    (out / "pinch" / "eval" / "manifest.json").write_text(json.dumps({"environment": env | {"cpu_kernels": "AVX2"}}))
    (out / "english_only" / "eval" / "manifest.json").write_text(
        json.dumps({"environment": env | {"cpu_kernels": "AVX2"}})
    )
    make_report(out, title="env")
    assert "**Warning**" not in (out / "report.md").read_text()


def test_the_warning_compares_seeds_with_each_other(tmp_path, capsys):
    """Seed directories hold the same arm names: one seed's manifests must not hide another's."""
    from xinstruct.environment import environment

    env = environment()
    seed0, seed1 = fake_experiment(tmp_path / "seed0"), fake_experiment(tmp_path / "seed1")
    for directory, kernels in ((seed0, "AVX2"), (seed1, "AVX512")):
        for arm in ("english_only", "pinch"):
            manifest = {"stage": "eval", "environment": {**env, "cpu_kernels": kernels}}
            (directory / arm / "eval" / "manifest.json").write_text(json.dumps(manifest))
    make_report(seed0, title="env", seeds=[seed1])
    assert "different environments" in capsys.readouterr().err
    assert "seed0/pinch/eval AVX2" in (seed0 / "report.md").read_text()
    assert "seed1/pinch/eval AVX512" in (seed0 / "report.md").read_text()
