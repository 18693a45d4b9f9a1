"""Extractive-QA exact match and F1, bit-exact with the official SQuAD v1.1 and MLQA scripts.

XQuAD is scored with the SQuAD v1.1 script for every language (the deepmind/xquad README says so),
MLQA with `mlqa_evaluation_v1.py`. The two differ only in normalisation: SQuAD deletes the 32 ASCII
punctuation characters and English articles, MLQA deletes every Unicode punctuation character (plus
the ASCII symbols), removes per-language articles and splits common CJK ideographs for Chinese.
See SPEC-metrics.md §1-§2; every order of operations below is the references', because the point of
these functions is to reproduce published numbers to the last bit.

Note: lm-eval's `xquad_*` (SQuAD v2 rules, first gold only, 0-1 scale) is a different metric and is
not what `squad_em_f1` computes.
"""

from __future__ import annotations

import re
import string
import sys
import unicodedata
import warnings
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from functools import cache

__all__ = [
    "MLQA_LANGUAGES",
    "mlqa_corpus",
    "mlqa_em_f1",
    "mlqa_normalize",
    "squad_corpus",
    "squad_em_f1",
    "squad_normalize",
]

# ---------------------------------------------------------------------------------------------------------------------
# SQuAD v1.1
# ---------------------------------------------------------------------------------------------------------------------

_ASCII_PUNCT = frozenset(string.punctuation)
# A Python 3 str pattern: `\b` is Unicode-aware, so "the2" has no boundary inside it and stays.
_EN_ARTICLES = re.compile(r"\b(a|an|the)\b")


def squad_normalize(text: str) -> str:
    """SQuAD v1.1 answer normalisation: lower, drop ASCII punctuation, drop a/an/the, collapse whitespace.

    Only `string.punctuation` is removed (“ ” « » 。 stay), and it is removed *before* articles, so
    "the-cat" becomes "thecat" and keeps its article.
    """
    text = text.lower()
    text = "".join(ch for ch in text if ch not in _ASCII_PUNCT)
    text = _EN_ARTICLES.sub(" ", text)
    return " ".join(text.split())


# ---------------------------------------------------------------------------------------------------------------------
# Shared EM / F1 (identical in both scripts)
# ---------------------------------------------------------------------------------------------------------------------


def _f1(prediction_tokens: list[str], gold_tokens: list[str]) -> float:
    # Multiset overlap; an overlap of 0 gives 0 even when both sides are empty (v1.1 rule, unlike SQuAD v2).
    common = Counter(prediction_tokens) & Counter(gold_tokens)
    num_same = sum(common.values())
    if num_same == 0:
        return 0
    precision = num_same / len(prediction_tokens)
    recall = num_same / len(gold_tokens)
    return (2 * precision * recall) / (precision + recall)


def _check_golds(golds: Sequence[str]) -> None:
    if isinstance(golds, str):
        raise TypeError("golds must be a list of answer strings, not a single string")
    if len(golds) == 0:
        # The reference calls max([]) and crashes: a question without answers is an input error, never a 0.
        raise ValueError("no gold answers: a question needs at least one gold answer")


def _em_f1(prediction: str, golds: Sequence[str], normalize: Callable[[str], str]) -> tuple[int | bool, float]:
    _check_golds(golds)
    pred_norm = normalize(prediction)
    pred_tokens = pred_norm.split()
    gold_norms = [normalize(g) for g in golds]
    # EM and F1 maxima are taken independently: they may come from different golds.
    em = max(pred_norm == g for g in gold_norms)
    f1 = max(_f1(pred_tokens, g.split()) for g in gold_norms)
    return em, f1


def _corpus(
    predictions: Mapping[str, str], golds: Mapping[str, Sequence[str]], normalize: Callable[[str], str]
) -> dict[str, float | int]:
    if len(golds) == 0:
        raise ValueError("no questions in golds: the corpus score would divide by zero")
    for qid, answers in golds.items():
        try:
            _check_golds(answers)
        except (TypeError, ValueError) as err:
            raise type(err)(f"question {qid!r}: {err}") from None
    exact_match = 0
    f1 = 0
    total = 0
    missing = 0
    for qid, answers in golds.items():  # the gold file's order
        total += 1
        if qid not in predictions:
            missing += 1  # counts in total, adds 0 to the sums
            continue
        em_q, f1_q = _em_f1(predictions[qid], answers, normalize)
        exact_match += em_q
        f1 += f1_q
    if missing:
        warnings.warn(f"{missing} of {total} questions have no prediction and score 0", stacklevel=3)
    return {
        # 100.0 * sum / total, multiplication first: 100.0 * (sum / total) can differ in the last bit.
        "exact_match": 100.0 * exact_match / total,
        "f1": 100.0 * f1 / total,
        "total": total,
        "missing": missing,
    }


def squad_em_f1(prediction: str, golds: list[str]) -> tuple[float, float]:
    """Per-question SQuAD v1.1 (and XQuAD) exact match (0 or 1) and F1 (0 to 1) of `prediction`.

    Both are maxima over `golds` (all answer texts, duplicates included), taken independently.
    Empty vs empty gives EM 1 and F1 0, as in the official script. Raises ValueError when `golds` is empty.
    """
    em, f1 = _em_f1(prediction, golds, squad_normalize)
    return float(em), float(f1)


