"""lab_qa scoring on hand-made answers, and generation + evaluation on the tiny fixture model."""

import csv

from tests.varied_model import assert_varied
from xinstruct.evaluate.runner import RESULT_COLUMNS, evaluate
from xinstruct.evaluate.tasks import TASKS
from xinstruct.evaluate.tasks.common import TaskContext
from xinstruct.lab.pretrain import load_world


def test_scoring_separates_accuracy_fidelity_and_recall(tiny_lab_model):
    task = TASKS["lab_qa"]
    world = load_world(tiny_lab_model)
    ctx = TaskContext(model_dir=tiny_lab_model)
    rows = task.load(ctx, "qaa")
    assert len(rows) == sum(len(p.facts) for p in world.heldout_people)
    perfect = [r["answer"].upper() + "  " for r in rows]  # normalization: case, spaces
    metrics, _ = task.score(ctx, "qaa", rows, perfect)
    assert metrics == {"accuracy": 1.0, "fidelity": 1.0, "value_recall": 1.0}
    english = [
        world.translate(
            world.render("fact", {"attr": r["attr"], "name": r["id"].split("-")[0], "value": r["value"]}, "en"), "en"
        )
        for r in rows
    ]
    metrics, details = task.score(ctx, "qaa", rows, english)  # right value, wrong language
    assert metrics == {"accuracy": 0.0, "fidelity": 0.0, "value_recall": 1.0}
    assert {d["detected_lang"] for d in details} == {"en"}
    metrics, _ = task.score(ctx, "qaa", rows, [""] * len(rows))
    assert metrics == {"accuracy": 0.0, "fidelity": 0.0, "value_recall": 0.0}


def test_evaluate_fixture_model(tiny_lab_model, tmp_path):
    rows = evaluate(
        "base",
        tiny_lab_model,
        TaskContext(model_dir=tiny_lab_model),
        ["lab_qa"],
        ["en", "qac"],
        max_new_tokens=4,
        batch_size=7,
        out=tmp_path,
    )
    assert {(r["language"], r["metric"]) for r in rows} == {
        (lang, m) for lang in ("en", "qac") for m in ("accuracy", "fidelity", "value_recall")
    }
    with open(tmp_path / "metrics.csv") as f:
        assert next(csv.reader(f)) == RESULT_COLUMNS
    n_lines = sum(1 for _ in open(tmp_path / "predictions.jsonl"))
    assert n_lines == 2 * rows[0]["n"]


def test_generation_is_batch_independent(varied_lab_model):
    """Left padding and length sorting must not change greedy outputs (of a model whose answers vary)."""
    from xinstruct.evaluate.generate import generate
    from xinstruct.evaluate.runner import load_model

    model, tokenizer = load_model(varied_lab_model)
    prompts = [row["messages"] for row in TASKS["lab_qa"].load(TaskContext(model_dir=varied_lab_model), "qab")[:9]]
    one_by_one = generate(model, tokenizer, prompts, 6, batch_size=1)
    assert_varied(one_by_one, 6)
    assert one_by_one == generate(model, tokenizer, prompts, 6, batch_size=4)


def test_shared_prefix_batches_give_the_same_outputs(varied_lab_model, monkeypatch):
    """Prompts sharing a long prefix run it once per batch; the outputs equal one-by-one generation."""
    from xinstruct.evaluate import generate as gen
    from xinstruct.evaluate.runner import load_model

    model, tokenizer = load_model(varied_lab_model)
    rows = TASKS["lab_qa"].load(TaskContext(model_dir=varied_lab_model), "en")[:7]
    passage = " ".join(row["answer"] for row in rows)  # a long passage all questions share
    prompts = [[{"role": "user", "content": passage + " " + row["question"]}] for row in rows]
    encoded = {i: gen._ids(tokenizer.apply_chat_template(p, add_generation_prompt=True)) for i, p in enumerate(prompts)}
    plan = gen.plan_batches(encoded, batch_size=4)
    assert sorted(len(idx) for idx, _ in plan) == [3, 4] and all(min(shared) >= gen.MIN_SHARED for _, shared in plan)
    shared = gen.generate(model, tokenizer, prompts, 8, batch_size=4)
    assert_varied(shared, 4)
    monkeypatch.setattr(gen, "MIN_SHARED", 10**9)  # no sharing: plain left-padded batches of one
    assert gen.generate(model, tokenizer, prompts, 8, batch_size=1) == shared


