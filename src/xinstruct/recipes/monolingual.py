"""monolingual: N examples from one source, in its own language or translated into one language.

English-only tuning and zero-shot transfer (Chen et al. 2023, "Monolingual or Multilingual
Instruction Tuning: Which Makes a Better Alpaca?"; and "Zero-shot cross-lingual transfer in
instruction tuning of LLMs", Chirkova & Nikoulina 2024): tune on English only, evaluate in
every language. Data size is the parameter those papers vary: the N examples are the first N of
the source's one seeded ordering (`RecipeContext.draw`), so monolingual(800) lies inside
monolingual(3000).

With `language: L` the sample is translated into L where it is not in L already: the pinch
paper's partners "tuned monolingually in L" (Shaham et al. 2024), or x-Alpaca (Ranaldi et al.
2023), from the same English examples as every other arm.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from xinstruct.data.schema import Example
from xinstruct.languages import Lang, same_language
from xinstruct.recipes.context import RecipeContext


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str = Field(description="Name of the source in `data.sources`.")
    n_examples: int | None = Field(None, ge=1, description="How many examples; default: all of the source.")
    language: Lang | None = Field(None, description="Translate the sample into this language (default: keep).")


def build(params: Params, ctx: RecipeContext) -> list[Example]:
    """The first `n_examples` of the source's seeded ordering; translated into `language` where needed."""
    examples = ctx.draw(params.source, params.n_examples)
    if params.language is None:
        return examples
    return translate_into(examples, params.language, ctx)


def translate_into(examples: list[Example], lang: str, ctx: RecipeContext) -> list[Example]:
    """Examples not already in `lang` (instruction and response) translated into it; order kept."""
    todo = [
        i
        for i, ex in enumerate(examples)
        if not (same_language(ex.lang, lang) and same_language(ex.response_lang, lang))
    ]
    out = list(examples)
    for i, ex in zip(todo, ctx.translate([examples[i] for i in todo], lang), strict=True):
        out[i] = ex
    return out
