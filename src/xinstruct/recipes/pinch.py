"""pinch: a small share of the examples replaced by translations, spread evenly over languages.

"Multilingual Instruction Tuning With Just a Pinch of Multilinguality" (Shaham et al. 2024):
with a fixed budget of N examples, replacing even 1% of the English examples (40 of 4,640)
by translations into a few languages markedly improves instruction following in many
languages, including ones never tuned on.

Choices where the paper is vague, all tested:
- n_translated = round(share * N), Python's round (half to even): 1% of 4,640 = 40.
- The translated examples are spread evenly: each language gets n_translated // k, and the
  first n_translated % k languages (in the order given) get one more. 40 over 4 = 10 each.
- Which examples are translated is a seeded random subset of the N sampled English ones, so
  the English remainder and the translated ones never repeat the same source example.
"""

from __future__ import annotations

import random

from pydantic import BaseModel, ConfigDict, Field

from xinstruct.config import Lang
from xinstruct.data.schema import Example
from xinstruct.recipes.context import RecipeContext
from xinstruct.recipes.monolingual import sample


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str = Field(description="Name of the (English) source in `data.sources`.")
    n_examples: int | None = Field(None, ge=1, description="Total budget N; default: all of the source.")
    share: float = Field(0.01, ge=0, le=1, description="Share p of the N examples replaced by translations.")
    languages: list[Lang] = Field(min_length=1, description="Languages the translated share is spread over.")


def split_counts(n_translated: int, languages: list[str]) -> dict[str, int]:
    """Spread n over languages as evenly as possible; earlier languages take the remainder."""
    base, extra = divmod(n_translated, len(languages))
    return {lang: base + (1 if i < extra else 0) for i, lang in enumerate(languages)}


def build(params: Params, ctx: RecipeContext) -> list[Example]:
    rng = random.Random(f"{ctx.seed}:pinch")
    examples = sample(ctx.source(params.source), params.n_examples, rng, params.source)
    n_translated = round(params.share * len(examples))
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
