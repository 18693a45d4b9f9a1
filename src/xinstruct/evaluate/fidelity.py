"""Language fidelity: is an answer written in the language the question was asked in?

`detect` maps a text to a language tag (or None when it cannot tell). The lab passes its
lexicon detector; real tasks will pass lingua's detector (issue 6).
"""

from __future__ import annotations

from collections.abc import Callable


def fidelity(answers: list[str], expected: str, detect: Callable[[str], str | None]) -> float:
    """Share of `answers` detected as language `expected` (an undetectable answer counts as wrong)."""
    if not answers:
        return float("nan")
    return sum(detect(a) == expected for a in answers) / len(answers)
