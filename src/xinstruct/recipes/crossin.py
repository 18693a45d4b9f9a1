"""crossin: cross-lingual instruction pairs, instruction in one language, response in another.

"CrossIn: An Efficient Instruction Tuning Approach for Cross-Lingual Knowledge Alignment with
Multilingual Data" (Lin et al. 2024): mix a complex-task dataset (CTD) with an
easy-to-translate, linguistically uniform one (LUD), translate instruction and response into
different languages, and ask explicitly for the output language. Modes:
- `en2x`: English instruction, response in x;
- `x2en`: instruction in x, English response;
- `x2x`: instruction and response in two different languages drawn from pivot + languages.
Optionally, translation pairs built from the same instructions ("translate this instruction
into L") are added, as in the paper's CrossIn+Trans variant.

Construction, all seeded:
- round(ctd_share * n_examples) examples from `ctd`, the rest from `lud` (both in the pivot),
  each the first examples of its source's one seeded ordering (`RecipeContext.draw`), so the
  en2x, x2en and x2x arms, and a base part drawing the same source, use the same examples.
- Language pairs are dealt round-robin over the drawn examples in that order: each x (or each
  ordered pair of distinct languages for x2x) gets n // k examples, the first n % k one more;
  an en2x and an x2en arm of the same size give each example the same x.
- Every user turn is translated into the instruction language and every assistant turn into the
  response language (earlier turns of multi-turn examples too; one batched, cached translator
  call per language), and with
  `output_request: true` a phrasing such as "Please answer in German." in the instruction's
  language is appended (`request_language: english`: in English whatever the instruction's language,
  for languages without phrasings that the translator cannot render, such as the lab's).
- `translation_pairs` of those examples (the first ones drawn) also yield "<request>\\n\\n<instruction in
  src>" -> "<instruction in tgt>" with task `translation`.
"""

from __future__ import annotations

import itertools
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from xinstruct.data.schema import Example, chat
from xinstruct.errors import DataError
from xinstruct.languages import Lang, same_language
from xinstruct.recipes.context import RecipeContext
from xinstruct.recipes.phrases import RESPOND, TRANSLATE


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    ctd: str = Field(description="Complex-task source (in the pivot language).")
    lud: str | None = Field(None, description="Easy-to-translate source (in the pivot language).")
    ctd_share: float = Field(
        1.0, ge=0, le=1, description="Share of the examples drawn from `ctd`; the rest from `lud`."
    )
    n_examples: int = Field(ge=1, description="Cross-lingual examples in total.")
    mode: Literal["en2x", "x2en", "x2x"] = Field(description="Which side is in the pivot language.")
    languages: list[Lang] = Field(min_length=1, description="The languages x.")
    pivot: Lang = Field("en", description="The sources' language (English in the paper).")
    output_request: bool = Field(True, description="Append an explicit request for the response language.")
    request_language: Literal["instruction", "english"] = Field(
        "instruction", description="The request's language: the instruction's, or English (the lab twin's)."
    )
    translation_pairs: int = Field(0, ge=0, description="Instruction translation examples added (CrossIn+Trans).")

    @model_validator(mode="after")
    def _lud_needed(self) -> Params:
        if self.ctd_share < 1 and self.lud is None:
            raise ValueError("ctd_share < 1 needs an `lud` source for the rest")
        if self.pivot in self.languages:
            raise ValueError(f"languages must not include the pivot {self.pivot!r}")
        return self

    def language_pairs(self) -> list[tuple[str, str]]:
        if self.mode == "en2x":
            return [(self.pivot, x) for x in self.languages]
        if self.mode == "x2en":
            return [(x, self.pivot) for x in self.languages]
        return list(itertools.permutations([self.pivot, *self.languages], 2))


def build(params: Params, ctx: RecipeContext) -> list[Example]:
    rng = ctx.rng("crossin")
    n_ctd = round(params.ctd_share * params.n_examples)
    chosen = [(ex, "ctd") for ex in ctx.draw(params.ctd, n_ctd)]
    if params.n_examples - n_ctd:
        chosen += [(ex, "lud") for ex in ctx.draw(params.lud, params.n_examples - n_ctd)]
    for ex, _ in chosen:
        if not (same_language(ex.lang, params.pivot) and same_language(ex.response_lang, params.pivot)):
            raise DataError(
                f"recipe crossin: example {ex.id} of source {ex.source!r} is not in the pivot {params.pivot}"
            )
    pairs = params.language_pairs()
    assigned = [(ex, role, *pairs[i % len(pairs)]) for i, (ex, role) in enumerate(chosen)]

    # every turn: user turns into the instruction language, assistant turns into the response language
    items = [
        (m["content"], src if m["role"] != "assistant" else tgt) for ex, _, src, tgt in assigned for m in ex.messages
    ]
    texts = iter(_translated(ctx, items, params.pivot))
    out = []
    for ex, role, src, tgt in assigned:
        messages = [{**m, "content": next(texts)} for m in ex.messages]
        if params.output_request:
            prompt = messages[-2]["content"]
            phrase_lang = src if params.request_language == "instruction" else "en"
            messages[-2]["content"] = f"{prompt}\n\n{rng.choice(ctx.phrasings(RESPOND, phrase_lang, tgt))}"
        out.append(Example(f"{ex.id}-{src}2{tgt}", tuple(messages), ex.source, src, tgt, ex.task or role, ex.id))

    if params.translation_pairs > len(assigned):
        raise DataError(f"recipe crossin: translation_pairs={params.translation_pairs} exceeds n_examples")
    picked = range(params.translation_pairs)  # the first drawn examples: 100 pairs lie inside 200
    sources = _translated(ctx, [(assigned[i][0].prompt, assigned[i][2]) for i in picked], params.pivot)
    targets = _translated(ctx, [(assigned[i][0].prompt, assigned[i][3]) for i in picked], params.pivot)
    for i, text, translation in zip(picked, sources, targets, strict=True):
        ex, _, src, tgt = assigned[i]
        request = rng.choice(ctx.phrasings(TRANSLATE, src, tgt))
        messages = chat(f"{request}\n\n{text}", translation)
        out.append(Example(f"{ex.id}-instr-{src}2{tgt}", messages, ex.source, src, tgt, "translation", ex.id))
    rng.shuffle(out)
    return out


def _translated(ctx: RecipeContext, items: list[tuple[str, str]], pivot: str) -> list[str]:
    """Translate each (text, language) from the pivot, one batched call per language, order kept."""
    out: list[str | None] = [None] * len(items)
    for lang in sorted({lang for _, lang in items}):
        positions = [i for i, (_, item_lang) in enumerate(items) if item_lang == lang]
        for i, text in zip(positions, ctx.translate_texts([items[i][0] for i in positions], pivot, lang), strict=True):
            out[i] = text
    return out
