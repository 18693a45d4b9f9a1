"""The report's statistics against independent oracles: exact enumeration and scipy's bootstrap.

Why: `test_report.py` checks that intervals are seeded and that p-values are small or large where they
should be; an implementation with a subtly wrong statistic (one-sided, `>` for `>=`, pooled instead of
macro weights, a normal instead of a percentile interval, a 90% level) would still pass it. Here:

- the paired permutation test's sampled p-value is compared with the exact p-value over all 2^n sign
  flips (small n), within a binomial tolerance of `PERMUTATIONS` random sign vectors;
- the macro / multi-run weighting is compared with a hand-built enumeration that walks the nested
  structure (language -> run -> example) directly, not through the module's flat weights;
- `bootstrap_ci` and the paired difference interval are compared with `scipy.stats.bootstrap`
  (method='percentile', the same resample count), averaged over many seeds so that the Monte-Carlo
  tolerance is tight enough to tell a 95% percentile interval from a 90% or a normal one.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from xinstruct.report.stats import LEVEL, PERMUTATIONS, RESAMPLES, bootstrap_ci, paired_test

scipy_stats = pytest.importorskip("scipy.stats")  # the `dev` extra

README = Path(__file__).resolve().parents[2] / "README.md"
SEEDS = 100  # independent bootstrap runs averaged per comparison (see `_agree`)


def test_constants_are_the_readmes():
    """The README promises 2,000 resamples and 10,000 permutations at 95%: the module must use exactly those."""
    assert (RESAMPLES, PERMUTATIONS, LEVEL) == (2000, 10_000, 0.95)
    text = README.read_text(encoding="utf-8")
    assert f"{RESAMPLES:,} resamples" in text and f"{PERMUTATIONS:,} permutations" in text


# -- paired permutation test vs exact enumeration ------------------------------------------------------


def _all_signs(n: int) -> np.ndarray:
    """Every one of the 2^n sign vectors, one per row."""
    return np.array(list(itertools.product((-1.0, 1.0), repeat=n)))


def _binomial_tolerance(exact: float) -> float:
    """How far the sampled p may be from the exact one: the sampled count of extreme sign vectors is
    Binomial(PERMUTATIONS, exact), so (count + 1) / (PERMUTATIONS + 1) has standard deviation
    sqrt(exact (1 - exact) / PERMUTATIONS) and a +1 correction of at most 1 / (PERMUTATIONS + 1).
    Five standard deviations: a chance failure has probability < 1e-6 (and the seeds are fixed)."""
    return 5 * np.sqrt(exact * (1 - exact) / PERMUTATIONS) + 1 / (PERMUTATIONS + 1)


def _accuracy_pair(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-example 0/1 scores of two arms: differences in {-1, 0, 1}, with many exact ties of |statistic|."""
    rng = np.random.default_rng(n)
    return (rng.random(n) < 0.6).astype(float), (rng.random(n) < 0.35).astype(float)


