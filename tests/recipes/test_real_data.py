"""Every recipe built from the real data in ../shared/data, with exact counts.

Translations come from a stand-in backend that tags each text ("[de] ..."): counts and
structure are what these tests check, and the real backends are tested in tests/data.
"""

from __future__ import annotations

import pytest

from tests.conftest import SHARED_DATA
from tests.stubs import tag_translator
from xinstruct.config import SourceConfig
from xinstruct.data.sources import load_pairs, load_records, load_source
from xinstruct.errors import DataError
from xinstruct.recipes import RECIPES
from xinstruct.recipes.context import RecipeContext

pytestmark = pytest.mark.skipif(not SHARED_DATA.exists(), reason=f"shared data not found at {SHARED_DATA}")

SOURCES = {
    "alpaca": SourceConfig(path=str(SHARED_DATA / "alpaca/alpaca_data.json"), format="alpaca", skip_invalid=True),
    "alpaca_zh": SourceConfig(
        path=str(SHARED_DATA / "multilingual_alpaca/zh/alpaca_data-0-3252-zh.json"),
        format="alpaca",
        language="zh",
        skip_invalid=True,
    ),
    "ntrex": SourceConfig(path=str(SHARED_DATA / "ntrex/NTREX-128"), format="parallel", layout="per_language"),
    "kornli": SourceConfig(
        path=str(SHARED_DATA / "kor_nlu/KorNLI/xnli.dev.ko.tsv"), format="records", language="ko", task="nli"
    ),
    "korsts": SourceConfig(
        path=str(SHARED_DATA / "kor_nlu/KorSTS/sts-dev.tsv"), format="records", language="ko", task="sts"
    ),
    "copa_en": SourceConfig(
        path=str(SHARED_DATA / "xcopa/data-gmt/zh/val.zh.jsonl"), format="records", language="en", task="copa"
    ),
}
_CACHE: dict = {}


def _ctx(seed: int = 0) -> RecipeContext:
    def cached(kind, *key):
        if (kind, *key) not in _CACHE:
            name = key[0]
            loader = {
                "source": lambda: load_source(name, SOURCES[name]),
                "records": lambda: load_records(name, SOURCES[name]),
            }
            _CACHE[(kind, *key)] = loader[kind]() if kind != "pairs" else load_pairs(name, SOURCES[name], *key[1:])
        return _CACHE[(kind, *key)]

    return RecipeContext(
        seed=seed,
        sources=lambda name: cached("source", name),
        translator=tag_translator(),
        pairs=lambda name, src, tgt: cached("pairs", name, src, tgt),
        records=lambda name: cached("records", name),
    )


def _build(recipe: str, seed: int = 0, **params):
    ctx = _ctx(seed)
    out = RECIPES[recipe].build(RECIPES[recipe].Params(**params), ctx)
    return out, ctx


def _count(out, key):
    counts: dict = {}
    for ex in out:
        k = key(ex)
        counts[k] = counts.get(k, 0) + 1
    return counts


def test_monolingual_english_alpaca():
    out, _ = _build("monolingual", source="alpaca", n_examples=1000)
    assert len(out) == 1000 and len({ex.id for ex in out}) == 1000
    assert _count(out, lambda ex: ex.lang) == {"en": 1000}


def test_monolingual_chinese_alpaca_all():
    out, _ = _build("monolingual", source="alpaca_zh")
    assert len(out) == 3247 - 4 and {ex.lang for ex in out} == {"zh"}  # 4 records have an empty output


def test_pinch_the_papers_40_of_4640():
    out, ctx = _build("pinch", source="alpaca", n_examples=4640, n_translated=40, languages=["de", "zh", "ru", "sw"])
    assert _count(out, lambda ex: ex.lang) == {"en": 4600, "de": 10, "zh": 10, "ru": 10, "sw": 10}
    translated = [ex for ex in out if ex.lang == "de"]
    assert all(ex.prompt.startswith("[de] ") and ex.response.startswith("[de] ") for ex in translated)
    assert all(ex.translated_from and ex.id == f"{ex.translated_from}-de" for ex in translated)


