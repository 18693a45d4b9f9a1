"""The log-likelihood fallback (one left-padded row per request) against the main shared-context path.

Why: models whose logits are not `lm_head(hidden)` (Gemma 2's soft-capping, Cohere's logit scale) or that
use other attention kernels never reach `_score_trees`; they go through the left-padded loop with
`logits_to_keep`, which the tiny Llama never exercises on its own. Forced here two ways (the engine's own
switch, and a config that declares soft-capping, which Llama ignores in its forward so the true scores
are unchanged), on a model whose scores differ from prompt to prompt, the two paths must agree: the same
log-likelihoods within 1e-4, the same is_greedy flags and the same chosen answer of every question.
"""

from __future__ import annotations

import pytest

from tests.evaluate.choice_cases import chosen, flatten, questions
from tests.varied_model import assert_varied
from xinstruct.evaluate import loglik
from xinstruct.evaluate.runner import load_model
from xinstruct.evaluate.tasks import TASKS
from xinstruct.evaluate.tasks.common import TaskContext


@pytest.fixture(scope="module")
def varied(varied_lab_model):
    return load_model(varied_lab_model)


def greedy_and_almost(model, tokenizer, model_dir) -> list[tuple[str, str]]:
    """Continuations whose is_greedy is known without the engine: the model's own two greedy tokens after a
    question (is_greedy true), and the same followed by a common word that is not the argmax there (false:
    one greedy token is not enough). Only those that survive `encode_pair`'s re-tokenisation are kept."""
    import torch

    from xinstruct.evaluate.loglik import encode_pair

    ctx = TaskContext(model_dir=model_dir)
    contexts = [row["question"] for lang in ("en", "qaa", "qab") for row in TASKS["lab_qa"].load(ctx, lang)]
    fillers = [tokenizer(word, add_special_tokens=False)["input_ids"][-1] for word in (" the", " a", " is", ".")]
    greedy, almost = [], []
    for context in contexts:
        ids = tokenizer(context)["input_ids"]
        with torch.inference_mode():
            logits = [model(input_ids=torch.tensor([ids])).logits[0, -1]]
            out = [int(logits[0].argmax())]
            logits.append(model(input_ids=torch.tensor([ids + out])).logits[0, -1])
            out.append(int(logits[1].argmax()))
            last = model(input_ids=torch.tensor([ids + out])).logits[0, -1]
        if encode_pair(tokenizer, context, tokenizer.decode(out)) != (ids, out):
            continue
        greedy.append((context, tokenizer.decode(out)))
        for filler in fillers:
            more = [*out, filler]
            if filler != int(last.argmax()) and encode_pair(tokenizer, context, tokenizer.decode(more)) == (ids, more):
                almost.append((context, tokenizer.decode(more)))
                break
    assert len(greedy) >= 3 and len(almost) >= 3, (len(greedy), len(almost))
    return greedy + almost


def count_tree_calls(monkeypatch) -> list[int]:
    calls: list[int] = []
    score_trees = loglik._score_trees

    def counted(*args, **kwargs):
        calls.append(1)
        return score_trees(*args, **kwargs)

    monkeypatch.setattr(loglik, "_score_trees", counted)
    return calls


def assert_same(main: list[tuple[float, bool]], fallback: list[tuple[float, bool]], qs) -> None:
    """Scores within 1e-4, identical is_greedy flags, the same chosen answer (first on ties) per question."""
    assert [ll for ll, _ in fallback] == pytest.approx([ll for ll, _ in main], abs=1e-4)
    assert [greedy for _, greedy in fallback] == [greedy for _, greedy in main]
    assert chosen(qs, fallback) == chosen(qs, main)


def test_fallback_rows_score_as_the_shared_context_rows(varied, varied_lab_model, monkeypatch):
    model, tokenizer = varied
    qs = questions(varied_lab_model, 10)
    requests = flatten(qs) + greedy_and_almost(model, tokenizer, varied_lab_model)
    calls = count_tree_calls(monkeypatch)
    main = loglik.loglikelihoods(model, tokenizer, requests, batch_size=4)
    assert calls, "the main path should score shared-context rows"
    assert_varied(chosen(qs, main), 1)  # different questions pick different choices
    assert_varied([round(ll, 3) for ll, _ in main], len(requests) // 2)
    assert {greedy for _, greedy in main} == {True, False}

    calls.clear()
    monkeypatch.setattr(loglik, "_can_share_contexts", lambda model: False)
    for batch_size in (1, 4, 64):  # no padding, some, every request in one batch
        fallback = loglik.loglikelihoods(model, tokenizer, requests, batch_size=batch_size)
        assert calls == []
        assert_same(main, fallback, qs)


def test_a_soft_capping_config_takes_the_fallback_with_the_same_scores(varied, varied_lab_model, monkeypatch):
    """`final_logit_softcapping` in the config makes `plain_head` false: the engine must not apply the head
    itself. Llama's forward ignores the field, so the correct scores are those of the main path."""
    model, tokenizer = varied
    qs = questions(varied_lab_model, 10)
    requests = flatten(qs) + greedy_and_almost(model, tokenizer, varied_lab_model)
    main = loglik.loglikelihoods(model, tokenizer, requests, batch_size=8)
    calls = count_tree_calls(monkeypatch)
    monkeypatch.setattr(model.config, "final_logit_softcapping", 30.0, raising=False)
    assert not loglik._can_share_contexts(model)
    fallback = loglik.loglikelihoods(model, tokenizer, requests, batch_size=8)
    assert calls == []
    assert_same(main, fallback, qs)
