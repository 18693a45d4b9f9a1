"""Corpus chrF and BLEU through sacrebleu, with the BLEU tokenizer chosen by target language (SPEC-metrics.md §5).

chrF is sacrebleu's `CHRF()` with its defaults (character 6-grams, beta 2, whitespace removed); the
corpus score comes from n-gram statistics summed over segments, not from the mean of sentence scores.
BLEU uses sacrebleu's own per-language choice: zh -> 'zh', ja -> 'ja-mecab', ko -> 'ko-mecab', else
'13a'. The MeCab tokenizers need optional packages (`pip install "sacrebleu[ja]"` / `"sacrebleu[ko]"`);
without them we fall back rather than fail, because an evaluation run should not die on a missing
extra, but the fallback is loud: a warning, and `fallback: True` plus the tokenizer actually used in
the result and in its signature, so the number is never mistaken for a MeCab-tokenized one:
- ja -> 'char' (Japanese has no spaces, so '13a' would treat whole sentences as single words);
- ko -> '13a' (Korean separates words with spaces; word-level BLEU is the usual pre-MeCab convention).
Every result carries sacrebleu's signature string; report it with the score.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from functools import cache

from sacrebleu.metrics import BLEU, CHRF

__all__ = ["FALLBACK_TOKENIZERS", "LANGUAGE_TOKENIZERS", "bleu", "bleu_tokenizer", "chrf"]

LANGUAGE_TOKENIZERS = {"zh": "zh", "ja": "ja-mecab", "ko": "ko-mecab"}
DEFAULT_TOKENIZER = "13a"
FALLBACK_TOKENIZERS = {"ja-mecab": "char", "ko-mecab": "13a"}


def _primary_subtag(lang: str) -> str:
    # "zh-Hans", "zh_CN", "ZH", "zho" -> "zh"
    from xinstruct.languages import language_subtag

    return language_subtag(lang.replace("_", "-").lower())


def _as_streams(hypotheses: Sequence[str], references: Sequence[str] | Sequence[Sequence[str]]) -> list[list[str]]:
    """sacrebleu's reference streams: a list of strings is one stream; a list of lists is several streams."""
    if isinstance(hypotheses, str):
        raise TypeError("hypotheses must be a list of strings, not a single string")
    if isinstance(references, str):
        raise TypeError("references must be a list of strings (or of reference streams), not a single string")
    if len(references) > 0 and all(isinstance(r, str) for r in references):
        streams = [list(references)]
    else:
        streams = [list(s) for s in references]
    if not streams:
        raise ValueError("no references")
    for s in streams:
        if isinstance(s, str) or len(s) != len(hypotheses):
            raise ValueError(f"each reference stream needs {len(hypotheses)} segments (one per hypothesis)")
    return streams


@cache
def _tokenizer_available(name: str) -> bool:
    try:
        BLEU(tokenize=name)
    except (ImportError, RuntimeError, OSError, AssertionError):
        return False
    return True


def bleu_tokenizer(target_lang: str | None = None, tokenize: str | None = None) -> tuple[str, str, bool]:
    """(tokenizer to use, tokenizer asked for, whether it is a fallback) for `target_lang`.

    An explicit `tokenize` is used as given (no fallback: if it cannot load, sacrebleu's error is raised).
    Otherwise the language's tokenizer (zh/ja/ko) or '13a'; 'ja-mecab'/'ko-mecab' fall back to
    `FALLBACK_TOKENIZERS` with a warning when their packages are not importable.
    """
    if tokenize is not None:
        if tokenize not in BLEU.TOKENIZERS:
            raise ValueError(f"unknown sacrebleu tokenizer {tokenize!r}; known: {', '.join(BLEU.TOKENIZERS)}")
        return tokenize, tokenize, False
    wanted = LANGUAGE_TOKENIZERS.get(_primary_subtag(target_lang), DEFAULT_TOKENIZER) if target_lang else "13a"
    if wanted in FALLBACK_TOKENIZERS and not _tokenizer_available(wanted):
        used = FALLBACK_TOKENIZERS[wanted]
        warnings.warn(
            f"sacrebleu tokenizer {wanted!r} for target language {target_lang!r} is not available "
            f'(pip install "sacrebleu[{_primary_subtag(target_lang)}]"); falling back to {used!r}. '
            "BLEU scores are not comparable with MeCab-tokenized ones.",
            stacklevel=3,
        )
        return used, wanted, True
    return wanted, wanted, False


def bleu(
    hypotheses: Sequence[str],
    references: Sequence[str] | Sequence[Sequence[str]],
    target_lang: str | None = None,
    tokenize: str | None = None,
    lowercase: bool = False,
) -> dict:
    """Corpus BLEU (sacrebleu defaults: 'exp' smoothing, 4-grams) with the tokenizer for `target_lang`.

    `references` is one reference per hypothesis (a list of strings) or several sacrebleu reference
    streams (a list of lists, each as long as `hypotheses`). Returns {"score" (0-100), "signature",
    "tokenizer" (used), "requested_tokenizer", "fallback", "precisions", "bp", "sys_len", "ref_len"}.
    """
    streams = _as_streams(hypotheses, references)
    used, requested, fallback = bleu_tokenizer(target_lang, tokenize)
    metric = BLEU(tokenize=used, lowercase=lowercase)
    result = metric.corpus_score(list(hypotheses), streams)
    return {
        "score": result.score,
        "signature": str(metric.get_signature()),
        "tokenizer": used,
        "requested_tokenizer": requested,
        "fallback": fallback,
        "precisions": list(result.precisions),
        "bp": result.bp,
        "sys_len": result.sys_len,
        "ref_len": result.ref_len,
    }


def chrf(
    hypotheses: Sequence[str],
    references: Sequence[str] | Sequence[Sequence[str]],
    char_order: int = 6,
    word_order: int = 0,
    beta: int = 2,
    lowercase: bool = False,
    whitespace: bool = False,
    eps_smoothing: bool = False,
) -> dict:
    """Corpus chrF (0-100) with sacrebleu's `CHRF()` defaults; `word_order=2` gives chrF++.

    Language-independent (no tokenizer). The corpus score is computed from statistics summed over
    segments, so it is not the mean of sentence chrF. `references` as in `bleu`; with several
    references a segment uses the one with the best sentence chrF. Returns {"score", "signature"}.
    """
    streams = _as_streams(hypotheses, references)
    metric = CHRF(
        char_order=char_order,
        word_order=word_order,
        beta=beta,
        lowercase=lowercase,
        whitespace=whitespace,
        eps_smoothing=eps_smoothing,
    )
    result = metric.corpus_score(list(hypotheses), streams)
    return {"score": result.score, "signature": str(metric.get_signature())}