def test_groups_with_different_prefixes_share_a_batch(varied_lab_model, monkeypatch):
    """Two passages of different lengths, three questions each, in one batch of six rows."""
    from xinstruct.evaluate import generate as gen
    from xinstruct.evaluate.runner import load_model

    model, tokenizer = load_model(varied_lab_model)
    rows = TASKS["lab_qa"].load(TaskContext(model_dir=varied_lab_model), "en")[:9]
    long_passage = " ".join(row["answer"] for row in rows)
    short_passage = " ".join(row["answer"] for row in reversed(rows[2:6]))
    prompts = [
        [{"role": "user", "content": f"{passage} {row['question']}"}]
        for passage in (long_passage, short_passage)
        for row in rows[:3]
    ]
    encoded = {i: gen._ids(tokenizer.apply_chat_template(p, add_generation_prompt=True)) for i, p in enumerate(prompts)}
    plan = gen.plan_batches(encoded, batch_size=8)
    assert len(plan) == 1 and len(set(plan[0][1])) == 2  # one batch, two prefix lengths
    shared = gen.generate(model, tokenizer, prompts, 8, batch_size=8)
    assert_varied(shared, 3)
    monkeypatch.setattr(gen, "MIN_SHARED", 10**9)
    assert gen.generate(model, tokenizer, prompts, 8, batch_size=1) == shared


def test_fast_greedy_loop_equals_hf_generate(tiny_lab_model, monkeypatch):
    """The static-cache greedy loop decodes what `model.generate` decodes (EOS, stop strings, shared prefixes)."""
    import torch

    from xinstruct.evaluate import generate as gen
    from xinstruct.evaluate.runner import load_model

    model, tokenizer = load_model(tiny_lab_model)
    torch.manual_seed(0)
    with torch.no_grad():  # noisy weights: varied outputs (the tiny trained model answers "....")
        for parameter in model.parameters():
            parameter.add_(torch.randn_like(parameter) * 0.3)
    assert gen.fast_greedy(model)
    rows = TASKS["lab_qa"].load(TaskContext(model_dir=tiny_lab_model), "en")[:9]
    passage = " ".join(row["answer"] for row in rows[:6])
    prompts = [row["messages"] for row in rows] + [
        [{"role": "user", "content": passage + " " + row["question"]}] for row in rows[:6]
    ]
    fast = {stop: gen.generate(model, tokenizer, prompts, 10, 4, stop=stop) for stop in ((), ("u",), ("a", "4"))}
    assert len({tuple(v) for v in fast.values()}) == 3  # the stop strings cut something
    monkeypatch.setattr(gen, "fast_greedy", lambda model: False)
    for stop, outputs in fast.items():
        assert gen.generate(model, tokenizer, prompts, 10, 4, stop=stop) == outputs
    monkeypatch.setattr(gen, "MIN_SHARED", 10**9)  # and one by one, nothing shared, through model.generate
    assert gen.generate(model, tokenizer, prompts, 10, 1, stop=("u",)) == fast[("u",)]


def test_models_with_decoding_settings_use_hf_generate(tiny_lab_model):
    from xinstruct.evaluate import generate as gen
    from xinstruct.evaluate.runner import load_model

    model, _ = load_model(tiny_lab_model)
    model.generation_config.repetition_penalty = 1.2  # e.g. Qwen2.5 ships 1.05: generate applies it even greedily
    assert not gen.fast_greedy(model)
    model.generation_config.repetition_penalty = 1.0
    model.config.model_type = "some_new_arch"  # logits may not be lm_head(hidden): leave it to generate
    assert not gen.fast_greedy(model)
