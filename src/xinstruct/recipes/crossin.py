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
- round(ctd_share * n_examples) examples from `ctd`, the rest from `lud` (both in the pivot).
- Language pairs are dealt round-robin over the shuffled examples: each x (or each ordered
  pair of distinct languages for x2x) gets n // k examples, the first n % k one more.
- The instruction is translated into the instruction language, the response into the
  response language (one batched, cached translator call per language), and with
  `output_request: true` a phrasing such as "Please answer in German." in the instruction's
  language is appended.
- `translation_pairs` of those examples (seeded) also yield "<request>\\n\\n<instruction in
  src>" -> "<instruction in tgt>" with task `translation`.
"""

from __future__ import annotations

import itertools
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from xinstruct.config import Lang
from xinstruct.data.schema import Example, chat
from xinstruct.errors import DataError
from xinstruct.recipes.context import RecipeContext
from xinstruct.recipes.monolingual import sample
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
    chosen = [(ex, "ctd") for ex in sample(ctx.source(params.ctd), n_ctd, rng, params.ctd)]
    if params.n_examples - n_ctd:
        chosen += [(ex, "lud") for ex in sample(ctx.source(params.lud), params.n_examples - n_ctd, rng, params.lud)]
    for ex, _ in chosen:
        if ex.lang != params.pivot or ex.response_lang != params.pivot:
            raise DataError(
                f"recipe crossin: example {ex.id} of source {ex.source!r} is not in the pivot {params.pivot}"
            )
    rng.shuffle(chosen)
    pairs = params.language_pairs()
    assigned = [(ex, role, *pairs[i % len(pairs)]) for i, (ex, role) in enumerate(chosen)]

    prompts = _translated(ctx, [(ex.prompt, src) for ex, _, src, _ in assigned], params.pivot)
    responses = _translated(ctx, [(ex.response, tgt) for ex, _, _, tgt in assigned], params.pivot)
    out = []
    for (ex, role, src, tgt), prompt, response in zip(assigned, prompts, responses, strict=True):
        if params.output_request:
            prompt = f"{prompt}\n\n{rng.choice(ctx.phrasings(RESPOND, src, tgt))}"
        messages = (*ex.messages[:-2], {"role": "user", "content": prompt}, {"role": "assistant", "content": response})
        out.append(Example(f"{ex.id}-{src}2{tgt}", messages, ex.source, src, tgt, ex.task or role, ex.id))

    if params.translation_pairs > len(assigned):
        raise DataError(f"recipe crossin: translation_pairs={params.translation_pairs} exceeds n_examples")
    picked = sorted(rng.sample(range(len(assigned)), params.translation_pairs))
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
