"""Language fidelity: is an answer written in the language the question was asked in?

`detect` maps a text to a language tag (or None when it cannot tell). The lab passes its
lexicon detector; benchmark tasks use lingua, restricted to the evaluation languages plus
English (`lingua_fidelity`), which also reports code-switching: the share of answers whose
sentences are not all in one language.

`line_pass_rate` adds the field's standard measure beside it: the Language Confusion Benchmark's
line-level pass rate (LPR, Marchisio et al. 2024; `xinstruct.metrics.language_confusion`), fastText
lid.176 per line of 5+ tokens. It is computed wherever answers are generated (generative tasks, the
judge's answers), so the rubric's LLM-judged "language" has an automatic counterpart.
"""

from __future__ import annotations

import re
from collections.abc import Callable

_SENTENCE_END = re.compile(r"(?<=[.!?。！？\n])\s*")


def fidelity(answers: list[str], expected: str, detect: Callable[[str], str | None]) -> float:
    """Share of `answers` detected as language `expected` (an undetectable answer counts as wrong)."""
    if not answers:
        return float("nan")
    return sum(detect(a) == expected for a in answers) / len(answers)


def lingua_fidelity(answers: list[str], expected: str, candidates: tuple[str, ...]) -> tuple[dict, list[dict]]:
    """({"fidelity", "code_switching"}, per answer {"detected_lang", "fidelity", "code_switching"}) with lingua."""
    from xinstruct.data.langid import detect_language
    from xinstruct.languages import language_subtag

    base = language_subtag(expected)  # lingua answers ISO 639-1 codes: `zh-CN` is answered by `zh`
    pool = tuple(sorted({*candidates, "en", expected}))
    detected = [detect_language(a, pool) if a.strip() else None for a in answers]
    switched = []
    for answer in answers:
        sentences = [s for s in _SENTENCE_END.split(answer) if sum(c.isalpha() for c in s) >= 3]
        languages = {detect_language(s, pool) for s in sentences} - {None}
        switched.append(len(languages) > 1)
    n = len(answers) or 1
    metrics = {
        "fidelity": sum(d == base for d in detected) / n,
        "code_switching": sum(switched) / n,
    }
    per_answer = [
        {"detected_lang": d, "fidelity": float(d == base), "code_switching": float(x)}
        for d, x in zip(detected, switched, strict=True)
    ]
    return metrics, per_answer


def line_pass_rate(answers: list[str], expected: str, vacuous: bool = True) -> tuple[dict, list[dict]]:
    """({"lpr"}, per answer {"lpr": 1/0, or None when the benchmark skips it}) for answers expected in
    `expected`; ({}, [{}...]) when fastText's lid.176 has no such language (the lab's, say).

    As the benchmark: an answer without a line of 5+ tokens is skipped; LPR is the share of the rest whose
    every line is in the language, 1.0 when none is left (then every answer carries that 1.0, so the
    per-answer values always average to the reported one; `vacuous=False` leaves them None and reports nothing,
    for the judge's per-answer comparison)."""
    from xinstruct.languages import language_subtag
    from xinstruct.metrics.language_confusion import LID176_LANGUAGES, judge, summarize

    lang = language_subtag(expected)
    if lang not in LID176_LANGUAGES:
        return {}, [{} for _ in answers]
    judgements = [judge(answer, lang) for answer in answers]
    lpr = summarize(judgements, lang)["lpr"]
    passes = [j.line_pass for j in judgements]
    if all(p is None for p in passes):
        if not vacuous:
            return {}, [{} for _ in answers]
        passes = [lpr] * len(answers)
    return {"lpr": lpr}, [{"lpr": p} for p in passes]
