"""One sample per source: arms that draw from the same source take prefixes of one seeded ordering.

On the real Alpaca (translations from the tagging stand-in backend): english_only and pinch share
exactly N - n English examples and pinch translates english_only's own; data-size arms nest; every
other recipe follows the same rule. Plus composable arms, `monolingual.language`, the
`multilingual` recipe's weights and temperature, and the recipe bugs found by reading.
"""

from __future__ import annotations

import pytest

from tests.conftest import SHARED_DATA
from tests.recipes.test_real_data import _ctx
from tests.stubs import tag_translator
from xinstruct.config import parse_experiment
from xinstruct.data.schema import Example, chat
from xinstruct.errors import ConfigError, DataError
from xinstruct.recipes import RECIPES
from xinstruct.recipes.context import RecipeContext

needs_shared = pytest.mark.skipif(not SHARED_DATA.exists(), reason=f"shared data not found at {SHARED_DATA}")


def _build(recipe: str, ctx=None, **params):
    ctx = ctx or _ctx()
    return RECIPES[recipe].build(RECIPES[recipe].Params(**params), ctx), ctx


def _originals(examples: list[Example]) -> set[str]:
    """The source example each example comes from."""
    return {ex.translated_from or ex.id for ex in examples}


@needs_shared
def test_english_only_and_pinch_share_n_minus_n_english_examples_on_real_alpaca():
    n, n_translated = 3000, 40
    english_only, _ = _build("monolingual", source="alpaca", n_examples=n)
    pinch, _ = _build(
        "pinch", source="alpaca", n_examples=n, n_translated=n_translated, languages=["de", "zh", "ru", "sw"]
    )
    english = {ex.id for ex in pinch if ex.lang == "en"}
    assert len(english) == n - n_translated
    assert english <= {ex.id for ex in english_only}  # exactly N - n English examples in common
    assert len(english & {ex.id for ex in english_only}) == n - n_translated
    translated = [ex for ex in pinch if ex.translated_from is not None]
    assert len(translated) == n_translated
    assert {ex.translated_from for ex in translated} <= {ex.id for ex in english_only}  # english_only's own
    assert _originals(pinch) == {ex.id for ex in english_only}  # the very same N source examples
    assert {ex.lang for ex in translated} == {"de", "zh", "ru", "sw"}


@needs_shared
def test_data_size_arms_and_pinch_amounts_nest():
    small, _ = _build("monolingual", source="alpaca", n_examples=800)
    large, _ = _build("monolingual", source="alpaca", n_examples=3000)
    assert [ex.id for ex in small] == [ex.id for ex in large][:800]  # a prefix, in the same order
    one, _ = _build("pinch", source="alpaca", n_examples=3000, share=0.01, languages=["de", "zh"])
    five, _ = _build("pinch", source="alpaca", n_examples=3000, share=0.05, languages=["de", "zh"])
    assert {ex.translated_from for ex in one if ex.translated_from} < {
        ex.translated_from for ex in five if ex.translated_from
    }
    # another seed: another ordering
    other, _ = _build("monolingual", ctx=_ctx(seed=1), source="alpaca", n_examples=800)
    assert [ex.id for ex in other] != [ex.id for ex in small]


@needs_shared
def test_every_recipe_draws_the_same_prefix():
    mono, _ = _build("monolingual", source="alpaca", n_examples=300)
    ids = {ex.id for ex in mono}
    sweep1, _ = _build("languages_sweep", source="alpaca", n_examples=300, languages=["en", "de"], n_languages=1)
    sweep2, _ = _build("languages_sweep", source="alpaca", n_examples=300, languages=["en", "de"], n_languages=2)
    assert {ex.id for ex in sweep1} == ids and _originals(sweep2) == ids
    en2x, _ = _build("crossin", ctd="alpaca", n_examples=300, mode="en2x", languages=["de", "vi"])
    x2en, _ = _build("crossin", ctd="alpaca", n_examples=300, mode="x2en", languages=["de", "vi"])
    assert _originals(en2x) == _originals(x2en) == ids
    # each example gets the same x in both directions
    assert {(ex.translated_from, ex.response_lang) for ex in en2x} == {(ex.translated_from, ex.lang) for ex in x2en}
    demos, _ = _build(
        "translation_demos", source="alpaca", n_examples=300, parallel="ntrex", languages=["de"], n_per_language=5
    )
    assert {ex.id for ex in demos if ex.task != "translation"} == ids