def squad_corpus(predictions: Mapping[str, str], golds: Mapping[str, Sequence[str]]) -> dict[str, float | int]:
    """Corpus SQuAD v1.1 scores on the 0-100 scale, as `evaluate-v1.1.py` prints them.

    `golds` maps question id to its answer texts, in the gold file's order (articles, paragraphs, qas);
    its length is the denominator. A question without a prediction scores 0 but still counts (and a
    warning says how many); predictions for ids not in `golds` are ignored. Returns
    {"exact_match", "f1", "total", "missing"}, with score = 100.0 * sum / total.
    """
    return _corpus(predictions, golds, squad_normalize)


# ---------------------------------------------------------------------------------------------------------------------
# MLQA
# ---------------------------------------------------------------------------------------------------------------------

MLQA_LANGUAGES = ("en", "es", "de", "vi", "ar", "hi", "zh")
_WHITESPACE_LANGS = frozenset({"en", "es", "hi", "vi", "de", "ar"})
_ARABIC_VARIANTS = ("official", "lm_eval")

_MLQA_ARTICLES = {
    "en": re.compile(r"\b(a|an|the)\b"),
    "es": re.compile(r"\b(un|una|unos|unas|el|la|los|las)\b"),
    "de": re.compile(r"\b(ein|eine|einen|einem|eines|einer|der|die|das|den|dem|des)\b"),
    # Precomposed (NFC) forms only, as in the reference: NFD input is not matched.
    "vi": re.compile(r"\b(của|là|cái|chiếc|những)\b"),
}
# Official MLQA: the pattern's first alternative (`\sال^`) can never match, so every "ال", even inside a
# word, becomes a space ("مالك" -> "م ك"). lm-eval (>= 7507703d) removes it only at the start or after whitespace.
_AR_OFFICIAL = re.compile("ال")
_AR_LM_EVAL = re.compile(r"(?:^|\s)ال")
_CJK = re.compile("[\u4e00-\u9fa5]")


@cache
def _mlqa_punct() -> frozenset[str]:
    # Built under the running interpreter, like the reference: the set follows unicodedata's version.
    # range(sys.maxunicode) stops at U+10FFFE, exactly as the reference does.
    cats = (chr(i) for i in range(sys.maxunicode))
    return frozenset(ch for ch in cats if unicodedata.category(ch).startswith("P")) | _ASCII_PUNCT


def _mixed_segmentation(text: str, punct: frozenset[str]) -> list[str]:
    # Each common CJK ideograph (U+4E00..U+9FA5) or punctuation character is a token of its own; everything
    # else is buffered and split on whitespace.
    tokens: list[str] = []
    buffer = ""
    for ch in text:
        if _CJK.search(ch) or ch in punct:
            if buffer != "":
                tokens.extend(buffer.split())
                buffer = ""
            tokens.append(ch)
        else:
            buffer += ch
    if buffer != "":
        tokens.extend(buffer.split())
    return tokens


def _check_lang(lang: str, arabic: str) -> None:
    if lang not in MLQA_LANGUAGES:
        raise ValueError(f"Unknown Language {lang!r}: MLQA defines {', '.join(MLQA_LANGUAGES)}")
    if arabic not in _ARABIC_VARIANTS:
        raise ValueError(f"arabic must be one of {_ARABIC_VARIANTS}, got {arabic!r}")


def mlqa_normalize(text: str, lang: str, arabic: str = "official") -> str:
    """MLQA answer normalisation for answer language `lang`.

    lower -> delete all Unicode P* characters and ASCII punctuation/symbols -> remove the language's
    articles (each match becomes a space) -> tokenize (whitespace, or mixed segmentation for zh) -> join.
    `arabic="lm_eval"` uses lm-eval's prefix-only Arabic article rule instead of the official one.
    """
    _check_lang(lang, arabic)
    punct = _mlqa_punct()
    text = text.lower()
    text = "".join(ch for ch in text if ch not in punct)
    if lang == "ar":
        text = (_AR_OFFICIAL if arabic == "official" else _AR_LM_EVAL).sub(" ", text)
    elif lang in _MLQA_ARTICLES:
        text = _MLQA_ARTICLES[lang].sub(" ", text)
    tokens = text.split() if lang in _WHITESPACE_LANGS else _mixed_segmentation(text, punct)
    return " ".join(t for t in tokens if t.strip() != "")


def mlqa_em_f1(prediction: str, golds: list[str], lang: str, arabic: str = "official") -> tuple[float, float]:
    """Per-question MLQA exact match (0 or 1) and F1 (0 to 1), `lang` being the answer/context language.

    Same max-over-golds and empty rules as `squad_em_f1`; only the normalisation differs
    (see `mlqa_normalize`). `arabic="lm_eval"` reproduces lm-eval's `mlqa_*_ar` normalisation, which
    differs from the official script; lm-eval also strips the generation, which is the caller's job.
    """
    _check_lang(lang, arabic)
    em, f1 = _em_f1(prediction, golds, lambda s: mlqa_normalize(s, lang, arabic))
    return float(em), float(f1)


def mlqa_corpus(
    predictions: Mapping[str, str], golds: Mapping[str, Sequence[str]], lang: str, arabic: str = "official"
) -> dict[str, float | int]:
    """Corpus MLQA scores on the 0-100 scale, as `mlqa_evaluation_v1.py` prints them.

    Aggregation is identical to `squad_corpus` (gold order, missing predictions score 0 but count,
    100.0 * sum / total); `lang` is the answer/context language (the script's third argument).
    """
    _check_lang(lang, arabic)
    return _corpus(predictions, golds, lambda s: mlqa_normalize(s, lang, arabic))
