"""translation_demos: instruction data plus translation-following demonstrations (CrossAlpaca).

"Empowering Cross-lingual Abilities of Instruction-tuned Large Language Models by
Translation-following demonstrations" (Ranaldi, Pucci & Freitas 2023): add to the instruction
data pairs from a parallel corpus phrased as "translate this into L", in the direction en->x,
x->en or both; direction and quantity both matter.

Construction, all seeded:
- `n_examples` instruction examples: the first of `source`'s one seeded ordering (all of it by
  default), the same examples as every other arm drawing that source.
- For each language x, the demonstration lines are the first lines of the parallel source's one
  seeded line order (`RecipeContext.draw_pairs`, the same order for every language): en2x and
  x2en arms of one size use the same sentences in opposite directions, `both` uses the first
  `n_per_language` lines for pivot->x and the next ones for x->pivot (disjoint), and a smaller
  quantity's lines lie inside a larger one's.
- Each demonstration is "<request>\\n\\n<sentence>" -> "<translation>", where the request is
  one of several phrasings (recipes/phrases.py) in English (`request_language: english`), in the
  language of the translation (`target`), or either at random (`both`).
- Demonstrations get task `translation`, language = the sentence's, response language = the
  translation's; the whole mixture is shuffled.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from xinstruct.data.schema import Example, chat
from xinstruct.errors import DataError
from xinstruct.languages import Lang
from xinstruct.recipes.context import RecipeContext
from xinstruct.recipes.phrases import TRANSLATE


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str = Field(description="Instruction source in `data.sources`.")
    n_examples: int | None = Field(None, ge=0, description="Instruction examples; default: all of the source.")
    parallel: str = Field(description="Parallel source (format: parallel) the demonstrations come from.")
    languages: list[Lang] = Field(min_length=1, description="The languages x paired with the pivot.")
    pivot: Lang = Field("en", description="The other side of every pair (English in the paper).")
    direction: Literal["en2x", "x2en", "both"] = Field("both", description="pivot->x, x->pivot, or both.")
    n_per_language: int = Field(ge=1, description="Demonstrations per language and direction.")
    request_language: Literal["english", "target", "both"] = Field(
        "both", description="Language of the translate request: English, the translation's language, or either."
    )


def build(params: Params, ctx: RecipeContext) -> list[Example]:
    rng = ctx.rng("translation_demos")
    examples = ctx.draw(params.source, params.n_examples) if params.n_examples != 0 else []
    directions = {"en2x": ["out"], "x2en": ["in"], "both": ["out", "in"]}[params.direction]
    for lang in params.languages:
        needed = params.n_per_language * len(directions)
        try:
            chosen = ctx.draw_pairs(params.parallel, params.pivot, lang, needed)
        except DataError as e:
            raise DataError(f"recipe translation_demos: {e} ({params.n_per_language} per direction)") from None
        for d, direction in enumerate(directions):
            for pair in chosen[d * params.n_per_language : (d + 1) * params.n_per_language]:
                src, tgt = (pair.source_lang, pair.target_lang) if direction == "out" else (lang, params.pivot)
                text, translation = (pair.source, pair.target) if direction == "out" else (pair.target, pair.source)
                request_lang = {"english": "en", "target": tgt, "both": rng.choice(["en", tgt])}[
                    params.request_language
                ]
                request = rng.choice(ctx.phrasings(TRANSLATE, request_lang, tgt))
                examples.append(
                    Example(
                        id=f"{pair.id}-{src}2{tgt}",
                        messages=chat(f"{request}\n\n{text}", translation),
                        source=params.parallel,
                        lang=src,
                        response_lang=tgt,
                        task="translation",
                    )
                )
    rng.shuffle(examples)
    return examples
