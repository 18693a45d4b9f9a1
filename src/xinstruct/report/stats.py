"""Uncertainty over examples: bootstrap confidence intervals and a paired test between two arms.

Everything is seeded from the cell's own name, so a report is byte-identical however often and in
whatever order it is rebuilt. With several seeds (runs), an arm's value is the mean over runs and
each bootstrap replicate resamples the examples of every run and averages the runs; a macro
average over languages resamples within each language and averages the languages.

- `bootstrap_ci`: percentile 95% interval of the mean (B = 2000 resamples of the examples).
- `paired_test`: two arms on the same examples (pairs by run, language and example id). The
  difference's 95% interval is a paired bootstrap; the p-value is a two-sided paired permutation
  (sign-flip) test with 10,000 random sign assignments, p = (#{|permuted| >= |observed|} + 1) /
  (10,000 + 1), so it is never 0.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

RESAMPLES = 2000
PERMUTATIONS = 10_000
LEVEL = 0.95


def rng_for(*key: object) -> np.random.Generator:
    digest = hashlib.sha256("\0".join(map(str, key)).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def _boot_means(values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return values[rng.integers(0, len(values), (RESAMPLES, len(values)))].mean(axis=1)


def _interval(replicates: np.ndarray) -> tuple[float, float]:
    tail = 100 * (1 - LEVEL) / 2
    low, high = np.percentile(replicates, [tail, 100 - tail])
    return float(low), float(high)


def bootstrap_ci(groups: list[list[np.ndarray]], *key: object) -> tuple[float, float, float]:
    """(mean, low, high) of a macro average: `groups[language][run]` holds per-example values.

    Each language's value is the mean over runs of the run's example mean; the result is the mean
    over languages. One language and one run is a plain mean over examples.
    """
    rng = rng_for("ci", *key)
    point = float(np.mean([np.mean([runs.mean() for runs in language]) for language in groups]))
    replicates = np.mean([np.mean([_boot_means(run, rng) for run in language], axis=0) for language in groups], axis=0)
    low, high = _interval(replicates)
    return point, low, high


@dataclass(frozen=True)
class Comparison:
    difference: float  # arm minus baseline (macro over languages, mean over runs)
    low: float
    high: float
    p_value: float
    pairs: int  # example pairs compared


def paired_test(groups: list[list[tuple[np.ndarray, np.ndarray]]], *key: object) -> Comparison:
    """Arm vs baseline on the same examples: `groups[language][run]` = (arm values, baseline values)."""
    rng = rng_for("paired", *key)
    diffs = [[a - b for a, b in language] for language in groups]
    point = float(np.mean([np.mean([d.mean() for d in language]) for language in diffs]))
    replicates = np.mean([np.mean([_boot_means(d, rng) for d in language], axis=0) for language in diffs], axis=0)
    low, high = _interval(replicates)
    # sign flips: every example's difference keeps or flips its sign; the statistic is the same macro mean
    weights = [1 / (len(diffs) * len(language) * len(d)) for language in diffs for d in language]
    flat = np.concatenate([d * w for d, w in zip((d for lang in diffs for d in lang), weights, strict=True)])
    permuted = np.empty(PERMUTATIONS)
    block = max(1, 2_000_000 // len(flat))  # sign matrices of at most 2M entries: bounded memory
    for start in range(0, PERMUTATIONS, block):
        signs = rng.integers(0, 2, (min(block, PERMUTATIONS - start), len(flat))).astype(np.float64) * 2 - 1
        permuted[start : start + len(signs)] = signs @ flat
    extreme = int(np.sum(np.abs(permuted) >= abs(point) - 1e-12))
    return Comparison(point, low, high, (extreme + 1) / (PERMUTATIONS + 1), len(flat))
