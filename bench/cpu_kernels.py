"""What pinning CPU kernels to AVX2 costs: the demo's lab pretraining, pinned (default) vs native kernels.

    python bench/cpu_kernels.py [--steps 150] [--repeats 2]

xinstruct pins torch's ATen kernels and MKL to the AVX2 family on x86 (`xinstruct/__init__.py`) so a lab
run gives the same numbers on every x86 CPU; `XINSTRUCT_CPU_KERNELS=native` lets them use the widest
kernels the CPU has. This times the same work both ways, each in a fresh process (the choice is made
before torch loads): `--steps` steps of the demo's base-model pretraining (its world, sizes and batch;
pretraining is over 70% of a cold demo) with a throw-away cache, alternating the two settings `--repeats`
times. It prints seconds per setting (best of the repeats), the ratio, and the kernel family torch used.
On a CPU without AVX-512 both settings run the same kernels and the ratio is ~1.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

CHILD = r"""
import json, sys, tempfile, time
from pathlib import Path
import xinstruct  # pins the kernels (or not) before torch loads
import torch
from xinstruct.config import load_experiment
from xinstruct.lab.pretrain import build_base_model
from xinstruct.presets import presets

exp = load_experiment(presets()["demo"])
cfg = exp.lab.pretrain.model_copy(update={"steps": int(sys.argv[1])})
with tempfile.TemporaryDirectory() as cache:
    t0 = time.perf_counter()
    build_base_model(exp.world_config(), cfg, Path(cache))
    seconds = time.perf_counter() - t0
print(json.dumps({"seconds": seconds, "kernels": torch.backends.cpu.get_cpu_capability()}))
"""


def run(steps: int, native: bool) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("ATEN_CPU_CAPABILITY", "MKL_CBWR")}
    env["XINSTRUCT_CPU_KERNELS"] = "native" if native else "avx2"
    proc = subprocess.run([sys.executable, "-c", CHILD, str(steps)], env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(proc.stderr[-3000:])
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    results: dict[str, list[dict]] = {"pinned": [], "native": []}
    for _ in range(args.repeats):
        for name in results:
            results[name].append(run(args.steps, native=name == "native"))
    best = {name: min(r["seconds"] for r in runs) for name, runs in results.items()}
    for name, runs in results.items():
        print(f"{name:7s} kernels {runs[0]['kernels']:8s} {best[name]:6.1f} s for {args.steps} pretraining steps")
    print(f"pinned / native: {best['pinned'] / best['native']:.2f}x the time")


if __name__ == "__main__":
    main()
