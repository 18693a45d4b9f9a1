"""templates: task records wrapped in templates of another language; bilingual meta-datasets.

"Deep Exploration of Cross-Lingual Zero-Shot Generalization in Instruction Tuning" (Han et
al. 2024, KORANI): a Korean meta-dataset (KORANI) and an English one (P3) are tuned on alone or
together, with *cross-lingual templates* (a template in language A around data in language
B) so that training and evaluation formats agree; whole task clusters are held out of tuning
and evaluated zero-shot.

Construction, all seeded:
- Sources are `format: records` (raw rows such as KorNLI's sentence1/sentence2/gold_label),
  each with a task cluster (`task:`). Sources whose cluster is in `held_out` are left out;
  the held-out clusters are written to the manifest for the zero-shot evaluation.
- Without `n_examples`, every record of every tuned source is used. With it, the budget is split
  over the tuned sources by `mix` (shares, default equal) with the largest-remainder rule. Each
  source's records are the first of its one seeded ordering (`RecipeContext.draw_records`), so a
  Korean-template and an English-template arm wrap the same records. Each source's count is then
  split over `template_languages` (shares; default: the data's own language) the same way.
- Each example takes a seeded choice among its cluster's templates in its template language:
  the built-in ones below (nli, sts, copa in English and Korean) or `templates:` given in the
  experiment file, which replace the built-ins for that cluster and language.
- An example's language is the data's, its response language the template's (labels are
  verbalised in the template language), its task the cluster.
A template fills `{field}` from the record; `maps: {field: {value: text}}` first replaces a
field's value (e.g. gold_label entailment -> "yes"), and a mapped text may itself name fields
("{choice1}").
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from xinstruct.data.schema import Example, chat
from xinstruct.data.sources import TaskRecord
from xinstruct.errors import DataError
from xinstruct.languages import Lang
from xinstruct.recipes.context import RecipeContext
from xinstruct.recipes.counts import apportion


class Template(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    prompt: str = Field(description="Instruction with {field} slots.")
    response: str = Field(description="Response with {field} slots.")
    maps: dict[str, dict[str, str]] = Field({}, description="Per field: record value -> text (label words).")

    def render(self, record: TaskRecord) -> tuple[str, str]:
        fields = dict(record.fields)
        try:
            for name, mapping in self.maps.items():
                value = record.fields[name]
                if value not in mapping:
                    raise DataError(
                        f"{record.where}: field {name!r}: value {value!r} has no template mapping; "
                        f"expected one of {sorted(mapping)}"
                    )
                fields[name] = mapping[value].format(**record.fields)
            return self.prompt.format(**fields), self.response.format(**fields)
        except KeyError as e:
            raise DataError(
                f"{record.where}: missing field {e.args[0]!r} for a {record.task} template "
                f"(found fields: {sorted(record.fields)})"
            ) from None


def _t(prompt: str, response: str, **maps: dict[str, str]) -> Template:
    return Template(prompt=prompt, response=response, maps=maps)


_NLI_EN = {"entailment": "yes", "neutral": "maybe", "contradiction": "no"}
_NLI_KO = {"entailment": "예", "neutral": "아마도", "contradiction": "아니오"}
_COPA = {"0": "{choice1}", "1": "{choice2}"}

BUILTIN: dict[str, dict[str, list[Template]]] = {
    "nli": {
        "en": [
            _t(
                "Premise: {sentence1}\nHypothesis: {sentence2}\n"
                "Does the premise entail the hypothesis? Answer yes, maybe or no.",
                "{gold_label}",
                gold_label=_NLI_EN,
            ),
            _t('{sentence1}\nQuestion: does this mean that "{sentence2}"? yes, no or maybe?', "{gold_label}",
               gold_label=_NLI_EN),
        ],
        "ko": [
            _t(
                "전제: {sentence1}\n가설: {sentence2}\n"
                "전제가 가설을 함의합니까? 예, 아마도, 아니오 중 하나로 답하세요.",
                "{gold_label}",
                gold_label=_NLI_KO,
            ),
            _t('{sentence1}\n질문: 그렇다면 "{sentence2}"는 사실입니까? 예, 아니오, 아마도 중에서 고르세요.',
               "{gold_label}", gold_label=_NLI_KO),
        ],
    },
    "sts": {
        "en": [
            _t("Sentence 1: {sentence1}\nSentence 2: {sentence2}\n"
               "How similar are the two sentences in meaning, from 0 to 5?", "{score}"),
            _t('Rate the semantic similarity of "{sentence1}" and "{sentence2}" on a scale of 0 to 5.', "{score}"),
        ],
        "ko": [
            _t("문장 1: {sentence1}\n문장 2: {sentence2}\n두 문장의 의미가 얼마나 비슷한지 0에서 5 사이로 답하세요.",
               "{score}"),
            _t('"{sentence1}"와 "{sentence2}"의 의미 유사도를 0점에서 5점 사이로 평가하세요.', "{score}"),
        ],
    },
    "copa": {
        "en": [
            _t("{premise}\nWhat was the {question}?\nOption 1: {choice1}\nOption 2: {choice2}", "{label}",
               label=_COPA),
        ],
        "ko": [
            # the topic particle follows the noun's last syllable: 원인은 (final consonant), 결과는 (vowel)
            _t("{premise}\n{question} 무엇입니까?\n선택지 1: {choice1}\n선택지 2: {choice2}", "{label}",
               label=_COPA, question={"cause": "원인은", "effect": "결과는"}),
        ],
    },
}  # fmt: skip


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    sources: list[str] = Field(min_length=1, description="Records sources (format: records), one task cluster each.")
    n_examples: int | None = Field(None, ge=1, description="Budget; default: every record of the tuned sources.")
    mix: dict[str, float] | None = Field(None, description="Shares of the budget per source; default equal.")
    template_languages: dict[Lang, float] | None = Field(
        None, description="Shares of template languages, e.g. {en: 1.0} around Korean data; default: the data's."
    )
    held_out: list[str] = Field([], description="Task clusters kept out of tuning (zero-shot evaluation).")
    templates: dict[str, dict[Lang, list[Template]]] = Field(
        {}, description="Templates per cluster and language; replace the built-ins there."
    )

    @model_validator(mode="after")
    def _shares(self) -> Params:
        for what, shares in (("mix", self.mix), ("template_languages", self.template_languages)):
            if shares is not None and (any(v < 0 for v in shares.values()) or sum(shares.values()) <= 0):
                raise ValueError(f"{what}: shares must be >= 0 with a positive sum")
        unknown = set(self.mix or {}) - set(self.sources)
        if unknown:
            raise ValueError(f"mix names {sorted(unknown)}, which are not in `sources`")
        if self.mix is not None and self.n_examples is None:
            raise ValueError("mix splits a budget: give `n_examples` too (without it every record is used)")
        return self

    def templates_for(self, task: str, lang: str) -> list[Template]:
        found = self.templates.get(task, {}).get(lang) or BUILTIN.get(task, {}).get(lang)
        if not found:
            raise DataError(
                f"recipe templates: no template for task {task!r} in language {lang!r}; built-in: "
                f"{ {t: sorted(langs) for t, langs in BUILTIN.items()} }; add some under `templates:`"
            )
        return found


def build(params: Params, ctx: RecipeContext) -> list[Example]:
    rng = ctx.rng("templates")
    records = {name: ctx.records(name) for name in params.sources}
    tuned = [name for name in params.sources if records[name][0].task not in params.held_out]
    if not tuned:
        raise DataError(f"recipe templates: every source's task is held out ({params.held_out})")
    ctx.notes["held_out_tasks"] = sorted(params.held_out)
    ctx.notes["tuned_tasks"] = sorted({records[name][0].task for name in tuned})
    if params.n_examples is None:
        counts = {name: len(records[name]) for name in tuned}
    else:
        shares = {name: (params.mix or {}).get(name, 0 if params.mix else 1) for name in tuned}
        if sum(shares.values()) <= 0:
            raise DataError(
                f"recipe templates: mix gives no share to the tuned sources {tuned} "
                f"(it names only held-out ones: {sorted(params.mix or {})})"
            )
        counts = apportion(params.n_examples, shares)
    out = []
    for name in tuned:
        rows = records[name]
        if counts[name] > len(rows):
            raise DataError(f"recipe templates: source {name!r} has {len(rows)} records; {counts[name]} are needed")
        chosen = ctx.draw_records(name, counts[name])
        languages = apportion(len(chosen), params.template_languages or {rows[0].lang: 1.0})
        template_langs = [lang for lang, k in languages.items() for _ in range(k)]
        rng.shuffle(template_langs)
        for record, lang in zip(chosen, template_langs, strict=True):
            options = params.templates_for(record.task, lang)
            index = rng.randrange(len(options))
            prompt, response = options[index].render(record)
            out.append(
                Example(f"{record.id}-{lang}{index}", chat(prompt, response), name, record.lang, lang, record.task)
            )
    rng.shuffle(out)
    return out