@needs_shared
def test_demonstration_lines_nest_and_are_the_same_sentences_in_every_language():
    def lines(direction: str, n: int, languages=("de",)) -> dict[str, list[str]]:
        out, _ = _build(
            "translation_demos", source="alpaca", n_examples=0, parallel="ntrex", languages=list(languages),
            direction=direction, n_per_language=n, request_language="english",
        )  # fmt: skip
        by: dict[str, list[str]] = {}
        for ex in out:
            by.setdefault(f"{ex.lang}2{ex.response_lang}", []).append(ex.id.rsplit("-", 1)[0].rsplit("-", 1)[-1])
        return by

    en2x_10, en2x_20 = lines("en2x", 10), lines("en2x", 20)
    assert set(en2x_10["en2de"]) < set(en2x_20["en2de"])
    assert set(lines("x2en", 10)["de2en"]) == set(en2x_10["en2de"])  # the same sentences, the other way
    both = lines("both", 10)
    assert set(both["en2de"]) == set(en2x_10["en2de"]) and not set(both["en2de"]) & set(both["de2en"])
    two = lines("en2x", 10, ("de", "ko"))
    assert set(two["en2de"]) == set(two["en2ko"])  # one line order for every language of the corpus


@needs_shared
def test_templates_arms_wrap_the_same_records():
    ko, _ = _build("templates", sources=["kornli"], n_examples=100)
    en, _ = _build("templates", sources=["kornli"], n_examples=100, template_languages={"en": 1.0})
    strip = lambda out: {ex.id.rsplit("-", 1)[0] for ex in out}  # noqa: E731
    assert strip(ko) == strip(en)
    small, _ = _build("templates", sources=["kornli"], n_examples=40)
    assert strip(small) < strip(ko)


# -- the recipe bugs found by reading (each test failed before its fix) -----------------------------


@needs_shared
def test_templates_without_n_examples_uses_every_record_of_unequal_sources():
    out, _ = _build("templates", sources=["kornli", "korsts"])  # 2490 + 1500 records: used to need 1995 each
    assert len(out) == 2490 + 1500


@needs_shared
def test_templates_mix_naming_only_held_out_sources_is_a_clear_error():
    with pytest.raises(DataError, match="mix gives no share to the tuned sources"):  # was ZeroDivisionError
        _build("templates", sources=["kornli", "korsts"], n_examples=10, mix={"korsts": 1.0}, held_out=["sts"])
    with pytest.raises(ValueError, match="give `n_examples` too"):
        RECIPES["templates"].Params(sources=["kornli"], mix={"kornli": 1.0})


def test_korean_copa_template_uses_the_right_topic_particle():
    from xinstruct.data.sources import TaskRecord
    from xinstruct.recipes.templates import BUILTIN

    fields = {"premise": "p", "choice1": "a", "choice2": "b", "label": "0"}
    template = BUILTIN["copa"]["ko"][0]
    effect, _ = template.render(TaskRecord("r", {**fields, "question": "effect"}, "ko", "copa", "x"))
    cause, _ = template.render(TaskRecord("r", {**fields, "question": "cause"}, "ko", "copa", "x"))
    assert "결과는 무엇입니까?" in effect and "결과은" not in effect
    assert "원인은 무엇입니까?" in cause