def test_languages_sweep_fixed_budget():
    sizes = {}
    for j in (1, 2, 3, 4):
        out, _ = _build(
            "languages_sweep", source="alpaca", n_examples=1000, languages=["en", "es", "ru", "zh"], n_languages=j
        )
        sizes[j] = _count(out, lambda ex: ex.lang)
        assert len(out) == 1000
    assert sizes == {
        1: {"en": 1000},
        2: {"en": 500, "es": 500},
        3: {"en": 334, "es": 333, "ru": 333},
        4: {"en": 250, "es": 250, "ru": 250, "zh": 250},
    }


@pytest.mark.parametrize(
    ("direction", "pairs"),
    [
        ("en2x", {"en->de": 30, "en->zh-CN": 30}),
        ("x2en", {"de->en": 30, "zh-CN->en": 30}),
        ("both", {"en->de": 30, "de->en": 30, "en->zh-CN": 30, "zh-CN->en": 30}),
    ],
)
def test_translation_demos_from_ntrex(direction, pairs):
    out, _ = _build(
        "translation_demos",
        source="alpaca",
        n_examples=500,
        parallel="ntrex",
        languages=["de", "zh-CN"],
        direction=direction,
        n_per_language=30,
    )
    demos = [ex for ex in out if ex.task == "translation"]
    assert len(out) == 500 + sum(pairs.values())
    assert _count(demos, lambda ex: f"{ex.lang}->{ex.response_lang}") == pairs
    assert len({ex.id for ex in out}) == len(out)
    english = open(SHARED_DATA / "ntrex/NTREX-128/newstest2019-src.eng.txt", encoding="utf-8").read().splitlines()
    for ex in demos:
        request, text = ex.prompt.split("\n\n", 1)
        english_side = text if ex.lang == "en" else ex.response
        assert english_side in english
        assert request  # one of the phrasings, in English or the target language


def test_translation_demos_request_languages():
    out, _ = _build(
        "translation_demos", source="alpaca", n_examples=0, parallel="ntrex", languages=["de"],
        direction="en2x", n_per_language=40, request_language="target",
    )  # fmt: skip
    assert len(out) == 40
    assert all(
        ex.prompt.split("\n\n")[0]
        in ("Übersetze den folgenden Text auf Deutsch.", "Wie lautet dieser Text auf Deutsch?")
        for ex in out
    )


def test_translation_demos_needs_enough_pairs():
    with pytest.raises(DataError, match="1997 en-de pairs; 4000 are needed"):
        _build("translation_demos", source="alpaca", parallel="ntrex", languages=["de"], n_per_language=2000)


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("en2x", {"en->de": 50, "en->vi": 50}),
        ("x2en", {"de->en": 50, "vi->en": 50}),
        ("x2x", {"en->de": 17, "en->vi": 17, "de->en": 17, "de->vi": 17, "vi->en": 16, "vi->de": 16}),
    ],
)
def test_crossin_modes(mode, expected):
    out, ctx = _build("crossin", ctd="alpaca", n_examples=100, mode=mode, languages=["de", "vi"])
    assert len(out) == 100
    assert _count(out, lambda ex: f"{ex.lang}->{ex.response_lang}") == expected
    original = {ex.id: ex for ex in ctx.source("alpaca")}
    for ex in out:
        if ex.lang != "en":
            assert ex.prompt.startswith(f"[{ex.lang}] ")
        if ex.response_lang != "en":  # (a response that is all placeholder or symbols, "@7*%i1#", stays as it is;
            # a protected placeholder such as "<noinput>" stays in front of the translated text)
            assert (
                ex.response.removeprefix("<noinput> ").startswith(f"[{ex.response_lang}] ")
                or ex.response == original[ex.translated_from].response
            )
        assert ex.prompt.splitlines()[-1] in _respond_phrases(ex.lang, ex.response_lang)
    # one batched translator call per language (every turn of both sides together), not one per example:
    # per language pair, every backend batch but the last is full
    calls = ctx.translator.backend.calls
    for pair in {(src, tgt) for src, tgt, _ in calls}:
        sizes = [n for src, tgt, n in calls if (src, tgt) == pair]
        assert all(n == 64 for n in sizes[:-1]), (pair, sizes)
    assert len({(src, tgt) for src, tgt, _ in calls}) <= 2 * len(expected)


