"""MGSM answer extraction and exact match as lm-evaluation-harness defines them (SPEC-metrics.md §4).

lm-eval scores an MGSM generation through a filter pipeline, then `exact_match` with
ignore_case and ignore_punctuation against `str(answer_number)`:
- "flexible-extract" (direct prompts): the *last* match of `(-?[$0-9.,]{2,})|(-?[0-9]+)`, its first
  non-empty group, stripped; "[invalid]" when nothing matches.
- "remove_whitespace" (direct prompts): the whole generation, stripped.
- "strict-match" (CoT prompts): group 1 of the *first* match of `The answer is (\\-?[0-9\\.\\,]+)`,
  or a localised pattern (e.g. "Die Antwort lautet (\\-?[0-9\\.\\,]+)"), passed as `pattern`.
Exact match lowercases both sides and deletes ASCII punctuation from both, so "1,000." == "1000",
"$18" == "18" and also "-5" == "5" (a known leniency of the reference, kept for comparability).
"""

from __future__ import annotations

import re
import string

__all__ = ["FLEXIBLE_PATTERN", "INVALID", "STRICT_PATTERN", "mgsm_exact_match", "mgsm_extract"]

INVALID = "[invalid]"
FLEXIBLE_PATTERN = r"(-?[$0-9.,]{2,})|(-?[0-9]+)"
STRICT_PATTERN = r"The answer is (\-?[0-9\.\,]+)"
_MODES = ("flexible-extract", "strict-match", "remove_whitespace")
_DELETE_PUNCT = str.maketrans("", "", string.punctuation)


def mgsm_extract(generation: str, mode: str = "flexible-extract", pattern: str | None = None) -> str:
    """The answer string lm-eval's MGSM filter `mode` extracts from `generation`.

    `pattern` overrides the regex of "flexible-extract" or "strict-match" (use it for the localised
    CoT phrases). Returns "[invalid]" when the regex finds nothing. The result can be empty after
    punctuation deletion (flexible-extract may pick "..." or ",,"), which then never matches.
    """
    if mode not in _MODES:
        raise ValueError(f"mode must be one of {_MODES}, got {mode!r}")
    if mode == "remove_whitespace":
        if pattern is not None:
            raise ValueError("remove_whitespace takes no pattern")
        return generation.strip()
    if pattern is None:
        pattern = FLEXIBLE_PATTERN if mode == "flexible-extract" else STRICT_PATTERN
    matches = re.findall(pattern, generation)
    if not matches:
        return INVALID
    match = matches[-1] if mode == "flexible-extract" else matches[0]
    if isinstance(match, tuple):  # several groups: the first non-empty one
        non_empty = [m for m in match if m]
        if not non_empty:
            return INVALID
        match = non_empty[0]
    return match.strip()


def mgsm_exact_match(extracted: str, answer: str | int) -> float:
    """1.0 when `extracted` equals `str(answer)` after lowercasing and deleting ASCII punctuation on both sides.

    This is lm-eval's `exact_match` with ignore_case=True, ignore_punctuation=True (case first, then
    punctuation), as configured for every MGSM task; average it over documents for the 0-1 score.
    """
    if isinstance(answer, bool) or not isinstance(answer, str | int):
        raise TypeError(f"answer must be a str or an int, got {type(answer).__name__}")
    pred = extracted.lower().translate(_DELETE_PUNCT)
    ref = str(answer).lower().translate(_DELETE_PUNCT)
    return 1.0 if pred == ref else 0.0
