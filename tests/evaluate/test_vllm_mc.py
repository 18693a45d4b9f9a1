"""Multiple choice through vLLM's prompt logprobs, against the HF engine.

Why: with `engine: vllm` (or `auto` on a GPU with vLLM) log-likelihood tasks are scored by vLLM, as
lm-evaluation-harness's vLLM backend does: context + continuation as one prompt with `prompt_logprobs=1`,
the continuation positions' logprobs summed, greedy when each is the top-ranked token. There is no vLLM or
GPU here, so a stand-in `vllm` module answers prompt logprobs computed by the tiny HF model in fp32, one
prompt at a time. What is checked is xinstruct's side: the same request construction as the HF engine
(`loglik.encode_pair`: the token ids vLLM receives are exactly context + continuation), the parsing of vLLM's
`Logprob` dictionaries (and the plain floats of old vLLM), truncation to vLLM's `max_model_len`, the request
cache (vLLM's answers under their own engine key), and that predictions equal the HF engine's.

Tolerance: both sides compute in fp32 here, and differ only by summation order and batching (the HF engine
scores shared-context rows in batches): |log-likelihood difference| <= 1e-4, the same is_greedy flags and
the same chosen answer for every question. On a GPU vLLM runs in bf16 (eval.dtype auto) against whatever the
HF engine ran in: between bf16 vLLM and an fp32 HF run expect differences of order 0.01-0.1 nats per request
(bf16 keeps ~3 significant digits of each logit) and, on near ties, a different choice for a small share of
questions (accuracy within a few tenths of a point on benchmarks of thousands of questions); between bf16 vLLM
and bf16 HF differences are smaller but not zero (other kernels). Hence vLLM's answers are cached apart.
"""

from __future__ import annotations

import json

import pytest

from tests.evaluate.choice_cases import chosen, flatten, questions
from tests.evaluate.fake_vllm import Logprob, install_fake_vllm
from tests.evaluate.test_data_parallel_eval import PASSAGES, write_belebele
from tests.varied_model import assert_varied
from xinstruct.evaluate import loglik, runner
from xinstruct.evaluate.cache import FILENAME, Lazy, RequestCache
from xinstruct.evaluate.device import Placement
from xinstruct.evaluate.tasks.common import TaskContext
from xinstruct.evaluate.vllm_engine import VLLMEngine, parse_prompt_logprobs

TOLERANCE = 1e-4  # fp32 on both sides; see the module docstring for a GPU's bf16


@pytest.fixture(scope="module")
def hf(varied_lab_model):
    return runner.load_model(varied_lab_model, placement=Placement("cpu", "fp32"))


def test_vllm_prompt_logprobs_score_as_the_hf_engine(hf, varied_lab_model, monkeypatch):
    model, tokenizer = hf
    qs = questions(varied_lab_model, 8)
    requests = flatten(qs)
    expected = loglik.loglikelihoods(model, tokenizer, requests, batch_size=4)
    assert_varied(chosen(qs, expected), 1)

    calls: list = []
    install_fake_vllm(monkeypatch, varied_lab_model, calls)
    engine = Lazy(lambda: VLLMEngine(varied_lab_model, dtype="fp32"), is_vllm=True)
    got = loglik.loglikelihoods(engine, tokenizer, requests, batch_size=4)
    assert [ll for ll, _ in got] == pytest.approx([ll for ll, _ in expected], abs=TOLERANCE)
    assert [greedy for _, greedy in got] == [greedy for _, greedy in expected]
    assert chosen(qs, got) == chosen(qs, expected)

    (init,) = [c for c in calls if c[0] == "init"]
    assert init[1]["dtype"] == "float32" and not init[1]["trust_remote_code"]
    (call,) = [c for c in calls if c[0] == "generate"]  # one call for fewer than VLLM_CHUNK requests
    assert call[2] == {"temperature": 0.0, "max_tokens": 1, "prompt_logprobs": 1, "detokenize": False}
    sent = sorted(p["prompt_token_ids"] for p in call[1])
    assert sent == sorted(ctx + cont for ctx, cont in (loglik.encode_pair(tokenizer, *r) for r in requests))


