"""Where and in what precision an evaluation or judge model runs: `eval.device`, `eval.dtype`, `eval.device_map`.

One small module so that the runner, the judge's HF backend and `xinstruct eval --model` resolve `auto` the same way:

- device `auto`: CUDA if present, else Apple's MPS, else the CPU. Under torchrun / accelerate launch each
  rank takes its own GPU, `cuda:$LOCAL_RANK`;
- dtype `auto`: bf16 on a GPU that supports it, fp16 on older GPUs (V100, T4), fp32 on the CPU. The lab's
  tiny models stay fp32 everywhere (their published numbers are fp32; bf16 buys them nothing);
- device_map `auto`: one model spread over every visible GPU by accelerate (a model larger than one GPU);
  it cannot be combined with data parallelism (each rank would spread over every GPU).

Asking for what the machine does not have (`cuda` without CUDA, `bf16` on a GPU without it) is a `ConfigError`
naming the field. The resolved dtype and device kind are part of the request cache's model key
(`Placement.cache_tag`): an fp32 CPU answer is never reused for a bf16 GPU run, and is reused for the same settings.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from xinstruct.errors import ConfigError

DEVICES = ("auto", "cuda", "mps", "cpu")
DTYPES = ("auto", "bf16", "fp16", "fp32")
DEVICE_MAPS = (None, "auto")
TORCH_DTYPES = {"bf16": "bfloat16", "fp16": "float16", "fp32": "float32"}  # also vLLM's names


@dataclass(frozen=True)
class Placement:
    """A resolved placement: a torch device (`cpu`, `mps`, `cuda`, `cuda:3`), a dtype (bf16 | fp16 | fp32), and
    whether accelerate spreads the model over every GPU (`device_map="auto"`)."""

    device: str = "cpu"
    dtype: str = "fp32"
    device_map: str | None = None

    @property
    def kind(self) -> str:
        """The device kind (`cuda` for `cuda:3`): what the cache key records (results do not depend on the index)."""
        return self.device.split(":")[0]

    @property
    def torch_dtype(self) -> Any:
        import torch

        return getattr(torch, TORCH_DTYPES[self.dtype])

    def cache_tag(self) -> str:
        """The placement as the request cache's model key records it: `torch.<dtype>`, plus `:<kind>` off the CPU.

        A CPU tag is exactly what every cache written before devices were configurable holds (`torch.float32`),
        so those answers stay valid; a GPU's kernels differ from the CPU's in the last bits, hence the kind."""
        tag = f"torch.{TORCH_DTYPES[self.dtype]}"
        return tag if self.kind == "cpu" else f"{tag}:{self.kind}"

    def load_kwargs(self) -> dict[str, Any]:
        """`from_pretrained` arguments: the dtype, and where the weights go (straight onto the GPU: no CPU copy).

        The CPU passes no device map, exactly as before (no accelerate hooks on the CPU benches)."""
        kwargs: dict[str, Any] = {"dtype": self.torch_dtype}
        if self.device_map is not None:
            kwargs["device_map"] = self.device_map
        elif self.kind != "cpu":
            kwargs["device_map"] = self.device
        return kwargs

    def describe(self) -> dict[str, Any]:
        """For manifests."""
        return {"device": self.device, "dtype": self.dtype, "device_map": self.device_map}


def _cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


def _mps_available() -> bool:
    import torch

    return bool(getattr(torch.backends, "mps", None)) and torch.backends.mps.is_available()


def _cuda_bf16() -> bool:
    import torch

    return torch.cuda.is_bf16_supported()


def _mps_bf16() -> bool:
    """MPS has bf16 from macOS 14 on; creating a tensor is the reliable probe across torch versions."""
    import torch

    try:
        torch.zeros(1, dtype=torch.bfloat16, device="mps")
    except (RuntimeError, TypeError):
        return False
    return True


def _option(where: str, name: str) -> str:
    """`eval.device_map` in an experiment file, `--device-map` on the command line."""
    return f"--{name.replace('_', '-')}" if where == "--" else f"{where}.{name}"


def resolve_placement(
    device: str = "auto",
    dtype: str = "auto",
    device_map: str | None = None,
    *,
    lab: bool = False,
    where: str = "eval",
) -> Placement:
    """Resolve `auto` and check what was asked against the machine; `where` names the fields in errors
    (`eval`, `judge`, or `--` for the command line's options). `lab`: the lab's models, fp32 under `auto`."""
    if device not in DEVICES:
        raise ConfigError(f"{_option(where, 'device')}: expected one of {list(DEVICES)}, got {device!r}")
    if dtype not in DTYPES:
        raise ConfigError(f"{_option(where, 'dtype')}: expected one of {list(DTYPES)}, got {dtype!r}")
    if device_map not in DEVICE_MAPS:
        raise ConfigError(f"{_option(where, 'device_map')}: expected auto or nothing (null), got {device_map!r}")
    if device == "auto":
        device = "cuda" if _cuda_available() else "mps" if _mps_available() else "cpu"
    elif device == "cuda" and not _cuda_available():
        raise ConfigError(f"{_option(where, 'device')} cuda: no CUDA device here (torch.cuda.is_available() is False)")
    elif device == "mps" and not _mps_available():
        raise ConfigError(f"{_option(where, 'device')} mps: no MPS device here (torch.backends.mps.is_available())")
    world = int(os.environ.get("WORLD_SIZE", 1))
    if device_map is not None:
        if device != "cuda":
            raise ConfigError(f"{_option(where, 'device_map')} auto spreads a model over GPUs; the device is {device}")
        if world > 1:
            raise ConfigError(
                f"{_option(where, 'device_map')} auto spreads one model over every GPU, which data-parallel "
                "evaluation (torchrun / accelerate launch) cannot share: run it in one process"
            )
    if dtype == "auto":
        if lab or device == "cpu":
            dtype = "fp32"
        elif device == "cuda":
            dtype = "bf16" if _cuda_bf16() else "fp16"
        else:
            dtype = "bf16" if _mps_bf16() else "fp16"
    elif dtype == "bf16" and device != "cpu" and not (_cuda_bf16() if device == "cuda" else _mps_bf16()):
        raise ConfigError(f"{_option(where, 'dtype')} bf16: this {device} device has no bf16 support; use fp16 or auto")
    if device == "cuda" and device_map is None and world > 1:
        device = f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}"  # each rank its own GPU
    return Placement(device, dtype, device_map)


def input_device(model) -> Any:
    """Where a model's inputs go: its input embeddings' device (with `device_map="auto"` the first GPU)."""
    try:
        return model.get_input_embeddings().weight.device
    except (AttributeError, NotImplementedError):
        return model.device
