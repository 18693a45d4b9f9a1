"""Language fidelity: is an answer written in the language the question was asked in?

`detect` maps a text to a language tag (or None when it cannot tell). The lab passes its
lexicon detector; benchmark tasks use lingua, restricted to the evaluation languages plus
English (`lingua_fidelity`), which also reports code-switching: the share of answers whose
sentences are not all in one language.
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
    import langcodes

    from xinstruct.data.langid import detect_language

    base = langcodes.Language.get(expected).language
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
