"""What the benches share for running on a GPU: model sizes, device and dtype flags, where the data is, MFU.

The CPU benches build ~20-35M-parameter models; `--size 1b` builds a Llama of about 1.1B parameters (the
issue's GPU bench size: hidden 2048, 16 layers, 32 heads, FFN 5632, 32k vocabulary). `--device cuda --dtype
bf16` runs both engines of a bench on the GPU in bf16 (the anchor gets the very same model object). The data
is read from $XINSTRUCT_DATA when set (the GPU machine has no ../shared: bench/gpu.sh carries a copy), else
../shared/data.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

SIZES = {
    "small": None,  # each bench's own CPU-sized model
    "1b": {
        "hidden_size": 2048,
        "intermediate_size": 5632,
        "num_hidden_layers": 16,
        "num_attention_heads": 32,
        "num_key_value_heads": 8,
    },  # fmt: skip
}
PEAK_TFLOPS = {"bf16": 989.0, "fp16": 989.0, "fp32": 67.0}  # H100/H200 SXM dense tensor-core peaks (spec sheet)


def shared_data() -> Path:
    return Path(os.environ.get("XINSTRUCT_DATA") or Path(__file__).resolve().parents[2] / "shared" / "data")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", default="cpu", help="cpu | cuda (both engines on it)")
    parser.add_argument("--dtype", default="fp32", choices=["fp32", "bf16", "fp16"])
    parser.add_argument("--size", default="small", choices=list(SIZES), help="small (CPU) | 1b (GPU bench)")


def config_overrides(size: str) -> dict:
    return dict(SIZES[size] or {})


def place(model, args):
    """The model on `args.device` in `args.dtype`, in eval mode."""
    import torch

    dtype = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[args.dtype]
    return model.to(device=args.device, dtype=dtype).eval()


def mfu(tokens_per_s: float, n_params: float, dtype: str, peak_tflops: float | None = None) -> float:
    """Model FLOPs utilisation: 6 N FLOPs per trained token (forward + backward; attention left out) over the
    GPU's dense peak."""
    return 6 * n_params * tokens_per_s / ((peak_tflops or PEAK_TFLOPS[dtype]) * 1e12)
