"""multilingual: one budget over the languages of several sources, by weights or by temperature.

Multilingual instruction mixtures are weighted per language: explicit shares (`weights: {en: 0.8,
de: 0.1, zh: 0.1}`, as in the mixtures of Chen et al. 2023, "Monolingual or Multilingual
Instruction Tuning") or temperature sampling over the languages' sizes, p_l proportional to
n_l^(1/T) (Conneau et al. 2020, XLM-R; Arivazhagan et al. 2019): T = 1 keeps the natural
proportions, larger T flattens them towards uniform.

Construction:
- The pool of language l is every example in l of the listed sources (a source may be
  monolingual or `language: auto`), source by source in listing order, each in its one seeded
  ordering (`RecipeContext.draw`): a smaller budget's examples lie inside a larger one's.
- Counts are exact: `n_examples` split by the shares with the largest-remainder rule
  (`counts.apportion`); a language asked for more than it has is an error naming it.
- Without weights or temperature, every example of every source is used.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from xinstruct.data.schema import Example
from xinstruct.errors import DataError
from xinstruct.languages import Lang, language_key
from xinstruct.recipes.context import RecipeContext
from xinstruct.recipes.counts import apportion


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    sources: list[str] = Field(min_length=1, description="Sources whose examples are pooled by language.")
    n_examples: int | None = Field(None, ge=1, description="Budget; default: every example of every source.")
    weights: dict[Lang, float] | None = Field(None, description="Share per language, e.g. {en: 0.8, de: 0.2}.")
    temperature: float | None = Field(None, gt=0, description="p_l proportional to n_l^(1/T) over the languages.")

    @model_validator(mode="after")
    def _one_rule(self) -> Params:
        if self.weights is not None and self.temperature is not None:
            raise ValueError("give `weights` or `temperature`, not both")
        if self.weights is not None and (any(v < 0 for v in self.weights.values()) or sum(self.weights.values()) <= 0):
            raise ValueError("weights must be >= 0 with a positive sum")
        if (self.weights is not None or self.temperature is not None) and self.n_examples is None:
            raise ValueError("weights and temperature split a budget: give `n_examples` too")
        if self.n_examples is not None and self.weights is None and self.temperature is None:
            raise ValueError("n_examples needs `weights` or `temperature` (how to split it over the languages)")
        return self


def language_sizes(params: Params, ctx: RecipeContext) -> dict[str, int]:
    """Examples per language over the listed sources, in order of first appearance."""
    sizes: dict[str, int] = {}
    for name in params.sources:
        for ex in ctx.source(name):
            key = language_key(ex.lang)
            sizes[key] = sizes.get(key, 0) + 1
    return sizes


def shares(params: Params, sizes: dict[str, int]) -> dict[str, float]:
    if params.weights is not None:
        weights = {language_key(lang): w for lang, w in params.weights.items()}
        missing = sorted(lang for lang, w in weights.items() if w > 0 and lang not in sizes)
        if missing:
            raise DataError(f"recipe multilingual: weights name {missing}, which no source has; found {sorted(sizes)}")
        return {lang: weights.get(lang, 0.0) for lang in sizes}
    return {lang: n ** (1 / params.temperature) for lang, n in sizes.items()}


def build(params: Params, ctx: RecipeContext) -> list[Example]:
    if params.n_examples is None:
        return [ex for name in params.sources for ex in ctx.draw(name, None)]
    sizes = language_sizes(params, ctx)
    counts = apportion(params.n_examples, shares(params, sizes))
    out: list[Example] = []
    for lang, count in counts.items():
        if count > sizes[lang]:
            raise DataError(
                f"recipe multilingual: language {lang} has {sizes[lang]} examples in {params.sources}; "
                f"the split of n_examples={params.n_examples} asks for {count}"
            )
        for name in params.sources:  # the pool of `lang`: source by source, each in its seeded order
            available = sum(language_key(ex.lang) == lang for ex in ctx.source(name))
            take = min(count, available)
            if take:
                out += ctx.draw(name, take, language=lang)
                count -= take
    return out