def _f1_pair(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-example F1-like scores in [0, 1] (two decimals): almost no ties besides the observed statistic."""
    rng = np.random.default_rng(100 + n)
    return rng.beta(2, 1.5, n).round(2), rng.beta(1.5, 2, n).round(2)


@pytest.mark.parametrize("make", [_accuracy_pair, _f1_pair])
@pytest.mark.parametrize("n", range(10, 15))
def test_permutation_p_value_matches_exact_enumeration(make, n):
    """One language, one run: the exact two-sided p is the share of all 2^n sign flips whose mean
    difference is at least as far from 0 as the observed one (ties included)."""
    arm, baseline = make(n)
    d = arm - baseline
    permuted = _all_signs(n) @ d / n
    exact = float(np.mean(np.abs(permuted) >= abs(d.mean()) - 1e-12))
    result = paired_test([[(arm, baseline)]], "oracle", make.__name__, n)
    assert result.pairs == n and result.difference == pytest.approx(d.mean())
    assert abs(result.p_value - exact) <= _binomial_tolerance(exact), (exact, result.p_value)


def test_exact_oracle_can_tell_broken_statistics_apart():
    """The tolerance above is tight enough to matter: a one-sided test or a strict `>` gives exact p-values
    outside it for the data used there (otherwise the enumeration would not test anything)."""
    told_apart = 0
    for n in range(10, 15):
        d = np.subtract(*_accuracy_pair(n))
        permuted = _all_signs(n) @ d / n
        exact = np.mean(np.abs(permuted) >= abs(d.mean()) - 1e-12)
        one_sided = np.mean(permuted >= d.mean() - 1e-12)
        strict = np.mean(np.abs(permuted) > abs(d.mean()) + 1e-12)
        tolerance = _binomial_tolerance(exact)
        told_apart += abs(one_sided - exact) > tolerance and abs(strict - exact) > tolerance
    assert told_apart >= 4


def _macro_statistic(diffs: list[list[np.ndarray]], signs: np.ndarray) -> float:
    """The comparison's statistic written out by its definition, walking the structure: each run's mean of
    signed differences, each language's mean over its runs, the mean over languages."""
    k, languages = 0, []
    for language in diffs:
        runs = []
        for d in language:
            runs.append(float(np.mean(signs[k : k + len(d)] * d)))
            k += len(d)
        languages.append(float(np.mean(runs)))
    return float(np.mean(languages))


def _macro_groups() -> list[list[tuple[np.ndarray, np.ndarray]]]:
    """Two languages: the first with two runs of 2 and 6 examples (a real effect), the second one run of 4."""
    rng = np.random.default_rng(0)
    sizes = [[2, 6], [4]]
    return [
        [(rng.normal(0.3 * (li == 0), 1, n).round(2), rng.normal(0, 1, n).round(2)) for n in language]
        for li, language in enumerate(sizes)
    ]


def test_macro_and_multi_run_weighting_matches_a_hand_built_enumeration():
    """Runs of different sizes in languages with different numbers of runs: every example weighs
    1 / (languages x runs of its language x examples of its run). The exact p over all 2^12 sign flips
    of the hand-built statistic is what the sampled p must estimate; pooled weights (every example
    alike) and per-language pooling of runs give exact p-values far outside the tolerance."""
    groups = _macro_groups()
    diffs = [[a - b for a, b in language] for language in groups]
    n = sum(len(d) for language in diffs for d in language)
    signs = _all_signs(n)
    observed = _macro_statistic(diffs, np.ones(n))
    permuted = np.array([_macro_statistic(diffs, s) for s in signs])
    exact = float(np.mean(np.abs(permuted) >= abs(observed) - 1e-12))

    result = paired_test(groups, "oracle", "macro")
    assert result.pairs == n and result.difference == pytest.approx(observed)
    tolerance = _binomial_tolerance(exact)
    assert abs(result.p_value - exact) <= tolerance, (exact, result.p_value)

    flat = np.concatenate([d for language in diffs for d in language])  # the broken weightings, for power
    pooled = float(np.mean(np.abs(signs @ flat / n) >= abs(flat.mean()) - 1e-12))
    merged = [[np.concatenate(language)] for language in diffs]
    per_language = np.array([_macro_statistic(merged, s) for s in signs])
    by_language = float(np.mean(np.abs(per_language) >= abs(_macro_statistic(merged, np.ones(n))) - 1e-12))
    assert abs(pooled - exact) > 3 * tolerance and abs(by_language - exact) > 3 * tolerance


# -- bootstrap intervals vs scipy.stats.bootstrap ---------------------------------------------------------


def _agree(ours: np.ndarray, theirs: np.ndarray, scale: float) -> None:
    """Both are `SEEDS` independent (low, high) estimates of the same quantity: the expected percentile
    interval of `RESAMPLES` bootstrap means (same estimator, numpy's linear percentile, so even its O(1/B)
    bias is shared). Their averages differ by Monte-Carlo noise only, with standard error
    sqrt(var_ours + var_theirs) / sqrt(SEEDS) from the replicates' own spread; allowed: 5 standard errors
    (a chance failure < 1e-6). With 100 seeds that is about 0.03-0.06 bootstrap standard deviations
    (`scale`), while a 90% interval or a normal (mean +- 1.96 SE) interval of the skewed data below is
    0.2-0.4 away."""
    se = np.sqrt(ours.var(axis=0, ddof=1) + theirs.var(axis=0, ddof=1)) / np.sqrt(SEEDS)
    gap = np.abs(ours.mean(axis=0) - theirs.mean(axis=0))
    assert np.all(gap <= 5 * se), (ours.mean(axis=0), theirs.mean(axis=0), gap / scale, 5 * se / scale)
    assert np.all(5 * se < 0.1 * scale)  # tight: broken intervals are 0.2+ bootstrap SDs away


def _scipy_intervals(samples: tuple[np.ndarray, ...], statistic) -> np.ndarray:
    rows = []
    for seed in range(SEEDS):
        ci = scipy_stats.bootstrap(
            samples,
            statistic,
            n_resamples=RESAMPLES,
            method="percentile",
            confidence_level=LEVEL,
            vectorized=True,
            rng=np.random.default_rng(seed),
        ).confidence_interval
        rows.append((ci.low, ci.high))
    return np.array(rows)


def _skewed(n: int, seed: int) -> np.ndarray:
    """Right-skewed per-example values: the percentile interval is visibly asymmetric around the mean."""
    return np.random.default_rng(seed).gamma(0.7, 1.0, n)


def test_bootstrap_ci_matches_scipy_percentile_bootstrap():
    values = _skewed(25, 1)
    ours = np.array([bootstrap_ci([[values]], "oracle", seed)[1:] for seed in range(SEEDS)])
    theirs = _scipy_intervals((values,), lambda x, axis: x.mean(axis=axis))
    assert bootstrap_ci([[values]], "oracle", 0)[0] == pytest.approx(values.mean())
    _agree(ours, theirs, values.std() / np.sqrt(len(values)))


def test_macro_multi_run_bootstrap_matches_scipy_with_one_sample_per_run():
    """scipy resamples each of several samples independently within itself, as `bootstrap_ci` resamples
    each run of each language: the statistic is the mean over languages of the mean over runs."""
    groups = [[_skewed(20, 2), _skewed(12, 3)], [_skewed(30, 4)]]

    def statistic(first, second, third, axis):
        return (np.mean([first.mean(axis=axis), second.mean(axis=axis)], axis=0) + third.mean(axis=axis)) / 2

    ours = np.array([bootstrap_ci(groups, "oracle", "macro", seed)[1:] for seed in range(SEEDS)])
    theirs = _scipy_intervals((groups[0][0], groups[0][1], groups[1][0]), statistic)
    point = bootstrap_ci(groups, "oracle", "macro", 0)[0]
    assert point == pytest.approx(float(statistic(*(x[None] for x in (*groups[0], groups[1][0])), axis=1)[0]))
    variance = (groups[0][0].var() / 20 + groups[0][1].var() / 12) / 4 / 4 + groups[1][0].var() / 30 / 4
    _agree(ours, theirs, float(np.sqrt(variance)))


def test_paired_difference_interval_matches_scipy_on_the_differences():
    """The paired interval resamples example pairs: scipy's bootstrap of the per-example differences."""
    arm, baseline = _skewed(30, 5), _skewed(30, 6)
    d = arm - baseline
    ours = np.array([(c.low, c.high) for c in (paired_test([[(arm, baseline)]], "oracle", s) for s in range(SEEDS))])
    theirs = _scipy_intervals((d,), lambda x, axis: x.mean(axis=axis))
    _agree(ours, theirs, d.std() / np.sqrt(len(d)))
