import re

import pytest

from tests.stubs import tag_translator
from xinstruct.data.schema import Example, chat
from xinstruct.errors import DataError
from xinstruct.recipes import RECIPES, monolingual, pinch
from xinstruct.recipes.context import RecipeContext
from xinstruct.recipes.counts import split_counts


def _pool(n: int) -> list[Example]:
    return [Example(f"ex{i}", chat(f"q{i}", f"a{i}"), "src", "en", "en") for i in range(n)]


def _ctx(pool: list[Example], seed: int = 0) -> RecipeContext:
    return RecipeContext(seed=seed, sources=lambda name: pool, translator=tag_translator())


def _counts(out):
    return {lang: sum(ex.lang == lang for ex in out) for lang in ["en", "de", "zh", "ru", "sw"]}


def test_the_papers_40_of_4640_spread_10_per_language():
    params = pinch.Params(source="s", n_examples=4640, n_translated=40, languages=["de", "zh", "ru", "sw"])
    out = pinch.build(params, _ctx(_pool(5000)))
    assert len(out) == 4640
    assert _counts(out) == {"en": 4600, "de": 10, "zh": 10, "ru": 10, "sw": 10}


def test_one_percent_share_is_rounded():
    # 1% of 4,000 = 40 -> 10 each; 1% of 4,640 = 46.4 -> 46 -> 12, 12, 11, 11 (remainder to the first)
    out = pinch.build(
        pinch.Params(source="s", n_examples=4000, share=0.01, languages=["de", "zh", "ru", "sw"]), _ctx(_pool(5000))
    )
    assert _counts(out) == {"en": 3960, "de": 10, "zh": 10, "ru": 10, "sw": 10}
    out = pinch.build(
        pinch.Params(source="s", n_examples=4640, share=0.01, languages=["de", "zh", "ru", "sw"]), _ctx(_pool(5000))
    )
    assert _counts(out) == {"en": 4594, "de": 12, "zh": 12, "ru": 11, "sw": 11}


def test_share_xor_count():
    with pytest.raises(ValueError, match="exactly one"):
        pinch.Params(source="s", languages=["de"])
    with pytest.raises(ValueError, match="exactly one"):
        pinch.Params(source="s", languages=["de"], share=0.1, n_translated=3)
    with pytest.raises(DataError, match="exceeds the budget"):
        pinch.build(pinch.Params(source="s", n_examples=5, n_translated=6, languages=["de"]), _ctx(_pool(9)))


@pytest.mark.parametrize(
    ("n", "langs", "expected"),
    [
        (40, ["a", "b", "c", "d"], [10, 10, 10, 10]),
        (10, ["a", "b", "c"], [4, 3, 3]),  # the remainder goes to the first languages, in order
        (2, ["a", "b", "c"], [1, 1, 0]),
        (0, ["a"], [0]),
    ],
)
def test_split_counts(n, langs, expected):
    assert list(split_counts(n, langs).values()) == expected


def test_rounding_is_pythons_round():
    # 0.5% of 100 = 0.5 -> 0 (half to even); 1.5% of 100 = 1.5 -> 2
    for share, expected in ((0.005, 0), (0.015, 2), (0.15, 15)):
        out = pinch.build(pinch.Params(source="s", n_examples=100, share=share, languages=["de"]), _ctx(_pool(100)))
        assert sum(ex.lang == "de" for ex in out) == expected


def test_translated_examples_replace_distinct_english_ones():
    out = pinch.build(pinch.Params(source="s", n_examples=200, share=0.2, languages=["de", "fr"]), _ctx(_pool(300)))
    origins = [ex.translated_from or ex.id for ex in out]
    assert len(set(origins)) == 200  # no source example both in English and translated


def test_same_seed_same_mixture_other_seed_other_mixture():
    params = pinch.Params(source="s", n_examples=100, share=0.1, languages=["de", "fr"])
    a = [ex.to_json() for ex in pinch.build(params, _ctx(_pool(300), seed=1))]
    b = [ex.to_json() for ex in pinch.build(params, _ctx(_pool(300), seed=1))]
    c = [ex.to_json() for ex in pinch.build(params, _ctx(_pool(300), seed=2))]
    assert a == b and a != c


def test_monolingual_sample_and_size_errors():
    out = monolingual.build(monolingual.Params(source="s", n_examples=30), _ctx(_pool(50)))
    assert len(out) == len({ex.id for ex in out}) == 30 and all(ex.lang == "en" for ex in out)
    assert len(monolingual.build(monolingual.Params(source="s"), _ctx(_pool(50)))) == 50
    with pytest.raises(DataError, match="has 50 examples"):
        monolingual.build(monolingual.Params(source="s", n_examples=51), _ctx(_pool(50)))


def test_recipes_are_listed_by_hand_and_name_their_paper():
    assert set(RECIPES) == {
        "monolingual",
        "multilingual",
        "pinch",
        "languages_sweep",
        "translation_demos",
        "crossin",
        "templates",
    }
    for module in RECIPES.values():
        assert callable(module.build) and issubclass(module.Params, object)
        assert re.search(r"20[12][0-9]", module.__doc__), module.__name__  # the paper's year is cited
