"""languages_sweep: the same budget spread evenly over the first 1, 2, ..., k languages.

"Multilingual Instruction Tuning With Just a Pinch of Multilinguality" (Shaham et al. 2024),
section "How many languages?": with the number of examples fixed, tune on English only, then
on English plus one, two, ... languages with the budget split evenly among them, and watch
cross-lingual instruction following in languages outside the tuning set.

One arm in the experiment file without `n_languages` becomes k arms, `<arm>-1` .. `<arm>-k`
(see `expand_arms`), arm j tuning on `languages[:j]`. Within an arm: N examples are sampled
from the source (in `languages[0]`), dealt to the j languages with `split_counts` (earlier
languages take the remainder) over a seeded permutation, and all but the source language's
share are translated; the order is shuffled.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from xinstruct.data.schema import Example
from xinstruct.errors import DataError
from xinstruct.languages import Lang
from xinstruct.recipes.context import RecipeContext
from xinstruct.recipes.counts import split_counts


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str = Field(description="Source in `data.sources`, in languages[0].")
    n_examples: int | None = Field(None, ge=1, description="The fixed budget N; default: all of the source.")
    languages: list[Lang] = Field(min_length=1, description="Languages in the order they are added; [0] = source's.")
    n_languages: int | None = Field(None, ge=1, description="This arm's j; leave out to get one arm per j = 1..k.")

    @model_validator(mode="after")
    def _j(self) -> Params:
        if self.n_languages is not None and self.n_languages > len(self.languages):
            raise ValueError(f"n_languages={self.n_languages} exceeds the {len(self.languages)} languages")
        if len(set(self.languages)) != len(self.languages):
            raise ValueError("languages must be distinct")
        return self


def expand_arms(arms: dict[str, Any]) -> dict[str, Any]:
    """Replace each languages_sweep arm without n_languages by its arms `<name>-1` .. `<name>-k`."""
    out: dict[str, Any] = {}
    for name, arm in arms.items():
        if isinstance(arm, dict) and arm.get("recipe") == "languages_sweep" and arm.get("n_languages") is None:
            languages = arm.get("languages")
            if isinstance(languages, list) and languages:
                for j in range(1, len(languages) + 1):
                    out[f"{name}-{j}"] = {**arm, "n_languages": j}
                continue
        out[name] = arm
    return out


def build(params: Params, ctx: RecipeContext) -> list[Example]:
    if params.n_languages is None:
        raise DataError("recipe languages_sweep: n_languages is not set (the experiment expands it into arms)")
    rng = ctx.rng("languages_sweep")
    examples = ctx.draw(params.source, params.n_examples)
    languages = params.languages[: params.n_languages]
    start = 0
    out: list[Example] = []
    for lang, count in split_counts(len(examples), languages).items():
        share = examples[start : start + count]
        start += count
        out += share if lang == params.languages[0] else ctx.translate(share, lang)
    rng.shuffle(out)
    return out
