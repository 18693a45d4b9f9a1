"""Build one arm's training mixture: run its recipe, write `mixture.jsonl` and `manifest.json`.

Deterministic: same experiment and seed -> byte-identical `mixture.jsonl`.
"""

from __future__ import annotations

from collections import Counter
from functools import cache
from pathlib import Path

from xinstruct.artifacts import sha256_file
from xinstruct.config import Experiment
from xinstruct.data.schema import Example, write_jsonl
from xinstruct.data.sources import load_source
from xinstruct.data.translate import make_translator
from xinstruct.errors import DataError
from xinstruct.recipes import RECIPES
from xinstruct.recipes.context import RecipeContext

MIXTURE = "mixture.jsonl"


def build_mixture(exp: Experiment, arm: str, out_dir: Path) -> dict:
    """Write the arm's mixture into `out_dir`; return the manifest fields (counts, hashes)."""
    arm_cfg = exp.arms[arm]
    recipe = RECIPES[arm_cfg.recipe]

    @cache
    def source(name: str) -> list[Example]:
        return load_source(name, exp.data.sources[name], exp.world_config(), exp.languages)

    ctx = RecipeContext(seed=exp.seed, sources=source, translator=make_translator(exp))
    examples = recipe.build(arm_cfg.recipe_params(), ctx)
    if not examples:
        raise DataError(f"arm {arm!r}: recipe {arm_cfg.recipe!r} produced no examples")
    path = out_dir / MIXTURE
    write_jsonl(examples, path)
    return {
        "recipe": arm_cfg.recipe,
        "params": arm_cfg.params,
        "n_examples": len(examples),
        "counts": {
            "language": dict(sorted(Counter(ex.lang for ex in examples).items())),
            "language_pair": dict(sorted(Counter(f"{ex.lang}->{ex.response_lang}" for ex in examples).items())),
            "source": dict(sorted(Counter(ex.source for ex in examples).items())),
            "task": dict(sorted(Counter(ex.task or "-" for ex in examples).items())),
            "translated": sum(ex.translated_from is not None for ex in examples),
        },
        "mixture_sha256": sha256_file(path),
    }