def test_crossin_translates_earlier_turns_of_multi_turn_examples():
    turns = (
        {"role": "user", "content": "first question"},
        {"role": "assistant", "content": "first answer"},
        {"role": "user", "content": "second question"},
        {"role": "assistant", "content": "second answer"},
    )
    pool = [Example(f"mt{i}", turns, "s", "en", "en") for i in range(4)]
    ctx = RecipeContext(seed=0, sources=lambda name: pool, translator=tag_translator())
    out, _ = _build("crossin", ctx=ctx, ctd="s", n_examples=4, mode="x2en", languages=["de"], output_request=False)
    for ex in out:
        assert [m["content"] for m in ex.messages] == [
            "[de] first question", "first answer", "[de] second question", "second answer"
        ]  # fmt: skip
    out, _ = _build("crossin", ctx=ctx, ctd="s", n_examples=4, mode="en2x", languages=["de"], output_request=False)
    assert [m["content"] for m in out[0].messages] == [
        "first question", "[de] first answer", "second question", "[de] second answer"
    ]  # fmt: skip


# -- monolingual in L, multilingual weights and temperature ------------------------------------------


def _pool() -> list[Example]:
    sizes = {"en": 600, "de": 150, "zh": 50}
    return [
        Example(f"{lang}{i}", chat(f"q{i}", f"a{i}"), "s", lang, lang) for lang, n in sizes.items() for i in range(n)
    ]


def _mixed_ctx() -> RecipeContext:
    pool = _pool()
    by_lang = {lang: [ex for ex in pool if ex.lang == lang] for lang in ("en", "de", "zh")}
    sources = {"mixed": pool, **{f"only_{lang}": exs for lang, exs in by_lang.items()}}
    return RecipeContext(seed=0, sources=lambda name: sources[name], translator=tag_translator())


def test_monolingual_language_translates_the_same_sample():
    ctx = _mixed_ctx()
    english, _ = _build("monolingual", ctx=ctx, source="only_en", n_examples=20)
    german, _ = _build("monolingual", ctx=ctx, source="only_en", n_examples=20, language="de")
    assert [ex.translated_from for ex in german] == [ex.id for ex in english]
    assert all(ex.lang == ex.response_lang == "de" and ex.prompt.startswith("[de] ") for ex in german)
    kept, _ = _build("monolingual", ctx=ctx, source="only_de", n_examples=5, language="de")
    assert all(ex.translated_from is None for ex in kept)  # already in German: nothing to translate


def test_multilingual_weights_give_exact_largest_remainder_counts():
    out, ctx = _build("multilingual", ctx=_mixed_ctx(), sources=["mixed"], n_examples=101,
                      weights={"en": 0.8, "de": 0.1, "zh": 0.1})  # fmt: skip
    counts = {lang: sum(ex.lang == lang for ex in out) for lang in ("en", "de", "zh")}
    assert counts == {"en": 81, "de": 10, "zh": 10}  # 80.8, 10.1, 10.1 -> the largest remainder (en) takes 1
    assert ctx.drawn == {"mixed[en]": 81, "mixed[de]": 10, "mixed[zh]": 10}
    per_source, _ = _build("multilingual", ctx=_mixed_ctx(), sources=["only_en", "only_de", "only_zh"],
                           n_examples=101, weights={"en": 0.8, "de": 0.1, "zh": 0.1})  # fmt: skip
    assert {lang: sum(ex.lang == lang for ex in per_source) for lang in ("en", "de", "zh")} == counts


