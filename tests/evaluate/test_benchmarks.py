"""Benchmark tasks on the real data in ../shared/data, the log-likelihood engine, standalone `xinstruct eval`."""

from __future__ import annotations

import csv
import json

import pytest
from typer.testing import CliRunner

from tests.conftest import SHARED_DATA
from xinstruct.evaluate.tasks import TASKS
from xinstruct.evaluate.tasks.common import TaskContext

needs_shared = pytest.mark.skipif(not SHARED_DATA.exists(), reason=f"shared data not found at {SHARED_DATA}")
CTX = TaskContext(data_dir=str(SHARED_DATA))


@needs_shared
@pytest.mark.parametrize(
    ("task", "lang", "n"),
    [
        ("xquad", "zh", 1190),
        ("xquad", "th", 1190),
        ("xcopa", "qu", 500),
        ("mgsm", "sw", 250),
        ("cross_mmlu", "fil", 150),
        ("cross_logiqa", "ms", 176),
        ("cross_xquad", "vi", 1190),
        ("ntrex", "zh-CN", 1997),
    ],
)
def test_tasks_load_the_real_files(task, lang, n):
    rows = TASKS[task].load(CTX, lang)
    assert len(rows) == n and len({row["id"] for row in rows}) == n


@needs_shared
def test_xcopa_prompt_is_lm_evals():
    first = TASKS["xcopa"].load(CTX, "zh")[0]
    raw = json.loads((SHARED_DATA / "xcopa/data/zh/test.zh.jsonl").read_text(encoding="utf-8").splitlines()[0])
    connector = "因为" if raw["question"] == "cause" else "所以"
    assert first["context"] == raw["premise"].strip()[:-1] + " " + connector
    assert first["choices"][0] == raw["choice1"][0].lower() + raw["choice1"][1:] and first["gold"] == raw["label"]


@needs_shared
def test_seaeval_questions_are_parallel_and_answers_are_choices():
    en, zh = (TASKS["cross_mmlu"].load(CTX, lang) for lang in ("en", "zh"))
    assert [r["id"] for r in en] == [r["id"] for r in zh]
    assert all(r["choices"][r["gold"]].startswith("(") for r in en)


def test_loglikelihoods_match_one_unpadded_forward_per_request(tiny_lab_model):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from xinstruct.evaluate.loglik import encode_pair, loglikelihoods

    tokenizer = AutoTokenizer.from_pretrained(tiny_lab_model)
    model = AutoModelForCausalLM.from_pretrained(tiny_lab_model, dtype=torch.float32).eval()
    requests = [
        ("the city of bob is", " rome."),
        ("the city of bob is ", "rome."),  # trailing space moves into the continuation
        ("a much longer context about the job of mitur and the pet of", " a dog"),
        ("", "hello there"),  # empty context: scored after the prefix token
    ]
    got = loglikelihoods(model, tokenizer, requests, batch_size=3)
    for (context, continuation), (ll, _) in zip(requests, got, strict=True):
        ctx_ids, cont_ids = encode_pair(tokenizer, context, continuation)
        ids = torch.tensor([ctx_ids + cont_ids])
        with torch.no_grad():
            logprobs = torch.log_softmax(model(ids).logits[0, :-1].float(), -1)
        expected = sum(float(logprobs[len(ctx_ids) - 1 + j, t]) for j, t in enumerate(cont_ids))
        assert ll == pytest.approx(expected, abs=1e-4)
    assert got[0][0] == pytest.approx(got[1][0], abs=1e-4)