def test_prompts_longer_than_vllms_window_keep_their_last_tokens(hf, varied_lab_model, monkeypatch):
    model, tokenizer = hf
    calls: list = []
    install_fake_vllm(monkeypatch, varied_lab_model, calls, max_model_len=10)
    engine = VLLMEngine(varied_lab_model)
    long = tokenizer(" ".join(["the city of bob is rome."] * 6))["input_ids"]
    cont = tokenizer(" a dog", add_special_tokens=False)["input_ids"]
    ((ll, _),) = engine.loglikelihood_ids([(long, cont)])
    (call,) = [c for c in calls if c[0] == "generate"]
    assert [p["prompt_token_ids"] for p in call[1]] == [(long + cont)[-10:]]
    # the same as scoring the window directly: its first 10 - len(cont) tokens are the context
    window = (long + cont)[-10:]
    ((direct, _),) = engine.loglikelihood_ids([(window[: -len(cont)], cont)])
    assert ll == direct


def test_parsing_follows_lm_evals_parse_logprobs():
    tokens = [1, 5, 7, 9]
    logprobs = [None, {5: Logprob(-0.5, 1)}, {7: Logprob(-2.0, 2), 3: Logprob(-1.0, 1)}, {9: -0.25}]  # old: floats
    assert parse_prompt_logprobs(tokens, logprobs, 2) == (-2.25, False)  # 7 was not the top token
    assert parse_prompt_logprobs(tokens, logprobs, 3) == (-0.25, True)
    assert parse_prompt_logprobs(tokens, logprobs, 4) == (0.0, True)  # an empty continuation


def test_evaluate_with_engine_vllm_scores_multiple_choice_through_vllm(varied_lab_model, tmp_path, monkeypatch):
    data = write_belebele(tmp_path / "data")
    ctx = TaskContext(model_dir=varied_lab_model, data_dir=str(data))
    loads: list = []
    load = runner.load_model
    monkeypatch.setattr(runner, "load_model", lambda *args, **kwargs: loads.append(1) or load(*args, **kwargs))

    def run(name: str, engine: str, placement: Placement) -> list[dict]:
        out = tmp_path / name
        out.mkdir()
        runner.evaluate("arm", varied_lab_model, ctx, ["belebele"], ["en"], 4, 4, out, tmp_path / "cache", engine,
                        placement)  # fmt: skip
        return [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]

    hf_rows = run("hf", "hf", Placement("cpu", "fp32"))
    assert loads == [1] and len(hf_rows) == len(PASSAGES)
    calls: list = []
    install_fake_vllm(monkeypatch, varied_lab_model, calls)
    gpu = Placement("cuda", "fp32")  # the stand-in computes in fp32
    vllm_rows = run("vllm", "vllm", gpu)
    assert loads == [1] and [c[0] for c in calls] == ["init", "generate"]  # no HF model: vLLM scored it all
    assert [r["prediction"] for r in vllm_rows] == [r["prediction"] for r in hf_rows]
    assert_varied([tuple(r["loglikelihoods"]) for r in vllm_rows], len(PASSAGES) - 1)
    for mine, theirs in zip(vllm_rows, hf_rows, strict=True):
        assert mine["loglikelihoods"] == pytest.approx(theirs["loglikelihoods"], abs=TOLERANCE)
        assert (mine["acc"], mine["acc_norm"]) == (theirs["acc"], theirs["acc_norm"])

    calls.clear()
    assert run("vllm_again", "auto", gpu) == vllm_rows  # auto on a "GPU" with vLLM: vLLM, from the cache
    assert calls == []


def test_vllm_answers_are_cached_apart_from_the_hf_engines(hf, varied_lab_model, tmp_path, monkeypatch):
    model, tokenizer = hf
    requests = [("the city of bob is", " rome."), ("the city of bob is", " paris."), ("", "hello")]
    examples = ["en/1", "en/1", "en/2"]
    calls: list = []
    install_fake_vllm(monkeypatch, varied_lab_model, calls)
    engine = Lazy(lambda: VLLMEngine(varied_lab_model), is_vllm=True)
    scored: list[int] = []
    score_trees = loglik._score_trees
    monkeypatch.setattr(loglik, "_score_trees", lambda *args: scored.append(1) or score_trees(*args))
    with RequestCache(tmp_path / FILENAME) as cache:
        scope = cache.scope("model", "task@1")  # one model key for both: only the engine key tells them apart
        first = loglik.loglikelihoods(engine, tokenizer, requests, cache=scope, examples=examples)
        assert cache.count() == 3 and scored == []
        again = loglik.loglikelihoods(model, tokenizer, requests, cache=scope, examples=examples)
        assert [ll for ll, _ in again] == pytest.approx([ll for ll, _ in first], abs=TOLERANCE)
        assert scored and cache.count() == 6  # the HF engine computed its own
        calls.clear()
        assert loglik.loglikelihoods(engine, tokenizer, requests, cache=scope, examples=examples) == first
        assert calls == []  # vLLM's own answers, bit for bit