def test_multilingual_temperature():
    # n = 600, 150, 50; T = 2: p ~ sqrt(n) = 24.49, 12.25, 7.07 (sum 43.81) -> 100 * p = 55.9, 28.0, 16.1
    out, _ = _build("multilingual", ctx=_mixed_ctx(), sources=["mixed"], n_examples=100, temperature=2.0)
    assert {lang: sum(ex.lang == lang for ex in out) for lang in ("en", "de", "zh")} == {"en": 56, "de": 28, "zh": 16}
    # T = 1 keeps the natural proportions: 600/800, 150/800, 50/800 of 80
    out, _ = _build("multilingual", ctx=_mixed_ctx(), sources=["mixed"], n_examples=80, temperature=1.0)
    assert {lang: sum(ex.lang == lang for ex in out) for lang in ("en", "de", "zh")} == {"en": 60, "de": 15, "zh": 5}
    with pytest.raises(DataError, match="language zh has 50 examples"):
        _build("multilingual", ctx=_mixed_ctx(), sources=["mixed"], n_examples=500, weights={"en": 0.5, "zh": 0.5})
    with pytest.raises(DataError, match="weights name"):
        _build("multilingual", ctx=_mixed_ctx(), sources=["mixed"], n_examples=10, weights={"fr": 1.0})
    with pytest.raises(ValueError, match="not both"):
        RECIPES["multilingual"].Params(sources=["mixed"], n_examples=10, weights={"en": 1}, temperature=2)


# -- composable arms ---------------------------------------------------------------------------------

COMPOSITE = """
languages: [en, qaa, qab]
model: lab
data: {sources: {lab_en: {path: lab, format: lab}}}
arms:
  base_plus_pairs:
    parts:
      - {recipe: monolingual, source: lab_en, n_examples: 100}
      - {recipe: crossin, ctd: lab_en, n_examples: 40, mode: en2x, languages: [qaa, qab], output_request: false}
  short_form:
    - {recipe: monolingual, source: lab_en, n_examples: 50, name: base}
    - {recipe: monolingual, source: lab_en, n_examples: 20, language: qaa, name: in_qaa}
lab: {world: {n_people: 12}}
"""


def test_composite_arms_parse_and_name_their_parts():
    exp = parse_experiment(COMPOSITE)
    assert [name for name, _ in exp.arms["base_plus_pairs"].named_parts()] == ["monolingual", "crossin"]
    assert [name for name, _ in exp.arms["short_form"].named_parts()] == ["base", "in_qaa"]
    bad = [
        (
            "    - {recipe: monolingual, source: nowhere}",
            r"exp.yaml:\d+: field arms.short_form: arm 'short_form', "
            "part 'monolingual-1': unknown source 'nowhere'",
        ),
        ("    - {recipe: nosuch}", "unknown recipe 'nosuch'"),
    ]
    for line, message in bad:
        text = COMPOSITE.replace("    - {recipe: monolingual, source: lab_en, n_examples: 50, name: base}", line)
        with pytest.raises(ConfigError, match=message):
            parse_experiment(text, "exp.yaml")
    with pytest.raises(ConfigError, match=r"exp.yaml:\d+: .*either `recipe`"):
        parse_experiment(COMPOSITE.replace("    parts:\n", "    recipe: monolingual\n    parts:\n"), "exp.yaml")


def test_composite_arm_builds_the_union_with_counts_and_clash_errors(tmp_path):
    from xinstruct.data.mixture import build_examples, recipe_context

    exp = parse_experiment(COMPOSITE)
    ctx = recipe_context(exp, tmp_path)
    examples, per_part = build_examples(exp, "base_plus_pairs", ctx)
    assert per_part == {"monolingual": 100, "crossin": 40} and len(examples) == 140
    assert len({ex.id for ex in examples}) == 140
    crossed = {ex.translated_from for ex in examples if ex.translated_from}
    assert crossed <= {ex.id for ex in examples[:100]}  # the pairs come from the base's own first examples
    clash = COMPOSITE.replace("n_examples: 20, language: qaa, name: in_qaa", "n_examples: 20, name: again")
    exp = parse_experiment(clash)
    with pytest.raises(DataError, match="parts 'base' and 'again' both produce example"):
        build_examples(exp, "short_form", recipe_context(exp, tmp_path))