@pytest.mark.parametrize("attention", ["sdpa", "eager"])
def test_continuations_sharing_their_beginning_score_as_separate_forwards(tiny_lab_model, attention):
    """One context's continuations form a prefix tree (shared beginnings computed once); every
    log-likelihood and is_greedy still equals one unpadded forward per request."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from xinstruct.evaluate.loglik import encode_pair, loglikelihoods

    tokenizer = AutoTokenizer.from_pretrained(tiny_lab_model)
    model = AutoModelForCausalLM.from_pretrained(tiny_lab_model, dtype=torch.float32, attn_implementation=attention)
    context = "the pet of mitur is"
    endings = [" a dog", " a dog and a cat", " a cat", " the dog", " a dog and a bird", "", " a"]
    requests = [(context, e) for e in endings] + [("the job of bob is", " a cook"), ("the job of bob is", " a")]
    got = loglikelihoods(model.eval(), tokenizer, requests, batch_size=4)
    for (ctx, cont), (ll, greedy) in zip(requests, got, strict=True):
        ctx_ids, cont_ids = encode_pair(tokenizer, ctx, cont)
        with torch.no_grad():
            logprobs = torch.log_softmax(model(torch.tensor([ctx_ids + cont_ids])).logits[0].float(), -1)
        rows = logprobs[len(ctx_ids) - 1 : len(ctx_ids) - 1 + len(cont_ids)]
        expected = sum(float(rows[j, t]) for j, t in enumerate(cont_ids))
        assert ll == pytest.approx(expected, abs=1e-4), (ctx, cont)
        assert greedy == all(int(rows[j].argmax()) == t for j, t in enumerate(cont_ids)), (ctx, cont)
    assert got[5] == (0.0, True)  # an empty continuation: nothing to score
    assert loglikelihoods(model, tokenizer, [(context, "")]) == [(0.0, True)]


@needs_shared
def test_standalone_eval_writes_results_and_consistency(tiny_lab_model, tmp_path):
    from xinstruct.cli import app

    out = tmp_path / "eval"
    args = ["eval", "--model", str(tiny_lab_model), "--out", str(out), "--data-dir", str(SHARED_DATA)]
    args += ["--tasks", "xcopa,xquad,mgsm,cross_mmlu,cross_xquad,ntrex", "--languages", "zh,vi", "--limit", "3"]
    args += ["--batch-size", "4", "--max-new-tokens", "4", "--prompt-language", "native"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(open(out / "results.csv", encoding="utf-8")))
    got = {(r["task"], r["language"], r["metric"]) for r in rows}
    assert {("xcopa", "zh", "acc"), ("xcopa", "vi", "acc"), ("xquad", "zh", "f1"), ("mgsm", "zh", "exact_match")} <= got
    assert {("cross_mmlu", "all", "consistency_2"), ("cross_mmlu", "all", "ac3_2")} <= got
    assert {("cross_xquad", "zh", "acc"), ("cross_xquad", "all", "ac3_2")} <= got
    assert ("ntrex", "zh", "chrf") in got  # ntrex's files say zh-CN: the same language (was skipped)
    assert {("xquad", "zh", "lpr"), ("mgsm", "zh", "lpr"), ("ntrex", "zh", "lpr")} <= got  # beside fidelity
    assert ("xcopa", "zh", "lpr") not in got  # multiple choice generates nothing
    predictions = [json.loads(line) for line in open(out / "predictions.jsonl", encoding="utf-8")]
    assert len([p for p in predictions if p["task"] == "xcopa"]) == 6
    xquad_zh = next(p for p in predictions if p["task"] == "xquad" and p["language"] == "zh")
    assert xquad_zh["prompt"].startswith("阅读短文") and "问题：" in xquad_zh["prompt"]  # --prompt-language native
    bad = CliRunner().invoke(
        app, ["eval", "--model", str(tiny_lab_model), "--tasks", "nope", "--out", str(tmp_path / "x")]
    )
    assert bad.exit_code == 2 and "unknown task" in bad.output


def test_line_pass_rate_beside_fidelity():
    from xinstruct.evaluate.fidelity import line_pass_rate

    answers = [
        "Der Hund schläft heute den ganzen Tag im Garten.",  # German: passes
        "The dog sleeps in the garden all day long.",  # English: a line error
        "Ja.",  # no line of 5+ tokens: skipped, no per-answer value
    ]
    metrics, per = line_pass_rate(answers, "de")
    assert metrics == {"lpr": 0.5} and [p["lpr"] for p in per] == [1.0, 0.0, None]
    assert line_pass_rate(["Ja.", "Nein."], "de") == ({"lpr": 1.0}, [{"lpr": 1.0}, {"lpr": 1.0}])  # vacuous, as LCB
    assert line_pass_rate(answers, "qaa") == ({}, [{}, {}, {}])  # a lab language: fastText has no label for it
    assert line_pass_rate(["Der Hund schläft heute den ganzen Tag."], "de-AT")[0] == {"lpr": 1.0}


def test_lingua_fidelity_and_code_switching():
    from xinstruct.evaluate.fidelity import lingua_fidelity

    answers = [
        "Der Hund schläft heute den ganzen Tag im Garten.",
        "The dog sleeps in the garden all day long.",
        "Der Hund schläft im Garten. The weather is very nice today and everyone is happy.",
        "",
    ]
    metrics, per_answer = lingua_fidelity(answers, "de", ("de", "fr"))
    detected = [a["detected_lang"] for a in per_answer]
    assert detected[:2] == ["de", "en"] and detected[3] is None
    assert metrics["code_switching"] == 0.25  # only the third mixes languages
    assert [a["code_switching"] for a in per_answer] == [0.0, 0.0, 1.0, 0.0]  # per answer, for the report's CIs
    assert metrics["fidelity"] == pytest.approx(sum(d == "de" for d in detected) / 4)
    assert metrics["fidelity"] == pytest.approx(sum(a["fidelity"] for a in per_answer) / 4)
