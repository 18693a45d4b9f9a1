"""monolingual: N examples from one source, in its own language.

English-only tuning and zero-shot transfer (Chen et al. 2023, "Monolingual or Multilingual
Instruction Tuning: Which Makes a Better Alpaca?"; and "Zero-shot cross-lingual transfer in
instruction tuning of LLMs", Chirkova & Nikoulina 2024): tune on English only, evaluate in
every language. Data size is the parameter those papers vary.
"""

from __future__ import annotations

import random

from pydantic import BaseModel, ConfigDict, Field

from xinstruct.data.schema import Example
from xinstruct.recipes.context import RecipeContext


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str = Field(description="Name of the source in `data.sources`.")
    n_examples: int | None = Field(None, ge=1, description="How many examples; default: all of the source.")


def build(params: Params, ctx: RecipeContext) -> list[Example]:
    """A seeded sample of `n_examples` from the source, in a seeded order."""
    pool = ctx.source(params.source)
    return sample(pool, params.n_examples, random.Random(f"{ctx.seed}:monolingual"), params.source)


def sample(pool: list[Example], n: int | None, rng: random.Random, source: str) -> list[Example]:
    """`n` distinct examples of `pool` in a seeded order (all of them if `n` is None)."""
    from xinstruct.errors import DataError

    n = len(pool) if n is None else n
    if n > len(pool):
        raise DataError(f"source {source!r} has {len(pool)} examples; the recipe asks for n_examples={n}")
    return rng.sample(pool, n)