def _respond_phrases(lang: str, about: str) -> list[str]:
    from xinstruct.recipes import phrases

    return phrases.phrasings(phrases.RESPOND, lang, about)


def test_crossin_ctd_lud_mix_and_translation_pairs():
    SOURCES["alpaca_lud"] = SOURCES["alpaca"]  # a second name: the easy-to-translate share
    out, _ = _build("crossin", ctd="alpaca", lud="alpaca_lud", ctd_share=0.7, n_examples=200, mode="en2x",
                    languages=["de", "ko"], translation_pairs=20, output_request=False)  # fmt: skip
    assert len(out) == 220
    assert _count(out, lambda ex: ex.task) == {"ctd": 140, "lud": 60, "translation": 20}
    assert _count(out, lambda ex: ex.source) == {
        "alpaca": 140 + sum(ex.source == "alpaca" for ex in out if ex.task == "translation"),
        "alpaca_lud": 60 + sum(ex.source == "alpaca_lud" for ex in out if ex.task == "translation"),
    }
    pairs = [ex for ex in out if ex.task == "translation"]
    assert all(ex.lang == "en" and ex.response.startswith(f"[{ex.response_lang}] ") for ex in pairs)


def test_crossin_rejects_a_non_pivot_source():
    with pytest.raises(DataError, match="not in the pivot en"):
        _build("crossin", ctd="alpaca_zh", n_examples=10, mode="en2x", languages=["de"])


def test_templates_cross_lingual_korean_data_english_templates():
    out, ctx = _build("templates", sources=["kornli", "korsts"], n_examples=1000, template_languages={"en": 1.0})
    assert len(out) == 1000
    assert _count(out, lambda ex: ex.task) == {"nli": 500, "sts": 500}
    assert _count(out, lambda ex: f"{ex.lang}->{ex.response_lang}") == {"ko->en": 1000}
    nli = [ex for ex in out if ex.task == "nli"]
    assert {ex.response for ex in nli} == {"yes", "maybe", "no"}
    assert all(ex.prompt.startswith(("Premise: ", "{")) or "Question: does this mean" in ex.prompt for ex in nli)


def test_templates_bilingual_mix_and_held_out_cluster():
    out, ctx = _build(
        "templates", sources=["kornli", "korsts", "copa_en"], mix={"kornli": 0.7, "copa_en": 0.3},
        n_examples=100, template_languages={"ko": 0.5, "en": 0.5}, held_out=["sts"],
    )  # fmt: skip
    assert len(out) == 100
    assert _count(out, lambda ex: ex.task) == {"nli": 70, "copa": 30}
    assert _count(out, lambda ex: f"{ex.lang}->{ex.response_lang}") == {
        "ko->ko": 35, "ko->en": 35, "en->ko": 15, "en->en": 15,
    }  # fmt: skip
    assert ctx.notes == {"held_out_tasks": ["sts"], "tuned_tasks": ["copa", "nli"]}
    copa = [ex for ex in out if ex.task == "copa"]
    assert all(ex.response in ex.prompt for ex in copa)  # the answer is one of the two options


def test_templates_errors():
    with pytest.raises(DataError, match="no template for task 'nli' in language 'de'"):
        _build("templates", sources=["kornli"], n_examples=5, template_languages={"de": 1.0})
    with pytest.raises(DataError, match="every source's task is held out"):
        _build("templates", sources=["kornli"], held_out=["nli"])
    custom = {"nli": {"en": [{"prompt": "{premise_missing}", "response": "{gold_label}"}]}}
    with pytest.raises(DataError, match=r"xnli\.dev\.ko\.tsv:\d+: missing field 'premise_missing'"):
        _build("templates", sources=["kornli"], n_examples=5, template_languages={"en": 1.0}, templates=custom)
