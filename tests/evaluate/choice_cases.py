"""Multiple-choice cases that exercise log-likelihood scoring, shared by the engine-equality tests."""

from __future__ import annotations

from xinstruct.evaluate.tasks import TASKS
from xinstruct.evaluate.tasks.common import TaskContext


def questions(model_dir, n_rows: int) -> list[tuple[str, list[str]]]:
    """Lab questions of varied lengths whose choices are other rows' answers (several sharing their
    beginnings), an empty context and a context with trailing whitespace (which moves into the
    continuation): the cases of `loglik.encode_pair`."""
    rows = TASKS["lab_qa"].load(TaskContext(model_dir=model_dir), "en")[:n_rows]
    answers = [" " + row["answer"] for row in rows]
    out = [(row["messages"][-1]["content"], answers[i % 3 : i % 3 + 4]) for i, row in enumerate(rows)]
    out.append(("", [" the city of bob is rome.", " the pet of bob is a dog.", " hello"]))
    out.append((rows[0]["question"] + " ", ["a", "the", "the city"]))
    return out


def flatten(qs: list[tuple[str, list[str]]]) -> list[tuple[str, str]]:
    """One (context, continuation) request per choice, in order."""
    return [(context, choice) for context, choices in qs for choice in choices]


def chosen(qs: list[tuple[str, list[str]]], scores: list[tuple[float, bool]]) -> list[int]:
    """The index of each question's highest-scoring choice (first on ties, as lm-eval)."""
    picks, start = [], 0
    for _, choices in qs:
        lls = [ll for ll, _ in scores[start : start + len(choices)]]
        picks.append(lls.index(max(lls)))
        start += len(choices)
    return picks
