"""pinch: a small share of the examples replaced by translations, spread evenly over languages.

"Multilingual Instruction Tuning With Just a Pinch of Multilinguality" (Shaham et al. 2024):
with a fixed budget of N examples, replacing even 1% of the English examples (40 of 4,640)
by translations into a few languages markedly improves instruction following in many
languages, including ones never tuned on.

Choices where the paper is vague, all tested:
- The translated count is either given exactly (`n_translated: 40`) or as a share of the budget,
  n_translated = round(share * N) with Python's round (half to even). Note that the paper's
  "1%, 40 of 4,640" is not a rounding of 1% (46.4): to reproduce it, give `n_translated: 40`.
- The translated examples are spread evenly: each language gets n_translated // k, and the
  first n_translated % k languages (in the order given) get one more. 40 over 4 = 10 each.
- Which examples are translated is a seeded random subset of the N sampled English ones, so
  the English remainder and the translated ones never repeat the same source example.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from xinstruct.config import Lang
from xinstruct.data.schema import Example
from xinstruct.errors import DataError
from xinstruct.recipes.context import RecipeContext
from xinstruct.recipes.counts import split_counts
from xinstruct.recipes.monolingual import sample


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str = Field(description="Name of the (English) source in `data.sources`.")
    n_examples: int | None = Field(None, ge=1, description="Total budget N; default: all of the source.")
    share: float | None = Field(None, ge=0, le=1, description="Share p of the N examples replaced by translations.")
    n_translated: int | None = Field(None, ge=0, description="Exact number replaced (instead of `share`).")
    languages: list[Lang] = Field(min_length=1, description="Languages the translated share is spread over.")

    @model_validator(mode="after")
    def _one_amount(self) -> Params:
        if (self.share is None) == (self.n_translated is None):
            raise ValueError("give exactly one of `share` (e.g. 0.01) or `n_translated` (e.g. 40)")
        return self

    def count(self, n_examples: int) -> int:
        n = round(self.share * n_examples) if self.share is not None else self.n_translated
        if n > n_examples:
            raise ValueError(f"n_translated={n} exceeds the budget of {n_examples} examples")
        return n


def build(params: Params, ctx: RecipeContext) -> list[Example]:
    rng = ctx.rng("pinch")
    examples = sample(ctx.source(params.source), params.n_examples, rng, params.source)
    try:
        n_translated = params.count(len(examples))
    except ValueError as e:
        raise DataError(f"recipe pinch: {e}") from None
    counts = split_counts(n_translated, params.languages)
    chosen = rng.sample(range(len(examples)), n_translated)
    start = 0
    for lang, count in counts.items():
        positions = chosen[start : start + count]
        start += count
        translated = ctx.translate([examples[i] for i in positions], lang)
        for i, ex in zip(positions, translated, strict=True):
            examples[i] = ex
    return examples
