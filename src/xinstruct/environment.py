"""The environment a result was produced in: library versions, device, CPU kernel family, xinstruct commit.

Recorded in every stage manifest (`environment`), because "same config and seed, same numbers" holds only
within one environment: another torch, another kernel family (AVX2 vs AVX-512), another device changes the
numbers. `xinstruct report` warns when the arms it compares were produced in different ones
(`differences`).
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import subprocess
from functools import cache
from pathlib import Path

PACKAGES = ("torch", "transformers", "trl", "peft", "datasets", "accelerate")
COMPARED = ("python", *PACKAGES, "device", "cpu_kernels")  # what makes numbers differ (not the commit)


@cache
def environment() -> dict[str, str]:
    """{python, torch, ..., device, cpu_kernels, xinstruct_commit} of this process."""
    env = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            env[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            env[name] = "-"
    env["device"] = _device()
    env["cpu_kernels"] = _cpu_kernels()
    env["xinstruct_commit"] = _commit()
    return env


def _device() -> str:
    import torch

    if torch.cuda.is_available():
        return f"cuda ({torch.cuda.get_device_name(0)})"
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def _cpu_kernels() -> str:
    """torch's CPU capability in use (e.g. AVX2, AVX512), and MKL's reproducibility setting."""
    import torch

    try:
        capability = torch.backends.cpu.get_cpu_capability()
    except AttributeError:  # older torch
        capability = os.environ.get("ATEN_CPU_CAPABILITY", "default")
    return f"{capability}" + (f", MKL_CBWR={os.environ['MKL_CBWR']}" if os.environ.get("MKL_CBWR") else "")


def _commit() -> str:
    """The git commit of the xinstruct source tree (with `+dirty` for uncommitted changes), or `-`."""
    root = Path(__file__).resolve().parents[2]
    try:
        head = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no", "--", "src"],
            capture_output=True, text=True, timeout=5,
        ).stdout.strip()  # fmt: skip
        return head + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        from xinstruct import __version__

        return f"release {__version__}"


def differences(environments: dict[str, dict]) -> dict[str, dict[str, str]]:
    """{field: {who: value}} for every compared field on which `environments` ({who: environment}) disagree."""
    out = {}
    for field in COMPARED:
        values = {who: env.get(field, "?") for who, env in environments.items() if env}
        if len(set(values.values())) > 1:
            out[field] = values
    return out
