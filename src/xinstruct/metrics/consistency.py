"""SeaEval cross-lingual accuracy, Consistency_k and AC3_k (Wang et al., 2023), bit-exact with the reference.

Input is N questions parallel across L languages. `aligned[lang][i]` is the choice string picked in
language `lang` for question i, in the "(A) text" form. SeaEval picks it with an LLM judge and random
fall-backs, which is not reproducible; xinstruct feeds deterministic picks (log-likelihood argmax) into
the same formulas. Consistency ignores correctness and compares only the first 3 characters of each
pick (with "(A) " prefixes: the option letter). The headline number is k=3. See SPEC-metrics.md §3.

Sums use the builtin `sum` over a list in language / combination order, exactly as the reference does.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence

__all__ = ["HEADLINE_K", "ac3", "consistency_k", "seaeval_accuracy", "seaeval_scores"]

HEADLINE_K = 3
_PREFIX = 3  # characters compared by the reference ("(A)")


def _check_aligned(aligned: Mapping[str, Sequence[str]], min_languages: int) -> int:
    """Validate the language -> picks table; return N."""
    if len(aligned) < min_languages:
        raise ValueError(f"need at least {min_languages} language(s), got {len(aligned)}")
    lengths = {lang: len(picks) for lang, picks in aligned.items()}
    if len(set(lengths.values())) != 1:
        raise ValueError(f"every language needs the same number of questions, got {lengths}")
    n = next(iter(lengths.values()))
    if n == 0:
        raise ValueError("no questions (N = 0): the reference would divide by zero")
    for lang, picks in aligned.items():
        if isinstance(picks, str) or not all(isinstance(p, str) for p in picks):
            raise TypeError(f"aligned[{lang!r}] must be a list of choice strings")
    return n


def seaeval_accuracy(aligned: Mapping[str, Sequence[str]], answers: Mapping[str, Sequence[str]]) -> float:
    """Overall accuracy: the macro average over languages (in `aligned`'s key order) of per-language accuracy.

    acc_l = #{i: aligned[l][i] == answers[l][i]} / N (whole-string comparison); result = sum(acc_l) / L.
    """
    n = _check_aligned(aligned, 1)
    if set(answers) != set(aligned):
        raise ValueError(f"answers has languages {sorted(answers)}, aligned has {sorted(aligned)}")
    accs = []
    for lang, picks in aligned.items():
        gold = answers[lang]
        if len(gold) != n:
            raise ValueError(f"answers[{lang!r}] has {len(gold)} items, expected {n}")
        accs.append(sum(1 if p == g else 0 for p, g in zip(picks, gold, strict=True)) / n)
    return sum(accs) / len(accs)


def consistency_k(aligned: Mapping[str, Sequence[str]], k: int = HEADLINE_K) -> float:
    """Consistency_k: mean over all k-language subsets of the share of questions answered alike in all of them.

    Subsets come from `itertools.combinations` over the languages in `aligned`'s key order; "alike"
    means the first 3 characters of the picks are equal (the option letter for "(A) ..." choices, so
    choices without such a prefix can collide: "Paris"/"Parma"). Correctness plays no part.
    Requires L >= 2, N >= 1 and 2 <= k <= L (k = 1 is not defined by the reference).
    """
    n = _check_aligned(aligned, 2)
    languages = list(aligned)
    if isinstance(k, bool) or not isinstance(k, int) or not 2 <= k <= len(languages):
        raise ValueError(f"k must be an integer in [2, {len(languages)}] for {len(languages)} languages, got {k!r}")
    per_subset = []
    for subset in itertools.combinations(languages, k):
        agree = sum(1 if len({aligned[lang][i][0:_PREFIX] for lang in subset}) == 1 else 0 for i in range(n))
        per_subset.append(agree / n)
    return sum(per_subset) / len(per_subset)


def ac3(accuracy: float, consistency: float) -> float:
    """AC3: the harmonic mean of accuracy and consistency, with the reference's 1e-10 in the denominator.

    Evaluated as ((2 * C) * acc) / ((C + acc) + 1e-10); the epsilon changes the last digits
    (acc 0.75, C 1 -> 0.8571428570938775) and makes AC3 0 when both are 0. `accuracy` is the overall
    accuracy over all L languages even when C is taken over k-subsets.
    """
    for name, value in (("accuracy", accuracy), ("consistency", consistency)):
        if not 0.0 <= value <= 1.0:  # also rejects NaN
            raise ValueError(f"{name} must be in [0, 1], got {value!r}")
    return 2 * consistency * accuracy / (consistency + accuracy + 1e-10)


def seaeval_scores(aligned: Mapping[str, Sequence[str]], answers: Mapping[str, Sequence[str]]) -> dict[str, float]:
    """Every number the reference reports: overall accuracy, then consistency_k and AC3_k for k = 2..L.

    Keys: "accuracy", "consistency_{k}", "AC3_{k}". The headline pair is k = 3 (`HEADLINE_K`), present when L >= 3.
    """
    accuracy = seaeval_accuracy(aligned, answers)
    out: dict[str, float] = {"accuracy": accuracy}
    for k in range(2, len(aligned) + 1):
        c = consistency_k(aligned, k)
        out[f"consistency_{k}"] = c
        out[f"AC3_{k}"] = ac3(accuracy, c)
    return out
