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
- The N examples are the first N of the source's one seeded ordering, the same N an english_only
  arm of the same budget draws (`RecipeContext.draw`); the translated ones are the last
  n_translated of those N. So english_only(N) and pinch(N, n) share exactly N - n English
  examples, pinch translates english_only's own examples, the English remainder and the
  translated ones never repeat a source example, and a smaller pinch's translated examples lie
  inside a larger one's (40 inside 1% inside 5%). Language j of k takes its consecutive block.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from xinstruct.data.schema import Example
from xinstruct.errors import DataError
from xinstruct.languages import Lang
from xinstruct.recipes.context import RecipeContext
from xinstruct.recipes.counts import split_counts


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
    examples = ctx.draw(params.source, params.n_examples)
    try:
        n_translated = params.count(len(examples))
    except ValueError as e:
        raise DataError(f"recipe pinch: {e}") from None
    start = len(examples) - n_translated
    for lang, count in split_counts(n_translated, params.languages).items():
        positions = range(start, start + count)
        start += count
        translated = ctx.translate([examples[i] for i in positions], lang)
        for i, ex in zip(positions, translated, strict=True):
            examples[i] = ex
    return examples
