"""A tiny model whose greedy answers vary from prompt to prompt, for equality tests that mean something.

Why: the shrunken lab model trains for a few steps only and answers almost every prompt with the same
string (".... "), so "cached answers == fresh answers" or "engine A == engine B" would also hold for an
implementation that mixed up prompts, rows or cache keys. Seeded Gaussian noise added to every weight
of that model (same architecture, tokenizer, chat template and lab world, so lab tasks still load)
makes the answers depend on the prompt; `assert_varied` checks that they do before a test relies on it.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

NOISE = 0.3  # standard deviation added to every weight: enough for prompt-dependent greedy answers
SEED = 0


def build_varied_model(source: Path, out: Path, seed: int = SEED, scale: float = NOISE) -> Path:
    """Copy the model directory `source` to `out` with N(0, scale^2) noise (seeded) added to every weight."""
    import torch
    from safetensors.torch import load_file, save_file

    shutil.copytree(source, out)
    weights = load_file(out / "model.safetensors")
    generator = torch.Generator().manual_seed(seed)
    noisy = {
        name: (tensor.float() + torch.randn(tensor.shape, generator=generator) * scale).to(tensor.dtype).contiguous()
        for name, tensor in sorted(weights.items())
    }
    save_file(noisy, out / "model.safetensors", metadata={"format": "pt"})
    return out


def assert_varied(outputs: Sequence, at_least: int) -> None:
    """More than `at_least` distinct outputs: an equality between two runs compares prompt-specific answers."""
    distinct = len({repr(o) for o in outputs})
    assert distinct > at_least, f"only {distinct} distinct outputs of {len(outputs)}: {list(outputs)[:5]}"
