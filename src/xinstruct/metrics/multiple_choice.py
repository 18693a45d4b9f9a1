"""lm-evaluation-harness multiple-choice metrics from per-choice log-likelihoods (SPEC-metrics.md §4).

Given ll_i = sum of the log-probabilities of choice i's continuation tokens, lm-eval scores
  acc       = [argmax_i ll_i == gold]
  acc_norm  = [argmax_i ll_i / len(choice_i) == gold]         (length in characters)
  acc_bytes = [argmax_i ll_i / len(choice_i in UTF-8) == gold]
with `np.argmax` (the first index wins ties). Lengths are those of the choice strings *without* the
target delimiter. Reproducing this exactly matters because ties and per-character normalisation are
where hand-rolled versions drift from published lm-eval numbers (XCOPA, XNLI, PAWS-X, Belebele).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["mc_metrics"]

_BAD_GOLD = -100  # lm-eval's marker for a gold outside the choices; it never equals a prediction


def _gold_index(gold: int | str, choices: Sequence[str]) -> int:
    if isinstance(gold, str):
        return choices.index(gold) if gold in choices else _BAD_GOLD
    if isinstance(gold, bool) or not isinstance(gold, int | np.integer):
        raise TypeError(f"gold must be an int, a str or a list of ints, got {type(gold).__name__}")
    return int(gold) if gold < len(choices) else _BAD_GOLD


def mc_metrics(loglikelihoods: Sequence[float], choices: Sequence[str], gold: int | str | list[int]) -> dict:
    """Score one multiple-choice document the way lm-eval's `process_results` does.

    `loglikelihoods[i]` is the summed log-probability of `choices[i]` (scored with its delimiter);
    `gold` is the index of the right choice, a list of indices (several right answers: the test is
    `pred in gold`) or the right choice string (mapped with `choices.index`). A gold outside the
    choices scores 0, as in lm-eval. An empty choice string divides by zero in acc_norm/acc_bytes,
    giving inf/nan exactly as numpy does in lm-eval (np.argmax then picks the first nan).

    Returns {"acc", "acc_norm", "acc_bytes"} as 0.0/1.0 floats (average them over documents), plus
    the argmax indices {"pred", "pred_norm", "pred_bytes"} and "gold" (the resolved index or list).
    """
    if len(loglikelihoods) != len(choices):
        raise ValueError(f"{len(loglikelihoods)} log-likelihoods for {len(choices)} choices")
    if len(choices) == 0:
        raise ValueError("no choices")
    if isinstance(choices, str):
        raise TypeError("choices must be a list of strings")
    lls = np.asarray(loglikelihoods, dtype=np.float64)
    char_len = np.array([float(len(c)) for c in choices])
    byte_len = np.array([float(len(c.encode("utf-8"))) for c in choices])
    with np.errstate(divide="ignore", invalid="ignore"):
        pred = int(np.argmax(lls))
        pred_norm = int(np.argmax(lls / char_len))
        pred_bytes = int(np.argmax(lls / byte_len))

    if isinstance(gold, list | tuple):
        golds = [_gold_index(g, choices) for g in gold]

        def hit(p: int) -> float:
            return 1.0 if p in golds else 0.0

        resolved: int | list[int] = golds
    else:
        g = _gold_index(gold, choices)

        def hit(p: int) -> float:
            return 1.0 if p == g else 0.0

        resolved = g
    return {
        "acc": hit(pred),
        "acc_norm": hit(pred_norm),
        "acc_bytes": hit(pred_bytes),
        "pred": pred,
        "pred_norm": pred_norm,
        "pred_bytes": pred_bytes,
        "gold": resolved,
    }
